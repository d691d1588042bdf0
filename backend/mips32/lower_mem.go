package mips32

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
)

// Loads, stores, atomics and runtime calls.
//
// BPF allows unaligned accesses, which trap on MIPS for lw/lh/sw/sh, so an
// access whose alignment is not proven (Value.Align) uses lwl/lwr, swl/swr
// or byte sequences. Atomics are naturally aligned (BPF requires it) and use
// LL/SC loops bracketed by sync.

// memBase returns a base register and offset such that off..off+span-1
// fit the 16-bit signed displacement.
func (l *lowerer) memBase(addr *ir.Value, off int64, span int64) (Reg, int32) {
	base := l.use(addr)
	if fitsS16(off) && fitsS16(off+span-1) {
		return base, int32(off)
	}
	t := l.m.newVReg()
	l.emit(Inst{Op: ADDU, Rd: t, Rs: base, Rt: l.li(uint32(off))})
	return t, 0
}

var loadOps = map[ir.Op]struct {
	op     Opcode
	size   int
	signed bool
}{
	ir.OpLoad8: {LBU, 1, false}, ir.OpLoadS8: {LB, 1, true},
	ir.OpLoad16: {LHU, 2, false}, ir.OpLoadS16: {LH, 2, true},
	ir.OpLoad32: {LW, 4, false},
}

// loadWord loads the word at off(base): lw when align proves it 4-byte
// aligned, else lwl and lwr. lwl addresses the word's most significant
// byte, lwr its least: off+3 and off on little-endian. Imm2 = 1 marks the
// first of the pair, which does not read rd (see operands).
func (l *lowerer) loadWord(rd, base Reg, off int32, align uint8) {
	if align >= 4 {
		l.emit(Inst{Op: LW, Rt: rd, Rs: base, Imm: off})
		return
	}
	lwlOff, lwrOff := off+3, off
	if l.t.BigEndian {
		lwlOff, lwrOff = off, off+3
	}
	l.emit(Inst{Op: LWL, Rt: rd, Rs: base, Imm: lwlOff, Imm2: 1})
	l.emit(Inst{Op: LWR, Rt: rd, Rs: base, Imm: lwrOff})
}

var storeOps = map[ir.Op]struct {
	op   Opcode
	size int
}{
	ir.OpStore8: {SB, 1}, ir.OpStore16: {SH, 2}, ir.OpStore32: {SW, 4},
}

func (l *lowerer) lowerMem(v *ir.Value) error {
	if ld, ok := loadOps[v.Op]; ok {
		base, off := l.memBase(v.Args[0], v.AuxInt, int64(ld.size))
		rd := l.def(v)
		switch {
		case ld.size == 4:
			l.loadWord(rd, base, off, v.Align)
		case ld.size == 1 || int(v.Align) >= ld.size:
			l.emit(Inst{Op: ld.op, Rt: rd, Rs: base, Imm: off})
		default: // unaligned halfword: two byte loads
			loOff, hiOff := off, off+1
			if l.t.BigEndian {
				loOff, hiOff = off+1, off
			}
			hiOp := LBU
			if ld.signed {
				hiOp = LB
			}
			lo, hi, hs := l.m.newVReg(), l.m.newVReg(), l.m.newVReg()
			l.emit(Inst{Op: LBU, Rt: lo, Rs: base, Imm: loOff})
			l.emit(Inst{Op: hiOp, Rt: hi, Rs: base, Imm: hiOff})
			l.emit(Inst{Op: SLL, Rd: hs, Rt: hi, Imm: 8})
			l.emit(Inst{Op: OR, Rd: rd, Rs: hs, Rt: lo})
		}
		return nil
	}
	st, ok := storeOps[v.Op]
	if !ok {
		return fmt.Errorf("no instruction selection for %s (not legalized?)", v.Op)
	}
	base, off := l.memBase(v.Args[0], v.AuxInt, int64(st.size))
	val := l.use(v.Args[1])
	switch {
	case st.size == 1 || int(v.Align) >= st.size:
		l.emit(Inst{Op: st.op, Rt: val, Rs: base, Imm: off})
	case st.size == 4:
		left, right := off+3, off
		if l.t.BigEndian {
			left, right = off, off+3
		}
		l.emit(Inst{Op: SWL, Rt: val, Rs: base, Imm: left})
		l.emit(Inst{Op: SWR, Rt: val, Rs: base, Imm: right})
	default: // unaligned halfword: two byte stores
		loOff, hiOff := off, off+1
		if l.t.BigEndian {
			loOff, hiOff = off+1, off
		}
		hi := l.m.newVReg()
		l.emit(Inst{Op: SB, Rt: val, Rs: base, Imm: loOff})
		l.emit(Inst{Op: SRL, Rd: hi, Rt: val, Imm: 8})
		l.emit(Inst{Op: SB, Rt: hi, Rs: base, Imm: hiOff})
	}
	return nil
}

// atomicALU is the operation an LL/SC loop applies: new = op(old, v).
var atomicALU = map[ir.Op]Opcode{
	ir.OpAtomicAdd32: ADDU, ir.OpAtomicOr32: OR, ir.OpAtomicAnd32: AND, ir.OpAtomicXor32: XOR,
	ir.OpAtomicXchg32: MOVE,
}

// lowerAtomic emits
//
//	    sync
//	L:  ll   old, off(base)
//	    op   new, old, v        (cmpxchg: bne old, expect, Done; nop; move new, v)
//	    sc   new, off(base)
//	    beq  new, $zero, L
//	    nop
//	Done:
//	    sync
//
// as separate machine blocks so that liveness sees the loop.
func (l *lowerer) lowerAtomic(v *ir.Value) error {
	if v.Op.MemSize() != 4 {
		return fmt.Errorf("%s must be legalized into a runtime call", v.Op)
	}
	base, off := l.memBase(v.Args[0], v.AuxInt, 4)
	old := l.def(v)
	var expect, val Reg
	if v.Op == ir.OpAtomicCmpXchg32 {
		expect, val = l.use(v.Args[1]), l.use(v.Args[2])
	} else {
		val = l.use(v.Args[1])
	}
	l.emit(Inst{Op: SYNC})
	loop := l.startBlock()
	l.emit(Inst{Op: LL, Rt: old, Rs: base, Imm: off})
	var done *mblock
	var bneIndex int
	if v.Op == ir.OpAtomicCmpXchg32 {
		bneIndex = len(l.cur.insts)
		l.emitBranch(Inst{Op: BNE, Rs: old, Rt: expect}) // target patched below
		l.startBlock()
	}
	newv := l.m.newVReg()
	if op := atomicALU[v.Op]; op == MOVE || v.Op == ir.OpAtomicCmpXchg32 {
		l.emit(Inst{Op: MOVE, Rd: newv, Rs: val})
	} else {
		l.emit(Inst{Op: op, Rd: newv, Rs: old, Rt: val})
	}
	l.emit(Inst{Op: SC, Rt: newv, Rs: base, Imm: off})
	l.emitBranch(Inst{Op: BEQ, Rs: newv, Rt: ZERO, Target: loop.label})
	l.cur.succs = append(l.cur.succs, loop)
	done = l.startBlock()
	if v.Op == ir.OpAtomicCmpXchg32 {
		loop.insts[bneIndex].Target = done.label
		loop.succs = append(loop.succs, done)
	}
	l.emit(Inst{Op: SYNC})
	return nil
}

// lowerCall calls a runtime function under O32: argument words go to
// a0..a3 and then to the stack at 16(sp) and up, a 64-bit argument starts
// at an even word with its halves in the target's byte order, the caller
// reserves the 16-byte home area, the callee is reached through t9, and
// results come back in v0 (and v1).
func (l *lowerer) lowerCall(v *ir.Value) error {
	rf, ok := ir.CallSignature(v)
	if !ok {
		return fmt.Errorf("unknown runtime function %q", v.Sym)
	}
	type word struct {
		index int
		val   *ir.Value
	}
	var words []word
	w, arg := 0, 0
	for _, p := range rf.Params {
		if p != ir.I64 {
			words = append(words, word{w, v.Args[arg]})
			w, arg = w+1, arg+1
			continue
		}
		w += w & 1
		lo, hi := v.Args[arg], v.Args[arg+1]
		if l.t.BigEndian {
			lo, hi = hi, lo
		}
		words = append(words, word{w, lo}, word{w + 1, hi})
		w, arg = w+2, arg+2
	}
	if arg != len(v.Args) {
		return fmt.Errorf("call to %s has %d argument words, its signature needs %d", v.Sym, len(v.Args), arg)
	}
	area := max(HomeAreaSize, (4*w+StackAlign-1)&^(StackAlign-1))
	l.m.outArgs = max(l.m.outArgs, area)
	l.m.hasCall = true
	for _, wd := range words {
		if wd.index >= len(ArgRegs) {
			l.emit(Inst{Op: SW, Rt: l.use(wd.val), Rs: SP, Imm: int32(4 * wd.index)})
		}
	}
	for _, wd := range words {
		if wd.index < len(ArgRegs) {
			l.moveValue(ArgRegs[wd.index], wd.val)
		}
	}
	site := callSite{argRegs: min(w, len(ArgRegs))}
	if _, ok := l.local[v.Sym]; ok && v.Op == ir.OpCall {
		// A function of the same module: PC-relative, resolved by CompileModule.
		site.index = len(l.cur.insts)
		l.cur.calls = append(l.cur.calls, site)
		l.emitBranch(Inst{Op: BAL, Sym: v.Sym, Target: -1})
	} else {
		l.emit(Inst{Op: LUI, Rt: T9, Sym: v.Sym, Reloc: RelocHi16})
		l.emit(Inst{Op: ADDIU, Rt: T9, Rs: T9, Sym: v.Sym, Reloc: RelocLo16})
		site.index = len(l.cur.insts)
		l.cur.calls = append(l.cur.calls, site)
		l.emitBranch(Inst{Op: JALR, Rd: RA, Rs: T9})
	}
	switch rf.Result {
	case ir.I64:
		loR, hiR := V0, V1
		if l.t.BigEndian {
			loR, hiR = V1, V0
		}
		l.emit(Inst{Op: MOVE, Rd: l.def(v), Rs: loR})
		l.pairHi[v.ID] = l.m.newVReg()
		l.emit(Inst{Op: MOVE, Rd: l.pairHi[v.ID], Rs: hiR})
	case ir.I32:
		l.emit(Inst{Op: MOVE, Rd: l.def(v), Rs: V0})
	}
	return nil
}

// pairHalf reads one half of a call's 64-bit result.
func (l *lowerer) pairHalf(v *ir.Value) {
	call := v.Args[0]
	src := l.def(call)
	if v.Op == ir.OpPairHi {
		src = l.pairHi[call.ID]
	}
	l.emit(Inst{Op: MOVE, Rd: l.def(v), Rs: src})
}
