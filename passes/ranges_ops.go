package passes

import (
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
)

// The interval domain of the ranges pass (ranges.go): for a value of
// width w bits, an interval [lo, hi] of its unsigned values, both ends
// included. lo > hi is the empty interval: the value never runs. Signed
// questions are answered from the unsigned interval when it lies in one
// half of the number circle (all below 2^(w-1), "non-negative", or all at
// or above it), which covers what the lifter emits: counters, lengths and
// offsets that never go negative.
//
// Every transfer function here must be sound: for any concrete arguments
// inside the argument intervals, the op's result (as ir/op.go defines it,
// BPF semantics included: division by zero, masked shift amounts) lies in
// the result interval. ranges_ops_test.go checks that exhaustively at
// width 4, where the functions compute exactly as they do at 32 and 64.

// interval is a set of unsigned w-bit values [lo, hi]; the width is not
// stored, every function takes it.
type interval struct{ lo, hi uint64 }

var emptyInterval = interval{lo: 1, hi: 0}

// widthMask is the largest w-bit value.
func widthMask(w uint) uint64 {
	if w >= 64 {
		return ^uint64(0)
	}
	return 1<<w - 1
}

// signMin is the smallest w-bit value whose sign bit is set.
func signMin(w uint) uint64 { return 1 << (w - 1) }

func fullInterval(w uint) interval     { return interval{0, widthMask(w)} }
func singleInterval(c uint64) interval { return interval{c, c} }

func (a interval) empty() bool { return a.lo > a.hi }

// constant reports a one-value interval and its value.
func (a interval) constant() (uint64, bool) { return a.lo, a.lo == a.hi }

func (a interval) contains(c uint64) bool { return a.lo <= c && c <= a.hi }

// join is the smallest interval holding both.
func (a interval) join(b interval) interval {
	switch {
	case a.empty():
		return b
	case b.empty():
		return a
	}
	return interval{min(a.lo, b.lo), max(a.hi, b.hi)}
}

// meet is the intersection.
func (a interval) meet(b interval) interval {
	r := interval{max(a.lo, b.lo), min(a.hi, b.hi)}
	if r.empty() {
		return emptyInterval
	}
	return r
}

// nonNegative: every value has the sign bit clear; negative: every value
// has it set.
func (a interval) nonNegative(w uint) bool { return a.hi < signMin(w) }
func (a interval) negative(w uint) bool    { return a.lo >= signMin(w) }

// sameSignHalf reports that signed and unsigned order agree on a ∪ b: both lie
// below 2^(w-1), or both at or above it.
func sameSignHalf(a, b interval, w uint) bool {
	return (a.nonNegative(w) && b.nonNegative(w)) || (a.negative(w) && b.negative(w))
}

func addInterval(a, b interval, w uint) interval {
	m := widthMask(w)
	lo, c1 := bits.Add64(a.lo, b.lo, 0)
	hi, c2 := bits.Add64(a.hi, b.hi, 0)
	switch {
	case w < 64 && hi <= m: // no wrap at all
		return interval{lo, hi}
	case w == 64 && c2 == 0:
		return interval{lo, hi}
	case w < 64 && lo > m: // every sum wraps once
		return interval{lo - m - 1, hi - m - 1}
	case w == 64 && c1 == 1:
		return interval{lo, hi}
	}
	return fullInterval(w)
}

func subInterval(a, b interval, w uint) interval {
	m := widthMask(w)
	switch {
	case a.lo >= b.hi: // never below zero
		return interval{a.lo - b.hi, a.hi - b.lo}
	case a.hi < b.lo: // always below zero: every difference wraps once
		return interval{(a.lo - b.hi) & m, (a.hi - b.lo) & m}
	}
	return fullInterval(w)
}

func mulInterval(a, b interval, w uint) interval {
	h, l := bits.Mul64(a.hi, b.hi)
	if h != 0 || l > widthMask(w) {
		return fullInterval(w)
	}
	return interval{a.lo * b.lo, l}
}

// mulHiInterval is MulHiU32: the high word of the 64-bit product.
func mulHiInterval(a, b interval, _ uint) interval {
	return interval{(a.lo * b.lo) >> 32, (a.hi * b.hi) >> 32}
}

// divUInterval: a / b, and 0 when b == 0.
func divUInterval(a, b interval, _ uint) interval {
	if b.lo == 0 {
		if b.hi == 0 {
			return singleInterval(0)
		}
		return interval{0, a.hi} // b == 0 gives 0, b >= 1 at most a
	}
	return interval{a.lo / b.hi, a.hi / b.lo}
}

// modUInterval: a % b, and a when b == 0.
func modUInterval(a, b interval, _ uint) interval {
	switch {
	case b.lo > a.hi: // b > a, or b == 0 impossible here: a % b == a
		return a
	case b.lo == 0:
		return interval{0, a.hi}
	}
	return interval{0, min(a.hi, b.hi-1)}
}

// onesAtLeast is the smallest all-ones number (2^k - 1) at or above c.
func onesAtLeast(c uint64) uint64 {
	if c == 0 {
		return 0
	}
	return ^uint64(0) >> bits.LeadingZeros64(c)
}

func andInterval(a, b interval, _ uint) interval { return interval{0, min(a.hi, b.hi)} }
func orInterval(a, b interval, _ uint) interval {
	return interval{max(a.lo, b.lo), onesAtLeast(max(a.hi, b.hi))}
}
func xorInterval(a, b interval, _ uint) interval { return interval{0, onesAtLeast(max(a.hi, b.hi))} }

// shiftAmountInterval is the interval of n & (w-1), the amount a w-bit shift uses.
func shiftAmountInterval(n interval, w uint) interval {
	m := uint64(w - 1)
	if n.hi <= m {
		return n
	}
	if c, ok := n.constant(); ok {
		return singleInterval(c & m)
	}
	if n.lo>>bits.Len64(m) == n.hi>>bits.Len64(m) { // one block of w: masking is a subtraction
		return interval{n.lo & m, n.hi & m}
	}
	return interval{0, m}
}

func shlInterval(a, n interval, w uint) interval {
	n = shiftAmountInterval(n, w)
	if a.hi != 0 && uint(bits.Len64(a.hi))+uint(n.hi) > w {
		return fullInterval(w)
	}
	return interval{a.lo << n.lo, a.hi << n.hi}
}

func shrUInterval(a, n interval, w uint) interval {
	n = shiftAmountInterval(n, w)
	return interval{a.lo >> n.hi, a.hi >> n.lo}
}

// ashrWidth is the w-bit arithmetic shift of a by k < w.
func ashrWidth(a uint64, k, w uint) uint64 {
	s := int64(a<<(64-w)) >> (64 - w) // sign-extend to 64 bits
	return uint64(s>>k) & widthMask(w)
}

func shrSInterval(a, n interval, w uint) interval {
	n = shiftAmountInterval(n, w)
	switch {
	case a.nonNegative(w):
		return interval{a.lo >> n.hi, a.hi >> n.lo}
	case a.negative(w): // shifting a negative number moves it towards -1, the largest
		return interval{ashrWidth(a.lo, uint(n.lo), w), ashrWidth(a.hi, uint(n.hi), w)}
	}
	return fullInterval(w)
}

func negInterval(a interval, w uint) interval {
	m := widthMask(w)
	switch {
	case a.lo == 0 && a.hi == 0:
		return a
	case a.lo > 0: // -a = 2^w - a, decreasing in a
		return interval{(m - a.hi) + 1, (m - a.lo) + 1}
	}
	return fullInterval(w)
}

// divSInterval and modSInterval: signed division of non-negative numbers
// is unsigned division; anything else gets the full interval.
func divSInterval(a, b interval, w uint) interval {
	if a.nonNegative(w) && b.nonNegative(w) {
		return divUInterval(a, b, w)
	}
	return fullInterval(w)
}

func modSInterval(a, b interval, w uint) interval {
	if a.nonNegative(w) && b.nonNegative(w) {
		return modUInterval(a, b, w)
	}
	return fullInterval(w)
}

// truthInterval is a compare's result: [1,1] when it always holds, [0,0]
// when it never does, [0,1] otherwise.
func truthInterval(always, never bool) interval {
	switch {
	case always:
		return singleInterval(1)
	case never:
		return singleInterval(0)
	}
	return interval{0, 1}
}

// cmpRel is the relation a compare op asserts between its operands.
type cmpRel uint8

const (
	relEq cmpRel = iota
	relNe
	relLtU
	relLeU
	relGtU
	relGeU
	relLtS
	relLeS
	relGtS
	relGeS
)

// negate is the relation that holds when r does not.
func (r cmpRel) negate() cmpRel {
	return [...]cmpRel{relNe, relEq, relGeU, relGtU, relLeU, relLtU, relGeS, relGtS, relLeS, relLtS}[r]
}

// swap is the relation of (b, a) when r relates (a, b).
func (r cmpRel) swap() cmpRel {
	return [...]cmpRel{relEq, relNe, relGtU, relGeU, relLtU, relLeU, relGtS, relGeS, relLtS, relLeS}[r]
}

func (r cmpRel) signed() bool { return r >= relLtS }

// unsigned is the unsigned relation of the same shape.
func (r cmpRel) unsigned() cmpRel {
	if r.signed() {
		return r - relLtS + relLtU
	}
	return r
}

// rangeCompareOps maps the compare ops to their relation and width.
var rangeCompareOps = map[ir.Op]struct {
	rel cmpRel
	w   uint
}{
	ir.OpEq32: {relEq, 32}, ir.OpNe32: {relNe, 32}, ir.OpLtU32: {relLtU, 32}, ir.OpLeU32: {relLeU, 32},
	ir.OpLtS32: {relLtS, 32}, ir.OpLeS32: {relLeS, 32},
	ir.OpEq64: {relEq, 64}, ir.OpNe64: {relNe, 64}, ir.OpLtU64: {relLtU, 64}, ir.OpLeU64: {relLeU, 64},
	ir.OpLtS64: {relLtS, 64}, ir.OpLeS64: {relLeS, 64},
}

// decideInterval reports whether "a r b" holds for all values of the intervals
// (always) or for none (never); both false when it depends.
func decideInterval(a, b interval, r cmpRel, w uint) (always, never bool) {
	if r.signed() {
		switch {
		case sameSignHalf(a, b, w):
			r = r.unsigned()
		case a.negative(w) && b.nonNegative(w): // a < b, signed
			return r == relLtS || r == relLeS, r == relGtS || r == relGeS
		case a.nonNegative(w) && b.negative(w): // a > b
			return r == relGtS || r == relGeS, r == relLtS || r == relLeS
		default:
			return false, false
		}
	}
	switch r {
	case relEq:
		ca, oka := a.constant()
		cb, okb := b.constant()
		return oka && okb && ca == cb, a.meet(b).empty()
	case relNe:
		ca, oka := a.constant()
		cb, okb := b.constant()
		return a.meet(b).empty(), oka && okb && ca == cb
	case relLtU:
		return a.hi < b.lo, a.lo >= b.hi
	case relLeU:
		return a.hi <= b.lo, a.lo > b.hi
	case relGtU:
		return a.lo > b.hi, a.hi <= b.lo
	case relGeU:
		return a.lo >= b.hi, a.hi < b.lo
	}
	return false, false
}

// refineInterval narrows a, the interval of x, by the knowledge "x r y" with y in
// b. Signed relations narrow only where signed and unsigned order agree.
// The result may be empty: the relation cannot hold.
func refineInterval(a, b interval, r cmpRel, w uint) interval {
	if a.empty() || b.empty() {
		return emptyInterval
	}
	if r.signed() {
		if !sameSignHalf(a, b, w) {
			return a
		}
		r = r.unsigned()
	}
	switch r {
	case relEq:
		return a.meet(b)
	case relNe:
		c, ok := b.constant()
		switch {
		case !ok:
		case a.lo == c && a.hi == c:
			return emptyInterval
		case a.lo == c:
			a.lo++
		case a.hi == c:
			a.hi--
		}
		return a
	case relLtU: // x < y <= b.hi
		if b.hi == 0 {
			return emptyInterval
		}
		return a.meet(interval{0, b.hi - 1})
	case relLeU:
		return a.meet(interval{0, b.hi})
	case relGtU: // x > y >= b.lo
		if b.lo == ^uint64(0) {
			return emptyInterval
		}
		return a.meet(interval{b.lo + 1, ^uint64(0)})
	case relGeU:
		return a.meet(interval{b.lo, ^uint64(0)})
	}
	return a
}

// extendInterval is a value of width from as a value of width to:
// zero-extended, or sign-extended when signed.
func extendInterval(a interval, from, to uint, signed bool) interval {
	if !signed || a.nonNegative(from) {
		return a
	}
	if a.negative(from) {
		ext := widthMask(to) &^ widthMask(from)
		return interval{a.lo | ext, a.hi | ext}
	}
	return fullInterval(to)
}

// truncInterval is the low `to` bits of a.
func truncInterval(a interval, to uint) interval {
	m := widthMask(to)
	if a.hi <= m {
		return a
	}
	if a.lo>>to == a.hi>>to { // one block of 2^to: truncation is a subtraction
		return interval{a.lo & m, a.hi & m}
	}
	return fullInterval(to)
}

// binaryIntervals are the transfer functions of the two-operand
// arithmetic ops, the same function at 32 and 64 bits.
var binaryIntervals = func() map[ir.Op]func(a, b interval, w uint) interval {
	m := map[ir.Op]func(a, b interval, w uint) interval{ir.OpMulHiU32: mulHiInterval}
	for _, e := range []struct {
		op32, op64 ir.Op
		f          func(a, b interval, w uint) interval
	}{
		{ir.OpAdd32, ir.OpAdd64, addInterval}, {ir.OpSub32, ir.OpSub64, subInterval},
		{ir.OpMul32, ir.OpMul64, mulInterval},
		{ir.OpDivU32, ir.OpDivU64, divUInterval}, {ir.OpModU32, ir.OpModU64, modUInterval},
		{ir.OpDivS32, ir.OpDivS64, divSInterval}, {ir.OpModS32, ir.OpModS64, modSInterval},
		{ir.OpAnd32, ir.OpAnd64, andInterval}, {ir.OpOr32, ir.OpOr64, orInterval},
		{ir.OpXor32, ir.OpXor64, xorInterval},
		{ir.OpShl32, ir.OpShl64, shlInterval}, {ir.OpShrU32, ir.OpShrU64, shrUInterval},
		{ir.OpShrS32, ir.OpShrS64, shrSInterval},
	} {
		m[e.op32], m[e.op64] = e.f, e.f
	}
	return m
}()

// transferRange is the range of v (of width w) given the ranges of its
// arguments (zero for arguments that are not integers). Phis are the
// solver's business.
func transferRange(v *ir.Value, args []interval, w uint) interval {
	for _, a := range args {
		if a.empty() {
			return emptyInterval // an argument that never runs
		}
	}
	a := func(i int) interval { return args[i] }
	if f := binaryIntervals[v.Op]; f != nil {
		return f(a(0), a(1), w)
	}
	switch v.Op {
	case ir.OpConst32, ir.OpConst64:
		c, _ := rangeConst(v)
		return singleInterval(c)
	case ir.OpFramePtr: // at least 512 (ir/op.go)
		return interval{512, widthMask(32)}
	case ir.OpCopy:
		return a(0)
	case ir.OpNeg32, ir.OpNeg64:
		return negInterval(a(0), w)
	case ir.OpBswap16, ir.OpZeroExt16to32:
		if v.Op == ir.OpZeroExt16to32 && a(0).hi <= 0xffff {
			return a(0)
		}
		return interval{0, 0xffff}
	case ir.OpZeroExt8to32:
		if a(0).hi <= 0xff {
			return a(0)
		}
		return interval{0, 0xff}
	case ir.OpSignExt8to32:
		return extendInterval(truncInterval(a(0), 8), 8, 32, true)
	case ir.OpSignExt16to32:
		return extendInterval(truncInterval(a(0), 16), 16, 32, true)
	case ir.OpSelect32:
		switch c := a(0); {
		case c.lo > 0:
			return a(1)
		case c.hi == 0:
			return a(2)
		}
		return a(1).join(a(2))
	case ir.OpZeroExt32to64:
		return a(0)
	case ir.OpSignExt32to64:
		return extendInterval(a(0), 32, 64, true)
	case ir.OpInt64Make:
		hi, lo := a(0), a(1)
		if h, ok := hi.constant(); ok {
			return interval{h<<32 | lo.lo, h<<32 | lo.hi}
		}
		return interval{hi.lo << 32, hi.hi<<32 | widthMask(32)}
	case ir.OpInt64Lo:
		return truncInterval(a(0), 32)
	case ir.OpInt64Hi:
		return interval{a(0).lo >> 32, a(0).hi >> 32}
	case ir.OpLoad8:
		return interval{0, 0xff}
	case ir.OpLoad16:
		return interval{0, 0xffff}
	}
	if cmp, ok := rangeCompareOps[v.Op]; ok {
		return truthInterval(decideInterval(a(0), a(1), cmp.rel, cmp.w))
	}
	return fullInterval(w) // arguments, addresses, loads, atomics, calls
}
