package qemu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
)

// Tests of the BPF helpers in runner/helpers.c, called the way compiled code
// calls them: O32, every argument 64-bit, through t9. The expected values
// come from the helpers' definitions (frontend/bpf.ConformanceHelpers for the
// ubpf set), written out here, never from the runner.

// ks are constant arguments.
func ks(vs ...uint64) []mipstest.Arg {
	a := make([]mipstest.Arg, len(vs))
	for i, v := range vs {
		a[i] = mipstest.K(v)
	}
	return a
}

// call calls sym with constant arguments.
func call(sym string, vs ...uint64) mipstest.Step { return mipstest.Call(sym, ks(vs...)...) }

// distinct5 are five arguments whose ten halves all differ.
var distinct5 = []uint64{0x1111111122222201, 0x3333333344444402, 0x5555555566666603, 0x7777777788888804, 0x99999999aaaaaa05}

// runCalls runs the steps program of calls (mipstest.StepsSource: O32,
// every argument 64-bit, through t9) on a block of 8 bytes per call
// followed by payload; it returns the results and the final payload.
func runCalls(t *testing.T, e *Engine, march string, calls []mipstest.Step, payload []byte) (*Result, []uint64, []byte) {
	t.Helper()
	mem := append(make([]byte, 8*len(calls)), payload...)
	res := runSnippet(t, e, march, mipstest.StepsSource(calls, ""), "f", mem)
	if res.Mem == nil {
		return res, nil, nil
	}
	out := make([]uint64, len(calls))
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(res.Mem[8*i:])
	}
	return res, out, res.Mem[8*len(calls):]
}

func TestSymbolsIncludeHelpers(t *testing.T) {
	syms := requireEngine(t, r2).Symbols()
	for _, name := range []string{"ubpf_helper_0", "ubpf_helper_1", "ubpf_helper_2", "ubpf_helper_3",
		"ubpf_helper_4", "ubpf_helper_5", "ubpf_callx", "bpf_helper_1", "bpf_helper_2", "bpf_helper_3",
		"bpf_helper_5", "bpf_helper_7", "bpf_helper_8", "bpf_callx", "bpf_tail_call_target"} {
		assert.NotZero(t, syms[name], name)
	}
}

// neg is a negative helper result as the 64-bit register holds it.
func neg(n int64) uint64 { return uint64(n) }

func TestUBPFHelpers(t *testing.T) {
	k, p := mipstest.K, mipstest.Pay
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		t.Run("gather_bytes, no_op, unwind continuing", func(t *testing.T) {
			res, out, _ := runCalls(t, e, march, []mipstest.Step{
				call("ubpf_helper_0", distinct5...),
				call("ubpf_helper_2", distinct5...),
				call("ubpf_helper_5", 0x0000000100000000, 2, 3, 4, 5), // not 0: only the high word is set
				call("ubpf_helper_5", 0xfedcba9876543210, 2, 3, 4, 5),
			}, nil)
			requireReturned(t, res)
			assert.Equal(t, []uint64{0x01_02030405, 0, 0x0000000100000000, 0xfedcba9876543210}, out)
		})
		t.Run("memfrob", func(t *testing.T) {
			payload := []byte("hello, world\x00...")
			res, out, mem := runCalls(t, e, march, []mipstest.Step{
				mipstest.Call("ubpf_helper_1", p(2), k(5), k(distinct5[2]), k(distinct5[3]), k(distinct5[4])),
				// Length 0: nothing happens, even with a bad pointer.
				call("ubpf_helper_1", 0xdead000000000001, 0, 3, 4, 5),
				mipstest.Call("ubpf_helper_1", p(12), k(1)), // r3..r5 not passed
				call("ubpf_helper_2"),
			}, payload)
			requireReturned(t, res)
			assert.Equal(t, []uint64{0, 0, 0, 0}, out)
			frobbed := []byte{'l' ^ 42, 'l' ^ 42, 'o' ^ 42, ',' ^ 42, ' ' ^ 42}
			assert.Equal(t, []byte("he"+string(frobbed)+"world"+string([]byte{42})+"..."), mem)
		})
		t.Run("strcmp_ext", func(t *testing.T) {
			// Strings at payload offsets 0 "abc", 4 "abd", 8 "a\x80", 11 "a\x01", 14 "", 15 "abc".
			payload := []byte("abc\x00abd\x00a\x80\x00a\x01\x00\x00abc\x00")
			cases := []struct {
				a, b uint64
				want uint64
			}{
				{0, 4, neg('c' - 'd')},
				{4, 0, 'd' - 'c'},
				{0, 15, 0},           // equal strings at different addresses
				{8, 11, 0x80 - 0x01}, // bytes compare unsigned
				{14, 11, neg(-'a')},
				{11, 14, 'a'},
				{14, 14, 0},
				{0, 8, neg('b' - 0x80)},
			}
			var calls []mipstest.Step
			for _, c := range cases {
				calls = append(calls, mipstest.Call("ubpf_helper_4", p(c.a), p(c.b), k(distinct5[2]), k(distinct5[3]), k(distinct5[4])))
			}
			mem := append(make([]byte, 8*len(calls)), payload...)
			res := runSnippet(t, e, march, mipstest.StepsSource(calls, ""), "f", mem)
			requireReturned(t, res)
			for i, c := range cases {
				assert.Equal(t, c.want, binary.LittleEndian.Uint64(res.Mem[8*i:]), "strcmp_ext(%d, %d)", c.a, c.b)
			}
			assert.Equal(t, payload, res.Mem[8*len(calls):], "strcmp_ext writes nothing")
		})
	})
}

// TestHelperErrors: bad pointers stop the program with a message naming the
// call site, or fault where the memory ends; the engine goes on.
func TestHelperErrors(t *testing.T) {
	e := requireEngine(t, r2)
	stopCase := func(t *testing.T, calls []mipstest.Step, payload []byte, want string) {
		t.Helper()
		obj := mipstest.Assemble(t, r2, "mips32r2", mipstest.StepsSource(calls, ""))
		res, err := e.Run(obj.Code, obj.Relocs, obj.Labels["f"], append(make([]byte, 8*len(calls)), payload...))
		require.NoError(t, err)
		require.NotNil(t, res.Fault)
		site := obj.Labels[fmt.Sprintf("step%d", len(calls)-1)]
		assert.Equal(t, want, res.Fault.Stop)
		assert.True(t, res.Fault.InCode)
		assert.Equal(t, site, res.Fault.PC)
		assert.Equal(t, fmt.Sprintf("stopped by the runtime: %s (called at code offset %#x)", want, site), res.Fault.Error())
		assert.Zero(t, res.R0)
		assert.Equal(t, uint64(0x01_02030405), binary.LittleEndian.Uint64(res.Mem), "the first call's result was stored")
		requireReturned(t, runSnippet(t, e, "mips32", "f:\tli $v0, 42\n\tjr $ra\n\tli $v1, 7\n", "f", nil))
	}
	gather := call("ubpf_helper_0", distinct5...)
	t.Run("memfrob pointer", func(t *testing.T) {
		stopCase(t, []mipstest.Step{gather, call("ubpf_helper_1", 0xdead000000000001, 3, 0, 0, 0)}, nil,
			"memfrob: pointer 0xdead000000000001 is not a 32-bit address")
	})
	t.Run("memfrob length", func(t *testing.T) {
		stopCase(t, []mipstest.Step{gather, mipstest.Call("ubpf_helper_1", mipstest.Pay(0), mipstest.K(1<<32))}, make([]byte, 8),
			"memfrob: length 0x100000000 runs past the end of the address space")
	})
	t.Run("strcmp_ext pointer", func(t *testing.T) {
		stopCase(t, []mipstest.Step{gather, mipstest.Call("ubpf_helper_4", mipstest.Pay(0), mipstest.K(0x100000010))}, make([]byte, 8),
			"strcmp_ext: pointer 0x100000010 is not a 32-bit address")
	})
	// An unterminated string runs into the guard page after the block, even
	// when the strings differ at their first byte (the reference reads both
	// strings whole first).
	t.Run("strcmp_ext unterminated", func(t *testing.T) {
		calls := []mipstest.Step{mipstest.Call("ubpf_helper_4", mipstest.Pay(0), mipstest.Pay(4))}
		res := runSnippet(t, e, "mips32r2", mipstest.StepsSource(calls, ""), "f", append(make([]byte, 8), "x\x00\x00\x00yyyy"...))
		require.NotNil(t, res.Fault)
		assert.Equal(t, "SIGSEGV", res.Fault.Signal)
		assert.False(t, res.Fault.InCode)
		assert.Equal(t, res.MemAddr+16, res.Fault.Addr)
	})
}

// TestCallx: the dispatchers take six 64-bit arguments (id, r1..r5: id in
// a0/a1, r1 in a2/a3, r2..r5 at 16..40(sp)) and reject unknown IDs, whole
// 64-bit ones included (0x100000000 must not reach helper 0).
func TestCallx(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		res, out, _ := runCalls(t, e, march, []mipstest.Step{
			call("ubpf_callx", append([]uint64{0}, distinct5...)...),
			call("ubpf_callx", 3, 1<<40, 2, 3, 4, 5),
			call("ubpf_callx", 2, 1, 2, 3, 4, 5),
			call("ubpf_callx", 5, 0xabcdef0012345678, 2, 3, 4, 5),
		}, nil)
		requireReturned(t, res)
		assert.Equal(t, []uint64{0x01_02030405, 1 << 20, 0, 0xabcdef0012345678}, out)
	})
	e := requireEngine(t, r2)
	for _, tc := range []struct {
		call mipstest.Step
		want string
	}{
		{call("ubpf_callx", 6, 1, 2, 3, 4, 5), "unknown helper id 6 in ubpf_callx"},
		{call("ubpf_callx", 0x100000000, 1, 2, 3, 4, 5), "unknown helper id 0x100000000 in ubpf_callx"},
		{call("ubpf_callx", math.MaxUint64, 1, 2, 3, 4, 5), "unknown helper id 0xffffffffffffffff in ubpf_callx"},
		{call("bpf_callx", 0, 1, 2, 3, 4, 5), "unknown helper id 0 in bpf_callx"},
		{call("bpf_callx", 4, 1, 2, 3, 4, 5), "unknown helper id 4 in bpf_callx"},
		{call("bpf_callx", 12, 1, 2, 3, 4, 5), "unknown helper id 12 in bpf_callx"},
		{call("bpf_callx", 6, 1, 2, 3, 4, 5), "unknown helper id 6 in bpf_callx"},
		{call("bpf_callx", 4294967295, 1, 2, 3, 4, 5), "unknown helper id 4294967295 in bpf_callx"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			calls := []mipstest.Step{call("ubpf_helper_0", distinct5...), tc.call, call("ubpf_helper_2")}
			obj := mipstest.Assemble(t, r2, "mips32r2", mipstest.StepsSource(calls, ""))
			res, err := e.Run(obj.Code, obj.Relocs, obj.Labels["f"], make([]byte, 8*len(calls)))
			require.NoError(t, err)
			require.NotNil(t, res.Fault)
			assert.Equal(t, tc.want, res.Fault.Stop)
			assert.Equal(t, obj.Labels["step1"], res.Fault.PC)
			assert.True(t, res.Fault.InCode)
			assert.Equal(t, le64(0x01_02030405, 0, 0), res.Mem, "the program stopped at the second call")
			requireReturned(t, runSnippet(t, e, "mips32", "f:\tli $v0, 42\n\tjr $ra\n\tli $v1, 7\n", "f", nil))
		})
	}
}

// xorshift32 is get_prandom_u32's documented generator (runner/helpers.c).
func xorshift32(x uint32) uint32 {
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	return x
}

// TestKernelHelpers: the bpf_helper_N set is deterministic and starts afresh
// with every run.
func TestKernelHelpers(t *testing.T) {
	calls := []mipstest.Step{
		call("bpf_helper_5"), call("bpf_helper_7"), call("bpf_helper_5"), call("bpf_helper_7"),
		call("bpf_helper_8", distinct5...), call("bpf_callx", 5), call("bpf_callx", 7), call("bpf_callx", 8),
	}
	x1 := xorshift32(2463534242)
	x2 := xorshift32(x1)
	x3 := xorshift32(x2)
	want := []uint64{1000, uint64(x1), 2000, uint64(x2), 0, 3000, uint64(x3), 0}
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		for run := range 2 {
			res, out, _ := runCalls(t, e, march, calls, nil)
			requireReturned(t, res)
			assert.Equal(t, want, out, "run %d", run)
		}
	})
}

// TestUnwind: unwind with r1 = 0 ends the whole program with r0 = 0, from a
// nested frame and through callx: what the program stored before the call
// stays, what it would do after does not happen, the trampoline's registers
// come back (the O32 check is clean) and the engine runs the next program.
// With r1 != 0 the program goes on.
func TestUnwind(t *testing.T) {
	// The block: r1 at 0, the route at 8 (0: ubpf_helper_5, 1: ubpf_callx),
	// markers at 16 (before the call) and 17 (after). f saves and
	// clobbers every callee-saved register, as a compiled program would,
	// and calls g, which calls the helper from a second frame.
	const src = `
f:	addiu $sp, $sp, -48
	sw $ra, 44($sp)
	sw $fp, 40($sp)
	sw $s7, 36($sp)
	sw $s6, 32($sp)
	sw $s5, 28($sp)
	sw $s4, 24($sp)
	sw $s3, 20($sp)
	sw $s2, 16($sp)
	sw $s1, 12($sp)
	sw $s0, 8($sp)
	move $s0, $a0
	li $s1, 0x5001
	li $s2, 0x5002
	li $s3, 0x5003
	li $s4, 0x5004
	li $s5, 0x5005
	li $s6, 0x5006
	li $s7, 0x5007
	li $fp, 0x500f
	li $t0, 0x11
	sb $t0, 16($s0)
	lw $a0, 0($s0)
	lw $a1, 4($s0)
	bal g
	lw $a2, 8($s0)
	li $t0, 0x22
	sb $t0, 17($s0)
	addiu $v0, $v0, 1
	lw $s0, 8($sp)
	lw $s1, 12($sp)
	lw $s2, 16($sp)
	lw $s3, 20($sp)
	lw $s4, 24($sp)
	lw $s5, 28($sp)
	lw $s6, 32($sp)
	lw $s7, 36($sp)
	lw $fp, 40($sp)
	lw $ra, 44($sp)
	jr $ra
	addiu $sp, $sp, 48
g:	addiu $sp, $sp, -24
	sw $ra, 20($sp)
	bnez $a2, 1f
	lui $t9, %hi(ubpf_helper_5)
	b 2f
	addiu $t9, $t9, %lo(ubpf_helper_5)
1:	move $a2, $a0
	move $a3, $a1
	li $a0, 5
	move $a1, $zero
	lui $t9, %hi(ubpf_callx)
	addiu $t9, $t9, %lo(ubpf_callx)
2:	jalr $t9
	nop
	lw $ra, 20($sp)
	jr $ra
	addiu $sp, $sp, 24
`
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		for _, tc := range []struct {
			name    string
			r1      uint64
			route   uint64
			want    uint64
			markers []byte
		}{
			{"helper stops", 0, 0, 0, []byte{0x11, 0}},
			{"callx stops", 0, 1, 0, []byte{0x11, 0}},
			{"helper goes on", 0x100000000, 0, 0x100000001, []byte{0x11, 0x22}},
			{"callx goes on", 0x7000000007, 1, 0x7000000008, []byte{0x11, 0x22}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := runSnippet(t, e, march, src, "f", le64(tc.r1, tc.route, 0))
				requireReturned(t, res) // includes the O32 check
				assert.Equal(t, tc.want, res.R0)
				assert.Equal(t, tc.markers, res.Mem[16:18])
				ok := runSnippet(t, e, march, "f:\tli $v0, 42\n\tjr $ra\n\tli $v1, 7\n", "f", nil)
				requireReturned(t, ok)
				assert.Equal(t, uint64(7)<<32|42, ok.R0, "engine usable after the stop")
			})
		}
	})
}

// TestSqrti compares ubpf_helper_3 with (uint64)sqrt((double)x) on values
// around every rounding boundary: the conversion to double (more than 53
// significant bits) and the square root rounding up to the next integer.
func TestSqrti(t *testing.T) {
	vals := []uint64{0, 1, 2, 3, 4, 5, 8, 9, 15, 16, 17, 1<<52 - 1, 1 << 52, 1<<53 - 1, 1 << 53, 1<<53 + 1,
		1<<63 - 1, 1 << 63, 1<<64 - 1, 1<<64 - 1<<10, 1<<64 - 1<<11, 1<<64 - 1<<11 - 1, 1<<64 - 3<<10}
	for k := uint64(1); k < 1<<32; k = k*3/2 + 1 {
		vals = append(vals, k*k, k*k-1, k*k+1, (k+1)*(k+1)-1, (k+1)*(k+1)-2)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1500 {
		x := rng.Uint64() >> rng.IntN(64)
		k := uint64(math.Sqrt(float64(x)))
		vals = append(vals, x, k*k-1, (k+1)*(k+1)-1-uint64(rng.IntN(4096)))
	}
	const src = `
f:	addiu $sp, $sp, -48
	sw $ra, 44($sp)
	sw $s0, 40($sp)
	sw $s1, 36($sp)
	move $s0, $a0
	addu $s1, $a0, $a1
1:	beq $s0, $s1, 2f
	nop
	lw $a0, 0($s0)
	lw $a1, 4($s0)
	lui $t9, %hi(ubpf_helper_3)
	addiu $t9, $t9, %lo(ubpf_helper_3)
	jalr $t9
	nop
	sw $v0, 0($s0)
	sw $v1, 4($s0)
	b 1b
	addiu $s0, $s0, 8
2:	lw $s1, 36($sp)
	lw $s0, 40($sp)
	lw $ra, 44($sp)
	move $v0, $zero
	move $v1, $zero
	jr $ra
	addiu $sp, $sp, 48
`
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		res := runSnippet(t, e, march, src, "f", le64(vals...))
		requireReturned(t, res)
		bad := 0
		for i, x := range vals {
			want := uint64(math.Sqrt(float64(x)))
			if got := binary.LittleEndian.Uint64(res.Mem[8*i:]); got != want {
				if bad++; bad <= 10 {
					t.Errorf("sqrti(%#x) = %#x, want %#x", x, got, want)
				}
			}
		}
		assert.Zero(t, bad, "wrong results out of %d", len(vals))
	})
}
