package passes

import (
	"github.com/bpfopt/bpfopt/ir"
)

// ranges narrows 64-bit arithmetic to 32 bits where value ranges prove the
// high words zero. It runs on the i64 IR, before legalize64.
//
// Why. Clang keeps BPF loop counters and lengths in 64-bit registers:
// "r1 += 1; if r1 < r2 goto loop". After legalize64 each such add carries
// a 32-bit carry chain and each compare becomes a three-part 64-bit
// compare, in every iteration. Known bits (knownbits.go) cannot remove
// them: the high word of i = Phi(0, i+1) is 0 only because i stays below
// a bound, which is a fact about ranges, not bits.
//
// How. The analysis (ranges_solver.go, over the interval domain of
// ranges_ops.go) computes an unsigned interval for every i32 and i64
// value by sparse conditional propagation in the style of Wegman and
// Zadeck with the interval lattice of Cousot and Cousot ("Abstract
// interpretation", POPL 1977): widening at loop headers to thresholds
// taken from the function's compares, then narrowing sweeps. Branches
// refine ranges: on each edge of an If on a compare, both operands are
// narrowed in the blocks the edge dominates (the facts are scoped by the
// dominator tree rather than inserted as new values, in the way of the
// "pi nodes" of Bodik et al.'s ABCD, "Eliminating array bound checks on
// demand", PLDI 2000, without materializing them), and a phi reads each
// argument as it is at the end of its predecessor, along the edge. Loops
// that exit on "i != C" get their bound from an induction-variable rule
// (ranges_induction.go) that intervals alone cannot find.
//
// The rewrites, each exact under BPF semantics given the ranges proven at
// the op's own block (the proof of each is the comment at its rule):
//
//   - an i64 op becomes ZeroExt32to64(op32(lo a, lo b)) when its result
//     fits in 32 bits and the result's low word depends only on the
//     operands' low words (add, sub, mul, and, or, xor; a left shift by at
//     most 31), or when its operands fit in 32 bits (right shifts by at
//     most 31, divisions and remainders, signed ones included: the
//     operands are then non-negative); legalize64 then gives it a constant
//     0 high word, and simplify's known bits sweep what read it;
//   - an i64 compare of operands that fit in 32 bits becomes the 32-bit
//     compare of their low words;
//   - a value whose range is one number (a compare the ranges decide, the
//     high word of a small value) becomes that constant.
//
// Phis are left alone: once every argument is a ZeroExt32to64 or a small
// constant, legalize64 makes the high-word phi's arguments all 0 and
// simplify folds it.

func rangesPass(f *ir.Func, _ *Config) (Stats, error) {
	if len(f.Blocks) == 0 {
		return nil, nil
	}
	s := newRangeSolver(f)
	s.solve()
	rw := newRangeRewriter(f, s)
	if n := s.boundedInductions(); n > 0 {
		rw.stats["induction variables bounded"] = n
	}
	rw.rewrite()
	if n := f.RemoveDeadValuesFrom(func(v *ir.Value) bool { return v.ID < len(rw.touched) && rw.touched[v.ID] }); n > 0 {
		rw.stats["dead values removed"] = n
	}
	return rw.stats, nil
}

func newRangeRewriter(f *ir.Func, s *rangeSolver) *rangeRewriter {
	return &rangeRewriter{s: s, stats: Stats{}, touched: make([]bool, f.NumValues())}
}

// rewrite decides every rewrite on the function as analyzed, then applies
// them: a rewrite changes ops that later questions to the analysis read.
func (rw *rangeRewriter) rewrite() {
	s := rw.s
	plans := map[*ir.Block][]rangePlan{}
	for _, b := range s.order {
		if s.execBlock[b.ID] {
			plans[b] = rw.plan(b)
		}
	}
	for _, b := range s.order {
		if len(plans[b]) > 0 {
			rw.apply(b, plans[b])
		}
	}
}

// rangePlan is one rewrite: v becomes the constant c (toConst), or its
// 32-bit form op32 on the low words.
type rangePlan struct {
	v       *ir.Value
	toConst bool
	c       uint64
	op32    ir.Op
}

type rangeRewriter struct {
	s     *rangeSolver
	stats Stats
	// touched marks, by value ID, values that lost a use to a rewrite:
	// the seeds of the dead-value sweep at the end.
	touched []bool

	b   *ir.Block
	out []*ir.Value             // b's new value list
	los map[*ir.Value]*ir.Value // low words made in b
}

const mask32 = uint64(1)<<32 - 1

// narrowOps maps an i64 op to the 32-bit op on low words that computes it
// when the rule in narrowable says so.
var narrowOps = map[ir.Op]ir.Op{
	ir.OpAdd64: ir.OpAdd32, ir.OpSub64: ir.OpSub32, ir.OpMul64: ir.OpMul32,
	ir.OpAnd64: ir.OpAnd32, ir.OpOr64: ir.OpOr32, ir.OpXor64: ir.OpXor32,
	ir.OpShl64: ir.OpShl32, ir.OpShrU64: ir.OpShrU32, ir.OpShrS64: ir.OpShrU32,
	ir.OpDivU64: ir.OpDivU32, ir.OpModU64: ir.OpModU32, ir.OpDivS64: ir.OpDivU32, ir.OpModS64: ir.OpModU32,
	ir.OpEq64: ir.OpEq32, ir.OpNe64: ir.OpNe32, ir.OpLtU64: ir.OpLtU32, ir.OpLeU64: ir.OpLeU32,
	ir.OpLtS64: ir.OpLtU32, ir.OpLeS64: ir.OpLeU32,
}

// plan lists the rewrites of b's values.
func (rw *rangeRewriter) plan(b *ir.Block) []rangePlan {
	var plans []rangePlan
	for _, v := range b.Values {
		if c, ok := rw.constant(v); ok {
			plans = append(plans, rangePlan{v: v, toConst: true, c: c})
		} else if op32, ok := rw.narrowable(v); ok {
			plans = append(plans, rangePlan{v: v, op32: op32})
		}
	}
	return plans
}

// apply rewrites b's planned values in order, placing the 32-bit ops
// (and low words) right before the value each replaces.
func (rw *rangeRewriter) apply(b *ir.Block, plans []rangePlan) {
	rw.b, rw.out, rw.los = b, make([]*ir.Value, 0, len(b.Values)+2*len(plans)), map[*ir.Value]*ir.Value{}
	next := 0
	for _, v := range b.Values[:len(b.Values):len(b.Values)] {
		if next < len(plans) && plans[next].v == v {
			p := plans[next]
			next++
			rw.drop(v)
			switch {
			case p.toConst && v.Type == ir.I32:
				v.Reset(ir.OpConst32, ir.I32)
				v.AuxInt = int64(int32(uint32(p.c)))
				rw.stats["values made constant"]++
			case p.toConst:
				v.Reset(ir.OpConst64, ir.I64)
				v.AuxInt = int64(p.c)
				rw.stats["values made constant"]++
			case v.Type == ir.I32: // a compare
				lx, ly := rw.lo(v.Args[0]), rw.lo(v.Args[1])
				v.Reset(p.op32, ir.I32, lx, ly)
				rw.stats["compares narrowed to 32 bits"]++
			default:
				n := rw.emit(p.op32, ir.I32, rw.lo(v.Args[0]), rw.lo(v.Args[1]))
				v.Reset(ir.OpZeroExt32to64, ir.I64, n)
				rw.stats["ops narrowed to 32 bits"]++
			}
		}
		rw.out = append(rw.out, v)
	}
	b.Values = rw.out
}

// constant reports a computed value whose range is one number: it is that
// constant. Proof: the range holds every value v takes.
func (rw *rangeRewriter) constant(v *ir.Value) (uint64, bool) {
	info := v.Op.Info()
	if rangeWidth(v) == 0 || len(v.Args) == 0 || v.Op == ir.OpPhi || info.ReadsMem || info.SideEffect {
		return 0, false
	}
	return rw.s.ranges[v.ID].constant()
}

// drop marks v's arguments, which lose a use.
func (rw *rangeRewriter) drop(v *ir.Value) {
	for _, a := range v.Args {
		if a.ID < len(rw.touched) {
			rw.touched[a.ID] = true
		}
	}
}

// narrowable reports whether the 32-bit rules apply to v, an i64 op, and
// the 32-bit op on low words that computes it.
func (rw *rangeRewriter) narrowable(v *ir.Value) (ir.Op, bool) {
	op32, ok := narrowOps[v.Op]
	if !ok {
		return 0, false
	}
	s, b := rw.s, v.Block
	x, y := s.effective(v.Args[0], b), s.effective(v.Args[1], b)
	if x.empty() || y.empty() {
		return 0, false // never runs here: nothing to gain
	}
	fitX, fitY := x.hi <= mask32, y.hi <= mask32
	// The result's range, from the operands' ranges here.
	res := transferRange(v, []interval{x, y}, 64).meet(s.ranges[v.ID])
	var proven bool
	switch v.Op {
	case ir.OpAdd64, ir.OpSub64, ir.OpMul64, ir.OpAnd64, ir.OpOr64, ir.OpXor64:
		// The low word of a sum, difference, product or bitwise op is the
		// 32-bit op on the low words; a result below 2^32 has high word 0.
		proven = res.hi <= mask32
	case ir.OpShl64: // n <= 31: n&63 == n&31 and lo(x << n) == lo x << n; a result below 2^32 has high word 0
		proven = y.hi <= 31 && res.hi <= mask32
	case ir.OpShrU64: // x < 2^32 has no high bits to shift in; n <= 31 masks alike at 32 and 64 bits
		proven = fitX && y.hi <= 31
	case ir.OpShrS64: // x < 2^32 is non-negative: the arithmetic shift is the logical one, as ShrU64
		proven = fitX && y.hi <= 31
	case ir.OpDivU64, ir.OpModU64: // both below 2^32: quotient and remainder are the 32-bit ones, b == 0 included (0, and a)
		proven = fitX && fitY
	case ir.OpDivS64, ir.OpModS64: // both below 2^32, so non-negative: signed division is unsigned division, b == 0 included
		proven = fitX && fitY
	default: // compares: both below 2^32, so non-negative too: every order agrees with the low words' unsigned order
		proven = fitX && fitY
	}
	return op32, proven
}

// lo is the low word of the i64 a, as an i32 value available before the
// value being rewritten.
func (rw *rangeRewriter) lo(a *ir.Value) *ir.Value {
	if a.Type == ir.I32 {
		return a
	}
	switch a.Op {
	case ir.OpZeroExt32to64, ir.OpSignExt32to64:
		return a.Args[0]
	case ir.OpInt64Make:
		return a.Args[1]
	}
	if l := rw.los[a]; l != nil {
		return l
	}
	var l *ir.Value
	if c, ok := rangeConst(a); ok {
		l = rw.emit(ir.OpConst32, ir.I32)
		l.AuxInt = int64(int32(uint32(c)))
	} else {
		l = rw.emit(ir.OpInt64Lo, ir.I32, a)
	}
	rw.los[a] = l
	return l
}

// emit makes a new value in the block being rewritten, before the current
// one.
func (rw *rangeRewriter) emit(op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	v := rw.b.NewValue(op, t, args...)
	rw.out = append(rw.out, v)
	return v
}
