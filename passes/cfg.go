package passes

import "github.com/bpfopt/bpfopt/ir"

// cfg simplifies the control-flow graph, repeating these rewrites until
// none applies:
//
//  1. Branch folding. An If on a constant becomes a Jump (deadcode's
//     foldConstantBranches, with the unreachable blocks and trivial phis
//     it leaves); an If whose two edges lead to the same block, with equal
//     phi arguments on both, becomes a Jump.
//  2. Jump threading. A block b that only tests a phi — its phis, then
//     maybe pure ops on one phi p and constants, ending in an If on the
//     result, with the ops used in b only and the phis used only there and
//     by the successors' phis — is bypassed on every incoming edge where p
//     is a constant: that predecessor jumps straight to the successor the
//     If would take. The successor's phis get, for the new edge, the
//     argument they had for the edge from b, or where that is a phi of b,
//     the phi's argument for the bypassed edge.
//  3. Empty-block removal. A block that holds nothing and jumps to s hands
//     its predecessors to s; s's phis repeat, for each, the argument they
//     had for the edge from the empty block.
//  4. Block merging. A block that jumps to a block whose only predecessor
//     it is absorbs that block: its values, its terminator, its successors.
//
// Each rewrite keeps the SSA invariants of ir/func.go: an edge's phi
// arguments move with the edge (a successor's Preds keep their order, new
// edges are appended with their arguments), and an edge listed twice by
// one block ("If v -> b2, b2") keeps its occurrence order. Rewrites that
// would make a block reach a phi block twice with different arguments
// (which ir allows, but which helps nothing) are skipped, as is threading
// through a block on a cycle, which could enter a loop other than at its
// header (an irreducible loop).
//
// Empty blocks that sit on critical edges come back in splitcrit, which
// runs last; the others were pure overhead: one jump each.

// cfgRounds bounds the rounds; each round that changes something removes
// an edge or a block or moves an edge further along, so few are needed.
const cfgRounds = 32

func cfgPass(f *ir.Func, _ *Config) (Stats, error) {
	st := Stats{}
	phis := newPhiWatch(f)
	for range cfgRounds {
		n := 0
		count := func(what string, k int) {
			st[what] += k
			n += k
		}
		count("values removed", removeDeadValues(f)) // they may be all an empty block holds
		count("branches folded", foldConstantBranches(f)+foldSameTargetBranches(f))
		count("blocks removed", removeUnreachableBlocks(f))
		count("phis removed", phis.removeTrivial(f))
		count("jumps threaded", threadJumps(f, phis))
		count("empty blocks removed", removeEmptyBlocks(f, phis))
		count("blocks merged", mergeBlocks(f))
		if n == 0 {
			break
		}
	}
	deleteZeros(st)
	return st, nil
}

// phiWatch spares cfg's rounds the search for trivial phis in blocks
// where none can have appeared. A phi that was not trivial becomes so
// only when its block loses a predecessor (the argument goes with it),
// gains one (redirect: a new argument, while another edge may go), or
// when its arguments are replaced (removeTrivialPhis itself); a merge
// only renames a predecessor. So a round looks at the blocks with fewer
// predecessors than at their last look and those redirect gave one, and
// if it finds a trivial phi there, does removeTrivialPhis's whole search,
// which replaces arguments everywhere.
type phiWatch struct {
	preds []int // by block ID: the block's predecessors at the last look, -1: never looked
}

func newPhiWatch(f *ir.Func) *phiWatch {
	w := &phiWatch{preds: make([]int, f.NumBlocks())}
	for i := range w.preds {
		w.preds[i] = -1
	}
	return w
}

// gained records that redirect gave b an edge.
func (w *phiWatch) gained(b *ir.Block) {
	if b.ID < len(w.preds) {
		w.preds[b.ID] = -1
	}
}

// removeTrivial is removeTrivialPhis(f), looking first at the blocks whose
// predecessors changed.
func (w *phiWatch) removeTrivial(f *ir.Func) int {
	found := false
	for _, b := range f.Blocks {
		if b.ID < len(w.preds) && w.preds[b.ID] >= 0 && len(b.Preds) >= w.preds[b.ID] {
			continue
		}
		for _, v := range b.Values {
			if v.Op != ir.OpPhi {
				break
			}
			if isTrivialPhi(v) {
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	n := 0
	if found {
		n = removeTrivialPhis(f)
	}
	for _, b := range f.Blocks {
		if b.ID < len(w.preds) {
			w.preds[b.ID] = len(b.Preds)
		}
	}
	return n
}

// isTrivialPhi reports a phi whose arguments are all one value or itself.
func isTrivialPhi(v *ir.Value) bool {
	var x *ir.Value
	for _, a := range v.Args {
		if a == v || a == x {
			continue
		}
		if x != nil {
			return false
		}
		x = a
	}
	return x != nil
}

// foldSameTargetBranches turns "If c -> s, s" into "Jump s" when s's phis
// have the same argument for both edges.
func foldSameTargetBranches(f *ir.Func) int {
	n := 0
	for _, b := range f.Blocks {
		if b.Kind != ir.BlockIf || b.Succs[0] != b.Succs[1] {
			continue
		}
		s := b.Succs[0]
		j0, j1 := predIndex(b, 0), predIndex(b, 1)
		if !samePhiArgs(s, j0, j1) {
			continue
		}
		removePred(s, j1)
		b.Succs = b.Succs[:1]
		b.Kind = ir.BlockJump
		b.SetControls()
		b.Likely = -1
		n++
	}
	return n
}

// samePhiArgs reports whether every phi of s has the same argument for
// the edges s.Preds[i] and s.Preds[j].
func samePhiArgs(s *ir.Block, i, j int) bool {
	for _, v := range s.Values {
		if v.Op == ir.OpPhi && v.Args[i] != v.Args[j] {
			return false
		}
	}
	return true
}

func hasPhis(b *ir.Block) bool { return len(b.Values) > 0 && b.Values[0].Op == ir.OpPhi }

// succIndex is the inverse of predIndex: the index in p.Succs of the edge
// that is b.Preds[j], where p = b.Preds[j].
func succIndex(b *ir.Block, j int) int {
	p := b.Preds[j]
	k := 0 // the edge is p's k-th edge to b
	for _, q := range b.Preds[:j] {
		if q == p {
			k++
		}
	}
	for i, s := range p.Succs {
		if s == b {
			if k == 0 {
				return i
			}
			k--
		}
	}
	panic("passes: edge missing from its predecessor's Succs")
}

// redirect moves the edge b.Preds[j] to s: its source now jumps to s, and
// s's phis take, for it, the argument they have for edge s.Preds[via],
// or, where that is a phi of b, that phi's argument for edge j. The
// argument must dominate the source, which holds when b defines nothing
// else that s's phis use. The edge's phi arguments in b go away.
func redirect(b *ir.Block, j int, s *ir.Block, via int, w *phiWatch) {
	w.gained(s)
	p := b.Preds[j]
	p.Succs[succIndex(b, j)] = s
	s.Preds = append(s.Preds, p)
	for _, v := range s.Values {
		if v.Op != ir.OpPhi {
			break
		}
		a := v.Args[via]
		if a.Op == ir.OpPhi && a.Block == b {
			a = a.Args[j]
		}
		v.AddArg(a)
	}
	removePred(b, j)
}

// hasSucc reports whether p already has an edge to s.
func hasSucc(p, s *ir.Block) bool {
	for _, x := range p.Succs {
		if x == s {
			return true
		}
	}
	return false
}

// removeEmptyBlocks bypasses blocks that hold no value and jump to
// another block. When the target has phis, a predecessor that already
// reaches it keeps the empty block.
func removeEmptyBlocks(f *ir.Func, w *phiWatch) int {
	n := 0
	for _, b := range f.Blocks[1:] { // the entry has no predecessor to hand over
		if b.Kind != ir.BlockJump || len(b.Values) > 0 || b.Succs[0] == b || len(b.Preds) == 0 {
			continue
		}
		s := b.Succs[0]
		via := predIndex(b, 0)
		moved := false
		for j := len(b.Preds) - 1; j >= 0; j-- {
			if hasPhis(s) && hasSucc(b.Preds[j], s) {
				continue
			}
			redirect(b, j, s, via, w)
			moved = true
		}
		if moved {
			n++
		}
		if len(b.Preds) == 0 { // now unreachable
			removePred(s, predIndex(b, 0))
			b.Succs = nil
			b.Kind = ir.BlockRet // a placeholder until removeDetached
		}
	}
	removeDetached(f)
	return n
}

// removeDetached drops the blocks the rewrites above left without edges
// (not the entry).
func removeDetached(f *ir.Func) {
	kept := f.Blocks[:1]
	for _, b := range f.Blocks[1:] {
		if len(b.Preds) == 0 && len(b.Succs) == 0 && len(b.Values) == 0 && len(b.Controls) == 0 {
			continue
		}
		kept = append(kept, b)
	}
	clear(f.Blocks[len(kept):])
	f.Blocks = kept
}

// mergeBlocks merges each block into its predecessor when that is its
// only predecessor and it is that predecessor's only successor.
func mergeBlocks(f *ir.Func) int {
	n := 0
	for _, b := range f.Blocks {
		for b.Kind == ir.BlockJump {
			c := b.Succs[0]
			if c == b || len(c.Preds) != 1 || hasPhis(c) {
				break // a phi of one argument goes first (removeTrivialPhis)
			}
			for _, v := range c.Values {
				v.Block = b
			}
			b.Values = append(b.Values, c.Values...)
			b.Kind, b.Likely = c.Kind, c.Likely
			b.Controls, c.Controls = c.Controls, nil // the uses move along
			b.Succs = c.Succs
			for _, s := range c.Succs {
				for i, p := range s.Preds {
					if p == c {
						s.Preds[i] = b
					}
				}
			}
			c.Values, c.Succs, c.Preds = nil, nil, nil
			c.Kind = ir.BlockRet // detached; removeDetached drops it
			n++
		}
	}
	if n > 0 {
		removeDetached(f)
	}
	return n
}

// threadJumps bypasses blocks that only decide a branch from a phi, on the
// edges where the phi is a constant.
func threadJumps(f *ir.Func, w *phiWatch) int {
	var onCycle []bool // found once a block qualifies
	n := 0
	for _, b := range f.Blocks[1:] {
		if b.Kind != ir.BlockIf || !hasPhis(b) {
			continue
		}
		p, ok := phiTest(b)
		if !ok {
			continue
		}
		if onCycle == nil {
			onCycle = blocksOnCycles(f)
		}
		if onCycle[b.ID] {
			continue
		}
		for j := len(b.Preds) - 1; j >= 0; j-- {
			a := p.Args[j]
			if a.Op != ir.OpConst32 {
				continue
			}
			taken, ok := evalTest(b, p, uint32(a.AuxInt))
			if !ok {
				break
			}
			t := b.Succs[taken]
			if hasPhis(t) && hasSucc(b.Preds[j], t) {
				continue
			}
			redirect(b, j, t, predIndex(b, taken), w)
			n++
		}
	}
	return n
}

// phiTest matches a block that only decides a branch: after its phis come
// pure i32 ops on one of them, p, and constants, ending in the If's
// control (or the control is p itself). The ops may be used only in the
// block; the phis only there and as arguments of its successors' phis for
// the edges from it, which redirect can give another value. It returns p.
func phiTest(b *ir.Block) (*ir.Value, bool) {
	nphi := 0
	for nphi < len(b.Values) && b.Values[nphi].Op == ir.OpPhi {
		nphi++
	}
	var p *ir.Value
	if c := b.Controls[0]; c.Op == ir.OpPhi && c.Block == b {
		p = c
	}
	// The chain is the ops after the phis; an argument in b that is not a
	// phi comes before its user, so it is in the chain.
	chain := func(a *ir.Value) bool { return a.Block == b && a.Op != ir.OpPhi }
	known := 1 // uses accounted for: the control, ...
	for _, v := range b.Values[nphi:] {
		if !isPure32(v.Op) {
			return nil, false
		}
		for _, a := range v.Args {
			switch {
			case chain(a):
			case a.Op == ir.OpPhi && a.Block == b && (p == nil || p == a):
				p = a
			case a.Op == ir.OpConst32:
				continue
			default:
				return nil, false
			}
			known++ // ... the uses by the ops, ...
		}
	}
	if p == nil || p.Type != ir.I32 || !(chain(b.Controls[0]) || b.Controls[0] == p) {
		return nil, false
	}
	for i, s := range b.Succs {
		if i == 1 && s == b.Succs[0] {
			break
		}
		for _, v := range s.Values {
			if v.Op != ir.OpPhi {
				break
			}
			for j, a := range v.Args {
				if a.Block == b && a.Op == ir.OpPhi && s.Preds[j] == b {
					known++ // ... and the uses by the successors' phis.
				}
			}
		}
	}
	total := 0
	for _, v := range b.Values {
		total += v.Uses
	}
	return p, total == known
}

// evalTest computes, with p = c, the successor index b's If takes.
func evalTest(b *ir.Block, p *ir.Value, c uint32) (int, bool) {
	val := map[*ir.Value]uint32{p: c}
	get := func(a *ir.Value) uint32 {
		if a.Op == ir.OpConst32 {
			return uint32(a.AuxInt)
		}
		return val[a]
	}
	for _, v := range b.Values {
		if v.Op == ir.OpPhi {
			continue
		}
		var x [3]uint32
		for i, a := range v.Args {
			x[i] = get(a)
		}
		r, ok := fold32(v.Op, x[0], x[1], x[2])
		if !ok {
			return 0, false
		}
		val[v] = r
	}
	if get(b.Controls[0]) != 0 {
		return 0, true
	}
	return 1, true
}

// blocksOnCycles marks, by block ID, the blocks that lie on a cycle of the
// CFG (Tarjan's strongly connected components: a block in a component of
// two or more, or with an edge to itself).
func blocksOnCycles(f *ir.Func) []bool {
	n := f.NumBlocks()
	index := make([]int, n) // 0: not visited; else DFS number + 1
	low := make([]int, n)
	onStack := make([]bool, n)
	cyc := make([]bool, n)
	var stack []*ir.Block
	next := 1
	type frame struct {
		b *ir.Block
		i int
	}
	for _, root := range f.Blocks {
		if index[root.ID] != 0 {
			continue
		}
		work := []frame{{b: root}}
		index[root.ID], low[root.ID] = next, next
		next++
		stack = append(stack, root)
		onStack[root.ID] = true
		for len(work) > 0 {
			top := &work[len(work)-1]
			b := top.b
			if top.i < len(b.Succs) {
				s := b.Succs[top.i]
				top.i++
				switch {
				case s == b:
					cyc[b.ID] = true
				case index[s.ID] == 0:
					index[s.ID], low[s.ID] = next, next
					next++
					stack = append(stack, s)
					onStack[s.ID] = true
					work = append(work, frame{b: s})
				case onStack[s.ID]:
					low[b.ID] = min(low[b.ID], index[s.ID])
				}
				continue
			}
			work = work[:len(work)-1]
			if len(work) > 0 {
				parent := work[len(work)-1].b
				low[parent.ID] = min(low[parent.ID], low[b.ID])
			}
			if low[b.ID] != index[b.ID] {
				continue
			}
			// b roots a component: pop it.
			i := len(stack) - 1
			for stack[i] != b {
				i--
			}
			if len(stack)-i > 1 {
				for _, x := range stack[i:] {
					cyc[x.ID] = true
				}
			}
			for _, x := range stack[i:] {
				onStack[x.ID] = false
			}
			stack = stack[:i]
		}
	}
	return cyc
}
