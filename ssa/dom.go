package ssa

import "github.com/bpfopt/bpfopt/ir"

// Dominators, by Cooper, Harvey and Kennedy, "A Simple, Fast Dominance
// Algorithm" (2001). Each block's immediate dominator is refined by walking
// its processed predecessors up the tree under construction ("intersect")
// until they meet, iterating over the blocks in reverse postorder until
// nothing changes; for the reducible graphs compilers mostly see, two passes
// suffice. The paper shows it beats Lengauer–Tarjan below some thousands of
// blocks, far above our function sizes.
//
// Once the tree is known, a depth-first walk numbers each block on entry
// (pre) and exit (post); a dominates b exactly when b's interval nests in
// a's, which makes Dominates O(1).

// DomTree is the dominator tree of a function.
type DomTree struct {
	idom []*ir.Block // by block ID; nil for the entry and unreachable blocks
	// The children of the block with ID i are children[childStart[i]:
	// childStart[i+1]], in f.Blocks order (one flat array: functions have
	// 100,000s of blocks).
	children   []*ir.Block
	childStart []int32
	pre, post  []int32     // by block ID; pre == -1: unreachable
	po         []*ir.Block // the postorder the tree was computed in
}

// Dominators computes the dominator tree of f.
func Dominators(f *ir.Func) *DomTree {
	n := f.NumBlocks()
	po := Postorder(f)
	poNum := make([]int32, n) // by block ID: position in postorder
	for i := range poNum {
		poNum[i] = -1
	}
	for i, b := range po {
		poNum[b.ID] = int32(i)
	}
	entry := f.Entry()
	idom := make([]*ir.Block, n)
	idom[entry.ID] = entry // temporarily, so the entry counts as processed

	// intersect walks two fingers up the tree until they meet; a finger
	// with the smaller postorder number is deeper.
	intersect := func(a, b *ir.Block) *ir.Block {
		for a != b {
			for poNum[a.ID] < poNum[b.ID] {
				a = idom[a.ID]
			}
			for poNum[b.ID] < poNum[a.ID] {
				b = idom[b.ID]
			}
		}
		return a
	}
	for changed := true; changed; {
		changed = false
		for i := len(po) - 2; i >= 0; i-- { // reverse postorder without the entry
			b := po[i]
			var d *ir.Block
			for _, p := range b.Preds {
				if idom[p.ID] == nil {
					continue // not processed yet, or unreachable
				}
				if d == nil {
					d = p
				} else {
					d = intersect(p, d)
				}
			}
			if idom[b.ID] != d {
				idom[b.ID] = d
				changed = true
			}
		}
	}
	idom[entry.ID] = nil

	t := &DomTree{idom: idom, childStart: make([]int32, n+1), pre: make([]int32, n), post: make([]int32, n), po: po}
	// Counted into childStart[id+1], summed, filled with childStart[id]
	// as the cursor, then shifted back.
	for _, b := range f.Blocks {
		if d := idom[b.ID]; d != nil {
			t.childStart[d.ID+1]++
		}
	}
	for i := 1; i <= n; i++ {
		t.childStart[i] += t.childStart[i-1]
	}
	t.children = make([]*ir.Block, t.childStart[n])
	for _, b := range f.Blocks {
		if d := idom[b.ID]; d != nil {
			t.children[t.childStart[d.ID]] = b
			t.childStart[d.ID]++
		}
	}
	copy(t.childStart[1:], t.childStart[:n])
	t.childStart[0] = 0
	t.number(entry)
	return t
}

// number assigns pre and post numbers by an iterative depth-first walk of
// the tree (functions can be deep enough to make recursion unwise).
func (t *DomTree) number(entry *ir.Block) {
	for i := range t.pre {
		t.pre[i], t.post[i] = -1, -1
	}
	type frame struct {
		b    *ir.Block
		next int
	}
	var clock int32
	t.pre[entry.ID] = clock
	clock++
	stack := []frame{{b: entry}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if kids := t.Children(top.b); top.next < len(kids) {
			c := kids[top.next]
			top.next++
			t.pre[c.ID] = clock
			clock++
			stack = append(stack, frame{b: c})
			continue
		}
		t.post[top.b.ID] = clock
		clock++
		stack = stack[:len(stack)-1]
	}
}

// Idom is b's immediate dominator: nil for the entry and for unreachable
// blocks.
func (t *DomTree) Idom(b *ir.Block) *ir.Block { return t.idom[b.ID] }

// Children are the blocks b immediately dominates, in f.Blocks order.
func (t *DomTree) Children(b *ir.Block) []*ir.Block {
	return t.children[t.childStart[b.ID]:t.childStart[b.ID+1]]
}

// Reachable reports whether b is reachable from the entry.
func (t *DomTree) Reachable(b *ir.Block) bool { return t.pre[b.ID] >= 0 }

// Dominates reports whether every path from the entry to b passes through
// a. A block dominates itself; unreachable blocks dominate nothing and are
// dominated by nothing.
func (t *DomTree) Dominates(a, b *ir.Block) bool {
	pa, pb := t.pre[a.ID], t.pre[b.ID]
	return pa >= 0 && pb >= 0 && pa <= pb && t.post[b.ID] <= t.post[a.ID]
}

// StrictlyDominates is Dominates for a != b.
func (t *DomTree) StrictlyDominates(a, b *ir.Block) bool { return a != b && t.Dominates(a, b) }
