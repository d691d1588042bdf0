package ssa

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
)

// Block orders. The reverse postorder is what forward dataflow analyses and
// dominators want, and the backend lays code out in it, so besides putting
// every block after its forward predecessors it keeps each loop together:
// a loop's blocks come right after its header, and the blocks its exits
// lead to come after all of them. A plain depth-first search does not
// promise that. A while loop — header "If c -> exit, body" — whose body
// the search happens to enter last lands after everything the exit leads
// to, which in a large program is the rest of the function: the values the
// body reads then stay live (with a hole) across all of it, and branches
// between the header and the body span it. A loop left by a break in its
// middle has the same problem with the blocks explored before the break.
//
// So the search, on reaching a loop header, first explores the targets of
// the loop's exit edges, as if the header had edges to them; their
// subtrees finish first and, reversed, come after the loop. (An exit
// target of an inner loop that stays in an outer one is explored at the
// inner header; one that leaves both, at the outer.) Every edge of the
// function is still explored from its source or was already, so the
// result is the postorder of a depth-first search of the function plus
// those header-to-exit edges, and a dominator still precedes what it
// dominates: the header dominates its loop, and a target explored early,
// from the header, is explored before, not below, any block of the loop.
// That needs the header to dominate the loop, so a loop entered elsewhere
// too (irreducible) gets no such edges. order_prop_test.go checks these
// properties on random graphs.
//
// The loops come from a first, plain search (its back edges: edges to a
// block on the search stack) and a union-find walk over the predecessors
// of each back edge's source, inner loops first, that collapses each
// finished loop into its header, after Havlak ("Nesting of reducible and
// irreducible loops", TOPLAS 1997) in a simpler form: the walk only takes
// blocks in the header's search subtree; a predecessor outside it marks
// the loop irreducible and is handed on to the loop that absorbs this one.
// Everything is linear in the size of the graph, up to the union-find's
// inverse Ackermann factor and the loop nesting depth.

// Postorder lists the blocks reachable from the entry in depth-first
// postorder, loop exits explored at their loop's header (see above).
// Otherwise successors are explored last one first, so that where the
// order is free the reverse postorder puts a block's first successor
// (Succs[0], the taken side of an If) before its second: a diamond
// b0 → b1, b2 → b3 orders as b0 b1 b2 b3.
func Postorder(f *ir.Func) []*ir.Block {
	return depthFirst(f, findLoops(f))
}

// ReversePostorder lists the reachable blocks so that every block comes
// after all its predecessors except those reaching it through a back edge,
// each loop's blocks together after its header: the order forward dataflow
// analyses and dominators want.
func ReversePostorder(f *ir.Func) []*ir.Block {
	order := Postorder(f)
	slices.Reverse(order)
	return order
}

// ReversePostorderLoops is ReversePostorder with the loops its search
// found: outermost gives, by block ID, the ID of the header of the
// outermost loop containing the block (-1 outside loops). reducible is
// false when a loop is entered other than through its header; when it is
// true, each outermost loop's blocks come together after its header and
// the blocks its exits lead to after all of them, so a forward analysis
// visiting blocks in this order revisits a block only from within its
// outermost loop (knownbits.go relies on this).
func ReversePostorderLoops(f *ir.Func) (order []*ir.Block, outermost []int32, reducible bool) {
	loops := findLoops(f)
	order = depthFirst(f, loops)
	slices.Reverse(order)
	outermost = make([]int32, f.NumBlocks())
	reducible = true
	for i := range outermost {
		outermost[i] = -1
		if loops == nil {
			continue
		}
		for h := loops.innermost[i]; h >= 0; h = loops.parent[h] {
			outermost[i] = h
			reducible = reducible && !loops.irreducible[h]
		}
	}
	return order, outermost, reducible
}

// depthFirst is the postorder of a depth-first search that explores a
// loop header's exit targets before its successors (loops nil: no loops).
func depthFirst(f *ir.Func, loops *loopNest) []*ir.Block {
	seen := make([]bool, f.NumBlocks())
	order := make([]*ir.Block, 0, len(f.Blocks))
	type frame struct {
		b *ir.Block
		// step counts down over the header's exit targets, then (below
		// zero) over its successors: -1 is the last successor.
		step  int
		exits []*ir.Block
	}
	start := func(b *ir.Block) frame {
		var exits []*ir.Block
		if loops != nil {
			exits = loops.exits(b)
		}
		return frame{b, len(exits) - 1, exits}
	}
	entry := f.Entry()
	seen[entry.ID] = true
	stack := []frame{start(entry)}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		var s *ir.Block
		switch i := top.step; {
		case i >= 0:
			s = top.exits[i]
		case -i <= len(top.b.Succs):
			s = top.b.Succs[len(top.b.Succs)+i]
		default:
			order = append(order, top.b)
			stack = stack[:len(stack)-1]
			continue
		}
		top.step--
		if !seen[s.ID] {
			seen[s.ID] = true
			stack = append(stack, start(s))
		}
	}
	return order
}

// loopNest is the natural loops of a function.
type loopNest struct {
	// innermost is, by block ID, the block ID of the header of the
	// innermost loop containing the block (a header's own), or -1.
	innermost []int32
	// parent is, by header block ID, the header of the enclosing loop, or -1.
	parent []int32
	// irreducible marks, by header block ID, the loops entered other than
	// through their header; their header does not dominate them.
	irreducible []bool
	// exitTargets[exitStart[h]:exitStart[h+1]] are, for the header with
	// block ID h, the targets of the edges that leave the loop and no
	// reducible loop around it, in block order (only for reducible
	// loops). One flat array: order runs on functions of 100,000s of
	// blocks, in most passes.
	exitTargets []*ir.Block
	exitStart   []int32
}

// exits returns the exit targets explored at header h (exitTargets).
func (l *loopNest) exits(h *ir.Block) []*ir.Block {
	return l.exitTargets[l.exitStart[h.ID]:l.exitStart[h.ID+1]]
}

// contains reports whether block s is in the loop headed by h.
func (l *loopNest) contains(h int32, s *ir.Block) bool {
	for x := l.innermost[s.ID]; x >= 0; x = l.parent[x] {
		if x == h {
			return true
		}
	}
	return false
}

// findLoops finds the natural loops of f, or returns nil when it has none.
func findLoops(f *ir.Func) *loopNest {
	n := f.NumBlocks()
	// A plain search numbers blocks in preorder (pre, -1: unreachable),
	// records the last preorder number in each block's subtree (a is an
	// ancestor of b when pre[a] <= pre[b] <= last[a]) and collects the
	// back edges: edges to a block on the search stack.
	pre, last := make([]int32, n), make([]int32, n)
	for i := range pre {
		pre[i] = -1
	}
	onStack := make([]bool, n)
	type backEdge struct{ from, header *ir.Block }
	var backEdges []backEdge
	type frame struct {
		b    *ir.Block
		next int
	}
	count := int32(0)
	visit := func(b *ir.Block) frame {
		pre[b.ID] = count
		count++
		onStack[b.ID] = true
		return frame{b, len(b.Succs) - 1}
	}
	stack := []frame{visit(f.Entry())}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < 0 {
			last[top.b.ID] = count - 1
			onStack[top.b.ID] = false
			stack = stack[:len(stack)-1]
			continue
		}
		s := top.b.Succs[top.next]
		top.next--
		switch {
		case pre[s.ID] < 0:
			stack = append(stack, visit(s))
		case onStack[s.ID]:
			backEdges = append(backEdges, backEdge{top.b, s})
		}
	}
	if len(backEdges) == 0 {
		return nil
	}
	// Inner loops first: an inner header is a descendant of its outer one.
	slices.SortStableFunc(backEdges, func(a, b backEdge) int {
		return int(pre[b.header.ID] - pre[a.header.ID])
	})

	l := &loopNest{innermost: make([]int32, n), parent: make([]int32, n), irreducible: make([]bool, n)}
	for i := range l.innermost {
		l.innermost[i], l.parent[i] = -1, -1
	}
	// union is, by block ID, the block's representative: itself, or a
	// header of a loop that absorbed it. find follows it to the header of
	// the outermost loop processed so far that contains the block.
	union := make([]int32, n)
	for i := range union {
		union[i] = int32(i)
	}
	find := func(x int32) int32 {
		r := x
		for union[r] != r {
			r = union[r]
		}
		for union[x] != r {
			union[x], x = r, union[x]
		}
		return r
	}
	byID := make([]*ir.Block, n)
	for _, b := range f.Blocks {
		byID[b.ID] = b
	}
	var work []*ir.Block
	// entries holds, by header block ID, the sources of the edges that
	// enter an irreducible loop other than through its header.
	entries := map[int32][]*ir.Block{}
	for i := 0; i < len(backEdges); {
		h := backEdges[i].header
		l.innermost[h.ID] = int32(h.ID)
		work = work[:0]
		for ; i < len(backEdges) && backEdges[i].header == h; i++ {
			work = append(work, backEdges[i].from)
		}
		for len(work) > 0 {
			x := work[len(work)-1]
			work = work[:len(work)-1]
			r := find(int32(x.ID))
			switch {
			case r == int32(h.ID) || pre[r] < 0:
				continue // in the loop already, or unreachable
			case pre[r] < pre[h.ID] || pre[r] > last[h.ID]:
				// An edge into the loop that bypasses the header: x
				// belongs to the loop that will absorb this one, if any.
				l.irreducible[h.ID] = true
				entries[int32(h.ID)] = append(entries[int32(h.ID)], x)
				continue
			}
			if l.innermost[r] == r {
				l.parent[r] = int32(h.ID) // an inner loop's header
			} else {
				l.innermost[r] = int32(h.ID)
			}
			union[r] = int32(h.ID)
			work = append(work, byID[r].Preds...)
			work = append(work, entries[r]...)
		}
	}
	// Exits as (header, target) pairs in block order, then bucketed by
	// header (a counting sort, which keeps that order).
	type exit struct {
		header int32
		target *ir.Block
	}
	var exits []exit
	for _, b := range f.Blocks {
		for _, s := range b.Succs {
			// The outermost reducible loop around b that s is not in.
			exited := int32(-1)
			for h := l.innermost[b.ID]; h >= 0 && !l.contains(h, s); h = l.parent[h] {
				if !l.irreducible[h] {
					exited = h
				}
			}
			if exited >= 0 {
				exits = append(exits, exit{exited, s})
			}
		}
	}
	l.exitStart = make([]int32, n+1)
	for _, e := range exits {
		l.exitStart[e.header+1]++
	}
	for i := 1; i <= n; i++ {
		l.exitStart[i] += l.exitStart[i-1]
	}
	l.exitTargets = make([]*ir.Block, len(exits))
	next := slices.Clone(l.exitStart[:n])
	for _, e := range exits {
		l.exitTargets[next[e.header]] = e.target
		next[e.header]++
	}
	return l
}
