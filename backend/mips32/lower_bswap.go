package mips32

import (
	"math"

	"github.com/bpfopt/bpfopt/ir"
)

// Byte swaps. Bswap16's result is the swapped low half with the high half
// zero: on R2 wsbh (which swaps the bytes of both halves) and an andi for
// the high half. The andi goes when it changes nothing:
//
//   - the operand's high half is zero (a Load16, a value masked to 16
//     bits or less: maxValue), so wsbh leaves it zero;
//   - no use reads the high half of the result (a 16- or 8-bit store, an
//     andi mask, an extension from 16 or 8 bits, a shift left by 16 or
//     more: readsLow16).
//
// A Bswap16 without its andi is the one value whose register differs
// from its IR value (garbage above bit 15); its uses read only the low
// half and compute exact registers again. maxValue bounds IR values, and
// it is asked about the operand of a Bswap16, whose register is exact:
// a Bswap16 is no use in readsLow16.
//
// R1 builds the swap from shifts and masks and drops a mask on the same
// grounds.

func (l *lowerer) lowerBswap16(v *ir.Value) {
	x := v.Args[0]
	highZero := maxValue(x, maxValueDepth) <= 0xffff
	lowOnly := !l.fullWidthUse(v)
	rd, xr := l.def(v), l.use(x)
	if l.t.HasR2() {
		if highZero || lowOnly {
			l.emit(Inst{Op: WSBH, Rd: rd, Rt: xr})
			return
		}
		t := l.m.newVReg()
		l.emit(Inst{Op: WSBH, Rd: t, Rt: xr})
		l.emit(Inst{Op: ANDI, Rt: rd, Rs: t, Imm: 0xffff})
		return
	}
	// (x & 0xff) << 8 | (x >> 8) & 0xff
	lo8 := l.m.newVReg()
	if lowOnly {
		l.emit(Inst{Op: SLL, Rd: lo8, Rt: xr, Imm: 8})
	} else {
		lo := l.m.newVReg()
		l.emit(Inst{Op: ANDI, Rt: lo, Rs: xr, Imm: 0xff})
		l.emit(Inst{Op: SLL, Rd: lo8, Rt: lo, Imm: 8})
	}
	hi8 := l.m.newVReg()
	l.emit(Inst{Op: SRL, Rd: hi8, Rt: xr, Imm: 8})
	if !highZero {
		t := hi8
		hi8 = l.m.newVReg()
		l.emit(Inst{Op: ANDI, Rt: hi8, Rs: t, Imm: 0xff})
	}
	l.emit(Inst{Op: OR, Rd: rd, Rs: lo8, Rt: hi8})
}

// maxValueDepth bounds maxValue's walk up the operands.
const maxValueDepth = 6

// maxValue is an upper bound of v's unsigned value from the ops that
// produce it, looking depth values up.
func maxValue(v *ir.Value, depth int) uint64 {
	const all = math.MaxUint32
	if depth == 0 {
		return all
	}
	arg := func(i int) uint64 { return maxValue(v.Args[i], depth-1) }
	switch v.Op {
	case ir.OpConst32:
		return uint64(uint32(v.AuxInt))
	case ir.OpLoad8, ir.OpZeroExt8to32:
		return 0xff
	case ir.OpLoad16, ir.OpZeroExt16to32, ir.OpBswap16:
		return 0xffff
	case ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32:
		return 1
	case ir.OpAnd32:
		return min(arg(0), arg(1))
	case ir.OpOr32, ir.OpXor32:
		return fillBelow(max(arg(0), arg(1)))
	case ir.OpAdd32:
		return min(arg(0)+arg(1), all)
	case ir.OpSelect32:
		return max(arg(1), arg(2))
	case ir.OpShrU32:
		if c, ok := constOf(v.Args[1]); ok {
			return arg(0) >> (c & 31)
		}
		return arg(0)
	case ir.OpShl32:
		if c, ok := constOf(v.Args[1]); ok {
			return min(arg(0)<<(c&31), all)
		}
	}
	return all
}

// fillBelow sets every bit below the highest set bit of x.
func fillBelow(x uint64) uint64 {
	for s := 1; s < 64; s *= 2 {
		x |= x >> s
	}
	return x
}

// fullWidthUse reports whether some use of v reads bits of it above
// bit 15 (see readsLow16).
func (l *lowerer) fullWidthUse(v *ir.Value) bool {
	if l.isControl(v) {
		return true
	}
	for _, u := range l.usersOf(v) {
		for i, a := range u.Args {
			if a == v && !readsLow16(u, i) {
				return true
			}
		}
	}
	return false
}

// readsLow16 reports whether u's selection reads no more than the low
// 16 bits of its operand i.
func readsLow16(u *ir.Value, i int) bool {
	switch u.Op {
	case ir.OpStore8, ir.OpStore16:
		return i == 1
	case ir.OpZeroExt8to32, ir.OpZeroExt16to32, ir.OpSignExt8to32, ir.OpSignExt16to32:
		return true
	case ir.OpAnd32:
		c, ok := constOf(u.Args[1-i])
		return ok && c <= 0xffff
	case ir.OpShl32:
		c, ok := constOf(u.Args[1])
		return i == 0 && ok && c&31 >= 16
	}
	return false
}

// bswap32 swaps the four bytes of x: wsbh and rotr on R2.
func (l *lowerer) bswap32(rd, x Reg) {
	if l.t.HasR2() {
		t := l.m.newVReg()
		l.emit(Inst{Op: WSBH, Rd: t, Rt: x})
		l.emit(Inst{Op: ROTR, Rd: rd, Rt: t, Imm: 16})
		return
	}
	b0, b3 := l.m.newVReg(), l.m.newVReg()
	l.emit(Inst{Op: SLL, Rd: b0, Rt: x, Imm: 24}) // byte 0 to the top
	l.emit(Inst{Op: SRL, Rd: b3, Rt: x, Imm: 24}) // byte 3 to the bottom
	m1, b1 := l.m.newVReg(), l.m.newVReg()
	l.emit(Inst{Op: ANDI, Rt: m1, Rs: x, Imm: 0xff00})
	l.emit(Inst{Op: SLL, Rd: b1, Rt: m1, Imm: 8}) // byte 1 to byte 2
	s2, b2 := l.m.newVReg(), l.m.newVReg()
	l.emit(Inst{Op: SRL, Rd: s2, Rt: x, Imm: 8})
	l.emit(Inst{Op: ANDI, Rt: b2, Rs: s2, Imm: 0xff00}) // byte 2 to byte 1
	o1, o2 := l.m.newVReg(), l.m.newVReg()
	l.emit(Inst{Op: OR, Rd: o1, Rs: b0, Rt: b3})
	l.emit(Inst{Op: OR, Rd: o2, Rs: b1, Rt: b2})
	l.emit(Inst{Op: OR, Rd: rd, Rs: o1, Rt: o2})
}

// matchSwappedField: the top bits of a byte-swapped word are bits of its
// low half (ntohs(x) >> k as clang writes it for BPF: be32, then a shift
// by 16+k), one ext, or wsbh and ext, on R2 where wsbh, rotr and srl
// would take three:
//
//	ShrU32 (Bswap32 x) #c      24 <= c < 32    ext x, c-24, 32-c
//	ShrU32 (Bswap32 x) #c      16 <= c < 24    wsbh t, x; ext t, c-16, 32-c
func matchSwappedField(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if !l.t.HasR2() || v.Op != ir.OpShrU32 || !l.foldable(v.Args[0], ir.OpBswap32, v) {
		return fusion{}, nil, false
	}
	c, ok := constArg(v, 1)
	if !ok || c < 16 || c >= 32 {
		return fusion{}, nil, false
	}
	x, size := v.Args[0].Args[0], int32(32-c)
	return fusion{func(l *lowerer, v *ir.Value) {
		src, pos := l.use(x), int32(c)-24
		if c < 24 {
			t := l.m.newVReg()
			l.emit(Inst{Op: WSBH, Rd: t, Rt: src})
			src, pos = t, int32(c)-16
		}
		l.emit(Inst{Op: EXT, Rt: l.def(v), Rs: src, Imm: pos, Imm2: size})
	}}, []*ir.Value{v.Args[0]}, true
}
