package mips32

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// sumLoopIR sums the n words after n (the first word at a0): a loop with
// a constant, a phi per register and two exits to one return.
const sumLoopIR = `func sum_loop {
b0:
    v1:i32 = Arg [0]
    v2:i32 = Load32 [0] v1 align=4
    v3:i32 = Const32 [0]
    v4:i32 = Eq32 v2, v3
    If v4 -> b6, b1
b1: <- b0
    Jump b2
b2: <- b1, b3
    v5:i32 = Phi v3, v9
    v6:i32 = Phi v3, v10
    v20:i32 = Const32 [2]
    v7:i32 = Shl32 v5, v20
    v8:i32 = Add32 v1, v7
    v11:i32 = Load32 [4] v8 align=4
    v10:i32 = Add32 v6, v11
    v21:i32 = Const32 [1]
    v9:i32 = Add32 v5, v21
    v12:i32 = LtU32 v9, v2
    If v12 -> b3, b4
b3: <- b2
    Jump b2
b4: <- b2
    Jump b5
b6: <- b0
    Jump b5
b5: <- b6, b4
    v13:i32 = Phi v3, v10
    Ret v13, v3
}
`

// With Unoptimized (-O0) every delay slot holds a nop and nothing is
// moved out of the loop or coalesced; the optimizing backend fills slots
// and needs fewer instructions. Both pass the allocation checker.
func TestUnoptimizedBackend(t *testing.T) {
	compile := func(unoptimized bool) []Inst {
		f, err := ir.Parse(sumLoopIR)
		require.NoError(t, err)
		mod, err := Compile(f, Options{Target: DefaultTarget, CheckAllocation: true, Unoptimized: unoptimized})
		require.NoError(t, err)
		var insts []Inst
		for _, in := range mod.Assembled.Insts {
			if in.Op != LABEL {
				insts = append(insts, in)
			}
		}
		return insts
	}
	plain, opt := compile(true), compile(false)
	slots, filled := 0, 0
	for i, in := range plain {
		if in.Op.HasDelaySlot() {
			slots++
			require.Less(t, i+1, len(plain))
			require.Equal(t, NOP, plain[i+1].Op, "delay slot of %v at -O0", in)
		}
	}
	for i, in := range opt {
		if in.Op.HasDelaySlot() && opt[i+1].Op != NOP {
			filled++
		}
	}
	require.Positive(t, slots)
	require.Positive(t, filled, "the optimizing backend fills some delay slot")
	require.Less(t, len(opt), len(plain))
	// Coalescing removes moves of the loop's phis; -O0 keeps them.
	count := func(insts []Inst) (n int) {
		for _, in := range insts {
			if in.Op == MOVE {
				n++
			}
		}
		return n
	}
	require.Greater(t, count(plain), count(opt), "-O0 keeps the moves coalescing removes")
}
