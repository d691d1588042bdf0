package qemu

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the maps and the tail-call lookup of runner/maps.c, through
// modules whose data holds struct bpf_map objects. Expected values come from
// the kernel's semantics as maps.c documents them, written out here.

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

// step is one step of a maps test program. Step i leaves a 64-bit result
// at 8i in the block: a call's r0, or a symbol's address (addr). A
// readback copies n bytes from the address step from left to payload
// offset to; a poke stores word val at that address plus off; a jump calls
// that address and keeps its r0. A call's jalr has the label "stepI".
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
func tail(m string, index uint64) step { return call("bpf_tail_call_target", sym(m), k(index)) }
func update(m string, key, value marg, flags uint64) step {
	return call("bpf_helper_2", sym(m), key, value, k(flags))
}
func addrOf(sym string) step            { return step{addr: sym} }
func readback(from, n, to int) step     { return step{readback: true, from: from, n: n, to: to} }
func poke(from, off int, v uint32) step { return step{poke: true, from: from, off: off, val: v} }
func jump(from int) step                { return step{jump: true, from: from} }

// mapObject is a struct bpf_map (runner/maps.c) in assembly; initial is a
// symbol or "0".
func mapObject(name string, typ, keySize, valueSize, maxEntries uint32, initial string) string {
	return fmt.Sprintf("\t.align 2\n%s:\t.word %d, %d, %d, %d, 0, %s, 0, 0\n", name, typ, keySize, valueSize, maxEntries, initial)
}

const (
	mapHash      = 1
	mapArray     = 2
	mapProgArray = 3
)

// Linux's errno values as the helpers return them.
const (
	eNOENT = 2
	e2BIG  = 7
	eEXIST = 17
	eINVAL = 22
)

// stepsSource is the program: text, then data. The block is 8 bytes per
// step, then the payload.
func stepsSource(steps []step, data string) string {
	payload := 8 * len(steps)
	var b strings.Builder
	b.WriteString("f:\taddiu $sp, $sp, -56\n\tsw $ra, 52($sp)\n\tsw $s0, 48($sp)\n\tmove $s0, $a0\n")
	for i, s := range steps {
		res := 8 * i
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
		fmt.Fprintf(&b, "\tsw $v0, %d($s0)\n\tsw $v1, %d($s0)\n", res, res+4)
	}
	b.WriteString("\tlw $s0, 48($sp)\n\tlw $ra, 52($sp)\n\tjr $ra\n\taddiu $sp, $sp, 56\n")
	b.WriteString("\t.data\n" + data)
	return b.String()
}

// stepsRun is the outcome of a steps program.
type stepsRun struct {
	res     *Result
	obj     *object
	results []uint64
	payload []byte
}

func runSteps(t *testing.T, e *Engine, march string, steps []step, data string, payload []byte) stepsRun {
	t.Helper()
	mem := append(make([]byte, 8*len(steps)), payload...)
	res, obj := runModule(t, e, march, stepsSource(steps, data), "f", mem)
	r := stepsRun{res: res, obj: obj}
	if res.Mem != nil {
		for i := range steps {
			r.results = append(r.results, binary.LittleEndian.Uint64(res.Mem[8*i:]))
		}
		r.payload = res.Mem[8*len(steps):]
	}
	return r
}

// errno is a negative helper result as r0 holds it.
func errno(n int64) uint64 { return uint64(-n) }

// le32 encodes little-endian words.
func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// TestArrayMap: lookups in and out of range, initial contents, the update
// flags, delete, values that persist within a run but not across runs, and
// the map helpers through bpf_callx.
func TestArrayMap(t *testing.T) {
	data := mapObject("arr", mapArray, 4, 12, 3, "arr_init") +
		"arr_init:\t.word 0x11111111, 0x12121212, 0x13131313, 0x21212121, 0x22222222, 0x23232323, 0x31313131, 0x32323232, 0x33333333\n" +
		mapObject("zeroed", mapArray, 4, 4, 2, "0")
	// Payload: keys 0, 1, 2, 3, 0xffffffff at 0..19, a 12-byte value at
	// 20, key 2 unaligned at 33; readbacks from 40 on.
	payload := append(le32(0, 1, 2, 3, 0xffffffff), "abcdefghijkl"...)
	payload = append(payload, 0, 2, 0, 0, 0, 0, 0)
	payload = append(payload, make([]byte, 64)...)
	key := func(i uint64) marg { return pay(4 * i) }
	value := pay(20)
	steps := []step{
		0:  lookup("arr", key(0)),
		1:  lookup("arr", key(1)),
		2:  lookup("arr", key(2)),
		3:  lookup("arr", key(3)),
		4:  lookup("arr", key(4)), // 0xffffffff
		5:  readback(1, 12, 40),
		6:  lookup("arr", pay(33)),
		7:  update("arr", key(1), value, 0),
		8:  readback(1, 12, 52),
		9:  update("arr", key(3), value, 0),
		10: update("arr", key(0), value, 1),
		11: update("arr", key(0), value, 2),
		12: update("arr", key(0), value, 3),
		13: update("arr", key(0), value, 1<<32),
		14: del("arr", key(0)),
		15: readback(0, 12, 64),
		16: lookup("zeroed", key(1)),
		17: readback(16, 4, 76),
		18: poke(16, 0, 0xfeedf00d),
		19: lookup("zeroed", key(1)),
		20: readback(19, 4, 80),
		21: call("bpf_callx", k(1), sym("zeroed"), key(1)),
		22: call("bpf_callx", k(2), sym("arr"), key(2), value, k(0)),
		23: readback(2, 12, 84),
		24: call("bpf_callx", k(3), sym("arr"), key(0)),
	}
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		var first stepsRun
		for run := range 2 {
			r := runSteps(t, e, march, steps, data, payload)
			requireReturned(t, r.res)
			res := r.results
			p0 := res[0]
			assert.NotZero(t, p0)
			assert.Zero(t, p0%8, "values are 8-byte aligned")
			assert.Equal(t, []uint64{p0 + 16, p0 + 32, 0, 0}, res[1:5], "values at a stride of 12 rounded up to 8; out of range: 0")
			assert.Equal(t, le32(0x21212121, 0x22222222, 0x23232323), r.payload[40:52], "initial contents")
			assert.Equal(t, p0+32, res[6], "unaligned key")
			assert.Equal(t, []byte("abcdefghijkl"), r.payload[52:64], "updated value")
			assert.Equal(t, []uint64{0, errno(e2BIG), errno(eEXIST), 0, errno(eINVAL), errno(eINVAL), errno(eINVAL)},
				[]uint64{res[7], res[9], res[10], res[11], res[12], res[13], res[14]}, "update ANY, out of range, NOEXIST, EXIST, flags 3, flags 1<<32; delete")
			assert.Equal(t, []byte("abcdefghijkl"), r.payload[64:76], "BPF_EXIST updated element 0")
			assert.Equal(t, res[16], res[19])
			assert.Equal(t, le32(0), r.payload[76:80], "no initial contents: zeroed")
			assert.Equal(t, le32(0xfeedf00d), r.payload[80:84], "a store through the value persists within the run")
			assert.Equal(t, []uint64{res[16], 0}, res[21:23], "lookup and update through bpf_callx")
			assert.Equal(t, []byte("abcdefghijkl"), r.payload[84:96])
			assert.Equal(t, errno(eINVAL), res[24])
			if run == 0 {
				first = r
			} else {
				assert.Equal(t, first.res.Mem, r.res.Mem, "the second run starts from the initial contents again")
			}
		}
	})
}

// TestHashMap: insert, lookup, update with every flag, delete, a full
// table, keys that differ in their last byte, and a fresh table every run.
func TestHashMap(t *testing.T) {
	data := mapObject("h", mapHash, 6, 8, 4, "0")
	// Keys K0..K5 at 8i ("abcdeI"), values V0..V5 at 48+8i.
	var payload []byte
	for i := range 6 {
		payload = append(payload, fmt.Sprintf("abcde%d\x00\x00", i)...)
	}
	for i := range 6 {
		payload = binary.LittleEndian.AppendUint64(payload, 0x1111111111111111*uint64(i+1))
	}
	payload = append(payload, make([]byte, 48)...) // readbacks at 96..
	key := func(i uint64) marg { return pay(8 * i) }
	val := func(i uint64) marg { return pay(48 + 8*i) }
	value := func(i int) []byte { return binary.LittleEndian.AppendUint64(nil, 0x1111111111111111*uint64(i+1)) }
	steps := []step{
		0:  lookup("h", key(0)),
		1:  update("h", key(0), val(0), 0),
		2:  lookup("h", key(0)),
		3:  readback(2, 8, 96),
		4:  update("h", key(0), val(1), 1), // NOEXIST, present
		5:  update("h", key(1), val(1), 2), // EXIST, absent
		6:  update("h", key(0), val(2), 2), // EXIST, present
		7:  lookup("h", key(0)),
		8:  readback(7, 8, 104),
		9:  update("h", key(1), val(1), 0),
		10: update("h", key(2), val(2), 1),
		11: update("h", key(3), val(3), 0),
		12: update("h", key(4), val(4), 0), // full
		13: update("h", key(4), val(4), 1), // full
		14: update("h", key(4), val(4), 2), // absent first
		15: update("h", key(3), val(5), 0), // present, full: fine
		16: lookup("h", key(4)),
		17: del("h", key(4)),
		18: del("h", key(2)),
		19: lookup("h", key(2)),
		20: del("h", key(2)),
		21: update("h", key(4), val(4), 1), // takes K2's place
		22: lookup("h", key(4)),
		23: readback(22, 8, 112),
		24: lookup("h", key(3)),
		25: readback(24, 8, 120),
		26: lookup("h", key(1)),
		27: readback(26, 8, 128),
		28: update("h", key(5), val(5), 4), // BPF_F_LOCK: no spin locks here
		29: call("bpf_callx", k(3), sym("h"), key(4)),
		30: lookup("h", key(4)),
		31: call("bpf_callx", k(2), sym("h"), key(5), val(5), k(0)),
		32: lookup("h", key(5)),
	}
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		var first stepsRun
		for run := range 2 {
			r := runSteps(t, e, march, steps, data, payload)
			requireReturned(t, r.res)
			res := r.results
			assert.Equal(t, uint64(0), res[0], "absent")
			assert.Equal(t, uint64(0), res[1])
			assert.NotZero(t, res[2])
			assert.Zero(t, res[2]%8, "values are 8-byte aligned")
			assert.Equal(t, value(0), r.payload[96:104])
			assert.Equal(t, []uint64{errno(eEXIST), errno(eNOENT), 0}, res[4:7], "NOEXIST present, EXIST absent, EXIST present")
			assert.Equal(t, value(2), r.payload[104:112])
			assert.Equal(t, []uint64{0, 0, 0, errno(e2BIG), errno(e2BIG), errno(eNOENT), 0, 0}, res[9:17],
				"three more keys; the fifth: full (ANY, NOEXIST), absent (EXIST); a present key updates in a full table")
			assert.Equal(t, []uint64{errno(eNOENT), 0, 0, errno(eNOENT), 0}, res[17:22], "delete absent, present; lookup and delete after the delete; insert after the delete")
			assert.NotZero(t, res[22])
			assert.Equal(t, value(4), r.payload[112:120])
			assert.Equal(t, value(5), r.payload[120:128], "K3 was updated to V5")
			assert.Equal(t, value(1), r.payload[128:136])
			assert.Equal(t, errno(eINVAL), res[28])
			assert.Equal(t, []uint64{0, 0, 0}, res[29:32], "delete, lookup, update through bpf_callx")
			assert.NotZero(t, res[32])
			if run == 0 {
				first = r
			} else {
				assert.Equal(t, first.res.Mem, r.res.Mem, "the second run starts from an empty table again")
			}
		}
	})
}

// TestHashMapMany fills a 40-entry table whose keys share buckets, then
// reads every value back.
func TestHashMapMany(t *testing.T) {
	const n = 40
	data := mapObject("h", mapHash, 4, 4, n, "0")
	var payload []byte
	for i := range n + 1 {
		payload = binary.LittleEndian.AppendUint32(payload, uint32(i)*0x01010101)
	}
	for i := range n + 1 {
		payload = binary.LittleEndian.AppendUint32(payload, uint32(3*i+1))
	}
	payload = append(payload, make([]byte, 4*n)...)
	var steps []step
	for i := range uint64(n + 1) {
		steps = append(steps, update("h", pay(4*i), pay(4*(n+1+i)), 0))
	}
	for i := range n {
		steps = append(steps, lookup("h", pay(4*uint64(i))), readback(len(steps), 4, 8*(n+1)+4*i))
	}
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		r := runSteps(t, e, march, steps, data, payload)
		requireReturned(t, r.res)
		for i := range n {
			assert.Equal(t, uint64(0), r.results[i], "insert %d", i)
			assert.Equal(t, uint32(3*i+1), binary.LittleEndian.Uint32(r.payload[8*(n+1)+4*i:]), "value %d", i)
		}
		assert.Equal(t, errno(e2BIG), r.results[n], "insert into the full table")
	})
}

// progSource adds two programs to a steps program: they return 0xa and 0xb.
const progData = "\t.text\nprog_a:\tli $v1, 0\n\tjr $ra\n\tli $v0, 0xa\nprog_b:\tli $v1, 0\n\tjr $ra\n\tli $v0, 0xb\n\t.data\n"

// TestProgArray: bpf_tail_call_target from the initial contents (entry
// addresses, R_MIPS_32 in the data), after an update and a delete; the
// addresses are the programs' (a call through them runs them); and the
// prog array results of the map helpers.
func TestProgArray(t *testing.T) {
	data := progData +
		mapObject("progs", mapProgArray, 4, 4, 4, "progs_init") +
		"progs_init:\t.word prog_a, 0, prog_b, 0\n" +
		"new_target:\t.word prog_b\n" +
		mapObject("empty", mapProgArray, 4, 4, 2, "0") +
		mapObject("arr", mapArray, 4, 4, 2, "0") +
		mapObject("other", 9, 4, 4, 2, "0")
	payload := le32(0, 1, 4, 9)
	key := func(i uint64) marg { return pay(4 * i) }
	steps := []step{
		0:  addrOf("prog_a"),
		1:  addrOf("prog_b"),
		2:  tail("progs", 0),
		3:  tail("progs", 1),
		4:  tail("progs", 2),
		5:  tail("progs", 4),
		6:  tail("progs", 1<<32|2), // the index is a u32
		7:  tail("progs", 0xffffffff),
		8:  jump(2),
		9:  lookup("progs", key(0)),
		10: update("progs", key(1), sym("new_target"), 0),
		11: tail("progs", 1),
		12: update("progs", key(1), sym("new_target"), 1), // only BPF_ANY
		13: update("progs", key(2), sym("new_target"), 0), // index 4
		14: del("progs", key(0)),
		15: tail("progs", 0),
		16: del("progs", key(0)),
		17: del("progs", key(3)), // index 9
		18: jump(11),
		19: tail("empty", 0),
		20: tail("arr", 0),
		21: tail("other", 0),
		22: call("bpf_callx", k(3), sym("progs"), key(1)),
		23: tail("progs", 1),
	}
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		var first stepsRun
		for run := range 2 {
			r := runSteps(t, e, march, steps, data, payload)
			requireReturned(t, r.res)
			res := r.results
			a, b := res[0], res[1]
			require.NotZero(t, a)
			assert.Equal(t, uint64(r.obj.labels["prog_b"]-r.obj.labels["prog_a"]), b-a)
			assert.Equal(t, []uint64{a, 0, b, 0, b, 0}, res[2:8], "slots 0..2, out of range, index 1<<32|2, 0xffffffff")
			assert.Equal(t, uint64(0xa), res[8], "the slot's address runs prog_a")
			assert.Equal(t, uint64(0), res[9], "no lookups in prog arrays")
			assert.Equal(t, []uint64{0, b}, res[10:12], "update")
			assert.Equal(t, []uint64{errno(eINVAL), errno(e2BIG)}, res[12:14], "update with BPF_NOEXIST, out of range")
			assert.Equal(t, []uint64{0, 0, errno(eNOENT), errno(e2BIG)}, res[14:18], "delete, then the slot is empty")
			assert.Equal(t, uint64(0xb), res[18])
			assert.Equal(t, []uint64{0, 0, 0}, res[19:22], "no initial contents; not prog arrays")
			assert.Equal(t, []uint64{0, 0}, res[22:24], "delete through bpf_callx")
			if run == 0 {
				first = r
			} else {
				assert.Equal(t, first.res.Mem, r.res.Mem, "the second run starts from the initial contents again")
			}
		}
	})
}

// TestMapErrors: bad pointers and bad map objects stop the program with a
// message naming the call site; the engine goes on.
func TestMapErrors(t *testing.T) {
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
		"\t.align 2\nstale:\t.word 2, 4, 4, 2, 0, 0, 4, 0\n"
	key := pay(0)
	cases := []struct {
		name   string
		last   step
		mapSym string // the map whose address the message shows, if any
		want   string
	}{
		{"map pointer", call("bpf_helper_1", k(0x100000040), key), "", "map_lookup_elem: pointer 0x100000040 is not a 32-bit address"},
		{"key pointer", call("bpf_helper_1", sym("arr"), k(0x200000010)), "", "map_lookup_elem: pointer 0x200000010 is not a 32-bit address"},
		{"hash key pointer", call("bpf_helper_3", sym("h"), k(0xffffffff00000000)), "", "map_delete_elem: pointer 0xffffffff00000000 is not a 32-bit address"},
		{"value pointer", update("h", key, k(0x500000000), 0), "", "map_update_elem: pointer 0x500000000 is not a 32-bit address"},
		{"high word of a map address", call("bpf_helper_1", marg{sym: "arr", hi: 1}, key), "arr", "map_lookup_elem: pointer 0x1%s is not a 32-bit address"},
		{"tail call map pointer", call("bpf_tail_call_target", k(0x300000000), k(0)), "", "bpf_tail_call_target: pointer 0x300000000 is not a 32-bit address"},
		{"misaligned map", call("bpf_helper_1", symAt("arr", 2), key), "arr+2", "map_lookup_elem: map pointer 0x%s is not 4-byte aligned"},
		{"misaligned tail call map", call("bpf_tail_call_target", symAt("arr", 1), k(0)), "arr+1", "bpf_tail_call_target: map pointer 0x%s is not 4-byte aligned"},
		{"unsupported type", del("unknown", key), "unknown", "map_delete_elem: map at 0x%s: unsupported type 4 (the runtime has 1 hash, 2 array, 3 prog array)"},
		{"array key size", lookup("arr_key8", key), "arr_key8", "map_lookup_elem: map at 0x%s: array key_size 8 (must be 4)"},
		{"hash key size", update("hash_key513", key, key, 0), "hash_key513", "map_update_elem: map at 0x%s: hash key_size 513 (must be 1..512)"},
		{"hash value size", lookup("hash_value0", key), "hash_value0", "map_lookup_elem: map at 0x%s: hash value_size 0 (must be at least 1)"},
		{"prog array value size", tail("prog_value8", 0), "prog_value8", "bpf_tail_call_target: map at 0x%s: prog array value_size 8 (must be 4)"},
		{"no entries", lookup("arr_empty", key), "arr_empty", "map_lookup_elem: map at 0x%s: array max_entries 0 (must be at least 1)"},
		{"stale state", lookup("stale", key), "stale", "map_lookup_elem: map at 0x%s: state word 0x00000004 is not the runtime's (map objects start with state 0)"},
		{"huge array", lookup("huge_array", key), "huge_array", "map_lookup_elem: map at 0x%s: its storage needs 2147483648 bytes, the runtime heap has "},
		{"huge hash", lookup("huge_hash", key), "huge_hash", "map_lookup_elem: map at 0x%s: its storage needs 0x"},
	}
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				steps := []step{lookup("arr", key), addrOf("arr"), tc.last}
				if tc.mapSym != "" {
					steps[1] = addrOf(tc.mapSym)
				}
				r := runSteps(t, e, march, steps, data, le32(1))
				require.NotNil(t, r.res.Fault)
				want := tc.want
				if tc.mapSym != "" {
					want = fmt.Sprintf(tc.want, fmt.Sprintf("%08x", uint32(r.results[1])))
				}
				if strings.HasSuffix(want, " ") || strings.HasSuffix(want, "0x") {
					assert.True(t, strings.HasPrefix(r.res.Fault.Stop, want), "got %q, want a message starting %q", r.res.Fault.Stop, want)
				} else {
					assert.Equal(t, want, r.res.Fault.Stop)
				}
				assert.True(t, r.res.Fault.InCode)
				assert.Equal(t, r.obj.labels["step2"], r.res.Fault.PC)
				assert.NotZero(t, r.results[0], "the steps before ran")
				ok := runSnippet(t, e, "mips32", "f:\tli $v0, 42\n\tjr $ra\n\tli $v1, 7\n", "f", nil)
				requireReturned(t, ok)
			})
		}
		// A map that is not a prog array has no tail-call targets, whatever
		// its type.
		r := runSteps(t, e, march, []step{tail("unknown", 0), tail("h", 0)}, data, nil)
		requireReturned(t, r.res)
		assert.Equal(t, []uint64{0, 0}, r.results)
	})
}
