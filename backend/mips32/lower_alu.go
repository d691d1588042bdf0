package mips32

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
)

// Arithmetic, logic, comparisons, extensions and byte swaps.

// rrOps are ops with a plain three-register MIPS form and, where MIPS has
// one, an immediate form with its immediate range.
var rrOps = map[ir.Op]struct {
	reg, imm Opcode
	signed   bool // immediate is sign-extended (else zero-extended)
}{
	ir.OpAdd32: {ADDU, ADDIU, true},
	ir.OpAnd32: {AND, ANDI, false},
	ir.OpOr32:  {OR, ORI, false},
	ir.OpXor32: {XOR, XORI, false},
}

func (l *lowerer) lowerValue(v *ir.Value) error {
	if fu, ok := l.fusions[v]; ok {
		fu.emit(l, v)
		return nil
	}
	switch v.Op {
	case ir.OpArg:
		return nil // read on entry by lower (lowerArg)
	case ir.OpFramePtr:
		l.m.usesFP = true
		l.emit(Inst{Op: ADDIU, Rt: l.def(v), Rs: SP, Reloc: relocFrameTop})
	case ir.OpSymAddr:
		t := l.m.newVReg()
		l.emit(Inst{Op: LUI, Rt: t, Sym: v.Sym, Reloc: RelocHi16})
		l.emit(Inst{Op: ADDIU, Rt: l.def(v), Rs: t, Sym: v.Sym, Reloc: RelocLo16})
	case ir.OpLocalAddr:
		l.emit(Inst{Op: ADDIU, Rt: l.def(v), Rs: SP, Imm: int32(8 * v.AuxInt), Reloc: relocLocal})
	case ir.OpCopy:
		l.moveValue(l.def(v), v.Args[0])
	case ir.OpAdd32, ir.OpAnd32, ir.OpOr32, ir.OpXor32:
		if y, ok := l.redundantMask(v); ok {
			l.moveValue(l.def(v), y)
			return nil
		}
		l.lowerRR(v)
	case ir.OpSub32:
		if c, ok := constOf(v.Args[1]); ok && fitsS16(-int64(int32(c))) {
			l.emit(Inst{Op: ADDIU, Rt: l.def(v), Rs: l.use(v.Args[0]), Imm: -int32(c)})
		} else {
			l.emit(Inst{Op: SUBU, Rd: l.def(v), Rs: l.use(v.Args[0]), Rt: l.use(v.Args[1])})
		}
	case ir.OpNeg32:
		l.emit(Inst{Op: SUBU, Rd: l.def(v), Rs: ZERO, Rt: l.use(v.Args[0])})
	case ir.OpMul32:
		l.lowerMul(v)
	case ir.OpMulHiU32:
		l.emit(Inst{Op: MULTU, Rs: l.use(v.Args[0]), Rt: l.use(v.Args[1])})
		l.emit(Inst{Op: MFHI, Rd: l.def(v)})
	case ir.OpDivU32, ir.OpModU32, ir.OpDivS32, ir.OpModS32:
		l.lowerDiv(v)
	case ir.OpShl32, ir.OpShrU32, ir.OpShrS32:
		l.lowerShift(v)
	case ir.OpSelect32:
		l.lowerSelect(v)
	case ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32:
		l.compareInto(l.def(v), v, false)
	case ir.OpZeroExt8to32:
		l.emit(Inst{Op: ANDI, Rt: l.def(v), Rs: l.use(v.Args[0]), Imm: 0xff})
	case ir.OpZeroExt16to32:
		l.emit(Inst{Op: ANDI, Rt: l.def(v), Rs: l.use(v.Args[0]), Imm: 0xffff})
	case ir.OpSignExt8to32:
		l.signExtend(l.def(v), l.use(v.Args[0]), 8)
	case ir.OpSignExt16to32:
		l.signExtend(l.def(v), l.use(v.Args[0]), 16)
	case ir.OpBswap16:
		l.lowerBswap16(v)
	case ir.OpBswap32:
		l.bswap32(l.def(v), l.use(v.Args[0]))
	case ir.OpPairLo, ir.OpPairHi:
		l.pairHalf(v)
	default:
		if v.Op.IsLoad() || v.Op.IsStore() {
			return l.lowerMem(v)
		}
		if v.Op.IsAtomic() {
			return l.lowerAtomic(v)
		}
		if v.Op == ir.OpCallRuntime || v.Op == ir.OpCall {
			return l.lowerCall(v)
		}
		return fmt.Errorf("no instruction selection for op %s (not legalized?)", v.Op)
	}
	return nil
}

// lowerSelect moves one operand into place and the other over it
// conditionally: the else value, then movn; or, when the else value is
// zero and the then value no constant, the then value, whose move the
// allocator can coalesce, then movz of $zero. (With another constant
// the movz form needs its li as the movn form does, and holds the then
// value's register longer: tcp_options spilled.)
func (l *lowerer) lowerSelect(v *ir.Value) {
	cond, then, els := v.Args[0], v.Args[1], v.Args[2]
	rd := l.def(v)
	if c, ok := constOf(els); ok && c == 0 {
		if _, ok := constOf(then); !ok {
			l.moveValue(rd, then)
			l.emit(Inst{Op: MOVZ, Rd: rd, Rs: l.use(els), Rt: l.use(cond)})
			return
		}
	}
	l.moveValue(rd, els)
	l.emit(Inst{Op: MOVN, Rd: rd, Rs: l.use(then), Rt: l.use(cond)})
}

func (l *lowerer) lowerRR(v *ir.Value) {
	ops := rrOps[v.Op]
	a, b := v.Args[0], v.Args[1]
	if _, ok := constOf(a); ok { // commutative: constant second
		a, b = b, a
	}
	if c, ok := constOf(b); ok {
		if c == identity(v.Op) {
			// Left by a pass that folds only constants (sccp): a move,
			// which the allocator coalesces.
			l.moveValue(l.def(v), a)
			return
		}
		x := int64(c)
		if ops.signed {
			x = int64(int32(c))
		}
		if (ops.signed && fitsS16(x)) || (!ops.signed && fitsU16(x)) {
			l.emit(Inst{Op: ops.imm, Rt: l.def(v), Rs: l.use(a), Imm: int32(x)})
			return
		}
	}
	l.emit(Inst{Op: ops.reg, Rd: l.def(v), Rs: l.use(a), Rt: l.use(b)})
}

// identity is the constant c with x op c = x.
func identity(op ir.Op) uint32 {
	if op == ir.OpAnd32 {
		return 0xffffffff
	}
	return 0
}

func (l *lowerer) lowerMul(v *ir.Value) {
	a, b := v.Args[0], v.Args[1]
	if _, ok := constOf(a); ok {
		a, b = b, a
	}
	if c, ok := constOf(b); ok && c != 0 && c&(c-1) == 0 {
		l.emit(Inst{Op: SLL, Rd: l.def(v), Rt: l.use(a), Imm: int32(bits.TrailingZeros32(c))})
		return
	}
	l.emit(Inst{Op: MUL, Rd: l.def(v), Rs: l.use(a), Rt: l.use(b)})
}

// lowerDiv applies BPF's rules around MIPS div/divu, whose results are
// unpredictable for a zero divisor: x / 0 = 0, x % 0 = x, and for signed
// division by -1 the quotient is -x (wrapping) and the remainder 0.
func (l *lowerer) lowerDiv(v *ir.Value) {
	a, b := l.use(v.Args[0]), l.use(v.Args[1])
	signed := v.Op == ir.OpDivS32 || v.Op == ir.OpModS32
	isMod := v.Op == ir.OpModU32 || v.Op == ir.OpModS32
	div := DIVU
	if signed {
		div = DIV
	}
	rd := l.def(v)
	l.emit(Inst{Op: div, Rs: a, Rt: b})
	if isMod {
		l.emit(Inst{Op: MFHI, Rd: rd})
	} else {
		l.emit(Inst{Op: MFLO, Rd: rd})
	}
	if signed {
		bPlus1 := l.m.newVReg()
		l.emit(Inst{Op: ADDIU, Rt: bPlus1, Rs: b, Imm: 1})
		if isMod {
			l.emit(Inst{Op: MOVZ, Rd: rd, Rs: ZERO, Rt: bPlus1})
		} else {
			neg := l.m.newVReg()
			l.emit(Inst{Op: SUBU, Rd: neg, Rs: ZERO, Rt: a})
			l.emit(Inst{Op: MOVZ, Rd: rd, Rs: neg, Rt: bPlus1})
		}
	}
	if isMod {
		l.emit(Inst{Op: MOVZ, Rd: rd, Rs: a, Rt: b})
	} else {
		l.emit(Inst{Op: MOVZ, Rd: rd, Rs: ZERO, Rt: b})
	}
}

var shiftOps = map[ir.Op][2]Opcode{
	ir.OpShl32:  {SLL, SLLV},
	ir.OpShrU32: {SRL, SRLV},
	ir.OpShrS32: {SRA, SRAV},
}

func (l *lowerer) lowerShift(v *ir.Value) {
	ops := shiftOps[v.Op]
	if c, ok := constOf(v.Args[1]); ok {
		l.emit(Inst{Op: ops[0], Rd: l.def(v), Rt: l.use(v.Args[0]), Imm: int32(c & 31)})
		return
	}
	l.emit(Inst{Op: ops[1], Rd: l.def(v), Rt: l.use(v.Args[0]), Rs: l.use(v.Args[1])})
}

// compareInto computes comparison c into rd. With allowInverted it may
// instead compute the negation and report true (a branch then tests for
// zero), saving the xori that turns slt into sge.
func (l *lowerer) compareInto(rd Reg, c *ir.Value, allowInverted bool) bool {
	return l.compareOpInto(rd, c.Op, c.Args[0], c.Args[1], allowInverted)
}

// compareOpInto is compareInto for the comparison op of a and b.
func (l *lowerer) compareOpInto(rd Reg, op ir.Op, a, b *ir.Value, allowInverted bool) bool {
	cb, bConst := constOf(b)
	switch op {
	case ir.OpEq32, ir.OpNe32:
		x := l.difference(a, b)
		if op == ir.OpEq32 {
			l.emit(Inst{Op: SLTIU, Rt: rd, Rs: x, Imm: 1})
		} else {
			l.emit(Inst{Op: SLTU, Rd: rd, Rs: ZERO, Rt: x})
		}
		return false
	case ir.OpLtU32, ir.OpLtS32:
		signed := op == ir.OpLtS32
		reg, imm := SLTU, SLTIU
		if signed {
			reg, imm = SLT, SLTI
		}
		if bConst && fitsS16(int64(int32(cb))) {
			l.emit(Inst{Op: imm, Rt: rd, Rs: l.use(a), Imm: int32(cb)})
			return false
		}
		// c < b is !(b < c+1) when c+1 does not wrap and fits.
		if ca, aConst := constOf(a); aConst && allowInverted {
			if next, ok := successorImm(ca, signed); ok {
				l.emit(Inst{Op: imm, Rt: rd, Rs: l.use(b), Imm: next})
				return true
			}
		}
		l.emit(Inst{Op: reg, Rd: rd, Rs: l.use(a), Rt: l.use(b)})
		return false
	case ir.OpLeU32, ir.OpLeS32:
		reg, imm := SLTU, SLTIU
		signed := op == ir.OpLeS32
		if signed {
			reg, imm = SLT, SLTI
		}
		// a <= c is a < c+1 when c+1 does not wrap and fits the
		// (sign-extended) immediate.
		if bConst {
			if next, ok := successorImm(cb, signed); ok {
				l.emit(Inst{Op: imm, Rt: rd, Rs: l.use(a), Imm: next})
				return false
			}
		}
		// a <= b is !(b < a).
		if ca, aConst := constOf(a); aConst && allowInverted && fitsS16(int64(int32(ca))) {
			l.emit(Inst{Op: imm, Rt: rd, Rs: l.use(b), Imm: int32(ca)})
			return true
		}
		if allowInverted {
			l.emit(Inst{Op: reg, Rd: rd, Rs: l.use(b), Rt: l.use(a)})
			return true
		}
		t := l.m.newVReg()
		l.emit(Inst{Op: reg, Rd: t, Rs: l.use(b), Rt: l.use(a)})
		l.emit(Inst{Op: XORI, Rt: rd, Rs: t, Imm: 1})
		return false
	}
	panic("compareInto: not a comparison: " + op.String())
}

// difference returns a register that is zero exactly when a == b: a
// itself against zero, else their xor or, for a constant that xori does
// not take, a minus it.
func (l *lowerer) difference(a, b *ir.Value) Reg {
	if _, ok := constOf(a); ok {
		a, b = b, a
	}
	cb, bConst := constOf(b)
	x := l.use(a)
	if bConst && cb == 0 {
		return x
	}
	t := l.m.newVReg()
	switch {
	case bConst && cb <= 0xffff:
		l.emit(Inst{Op: XORI, Rt: t, Rs: x, Imm: int32(cb)})
	case bConst && fitsS16(-int64(int32(cb))):
		l.emit(Inst{Op: ADDIU, Rt: t, Rs: x, Imm: -int32(cb)})
	default:
		l.emit(Inst{Op: XOR, Rd: t, Rs: x, Rt: l.use(b)})
	}
	return t
}

// successorImm returns c+1 as the immediate of slti (signed) or sltiu,
// when it does not wrap and fits the sign-extended 16 bits.
func successorImm(c uint32, signed bool) (int32, bool) {
	if (signed && int32(c) == math.MaxInt32) || (!signed && c == math.MaxUint32) {
		return 0, false
	}
	next := int64(int32(c + 1))
	return int32(next), fitsS16(next)
}

func (l *lowerer) signExtend(rd, x Reg, from int32) {
	if l.t.HasR2() {
		op := SEB
		if from == 16 {
			op = SEH
		}
		l.emit(Inst{Op: op, Rd: rd, Rt: x})
		return
	}
	t := l.m.newVReg()
	l.emit(Inst{Op: SLL, Rd: t, Rt: x, Imm: 32 - from})
	l.emit(Inst{Op: SRA, Rd: rd, Rt: t, Imm: 32 - from})
}

// lowerArg reads argument word n: a0..a3, then the caller's outgoing area
// just above our frame.
func (l *lowerer) lowerArg(v *ir.Value) error {
	switch n := v.AuxInt; {
	case n < 0 || n > 1024:
		return fmt.Errorf("argument word %d out of range", n)
	case n < int64(len(ArgRegs)):
		l.emit(Inst{Op: MOVE, Rd: l.def(v), Rs: ArgRegs[n]})
	default:
		l.emit(Inst{Op: LW, Rt: l.def(v), Rs: SP, Imm: int32(4 * n), Reloc: relocIncoming})
	}
	return nil
}
