package sim

import (
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// The decoder reads MIPS32 instruction words as the architecture manual
// ("MIPS32 Architecture For Programmers Volume II: The MIPS32 Instruction
// Set", Release 2) lays them out. It shares no table with the backend's
// encoder (backend/mips32/encode.go), so that the simulator does not agree
// with the encoder's mistakes.
//
//	R-type  | opcode:6 | rs:5 | rt:5 | rd:5 | sa:5 | funct:6 |
//	I-type  | opcode:6 | rs:5 | rt:5 |     immediate:16     |
//	J-type  | opcode:6 |          instr_index:26            |
//
// Fields that select an instruction are checked; fields the manual merely
// requires to be zero (sa of addu, rt of blez, ...) are not, as in qemu and
// most CPUs. Release 6 re-encodes much of the ISA (no lwl/lwr, movn/movz,
// SPECIAL2 mul, branch-likely; new compact branches in the freed opcodes):
// it will get its own decodeR6 beside decode, selected by the revision.

// inst is one decoded instruction.
type inst struct {
	op         op
	rd, rs, rt uint8
	sa         uint8 // shift amount; ext/ins lsb
	// The scoreboard of the cycle model (see doc.go): the instruction
	// issues when src1 and src2 are ready and makes dst ready lat cycles
	// after it issues. Slot 0 ($zero) is never written, so it serves as
	// "no source"; slotNone absorbs results nobody waits for.
	src1, src2, dst, lat uint8
	// imm is the immediate, sign- or zero-extended as the op needs; the
	// target address of a branch or jump; the bit mask of ext and ins.
	imm uint32
}

// Scoreboard slots beyond the GPRs.
const (
	slotHiLo = 32 // HI and LO
	slotNone = 33 // written, never read
	numSlots = 256
)

// Result latencies of the cycle model, in cycles from issue to use.
const (
	latALU  = 1
	latLoad = 2  // the next instruction stalls one cycle (load-use)
	latMul  = 4  // mul, mult, multu, madd, msub
	latDiv  = 35 // div, divu
)

// badInst explains an encoding that faults when executed.
type badInst struct {
	kind FaultKind
	msg  string
}

// decoder decodes words for one target.
type decoder struct {
	r2 bool // Release 2 instructions are available
}

func newDecoder(t mips32.Target) (decoder, error) {
	switch t.Rev {
	case mips32.R1, mips32.R2:
		return decoder{r2: t.Rev >= mips32.R2}, nil
	}
	return decoder{}, fmt.Errorf("sim: target %s is not supported (only MIPS32 R1 and R2)", t)
}

// decode decodes w, the instruction at address pc. An encoding that cannot
// execute yields opBad and the reason, reported only if it is reached.
func (d decoder) decode(w, pc uint32) (inst, *badInst) {
	rs, rt, rd, sa := uint8(w>>21&31), uint8(w>>16&31), uint8(w>>11&31), uint8(w>>6&31)
	simm := uint32(int32(int16(w)))
	zimm := w & 0xffff
	btarget := pc + 4 + simm<<2

	// Constructors by format; each sets the scoreboard fields.
	r3 := func(o op) (inst, *badInst) { // rd ← f(rs, rt); variable shifts rd ← rt shifted by rs
		return inst{op: o, rd: rd, rs: rs, rt: rt, src1: rs, src2: rt, dst: gpr(rd), lat: latALU}, nil
	}
	shift := func(o op) (inst, *badInst) { // rd ← f(rt, sa)
		return inst{op: o, rd: rd, rt: rt, sa: sa, src1: rt, dst: gpr(rd), lat: latALU}, nil
	}
	ri := func(o op, imm uint32) (inst, *badInst) { // rt ← f(rs, imm)
		return inst{op: o, rs: rs, rt: rt, imm: imm, src1: rs, dst: gpr(rt), lat: latALU}, nil
	}
	mdu := func(o op, lat uint8) (inst, *badInst) { // HI, LO ← f(rs, rt)
		return inst{op: o, rs: rs, rt: rt, src1: rs, src2: rt, dst: slotHiLo, lat: lat}, nil
	}
	load := func(o op) (inst, *badInst) {
		// lwl and lwr also read rt, to merge; the 24K forwards that
		// merge without a stall, so rt is not a scoreboard source.
		return inst{op: o, rs: rs, rt: rt, imm: simm, src1: rs, dst: gpr(rt), lat: latLoad}, nil
	}
	store := func(o op) (inst, *badInst) {
		in := inst{op: o, rs: rs, rt: rt, imm: simm, src1: rs, src2: rt, dst: slotNone}
		if o == opSc {
			in.dst, in.lat = gpr(rt), latLoad
		}
		return in, nil
	}
	branch := func(o op) (inst, *badInst) { // if f(rs, rt) goto pc + 4 + offset
		in := inst{op: o, rs: rs, rt: rt, imm: btarget, src1: rs, dst: slotNone}
		switch o {
		case opBeq, opBne, opBeql, opBnel:
			in.src2 = rt // the others have no second operand (REGIMM's rt selects the op)
		}
		switch o {
		case opBltzal, opBgezal, opBltzall, opBgezall:
			if rs == 31 {
				return bad(Unpredictable, "%s with rs = $31 (the link register) is UNPREDICTABLE", o)
			}
			in.dst, in.lat = 31, latALU
		}
		return in, nil
	}
	trap := func(o op) (inst, *badInst) { // trap if f(rs, rt)
		return inst{op: o, rs: rs, rt: rt, src1: rs, src2: rt, dst: slotNone}, nil
	}
	trapi := func(o op) (inst, *badInst) { // trap if f(rs, simm)
		return inst{op: o, rs: rs, imm: simm, src1: rs, dst: slotNone}, nil
	}
	needR2 := func(name string, in inst, b *badInst) (inst, *badInst) {
		if !d.r2 {
			return bad(ReservedInstruction, "%s is a MIPS32 Release 2 instruction; the target is Release 1", name)
		}
		return in, b
	}

	switch w >> 26 {
	case 0: // SPECIAL
		switch w & 63 {
		case 0:
			if rd == 0 {
				return bare(opNop) // nop, ssnop, ehb, pause
			}
			return shift(opSll)
		case 2:
			if rs&1 != 0 { // the R bit
				in, b := shift(opRotr)
				return needR2("rotr", in, b)
			}
			return shift(opSrl)
		case 3:
			return shift(opSra)
		case 4:
			return r3(opSllv)
		case 6:
			if sa&1 != 0 { // the R bit
				in, b := r3(opRotrv)
				return needR2("rotrv", in, b)
			}
			return r3(opSrlv)
		case 7:
			return r3(opSrav)
		case 8: // jr (jr.hb: the hint bit changes nothing here)
			return inst{op: opJr, rs: rs, src1: rs, dst: slotNone}, nil
		case 9:
			if rd == rs {
				return bad(Unpredictable, "jalr with rd = rs ($%d) is UNPREDICTABLE", rd)
			}
			return inst{op: opJalr, rd: rd, rs: rs, src1: rs, dst: gpr(rd), lat: latALU}, nil
		case 10:
			return r3(opMovz)
		case 11:
			return r3(opMovn)
		case 12:
			return bare(opSyscall)
		case 13:
			return bare(opBreak)
		case 15:
			return bare(opNop) // sync
		case 16:
			return inst{op: opMfhi, rd: rd, src1: slotHiLo, dst: gpr(rd), lat: latALU}, nil
		case 17:
			return inst{op: opMthi, rs: rs, src1: rs, dst: slotHiLo, lat: latALU}, nil
		case 18:
			return inst{op: opMflo, rd: rd, src1: slotHiLo, dst: gpr(rd), lat: latALU}, nil
		case 19:
			return inst{op: opMtlo, rs: rs, src1: rs, dst: slotHiLo, lat: latALU}, nil
		case 24:
			return mdu(opMult, latMul)
		case 25:
			return mdu(opMultu, latMul)
		case 26:
			return mdu(opDiv, latDiv)
		case 27:
			return mdu(opDivu, latDiv)
		case 32:
			return r3(opAdd)
		case 33:
			return r3(opAddu)
		case 34:
			return r3(opSub)
		case 35:
			return r3(opSubu)
		case 36:
			return r3(opAnd)
		case 37:
			return r3(opOr)
		case 38:
			return r3(opXor)
		case 39:
			return r3(opNor)
		case 42:
			return r3(opSlt)
		case 43:
			return r3(opSltu)
		case 48:
			return trap(opTge)
		case 49:
			return trap(opTgeu)
		case 50:
			return trap(opTlt)
		case 51:
			return trap(opTltu)
		case 52:
			return trap(opTeq)
		case 54:
			return trap(opTne)
		case 1:
			return bad(CoprocessorUnusable, "movf/movt (FPU condition move): the simulator has no FPU")
		case 20, 22, 23, 28, 29, 30, 31, 44, 45, 46, 47, 56, 58, 59, 60, 62, 63:
			return bad(ReservedInstruction, "SPECIAL function %d is a MIPS64 instruction", w&63)
		}
		return bad(ReservedInstruction, "SPECIAL function %d is reserved", w&63)

	case 1: // REGIMM
		switch rt {
		case 0:
			return branch(opBltz)
		case 1:
			return branch(opBgez)
		case 2:
			return branch(opBltzl)
		case 3:
			return branch(opBgezl)
		case 8:
			return trapi(opTgei)
		case 9:
			return trapi(opTgeiu)
		case 10:
			return trapi(opTlti)
		case 11:
			return trapi(opTltiu)
		case 12:
			return trapi(opTeqi)
		case 14:
			return trapi(opTnei)
		case 16:
			return branch(opBltzal)
		case 17:
			return branch(opBgezal) // bal is bgezal $zero
		case 18:
			return branch(opBltzall)
		case 19:
			return branch(opBgezall)
		case 31:
			return needR2("synci", inst{op: opNop, dst: slotNone}, nil)
		}
		return bad(ReservedInstruction, "REGIMM rt=%d is reserved", rt)

	case 2:
		return inst{op: opJ, imm: jumpTarget(w, pc), dst: slotNone}, nil
	case 3:
		return inst{op: opJal, imm: jumpTarget(w, pc), dst: 31, lat: latALU}, nil
	case 4:
		return branch(opBeq)
	case 5:
		return branch(opBne)
	case 6:
		return branch(opBlez)
	case 7:
		return branch(opBgtz)
	case 8:
		return ri(opAddi, simm)
	case 9:
		return ri(opAddiu, simm)
	case 10:
		return ri(opSlti, simm)
	case 11:
		return ri(opSltiu, simm)
	case 12:
		return ri(opAndi, zimm)
	case 13:
		return ri(opOri, zimm)
	case 14:
		return ri(opXori, zimm)
	case 15:
		return inst{op: opLui, rt: rt, imm: zimm << 16, dst: gpr(rt), lat: latALU}, nil
	case 16:
		return bad(CoprocessorUnusable, "COP0 instructions are privileged")
	case 17, 19, 49, 53, 57, 61: // COP1, COP1X, lwc1, ldc1, swc1, sdc1
		return bad(CoprocessorUnusable, "floating-point instruction: the simulator has no FPU")
	case 18, 50, 54, 58, 62: // COP2, lwc2, ldc2, swc2, sdc2
		return bad(CoprocessorUnusable, "COP2 instruction")
	case 20:
		return branch(opBeql)
	case 21:
		return branch(opBnel)
	case 22:
		return branch(opBlezl)
	case 23:
		return branch(opBgtzl)
	case 28:
		return d.decodeSpecial2(w, rs, rt, rd)
	case 31:
		if !d.r2 {
			return bad(ReservedInstruction, "SPECIAL3 (ext, ins, seb, seh, wsbh) is MIPS32 Release 2; the target is Release 1")
		}
		return decodeSpecial3(w, rs, rt, rd, sa)
	case 32:
		return load(opLb)
	case 33:
		return load(opLh)
	case 34:
		return load(opLwl)
	case 35:
		return load(opLw)
	case 36:
		return load(opLbu)
	case 37:
		return load(opLhu)
	case 38:
		return load(opLwr)
	case 40:
		return store(opSb)
	case 41:
		return store(opSh)
	case 42:
		return store(opSwl)
	case 43:
		return store(opSw)
	case 46:
		return store(opSwr)
	case 47:
		return bad(CoprocessorUnusable, "cache is privileged")
	case 48:
		return load(opLl)
	case 51:
		return bare(opNop) // pref: a hint, never faults
	case 56:
		return store(opSc)
	case 24, 25, 26, 27, 39, 44, 45, 52, 55, 60, 63:
		return bad(ReservedInstruction, "opcode %d is a MIPS64 instruction", w>>26)
	case 29:
		return bad(ReservedInstruction, "jalx (MIPS16e/microMIPS mode switch) is not supported")
	}
	return bad(ReservedInstruction, "opcode %d is reserved", w>>26)
}

func (d decoder) decodeSpecial2(w uint32, rs, rt, rd uint8) (inst, *badInst) {
	mdu := func(o op) (inst, *badInst) {
		// madd/msub also read HI/LO: the 24K accumulates back to back
		// without a stall, so HI/LO is not a scoreboard source.
		return inst{op: o, rs: rs, rt: rt, src1: rs, src2: rt, dst: slotHiLo, lat: latMul}, nil
	}
	count := func(o op) (inst, *badInst) {
		if rt != rd {
			return bad(Unpredictable, "%s with rt ($%d) ≠ rd ($%d) is UNPREDICTABLE", o, rt, rd)
		}
		return inst{op: o, rd: rd, rs: rs, src1: rs, dst: gpr(rd), lat: latALU}, nil
	}
	switch w & 63 {
	case 0:
		return mdu(opMadd)
	case 1:
		return mdu(opMaddu)
	case 2:
		return inst{op: opMul, rd: rd, rs: rs, rt: rt, src1: rs, src2: rt, dst: gpr(rd), lat: latMul}, nil
	case 4:
		return mdu(opMsub)
	case 5:
		return mdu(opMsubu)
	case 32:
		return count(opClz)
	case 33:
		return count(opClo)
	case 63:
		return bare(opBreak) // sdbbp
	}
	return bad(ReservedInstruction, "SPECIAL2 function %d is reserved", w&63)
}

func decodeSpecial3(w uint32, rs, rt, rd, sa uint8) (inst, *badInst) {
	switch w & 63 {
	case 0: // ext rt, rs, pos=sa, size=msbd+1
		pos, size := uint32(sa), uint32(rd)+1
		if pos+size > 32 {
			return bad(Unpredictable, "ext with pos %d + size %d > 32 is UNPREDICTABLE", pos, size)
		}
		return inst{op: opExt, rs: rs, rt: rt, sa: sa, imm: lowMask(size), src1: rs, dst: gpr(rt), lat: latALU}, nil
	case 4: // ins rt, rs, pos=lsb, size=msb-lsb+1
		if rd < sa {
			return bad(Unpredictable, "ins with msb %d < lsb %d is UNPREDICTABLE", rd, sa)
		}
		mask := lowMask(uint32(rd-sa)+1) << sa
		return inst{op: opIns, rs: rs, rt: rt, sa: sa, imm: mask, src1: rs, src2: rt, dst: gpr(rt), lat: latALU}, nil
	case 32: // BSHFL, selected by sa
		var o op
		switch sa {
		case 2:
			o = opWsbh
		case 16:
			o = opSeb
		case 24:
			o = opSeh
		default:
			return bad(ReservedInstruction, "BSHFL function %d is reserved", sa)
		}
		return inst{op: o, rd: rd, rt: rt, src1: rt, dst: gpr(rd), lat: latALU}, nil
	case 59:
		return bad(ReservedInstruction, "rdhwr (which Linux emulates for user mode) is not simulated")
	}
	return bad(ReservedInstruction, "SPECIAL3 function %d is reserved", w&63)
}

// bare is an instruction without operands.
func bare(o op) (inst, *badInst) { return inst{op: o, dst: slotNone}, nil }

func bad(kind FaultKind, format string, args ...any) (inst, *badInst) {
	return inst{op: opBad, dst: slotNone}, &badInst{kind, fmt.Sprintf(format, args...)}
}

// gpr is the scoreboard slot written by a GPR result: writes to $zero are
// discarded, so nothing waits for them.
func gpr(r uint8) uint8 {
	if r == 0 {
		return slotNone
	}
	return r
}

// jumpTarget is the region-relative target of j and jal: the upper 4 bits
// of the delay slot's address with instr_index << 2.
func jumpTarget(w, pc uint32) uint32 { return (pc+4)&0xf0000000 | (w&0x03ffffff)<<2 }

func lowMask(n uint32) uint32 {
	if n >= 32 {
		return 0xffffffff
	}
	return 1<<n - 1
}
