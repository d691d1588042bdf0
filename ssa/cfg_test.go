package ssa

import (
	"testing"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/stretchr/testify/require"
)

// Hand-made functions shared by the tests; the expected results in each
// test are worked out by hand from these texts.

const diamondSrc = `func diamond {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = LtU32 v0, v1
    If v2 -> b1, b2
b1: <- b0
    Jump b3
b2: <- b0
    Jump b3
b3: <- b1, b2
    v3:i32 = Phi v1, v0
    v4:i32 = Const32 [0]
    Ret v3, v4
}`

// sum of 1..n
const loopSrc = `func loop {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Const32 [0]
    v2:i32 = Const32 [1]
    Jump b1
b1: <- b0, b2
    v3:i32 = Phi v1, v6
    v4:i32 = Phi v2, v7
    v5:i32 = LeU32 v4, v0
    If v5 -> b2, b3
b2: <- b1
    v6:i32 = Add32 v3, v4
    v7:i32 = Add32 v4, v2
    Jump b1
b3: <- b1
    v8:i32 = Const32 [0]
    Ret v3, v8
}`

// sum over i < n, j < m of i*j: an outer loop b1..b4 around an inner
// self-loop b3.
const nestedSrc = `func nested {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Const32 [0]
    v3:i32 = Const32 [1]
    Jump b1
b1: <- b0, b4
    v4:i32 = Phi v2, v12
    v5:i32 = Phi v2, v13
    v6:i32 = LtU32 v4, v0
    If v6 -> b2, b5
b2: <- b1
    Jump b3
b3: <- b2, b3
    v7:i32 = Phi v2, v11
    v9:i32 = Phi v5, v13
    v10:i32 = Mul32 v4, v7
    v13:i32 = Add32 v9, v10
    v11:i32 = Add32 v7, v3
    v14:i32 = LtU32 v11, v1
    If v14 -> b3, b4
b4: <- b3
    v12:i32 = Add32 v4, v3
    Jump b1
b5: <- b1
    Ret v5, v2
}`

// An irreducible loop: b1 and b2 both enter it from b0.
const irreducibleSrc = `func irreducible {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Const32 [0]
    v3:i32 = Const32 [1]
    If v1 -> b2, b1
b1: <- b0, b2
    v4:i32 = Phi v0, v12
    v5:i32 = Phi v2, v11
    v6:i32 = Add32 v5, v3
    v7:i32 = Sub32 v4, v3
    If v4 -> b2, b3
b2: <- b0, b1
    v8:i32 = Phi v0, v7
    v9:i32 = Phi v2, v6
    v10:i32 = Const32 [100]
    v11:i32 = Add32 v9, v10
    v12:i32 = Sub32 v8, v3
    If v8 -> b1, b3
b3: <- b1, b2
    v14:i32 = Phi v5, v9
    Ret v14, v2
}`

// The irreducible graph of Cooper, Harvey and Kennedy's figure 4 (their
// nodes 6 5 4 3 2 1 are b0 b5 b4 b3 b2 b1): every block's idom is the entry,
// and the algorithm needs more than one pass to find it.
const chkFigure4Src = `func fig4 {
b0:
    v0:i32 = Arg [0]
    If v0 -> b5, b4
b5: <- b0
    Jump b1
b4: <- b0
    If v0 -> b2, b3
b1: <- b5, b2
    Jump b2
b2: <- b4, b1, b3
    If v0 -> b1, b3
b3: <- b4, b2
    Jump b2
}`

// b2 is unreachable; it still jumps into the function.
const unreachableSrc = `func unreachable {
b0:
    v0:i32 = Arg [0]
    Jump b1
b1: <- b0, b2
    v1:i32 = Phi v0, v2
    Ret v1, v1
b2:
    v2:i32 = Const32 [5]
    Jump b1
}`

func parse(t *testing.T, src string) *ir.Func {
	t.Helper()
	f, err := ir.Parse(src)
	require.NoError(t, err)
	return f
}

// block finds a block by ID.
func block(t *testing.T, f *ir.Func, id int) *ir.Block {
	t.Helper()
	for _, b := range f.Blocks {
		if b.ID == id {
			return b
		}
	}
	t.Fatalf("no block b%d", id)
	return nil
}

func blockIDs(bs []*ir.Block) []int {
	ids := make([]int, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	return ids
}
