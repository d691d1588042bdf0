package ssa

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Properties of ReversePostorder on random control-flow graphs, reducible
// and not, checked against facts computed here the slow, obvious way
// (reachability, dominators by set intersection, natural loops):
//
//   - it lists exactly the reachable blocks, once each;
//   - a block comes after every block that strictly dominates it;
//   - a block comes after every predecessor it cannot reach (an edge on
//     no cycle goes forward);
//   - in a reducible graph, each natural loop's blocks are contiguous and
//     start with the header.
func TestReversePostorderProperties(t *testing.T) {
	reducible := 0
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 77))
		f := loopyCFG(r, 2+r.IntN(30))
		rpo := ReversePostorder(f)
		n := f.NumBlocks()
		pos := make([]int, n)
		for i := range pos {
			pos[i] = -1
		}
		for i, b := range rpo {
			require.Equal(t, -1, pos[b.ID], "seed %d: b%d listed twice", seed, b.ID)
			pos[b.ID] = i
		}
		reach := reachability(f)
		for _, b := range f.Blocks {
			require.Equal(t, reach[f.Entry().ID][b.ID], pos[b.ID] >= 0, "seed %d: b%d listed iff reachable", seed, b.ID)
		}
		dom := slowDominators(f, reach[f.Entry().ID])
		for _, u := range f.Blocks {
			for _, d := range f.Blocks {
				if pos[u.ID] >= 0 && d != u && dom[u.ID][d.ID] {
					require.Less(t, pos[d.ID], pos[u.ID], "seed %d: b%d dominates b%d\n%s", seed, d.ID, u.ID, f)
				}
			}
		}
		isReducible := true
		for _, y := range rpo {
			for _, q := range y.Succs {
				if !reach[q.ID][y.ID] {
					require.Less(t, pos[y.ID], pos[q.ID], "seed %d: edge b%d -> b%d\n%s", seed, y.ID, q.ID, f)
				}
				if pos[q.ID] <= pos[y.ID] && !dom[y.ID][q.ID] {
					isReducible = false // a retreating edge to a non-dominator
				}
			}
		}
		if !isReducible {
			continue
		}
		reducible++
		for _, h := range rpo {
			body := naturalLoop(h, dom)
			if len(body) == 0 {
				continue
			}
			for id := range body {
				require.True(t, pos[id] >= pos[h.ID] && pos[id] < pos[h.ID]+len(body),
					"seed %d: loop of b%d (%d blocks) not contiguous: b%d at %d, header at %d\n%s", seed, h.ID, len(body), id, pos[id], pos[h.ID], f)
			}
		}
	}
	require.Greater(t, reducible, 500, "too few reducible graphs to test loop contiguity")
}

// loopyCFG makes n blocks (n >= 2) with mostly forward edges, some back
// edges (loops, and loops left from their middle) and some anywhere
// (irreducible graphs, unreachable blocks); no edge enters the entry.
func loopyCFG(r *rand.Rand, n int) *ir.Func {
	f := ir.NewFunc("random")
	bs := make([]*ir.Block, n)
	for i := range bs {
		bs[i] = f.NewBlock(ir.BlockRet)
	}
	target := func(i int) *ir.Block {
		switch x := r.IntN(100); {
		case x < 60:
			return bs[min(n-1, i+1+r.IntN(4))]
		case x < 85:
			return bs[max(1, i-r.IntN(6))]
		default:
			return bs[1+r.IntN(n-1)]
		}
	}
	for i, b := range bs {
		if i == n-1 && r.IntN(2) == 0 {
			continue
		}
		switch x := r.IntN(10); {
		case x < 1:
		case x < 5:
			b.Kind = ir.BlockJump
			b.AddEdgeTo(target(i))
		default:
			b.Kind = ir.BlockIf
			b.AddEdgeTo(target(i))
			b.AddEdgeTo(target(i))
		}
	}
	return f
}

// reachability is, by block ID, the set of blocks each block reaches by
// one or more edges (a block reaches itself only on a cycle), plus the
// entry reaching itself.
func reachability(f *ir.Func) [][]bool {
	n := f.NumBlocks()
	reach := make([][]bool, n)
	for _, b := range f.Blocks {
		reach[b.ID] = make([]bool, n)
		stack := append([]*ir.Block(nil), b.Succs...)
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if reach[b.ID][x.ID] {
				continue
			}
			reach[b.ID][x.ID] = true
			stack = append(stack, x.Succs...)
		}
	}
	reach[f.Entry().ID][f.Entry().ID] = true
	return reach
}

// slowDominators is, by block ID, the set of the block's dominators, by
// intersecting the predecessors' sets to a fixed point.
func slowDominators(f *ir.Func, reachable []bool) [][]bool {
	n := f.NumBlocks()
	dom := make([][]bool, n)
	for _, b := range f.Blocks {
		dom[b.ID] = make([]bool, n)
		for _, c := range f.Blocks {
			dom[b.ID][c.ID] = reachable[b.ID] && reachable[c.ID] && (b != f.Entry() || c == b)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, b := range f.Blocks {
			if b == f.Entry() || !reachable[b.ID] {
				continue
			}
			for _, c := range f.Blocks {
				in := c == b
				if !in {
					in = true
					for _, p := range b.Preds {
						if reachable[p.ID] && !dom[p.ID][c.ID] {
							in = false
						}
					}
				}
				if dom[b.ID][c.ID] != in {
					dom[b.ID][c.ID], changed = in, true
				}
			}
		}
	}
	return dom
}

// naturalLoop is the set of blocks (by ID) of the loop headed by h: h and
// the blocks that reach one of its back edges' sources without passing h;
// empty when no back edge enters h. (Unreachable blocks dominate nothing
// and are dominated by nothing, so they stay out.)
func naturalLoop(h *ir.Block, dom [][]bool) map[int]bool {
	body := map[int]bool{}
	var stack []*ir.Block
	for _, p := range h.Preds {
		if dom[p.ID][h.ID] {
			stack = append(stack, p)
		}
	}
	if len(stack) == 0 {
		return body
	}
	body[h.ID] = true
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if body[x.ID] {
			continue
		}
		body[x.ID] = true
		for _, p := range x.Preds {
			if dom[p.ID][h.ID] {
				stack = append(stack, p)
			}
		}
	}
	return body
}
