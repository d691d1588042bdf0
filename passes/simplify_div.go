package passes

import "github.com/bpfopt/bpfopt/ir"

// simplify's rules for 64-bit division (legalize64_arith.go, divmod64).
// legalize64 calls libgcc with a divisor made safe (never 0, and for the
// signed ones never -1) and selects BPF's results for those cases after the
// call. When both operands are 32-bit values in disguise — zero-extended
// for the unsigned calls, sign-extended for the signed ones — the call is a
// 32-bit division:
//
//	PairLo(__udivdi3(al, 0, dl, 0)) → DivU32(al, dl)   PairHi → 0
//	PairLo(__divdi3(al, ah, dl, dh)) → DivS32(al, dl)  PairHi → lo >>s 31
//
// (and likewise % with ModU32 and ModS32), and the selects around it fold
// into the one 32-bit op, which has BPF's rules built in:
//
//	Select32(b == 0, 0, DivU32(a, b | (b == 0))) → DivU32(a, b)
//	Select32(b == 0, a, ModU32(a, b | (b == 0))) → ModU32(a, b)
//
// A call on constants is folded with the runtime's own evaluator. libgcc's
// division functions are pure, so a call left without uses is removed
// (sweepDead, simplify_rounds.go); every other call stays.

// narrowDivision maps the libgcc functions legalize64 calls (divmodRuntime)
// to the 32-bit op each computes on 32-bit operands.
var narrowDivision = map[string]ir.Op{
	divmodRuntime[ir.OpDivU64]: ir.OpDivU32,
	divmodRuntime[ir.OpModU64]: ir.OpModU32,
	divmodRuntime[ir.OpDivS64]: ir.OpDivS32,
	divmodRuntime[ir.OpModS64]: ir.OpModS32,
}

// pairOfDivision rewrites PairLo and PairHi of a narrowable division call.
// It narrows only when both halves can go, so that the call disappears.
func (s *simplifier) pairOfDivision(v *ir.Value) (*ir.Value, bool) {
	call := v.Args[0]
	op, ok := narrowDivision[call.Sym]
	if call.Op != ir.OpCallRuntime || !ok || len(call.Args) != 4 {
		return nil, false
	}
	al, ah, dl, dh := s.res(call.Args[0]), s.res(call.Args[1]), s.res(call.Args[2]), s.res(call.Args[3])
	if r, ok := s.evalDivision(call.Sym, al, ah, dl, dh); ok {
		if v.Op == ir.OpPairHi {
			r >>= 32
		}
		return s.toConst(v, uint32(r))
	}
	switch op {
	case ir.OpDivU32, ir.OpModU32:
		if !s.isConst(ah, 0) || !s.isConst(dh, 0) {
			return nil, false
		}
	default:
		if !s.isSignCopy(ah, al) || !s.isSignCopy(dh, dl) {
			return nil, false
		}
		// The remainder always fits in 32 bits; the quotient does unless it
		// is INT32_MIN / -1 (2^31), which the facts must rule out.
		if op == ir.OpDivS32 && !s.notMinusOne(dl) && !s.notIntMin(al) {
			return nil, false
		}
	}
	// The low word, computed once per call: PairLo itself if it comes
	// first, else a new value placed before PairHi.
	lo := s.narrowed[call.ID]
	if v.Op == ir.OpPairLo {
		if lo != nil {
			return lo, false
		}
		s.narrowed[call.ID] = v
		s.stats["divisions narrowed"]++
		return s.reset(v, op, al, dl)
	}
	if op == ir.OpDivU32 || op == ir.OpModU32 { // the high word of a 32-bit result
		return s.toConst(v, 0)
	}
	if lo == nil {
		lo = s.newBefore(v, op, al, dl)
		s.narrowed[call.ID] = lo
		s.stats["divisions narrowed"]++
	}
	return s.reset(v, ir.OpShrS32, lo, s.constant(31))
}

// evalDivision folds a division call on constants with the runtime
// table's own evaluator (ir/runtime.go); it declines what the runtime
// would reject, such as a zero divisor.
func (s *simplifier) evalDivision(sym string, al, ah, dl, dh *ir.Value) (uint64, bool) {
	var w [4]uint32
	for i, x := range []*ir.Value{al, ah, dl, dh} {
		c, ok := s.konst(x)
		if !ok {
			return 0, false
		}
		w[i] = c
	}
	rf, ok := ir.LookupRuntime(sym)
	if !ok || rf.Eval == nil {
		return 0, false
	}
	r, err := rf.Eval(nil, []uint64{uint64(w[1])<<32 | uint64(w[0]), uint64(w[3])<<32 | uint64(w[2])})
	return r, err == nil
}

func (s *simplifier) notMinusOne(v *ir.Value) bool { return s.kb.fact(v).zero != 0 }
func (s *simplifier) notIntMin(v *ir.Value) bool {
	f := s.kb.fact(v)
	return f.zero&signBit != 0 || f.one&^signBit != 0
}

// guardedDivision: the unsigned selects legalize64 puts around a division
// by a value made safe, once the division is 32-bit (see above).
func (s *simplifier) guardedDivision(v *ir.Value) (*ir.Value, bool) {
	c, a, q := s.res(v.Args[0]), s.res(v.Args[1]), s.res(v.Args[2])
	if q.Op != ir.OpDivU32 && q.Op != ir.OpModU32 {
		return nil, false
	}
	b, ok := s.zeroTest(c)
	if !ok {
		return nil, false
	}
	x, d := s.res(q.Args[0]), s.res(q.Args[1])
	if d.Op != ir.OpOr32 {
		return nil, false
	}
	d0, d1 := s.res(d.Args[0]), s.res(d.Args[1])
	if !(d0 == b && d1 == c || d0 == c && d1 == b) {
		return nil, false
	}
	if q.Op == ir.OpDivU32 && !s.isConst(a, 0) || q.Op == ir.OpModU32 && a != x {
		return nil, false
	}
	return s.reset(v, q.Op, x, b)
}

// zeroTest matches Eq32(b, 0) and Eq32(0, b) and returns b.
func (s *simplifier) zeroTest(c *ir.Value) (*ir.Value, bool) {
	if c.Op != ir.OpEq32 {
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
