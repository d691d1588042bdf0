package ssa

import "github.com/bpfopt/bpfopt/ir"

// Postorder lists the blocks reachable from the entry in depth-first
// postorder. Successors are explored last one first, so that where the
// order is free the reverse postorder puts a block's first successor
// (Succs[0], the taken side of an If) before its second: a diamond
// b0 → b1, b2 → b3 orders as b0 b1 b2 b3, and a loop header is followed by
// its body rather than its exit.
func Postorder(f *ir.Func) []*ir.Block {
	seen := make([]bool, f.NumBlocks())
	order := make([]*ir.Block, 0, len(f.Blocks))
	type frame struct {
		b    *ir.Block
		next int // index of the next successor to explore, counting down
	}
	entry := f.Entry()
	seen[entry.ID] = true
	stack := []frame{{entry, len(entry.Succs) - 1}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next >= 0 {
			s := top.b.Succs[top.next]
			top.next--
			if !seen[s.ID] {
				seen[s.ID] = true
				stack = append(stack, frame{s, len(s.Succs) - 1})
			}
			continue
		}
		order = append(order, top.b)
		stack = stack[:len(stack)-1]
	}
	return order
}

// ReversePostorder lists the reachable blocks so that every block comes
// after all its predecessors except those reaching it through a back edge:
// the order forward dataflow analyses and dominators want.
func ReversePostorder(f *ir.Func) []*ir.Block {
	order := Postorder(f)
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}
