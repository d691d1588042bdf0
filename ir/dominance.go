package ir

// The verifier's dominance check needs dominators, and ir cannot import the
// ssa package that offers them to passes (ssa imports ir). This is the same
// Cooper–Harvey–Kennedy algorithm ("A Simple, Fast Dominance Algorithm",
// 2001), kept private and minimal: immediate dominators over reverse
// postorder, then pre/post numbers of the dominator tree so that a
// dominance query is O(1).

type dominance struct {
	pre, post []int // by block ID; pre == -1: unreachable
}

func (d *dominance) reachable(b *Block) bool { return d.pre[b.ID] >= 0 }

// dominates reports whether a dominates b (reflexively); both reachable.
func (d *dominance) dominates(a, b *Block) bool {
	return d.pre[a.ID] <= d.pre[b.ID] && d.post[b.ID] <= d.post[a.ID]
}

// computeDominance requires blocks with IDs in [0, NumBlocks) and edges
// inside f, which the verifier's structural checks have established.
func computeDominance(f *Func) *dominance {
	n := f.NumBlocks()
	order := postorder(f)
	rpoNum := make([]int, n) // by block ID; position in postorder
	for i := range rpoNum {
		rpoNum[i] = -1
	}
	for i, b := range order {
		rpoNum[b.ID] = i
	}
	idom := make([]*Block, n)
	entry := f.Entry()
	idom[entry.ID] = entry
	intersect := func(a, b *Block) *Block {
		for a != b {
			for rpoNum[a.ID] < rpoNum[b.ID] {
				a = idom[a.ID]
			}
			for rpoNum[b.ID] < rpoNum[a.ID] {
				b = idom[b.ID]
			}
		}
		return a
	}
	for changed := true; changed; {
		changed = false
		for i := len(order) - 1; i >= 0; i-- { // reverse postorder
			b := order[i]
			if b == entry {
				continue
			}
			var d *Block
			for _, p := range b.Preds {
				if idom[p.ID] == nil {
					continue // unreachable or not yet processed
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

	// Number the dominator tree depth-first.
	children := make([][]*Block, n)
	for _, b := range order {
		if b != entry {
			children[idom[b.ID].ID] = append(children[idom[b.ID].ID], b)
		}
	}
	d := &dominance{pre: make([]int, n), post: make([]int, n)}
	for i := range d.pre {
		d.pre[i] = -1
	}
	clock := 0
	type frame struct {
		b    *Block
		next int
	}
	stack := []frame{{b: entry}}
	d.pre[entry.ID] = clock
	clock++
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(children[top.b.ID]) {
			c := children[top.b.ID][top.next]
			top.next++
			d.pre[c.ID] = clock
			clock++
			stack = append(stack, frame{b: c})
			continue
		}
		d.post[top.b.ID] = clock
		clock++
		stack = stack[:len(stack)-1]
	}
	return d
}

// postorder lists the blocks reachable from the entry in depth-first
// postorder, visiting successors in order.
func postorder(f *Func) []*Block {
	seen := make([]bool, f.NumBlocks())
	var order []*Block
	type frame struct {
		b    *Block
		next int
	}
	entry := f.Entry()
	seen[entry.ID] = true
	stack := []frame{{b: entry}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(top.b.Succs) {
			s := top.b.Succs[top.next]
			top.next++
			if !seen[s.ID] {
				seen[s.ID] = true
				stack = append(stack, frame{b: s})
			}
			continue
		}
		order = append(order, top.b)
		stack = stack[:len(stack)-1]
	}
	return order
}
