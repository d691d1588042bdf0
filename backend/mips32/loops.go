package mips32

// Loop nesting depth of the machine blocks, for the allocator's spill
// costs: a use in a loop is assumed to run ten times as often as one
// outside it (the classic static estimate; Chaitin's allocator weighs
// spill costs the same way).
//
// A depth-first search from the entry finds the back edges (edges to a
// block on the search stack); each one's natural loop is the set of
// blocks that reach its source backwards without passing its header. The
// walk keeps to the header's search subtree, so that in an irreducible
// graph it cannot leave the loop through a second entry.

// loopNest is the natural loops of a machine function.
type loopNest struct {
	depth []int // by block label: how many loops contain the block
	loops []machineLoop
}

// machineLoop is one natural loop: its header and blocks (labels, the
// header first).
type machineLoop struct {
	header int
	blocks []int
}

// findLoops finds the natural loops of m.
func findLoops(m *mfunc) *loopNest {
	n := len(m.blocks)
	depth := make([]int, n)
	nest := &loopNest{depth: depth}
	if n == 0 {
		return nest
	}
	pre, last := make([]int, n), make([]int, n)
	for i := range pre {
		pre[i] = -1
	}
	onStack := make([]bool, n)
	backEdges := map[int][]int{} // header → sources
	var headers []int
	type frame struct {
		b    *mblock
		next int
	}
	count := 0
	visit := func(b *mblock) frame {
		pre[b.label] = count
		count++
		onStack[b.label] = true
		return frame{b, 0}
	}
	stack := []frame{visit(m.blocks[0])}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == len(top.b.succs) {
			last[top.b.label] = count - 1
			onStack[top.b.label] = false
			stack = stack[:len(stack)-1]
			continue
		}
		s := top.b.succs[top.next]
		top.next++
		switch {
		case pre[s.label] < 0:
			stack = append(stack, visit(s))
		case onStack[s.label]:
			if backEdges[s.label] == nil {
				headers = append(headers, s.label)
			}
			backEdges[s.label] = append(backEdges[s.label], top.b.label)
		}
	}
	preds := make([][]int, n)
	for _, b := range m.blocks {
		for _, s := range b.succs {
			preds[s.label] = append(preds[s.label], b.label)
		}
	}
	inLoop := make([]int, n) // the header whose loop last took the block, +1
	for _, h := range headers {
		inLoop[h] = h + 1
		depth[h]++
		lp := machineLoop{header: h, blocks: []int{h}}
		work := append([]int(nil), backEdges[h]...)
		for len(work) > 0 {
			x := work[len(work)-1]
			work = work[:len(work)-1]
			if inLoop[x] == h+1 || pre[x] < pre[h] || pre[x] > last[h] {
				continue
			}
			inLoop[x] = h + 1
			depth[x]++
			lp.blocks = append(lp.blocks, x)
			work = append(work, preds[x]...)
		}
		nest.loops = append(nest.loops, lp)
	}
	return nest
}

// blockFrequency is the static estimate of how often a block at a loop
// depth runs, relative to the entry: ten times per level, capped.
func blockFrequency(depth int) float64 {
	f := 1.0
	for i := 0; i < min(depth, 5); i++ {
		f *= 10
	}
	return f
}
