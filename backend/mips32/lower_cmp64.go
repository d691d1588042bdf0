package mips32

import "github.com/bpfopt/bpfopt/ir"

// The ordered 64-bit comparisons as legalize64 writes them, of high words
// a, b and low words c, d:
//
//	Or32 (Lt a b) (And32 (Eq32 a b) lo)     lo = LtU32 c d or LeU32 c d
//
// (Lt is LtU32 or LtS32; the Or's, the And's and the Eq's operands in
// either order). When a and b differ the result is Lt, else lo, so it is
// a conditional move, four instructions where the six of the plain
// selection need two more:
//
//	lo into rd; slt(u) u, a, b; xor e, a, b; movn rd, u, e
//
// Under a branch the whole is computed negated when that is cheaper: !lo
// is one sltu for LeU32 (d < c), and where a and b differ !(a < b) is
// b < a.
//
// lo folds when it is a comparison used only here; any other 0/1 value
// (a comparison used elsewhere) is copied.

type compare64 struct {
	less   *ir.Value // Lt a b
	lo     *ir.Value
	foldLo bool
}

// matchCompare64 finds the pattern at v and the producers it folds.
func (l *lowerer) matchCompare64(v *ir.Value) (compare64, []*ir.Value, bool) {
	if v.Op != ir.OpOr32 {
		return compare64{}, nil, false
	}
	for i := range 2 {
		less, and := v.Args[i], v.Args[1-i]
		if (less.Op != ir.OpLtU32 && less.Op != ir.OpLtS32) || !l.foldable(less, less.Op, v) ||
			!l.foldable(and, ir.OpAnd32, v) {
			continue
		}
		for k := range 2 {
			eq, lo := and.Args[k], and.Args[1-k]
			if !l.foldable(eq, ir.OpEq32, and) || !sameOperands(eq, less) || !isCompare(lo.Op) {
				continue
			}
			c := compare64{less: less, lo: lo}
			folded := []*ir.Value{less, and, eq}
			if l.foldable(lo, lo.Op, and) {
				c.foldLo = true
				folded = append(folded, lo)
			}
			return c, folded, true
		}
	}
	return compare64{}, nil, false
}

// sameOperands reports whether x and y compare the same two values, in
// either order.
func sameOperands(x, y *ir.Value) bool {
	a, b := x.Args[0], x.Args[1]
	return (a == y.Args[0] && b == y.Args[1]) || (a == y.Args[1] && b == y.Args[0])
}

func matchCompare64Fusion(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	c, folded, ok := l.matchCompare64(v)
	if !ok {
		return fusion{}, nil, false
	}
	return fusion{func(l *lowerer, v *ir.Value) { c.emit(l, l.def(v), false) }}, folded, true
}

// emit computes the comparison into rd, or with allowInverted possibly
// its negation, and reports which.
func (c compare64) emit(l *lowerer, rd Reg, allowInverted bool) bool {
	inverted := false
	if c.foldLo {
		inverted = l.compareInto(rd, c.lo, allowInverted)
	} else {
		l.moveValue(rd, c.lo)
	}
	a, b := c.less.Args[0], c.less.Args[1]
	if inverted {
		a, b = b, a
	}
	u := ZERO // a <u 0 is false (what 0 <u b becomes negated)
	if k, ok := constOf(b); !ok || k != 0 || c.less.Op != ir.OpLtU32 {
		u = l.m.newVReg()
		l.compareOpInto(u, c.less.Op, a, b, false)
	}
	l.emit(Inst{Op: MOVN, Rd: rd, Rs: u, Rt: l.difference(a, b)})
	return inverted
}

// matchMaskedByEquality: an equality anded with a 0/1 value (what is left
// of a 64-bit comparison whose high words compare as a constant, and the
// conjunctions of compares): a conditional move of zero, where the plain
// selection needs an sltiu (sltu) and an and.
//
//	And32 (Eq32 a b) y      y in {0, 1}     y into rd; movn rd, zero, a^b
//	And32 (Ne32 a b) y      y in {0, 1}     y into rd; movz rd, zero, a^b
//
// in either order; y folds when it is a comparison used only here.
func matchMaskedByEquality(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if v.Op != ir.OpAnd32 {
		return fusion{}, nil, false
	}
	for i := range 2 {
		eq, y := v.Args[i], v.Args[1-i]
		if (!l.foldable(eq, ir.OpEq32, v) && !l.foldable(eq, ir.OpNe32, v)) || maxValue(y, maxValueDepth) > 1 {
			continue
		}
		folded := []*ir.Value{eq}
		foldY := isCompare(y.Op) && l.foldable(y, y.Op, v)
		if foldY {
			folded = append(folded, y)
		}
		move := MOVN // a != b: the equality is false
		if eq.Op == ir.OpNe32 {
			move = MOVZ
		}
		return fusion{func(l *lowerer, v *ir.Value) {
			rd := l.def(v)
			if foldY {
				l.compareInto(rd, y, false)
			} else {
				l.moveValue(rd, y)
			}
			l.emit(Inst{Op: move, Rd: rd, Rs: ZERO, Rt: l.difference(eq.Args[0], eq.Args[1])})
		}}, folded, true
	}
	return fusion{}, nil, false
}
