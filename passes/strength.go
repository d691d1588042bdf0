package passes

import (
	"math/big"
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
)

// strength replaces multiplications and divisions by constants with
// cheaper operations. On the MIPS 24K a mul's result is ready 4 cycles
// after issue and a div's 35 (backend/mips32/sim models both), against one
// cycle for a shift or an add.
//
//   - x * c becomes shifts and adds when that takes at most two ALU ops
//     (c = ±2^k, 2^a ± 1, 1 - 2^a), or three when c itself would take two
//     instructions to load (2^b·(2^a ± 1), -(2^a + 1));
//     MulHiU32(x, 2^k) becomes x >> (32 - k) (legalize64's 64-bit
//     multiply by a power of two makes it).
//   - Unsigned x / d and x % d for a constant d that is not a power of two
//     (simplify does those) become a multiply-high by a "magic" number:
//     Granlund and Montgomery, "Division by Invariant Integers using
//     Multiplication" (PLDI 1994), as in Hacker's Delight (2nd ed.) 10-8
//     to 10-10. For dividends below 2^n (n from known bits: a byte load
//     has n = 8) and the smallest p >= 32 with m = ceil(2^p / d) and
//     m·d - 2^p <= 2^(p-n), floor(x·m / 2^p) = floor(x / d):
//     x·m/2^p = x/d + x·e/(d·2^p) with e = m·d - 2^p, and the error term
//     is below 1/d, too little to reach the next multiple of 1/d.
//     If m < 2^32: q = MulHiU32(x, m) >> (p-32). If not and d is even,
//     x >> z divided by d >> z may find one (z = trailing zeros of d).
//     Otherwise m = 2^32 + m' and q = (t + ((x - t) >> 1)) >> (p-33) with
//     t = MulHiU32(x, m'), which computes (x + t) >> (p-32) without the
//     33-bit overflow of x + t. A dividend below 2d needs no multiply at
//     all: q = x >= d, and x % d = x - (-q & d). Otherwise the remainder
//     is x - q·d, its multiply reduced by the first rule when cheap.
//   - Signed x / d and x % d (cpu v4's sdiv, smod) for d not 0 or ±1:
//     by ±2^k, q = (x + (x >>s 31 >>u (32-k))) >>s k (negated for d < 0),
//     which rounds toward zero; otherwise Hacker's Delight 10-1's magic
//     (M, s): q = mulhs(x, M) (+ x if d > 0 and M < 0, - x if d < 0 and
//     M > 0) >>s s, plus 1 if negative. The IR has no signed multiply-high;
//     mulhs(x, M) = MulHiU32(x, M) - (x >>s 31 & M) - (M < 0 ? x : 0), and
//     the correction terms for x cancel or merge: q0 = MulHiU32(x, M) -
//     (x >>s 31 & M) - (d < 0 ? x : 0). A dividend known non-negative
//     takes the unsigned path. x % d = x - q·d, with |d| for d < 0 (the
//     remainder takes the dividend's sign either way).
//
// BPF's x / 0 = 0 and x % 0 = x, and INT_MIN / -1, never arise: the
// divisor is a constant other than 0 and ±1. A 64-bit division left as a
// libgcc call (its dividend's high word not known to be zero) stays.

func strengthPass(f *ir.Func, _ *Config) (Stats, error) {
	s := &strength{kb: KnownBits(f), k: newEntryConstants(f, true), stats: Stats{}}
	for _, b := range f.Blocks {
		for i := 0; i < len(b.Values); i++ {
			v := b.Values[i]
			s.e = emitter{b: b, at: i}
			s.value(v)
			i = s.e.at // past the values inserted before v
		}
	}
	s.k.place()
	deleteZeros(s.stats)
	return s.stats, nil
}

type strength struct {
	kb    *Bits
	k     *entryConstants
	e     emitter
	stats Stats
}

// emitter inserts new values before the one being rewritten.
type emitter struct {
	b  *ir.Block
	at int // index of the value being rewritten
}

func (e *emitter) emit(op ir.Op, args ...*ir.Value) *ir.Value {
	v := e.b.NewValueAt(e.at, op, ir.I32, args...)
	e.at++
	return v
}

func (s *strength) c(x uint32) *ir.Value { return s.k.get(x) }

// value rewrites v in place if a rule applies.
func (s *strength) value(v *ir.Value) {
	if v.Type != ir.I32 || len(v.Args) != 2 {
		return
	}
	x, y := v.Args[0], v.Args[1]
	d, ok := s.kb.Constant(y)
	if !ok && (v.Op == ir.OpMul32 || v.Op == ir.OpMulHiU32) {
		x, y = y, x
		d, ok = s.kb.Constant(y)
	}
	if !ok {
		return
	}
	switch v.Op {
	case ir.OpMul32:
		if s.mulByConst(v, x, d) {
			s.stats["multiplies reduced"]++
		}
	case ir.OpMulHiU32:
		if d&(d-1) == 0 && d != 0 {
			k := bits.TrailingZeros32(d)
			if k == 0 {
				s.become(v, s.c(0)) // MulHiU32(x, 1) = 0
			} else {
				s.reset(v, ir.OpShrU32, x, s.c(uint32(32-k)))
			}
			s.stats["multiplies reduced"]++
		}
	case ir.OpDivU32, ir.OpModU32:
		if d == 0 || d&(d-1) == 0 { // simplify's: x / 2^k → x >> k, x % 2^k → x & (2^k - 1)
			return
		}
		q := s.divU(x, d)
		s.finishDivision(v, x, q, d, ir.OpModU32)
	case ir.OpDivS32, ir.OpModS32:
		sd := int32(d)
		if sd == 0 || sd == 1 || sd == -1 { // simplify's
			return
		}
		if sd > 0 && s.kb.fact(x).zero&signBit != 0 { // x >= 0: the unsigned division
			if d&(d-1) == 0 {
				k := uint32(bits.TrailingZeros32(d))
				if v.Op == ir.OpDivS32 {
					s.reset(v, ir.OpShrU32, x, s.c(k))
				} else {
					s.reset(v, ir.OpAnd32, x, s.c(d-1))
				}
				s.stats["divisions reduced"]++
				return
			}
			s.finishDivision(v, x, s.divU(x, d), d, ir.OpModS32)
			return
		}
		if v.Op == ir.OpModS32 && sd < 0 && sd != -1<<31 {
			sd = -sd // x % d = x % -d: the remainder has the dividend's sign
		}
		s.finishDivision(v, x, s.divS(x, sd), uint32(sd), ir.OpModS32)
	}
}

// finishDivision makes v, a division or remainder of x by d with quotient
// q, into q or x - q·d.
func (s *strength) finishDivision(v, x, q *ir.Value, d uint32, mod ir.Op) {
	s.stats["divisions reduced"]++
	if v.Op != mod {
		s.become(v, q)
		return
	}
	var qd *ir.Value
	switch {
	case q.Op == ir.OpConst32: // x < d
		qd = q
	case q.Op == ir.OpLeU32: // q is 0 or 1: q·d = -q & d, no multiply
		qd = s.e.emit(ir.OpAnd32, s.e.emit(ir.OpNeg32, q), s.c(d))
	default:
		qd = s.mulValue(q, d)
	}
	s.reset(v, ir.OpSub32, x, qd)
}

func (s *strength) reset(v *ir.Value, op ir.Op, args ...*ir.Value) {
	v.Reset(op, ir.I32, args...)
}

// become makes v compute what q does, in place (v keeps its uses): a
// constant, or the op q was emitted with just before v, which then goes.
func (s *strength) become(v, q *ir.Value) {
	switch {
	case q.Op == ir.OpConst32:
		s.reset(v, ir.OpConst32)
		v.AuxInt = q.AuxInt
	case s.e.at > 0 && s.e.b.Values[s.e.at-1] == q && q.Uses == 0:
		s.reset(v, q.Op, q.Args...)
		q.ResetArgs()
		s.e.at--
		s.e.b.Values = append(s.e.b.Values[:s.e.at], s.e.b.Values[s.e.at+1:]...)
	default:
		s.reset(v, ir.OpCopy, q)
	}
}

// mulByConst rewrites v = x * c into shifts and adds when cheaper.
func (s *strength) mulByConst(v, x *ir.Value, c uint32) bool {
	plan, ok := cheapMulPlan(c)
	if ok {
		op, args := s.mulOps(x, plan)
		s.reset(v, op, args...)
	}
	return ok
}

// mulValue emits x * c, as shifts and adds when cheaper.
func (s *strength) mulValue(x *ir.Value, c uint32) *ir.Value {
	if plan, ok := cheapMulPlan(c); ok {
		op, args := s.mulOps(x, plan)
		return s.e.emit(op, args...)
	}
	return s.e.emit(ir.OpMul32, x, s.c(c))
}

// cheapMulPlan is c's mulStep if it beats a mul: at most two ALU ops, or
// three when c would take two instructions to load.
func cheapMulPlan(c uint32) (mulStep, bool) {
	plan, ok := mulPlan(c)
	return plan, ok && (plan.ops <= 2 || plan.ops == 3 && !fitsImm16(c))
}

// mulOps emits all but the last op of x * c by plan and returns that one.
func (s *strength) mulOps(x *ir.Value, plan mulStep) (ir.Op, []*ir.Value) {
	var op ir.Op // the pending op (not emitted yet) and its arguments
	var args []*ir.Value
	then := func(next ir.Op, mk func(y *ir.Value) []*ir.Value) {
		y := x
		if op != 0 {
			y = s.e.emit(op, args...)
		}
		op, args = next, mk(y)
	}
	shl := func(y *ir.Value) *ir.Value { return s.e.emit(ir.OpShl32, y, s.c(uint32(plan.a))) }
	switch plan.kind {
	case mulAdd: // (x << a) + x
		then(ir.OpAdd32, func(y *ir.Value) []*ir.Value { return []*ir.Value{shl(y), y} })
	case mulSub: // (x << a) - x
		then(ir.OpSub32, func(y *ir.Value) []*ir.Value { return []*ir.Value{shl(y), y} })
	case mulRSub: // x - (x << a)
		then(ir.OpSub32, func(y *ir.Value) []*ir.Value { return []*ir.Value{y, shl(y)} })
	}
	if plan.post > 0 {
		then(ir.OpShl32, func(y *ir.Value) []*ir.Value { return []*ir.Value{y, s.c(uint32(plan.post))} })
	}
	if plan.neg {
		then(ir.OpNeg32, func(y *ir.Value) []*ir.Value { return []*ir.Value{y} })
	}
	return op, args
}

type mulKind uint8

const (
	mulShift mulKind = iota // x
	mulAdd                  // (x << a) + x
	mulSub                  // (x << a) - x
	mulRSub                 // x - (x << a)
)

// mulStep is x * c as (kind's value) << post, negated if neg; ops counts
// the ALU ops.
type mulStep struct {
	kind mulKind
	a    int
	post int
	neg  bool
	ops  int
}

// mulPlan finds the cheapest mulStep for c, if any (none for 0 and 1,
// which simplify folds).
func mulPlan(c uint32) (mulStep, bool) {
	if c <= 1 {
		return mulStep{}, false
	}
	best, found := mulStep{}, false
	try := func(kind mulKind, a, post int, neg bool) {
		if kind != mulShift && (a < 1 || a > 31) {
			return
		}
		p := mulStep{kind: kind, a: a, post: post, neg: neg}
		if kind != mulShift {
			p.ops = 2
		}
		if post > 0 {
			p.ops++
		}
		if neg {
			p.ops++
		}
		if !found || p.ops < best.ops {
			best, found = p, true
		}
	}
	for _, neg := range []bool{false, true} {
		m := c
		if neg {
			m = -c
		}
		post := bits.TrailingZeros32(m)
		o := m >> post // odd: m = o << post
		switch {
		case o == 1:
			try(mulShift, 0, post, neg)
		case (o-1)&(o-2) == 0: // o = 2^a + 1
			try(mulAdd, bits.TrailingZeros32(o-1), post, neg)
		case (o+1)&o == 0: // o = 2^a - 1
			try(mulSub, bits.TrailingZeros32(o+1), post, neg)
		}
		if u := 1 - o; u&(u-1) == 0 { // o = 1 - 2^a (mod 2^32)
			try(mulRSub, bits.TrailingZeros32(u), post, neg)
		}
	}
	return best, found
}

// fitsImm16 reports whether one MIPS instruction loads c (addiu's signed
// or ori's unsigned immediate, or lui's upper half).
func fitsImm16(c uint32) bool {
	return int32(c) >= -1<<15 && int32(c) < 1<<15 || c <= 0xffff || c&0xffff == 0
}

// divU emits floor(x / d) for a constant d that is not a power of two.
func (s *strength) divU(x *ir.Value, d uint32) *ir.Value {
	umax := s.kb.fact(x).umax()
	if umax < d {
		return s.c(0)
	}
	if uint64(umax) < 2*uint64(d) { // the quotient is 0 or 1
		return s.e.emit(ir.OpLeU32, s.c(d), x)
	}
	n := bits.Len32(umax)
	if m, p, ok := unsignedMagic(d, n); ok && m < 1<<32 {
		return s.shrU(s.e.emit(ir.OpMulHiU32, x, s.c(uint32(m))), p-32)
	}
	if z := bits.TrailingZeros32(d); z > 0 {
		if m, p, ok := unsignedMagic(d>>z, bits.Len32(umax>>z)); ok && m < 1<<32 {
			xz := s.shrU(x, z)
			return s.shrU(s.e.emit(ir.OpMulHiU32, xz, s.c(uint32(m))), p-32)
		}
	}
	m, p, _ := unsignedMagic(d, n) // m in [2^32, 2^33), p >= 33
	t := s.e.emit(ir.OpMulHiU32, x, s.c(uint32(m)))
	half := s.shrU(s.e.emit(ir.OpSub32, x, t), 1)
	return s.shrU(s.e.emit(ir.OpAdd32, half, t), p-33)
}

func (s *strength) shrU(x *ir.Value, k int) *ir.Value {
	if k == 0 {
		return x
	}
	return s.e.emit(ir.OpShrU32, x, s.c(uint32(k)))
}

func (s *strength) shrS(x *ir.Value, k int) *ir.Value {
	if k == 0 {
		return x
	}
	return s.e.emit(ir.OpShrS32, x, s.c(uint32(k)))
}

// unsignedMagic finds the smallest p in [32, 32+n] for which m = ceil(2^p
// / d) satisfies m·d - 2^p <= 2^(p-n), so that floor(x·m / 2^p) = floor(x
// / d) for every x < 2^n; ok is false if m would not fit in 33 bits.
func unsignedMagic(d uint32, n int) (m uint64, p int, ok bool) {
	bd := new(big.Int).SetUint64(uint64(d))
	for p = 32; p <= 32+n; p++ {
		pow := new(big.Int).Lsh(big.NewInt(1), uint(p))
		bm := new(big.Int).Add(pow, new(big.Int).Sub(bd, big.NewInt(1)))
		bm.Quo(bm, bd) // ceil(2^p / d)
		e := new(big.Int).Sub(new(big.Int).Mul(bm, bd), pow)
		if e.Cmp(new(big.Int).Lsh(big.NewInt(1), uint(p-n))) <= 0 {
			if bm.BitLen() > 33 {
				return 0, 0, false
			}
			return bm.Uint64(), p, true
		}
	}
	return 0, 0, false
}

// divS emits the signed quotient of x by d, truncated toward zero; d is
// not 0 or ±1.
func (s *strength) divS(x *ir.Value, d int32) *ir.Value {
	ad := uint32(d)
	if d < 0 {
		ad = -ad
	}
	if ad&(ad-1) == 0 { // ±2^k: add 2^k - 1 to negative dividends, then shift
		k := bits.TrailingZeros32(ad)
		var bias *ir.Value
		if k == 1 {
			bias = s.shrU(x, 31)
		} else {
			bias = s.shrU(s.shrS(x, 31), 32-k)
		}
		q := s.shrS(s.e.emit(ir.OpAdd32, x, bias), k)
		if d < 0 {
			q = s.e.emit(ir.OpNeg32, q)
		}
		return q
	}
	mm, sh := signedMagic(d)
	// q0 = mulhs(x, M) + (d > 0 && M < 0 ? x : 0) - (d < 0 && M > 0 ? x : 0)
	//    = MulHiU32(x, M) - (x >>s 31 & M) - (d < 0 ? x : 0)   (see above)
	hi := s.e.emit(ir.OpMulHiU32, x, s.c(uint32(mm)))
	q := s.e.emit(ir.OpSub32, hi, s.e.emit(ir.OpAnd32, s.shrS(x, 31), s.c(uint32(mm))))
	if d < 0 {
		q = s.e.emit(ir.OpSub32, q, x)
	}
	q = s.shrS(q, sh)
	return s.e.emit(ir.OpAdd32, q, s.shrU(q, 31))
}

// signedMagic is Hacker's Delight's magic(d) (figure 10-1): the
// multiplier M and shift s for signed division by d, 2 <= |d| < 2^31.
func signedMagic(d int32) (int32, int) {
	const two31 = uint32(1) << 31
	ad := uint32(d)
	if d < 0 {
		ad = -ad
	}
	t := two31 + uint32(d)>>31
	anc := t - 1 - t%ad // |nc|
	p := 31
	q1, r1 := two31/anc, two31-two31/anc*anc // 2^p / |nc|
	q2, r2 := two31/ad, two31-two31/ad*ad    // 2^p / |d|
	for {
		p++
		q1, r1 = 2*q1, 2*r1
		if r1 >= anc {
			q1, r1 = q1+1, r1-anc
		}
		q2, r2 = 2*q2, 2*r2
		if r2 >= ad {
			q2, r2 = q2+1, r2-ad
		}
		delta := ad - r2
		if !(q1 < delta || q1 == delta && r1 == 0) {
			break
		}
	}
	m := int32(q2 + 1)
	if d < 0 {
		m = -m
	}
	return m, p - 32
}
