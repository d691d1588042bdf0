package ssa

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// twoLatchSrc has one header, b1, with back edges from b2 and b3 (a
// "continue"), and an inner self-loop b4 that is not a latch of b1's loop
// but lies inside it.
const twoLatchSrc = `func twoLatch {
b0:
    v0:i32 = Arg [0]
    Jump b1
b1: <- b0, b2, b3
    If v0 -> b4, b5
b4: <- b1, b4
    If v0 -> b4, b6
b6: <- b4
    If v0 -> b2, b3
b2: <- b6
    Jump b1
b3: <- b6
    Jump b1
b5: <- b1
    Ret v0, v0
}`

func TestNaturalLoops(t *testing.T) {
	type want struct {
		header, parent, depth int // parent -1: outermost
		blocks, latches       []int
	}
	for _, tc := range []struct {
		name, src string
		loops     []want // innermost first, as NaturalLoops lists them
		depth     map[int]int
	}{
		{"diamond", diamondSrc, nil, map[int]int{0: 0, 1: 0, 2: 0, 3: 0}},
		{"loop", loopSrc, []want{{1, -1, 1, []int{1, 2}, []int{2}}}, map[int]int{0: 0, 1: 1, 2: 1, 3: 0}},
		{"nested", nestedSrc, []want{
			{3, 1, 2, []int{3}, []int{3}},
			{1, -1, 1, []int{1, 2, 3, 4}, []int{4}},
		}, map[int]int{0: 0, 1: 1, 2: 1, 3: 2, 4: 1, 5: 0}},
		{"two latches", twoLatchSrc, []want{
			{4, 1, 2, []int{4}, []int{4}},
			{1, -1, 1, []int{1, 4, 6, 2, 3}, []int{2, 3}},
		}, map[int]int{0: 0, 1: 1, 4: 2, 6: 1, 2: 1, 3: 1, 5: 0}},
		// Cycles entered at two places have no dominating header: no loop.
		{"irreducible", irreducibleSrc, nil, map[int]int{0: 0, 1: 0, 2: 0, 3: 0}},
		{"fig4", chkFigure4Src, nil, map[int]int{0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, tc.src)
			nest := NaturalLoops(f, Dominators(f))
			require.Len(t, nest.Loops, len(tc.loops))
			for i, w := range tc.loops {
				l := nest.Loops[i]
				assert.Equal(t, w.header, l.Header.ID, "loop %d header", i)
				assert.Equal(t, w.blocks, blockIDs(l.Blocks), "loop b%d blocks", w.header)
				assert.Equal(t, w.latches, blockIDs(l.Latches), "loop b%d latches", w.header)
				assert.Equal(t, w.depth, l.Depth, "loop b%d depth", w.header)
				if w.parent < 0 {
					assert.Nil(t, l.Parent, "loop b%d parent", w.header)
				} else if assert.NotNil(t, l.Parent, "loop b%d parent", w.header) {
					assert.Equal(t, w.parent, l.Parent.Header.ID, "loop b%d parent", w.header)
					assert.Contains(t, l.Parent.Children, l)
				}
			}
			for _, b := range f.Blocks {
				assert.Equal(t, tc.depth[b.ID], nest.Depth(b), "depth of b%d", b.ID)
			}
		})
	}
}

func TestOutsidePreds(t *testing.T) {
	f := parse(t, twoLatchSrc)
	nest := NaturalLoops(f, Dominators(f))
	outer, inner := nest.Loops[1], nest.Loops[0]
	assert.Equal(t, []int{0}, blockIDs(outer.OutsidePreds()))
	assert.Equal(t, []int{1}, blockIDs(inner.OutsidePreds()))
}

// Random graphs against the definition: b is in the loop of h when h
// dominates a latch (a predecessor of h) and b is h or reaches that latch
// without passing through h; the innermost loop of b is the smallest loop
// holding it; a loop's parent is the smallest loop holding its header
// other than itself.
func TestNaturalLoopsRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	loops, nested := 0, 0
	for iter := range 400 {
		f := randomCFG(rng, 1+rng.IntN(16))
		dom := Dominators(f)
		nest := NaturalLoops(f, dom)
		// reachesAvoiding: can b reach to without passing through avoid?
		reachesAvoiding := func(b, to, avoid *ir.Block) bool {
			seen := map[*ir.Block]bool{b: true}
			stack := []*ir.Block{b}
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if x == to {
					return true
				}
				for _, s := range x.Succs {
					if s != avoid && !seen[s] {
						seen[s] = true
						stack = append(stack, s)
					}
				}
			}
			return false
		}
		want := map[*ir.Block][]*ir.Block{} // header → blocks
		var headers []*ir.Block
		for _, h := range f.Blocks {
			var latches []*ir.Block
			for _, p := range h.Preds {
				if dom.Reachable(p) && dom.Dominates(h, p) && !slices.Contains(latches, p) {
					latches = append(latches, p)
				}
			}
			if len(latches) == 0 {
				continue
			}
			headers = append(headers, h)
			for _, b := range f.Blocks {
				if !dom.Reachable(b) {
					continue
				}
				in := b == h
				for _, l := range latches {
					in = in || (b != h && reachesAvoiding(b, l, h))
				}
				if in {
					want[h] = append(want[h], b)
				}
			}
		}
		require.Len(t, nest.Loops, len(headers), "iteration %d\n%s", iter, f)
		smallest := func(b *ir.Block, except *ir.Block) *ir.Block {
			var best *ir.Block
			for _, h := range headers {
				if h != except && slices.Contains(want[h], b) && (best == nil || len(want[h]) < len(want[best])) {
					best = h
				}
			}
			return best
		}
		for i, l := range nest.Loops {
			loops++
			if l.Depth > 1 {
				nested++
			}
			got := slices.Clone(l.Blocks)
			require.Same(t, l.Header, got[0], "the header comes first")
			slices.SortFunc(got, func(a, b *ir.Block) int { return a.ID - b.ID })
			require.Equal(t, blockIDs(want[l.Header]), blockIDs(got), "iteration %d: loop of b%d\n%s", iter, l.Header.ID, f)
			for _, inner := range nest.Loops[:i] {
				require.False(t, inner.Contains(l.Header) && inner != l, "iteration %d: loop b%d listed after b%d inside it", iter, inner.Header.ID, l.Header.ID)
			}
			parent := smallest(l.Header, l.Header)
			if parent == nil {
				require.Nil(t, l.Parent)
				require.Equal(t, 1, l.Depth)
			} else {
				require.NotNil(t, l.Parent, "iteration %d: loop b%d", iter, l.Header.ID)
				require.Same(t, parent, l.Parent.Header)
				require.Equal(t, l.Parent.Depth+1, l.Depth)
			}
		}
		for _, b := range f.Blocks {
			h := smallest(b, nil)
			if h == nil {
				require.Nil(t, nest.Innermost(b))
				continue
			}
			require.Same(t, h, nest.Innermost(b).Header, "iteration %d: innermost loop of b%d", iter, b.ID)
			for _, l := range nest.Loops {
				require.Equal(t, slices.Contains(want[l.Header], b), l.Contains(b), "iteration %d: b%d in loop b%d", iter, b.ID, l.Header.ID)
			}
		}
	}
	t.Logf("%d loops, %d nested", loops, nested)
	require.Positive(t, nested, "the random graphs have no nested loops")
}
