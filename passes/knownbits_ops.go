package passes

import (
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
)

// The transfer functions of the known-bits analysis (knownbits.go): one
// pure function of the argument facts per op, each derived from the op's
// semantics in ir/op.go. Every function must be sound — whatever concrete
// arguments match the argument facts, the concrete result matches the
// result fact — which knownbits_test.go checks on random facts and values.
// Exact constant folding (fold32) lives here too, so the analysis and the
// simplify pass fold alike, and agrees with ir.Interpret on every input.

// fact is what the analysis knows of one i32 value.
type fact struct {
	zero, one uint32 // bits known to be 0, bits known to be 1 (disjoint)
	// sign is how many leading bits are known to equal bit 31 (1..32):
	// SignExt8to32 gives 25, ShrS32 x, 31 gives 32.
	sign uint8
}

const signBit = uint32(1) << 31

var unknownFact = fact{sign: 1}

func constFact(c uint32) fact { return norm(fact{zero: ^c, one: c, sign: 1}) }

// constant reports whether every bit is known, and the value.
func (f fact) constant() (uint32, bool) { return f.one, f.zero|f.one == ^uint32(0) }

// The unsigned and signed ranges the known bits allow.
func (f fact) umax() uint32 { return ^f.zero }
func (f fact) umin() uint32 { return f.one }
func (f fact) smin() int32  { return int32(f.one | (^f.zero & signBit)) }
func (f fact) smax() int32  { return int32(^f.zero &^ (signBit &^ f.one)) }

// maybeOne is the set of bits that may be 1.
func (f fact) maybeOne() uint32 { return ^f.zero }

// meet keeps what both facts know (the join point of a phi or a select).
func meet(a, b fact) fact {
	return fact{zero: a.zero & b.zero, one: a.one & b.one, sign: min(a.sign, b.sign)}
}

// lowMask has the n low bits set; highMask the n high bits (0 <= n <= 32).
func lowMask(n int) uint32 {
	if n >= 32 {
		return ^uint32(0)
	}
	return uint32(1)<<n - 1
}

func highMask(n int) uint32 { return ^lowMask(32 - n) }

// norm makes the two halves of a fact agree: the sign bits are all known
// once one of them is, and leading known bits equal to the sign bit count
// as sign bits.
func norm(f fact) fact {
	s := max(int(f.sign), 1)
	top := highMask(s)
	switch {
	case f.zero&top != 0:
		f.zero |= top
	case f.one&top != 0:
		f.one |= top
	}
	switch {
	case f.zero&signBit != 0:
		s = max(s, bits.LeadingZeros32(^f.zero))
	case f.one&signBit != 0:
		s = max(s, bits.LeadingZeros32(^f.one))
	}
	f.sign = uint8(min(s, 32))
	return f
}

// boundFact is a value known to be at most max.
func boundFact(max uint32) fact {
	return norm(fact{zero: highMask(bits.LeadingZeros32(max)), sign: 1})
}

// isPure32 reports the ops fold32 evaluates: no memory, no side effect,
// i32 operands and result.
func isPure32(op ir.Op) bool {
	return op >= ir.OpAdd32 && op <= ir.OpSignExt16to32
}

// fold32 evaluates a pure i32 op on constants, with BPF's rules for
// division (x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 =
// 0) — the same results as ir.Interpret.
func fold32(op ir.Op, a, b, c uint32) (uint32, bool) {
	switch op {
	case ir.OpAdd32:
		return a + b, true
	case ir.OpSub32:
		return a - b, true
	case ir.OpMul32:
		return a * b, true
	case ir.OpMulHiU32:
		return uint32(uint64(a) * uint64(b) >> 32), true
	case ir.OpDivU32:
		if b == 0 {
			return 0, true
		}
		return a / b, true
	case ir.OpModU32:
		if b == 0 {
			return a, true
		}
		return a % b, true
	case ir.OpDivS32:
		switch {
		case b == 0:
			return 0, true
		case int32(b) == -1:
			return -a, true
		}
		return uint32(int32(a) / int32(b)), true
	case ir.OpModS32:
		switch {
		case b == 0:
			return a, true
		case int32(b) == -1:
			return 0, true
		}
		return uint32(int32(a) % int32(b)), true
	case ir.OpAnd32:
		return a & b, true
	case ir.OpOr32:
		return a | b, true
	case ir.OpXor32:
		return a ^ b, true
	case ir.OpShl32:
		return a << (b & 31), true
	case ir.OpShrU32:
		return a >> (b & 31), true
	case ir.OpShrS32:
		return uint32(int32(a) >> (b & 31)), true
	case ir.OpNeg32:
		return -a, true
	case ir.OpBswap16:
		return uint32(bits.ReverseBytes16(uint16(a))), true
	case ir.OpBswap32:
		return bits.ReverseBytes32(a), true
	case ir.OpSelect32:
		if a != 0 {
			return b, true
		}
		return c, true
	case ir.OpEq32:
		return b2u32(a == b), true
	case ir.OpNe32:
		return b2u32(a != b), true
	case ir.OpLtU32:
		return b2u32(a < b), true
	case ir.OpLeU32:
		return b2u32(a <= b), true
	case ir.OpLtS32:
		return b2u32(int32(a) < int32(b)), true
	case ir.OpLeS32:
		return b2u32(int32(a) <= int32(b)), true
	case ir.OpZeroExt8to32:
		return a & 0xff, true
	case ir.OpZeroExt16to32:
		return a & 0xffff, true
	case ir.OpSignExt8to32:
		return uint32(int32(int8(a))), true
	case ir.OpSignExt16to32:
		return uint32(int32(int16(a))), true
	}
	return 0, false
}

func b2u32(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// transfer32 computes the fact of a pure i32 op from its argument facts
// (args[i] is the fact of v.Args[i]); same reports which arguments are
// the same SSA value (same[0]: Args[0] == Args[1]).
func transfer32(op ir.Op, args []fact, sameArgs bool) fact {
	// All arguments constant: evaluate.
	var k [3]uint32
	allConst := true
	for i, a := range args {
		c, ok := a.constant()
		allConst = allConst && ok
		k[i] = c
	}
	if allConst {
		if c, ok := fold32(op, k[0], k[1], k[2]); ok {
			return constFact(c)
		}
	}
	var a, b fact
	if len(args) > 0 {
		a = args[0]
	}
	if len(args) > 1 {
		b = args[1]
	}
	switch op {
	case ir.OpAdd32:
		return norm(addCarry(a, b, 0))
	case ir.OpSub32:
		if sameArgs {
			return constFact(0)
		}
		return norm(subFact(a, b))
	case ir.OpNeg32:
		return norm(subFact(constFact(0), a))
	case ir.OpMul32:
		return norm(mulFact(a, b))
	case ir.OpMulHiU32:
		return boundFact(uint32(uint64(a.umax()) * uint64(b.umax()) >> 32))
	case ir.OpDivU32:
		if b.umin() == 0 {
			if b.umax() == 0 {
				return constFact(0)
			}
			return boundFact(a.umax())
		}
		return boundFact(a.umax() / b.umin())
	case ir.OpModU32:
		if b.umax() == 0 {
			return a
		}
		m := a.umax()
		if b.umin() != 0 {
			m = min(m, b.umax()-1)
		}
		return boundFact(m)
	case ir.OpDivS32:
		if b.umax() == 0 {
			return constFact(0)
		}
		return unknownFact
	case ir.OpModS32:
		if b.umax() == 0 {
			return a
		}
		if c, ok := b.constant(); ok && (c == 1 || c == ^uint32(0)) {
			return constFact(0)
		}
		return unknownFact
	case ir.OpAnd32:
		return norm(fact{zero: a.zero | b.zero, one: a.one & b.one, sign: min(a.sign, b.sign)})
	case ir.OpOr32:
		return norm(fact{zero: a.zero & b.zero, one: a.one | b.one, sign: min(a.sign, b.sign)})
	case ir.OpXor32:
		if sameArgs {
			return constFact(0)
		}
		return norm(fact{zero: a.zero&b.zero | a.one&b.one, one: a.zero&b.one | a.one&b.zero, sign: min(a.sign, b.sign)})
	case ir.OpShl32, ir.OpShrU32, ir.OpShrS32:
		return shiftFact(op, a, b)
	case ir.OpBswap16:
		return norm(fact{
			zero: uint32(bits.ReverseBytes16(uint16(a.zero))) | 0xffff0000,
			one:  uint32(bits.ReverseBytes16(uint16(a.one))), sign: 1})
	case ir.OpBswap32:
		return norm(fact{zero: bits.ReverseBytes32(a.zero), one: bits.ReverseBytes32(a.one), sign: 1})
	case ir.OpSelect32:
		return selectFact(args[0], args[1], args[2])
	case ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32:
		if r, ok := decideCompare(op, a, b, sameArgs); ok {
			return constFact(r)
		}
		return norm(fact{zero: ^uint32(1), sign: 31})
	case ir.OpZeroExt8to32:
		return norm(fact{zero: a.zero | 0xffffff00, one: a.one & 0xff, sign: 1})
	case ir.OpZeroExt16to32:
		return norm(fact{zero: a.zero | 0xffff0000, one: a.one & 0xffff, sign: 1})
	case ir.OpSignExt8to32:
		return signExtFact(a, 8)
	case ir.OpSignExt16to32:
		return signExtFact(a, 16)
	}
	return unknownFact
}

// addCarry is the known bits of a + b + carry, carry being 0 or 1 (LLVM's
// KnownBits::computeForAddCarry, carry known): a result bit is known where both operand
// bits and the incoming carry are known. The carries are bounded by the
// two extreme sums, every unknown bit 1 (maxSum) and every unknown bit 0
// (minSum). This propagates low zero bits and the bound "a, b < 2^k, so
// a + b < 2^(k+1)".
func addCarry(a, b fact, carry uint32) fact {
	maxSum := a.umax() + b.umax() + carry
	minSum := a.umin() + b.umin() + carry
	carryZero := ^(maxSum ^ a.zero ^ b.zero)
	carryOne := minSum ^ a.one ^ b.one
	known := (a.zero | a.one) & (b.zero | b.one) & (carryZero | carryOne)
	r := fact{zero: ^maxSum & known, one: minSum & known, sign: 1}
	if a.sign > 1 && b.sign > 1 {
		// Adding two values of s sign bits keeps at least s-1.
		r.sign = min(a.sign, b.sign) - 1
	}
	return r
}

// subFact: a - b = a + ^b + 1.
func subFact(a, b fact) fact {
	nb := fact{zero: b.one, one: b.zero, sign: b.sign}
	return addCarry(a, nb, 1)
}

// mulFact: the low bits of a product depend only on the operands' low
// bits; trailing zeros add up; small operands bound the product.
func mulFact(a, b fact) fact {
	tz := min(32, bits.TrailingZeros32(^a.zero)+bits.TrailingZeros32(^b.zero))
	low := min(bits.TrailingZeros32(^(a.zero | a.one)), bits.TrailingZeros32(^(b.zero | b.one)))
	p := a.one * b.one // exact in the low `low` bits, where both are known
	m := lowMask(low)
	r := fact{zero: ^p&m | lowMask(tz), one: p & m, sign: 1}
	if hi := uint64(a.umax()) * uint64(b.umax()); hi>>32 == 0 {
		r.zero |= highMask(bits.LeadingZeros32(uint32(hi)))
	}
	r.one &^= r.zero // a known zero low bit wins (one is exact there anyway)
	return r
}

// shiftFact: the amount is masked to 0..31; every amount its known bits
// allow is tried and the results meet.
func shiftFact(op ir.Op, a, n fact) fact {
	var r fact
	first := true
	for k := range 32 {
		if uint32(k)&n.zero != 0 || uint32(k)&n.one != n.one&31 {
			continue
		}
		s := shiftConstFact(op, a, k)
		if first {
			r, first = s, false
		} else {
			r = meet(r, s)
		}
	}
	return norm(r)
}

func shiftConstFact(op ir.Op, a fact, k int) fact {
	switch op {
	case ir.OpShl32:
		s := uint8(1)
		if int(a.sign) > k {
			s = a.sign - uint8(k)
		}
		return fact{zero: a.zero<<k | lowMask(k), one: a.one << k, sign: s}
	case ir.OpShrU32:
		return norm(fact{zero: a.zero>>k | highMask(k), one: a.one >> k, sign: 1})
	default: // ShrS32: the sign bit, known or not, fills the top
		return norm(fact{zero: uint32(int32(a.zero) >> k), one: uint32(int32(a.one) >> k), sign: uint8(min(32, int(a.sign)+k))})
	}
}

func selectFact(c, a, b fact) fact {
	switch {
	case c.one != 0:
		return a
	case c.zero == ^uint32(0):
		return b
	}
	return meet(a, b)
}

// signExtFact: the low w bits are kept, bit w-1 fills the rest.
func signExtFact(a fact, w int) fact {
	m := lowMask(w)
	top := uint32(1) << (w - 1)
	r := fact{zero: a.zero & m, one: a.one & m, sign: uint8(33 - w)}
	switch {
	case a.zero&top != 0:
		r.zero |= ^m
	case a.one&top != 0:
		r.one |= ^m
	}
	return norm(r)
}

// decideCompare returns the result of a comparison when the facts (or
// the operands being the same value) determine it.
func decideCompare(op ir.Op, a, b fact, same bool) (uint32, bool) {
	if ca, ok := a.constant(); ok {
		if cb, ok := b.constant(); ok {
			return fold32(op, ca, cb, 0)
		}
	}
	switch op {
	case ir.OpEq32, ir.OpNe32:
		eq := op == ir.OpEq32
		switch {
		case same:
			return b2u32(eq), true
		case a.one&b.zero != 0 || a.zero&b.one != 0: // some bit differs
			return b2u32(!eq), true
		}
	case ir.OpLtU32:
		switch {
		case same || a.umin() >= b.umax():
			return 0, true
		case a.umax() < b.umin():
			return 1, true
		}
	case ir.OpLeU32:
		switch {
		case same || a.umax() <= b.umin():
			return 1, true
		case a.umin() > b.umax():
			return 0, true
		}
	case ir.OpLtS32:
		switch {
		case same || a.smin() >= b.smax():
			return 0, true
		case a.smax() < b.smin():
			return 1, true
		}
	case ir.OpLeS32:
		switch {
		case same || a.smax() <= b.smin():
			return 1, true
		case a.smin() > b.smax():
			return 0, true
		}
	}
	return 0, false
}
