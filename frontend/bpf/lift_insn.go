package bpf

import (
	"github.com/bpfopt/bpfopt/ir"
)

// Value helpers. They fold the obvious at construction so that a lifted
// function is already readable: lo(ZeroExt32to64 x) is x, and so on.

func (l *lifter) v(op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	return l.cur.NewValue(op, t, args...)
}

func (l *lifter) const64(c int64) *ir.Value {
	v := l.v(ir.OpConst64, ir.I64)
	v.AuxInt = c
	return v
}

func (l *lifter) const32(c int32) *ir.Value {
	v := l.v(ir.OpConst32, ir.I32)
	v.AuxInt = int64(c)
	return v
}

func (l *lifter) zext(x *ir.Value) *ir.Value { return l.v(ir.OpZeroExt32to64, ir.I64, x) }
func (l *lifter) sext(x *ir.Value) *ir.Value { return l.v(ir.OpSignExt32to64, ir.I64, x) }

// lo is the low word of a 64-bit value.
func (l *lifter) lo(x *ir.Value) *ir.Value {
	switch x.Op {
	case ir.OpZeroExt32to64, ir.OpSignExt32to64:
		return x.Args[0]
	case ir.OpInt64Make:
		return x.Args[1]
	case ir.OpConst64:
		return l.const32(int32(x.AuxInt))
	}
	return l.v(ir.OpInt64Lo, ir.I32, x)
}

func (l *lifter) reg(r uint8) *ir.Value      { return l.b.Read(int(r), l.cur) }
func (l *lifter) set(r uint8, v *ir.Value)   { l.b.Write(int(r), l.cur, v) }
func (l *lifter) reg32(r uint8) *ir.Value    { return l.lo(l.reg(r)) }
func (l *lifter) set32(r uint8, v *ir.Value) { l.set(r, l.zext(v)) }
func (l *lifter) imm64(in Insn) *ir.Value    { return l.const64(int64(in.Imm)) }
func (l *lifter) imm32(in Insn) *ir.Value    { return l.const32(in.Imm) }
func (l *lifter) isALU64(in Insn) bool       { return in.Class() == ClassALU64 }
func (l *lifter) src64(in Insn) *ir.Value {
	if in.Source() == SrcX {
		return l.reg(in.Src)
	}
	return l.imm64(in)
}
func (l *lifter) src32(in Insn) *ir.Value {
	if in.Source() == SrcX {
		return l.reg32(in.Src)
	}
	return l.imm32(in)
}

// address returns the i32 base address of a memory access through register
// r and the alignment proven for base+off: r10 is 8-byte aligned and an
// Arg (the entry's ctx, a subprogram's parameter) as aligned as its align=
// says, so accesses through them at aligned offsets are aligned. (At -O0
// this is the only proof; the align pass finds the others.)
func (l *lifter) address(r uint8, off int16) (*ir.Value, uint8) {
	base := l.reg32(r)
	var align uint8
	switch {
	case base == l.fp:
		align = 8
	case base.Op == ir.OpArg:
		align = base.Align
	}
	if align <= 1 {
		return base, 0
	}
	for align > 1 && int(off)%int(align) != 0 {
		align >>= 1
	}
	return base, align
}

func (l *lifter) mem(op ir.Op, t ir.Type, in Insn, base uint8, args ...*ir.Value) *ir.Value {
	addr, align := l.address(base, in.Off)
	v := l.v(op, t, append([]*ir.Value{addr}, args...)...)
	v.AuxInt = int64(in.Off)
	v.Align = align
	return v
}

var alu64Ops = map[uint8]ir.Op{
	AluADD: ir.OpAdd64, AluSUB: ir.OpSub64, AluMUL: ir.OpMul64, AluOR: ir.OpOr64,
	AluAND: ir.OpAnd64, AluXOR: ir.OpXor64,
}

var alu32Ops = map[uint8]ir.Op{
	AluADD: ir.OpAdd32, AluSUB: ir.OpSub32, AluMUL: ir.OpMul32, AluOR: ir.OpOr32,
	AluAND: ir.OpAnd32, AluXOR: ir.OpXor32,
}

// divOps indexes [64-bit?][signed?][mod?].
var divOps = [2][2][2]ir.Op{
	{{ir.OpDivU32, ir.OpModU32}, {ir.OpDivS32, ir.OpModS32}},
	{{ir.OpDivU64, ir.OpModU64}, {ir.OpDivS64, ir.OpModS64}},
}

var shiftOps = map[uint8][2]ir.Op{
	AluLSH: {ir.OpShl32, ir.OpShl64}, AluRSH: {ir.OpShrU32, ir.OpShrU64}, AluARSH: {ir.OpShrS32, ir.OpShrS64},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lift translates one instruction into the current block.
func (l *lifter) lift(in Insn) error {
	switch in.Class() {
	case ClassALU, ClassALU64:
		return l.liftALU(in)
	case ClassLD:
		if in.Src == 0 {
			l.set(in.Dst, l.const64(int64(in.Imm64)))
			return nil
		}
		// A map or data-section reference: its address, resolved by the
		// linker; map-value forms carry an offset in the upper word.
		addr := l.v(ir.OpSymAddr, ir.I32)
		addr.Sym = SymbolName(l.p.Refs[in.Slot])
		if off := int32(in.Imm64 >> 32); (in.Src == PseudoMapValue || in.Src == PseudoMapIdxValue) && off != 0 {
			addr = l.v(ir.OpAdd32, ir.I32, addr, l.const32(off))
		}
		l.set(in.Dst, l.zext(addr))
	case ClassLDX:
		l.liftLoad(in)
	case ClassST:
		var val *ir.Value
		if in.Size() == SizeDW {
			val = l.imm64(in)
		} else {
			val = l.imm32(in)
		}
		l.liftStore(in, val)
	case ClassSTX:
		if in.Mode() == ModeATOMIC {
			return l.liftAtomic(in)
		}
		var val *ir.Value
		if in.Size() == SizeDW {
			val = l.reg(in.Src)
		} else {
			val = l.reg32(in.Src)
		}
		l.liftStore(in, val)
	case ClassJMP, ClassJMP32:
		if in.IsCall() {
			return l.liftCall(in)
		}
		return l.liftJump(in)
	default:
		return errAt(in, "unknown instruction class %#x", in.Class())
	}
	return nil
}

func (l *lifter) liftALU(in Insn) error {
	wide := l.isALU64(in)
	code := in.Code()
	if op, ok := alu64Ops[code]; ok {
		if wide {
			l.set(in.Dst, l.v(op, ir.I64, l.reg(in.Dst), l.src64(in)))
		} else {
			l.set32(in.Dst, l.v(alu32Ops[code], ir.I32, l.reg32(in.Dst), l.src32(in)))
		}
		return nil
	}
	if ops, ok := shiftOps[code]; ok {
		if wide {
			l.set(in.Dst, l.v(ops[1], ir.I64, l.reg(in.Dst), l.src32(in)))
		} else {
			l.set32(in.Dst, l.v(ops[0], ir.I32, l.reg32(in.Dst), l.src32(in)))
		}
		return nil
	}
	switch code {
	case AluDIV, AluMOD:
		op := divOps[b2i(wide)][b2i(in.Off == 1)][b2i(code == AluMOD)]
		if wide {
			l.set(in.Dst, l.v(op, ir.I64, l.reg(in.Dst), l.src64(in)))
		} else {
			l.set32(in.Dst, l.v(op, ir.I32, l.reg32(in.Dst), l.src32(in)))
		}
	case AluNEG:
		if wide {
			l.set(in.Dst, l.v(ir.OpNeg64, ir.I64, l.reg(in.Dst)))
		} else {
			l.set32(in.Dst, l.v(ir.OpNeg32, ir.I32, l.reg32(in.Dst)))
		}
	case AluMOV:
		l.liftMov(in, wide)
	case AluEND:
		l.liftEnd(in, wide)
	default:
		return errAt(in, "unknown ALU operation %#x", code)
	}
	return nil
}

func (l *lifter) liftMov(in Insn, wide bool) {
	if in.Source() == SrcK {
		if wide {
			l.set(in.Dst, l.imm64(in))
		} else {
			l.set(in.Dst, l.const64(int64(uint32(in.Imm))))
		}
		return
	}
	var narrow *ir.Value // the sign-extended low word for MOVSX
	switch in.Off {
	case 0:
		if wide {
			l.set(in.Dst, l.reg(in.Src))
		} else {
			l.set32(in.Dst, l.reg32(in.Src))
		}
		return
	case 8:
		narrow = l.v(ir.OpSignExt8to32, ir.I32, l.reg32(in.Src))
	case 16:
		narrow = l.v(ir.OpSignExt16to32, ir.I32, l.reg32(in.Src))
	case 32:
		narrow = l.reg32(in.Src)
	}
	if wide {
		l.set(in.Dst, l.sext(narrow))
	} else {
		l.set32(in.Dst, narrow)
	}
}

// liftEnd handles byte-order conversions. to-le on a little-endian target
// (and to-be on a big-endian one) only truncates; the other direction and
// the v4 ALU64 bswap swap bytes.
func (l *lifter) liftEnd(in Insn, wide bool) {
	toBE := in.Source() == SrcX
	swap := wide || toBE != l.opts.BigEndian
	x := l.reg(in.Dst)
	switch in.Imm {
	case 16:
		if swap {
			l.set32(in.Dst, l.v(ir.OpBswap16, ir.I32, l.lo(x)))
		} else {
			l.set32(in.Dst, l.v(ir.OpZeroExt16to32, ir.I32, l.lo(x)))
		}
	case 32:
		if swap {
			l.set32(in.Dst, l.v(ir.OpBswap32, ir.I32, l.lo(x)))
		} else {
			l.set32(in.Dst, l.lo(x))
		}
	case 64:
		if swap {
			l.set(in.Dst, l.v(ir.OpBswap64, ir.I64, x))
		}
	}
}

func (l *lifter) liftLoad(in Insn) {
	signed := in.Mode() == ModeMEMSX
	switch in.Size() {
	case SizeB:
		if signed {
			l.set(in.Dst, l.sext(l.mem(ir.OpLoadS8, ir.I32, in, in.Src)))
		} else {
			l.set(in.Dst, l.zext(l.mem(ir.OpLoad8, ir.I32, in, in.Src)))
		}
	case SizeH:
		if signed {
			l.set(in.Dst, l.sext(l.mem(ir.OpLoadS16, ir.I32, in, in.Src)))
		} else {
			l.set(in.Dst, l.zext(l.mem(ir.OpLoad16, ir.I32, in, in.Src)))
		}
	case SizeW:
		w := l.mem(ir.OpLoad32, ir.I32, in, in.Src)
		if signed {
			l.set(in.Dst, l.sext(w))
		} else {
			l.set(in.Dst, l.zext(w))
		}
	case SizeDW:
		l.set(in.Dst, l.mem(ir.OpLoad64, ir.I64, in, in.Src))
	}
}

var storeOps = map[uint8]ir.Op{SizeB: ir.OpStore8, SizeH: ir.OpStore16, SizeW: ir.OpStore32, SizeDW: ir.OpStore64}

func (l *lifter) liftStore(in Insn, val *ir.Value) {
	l.mem(storeOps[in.Size()], ir.TypeVoid, in, in.Dst, val)
}

var atomicOps = map[int32][2]ir.Op{
	AtomicADD: {ir.OpAtomicAdd32, ir.OpAtomicAdd64}, AtomicOR: {ir.OpAtomicOr32, ir.OpAtomicOr64},
	AtomicAND: {ir.OpAtomicAnd32, ir.OpAtomicAnd64}, AtomicXOR: {ir.OpAtomicXor32, ir.OpAtomicXor64},
	AtomicXCHG & ^AtomicFetch: {ir.OpAtomicXchg32, ir.OpAtomicXchg64},
}

func (l *lifter) liftAtomic(in Insn) error {
	wide := in.Size() == SizeDW
	if in.Imm == AtomicCMPXCHG {
		if wide {
			old := l.mem(ir.OpAtomicCmpXchg64, ir.I64, in, in.Dst, l.reg(R0), l.reg(in.Src))
			l.set(R0, old)
		} else {
			old := l.mem(ir.OpAtomicCmpXchg32, ir.I32, in, in.Dst, l.reg32(R0), l.reg32(in.Src))
			l.set32(R0, old)
		}
		return nil
	}
	ops, ok := atomicOps[in.Imm&^AtomicFetch]
	if !ok {
		return errAt(in, "unknown atomic operation %#x", in.Imm)
	}
	fetch := in.Imm&AtomicFetch != 0
	if wide {
		old := l.mem(ops[1], ir.I64, in, in.Dst, l.reg(in.Src))
		if fetch {
			l.set(in.Src, old)
		}
	} else {
		old := l.mem(ops[0], ir.I32, in, in.Dst, l.reg32(in.Src))
		if fetch {
			l.set32(in.Src, old)
		}
	}
	return nil
}

// cmpOps gives, per jump code, the IR comparison and whether its operands are swapped.
var cmpOps = map[uint8]struct {
	op32, op64 ir.Op
	swap       bool
}{
	JmpJEQ:  {ir.OpEq32, ir.OpEq64, false},
	JmpJNE:  {ir.OpNe32, ir.OpNe64, false},
	JmpJGT:  {ir.OpLtU32, ir.OpLtU64, true},
	JmpJGE:  {ir.OpLeU32, ir.OpLeU64, true},
	JmpJLT:  {ir.OpLtU32, ir.OpLtU64, false},
	JmpJLE:  {ir.OpLeU32, ir.OpLeU64, false},
	JmpJSGT: {ir.OpLtS32, ir.OpLtS64, true},
	JmpJSGE: {ir.OpLeS32, ir.OpLeS64, true},
	JmpJSLT: {ir.OpLtS32, ir.OpLtS64, false},
	JmpJSLE: {ir.OpLeS32, ir.OpLeS64, false},
}

func (l *lifter) liftJump(in Insn) error {
	code := in.Code()
	switch code {
	case JmpJA:
		return nil // the block's edge says it all
	case JmpEXIT:
		l.cur.SetControls(l.reg(R0))
		return nil
	}
	wide := in.Class() == ClassJMP
	var a, b *ir.Value
	if wide {
		a, b = l.reg(in.Dst), l.src64(in)
	} else {
		a, b = l.reg32(in.Dst), l.src32(in)
	}
	var cond *ir.Value
	if code == JmpJSET {
		if wide {
			cond = l.v(ir.OpNe64, ir.I32, l.v(ir.OpAnd64, ir.I64, a, b), l.const64(0))
		} else {
			cond = l.v(ir.OpNe32, ir.I32, l.v(ir.OpAnd32, ir.I32, a, b), l.const32(0))
		}
	} else {
		c, ok := cmpOps[code]
		if !ok {
			return errAt(in, "unknown jump operation %#x", code)
		}
		if c.swap {
			a, b = b, a
		}
		op := c.op32
		if wide {
			op = c.op64
		}
		cond = l.v(op, ir.I32, a, b)
	}
	l.cur.SetControls(cond)
	return nil
}

// liftCall turns the three kinds of call into IR Calls, each reading
// 64-bit arguments and returning r0: a helper (r1..rN, N from the helper's
// arity), a subprogram (its parameters, see lift_args.go), or callx (the
// helper ID, then r1..r5). A helper call carries the helper's memory
// effect (helpers.go); a subprogram or callx has the unknown effect, since
// a subprogram may reach its caller's stack through pointers it receives.
// Afterwards r1..r5 are undefined (RFC 9669: scratch), modelled as 0.
func (l *lifter) liftCall(in Insn) error {
	var sym string
	var args []*ir.Value
	var effect ir.CallEffect
	regs := func(n int) {
		for r := uint8(R1); r < uint8(R1+n); r++ {
			args = append(args, l.reg(r))
		}
	}
	switch {
	case in.IsCallx():
		sym = l.opts.callxSymbol()
		args = append(args, l.reg(in.Dst))
		regs(5)
	case in.IsLocalCall():
		target := l.p.IndexOfSlot(in.CallTarget())
		sym = l.names[target]
		for r := uint8(R1); r <= R5; r++ {
			if l.sigs[target].params&regBit(r) != 0 {
				args = append(args, l.reg(r))
			}
		}
	case in.Src == CallHelper && l.opts.isTailCall(in.Imm):
		return l.liftTailCall(in)
	case in.Src == CallHelper:
		sym = l.opts.helperSymbol(in.Imm)
		n := l.opts.helperArgs(in.Imm)
		if n < 0 || n > 5 {
			return errAt(in, "helper %d: argument count %d out of range", in.Imm, n)
		}
		regs(n)
		effect = l.opts.helperEffect(in.Imm)
	default:
		return errAt(in, "unsupported call (source %d)", in.Src)
	}
	call := l.v(ir.OpCall, ir.I64, args...)
	call.Sym = sym
	call.SetCallEffect(effect)
	l.set(R0, call)
	zero := l.const64(0)
	for r := uint8(R1); r <= R5; r++ {
		l.set(r, zero)
	}
	return nil
}

// tailCallTargetEffect is the memory effect of TailCallTargetSymbol(map,
// index): through its first parameter, the map, it reads the program
// array and, as every map helper, may set the map up at its first use
// (maps.c, open_map).
var tailCallTargetEffect = ir.KnownEffect(through(R1), through(R1))

// liftTailCall compiles bpf_tail_call(ctx, prog_array, index): the runtime
// looks the target up; when there is one and the chain is shorter than the
// kernel's limit, the program leaves for it (BlockTailCall) with r1 as its
// ctx, the entry's len, and the count plus one; otherwise execution goes on
// with the next instruction, r0 unchanged (as in the kernel) and r1..r5
// undefined. The count arrives as word argument 2 of the program's entry
// (see backend/mips32: the entry's first instruction zeroes it for callers
// from C; a tail call enters one instruction later).
func (l *lifter) liftTailCall(in Insn) error {
	if l.sub {
		return errAt(in, "tail calls from subprograms are not supported")
	}
	target := l.v(ir.OpCall, ir.I64, l.reg(R2), l.reg(R3))
	target.Sym = TailCallTargetSymbol
	target.SetCallEffect(tailCallTargetEffect)
	addr := l.lo(target)
	count := l.tailCount
	ok := l.v(ir.OpAnd32, ir.I32,
		l.v(ir.OpNe32, ir.I32, addr, l.const32(0)),
		l.v(ir.OpLtU32, ir.I32, count, l.const32(MaxTailCalls)))
	ctx := l.reg32(R1)
	length := l.entryLen
	next := l.v(ir.OpAdd32, ir.I32, count, l.const32(1))

	// Split the block: what follows the call moves to a new block that
	// inherits the successors.
	cur := l.cur
	cont := l.f.NewBlock(cur.Kind)
	cont.Likely = cur.Likely
	for _, s := range cur.Succs {
		for i, p := range s.Preds {
			if p == cur {
				s.Preds[i] = cont
				break
			}
		}
	}
	cont.Succs, cur.Succs = cur.Succs, nil
	tail := l.f.NewBlock(ir.BlockTailCall)
	cur.Kind, cur.Likely = ir.BlockIf, -1
	cur.SetControls(ok)
	cur.AddEdgeTo(tail)
	cur.AddEdgeTo(cont)
	tail.SetControls(addr, ctx, length, next)
	l.b.Seal(tail)
	l.b.Seal(cont)
	l.cur = cont
	zero := l.const64(0)
	for r := uint8(R1); r <= R5; r++ {
		l.set(r, zero)
	}
	return nil
}
