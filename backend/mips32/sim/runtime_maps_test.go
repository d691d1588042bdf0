package sim_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/backend/mips32/sim/runner"
)

// The BPF runtime on the simulator (package sim/runner) against the qemu
// runner's C code: the qemu engine's map tests (backend/mips32/qemu,
// maps_test.go) and helper calls, run on both engines from the same
// module. Every result must be qemu's exactly, pointers into the heap
// included (the Go runtime lays its storage out as maps.c does), and so
// must the final memory, the error stops (message and call site) and the
// faults. A few results are also checked against hand-worked values, so
// that a mistake both runtimes share still shows.

// marg is a 64-bit argument: a constant, the address of payload offset v,
// or the address of module symbol sym plus v (hi then goes in the high
// word, to make a bad pointer).
type marg struct {
	v       uint64
	payload bool
	sym     string
	hi      uint32
}

func k(v uint64) marg                    { return marg{v: v} }
func pay(off uint64) marg                { return marg{v: off, payload: true} }
func sym(name string) marg               { return marg{sym: name} }
func symAt(name string, off uint64) marg { return marg{sym: name, v: off} }

// step is one step of a test program. Step i leaves a 64-bit result at 8i
// in the block: a call's r0, or a symbol's address (addr). A readback
// copies n bytes from the address step from left to payload offset to; a
// poke stores word val at that address plus off; a jump calls that address
// and keeps its r0.
type step struct {
	call       string
	args       []marg
	addr       string
	readback   bool
	poke, jump bool
	from, n    int
	to, off    int
	val        uint32
}

func call(sym string, a ...marg) step  { return step{call: sym, args: a} }
func lookup(m string, key marg) step   { return call("bpf_helper_1", sym(m), key) }
func del(m string, key marg) step      { return call("bpf_helper_3", sym(m), key) }
func tail(m string, index uint64) step { return call(runner.TailCallTargetSymbol, sym(m), k(index)) }
func update(m string, key, value marg, flags uint64) step {
	return call("bpf_helper_2", sym(m), key, value, k(flags))
}
func addrOf(sym string) step            { return step{addr: sym} }
func readback(from, n, to int) step     { return step{readback: true, from: from, n: n, to: to} }
func poke(from, off int, v uint32) step { return step{poke: true, from: from, off: off, val: v} }
func jump(from int) step                { return step{jump: true, from: from} }

// mapObject is a struct bpf_map in assembly; initial is a symbol or "0".
func mapObject(name string, typ, keySize, valueSize, maxEntries uint32, initial string) string {
	return fmt.Sprintf("\t.align 2\n%s:\t.word %d, %d, %d, %d, 0, %s, 0, 0\n", name, typ, keySize, valueSize, maxEntries, initial)
}

const (
	mapHash      = 1
	mapArray     = 2
	mapProgArray = 3
)

// errno is a negative helper result as r0 holds it.
func errno(n int64) uint64 { return uint64(-n) }

// stepsSource is the program f: text, then data. The block is 8 bytes per
// step, then the payload. A call's jalr has the label "stepI".
func stepsSource(steps []step, data string) string {
	payload := 8 * len(steps)
	var b strings.Builder
	b.WriteString("f:\taddiu $sp, $sp, -56\n\tsw $ra, 52($sp)\n\tsw $s0, 48($sp)\n\tmove $s0, $a0\n")
	for i, s := range steps {
		switch {
		case s.addr != "":
			fmt.Fprintf(&b, "\tlui $v0, %%hi(%[1]s)\n\taddiu $v0, $v0, %%lo(%[1]s)\n\tmove $v1, $zero\n", s.addr)
		case s.readback:
			fmt.Fprintf(&b, "\tlw $t0, %d($s0)\n", 8*s.from)
			for j := range s.n {
				fmt.Fprintf(&b, "\tlbu $t1, %d($t0)\n\tsb $t1, %d($s0)\n", j, payload+s.to+j)
			}
			continue
		case s.poke:
			fmt.Fprintf(&b, "\tlw $t0, %d($s0)\n\tli $t1, %#x\n\tsw $t1, %d($t0)\n", 8*s.from, s.val, s.off)
			continue
		case s.jump:
			fmt.Fprintf(&b, "\tlw $t9, %d($s0)\n\tjalr $t9\n\tnop\n", 8*s.from)
		default:
			regs := []string{"$a0", "$a1", "$a2", "$a3"}
			for j := len(s.args) - 1; j >= 0; j-- { // stack words first: they use t0
				a := s.args[j]
				lo, hi := "$t0", "$t1"
				if j < 2 {
					lo, hi = regs[2*j], regs[2*j+1]
				}
				switch {
				case a.sym != "":
					fmt.Fprintf(&b, "\tlui %[1]s, %%hi(%[2]s+%[3]d)\n\taddiu %[1]s, %[1]s, %%lo(%[2]s+%[3]d)\n\tli %[4]s, %#[5]x\n", lo, a.sym, a.v, hi, a.hi)
				case a.payload:
					fmt.Fprintf(&b, "\tli %[1]s, %[2]d\n\taddu %[1]s, %[1]s, $s0\n\tmove %[3]s, $zero\n", lo, uint64(payload)+a.v, hi)
				default:
					fmt.Fprintf(&b, "\tli %s, %#x\n\tli %s, %#x\n", lo, uint32(a.v), hi, uint32(a.v>>32))
				}
				if j >= 2 {
					fmt.Fprintf(&b, "\tsw $t0, %d($sp)\n\tsw $t1, %d($sp)\n", 8*j, 8*j+4)
				}
			}
			fmt.Fprintf(&b, "\tlui $t9, %%hi(%[1]s)\n\taddiu $t9, $t9, %%lo(%[1]s)\nstep%[2]d:\tjalr $t9\n\tnop\n", s.call, i)
		}
		fmt.Fprintf(&b, "\tsw $v0, %d($s0)\n\tsw $v1, %d($s0)\n", 8*i, 8*i+4)
	}
	b.WriteString("\tlw $s0, 48($sp)\n\tlw $ra, 52($sp)\n\tjr $ra\n\taddiu $sp, $sp, 56\n")
	b.WriteString("\t.data\n" + data)
	return b.String()
}

// stepsRun is the simulator's outcome of a steps program.
type stepsRun struct {
	res     *sim.Result
	mod     *sim.Module
	results []uint64
	payload []byte
}

var crossTargets = []mips32.Target{{Rev: mips32.R2}, {Rev: mips32.R1}}

// runSteps runs a steps program on the simulator, twice (every run starts
// from the module's initial state, maps included), and under qemu, and
// requires the three outcomes to agree; it returns the simulator's.
func runSteps(t *testing.T, target mips32.Target, steps []step, data string, payload []byte) stepsRun {
	t.Helper()
	mod := sim.AssembleModule(t, target, stepsSource(steps, data))
	mem := append(make([]byte, 8*len(steps)), payload...)
	m, err := sim.New(runner.Configure(sim.Options{Target: target}))
	require.NoError(t, err)
	var r stepsRun
	for run := range 2 {
		res, err := m.RunModule(mod, mod.Symbols["f"], mem)
		require.NoError(t, err)
		if run == 1 {
			assert.Equal(t, r.res, res, "the second run must repeat the first")
		}
		r.res = res
	}
	r.mod = mod
	for i := range steps {
		r.results = append(r.results, binary.LittleEndian.Uint64(r.res.Mem[8*i:]))
	}
	r.payload = r.res.Mem[8*len(steps):]

	want, err := sim.RequireQemu(t, target).RunModule(mod.Image, mod.Relocs, mod.Symbols, mod.Symbols["f"], mem)
	require.NoError(t, err)
	compareRuntime(t, r.res, want)
	return r
}

// compareRuntime requires a simulator run to end as the qemu run did.
func compareRuntime(t *testing.T, got *sim.Result, want *qemu.Result) {
	t.Helper()
	assert.Equal(t, want.Mem, got.Mem, "memory")
	switch f := want.Fault; {
	case f == nil:
		if assert.Nil(t, got.Fault, "qemu returned %#x", want.R0) {
			assert.Equal(t, want.R0, got.R0, "r0")
		}
	case f.Stop != "": // an error stop of the C runtime
		if assert.NotNil(t, got.Fault, "qemu stopped: %v", f) {
			assert.Equal(t, sim.RuntimeError, got.Fault.Kind, "%v", got.Fault)
			assert.True(t, f.InCode)
			assert.Contains(t, got.Fault.Msg, fmt.Sprintf("(called from code offset %#x): %s", f.PC, f.Stop))
		}
	default: // a fault in the runtime: SIGSEGV
		if assert.NotNil(t, got.Fault, "qemu faulted: %v", f) {
			assert.Equal(t, "SIGSEGV", f.Signal, "%v", f)
			assert.Equal(t, sim.Unmapped, got.Fault.Kind, "%v", got.Fault)
			assert.Equal(t, f.Addr, got.Fault.Addr, "fault address: %v vs qemu's %v", got.Fault, f)
		}
	}
}

func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func forTargets(t *testing.T, f func(t *testing.T, target mips32.Target)) {
	for _, target := range crossTargets {
		t.Run(target.String(), func(t *testing.T) { f(t, target) })
	}
}

// TestArrayMapMatchesQemu: lookups in and out of range, initial contents,
// the update flags, delete, stores through a value, callx.
func TestArrayMapMatchesQemu(t *testing.T) {
	data := mapObject("arr", mapArray, 4, 12, 3, "arr_init") +
		"arr_init:\t.word 0x11111111, 0x12121212, 0x13131313, 0x21212121, 0x22222222, 0x23232323, 0x31313131, 0x32323232, 0x33333333\n" +
		mapObject("zeroed", mapArray, 4, 4, 2, "0")
	payload := append(le32(0, 1, 2, 3, 0xffffffff), "abcdefghijkl"...)
	payload = append(payload, 0, 2, 0, 0, 0, 0, 0)
	payload = append(payload, make([]byte, 64)...)
	key := func(i uint64) marg { return pay(4 * i) }
	value := pay(20)
	steps := []step{
		lookup("arr", key(0)), lookup("arr", key(1)), lookup("arr", key(2)), lookup("arr", key(3)), lookup("arr", key(4)),
		readback(1, 12, 40),
		lookup("arr", pay(33)),
		update("arr", key(1), value, 0),
		readback(1, 12, 52),
		update("arr", key(3), value, 0), update("arr", key(0), value, 1), update("arr", key(0), value, 2),
		update("arr", key(0), value, 3), update("arr", key(0), value, 1<<32),
		del("arr", key(0)),
		readback(0, 12, 64),
		lookup("zeroed", key(1)), readback(16, 4, 76), poke(16, 0, 0xfeedf00d), lookup("zeroed", key(1)), readback(19, 4, 80),
		call("bpf_callx", k(1), sym("zeroed"), key(1)),
		call("bpf_callx", k(2), sym("arr"), key(2), value, k(0)),
		readback(2, 12, 84),
		call("bpf_callx", k(3), sym("arr"), key(0)),
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, steps, data, payload)
		require.Nil(t, r.res.Fault)
		p0 := r.results[0]
		assert.Equal(t, uint64(sim.HeapBase), p0, "the first map's values start the heap")
		assert.Equal(t, []uint64{p0 + 16, p0 + 32, 0, 0}, r.results[1:5])
		assert.Equal(t, le32(0x21212121, 0x22222222, 0x23232323), r.payload[40:52], "initial contents")
		assert.Equal(t, []uint64{0, errno(7), errno(17), 0, errno(22), errno(22), errno(22)},
			[]uint64{r.results[7], r.results[9], r.results[10], r.results[11], r.results[12], r.results[13], r.results[14]})
		assert.Equal(t, le32(0xfeedf00d), r.payload[80:84])
	})
}

// TestHashMapMatchesQemu: insert, lookup, update with every flag, delete, a
// full table, node reuse, callx; then a 40-entry table whose keys share
// buckets.
func TestHashMapMatchesQemu(t *testing.T) {
	data := mapObject("h", mapHash, 6, 8, 4, "0")
	var payload []byte
	for i := range 6 {
		payload = append(payload, fmt.Sprintf("abcde%d\x00\x00", i)...)
	}
	for i := range 6 {
		payload = binary.LittleEndian.AppendUint64(payload, 0x1111111111111111*uint64(i+1))
	}
	payload = append(payload, make([]byte, 48)...)
	key := func(i uint64) marg { return pay(8 * i) }
	val := func(i uint64) marg { return pay(48 + 8*i) }
	steps := []step{
		lookup("h", key(0)), update("h", key(0), val(0), 0), lookup("h", key(0)), readback(2, 8, 96),
		update("h", key(0), val(1), 1), update("h", key(1), val(1), 2), update("h", key(0), val(2), 2),
		lookup("h", key(0)), readback(7, 8, 104),
		update("h", key(1), val(1), 0), update("h", key(2), val(2), 1), update("h", key(3), val(3), 0),
		update("h", key(4), val(4), 0), update("h", key(4), val(4), 1), update("h", key(4), val(4), 2),
		update("h", key(3), val(5), 0), lookup("h", key(4)),
		del("h", key(4)), del("h", key(2)), lookup("h", key(2)), del("h", key(2)),
		update("h", key(4), val(4), 1), lookup("h", key(4)), readback(22, 8, 112),
		lookup("h", key(3)), readback(24, 8, 120), lookup("h", key(1)), readback(26, 8, 128),
		update("h", key(5), val(5), 4),
		call("bpf_callx", k(3), sym("h"), key(4)), lookup("h", key(4)),
		call("bpf_callx", k(2), sym("h"), key(5), val(5), k(0)), lookup("h", key(5)),
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, steps, data, payload)
		require.Nil(t, r.res.Fault)
		// struct hash (32), 4 buckets (16), then nodes of 8 + 8 + 8 bytes:
		// the first node's value is at 32+16+16.
		assert.Equal(t, uint64(sim.HeapBase+64), r.results[2])
		assert.Equal(t, r.results[2]+48, r.results[22], "K4 reuses K2's node, the third")
		assert.Equal(t, []uint64{errno(17), errno(2), 0}, r.results[4:7])
		assert.Equal(t, []uint64{0, 0, 0, errno(7), errno(7), errno(2), 0, 0}, r.results[9:17])
	})

	const n = 40
	data = mapObject("h", mapHash, 4, 4, n, "0")
	payload = nil
	for i := range n + 1 {
		payload = binary.LittleEndian.AppendUint32(payload, uint32(i)*0x01010101)
	}
	for i := range n + 1 {
		payload = binary.LittleEndian.AppendUint32(payload, uint32(3*i+1))
	}
	payload = append(payload, make([]byte, 4*n)...)
	steps = nil
	for i := range uint64(n + 1) {
		steps = append(steps, update("h", pay(4*i), pay(4*(n+1+i)), 0))
	}
	for i := range n {
		steps = append(steps, lookup("h", pay(4*uint64(i))), readback(len(steps), 4, 8*(n+1)+4*i))
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, steps, data, payload)
		require.Nil(t, r.res.Fault)
		assert.Equal(t, errno(7), r.results[n], "insert into the full table")
		for i := range n {
			assert.Equal(t, uint32(3*i+1), binary.LittleEndian.Uint32(r.payload[8*(n+1)+4*i:]), "value %d", i)
		}
	})
}

// progData adds two programs: they return 0xa and 0xb.
const progData = "\t.text\nprog_a:\tli $v1, 0\n\tjr $ra\n\tli $v0, 0xa\nprog_b:\tli $v1, 0\n\tjr $ra\n\tli $v0, 0xb\n\t.data\n"

// TestProgArrayMatchesQemu: tail-call targets from the initial contents,
// after an update and a delete, and the program array results of the map
// helpers.
func TestProgArrayMatchesQemu(t *testing.T) {
	data := progData +
		mapObject("progs", mapProgArray, 4, 4, 4, "progs_init") +
		"progs_init:\t.word prog_a, 0, prog_b, 0\n" +
		"new_target:\t.word prog_b\n" +
		mapObject("empty", mapProgArray, 4, 4, 2, "0") +
		mapObject("arr", mapArray, 4, 4, 2, "0") +
		mapObject("other", 9, 4, 4, 2, "0")
	key := func(i uint64) marg { return pay(4 * i) }
	steps := []step{
		addrOf("prog_a"), addrOf("prog_b"),
		tail("progs", 0), tail("progs", 1), tail("progs", 2), tail("progs", 4), tail("progs", 1<<32|2), tail("progs", 0xffffffff),
		jump(2),
		lookup("progs", key(0)),
		update("progs", key(1), sym("new_target"), 0), tail("progs", 1),
		update("progs", key(1), sym("new_target"), 1), update("progs", key(2), sym("new_target"), 0),
		del("progs", key(0)), tail("progs", 0), del("progs", key(0)), del("progs", key(3)),
		jump(11),
		tail("empty", 0), tail("arr", 0), tail("other", 0),
		call("bpf_callx", k(3), sym("progs"), key(1)), tail("progs", 1),
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, steps, data, le32(0, 1, 4, 9))
		require.Nil(t, r.res.Fault)
		a, b := r.results[0], r.results[1]
		assert.Equal(t, uint64(sim.CodeBase+r.mod.Symbols["prog_a"]), a)
		assert.Equal(t, []uint64{a, 0, b, 0, b, 0}, r.results[2:8])
		assert.Equal(t, uint64(0xa), r.results[8], "the slot's address runs prog_a")
		assert.Equal(t, uint64(0xb), r.results[18])
	})
}

// TestMapErrorsMatchQemu: bad pointers and bad map objects stop the
// program with the C runtime's message, naming the call site.
func TestMapErrorsMatchQemu(t *testing.T) {
	data := progData +
		mapObject("arr", mapArray, 4, 4, 2, "0") +
		mapObject("h", mapHash, 4, 4, 2, "0") +
		mapObject("unknown", 4, 4, 4, 2, "0") +
		mapObject("arr_key8", mapArray, 8, 4, 2, "0") +
		mapObject("hash_key513", mapHash, 513, 4, 2, "0") +
		mapObject("hash_value0", mapHash, 4, 0, 2, "0") +
		mapObject("prog_value8", mapProgArray, 4, 8, 2, "0") +
		mapObject("arr_empty", mapArray, 4, 4, 0, "0") +
		mapObject("huge_array", mapArray, 4, 8, 0x10000000, "0") +
		mapObject("huge_hash", mapHash, 4, 4, 0xffffffff, "0") +
		mapObject("bad_init", mapArray, 4, 4, 2, "0x40") +
		"\t.align 2\nstale:\t.word 2, 4, 4, 2, 0, 0, 4, 0\n"
	key := pay(0)
	cases := []struct {
		name string
		last step
		want string // part of the simulator's message, besides qemu's
	}{
		{"map pointer", call("bpf_helper_1", k(0x100000040), key), "map_lookup_elem: pointer 0x100000040 is not a 32-bit address"},
		{"key pointer", call("bpf_helper_1", sym("arr"), k(0x200000010)), "pointer 0x200000010"},
		{"hash key pointer", call("bpf_helper_3", sym("h"), k(0xffffffff00000000)), "map_delete_elem: pointer"},
		{"value pointer", update("h", key, k(0x500000000), 0), "map_update_elem: pointer 0x500000000"},
		{"high word of a map address", call("bpf_helper_1", marg{sym: "arr", hi: 1}, key), "is not a 32-bit address"},
		{"tail call map pointer", call(runner.TailCallTargetSymbol, k(0x300000000), k(0)), "bpf_tail_call_target: pointer"},
		{"misaligned map", call("bpf_helper_1", symAt("arr", 2), key), "is not 4-byte aligned"},
		{"misaligned tail call map", call(runner.TailCallTargetSymbol, symAt("arr", 1), k(0)), "is not 4-byte aligned"},
		{"unsupported type", del("unknown", key), "unsupported type 4"},
		{"array key size", lookup("arr_key8", key), "array key_size 8 (must be 4)"},
		{"hash key size", update("hash_key513", key, key, 0), "hash key_size 513"},
		{"hash value size", lookup("hash_value0", key), "hash value_size 0"},
		{"prog array value size", tail("prog_value8", 0), "prog array value_size 8"},
		{"no entries", lookup("arr_empty", key), "array max_entries 0"},
		{"stale state", lookup("stale", key), "state word 0x00000004"},
		{"huge array", lookup("huge_array", key), "its storage needs 2147483648 bytes, the runtime heap has 268435440 left"},
		{"huge hash", lookup("huge_hash", key), "its storage needs 0x"},
		{"unmapped key", lookup("arr", k(0x40)), ""},
		{"unmapped initial contents", lookup("bad_init", key), ""},
		{"unknown callx id", call("bpf_callx", k(4), k(0)), "unknown helper id 4 in bpf_callx"},
		{"huge callx id", call("ubpf_callx", k(1<<40), k(0)), "unknown helper id 0x10000000000 in ubpf_callx"},
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := runSteps(t, target, []step{lookup("arr", key), tc.last}, data, le32(1))
				require.NotNil(t, r.res.Fault)
				assert.Contains(t, r.res.Fault.Msg, tc.want)
				assert.NotZero(t, r.results[0], "the step before ran")
			})
		}
		// A map that is not a prog array has no tail-call targets, whatever
		// its type.
		r := runSteps(t, target, []step{tail("unknown", 0), tail("h", 0)}, data, nil)
		require.Nil(t, r.res.Fault)
		assert.Equal(t, []uint64{0, 0}, r.results)
	})
}

// TestHelpersMatchQemu calls every other helper of both sets, directly and
// through callx, on both engines.
func TestHelpersMatchQemu(t *testing.T) {
	// Payload: "abc\0" at 0, "abd\0" at 4, bytes to frob at 8..15.
	payload := append([]byte("abc\x00abd\x00"), 1, 2, 3, 4, 5, 6, 7, 8)
	steps := []step{
		call("ubpf_helper_0", k(0x1101), k(0x22), k(0x33), k(0x44), k(0x55)),
		call("ubpf_helper_1", pay(8), k(5)),
		call("ubpf_helper_1", pay(8), k(0)),
		call("ubpf_helper_2"),
		call("ubpf_helper_3", k(1<<40+12345)),
		call("ubpf_helper_3", k(^uint64(0))),
		call("ubpf_helper_4", pay(0), pay(4)),
		call("ubpf_helper_4", pay(4), pay(0)),
		call("ubpf_helper_4", pay(0), pay(0)),
		call("ubpf_helper_5", k(77)),
		call("ubpf_callx", k(3), k(1<<52)),
		call("ubpf_callx", k(0), k(1), k(2), k(3), k(4), k(5)),
		call("bpf_helper_5"), call("bpf_helper_5"),
		call("bpf_helper_7"), call("bpf_helper_7"),
		call("bpf_helper_8"),
		call("bpf_callx", k(5)), call("bpf_callx", k(7)), call("bpf_callx", k(8)),
		call("ubpf_helper_5", k(0)), // stops the program: r0 = 0
		call("bpf_helper_8"),
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, steps, "", payload)
		require.Nil(t, r.res.Fault)
		assert.Equal(t, uint64(0), r.res.R0, "unwind(0)")
		assert.Equal(t, uint64(0x0122334455), r.results[0])
		assert.Equal(t, []byte{1 ^ 42, 2 ^ 42, 3 ^ 42, 4 ^ 42, 5 ^ 42, 6, 7, 8}, r.payload[8:16])
		assert.Equal(t, []uint64{1 << 20, 1 << 32}, r.results[4:6], "sqrti(2^40+12345), sqrti(2^64-1) (rounded to 2^64 as a double)")
		assert.Equal(t, uint64(1<<26), r.results[10], "sqrti through callx")
		assert.Equal(t, []uint64{errno(1), 1, 0}, r.results[6:9], "strcmp_ext")
		assert.Equal(t, []uint64{1000, 2000, 723471715}, []uint64{r.results[12], r.results[13], r.results[14]})
		assert.Equal(t, []uint64{3000}, r.results[17:18], "ktime through callx")
	})
	// Faults and stops in helpers: an unterminated string runs off the
	// block, memfrob's range is checked, a pointer with a high word stops.
	for _, last := range []step{
		call("ubpf_helper_4", pay(8), pay(0)),
		call("ubpf_helper_1", pay(4), k(100)),
		call("ubpf_helper_1", k(1<<33), k(1)),
		call("ubpf_helper_4", pay(0), k(1<<32)),
	} {
		forTargets(t, func(t *testing.T, target mips32.Target) {
			r := runSteps(t, target, []step{call("bpf_helper_8"), last}, "", payload)
			require.NotNil(t, r.res.Fault)
		})
	}
}
