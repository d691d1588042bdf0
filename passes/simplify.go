package passes

import (
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
)

// simplify rewrites i32 values into cheaper equivalents, using the facts of
// the known-bits analysis (knownbits.go). Its main job is the high-word
// work legalize64 leaves behind: once a high word is known to be 0 or a
// copy of the low word's sign, the adds, carries, compares and selects on
// it fold away, and 64-bit compares shrink to one 32-bit compare.
//
// A round visits values in reverse postorder (arguments before their
// users, loop back edges aside) and applies the first rule that matches,
// again and again on the same value until none does. A rule either
//
//   - folds the value to a constant, in place (Const32, keeping its ID and
//     comment) — every value whose bits are all known, which covers the
//     constant folding of every i32 op (fold32 follows ir.Interpret);
//   - forwards it: all its uses take an existing value instead (x + 0 → x),
//     which always dominates them, being an argument or an argument's
//     argument; or
//   - rewrites it in place into another op on such values
//     (Eq32(Xor32(a, b), 0) → Eq32(a, b)).
//
// Rounds repeat while something changes, since a rewrite can let another
// rule match or sharpen the facts of later values: the first visits every
// value, those after it only what a change may affect, and the analysis
// runs again when they are done (simplify_rounds.go, which also sweeps
// the values left unused). It does not change the CFG: an If whose control
// it proves constant gets a Const32 control, and deadcode, which runs next,
// folds the branch. The rules are the functions below, one per op family,
// with the pattern in a comment; compares are in simplify_cmp.go.

// value applies rules to v until none matches; it reports a change.
func (s *simplifier) value(v *ir.Value) bool {
	changed := false
	for range 8 {
		w, rewritten := s.rewrite(v)
		if w != nil {
			s.forward(v, w)
			s.stats["values forwarded"]++
			return true
		}
		if !rewritten {
			break
		}
		changed = true
	}
	return changed
}

func (s *simplifier) res(v *ir.Value) *ir.Value {
	for v.ID < len(s.repl) && s.repl[v.ID] != nil {
		v = s.repl[v.ID]
	}
	return v
}

// resolveArgs makes v use the values its arguments were forwarded to; it
// reports a change.
func (s *simplifier) resolveArgs(v *ir.Value) bool {
	changed := false
	for i, a := range v.Args {
		if w := s.res(a); w != a {
			v.SetArg(i, w)
			s.track.newUse(w, v)
			s.track.lostUse(a)
			changed = true
		}
	}
	return changed
}

// resolveControls is resolveArgs for b's controls.
func (s *simplifier) resolveControls(b *ir.Block) bool {
	changed := false
	for i, c := range b.Controls {
		if w := s.res(c); w != c {
			c.Uses--
			w.Uses++
			b.Controls[i] = w
			s.track.newControl(w, b)
			s.track.lostUse(c)
			changed = true
		}
	}
	return changed
}

// constant returns a Const32 c defined in the entry block, which
// dominates every use; new ones are placed at the end of the round.
func (s *simplifier) constant(c uint32) *ir.Value { return s.k.get(c) }

// Facts about (resolved) values.
func (s *simplifier) konst(v *ir.Value) (uint32, bool) { return s.kb.Constant(v) }
func (s *simplifier) isConst(v *ir.Value, c uint32) bool {
	k, ok := s.kb.Constant(v)
	return ok && k == c
}
func (s *simplifier) maybeOne(v *ir.Value) uint32 { return s.kb.fact(v).maybeOne() }
func (s *simplifier) knownOne(v *ir.Value) uint32 { return s.kb.fact(v).one }

// isBool reports a value that is 0 or 1.
func (s *simplifier) isBool(v *ir.Value) bool { return s.maybeOne(v)&^1 == 0 }

// reset rewrites v in place; the rule reports it by returning (nil, true).
func (s *simplifier) reset(v *ir.Value, op ir.Op, args ...*ir.Value) (*ir.Value, bool) {
	s.track.lostUses(v.Args)
	v.Reset(op, ir.I32, args...)
	s.track.newUses(v)
	s.stats["ops rewritten"]++
	return nil, true
}

func (s *simplifier) toConst(v *ir.Value, c uint32) (*ir.Value, bool) {
	if v.Op == ir.OpPhi { // phis must stay first in their block
		return s.constant(c), false
	}
	s.track.lostUses(v.Args)
	v.Reset(ir.OpConst32, ir.I32)
	v.AuxInt = int64(int32(c))
	s.stats["values folded"]++
	return nil, true
}

// rewrite tries the rules on v once. It returns a value to forward v to,
// or whether it rewrote v in place.
func (s *simplifier) rewrite(v *ir.Value) (*ir.Value, bool) {
	if v.Type != ir.I32 || v.Op == ir.OpConst32 || v.Op.Info().SideEffect {
		return nil, false
	}
	if c, ok := foldableConstant(s.kb, v); ok { // the constant-folding rule (sccp.go)
		return s.toConst(v, c)
	}
	if w := identityOperand(s.kb, v); w != nil { // the identity rule (sccp.go): x + 0 → x, ...
		return w, false
	}
	switch v.Op {
	case ir.OpCopy:
		return v.Args[0], false
	case ir.OpPhi:
		return s.phi(v), false
	case ir.OpAdd32, ir.OpSub32, ir.OpMul32, ir.OpDivU32, ir.OpModU32, ir.OpDivS32, ir.OpModS32, ir.OpNeg32:
		return s.arith(v)
	case ir.OpAnd32, ir.OpOr32, ir.OpXor32:
		return s.bitwise(v)
	case ir.OpShl32, ir.OpShrU32, ir.OpShrS32:
		return s.shift(v)
	case ir.OpBswap16, ir.OpBswap32, ir.OpZeroExt8to32, ir.OpZeroExt16to32, ir.OpSignExt8to32, ir.OpSignExt16to32:
		return s.unary(v)
	case ir.OpSelect32:
		return s.select32(v)
	case ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32:
		return s.compare(v)
	case ir.OpInt64Hi, ir.OpInt64Lo:
		return s.half(v)
	case ir.OpPairLo, ir.OpPairHi:
		return s.pairOfDivision(v)
	}
	return nil, false
}

// phi: Phi(x, x, ..., self) → x. (A phi whose bits are all known became a
// constant above; that one may ignore edges that never run, this one may
// not: x must dominate the phi.)
func (s *simplifier) phi(v *ir.Value) *ir.Value {
	var x *ir.Value
	for _, a := range v.Args {
		a = s.res(a)
		if a == v || a == x {
			continue
		}
		if x != nil {
			return nil
		}
		x = a
	}
	return x
}

// commuted returns (x, c, true) when one operand of the commutative v is
// the constant c and the other is x.
func (s *simplifier) commuted(v *ir.Value) (*ir.Value, uint32, bool) {
	x, y := v.Args[0], v.Args[1]
	if c, ok := s.konst(y); ok {
		return x, c, true
	}
	if c, ok := s.konst(x); ok {
		return y, c, true
	}
	return nil, 0, false
}

// reassociate: (z op c1) op c2 → z op (c1 op c2) for the associative and
// commutative ops. The inner value may stay for other users; v costs the
// same either way.
func (s *simplifier) reassociate(v *ir.Value) (*ir.Value, bool) {
	x, c2, ok := s.commuted(v)
	if !ok || x.Op != v.Op {
		return nil, false
	}
	z, c1, ok := s.commuted(x)
	if !ok {
		return nil, false
	}
	c, _ := fold32(v.Op, c1, c2, 0)
	return s.reset(v, v.Op, s.res(z), s.constant(c))
}

func (s *simplifier) arith(v *ir.Value) (*ir.Value, bool) {
	x := v.Args[0]
	if v.Op == ir.OpNeg32 {
		switch x.Op {
		case ir.OpNeg32: // -(-z) → z
			return s.res(x.Args[0]), false
		case ir.OpSub32: // -(a - b) → b - a
			return s.reset(v, ir.OpSub32, s.res(x.Args[1]), s.res(x.Args[0]))
		}
		return nil, false
	}
	y := v.Args[1]
	c, yConst := s.konst(y)
	switch v.Op {
	case ir.OpAdd32:
		for i, a := range v.Args { // (p - q) + q → p
			if a.Op == ir.OpSub32 && s.res(a.Args[1]) == v.Args[1-i] {
				return s.res(a.Args[0]), false
			}
		}
		return s.reassociate(v)
	case ir.OpSub32:
		switch {
		case x == y: // x - x → 0
			return s.toConst(v, 0)
		case s.isConst(x, 0): // 0 - y → -y
			return s.reset(v, ir.OpNeg32, y)
		case x.Op == ir.OpAdd32 && s.res(x.Args[1]) == y: // (p + q) - q → p
			return s.res(x.Args[0]), false
		case x.Op == ir.OpAdd32 && s.res(x.Args[0]) == y: // (p + q) - p → q
			return s.res(x.Args[1]), false
		}
	case ir.OpMul32:
		if z, k, ok := s.commuted(v); ok && k == ^uint32(0) { // x * -1 → -x
			return s.reset(v, ir.OpNeg32, z)
		}
		return s.reassociate(v)
	case ir.OpDivU32, ir.OpDivS32:
		switch {
		case yConst && c == ^uint32(0) && v.Op == ir.OpDivS32: // x /s -1 → -x (BPF: MIN / -1 = MIN)
			return s.reset(v, ir.OpNeg32, x)
		case yConst && v.Op == ir.OpDivU32 && c&(c-1) == 0 && c != 0: // x / 2^k → x >> k
			return s.reset(v, ir.OpShrU32, x, s.constant(uint32(bits.TrailingZeros32(c))))
		}
	case ir.OpModU32, ir.OpModS32:
		switch {
		case yConst && v.Op == ir.OpModU32 && c&(c-1) == 0 && c != 0: // x % 2^k → x & (2^k - 1)
			return s.reset(v, ir.OpAnd32, x, s.constant(c-1))
		}
	}
	return nil, false
}

func (s *simplifier) bitwise(v *ir.Value) (*ir.Value, bool) {
	x, y := v.Args[0], v.Args[1]
	switch v.Op {
	case ir.OpAnd32:
		// (a | b) & m → a & m when b has no bit m keeps (and the same for ^):
		// the low word of a 64-bit shift, masked.
		for i := range 2 {
			x, m := v.Args[i], v.Args[1-i]
			if x.Op != ir.OpOr32 && x.Op != ir.OpXor32 {
				continue
			}
			a, b := s.res(x.Args[0]), s.res(x.Args[1])
			switch {
			case s.maybeOne(b)&s.maybeOne(m) == 0:
				return s.reset(v, ir.OpAnd32, a, m)
			case s.maybeOne(a)&s.maybeOne(m) == 0:
				return s.reset(v, ir.OpAnd32, b, m)
			}
		}
	case ir.OpOr32:
		if w, ok := s.wideOrder(v); ok {
			return w, ok
		}
	case ir.OpXor32:
		if x == y { // x ^ x → 0
			return s.toConst(v, 0)
		}
	}
	return s.reassociate(v)
}

func (s *simplifier) shift(v *ir.Value) (*ir.Value, bool) {
	x, n := v.Args[0], v.Args[1]
	// (z << k1) << k2 → z << (k1 + k2), and the same for >>u and >>s.
	k2, ok := s.konst(n)
	if !ok || x.Op != v.Op {
		return nil, false
	}
	k1, ok := s.konst(s.res(x.Args[1]))
	if !ok {
		return nil, false
	}
	k := k1&31 + k2&31
	if k >= 32 {
		if v.Op != ir.OpShrS32 {
			return s.toConst(v, 0)
		}
		k = 31
	}
	return s.reset(v, v.Op, s.res(x.Args[0]), s.constant(k))
}

func (s *simplifier) unary(v *ir.Value) (*ir.Value, bool) {
	x := v.Args[0]
	switch v.Op {
	case ir.OpBswap32:
		if x.Op == ir.OpBswap32 { // bswap(bswap(z)) → z
			return s.res(x.Args[0]), false
		}
	case ir.OpBswap16:
		if x.Op == ir.OpBswap16 { // bswap16(bswap16(z)) → z & 0xffff
			return s.reset(v, ir.OpZeroExt16to32, s.res(x.Args[0]))
		}
	case ir.OpZeroExt8to32:
		if s.maybeOne(x)&^0xff == 0 { // already zero-extended
			return x, false
		}
	case ir.OpZeroExt16to32:
		if s.maybeOne(x)&^0xffff == 0 {
			return x, false
		}
	case ir.OpSignExt8to32:
		if s.kb.SignBits(x) >= 25 { // already sign-extended
			return x, false
		}
	case ir.OpSignExt16to32:
		if s.kb.SignBits(x) >= 17 {
			return x, false
		}
	}
	return nil, false
}

func (s *simplifier) select32(v *ir.Value) (*ir.Value, bool) {
	c, a, b := v.Args[0], v.Args[1], v.Args[2]
	switch {
	case s.knownOne(c) != 0: // Select32(non-zero, a, b) → a
		return a, false
	case s.isConst(c, 0): // Select32(0, a, b) → b
		return b, false
	case a == b: // Select32(c, a, a) → a
		return a, false
	case s.isBool(c) && s.isConst(a, 1) && s.isConst(b, 0): // Select32(c, 1, 0) → c for c in {0, 1}
		return c, false
	}
	if z, ok := s.nonZeroTest(c); ok { // Select32(z != 0, a, b) → Select32(z, a, b)
		return s.reset(v, ir.OpSelect32, z, a, b)
	}
	return s.guardedDivision(v)
}

// half: Int64Hi/Lo of a pair whose words are at hand.
func (s *simplifier) half(v *ir.Value) (*ir.Value, bool) {
	x := v.Args[0]
	hi := v.Op == ir.OpInt64Hi
	switch x.Op {
	case ir.OpInt64Make: // Int64Hi(Int64Make(h, l)) → h, Int64Lo → l
		if hi {
			return s.res(x.Args[0]), false
		}
		return s.res(x.Args[1]), false
	case ir.OpZeroExt32to64, ir.OpSignExt32to64:
		w := s.res(x.Args[0])
		switch {
		case !hi: // Int64Lo(ext(w)) → w
			return w, false
		case x.Op == ir.OpSignExt32to64: // Int64Hi(SignExt32to64(w)) → w >>s 31
			return s.reset(v, ir.OpShrS32, w, s.constant(31))
		}
		// Int64Hi(ZeroExt32to64(w)) is 0: folded as a constant.
	}
	return nil, false
}

// control simplifies an If's control: a value known to be non-zero
// becomes the constant 1, one known to be zero the constant 0 (deadcode
// folds the branch), and z != 0 becomes z, since If tests for non-zero
// itself.
func (s *simplifier) control(b *ir.Block) bool {
	if b.Kind != ir.BlockIf || len(b.Controls) != 1 {
		return false
	}
	c := b.Controls[0]
	if c.Op == ir.OpConst32 {
		return false
	}
	if k := decidedSuccessor(s.kb, b); k >= 0 { // the branch rule (sccp.go)
		b.SetControls(s.constant(uint32(1 - k)))
		s.track.lostUse(c)
		s.stats["branches decided"]++
		return true
	}
	if z, ok := s.nonZeroTest(c); ok {
		b.SetControls(z)
		s.track.lostUse(c)
		s.track.newControl(z, b)
		s.stats["ops rewritten"]++
		return true
	}
	return false
}

// nonZeroTest matches Ne32(z, 0) and Ne32(0, z).
func (s *simplifier) nonZeroTest(c *ir.Value) (*ir.Value, bool) {
	if c.Op != ir.OpNe32 {
		return nil, false
	}
	x, y := s.res(c.Args[0]), s.res(c.Args[1])
	switch {
	case s.isConst(y, 0):
		return x, true
	case s.isConst(x, 0):
		return y, true
	}
	return nil, false
}
