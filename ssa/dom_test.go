package ssa

import (
	"math/rand/v2"
	"testing"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDominators(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		idom      map[int]int   // block → its idom; -1: none
		children  map[int][]int // block → dominator-tree children
	}{
		{"diamond", diamondSrc, map[int]int{0: -1, 1: 0, 2: 0, 3: 0}, map[int][]int{0: {1, 2, 3}}},
		{"loop", loopSrc, map[int]int{0: -1, 1: 0, 2: 1, 3: 1}, map[int][]int{0: {1}, 1: {2, 3}}},
		{"nested", nestedSrc, map[int]int{0: -1, 1: 0, 2: 1, 3: 2, 4: 3, 5: 1},
			map[int][]int{0: {1}, 1: {2, 5}, 2: {3}, 3: {4}}},
		{"irreducible", irreducibleSrc, map[int]int{0: -1, 1: 0, 2: 0, 3: 0}, map[int][]int{0: {1, 2, 3}}},
		{"fig4", chkFigure4Src, map[int]int{0: -1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}, map[int][]int{0: {5, 4, 1, 2, 3}}},
		{"unreachable", unreachableSrc, map[int]int{0: -1, 1: 0, 2: -1}, map[int][]int{0: {1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, tc.src)
			d := Dominators(f)
			for _, b := range f.Blocks {
				want, ok := tc.idom[b.ID]
				require.True(t, ok, "b%d missing from the table", b.ID)
				if want < 0 {
					assert.Nil(t, d.Idom(b), "idom(b%d)", b.ID)
				} else if assert.NotNil(t, d.Idom(b), "idom(b%d)", b.ID) {
					assert.Equal(t, want, d.Idom(b).ID, "idom(b%d)", b.ID)
				}
				assert.Equal(t, tc.children[b.ID], nilIfEmpty(blockIDs(d.Children(b))), "children(b%d)", b.ID)
			}
			// Dominates agrees with the idom chains of the table.
			for _, a := range f.Blocks {
				for _, b := range f.Blocks {
					want := false
					if b.ID == 0 || tc.idom[b.ID] >= 0 { // b reachable
						for x := b.ID; x >= 0; x = tc.idom[x] {
							if x == a.ID {
								want = true
							}
						}
					}
					assert.Equal(t, want, d.Dominates(a, b), "b%d dominates b%d", a.ID, b.ID)
					assert.Equal(t, want && a != b, d.StrictlyDominates(a, b), "b%d strictly dominates b%d", a.ID, b.ID)
				}
			}
		})
	}
}

func nilIfEmpty(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestDominatorsUnreachable(t *testing.T) {
	f := parse(t, unreachableSrc)
	d := Dominators(f)
	b0, b1, b2 := f.Blocks[0], f.Blocks[1], f.Blocks[2]
	assert.True(t, d.Reachable(b0))
	assert.True(t, d.Reachable(b1))
	assert.False(t, d.Reachable(b2))
	assert.False(t, d.Dominates(b2, b2))
	assert.False(t, d.Dominates(b0, b2))
	assert.False(t, d.Dominates(b2, b1))
}

// Random graphs against the definition: a dominates b when b cannot be
// reached from the entry once a is removed.
func TestDominatorsRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		f := randomCFG(rng, 1+rng.IntN(14))
		d := Dominators(f)
		reach := func(without *ir.Block) []bool {
			seen := make([]bool, f.NumBlocks())
			if f.Entry() == without {
				return seen
			}
			stack := []*ir.Block{f.Entry()}
			seen[f.Entry().ID] = true
			for len(stack) > 0 {
				b := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, s := range b.Succs {
					if s != without && !seen[s.ID] {
						seen[s.ID] = true
						stack = append(stack, s)
					}
				}
			}
			return seen
		}
		reachable := reach(nil)
		rpo := ReversePostorder(f)
		rpoPos := map[*ir.Block]int{}
		for i, b := range rpo {
			rpoPos[b] = i
		}
		nReachable := 0
		for _, b := range f.Blocks {
			if reachable[b.ID] {
				nReachable++
			}
		}
		require.Len(t, rpo, nReachable, "RPO lists each reachable block once")
		require.Same(t, f.Entry(), rpo[0])
		for _, a := range f.Blocks {
			without := reach(a)
			for _, b := range f.Blocks {
				want := reachable[a.ID] && reachable[b.ID] && (a == b || !without[b.ID])
				require.Equal(t, want, d.Dominates(a, b), "iteration %d: b%d dominates b%d\n%s", iter, a.ID, b.ID, f)
			}
		}
		for _, b := range f.Blocks {
			require.Equal(t, reachable[b.ID], d.Reachable(b))
			id := d.Idom(b)
			if !reachable[b.ID] || b == f.Entry() {
				require.Nil(t, id)
				continue
			}
			// The idom strictly dominates b, is dominated by every other
			// strict dominator of b, and comes before b in RPO.
			require.True(t, d.StrictlyDominates(id, b))
			for _, a := range f.Blocks {
				if d.StrictlyDominates(a, b) {
					require.True(t, d.Dominates(a, id), "iteration %d: b%d sdom b%d but not its idom b%d", iter, a.ID, b.ID, id.ID)
				}
			}
			require.Less(t, rpoPos[id], rpoPos[b])
			require.Contains(t, d.Children(id), b)
		}
	}
}

// randomCFG builds n blocks with random Jump/If/Ret terminators; no edge
// enters the entry.
func randomCFG(rng *rand.Rand, n int) *ir.Func {
	f := ir.NewFunc("random")
	blocks := make([]*ir.Block, n)
	for i := range blocks {
		blocks[i] = f.NewBlock(ir.BlockRet)
	}
	target := func() *ir.Block {
		if n == 1 {
			return nil
		}
		return blocks[1+rng.IntN(n-1)]
	}
	for _, b := range blocks {
		switch k := rng.IntN(5); {
		case k == 0 || n == 1:
			b.Kind = ir.BlockRet
		case k <= 2:
			b.Kind = ir.BlockJump
			b.AddEdgeTo(target())
		default:
			b.Kind = ir.BlockIf
			b.AddEdgeTo(target())
			b.AddEdgeTo(target())
		}
	}
	return f
}
