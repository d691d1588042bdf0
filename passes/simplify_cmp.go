package passes

import "github.com/bpfopt/bpfopt/ir"

// simplify's rules for comparisons, including the shapes legalize64 gives
// 64-bit compares (legalize64_arith.go, compare):
//
//	Eq64/Ne64:     Eq32/Ne32(Or32(Xor32(ah, bh), Xor32(al, bl)), 0)
//	LtU64 etc.:    Or32(H(ah, bh), And32(Eq32(ah, bh), L(al, bl)))
//	               H: LtU32 or LtS32; L: LtU32 or LeU32
//
// When the high words are known equal (both 0, say), the generic rules
// already reduce these to the low compare. When each high word is a copy
// of its low word's sign (SignExt32to64 makes ah = al >>s 31), the 64-bit
// compare is the 32-bit compare of the low words, signed when H is: sign
// extension keeps both the signed and the unsigned order.

// inverse gives the compare that is 1 exactly when op is 0, with swapped
// operands for the ordered ones: !(a < b) is b <= a.
var inverse = map[ir.Op]struct {
	op   ir.Op
	swap bool
}{
	ir.OpEq32:  {ir.OpNe32, false},
	ir.OpNe32:  {ir.OpEq32, false},
	ir.OpLtU32: {ir.OpLeU32, true},
	ir.OpLeU32: {ir.OpLtU32, true},
	ir.OpLtS32: {ir.OpLeS32, true},
	ir.OpLeS32: {ir.OpLtS32, true},
}

func (s *simplifier) compare(v *ir.Value) (*ir.Value, bool) {
	x, y := v.Args[0], v.Args[1]
	if r, ok := decideCompare(v.Op, s.kb.fact(x), s.kb.fact(y), x == y); ok {
		return s.toConst(v, r)
	}
	switch v.Op {
	case ir.OpEq32, ir.OpNe32:
		return s.equality(v)
	case ir.OpLtU32:
		if c, ok := s.carryOut(x, y); ok {
			return s.toConst(v, c)
		}
		if s.umin(x) >= s.kb.fact(y).umax() { // the borrow of FramePtr - k, k <= 512
			return s.toConst(v, 0)
		}
	}
	return nil, false
}

// equality handles Eq32 and Ne32.
func (s *simplifier) equality(v *ir.Value) (*ir.Value, bool) {
	eq := v.Op == ir.OpEq32
	x, y := v.Args[0], v.Args[1]
	if _, ok := s.konst(x); ok {
		if _, ok := s.konst(y); !ok {
			x, y = y, x // the constant on the right
		}
	}
	k, ok := s.konst(y)
	if !ok {
		return nil, false
	}
	switch {
	case k == 0 && (x.Op == ir.OpXor32 || x.Op == ir.OpSub32): // (a ^ b) == 0 → a == b
		return s.reset(v, v.Op, s.res(x.Args[0]), s.res(x.Args[1]))
	case k == 0 && x.Op == ir.OpOr32:
		if a, b, ok := s.wideEquality(x); ok {
			s.stats["compares narrowed"]++
			return s.reset(v, v.Op, a, b)
		}
		// (h | l) == 0 → l == 0 when h copies l's sign: h != 0 makes l < 0.
		if l, ok := s.withSignCopy(x); ok {
			return s.reset(v, v.Op, l, y)
		}
	case k == ^uint32(0) && x.Op == ir.OpAnd32:
		// (h & l) == -1 → l == -1 when h copies l's sign: h & l is l or 0.
		if l, ok := s.withSignCopy(x); ok {
			return s.reset(v, v.Op, l, y)
		}
	}
	if !s.isBool(x) || k > 1 {
		return nil, false
	}
	// x is 0 or 1, compared with 0 or 1.
	if (k == 1) == eq { // x != 0, x == 1 → x
		return x, false
	}
	if inv, ok := inverse[x.Op]; ok { // x == 0, x != 1 → the inverse compare
		a, b := s.res(x.Args[0]), s.res(x.Args[1])
		if inv.swap {
			a, b = b, a
		}
		return s.reset(v, inv.op, a, b)
	}
	return nil, false
}

// wideEquality matches Or32(Xor32(ah, bh), Xor32(al, bl)) whose high words
// are sign copies of the low ones, and returns (al, bl): the Or is 0
// exactly when al == bl, since differing signs make al and bl differ.
func (s *simplifier) wideEquality(or *ir.Value) (*ir.Value, *ir.Value, bool) {
	p, q := s.res(or.Args[0]), s.res(or.Args[1])
	if p.Op != ir.OpXor32 || q.Op != ir.OpXor32 {
		return nil, nil, false
	}
	for _, hl := range [2][2]*ir.Value{{p, q}, {q, p}} {
		ah, bh := s.res(hl[0].Args[0]), s.res(hl[0].Args[1])
		al, bl := s.res(hl[1].Args[0]), s.res(hl[1].Args[1])
		if s.isSignCopy(ah, al) && s.isSignCopy(bh, bl) || s.isSignCopy(ah, bl) && s.isSignCopy(bh, al) {
			return al, bl, true
		}
	}
	return nil, nil, false
}

// withSignCopy matches op(h, l) and op(l, h) with h a sign copy of l and
// returns l.
func (s *simplifier) withSignCopy(v *ir.Value) (*ir.Value, bool) {
	p, q := s.res(v.Args[0]), s.res(v.Args[1])
	switch {
	case s.isSignCopy(p, q):
		return q, true
	case s.isSignCopy(q, p):
		return p, true
	}
	return nil, false
}

// narrowedCompare is the 32-bit compare of the low words that a 64-bit
// compare of sign-extended values is, by its high and low compare ops.
var narrowedCompare = map[[2]ir.Op]ir.Op{
	{ir.OpLtU32, ir.OpLtU32}: ir.OpLtU32,
	{ir.OpLtU32, ir.OpLeU32}: ir.OpLeU32,
	{ir.OpLtS32, ir.OpLtU32}: ir.OpLtS32,
	{ir.OpLtS32, ir.OpLeU32}: ir.OpLeS32,
}

// wideOrder: Or32(H(ah, bh), And32(Eq32(ah, bh), L(al, bl))) with ah, bh
// sign copies of al, bl → the narrowed compare of al, bl. Called for Or32.
func (s *simplifier) wideOrder(v *ir.Value) (*ir.Value, bool) {
	p, q := s.res(v.Args[0]), s.res(v.Args[1])
	for _, ha := range [2][2]*ir.Value{{p, q}, {q, p}} {
		h, and := ha[0], ha[1]
		if (h.Op != ir.OpLtU32 && h.Op != ir.OpLtS32) || and.Op != ir.OpAnd32 {
			continue
		}
		ah, bh := s.res(h.Args[0]), s.res(h.Args[1])
		e, l := s.res(and.Args[0]), s.res(and.Args[1])
		if e.Op != ir.OpEq32 {
			e, l = l, e
		}
		op, ok := narrowedCompare[[2]ir.Op{h.Op, l.Op}]
		if e.Op != ir.OpEq32 || !ok {
			continue
		}
		ea, eb := s.res(e.Args[0]), s.res(e.Args[1])
		if !(ea == ah && eb == bh || ea == bh && eb == ah) {
			continue
		}
		al, bl := s.res(l.Args[0]), s.res(l.Args[1])
		if s.isSignCopy(ah, al) && s.isSignCopy(bh, bl) {
			s.stats["compares narrowed"]++
			return s.reset(v, op, al, bl)
		}
	}
	return nil, false
}

// isSignCopy reports whether h is certainly al >>s 31: 32 copies of l's
// sign bit. That holds for l >>s k when l has at least 32-k sign bits, and
// for the constant 0 (or -1) when l's sign bit is known 0 (or 1).
func (s *simplifier) isSignCopy(h, l *ir.Value) bool { return s.signCopy(h, l, 2) }

// signCopy is isSignCopy looking through at most depth pairs of selects
// on one condition (legalize64's safe divisor: Select32(c, 0, bh) and
// Select32(c, 1, bl)).
func (s *simplifier) signCopy(h, l *ir.Value, depth int) bool {
	if depth > 0 && h.Op == ir.OpSelect32 && l.Op == ir.OpSelect32 && s.res(h.Args[0]) == s.res(l.Args[0]) {
		return s.signCopy(s.res(h.Args[1]), s.res(l.Args[1]), depth-1) &&
			s.signCopy(s.res(h.Args[2]), s.res(l.Args[2]), depth-1)
	}
	if h.Op == ir.OpShrS32 && s.res(h.Args[0]) == l {
		if k, ok := s.konst(s.res(h.Args[1])); ok && s.kb.SignBits(l) >= 32-int(k&31) {
			return true
		}
	}
	c, ok := s.konst(h)
	if !ok {
		return false
	}
	f := s.kb.fact(l)
	switch c {
	case 0:
		return f.zero&signBit != 0
	case ^uint32(0):
		return f.one&signBit != 0
	}
	return false
}

// carryOut decides LtU32(Add32(p, q), r), r being p or q — the carry out
// of p + q: 0 when the sum cannot wrap, 1 when it must.
func (s *simplifier) carryOut(sum, r *ir.Value) (uint32, bool) {
	if sum.Op != ir.OpAdd32 {
		return 0, false
	}
	p, q := s.res(sum.Args[0]), s.res(sum.Args[1])
	switch {
	case r != p && r != q:
		return 0, false
	case uint64(s.maybeOne(p))+uint64(s.maybeOne(q)) <= 0xffffffff:
		return 0, true
	case uint64(s.umin(p))+uint64(s.umin(q)) > 0xffffffff:
		return 1, true
	}
	return 0, false
}

// minFramePtr: FramePtr is the end of the 512-byte BPF stack (ir/op.go),
// which lies inside the address space, so it is at least 512. This decides
// the carries and borrows of stack addresses FramePtr - k (k <= 512) that
// programs pass to helpers: FramePtr + 0xfffffffc always carries.
const minFramePtr = 512

// umin is the least value v can have.
func (s *simplifier) umin(v *ir.Value) uint32 {
	m := s.kb.fact(v).umin()
	if v.Op == ir.OpFramePtr {
		m = max(m, minFramePtr)
	}
	return m
}
