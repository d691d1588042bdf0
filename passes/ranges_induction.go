package passes

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
)

// Induction variables for the range analysis (ranges_solver.go). Clang
// often rotates "for (i = 0; i < n; i += 2)" over a known n into "do {
// ... i += 2 } while (i != C)": the exit test is an inequality, and an
// interval analysis cannot bound i with it — i + 2 might step over C and
// wrap around 2^64, and widening then loses every bound. But a counter
// that starts at I, moves by a constant step s and stops when it reaches
// C = I + K*s visits only I, I+s, ..., C - s: the loop tests each value
// it moves to. inductionRange applies that argument, the way the
// trip-count computations of scalar evolution do (Bachmann, Wang and
// Zima, "Chains of recurrences", ISSAC 1994), for the one shape that
// matters here: one back edge, a constant step, an exit test on the
// counter or its next value against a loop-invariant bound.

// inductionVar is a loop header phi x = Phi(inits..., n) whose one back
// edge brings n = x + step.
type inductionVar struct {
	x     *ir.Value
	n     *ir.Value
	step  uint64 // two's complement at the phi's width
	latch int    // index of the back edge in the header's Preds
}

// findInduction records phi x as an induction variable when its one back
// edge brings x + constant.
func (s *rangeSolver) findInduction(x *ir.Value) {
	w, h := rangeWidth(x), x.Block
	if w == 0 || len(x.Args) != len(h.Preds) {
		return
	}
	latch := -1
	for j, p := range h.Preds {
		if s.dom.Dominates(h, p) {
			if latch >= 0 {
				return // two back edges
			}
			latch = j
		}
	}
	if latch < 0 {
		return
	}
	n := x.Args[latch]
	z, step, ok := offsetOf(n) // n = z + step
	if !ok || z != x || step == 0 {
		return
	}
	s.ivs[x.ID] = &inductionVar{x: x, n: n, step: step, latch: latch}
}

// inductionRange bounds an induction variable x = Phi(I..., x + s) by its
// exit test. If every trip around the loop requires n != y (n = x + s,
// the back edge's value) with y loop-invariant, and every start I and
// every possible y satisfy y = I + K*s for some K >= 1 without passing
// through 2^w (for s > 0: y > I and s divides y - I; s = 1 for a y that
// is not a constant), then x runs through I, I+s, ..., y-s and stops:
// the transition to y is the one the test forbids. So x ∈ [min I,
// max y - s]. A test x != y instead allows x to reach y: x ∈ [min I, max
// y]. Downward steps mirror this. ok is false when nothing is proven.
func (s *rangeSolver) inductionRange(x *ir.Value) (r interval, ok bool) {
	iv := s.ivs[x.ID]
	if iv == nil {
		return interval{}, false
	}
	w, h := rangeWidth(x), x.Block
	if !s.execEdge[s.edgeIndex(h, iv.latch)] {
		return interval{}, false // no trip around: the phi's join is exact
	}
	var starts []uint64
	for j := range h.Preds {
		if j == iv.latch || !s.execEdge[s.edgeIndex(h, j)] {
			continue
		}
		c, ok := s.incoming(x.Args[j], h, j).constant()
		if !ok {
			return interval{}, false
		}
		starts = append(starts, c)
	}
	if len(starts) == 0 {
		return interval{}, false
	}
	latch := h.Preds[iv.latch]
	for _, fc := range s.latchFacts(h, iv.latch, iv.n, x) {
		// The test is on n (or on x + step, the same number) or on x.
		onNext := (fc.x == iv.n && fc.offset == 0) || (fc.x == x && fc.offset == iv.step)
		if fc.rel != relNe || (!onNext && (fc.x != x || fc.offset != 0)) {
			continue
		}
		if fc.y != nil && !fc.y.IsConst() && !s.dom.StrictlyDominates(fc.y.Block, h) {
			continue // y may change around the loop
		}
		bound := singleInterval(fc.k)
		if fc.y != nil {
			bound = s.effective(fc.y, latch)
		}
		// A test of the low word: the run stays below 2^32 when its
		// starts and bounds do, and then the low word is the number.
		if bound.empty() || (fc.viaLo && (bound.hi > widthMask(32) || slices.Max(starts) > widthMask(32))) {
			continue
		}
		if r, ok := strideRange(starts, bound, iv.step, w, onNext); ok {
			return r, true
		}
	}
	return interval{}, false
}

// boundedInductions counts the induction variables whose rule applies.
func (s *rangeSolver) boundedInductions() int {
	n := 0
	for _, iv := range s.ivs {
		if _, ok := s.inductionRange(iv.x); ok {
			n++
		}
	}
	return n
}

// latchFacts lists the facts about the values vals that hold every time
// the back edge (index j of h's Preds) is taken: those scoped over its
// source, and the edge's own.
func (s *rangeSolver) latchFacts(h *ir.Block, j int, vals ...*ir.Value) []rangeFact {
	latch := h.Preds[j]
	var facts []rangeFact
	for _, v := range vals {
		for _, fc := range s.edgeFacts[s.edgeIndex(h, j)] {
			if fc.x == v {
				facts = append(facts, fc)
			}
		}
		for _, sf := range s.about[v.ID] {
			if s.dom.Dominates(sf.scope, latch) {
				facts = append(facts, sf.rangeFact)
			}
		}
	}
	return facts
}

// strideRange is inductionRange's arithmetic: x starts at one of starts,
// steps by step (w-bit two's complement), and the loop stops before n =
// x + step (onNext) or x itself takes a value of bound.
func strideRange(starts []uint64, bound interval, step uint64, w uint, onNext bool) (interval, bool) {
	m := widthMask(w)
	up := step <= m>>1
	d := step // distance per step
	if !up {
		d = (m - step) + 1
	}
	c, single := bound.constant()
	if !single && d != 1 {
		return interval{}, false // a step could jump over some y
	}
	for _, i := range starts {
		if up && (bound.lo < i || (onNext && bound.lo == i) || (c-i)%d != 0) {
			return interval{}, false
		}
		if !up && (bound.hi > i || (onNext && bound.hi == i) || (i-c)%d != 0) {
			return interval{}, false
		}
	}
	switch {
	case up && onNext:
		return interval{slices.Min(starts), bound.hi - d}, true
	case up:
		return interval{slices.Min(starts), bound.hi}, true
	case onNext:
		return interval{bound.lo + d, slices.Max(starts)}, true
	}
	return interval{bound.lo, slices.Max(starts)}, true
}
