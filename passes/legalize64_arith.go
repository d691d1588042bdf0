package passes

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
)

// legalize64's arithmetic rules: each takes the i64 value and returns its
// (hi, lo) halves, emitted at the value's position. MIPS has no flags, so
// carries and borrows are unsigned compares (sltu), as in Go's MIPS.rules.

// add64: lo = al + bl; carry = lo <u al; hi = ah + bh + carry.
func (l *legalizer) add64(v *ir.Value) (hi, lo *ir.Value) {
	ah, al := l.halves(v.Args[0])
	bh, bl := l.halves(v.Args[1])
	lo = l.emit(ir.OpAdd32, al, bl)
	carry := l.emit(ir.OpLtU32, lo, al)
	carry.Comment = roleOf("carry", v.ID)
	hi = l.emit(ir.OpAdd32, l.emit(ir.OpAdd32, ah, bh), carry)
	return hi, lo
}

// sub64: lo = al - bl; borrow = al <u bl; hi = ah - bh - borrow.
func (l *legalizer) sub64(v *ir.Value) (hi, lo *ir.Value) {
	ah, al := l.halves(v.Args[0])
	bh, bl := l.halves(v.Args[1])
	lo = l.emit(ir.OpSub32, al, bl)
	borrow := l.emit(ir.OpLtU32, al, bl)
	borrow.Comment = roleOf("borrow", v.ID)
	hi = l.emit(ir.OpSub32, l.emit(ir.OpSub32, ah, bh), borrow)
	return hi, lo
}

// neg64 is 0 - a: lo = -al; borrow = 0 <u al; hi = -ah - borrow.
func (l *legalizer) neg64(ah, al *ir.Value) (hi, lo *ir.Value) {
	lo = l.emit(ir.OpNeg32, al)
	borrow := l.emit(ir.OpLtU32, l.const32(0), al)
	hi = l.emit(ir.OpSub32, l.emit(ir.OpNeg32, ah), borrow)
	return hi, lo
}

// mul64: lo = al * bl; hi = mulhiu(al, bl) + al * bh + ah * bl (the
// ah * bh term only affects bits 64 and up).
func (l *legalizer) mul64(v *ir.Value) (hi, lo *ir.Value) {
	ah, al := l.halves(v.Args[0])
	bh, bl := l.halves(v.Args[1])
	lo = l.emit(ir.OpMul32, al, bl)
	cross := l.emit(ir.OpAdd32, l.emit(ir.OpMulHiU32, al, bl), l.emit(ir.OpMul32, al, bh))
	hi = l.emit(ir.OpAdd32, cross, l.emit(ir.OpMul32, ah, bl))
	return hi, lo
}

var bitwise32 = map[ir.Op]ir.Op{ir.OpAnd64: ir.OpAnd32, ir.OpOr64: ir.OpOr32, ir.OpXor64: ir.OpXor32}

// bitwise64: And64/Or64/Xor64 work on each half alone.
func (l *legalizer) bitwise64(v *ir.Value) (hi, lo *ir.Value) {
	op := bitwise32[v.Op]
	ah, al := l.halves(v.Args[0])
	bh, bl := l.halves(v.Args[1])
	return l.emit(op, ah, bh), l.emit(op, al, bl)
}

// shift64 handles Shl64, ShrU64 and ShrS64; the amount is masked to 0..63.
func (l *legalizer) shift64(v *ir.Value) (hi, lo *ir.Value) {
	ah, al := l.halves(v.Args[0])
	n := l.get32(v.Args[1])
	if n.Op == ir.OpConst32 {
		return l.shiftConst(v.Op, ah, al, int(uint32(n.AuxInt)&63))
	}
	return l.shiftVar(v.Op, ah, al, n)
}

// shiftConst: a known amount k picks the words directly.
//
//	Shl  0 < k < 32: hi = ah<<k | al>>(32-k), lo = al<<k
//	     k == 32:    hi = al,                 lo = 0
//	     k > 32:     hi = al<<(k-32),         lo = 0
//	ShrU/ShrS mirror it, with hi = ah>>31 (arithmetic) for ShrS when k >= 32.
func (l *legalizer) shiftConst(op ir.Op, ah, al *ir.Value, k int) (hi, lo *ir.Value) {
	if k == 0 {
		return ah, al
	}
	c := func(x int) *ir.Value { return l.const32(int32(x)) }
	switch op {
	case ir.OpShl64:
		switch {
		case k < 32:
			hi = l.emit(ir.OpOr32, l.emit(ir.OpShl32, ah, c(k)), l.emit(ir.OpShrU32, al, c(32-k)))
			return hi, l.emit(ir.OpShl32, al, c(k))
		case k == 32:
			return al, c(0)
		default:
			return l.emit(ir.OpShl32, al, c(k-32)), c(0)
		}
	case ir.OpShrU64, ir.OpShrS64:
		hiOp := ir.OpShrU32
		if op == ir.OpShrS64 {
			hiOp = ir.OpShrS32
		}
		var fill *ir.Value // the high word once every bit of ah has moved down
		if op == ir.OpShrS64 && k >= 32 {
			fill = l.emit(ir.OpShrS32, ah, c(31))
		} else {
			fill = c(0)
		}
		switch {
		case k < 32:
			lo = l.emit(ir.OpOr32, l.emit(ir.OpShrU32, al, c(k)), l.emit(ir.OpShl32, ah, c(32-k)))
			return l.emit(hiOp, ah, c(k)), lo
		case k == 32:
			return fill, ah
		default:
			return fill, l.emit(hiOp, ah, c(k-32))
		}
	}
	l.fail("legalize64: shiftConst of %s", op)
	return nil, nil
}

// shiftVar: an unknown amount n, branch-free. The 32-bit shifts mask their
// amount to 0..31 themselves (as MIPS sllv/srlv/srav do), so k = n & 31 is
// implicit and big = n & 32 tells which word the result comes from. The
// bits crossing between words are shifted in two steps, (al >> 1) >>
// (k ^ 31), because a single al >> (32 - k) would be a shift by 32 when
// k = 0, which the 32-bit ops take as a shift by 0.
//
//	Shl:  lo_s = al << k;  hi_s = ah << k | (al >> 1) >> (k ^ 31)
//	      hi = big ? lo_s : hi_s;  lo = big ? 0 : lo_s
//	ShrU: hi_s = ah >> k;  lo_s = al >> k | (ah << 1) << (k ^ 31)
//	      lo = big ? hi_s : lo_s;  hi = big ? 0 : hi_s
//	ShrS: as ShrU with hi_s = ah >>s k and hi = big ? ah >>s 31 : hi_s
func (l *legalizer) shiftVar(op ir.Op, ah, al, n *ir.Value) (hi, lo *ir.Value) {
	notK := l.emit(ir.OpXor32, n, l.const32(31))
	big := l.emit(ir.OpAnd32, n, l.const32(32))
	one := l.const32(1)
	switch op {
	case ir.OpShl64:
		loSmall := l.emit(ir.OpShl32, al, n)
		cross := l.emit(ir.OpShrU32, l.emit(ir.OpShrU32, al, one), notK)
		hiSmall := l.emit(ir.OpOr32, l.emit(ir.OpShl32, ah, n), cross)
		hi = l.emit(ir.OpSelect32, big, loSmall, hiSmall)
		lo = l.emit(ir.OpSelect32, big, l.const32(0), loSmall)
		return hi, lo
	case ir.OpShrU64, ir.OpShrS64:
		var hiSmall, fill *ir.Value
		if op == ir.OpShrU64 {
			hiSmall, fill = l.emit(ir.OpShrU32, ah, n), l.const32(0)
		} else {
			hiSmall, fill = l.emit(ir.OpShrS32, ah, n), l.emit(ir.OpShrS32, ah, l.const32(31))
		}
		cross := l.emit(ir.OpShl32, l.emit(ir.OpShl32, ah, one), notK)
		loSmall := l.emit(ir.OpOr32, l.emit(ir.OpShrU32, al, n), cross)
		lo = l.emit(ir.OpSelect32, big, hiSmall, loSmall)
		hi = l.emit(ir.OpSelect32, big, fill, hiSmall)
		return hi, lo
	}
	l.fail("legalize64: shiftVar of %s", op)
	return nil, nil
}

// compare rewrites a 64-bit comparison in place into i32 ops, keeping v's
// ID so its uses need no rewiring.
//
//	Eq64: ((ah ^ bh) | (al ^ bl)) == 0   (4 ops, no branch: cheaper on MIPS
//	Ne64: ((ah ^ bh) | (al ^ bl)) != 0    than two Eq32 and an And32)
//	LtU64: ah <u bh | (ah == bh & al <u bl)
//	LeU64: ah <u bh | (ah == bh & al <=u bl)
//	LtS64, LeS64: the same with a signed compare of the high words; the
//	low words are always compared unsigned.
func (l *legalizer) compare(v *ir.Value) {
	ah, al := l.halves(v.Args[0])
	bh, bl := l.halves(v.Args[1])
	switch v.Op {
	case ir.OpEq64, ir.OpNe64:
		diff := l.emit(ir.OpOr32, l.emit(ir.OpXor32, ah, bh), l.emit(ir.OpXor32, al, bl))
		op := ir.OpEq32
		if v.Op == ir.OpNe64 {
			op = ir.OpNe32
		}
		v.Reset(op, ir.I32, diff, l.const32(0))
		return
	}
	hiOp, loOp := ir.OpLtU32, ir.OpLtU32
	switch v.Op {
	case ir.OpLeU64:
		loOp = ir.OpLeU32
	case ir.OpLtS64:
		hiOp = ir.OpLtS32
	case ir.OpLeS64:
		hiOp, loOp = ir.OpLtS32, ir.OpLeU32
	}
	hiLess := l.emit(hiOp, ah, bh)
	hiEq := l.emit(ir.OpEq32, ah, bh)
	loCmp := l.emit(loOp, al, bl)
	v.Reset(ir.OpOr32, ir.I32, hiLess, l.emit(ir.OpAnd32, hiEq, loCmp))
}

// divmodRuntime names libgcc's function for each op (see ir/runtime.go).
var divmodRuntime = map[ir.Op]string{
	ir.OpDivU64: "__udivdi3", ir.OpModU64: "__umoddi3", ir.OpDivS64: "__divdi3", ir.OpModS64: "__moddi3",
}

// divmod64 calls libgcc, which must never see a zero divisor nor (signed)
// INT64_MIN / -1. The divisor passed is d = (b == 0 || signed && b == -1)
// ? 1 : b; BPF's results for those cases are then selected:
//
//	DivU: b == 0 → 0                       (the call returned a / 1)
//	ModU: b == 0 → a                       (the call returned a % 1 = 0)
//	DivS: b == 0 → 0; b == -1 → -a (wraps: INT64_MIN / -1 = INT64_MIN)
//	ModS: b == 0 → a; b == -1 → 0, which a % 1 already is
func (l *legalizer) divmod64(v *ir.Value) (hi, lo *ir.Value) {
	ah, al := l.halves(v.Args[0])
	bh, bl := l.halves(v.Args[1])
	zero := l.const32(0)
	isZero := l.emit(ir.OpEq32, l.emit(ir.OpOr32, bh, bl), zero)
	isZero.Comment = fmt.Sprintf("divisor of v%d is 0", v.ID)
	signed := v.Op == ir.OpDivS64 || v.Op == ir.OpModS64
	var dh, dl, isMinus1 *ir.Value
	if signed {
		isMinus1 = l.emit(ir.OpEq32, l.emit(ir.OpAnd32, bh, bl), l.const32(-1))
		isMinus1.Comment = fmt.Sprintf("divisor of v%d is -1", v.ID)
		special := l.emit(ir.OpOr32, isZero, isMinus1)
		dh = l.emit(ir.OpSelect32, special, zero, bh)
		dl = l.emit(ir.OpSelect32, special, l.const32(1), bl)
	} else {
		// b == 0 has bh == 0 already; only the low word becomes 1.
		dh, dl = bh, l.emit(ir.OpOr32, bl, isZero)
	}
	dl.Comment = fmt.Sprintf("safe divisor lo of v%d", v.ID)
	if dh.ID >= l.firstNew {
		dh.Comment = fmt.Sprintf("safe divisor hi of v%d", v.ID)
	}
	call := l.runtimeCall(divmodRuntime[v.Op], ir.Pair, al, ah, dl, dh)
	rh, rl := l.emit(ir.OpPairHi, call), l.emit(ir.OpPairLo, call)
	sel := func(c, a, b *ir.Value) *ir.Value { return l.emit(ir.OpSelect32, c, a, b) }
	switch v.Op {
	case ir.OpDivU64:
		return sel(isZero, zero, rh), sel(isZero, zero, rl)
	case ir.OpModU64, ir.OpModS64:
		return sel(isZero, ah, rh), sel(isZero, al, rl)
	default: // DivS64
		nh, nl := l.neg64(ah, al)
		hi = sel(isZero, zero, sel(isMinus1, nh, rh))
		lo = sel(isZero, zero, sel(isMinus1, nl, rl))
		return hi, lo
	}
}
