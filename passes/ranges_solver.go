package passes

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// The range analysis behind the ranges pass (ranges.go): an interval of
// unsigned values for every i32 and i64 value, computed by sparse
// conditional propagation over the SSA graph — an ascending phase with
// widening at loop headers, then a few descending (narrowing) sweeps —
// with branch facts applied where they hold. See ranges.go for the design;
// the pieces here are:
//
//   - Facts. The edge of an If whose control compares x with y carries
//     "x REL y" (and "y REL' x"); a control that is no compare carries
//     "c != 0" or "c == 0". Facts also hold for the same number under
//     another name: the zero-extension of a compared i32, the i32 a
//     compared ZeroExt32to64 extends, the i64 x whose Int64Lo was
//     compared (as long as x < 2^32), and z when z + c was compared (the
//     fact is narrowed at z + c and moved back, unless that wraps). A fact
//     on the edge P→S holds in every block S dominates when S has P as its
//     only predecessor (its scope), and on the edge itself, which is where
//     phi arguments are read.
//   - Effective ranges. A value's range where it is used is its range
//     narrowed by every fact about it in scope there (for a phi argument:
//     at the end of the predecessor, plus the facts of the edge); the
//     other side of a fact contributes its own range, unrefined. A
//     counter's i + 1 (an add of a constant, an extension, a low word) is
//     also recomputed from its argument's effective range: "i < n" on the
//     back edge bounds the i + 1 computed before the test.
//   - Executable edges. An If whose control's range is [0,0] or excludes 0
//     only makes one successor executable; a phi joins only executable
//     incoming edges; values in blocks never made executable stay empty.
//   - Widening at the phis of loop headers: a bound that grows jumps to
//     the next threshold — a constant some compare uses (and its
//     neighbours), or a limit of 8, 16, 31, 32, 63 or 64 bits — so a loop
//     bounded by "i < 30" stops at 29 without iterating 30 times. The
//     descending sweeps then recompute every value from its arguments and
//     keep the intersection, which recovers what widening overshot.
//   - Induction variables, for loops that exit on "i != C", which
//     intervals alone cannot bound (i+2 stepping over C would wrap): see
//     ranges_induction.go.
//
// Soundness, in one line each: the ascending phase only joins, so its
// result covers every execution; a descending sweep recomputes a value
// from arguments that cover every execution and intersects, which keeps
// covering; a fact holds at a use its scope dominates because every path
// to the use crossed the edge after the last definition of both operands
// (SSA: their definitions dominate the If); the induction range is
// intersected only where its proof applies.

type rangeFact struct {
	x   *ir.Value // the value the fact narrows
	rel cmpRel    // x rel y
	y   *ir.Value // nil: the constant k
	k   uint64
	w   uint // width of the compare; signed relations need it
	// viaLo: the compare saw Int64Lo x, so the fact holds for x only
	// while x < 2^32.
	viaLo bool
	// offset: the compare saw x + offset (at x's width), not x.
	offset uint64
}

type scopedFact struct {
	scope *ir.Block
	rangeFact
}

type rangeSolver struct {
	f     *ir.Func
	dom   *ssa.DomTree
	order []*ir.Block
	rpo   []int32 // by block ID; -1: unreachable

	ranges    []interval // by value ID
	execBlock []bool     // by block ID
	edgeStart []int32    // by block ID: index of its first pred edge
	execEdge  []bool     // by edge index
	edgeFacts [][]rangeFact
	about     [][]scopedFact // by value ID: scoped facts narrowing it
	header    []bool         // by block ID: some pred is a back edge
	ivs       map[int]*inductionVar
	// thresholds, sorted, for widening at 32 and 64 bits.
	thresholds32, thresholds64 []uint64

	// Dependences: users by value ID; factUsers[y] lists the values x
	// that a fact narrows with y's range; ctrlOf lists the If blocks a
	// value controls.
	users     [][]*ir.Value
	factUsers [][]*ir.Value
	// derivedUsers[a] lists the derivable values with argument a, whose
	// range at a use rangeAt recomputes from a's.
	derivedUsers [][]*ir.Value
	ctrlOf       [][]*ir.Block

	updates []uint16 // by value ID: changes in the ascending phase
	dirty   []bool   // by value ID
	pending []bool   // by RPO index
	next    int
}

// maxUpdates bounds the changes of one value in the ascending phase;
// past it the value gets its full range. Widening makes this unreachable
// on reducible graphs; it guarantees the end on any graph.
const maxUpdates = 64

// descendingSweeps is the number of narrowing sweeps.
const descendingSweeps = 3

func rangeWidth(v *ir.Value) uint {
	switch v.Type {
	case ir.I32:
		return 32
	case ir.I64:
		return 64
	}
	return 0
}

func newRangeSolver(f *ir.Func) *rangeSolver {
	s := &rangeSolver{f: f, dom: ssa.Dominators(f), order: ssa.ReversePostorder(f)}
	nv, nb := f.NumValues(), f.NumBlocks()
	s.rpo = make([]int32, nb)
	for i := range s.rpo {
		s.rpo[i] = -1
	}
	for i, b := range s.order {
		s.rpo[b.ID] = int32(i)
	}
	s.ranges = make([]interval, nv)
	for i := range s.ranges {
		s.ranges[i] = emptyInterval
	}
	s.execBlock = make([]bool, nb)
	s.edgeStart = make([]int32, nb)
	edges := 0
	for _, b := range f.Blocks {
		s.edgeStart[b.ID] = int32(edges)
		edges += len(b.Preds)
	}
	s.execEdge = make([]bool, edges)
	s.edgeFacts = make([][]rangeFact, edges)
	s.about = make([][]scopedFact, nv)
	s.header = make([]bool, nb)
	s.users = make([][]*ir.Value, nv)
	s.factUsers = make([][]*ir.Value, nv)
	s.derivedUsers = make([][]*ir.Value, nv)
	s.ctrlOf = make([][]*ir.Block, nv)
	s.updates = make([]uint16, nv)
	s.dirty = make([]bool, nv)
	s.pending = make([]bool, len(s.order))
	s.ivs = map[int]*inductionVar{}

	var consts []uint64
	for _, b := range s.order {
		for _, v := range b.Values {
			for _, a := range v.Args {
				s.users[a.ID] = append(s.users[a.ID], v)
				if derivable(v) {
					s.derivedUsers[a.ID] = append(s.derivedUsers[a.ID], v)
				}
			}
			if _, ok := rangeCompareOps[v.Op]; ok {
				for _, a := range v.Args {
					if c, ok := rangeConst(a); ok {
						consts = append(consts, c-1, c, c+1)
					}
				}
			}
		}
		if b.Kind == ir.BlockIf && len(b.Controls) == 1 {
			c := b.Controls[0]
			s.ctrlOf[c.ID] = append(s.ctrlOf[c.ID], b)
		}
		for j, p := range b.Preds {
			if s.dom.Dominates(b, p) {
				s.header[b.ID] = true
			}
			_ = j
		}
	}
	s.thresholds32, s.thresholds64 = makeThresholds(consts, 32), makeThresholds(consts, 64)
	s.collectFacts()
	for _, b := range s.order {
		if s.header[b.ID] {
			for _, v := range b.Values {
				if v.Op == ir.OpPhi {
					s.findInduction(v)
				}
			}
		}
	}
	return s
}

// constValue is the value of a Const32 (zero-extended) or Const64.
func rangeConst(v *ir.Value) (uint64, bool) {
	switch v.Op {
	case ir.OpConst32:
		return uint64(uint32(v.AuxInt)), true
	case ir.OpConst64:
		return uint64(v.AuxInt), true
	}
	return 0, false
}

func makeThresholds(consts []uint64, w uint) []uint64 {
	m := widthMask(w)
	t := []uint64{0, 0xff, 0xffff, 1<<31 - 1, 1 << 31, 1<<32 - 1, m}
	if w == 64 {
		t = append(t, 1<<63-1, 1<<63)
	}
	for _, c := range consts {
		if c <= m {
			t = append(t, c)
		}
	}
	slices.Sort(t)
	return slices.Compact(t)
}

func (s *rangeSolver) thresholds(w uint) []uint64 {
	if w == 32 {
		return s.thresholds32
	}
	return s.thresholds64
}

// collectFacts records the facts of every If edge.
func (s *rangeSolver) collectFacts() {
	for _, e := range s.order {
		if e.Kind != ir.BlockIf || len(e.Controls) != 1 || len(e.Succs) != 2 || e.Succs[0] == e.Succs[1] {
			continue
		}
		for i, succ := range e.Succs {
			facts := s.edgeFactsOf(e.Controls[0], i == 0)
			j := ir.PredIndex(e, i)
			if j < 0 || len(facts) == 0 {
				continue
			}
			s.edgeFacts[int(s.edgeStart[succ.ID])+j] = facts
			if len(succ.Preds) == 1 {
				for _, fc := range facts {
					s.about[fc.x.ID] = append(s.about[fc.x.ID], scopedFact{succ, fc})
				}
			}
			for _, fc := range facts {
				if fc.y != nil {
					s.factUsers[fc.y.ID] = append(s.factUsers[fc.y.ID], fc.x)
				}
			}
		}
	}
}

// edgeFactsOf lists what holds when control c is non-zero (taken) or zero.
func (s *rangeSolver) edgeFactsOf(c *ir.Value, taken bool) []rangeFact {
	var facts []rangeFact
	if cmp, ok := rangeCompareOps[c.Op]; ok {
		rel := cmp.rel
		if !taken {
			rel = rel.negate()
		}
		a, b := c.Args[0], c.Args[1]
		facts = s.factAbout(facts, rangeFact{x: a, rel: rel, y: b, w: cmp.w})
		return s.factAbout(facts, rangeFact{x: b, rel: rel.swap(), y: a, w: cmp.w})
	}
	if rangeWidth(c) == 0 {
		return nil
	}
	rel := relNe
	if !taken {
		rel = relEq
	}
	return s.factAbout(facts, rangeFact{x: c, rel: rel, w: rangeWidth(c)})
}

// factAbout appends fc and the same fact for the values that are the
// same number as fc.x (extensions and low words), unless fc.x is a
// constant.
func (s *rangeSolver) factAbout(facts []rangeFact, fc rangeFact) []rangeFact {
	if fc.x.IsConst() {
		return facts
	}
	facts = append(facts, fc)
	if fc.rel.signed() {
		return facts // sign-agnostic aliases only: zero-extension changes the signed order
	}
	x := fc.x
	switch {
	case x.Op == ir.OpZeroExt32to64 && !x.Args[0].IsConst():
		// ZeroExt32to64 z == z as numbers.
		alias := fc
		alias.x = x.Args[0]
		facts = append(facts, alias)
	case x.Op == ir.OpInt64Lo && !x.Args[0].IsConst():
		// Int64Lo z == z while z < 2^32; apply checks that.
		alias := fc
		alias.x, alias.viaLo = x.Args[0], true
		facts = append(facts, alias)
	default:
		// x = z + c: the fact is one about z + c; apply maps it back.
		if z, c, ok := offsetOf(x); ok && !z.IsConst() {
			alias := fc
			alias.x, alias.offset = z, c
			facts = append(facts, alias)
		}
	}
	if x.Type == ir.I32 {
		for _, u := range s.users[x.ID] {
			if u.Op == ir.OpZeroExt32to64 { // the same number, at 64 bits
				alias := fc
				alias.x = u
				facts = append(facts, alias)
			}
		}
	}
	return facts
}

// rangeOf is v's range where it is defined.
func (s *rangeSolver) rangeOf(v *ir.Value) interval {
	if c, ok := rangeConst(v); ok {
		return singleInterval(c)
	}
	if v.ID >= len(s.ranges) { // made by the rewrite, after the analysis
		return fullInterval(rangeWidth(v))
	}
	return s.ranges[v.ID]
}

// offsetOf reads x as z + c (an add or subtract of a constant).
func offsetOf(x *ir.Value) (z *ir.Value, c uint64, ok bool) {
	switch x.Op {
	case ir.OpAdd32, ir.OpAdd64:
		if k, ok := rangeConst(x.Args[1]); ok {
			return x.Args[0], k, true
		}
		if k, ok := rangeConst(x.Args[0]); ok {
			return x.Args[1], k, true
		}
	case ir.OpSub32, ir.OpSub64:
		if k, ok := rangeConst(x.Args[1]); ok {
			return x.Args[0], -k & widthMask(rangeWidth(x)), true
		}
	}
	return nil, 0, false
}

// apply narrows r, a range of fc.x, by fc.
func (s *rangeSolver) apply(r interval, fc *rangeFact) interval {
	if fc.viaLo && r.hi > widthMask(32) {
		return r
	}
	other := singleInterval(fc.k)
	if fc.y != nil {
		other = s.rangeOf(fc.y)
	}
	if fc.offset == 0 {
		return refineInterval(r, other, fc.rel, fc.w)
	}
	// x + offset moves r by a constant; narrow there and move back. A
	// shift that wraps part of r is no interval: no narrowing then.
	w, off := rangeWidth(fc.x), singleInterval(fc.offset)
	shifted := addInterval(r, off, w)
	if shifted == fullInterval(w) && r != shifted {
		return r
	}
	narrowed := refineInterval(shifted, other, fc.rel, fc.w)
	if narrowed.empty() {
		return emptyInterval
	}
	return r.meet(subInterval(narrowed, off, w))
}

// derivable lists the ops whose range at a use is worth recomputing from
// their arguments' ranges there: a counter's "i + 1" computed before the
// test on i that bounds it.
func derivable(x *ir.Value) bool {
	switch x.Op {
	case ir.OpZeroExt32to64, ir.OpSignExt32to64, ir.OpInt64Lo, ir.OpCopy:
		return true
	}
	_, _, ok := offsetOf(x)
	return ok
}

// rangeAt is x's range at the end of block b, or with edge >= 0 on that
// edge (out of b): its range narrowed by every fact in scope there, and,
// for derivable ops defined elsewhere, recomputed from their arguments'
// ranges there (depth levels deep). Proof: x and its arguments keep their
// values from their definitions on, and the facts held after those.
func (s *rangeSolver) rangeAt(x *ir.Value, b *ir.Block, edge, depth int) interval {
	r := s.rangeOf(x)
	if x.IsConst() || r.empty() || x.ID >= len(s.ranges) {
		return r
	}
	for i := range s.about[x.ID] {
		sf := &s.about[x.ID][i]
		if s.dom.Dominates(sf.scope, b) {
			r = s.apply(r, &sf.rangeFact)
		}
	}
	if edge >= 0 {
		for i := range s.edgeFacts[edge] {
			if fc := &s.edgeFacts[edge][i]; fc.x == x {
				r = s.apply(r, fc)
			}
		}
	}
	if depth > 0 && (x.Block != b || edge >= 0) && derivable(x) && !r.empty() {
		args := make([]interval, len(x.Args))
		for i, a := range x.Args {
			if args[i] = s.rangeAt(a, b, edge, depth-1); args[i].empty() {
				return emptyInterval
			}
		}
		r = r.meet(transferRange(x, args, rangeWidth(x)))
	}
	return r
}

// effective is x's range at a use in block b.
func (s *rangeSolver) effective(x *ir.Value, b *ir.Block) interval { return s.rangeAt(x, b, -1, 1) }

// edgeIndex is the index of the edge from b.Preds[j] to b.
func (s *rangeSolver) edgeIndex(b *ir.Block, j int) int { return int(s.edgeStart[b.ID]) + j }

// incoming is x's range on the edge from b.Preds[j] into b.
func (s *rangeSolver) incoming(x *ir.Value, b *ir.Block, j int) interval {
	return s.rangeAt(x, b.Preds[j], s.edgeIndex(b, j), 1)
}

// solve runs the ascending phase to its fixed point, then the descending
// sweeps.
func (s *rangeSolver) solve() {
	s.makeExecutable(s.f.Entry())
	for {
		for s.next < len(s.pending) && !s.pending[s.next] {
			s.next++
		}
		if s.next == len(s.pending) {
			break
		}
		s.pending[s.next] = false
		s.visit(s.order[s.next])
	}
	for range descendingSweeps {
		changed := false
		for _, b := range s.order {
			if s.sweep(b) {
				changed = true
			}
		}
		if !changed {
			break
		}
	}
}

func (s *rangeSolver) makeExecutable(b *ir.Block) {
	if s.execBlock[b.ID] {
		return
	}
	s.execBlock[b.ID] = true
	for _, v := range b.Values {
		s.dirty[v.ID] = true
	}
	s.markPending(b)
}

func (s *rangeSolver) markPending(b *ir.Block) {
	i := int(s.rpo[b.ID])
	s.pending[i] = true
	s.next = min(s.next, i)
}

// visit evaluates the dirty values of an executable block, then its edges.
func (s *rangeSolver) visit(b *ir.Block) {
	for _, v := range b.Values {
		if !s.dirty[v.ID] {
			continue
		}
		s.dirty[v.ID] = false
		if w := rangeWidth(v); w != 0 {
			s.update(v, s.eval(v, w))
		}
	}
	s.visitEdges(b)
}

// update stores v's new range (ascending: joined with the old one and
// widened at loop headers) and marks what depends on it.
func (s *rangeSolver) update(v *ir.Value, r interval) {
	old := s.ranges[v.ID]
	w := rangeWidth(v)
	r = old.join(r)
	if r == old {
		return
	}
	if v.Op == ir.OpPhi && s.header[v.Block.ID] && !old.empty() {
		r = s.widen(old, r, w)
		if iv, ok := s.inductionRange(v); ok {
			r = r.meet(iv).join(old)
		}
	}
	if s.updates[v.ID]++; s.updates[v.ID] > maxUpdates {
		r = fullInterval(w)
	}
	if r == old {
		return
	}
	s.ranges[v.ID] = r
	s.changed(v)
}

// widen moves each bound that grew to the next threshold.
func (s *rangeSolver) widen(old, r interval, w uint) interval {
	t := s.thresholds(w)
	if r.lo < old.lo {
		i, found := slices.BinarySearch(t, r.lo)
		if !found {
			i-- // t[0] == 0 <= r.lo
		}
		r.lo = t[i]
	}
	if r.hi > old.hi {
		i, _ := slices.BinarySearch(t, r.hi) // the last threshold is the width's maximum
		r.hi = t[i]
	}
	return r
}

// changed marks the values and blocks that read v's range.
func (s *rangeSolver) changed(v *ir.Value) {
	s.readersChanged(v)
	for _, x := range s.factUsers[v.ID] {
		if x.Op == ir.OpPhi { // its induction range may read v
			s.markDirty(x)
		}
		s.readersChanged(x)
	}
	for _, b := range s.ctrlOf[v.ID] {
		if s.execBlock[b.ID] {
			s.markPending(b)
		}
	}
}

// readersChanged marks the values that read x's range where they use it:
// x's users, and the users of the derivable values rangeAt recomputes
// from x.
func (s *rangeSolver) readersChanged(x *ir.Value) {
	for _, u := range s.users[x.ID] {
		s.markDirty(u)
	}
	for _, d := range s.derivedUsers[x.ID] {
		for _, u := range s.users[d.ID] {
			s.markDirty(u)
		}
	}
}

func (s *rangeSolver) markDirty(u *ir.Value) {
	if !s.execBlock[u.Block.ID] {
		return // its block's visit will evaluate it
	}
	s.dirty[u.ID] = true
	s.markPending(u.Block)
}

// succTaken reports which successors of b may run, from its control's range.
func (s *rangeSolver) succTaken(b *ir.Block) []bool {
	taken := make([]bool, len(b.Succs))
	for i := range taken {
		taken[i] = true
	}
	if b.Kind == ir.BlockIf && len(b.Controls) == 1 && len(b.Succs) == 2 {
		r := s.rangeOf(b.Controls[0])
		taken[0] = !r.empty() && r.hi != 0 // some value is non-zero
		taken[1] = !r.empty() && r.lo == 0 // zero is possible
	}
	return taken
}

// visitEdges makes the edges b's control allows executable.
func (s *rangeSolver) visitEdges(b *ir.Block) {
	for i, ok := range s.succTaken(b) {
		if !ok {
			continue
		}
		succ := b.Succs[i]
		e := s.edgeIndex(succ, ir.PredIndex(b, i))
		if s.execEdge[e] {
			continue
		}
		s.execEdge[e] = true
		if s.execBlock[succ.ID] {
			for _, v := range succ.Values {
				if v.Op == ir.OpPhi {
					s.markDirty(v)
				}
			}
		} else {
			s.makeExecutable(succ)
		}
	}
}

// sweep is one descending step over block b: its executability and
// edges from its predecessors' current edges, each value recomputed from
// its arguments and intersected with what it had. It reports a change.
func (s *rangeSolver) sweep(b *ir.Block) bool {
	changed := false
	exec := b == s.f.Entry()
	for j := range b.Preds {
		exec = exec || s.execEdge[s.edgeIndex(b, j)]
	}
	if !exec && s.execBlock[b.ID] {
		s.execBlock[b.ID], changed = false, true
	}
	for _, v := range b.Values {
		w := rangeWidth(v)
		if w == 0 {
			continue
		}
		r := emptyInterval
		if exec {
			r = s.eval(v, w)
			if v.Op == ir.OpPhi {
				if iv, ok := s.inductionRange(v); ok {
					r = r.meet(iv)
				}
			}
		}
		if r = r.meet(s.ranges[v.ID]); r != s.ranges[v.ID] {
			s.ranges[v.ID], changed = r, true
		}
	}
	taken := s.succTaken(b)
	for i, succ := range b.Succs {
		e := s.edgeIndex(succ, ir.PredIndex(b, i))
		if s.execEdge[e] && (!exec || !taken[i]) {
			s.execEdge[e], changed = false, true
		}
	}
	return changed
}

// eval computes v's range from the effective ranges of its arguments.
func (s *rangeSolver) eval(v *ir.Value, w uint) interval {
	b := v.Block
	if v.Op == ir.OpPhi {
		r := emptyInterval
		for j, a := range v.Args {
			if s.execEdge[s.edgeIndex(b, j)] {
				r = r.join(s.incoming(a, b, j))
			}
		}
		return r
	}
	args := make([]interval, len(v.Args))
	for i, a := range v.Args {
		if rangeWidth(a) != 0 {
			args[i] = s.effective(a, b)
			if args[i].empty() {
				return emptyInterval
			}
		}
	}
	return transferRange(v, args, w)
}
