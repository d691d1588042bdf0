package ssa

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
)

// Natural loops from the dominator tree (Aho, Lam, Sethi and Ullman,
// "Compilers", 2nd ed., 9.6.6): an edge p → h whose target dominates its
// source is a back edge, and the natural loop of h is h plus every block
// that reaches a back edge's source without passing through h. The back
// edges of one header make one loop.
//
// Two natural loops with different headers are disjoint or one lies
// strictly inside the other (if loop M holds the header of loop L, every
// path that keeps a block of L in L also keeps it in M), so sorting the
// loops by size gives the nest: a loop's parent is the smallest loop
// holding its header. An edge that re-enters a cycle other than through a
// dominating block (an irreducible loop) is not a back edge and makes no
// loop; its blocks belong only to the natural loops around them.
//
// block order (order.go) finds loops too, with a search-tree walk that
// also gives irreducible regions a header, for layout; passes that move
// code need the guarantee that the header dominates the loop, which only
// this dominator-based definition gives.

// Loop is one natural loop.
type Loop struct {
	Header *ir.Block
	// Blocks are the loop's blocks, the header first, the others in
	// reverse postorder.
	Blocks []*ir.Block
	// Latches are the sources of the back edges to Header, in f.Blocks
	// order.
	Latches []*ir.Block
	// Parent is the innermost loop around this one, nil for an outermost
	// loop; Children are the loops directly inside it, in reverse
	// postorder of their headers.
	Parent   *Loop
	Children []*Loop
	// Depth is 1 for an outermost loop, 2 inside it, and so on.
	Depth int

	nest *LoopNest
}

// LoopNest is the natural loops of a function.
type LoopNest struct {
	// Loops lists every loop, each after the loops inside it (innermost
	// first), loops of equal size in reverse postorder of their headers.
	Loops     []*Loop
	innermost []*Loop // by block ID
}

// NaturalLoops finds the natural loops of f; dom must be f's dominator
// tree. Unreachable blocks belong to no loop.
func NaturalLoops(f *ir.Func, dom *DomTree) *LoopNest {
	n := f.NumBlocks()
	nest := &LoopNest{innermost: make([]*Loop, n)}
	rpoIndex := make([]int, n) // dom's postorder, reversed
	for i, b := range dom.po {
		rpoIndex[b.ID] = len(dom.po) - 1 - i
	}
	var loops []*Loop
	byHeader := map[*ir.Block]*Loop{}
	for _, p := range f.Blocks {
		if !dom.Reachable(p) {
			continue
		}
		for _, h := range p.Succs {
			if !dom.Dominates(h, p) {
				continue
			}
			l := byHeader[h]
			if l == nil {
				l = &Loop{Header: h, nest: nest}
				byHeader[h] = l
				loops = append(loops, l)
			}
			if !slices.Contains(l.Latches, p) {
				l.Latches = append(l.Latches, p)
			}
		}
	}
	if len(loops) == 0 {
		return nest
	}

	// Bodies: a backward walk from the latches that stops at the header.
	// mark[b.ID] == i+1 while collecting loop i.
	mark := make([]int, n)
	var work []*ir.Block
	for i, l := range loops {
		stamp := i + 1
		mark[l.Header.ID] = stamp
		l.Blocks = append(l.Blocks[:0], l.Header)
		work = append(work[:0], l.Latches...)
		for len(work) > 0 {
			b := work[len(work)-1]
			work = work[:len(work)-1]
			if mark[b.ID] == stamp || !dom.Reachable(b) {
				continue
			}
			mark[b.ID] = stamp
			l.Blocks = append(l.Blocks, b)
			work = append(work, b.Preds...)
		}
		body := l.Blocks[1:]
		slices.SortFunc(body, func(a, b *ir.Block) int { return rpoIndex[a.ID] - rpoIndex[b.ID] })
	}

	// Nesting: outer loops are strictly larger, so in order of decreasing
	// size each loop's parent is the innermost loop recorded so far for
	// its header, and each block ends with its innermost loop.
	slices.SortStableFunc(loops, func(a, b *Loop) int {
		if len(a.Blocks) != len(b.Blocks) {
			return len(b.Blocks) - len(a.Blocks)
		}
		return rpoIndex[b.Header.ID] - rpoIndex[a.Header.ID]
	})
	for _, l := range loops {
		if p := nest.innermost[l.Header.ID]; p != nil {
			l.Parent = p
			l.Depth = p.Depth + 1
			p.Children = append(p.Children, l)
		} else {
			l.Depth = 1
		}
		for _, b := range l.Blocks {
			nest.innermost[b.ID] = l
		}
	}
	slices.Reverse(loops)
	nest.Loops = loops
	for _, l := range loops {
		slices.SortFunc(l.Children, func(a, b *Loop) int { return rpoIndex[a.Header.ID] - rpoIndex[b.Header.ID] })
	}
	return nest
}

// Innermost is the innermost loop that contains b, nil if none does.
func (n *LoopNest) Innermost(b *ir.Block) *Loop {
	if b.ID >= len(n.innermost) {
		return nil
	}
	return n.innermost[b.ID]
}

// Depth is the number of loops that contain b.
func (n *LoopNest) Depth(b *ir.Block) int {
	if l := n.Innermost(b); l != nil {
		return l.Depth
	}
	return 0
}

// Contains reports whether b is one of l's blocks (those of loops inside
// l included).
func (l *Loop) Contains(b *ir.Block) bool {
	for x := l.nest.Innermost(b); x != nil; x = x.Parent {
		if x == l {
			return true
		}
		if x.Depth <= l.Depth {
			return false
		}
	}
	return false
}

// OutsidePreds are the header's predecessors outside the loop, in
// Header.Preds order, once per edge.
func (l *Loop) OutsidePreds() []*ir.Block {
	var out []*ir.Block
	for _, p := range l.Header.Preds {
		if !l.Contains(p) {
			out = append(out, p)
		}
	}
	return out
}
