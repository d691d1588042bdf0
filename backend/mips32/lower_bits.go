package mips32

import (
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
)

// Fusions: patterns of several IR values that one or two MIPS
// instructions compute: here the Release 2 bit-field instructions (ext,
// ins, rotr, seb, seh) and nor; 64-bit compares and equality conjunctions
// in lower_cmp64.go, words from byte loads in lower_combine.go, shifted
// byte swaps in lower_bswap.go. A pass before selection walks each block
// backwards and, where a consumer matches, marks the producers it folds
// as fused: they are then not selected on their own. A producer folds
// only when the consumer is its single use and it lies in the same block
// (so nothing between them can need it); the walk being backwards, a
// consumer claims its producers before they are tried as consumers.
//
// Each pattern is written in the comment above its matcher, with #c for a
// constant operand.

// fusion is a matched pattern: the instruction sequence to emit for the
// consumer, given the operands the matcher found.
type fusion struct {
	emit func(l *lowerer, v *ir.Value)
}

// markFusions runs the matchers over every block, last value first.
func (l *lowerer) markFusions() {
	l.fusions = map[*ir.Value]fusion{}
	for _, b := range l.f.Blocks {
		for i := len(b.Values) - 1; i >= 0; i-- {
			v := b.Values[i]
			if l.fused[v.ID] || v.Uses == 0 {
				continue
			}
			for _, m := range fusionMatchers {
				if fu, producers, ok := m(l, v); ok {
					l.fusions[v] = fu
					for _, p := range producers {
						l.fused[p.ID] = true
					}
					break
				}
			}
		}
	}
}

// matcher reports whether v matches a pattern, with the producers it
// folds.
type matcher func(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool)

var fusionMatchers = []matcher{matchExt, matchLowMaskR1, matchIns, matchRotr, matchSignExtPair, matchNor, matchCompare64Fusion, matchLoadCombine, matchSwappedField, matchMaskedByEquality}

// foldable reports whether v, an operand of consumer, may be folded into
// it: v is computed by op, used only by consumer, in the same block.
func (l *lowerer) foldable(v *ir.Value, op ir.Op, consumer *ir.Value) bool {
	return v.Op == op && v.Uses == 1 && v.Block == consumer.Block && !l.fused[v.ID]
}

// constArg returns v's argument i when it is a constant.
func constArg(v *ir.Value, i int) (uint32, bool) { return constOf(v.Args[i]) }

// withConst splits the operands of a commutative v into the other operand
// and the constant, when one is constant.
func withConst(v *ir.Value) (*ir.Value, uint32, bool) {
	if c, ok := constOf(v.Args[1]); ok {
		return v.Args[0], c, true
	}
	if c, ok := constOf(v.Args[0]); ok {
		return v.Args[1], c, true
	}
	return nil, 0, false
}

// lowMask reports whether m is 2^k-1 for 0 < k < 32, and k.
func lowMask(m uint32) (int32, bool) {
	if m == 0 || m&(m+1) != 0 || m == 0xffffffff {
		return 0, false
	}
	return int32(bits.OnesCount32(m)), true
}

// fieldMask reports whether m is one run of ones, 2^k-1 shifted left by
// p (k < 32), and p, k.
func fieldMask(m uint32) (p, k int32, ok bool) {
	if m == 0 {
		return 0, 0, false
	}
	p = int32(bits.TrailingZeros32(m))
	k, ok = lowMask(m >> p)
	return p, k, ok
}

func emitExt(x *ir.Value, pos, size int32) fusion {
	return fusion{func(l *lowerer, v *ir.Value) {
		l.emit(Inst{Op: EXT, Rt: l.def(v), Rs: l.use(x), Imm: pos, Imm2: size})
	}}
}

// matchExt: bit-field extracts, one ext on R2.
//
//	And32 (ShrU32 x #p) #(2^k-1)      p+k <= 32     ext x, p, k
//	And32 x #(2^k-1)                  16 < k        ext x, 0, k (andi takes k <= 16)
//	ShrU32 (And32 x #m) #p            m>>p = 2^k-1  ext x, p, k
//	ShrU32 (Shl32 x #a) #b            a <= b        ext x, b-a, 32-b
func matchExt(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if !l.t.HasR2() {
		return fusion{}, nil, false
	}
	switch v.Op {
	case ir.OpAnd32:
		x, m, ok := withConst(v)
		k, isMask := lowMask(m)
		if !ok || !isMask {
			return fusion{}, nil, false
		}
		if l.foldable(x, ir.OpShrU32, v) {
			if p, ok := constArg(x, 1); ok && p > 0 && p < 32 && int32(p)+k <= 32 {
				return emitExt(x.Args[0], int32(p), k), []*ir.Value{x}, true
			}
		}
		if k > 16 {
			return emitExt(x, 0, k), nil, true
		}
	case ir.OpShrU32:
		p, ok := constArg(v, 1)
		if !ok || p == 0 || p >= 32 {
			return fusion{}, nil, false
		}
		x := v.Args[0]
		switch {
		case l.foldable(x, ir.OpAnd32, v):
			y, m, ok := withConst(x)
			if k, isMask := lowMask(m >> p); ok && isMask && int32(p)+k <= 32 {
				return emitExt(y, int32(p), k), []*ir.Value{x}, true
			}
		case l.foldable(x, ir.OpShl32, v):
			if a, ok := constArg(x, 1); ok && a < 32 && a <= p {
				return emitExt(x.Args[0], int32(p-a), int32(32-p)), []*ir.Value{x}, true
			}
		}
	}
	return fusion{}, nil, false
}

// matchLowMaskR1: a mask of more low bits than andi takes, on R1 (R2 has
// ext): two shifts instead of lui, ori and and.
//
//	And32 x #(2^k-1)      16 < k      sll t, x, 32-k; srl t, t, 32-k
func matchLowMaskR1(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if l.t.HasR2() || v.Op != ir.OpAnd32 {
		return fusion{}, nil, false
	}
	x, m, ok := withConst(v)
	k, isMask := lowMask(m)
	if !ok || !isMask || k <= 16 {
		return fusion{}, nil, false
	}
	return fusion{func(l *lowerer, v *ir.Value) {
		t := l.m.newVReg()
		l.emit(Inst{Op: SLL, Rd: t, Rt: l.use(x), Imm: 32 - k})
		l.emit(Inst{Op: SRL, Rd: l.def(v), Rt: t, Imm: 32 - k})
	}}, nil, true
}

// matchIns: bit-field inserts, a move and an ins on R2 (the move vanishes
// when x dies here). F is the field's mask, 2^k-1 shifted left by p.
//
//	Or32 (And32 x #^F) (And32 (Shl32 y #p) #F)      ins x, y, p, k
//	Or32 (And32 x #^F) (Shl32 (And32 y #(2^k-1)) #p) ins x, y, p, k
//	Or32 (And32 x #^F) (And32 y #F)        p = 0    ins x, y, 0, k
//	Or32 (And32 x #^F) (Shl32 y #p)        p+k = 32 ins x, y, p, k
//
// in either order of the Or's operands.
func matchIns(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if !l.t.HasR2() || v.Op != ir.OpOr32 {
		return fusion{}, nil, false
	}
	for i := range 2 {
		keep, field := v.Args[i], v.Args[1-i]
		if !l.foldable(keep, ir.OpAnd32, v) {
			continue
		}
		x, notF, ok := withConst(keep)
		p, k, isField := fieldMask(^notF)
		if !ok || !isField {
			continue
		}
		y, folded, ok := l.insSource(field, v, p, k)
		if !ok {
			continue
		}
		return fusion{func(l *lowerer, v *ir.Value) {
			rd := l.def(v)
			l.moveValue(rd, x)
			l.emit(Inst{Op: INS, Rt: rd, Rs: l.use(y), Imm: p, Imm2: k})
		}}, append(folded, keep), true
	}
	return fusion{}, nil, false
}

// insSource matches the field operand of an insert into bits p..p+k-1:
// it returns the value whose low k bits go there and the producers
// folded.
func (l *lowerer) insSource(field, consumer *ir.Value, p, k int32) (*ir.Value, []*ir.Value, bool) {
	F := uint32(1<<k-1) << p
	switch {
	case l.foldable(field, ir.OpAnd32, consumer):
		inner, m, ok := withConst(field)
		if !ok || m != F {
			return nil, nil, false
		}
		if l.foldable(inner, ir.OpShl32, field) {
			if s, ok := constArg(inner, 1); ok && int32(s) == p {
				return inner.Args[0], []*ir.Value{field, inner}, true
			}
		}
		if p == 0 {
			return inner, []*ir.Value{field}, true
		}
	case l.foldable(field, ir.OpShl32, consumer):
		s, ok := constArg(field, 1)
		if !ok || int32(s) != p {
			return nil, nil, false
		}
		inner := field.Args[0]
		if l.foldable(inner, ir.OpAnd32, field) {
			if y, m, ok := withConst(inner); ok && m == uint32(1<<k-1) {
				return y, []*ir.Value{field, inner}, true
			}
		}
		if p+k == 32 {
			return inner, []*ir.Value{field}, true
		}
	}
	return nil, nil, false
}

// matchRotr: rotates, one rotr on R2.
//
//	Or32 (Shl32 x #c) (ShrU32 x #(32-c))      rotr x, 32-c
//
// in either order of the Or's operands.
func matchRotr(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if !l.t.HasR2() || v.Op != ir.OpOr32 {
		return fusion{}, nil, false
	}
	for i := range 2 {
		shl, shr := v.Args[i], v.Args[1-i]
		if !l.foldable(shl, ir.OpShl32, v) || !l.foldable(shr, ir.OpShrU32, v) || shl.Args[0] != shr.Args[0] {
			continue
		}
		c, ok1 := constArg(shl, 1)
		d, ok2 := constArg(shr, 1)
		if !ok1 || !ok2 || c == 0 || c >= 32 || c+d != 32 {
			continue
		}
		x := shl.Args[0]
		return fusion{func(l *lowerer, v *ir.Value) {
			l.emit(Inst{Op: ROTR, Rd: l.def(v), Rt: l.use(x), Imm: int32(d)})
		}}, []*ir.Value{shl, shr}, true
	}
	return fusion{}, nil, false
}

// matchSignExtPair: sign extension written as shifts, one seb or seh on
// R2.
//
//	ShrS32 (Shl32 x #24) #24      seb x
//	ShrS32 (Shl32 x #16) #16      seh x
func matchSignExtPair(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if !l.t.HasR2() || v.Op != ir.OpShrS32 || !l.foldable(v.Args[0], ir.OpShl32, v) {
		return fusion{}, nil, false
	}
	shl := v.Args[0]
	a, ok1 := constArg(shl, 1)
	b, ok2 := constArg(v, 1)
	if !ok1 || !ok2 || a != b || (a != 24 && a != 16) {
		return fusion{}, nil, false
	}
	x := shl.Args[0]
	return fusion{func(l *lowerer, v *ir.Value) {
		l.signExtend(l.def(v), l.use(x), 32-int32(a))
	}}, []*ir.Value{shl}, true
}

// matchNor: complements, one nor (every revision).
//
//	Xor32 (Or32 a b) #-1      nor a, b
//	Xor32 x #-1               nor x, zero
func matchNor(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if v.Op != ir.OpXor32 {
		return fusion{}, nil, false
	}
	x, m, ok := withConst(v)
	if !ok || m != 0xffffffff {
		return fusion{}, nil, false
	}
	if l.foldable(x, ir.OpOr32, v) {
		a, b := x.Args[0], x.Args[1]
		return fusion{func(l *lowerer, v *ir.Value) {
			l.emit(Inst{Op: NOR, Rd: l.def(v), Rs: l.use(a), Rt: l.use(b)})
		}}, []*ir.Value{x}, true
	}
	return fusion{func(l *lowerer, v *ir.Value) {
		l.emit(Inst{Op: NOR, Rd: l.def(v), Rs: l.use(x), Rt: ZERO})
	}}, nil, true
}
