package sim

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
	"github.com/bpfopt/bpfopt/ir"
)

func TestDivisionRoutines(t *testing.T) {
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			for _, c := range mipstest.DivCases() {
				res, _ := runSim(t, target, mipstest.CallSnippet(c.Sym), u64s(target, c.A, c.B))
				requireReturned(t, res)
				assert.Equal(t, c.Want, res.R0, "%s(%#x, %#x)", c.Sym, c.A, c.B)
				assert.Equal(t, int64(1), res.Stats.RuntimeCalls)
			}
		})
	}
}

func TestAtomicRoutines(t *testing.T) {
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			for _, c := range mipstest.AtomicCases() {
				res, _ := runSim(t, target, mipstest.AtomicSnippet(c.Sym), u64s(target, c.Old, c.Arg))
				requireReturned(t, res)
				assert.Equal(t, c.Old, res.R0, "%s returns the old value", c.Sym)
				assert.Equal(t, u64s(target, c.Want, c.Arg), res.Mem, c.Sym)
			}
		})
	}
}

func TestCompareExchange(t *testing.T) {
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			res, _ := runSim(t, target, mipstest.CmpxchgSnippet, u64s(target, 0x1111_2222_3333_4444, 0x1111_2222_3333_4444, 0xaaaa_bbbb_cccc_dddd))
			requireReturned(t, res)
			assert.Equal(t, r0Of(target, 1, 0), res.R0, "equal: exchanged")
			assert.Equal(t, u64s(target, 0xaaaa_bbbb_cccc_dddd, 0x1111_2222_3333_4444, 0xaaaa_bbbb_cccc_dddd), res.Mem)

			res, _ = runSim(t, target, mipstest.CmpxchgSnippet, u64s(target, 5, 6, 7))
			requireReturned(t, res)
			assert.Equal(t, uint64(0), res.R0, "different: not exchanged")
			assert.Equal(t, u64s(target, 5, 5, 7), res.Mem, "expected receives the current value")
		})
	}
}

func TestCrossCheckRuntime(t *testing.T) {
	for _, target := range crossTargets {
		t.Run(target.String(), func(t *testing.T) {
			e := requireQemu(t, target)
			m := newMachine(t, Options{Target: target})
			for _, c := range mipstest.DivCases() {
				crossCheck(t, e, m, c.Sym, assemble(t, target, mipstest.CallSnippet(c.Sym)), mipstest.LE64(c.A, c.B))
			}
			for _, c := range mipstest.AtomicCases() {
				crossCheck(t, e, m, c.Sym, assemble(t, target, mipstest.AtomicSnippet(c.Sym)), mipstest.LE64(c.Old, c.Arg))
			}
			crossCheck(t, e, m, "cmpxchg equal", assemble(t, target, mipstest.CmpxchgSnippet), mipstest.LE64(3, 3, 9))
			crossCheck(t, e, m, "cmpxchg different", assemble(t, target, mipstest.CmpxchgSnippet), mipstest.LE64(3, 4, 9))
			crossCheck(t, e, m, "s0 not restored", assemble(t, target, s0NotRestored), nil)
		})
	}
}

const s0NotRestored = "f:\tli $s0, 1\n\tli $v0, 5\n\tjr $ra\n\tli $v1, 6\n"

func TestABIViolations(t *testing.T) {
	t.Run("callee-saved register not restored", func(t *testing.T) {
		res, _ := runSim(t, r2el, s0NotRestored, nil)
		require.NotNil(t, res.Fault)
		assert.Equal(t, ABIViolation, res.Fault.Kind)
		assert.Equal(t, "s0 not preserved (0xca105afe before the call, 0x00000001 after)", res.Fault.Msg)
		assert.Equal(t, uint64(6)<<32|5, res.R0, "r0 is valid after an ABI violation at the return")
	})
	t.Run("sp, fp and gp not restored", func(t *testing.T) {
		res, _ := runSim(t, r2el, "f:\taddiu $sp, $sp, -8\n\tmove $fp, $zero\n\tmove $gp, $zero\n\tjr $ra\n\tnop\n", nil)
		require.NotNil(t, res.Fault)
		assert.Equal(t, ABIViolation, res.Fault.Kind)
		assert.Contains(t, res.Fault.Msg, "fp not preserved")
		assert.Contains(t, res.Fault.Msg, fmt.Sprintf("sp not preserved (0x%08x before the call, 0x%08x after)", StackTop-16, StackTop-24))
		assert.Contains(t, res.Fault.Msg, "gp not preserved")
	})

	call := func(setup string) string {
		return `
f:	addiu $sp, $sp, -24
	sw $ra, 20($sp)
` + setup + `
	jalr $t9
	nop
	lw $ra, 20($sp)
	jr $ra
	addiu $sp, $sp, 24
`
	}
	const loadT9 = "\tlui $t9, %hi(__udivdi3)\n\taddiu $t9, $t9, %lo(__udivdi3)\n\tli $a2, 1\n\tli $a3, 0\n"
	for _, tc := range []struct {
		name, setup, want string
	}{
		{"sp misaligned at a call", "\taddiu $sp, $sp, -4\n" + loadT9,
			fmt.Sprintf("call of __udivdi3 from code offset 0x1c: sp = 0x%08x is not 8-byte aligned", StackTop-16-28)},
		{"home area outside the stack", "\tmove $t0, $sp\n\tli $sp, 0x7ffefff8\n" + loadT9,
			"call of __udivdi3 from code offset 0x24: the 16-byte home area at sp = 0x7ffefff8 is not in the stack [0x7ffe0000, 0x7fff0000)"},
		{"callee not reached through t9", "\tlui $t8, %hi(__udivdi3)\n\taddiu $t8, $t8, %lo(__udivdi3)\n\tli $t9, 4\n\tmove $t9, $t8\n\taddiu $t9, $t9, 4\n\taddiu $t9, $t9, -4\n\tjalr $t8\n\tli $t9, 0\n",
			fmt.Sprintf("call of __udivdi3 from code offset 0x20: t9 = 0x00000000, not the callee's address 0x%08x", RuntimeBase)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := runSim(t, r2el, call(tc.setup), nil)
			require.NotNil(t, res.Fault)
			assert.Equal(t, ABIViolation, res.Fault.Kind, "%v", res.Fault)
			assert.Equal(t, RuntimeBase, res.Fault.PC)
			assert.False(t, res.Fault.InCode)
			assert.Contains(t, res.Fault.Msg, tc.want)
		})
	}
}

// TestCallClobbers: after a runtime call the caller-saved registers, HI,
// LO and the home area hold garbage, and the callee-saved ones survive.
func TestCallClobbers(t *testing.T) {
	const src = `
f:	addiu $sp, $sp, -32
	sw $ra, 28($sp)
	sw $s0, 24($sp)
	sw $s1, 20($sp)
	move $s1, $a0
	li $t0, 0x1234
	mthi $t0
	sw $t0, 0($sp)
	li $s0, 0x777
	lui $t9, %hi(__udivdi3)
	addiu $t9, $t9, %lo(__udivdi3)
	li $a0, 10
	li $a1, 0
	li $a2, 3
	jalr $t9
	li $a3, 0
	sw $t0, 0($s1)
	mfhi $t1
	sw $t1, 4($s1)
	lw $t1, 0($sp)
	sw $t1, 8($s1)
	sw $s0, 12($s1)
	sw $v0, 16($s1)
	sw $a0, 20($s1)
	lw $s1, 20($sp)
	lw $s0, 24($sp)
	lw $ra, 28($sp)
	jr $ra
	addiu $sp, $sp, 32
`
	res, _ := runSim(t, r2el, src, make([]byte, 24))
	requireReturned(t, res)
	word := func(i int) uint32 { return binary.LittleEndian.Uint32(res.Mem[4*i:]) }
	assert.NotEqual(t, uint32(0x1234), word(0), "t0 clobbered")
	assert.NotEqual(t, uint32(0x1234), word(1), "hi clobbered")
	assert.NotEqual(t, uint32(0x1234), word(2), "home area clobbered")
	assert.Equal(t, uint32(0x777), word(3), "s0 survives")
	assert.Equal(t, uint32(3), word(4), "10 / 3")
	assert.NotEqual(t, uint32(10), word(5), "a0 clobbered")
}

// helperSnippet calls bpf_helper_1(r1..r5) as compiled code does: r1 in
// a0/a1, r2 in a2/a3, r3..r5 at 16, 24, 32(sp), from the block's words.
const helperSnippet = `
f:	addiu $sp, $sp, -48
	sw $ra, 44($sp)
	lw $t0, 16($a0)
	lw $t1, 20($a0)
	sw $t0, 16($sp)
	sw $t1, 20($sp)
	lw $t0, 24($a0)
	lw $t1, 28($a0)
	sw $t0, 24($sp)
	sw $t1, 28($sp)
	lw $t0, 32($a0)
	lw $t1, 36($a0)
	sw $t0, 32($sp)
	sw $t1, 36($sp)
	lw $a2, 8($a0)
	lw $a3, 12($a0)
	lw $a1, 4($a0)
	lw $a0, 0($a0)
	lui $t9, %hi(bpf_helper_1)
	addiu $t9, $t9, %lo(bpf_helper_1)
	jalr $t9
	nop
	lw $ra, 44($sp)
	jr $ra
	addiu $sp, $sp, 48
`

func TestExterns(t *testing.T) {
	var got []uint64
	helper := &ir.RuntimeFunc{Name: "bpf_helper_1", Params: []ir.Type{ir.I64, ir.I64, ir.I64, ir.I64, ir.I64}, Result: ir.I64,
		Eval: func(m ir.Memory, a []uint64) (uint64, error) {
			got = append([]uint64(nil), a...)
			if a[0] == 0 {
				return 0, fmt.Errorf("wrapped: %w", &Stop{R0: 0x55})
			}
			if a[0] == 1 {
				return 0, fmt.Errorf("helper refuses r1 = 1")
			}
			if a[0] == 2 {
				_, err := m.Load(0x40, 4)
				return 0, err
			}
			v, err := m.Load(uint32(a[4]), 8)
			return v + a[0], err
		}}
	args := []uint64{0x1111_0000_2222_0000, 0x3333_0000_4444_0000, 0x5555, 0x6666_0000_0000_0007, 0}
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			m := newMachine(t, Options{Target: target, Externs: map[string]*ir.RuntimeFunc{"bpf_helper_1": helper}})
			obj := assemble(t, target, helperSnippet)
			run := func(args []uint64, extra ...uint64) *Result {
				mem := u64s(target, append(append([]uint64(nil), args...), extra...)...)
				res, err := m.Run(obj.Code, obj.Relocs, obj.Labels["f"], mem)
				require.NoError(t, err)
				return res
			}
			// r5 points at the sixth word of the block.
			memAddr := MemEnd - 48
			args[4] = uint64(memAddr + 40)
			res := run(args, 0x100)
			requireReturned(t, res)
			assert.Equal(t, args, got, "the five 64-bit arguments")
			assert.Equal(t, args[0]+0x100, res.R0)

			res = run([]uint64{0, 0, 0, 0, 0}, 0)
			assert.Nil(t, res.Fault, "a Stop ends the run normally")
			assert.Equal(t, uint64(0x55), res.R0)

			res = run([]uint64{1, 0, 0, 0, 0}, 0)
			require.NotNil(t, res.Fault)
			assert.Equal(t, RuntimeError, res.Fault.Kind)
			assert.Equal(t, "runtime error at 0x0f000000 (outside the code): bpf_helper_1 (called from code offset 0x50): helper refuses r1 = 1", res.Fault.Error())

			res = run([]uint64{2, 0, 0, 0, 0}, 0)
			require.NotNil(t, res.Fault)
			assert.Equal(t, Unmapped, res.Fault.Kind)
			assert.Equal(t, uint32(0x40), res.Fault.Addr)
		})
	}
	_, err := New(Options{Target: r2el, Externs: map[string]*ir.RuntimeFunc{"x": {Name: "x"}}})
	require.ErrorContains(t, err, `extern "x" has no Eval`)
}

func TestRuntimeFaults(t *testing.T) {
	// A division by zero that reaches __udivdi3 (callers must rule it out).
	res, _ := runSim(t, r2el, mipstest.CallSnippet("__udivdi3"), mipstest.LE64(5, 0))
	require.NotNil(t, res.Fault)
	assert.Equal(t, RuntimeError, res.Fault.Kind)
	assert.Contains(t, res.Fault.Msg, "__udivdi3 (called from code offset 0x30): __udivdi3: division by zero reached the runtime")

	// An atomic on an unmapped address.
	res, _ = runSim(t, r2el, strings.Replace(mipstest.AtomicSnippet("__atomic_fetch_add_8"), "jalr $t9\n\tnop", "jalr $t9\n\tmove $a0, $zero", 1), make([]byte, 16))
	require.NotNil(t, res.Fault)
	assert.Equal(t, Unmapped, res.Fault.Kind, "%v", res.Fault)
	assert.Equal(t, uint32(0), res.Fault.Addr)
	assert.Equal(t, RuntimeBase, res.Fault.PC)
}

func TestSymbols(t *testing.T) {
	m := newMachine(t, Options{Target: r2el})
	syms, err := m.Symbols([]mips32.Reloc{{Sym: "__udivdi3"}, {Sym: "__atomic_fetch_add_8"}, {Sym: "__udivdi3"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]uint32{"__atomic_fetch_add_8": RuntimeBase, "__udivdi3": RuntimeBase + runtimeStride}, syms)
}
