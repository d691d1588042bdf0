package ssa

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReversePostorder(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []int
	}{
		// The taken side of an If comes first; a loop header is followed
		// by its body, the exit comes last.
		{"diamond", diamondSrc, []int{0, 1, 2, 3}},
		{"loop", loopSrc, []int{0, 1, 2, 3}},
		// The exit is the taken side, yet the body comes first.
		{"while", whileSrc, []int{0, 1, 3, 2}},
		// b2 leaves the loop b1..b4 early, to b6: it comes after the
		// whole loop, not between b2 and the loop blocks explored first.
		{"break", breakSrc, []int{0, 1, 2, 3, 4, 6, 5}},
		{"nested", nestedSrc, []int{0, 1, 2, 3, 4, 5}},
		// b0's Succs are (b2, b1), but b2 is also reached through b1.
		{"irreducible", irreducibleSrc, []int{0, 1, 2, 3}},
		{"fig4", chkFigure4Src, []int{0, 5, 4, 3, 2, 1}},
		{"unreachable", unreachableSrc, []int{0, 1}},
	} {
		f := parse(t, tc.src)
		assert.Equal(t, tc.want, blockIDs(ReversePostorder(f)), tc.name)
		po := blockIDs(Postorder(f))
		for i, j := 0, len(po)-1; i < j; i, j = i+1, j-1 {
			po[i], po[j] = po[j], po[i]
		}
		assert.Equal(t, tc.want, po, "%s: postorder is RPO reversed", tc.name)
	}
}

// while (v1 != 0) v1--: the header's taken side leaves the loop.
const whileSrc = `func while {
b0:
    v0:i32 = Arg [0]
    v3:i32 = Const32 [1]
    Jump b1
b1: <- b0, b3
    v1:i32 = Phi v0, v2
    v4:i32 = Eq32 v1, v3
    If v4 -> b2, b3
b2: <- b1
    Ret v1, v1
b3: <- b1
    v2:i32 = Sub32 v1, v3
    Jump b1
}`

// A do-while loop b1..b4 with an if-else (b1 -> b2 | b3) and a break
// from b2 to its own exit b6; the loop's exit is b4 -> b5.
const breakSrc = `func brk {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Const32 [1]
    Jump b1
b1: <- b0, b4
    v2:i32 = Phi v0, v5
    v3:i32 = LtU32 v2, v1
    If v3 -> b2, b3
b2: <- b1
    If v2 -> b6, b4
b3: <- b1
    Jump b4
b4: <- b2, b3
    v5:i32 = Sub32 v2, v1
    If v5 -> b1, b5
b5: <- b4
    Ret v1, v1
b6: <- b2
    Ret v2, v1
}`
