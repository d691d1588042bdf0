package bpf

import "fmt"

// Validation: the single check every decoded, parsed or loaded program goes
// through. It accepts exactly the instructions RFC 9669 defines (plus the
// legacy packet loads, pseudo lddw sources, kfunc calls and callx, which
// decode fine and are rejected later by the stages that cannot handle them),
// with every field the RFC leaves unused required to be zero, and it checks
// control flow: jumps and local calls land on instruction starts inside the
// program, and the last instruction is exit or an unconditional jump, so no
// path can fall off the end.

// Validate checks every instruction and the program's control flow. The
// errors name the offending slot (or source line).
func (p *Program) Validate() error {
	if len(p.Insns) == 0 {
		return &Error{Slot: -1, Msg: "empty program"}
	}
	if err := p.checkLayout(); err != nil {
		return err
	}
	for _, in := range p.Insns {
		if err := checkInsn(in); err != nil {
			return err
		}
	}
	for _, in := range p.Insns {
		switch {
		case in.IsJA() || in.IsCondJump():
			if err := p.checkTarget(in, in.JumpTarget(), "jump"); err != nil {
				return err
			}
		case in.IsLocalCall():
			if err := p.checkTarget(in, in.CallTarget(), "call"); err != nil {
				return err
			}
		}
	}
	last := p.Insns[len(p.Insns)-1]
	if !last.IsExit() && !last.IsJA() {
		return errAt(last, "program ends with opcode 0x%02x, not exit or ja: execution could fall off the end", last.Op)
	}
	return nil
}

// checkLayout checks that Slot and SlotIndex agree with the order and width
// of Insns (NewProgram and Decode make them so; a hand-built Program may not).
func (p *Program) checkLayout() error {
	s := 0
	for i, in := range p.Insns {
		if in.Slot != s || p.IndexOfSlot(s) != i || in.IsLdImm64() && (s+1 >= len(p.SlotIndex) || p.SlotIndex[s+1] != -1) {
			return &Error{Slot: -1, Line: in.Line, Msg: fmt.Sprintf("inconsistent slot layout at instruction index %d (slot %d, expected %d)", i, in.Slot, s)}
		}
		s += in.SlotCount()
	}
	if s != len(p.SlotIndex) {
		return &Error{Slot: -1, Msg: fmt.Sprintf("inconsistent slot layout: %d slots of instructions, %d in SlotIndex", s, len(p.SlotIndex))}
	}
	return nil
}

func (p *Program) checkTarget(in Insn, target int, what string) error {
	if target < 0 || target >= len(p.SlotIndex) {
		return errAt(in, "%s target %d is outside the program (slots 0..%d)", what, target, len(p.SlotIndex)-1)
	}
	if p.SlotIndex[target] < 0 {
		return errAt(in, "%s target %d is the second slot of lddw", what, target)
	}
	return nil
}

// checkInsn checks one instruction's opcode and fields.
func checkInsn(in Insn) error {
	switch in.Class() {
	case ClassALU, ClassALU64:
		return checkALU(in)
	case ClassJMP, ClassJMP32:
		return checkJump(in)
	case ClassLD:
		return checkLD(in)
	case ClassLDX:
		return checkLDX(in)
	case ClassST:
		return checkST(in)
	default: // ClassSTX
		return checkSTX(in)
	}
}

func errUnknownOp(in Insn) error { return errAt(in, "unknown opcode 0x%02x", in.Op) }

func errReserved(in Insn, field string, v int64) error {
	return errAt(in, "opcode 0x%02x: reserved field %s must be 0, is %d", in.Op, field, v)
}

// checkReg checks that a register field names r0..r10.
func checkReg(in Insn, field string, r uint8) error {
	if r > R10 {
		return errAt(in, "bad register: %s r%d (registers are r0..r10)", field, r)
	}
	return nil
}

// checkWritable checks a destination register: r10 is read-only.
func checkWritable(in Insn, field string, r uint8) error {
	if err := checkReg(in, field, r); err != nil {
		return err
	}
	if r == R10 {
		return errAt(in, "opcode 0x%02x writes r10, the read-only frame pointer", in.Op)
	}
	return nil
}

// checkOperand checks the second operand of an ALU or conditional jump: an
// immediate (src must be 0) or a register (imm must be 0).
func checkOperand(in Insn) error {
	if in.Source() == SrcK {
		if in.Src != 0 {
			return errReserved(in, "src", int64(in.Src))
		}
		return nil
	}
	if in.Imm != 0 {
		return errReserved(in, "imm", int64(in.Imm))
	}
	return checkReg(in, "src", in.Src)
}

func checkALU(in Insn) error {
	is64 := in.Class() == ClassALU64
	switch in.Code() {
	case AluADD, AluSUB, AluMUL, AluOR, AluAND, AluLSH, AluRSH, AluXOR, AluARSH:
		if in.Off != 0 {
			return errReserved(in, "off", int64(in.Off))
		}
	case AluDIV, AluMOD:
		if in.Off != 0 && in.Off != 1 {
			return errAt(in, "division offset must be 0 (unsigned) or 1 (signed), is %d", in.Off)
		}
	case AluMOV:
		if in.Off != 0 {
			if in.Source() == SrcK {
				return errReserved(in, "off", int64(in.Off))
			}
			if in.Off != 8 && in.Off != 16 && (in.Off != 32 || !is64) {
				if is64 {
					return errAt(in, "movsx offset must be 8, 16 or 32, is %d", in.Off)
				}
				return errAt(in, "movsx32 offset must be 8 or 16, is %d", in.Off)
			}
		}
	case AluNEG:
		if in.Source() != SrcK {
			return errUnknownOp(in)
		}
		if in.Src != 0 {
			return errReserved(in, "src", int64(in.Src))
		}
		if in.Off != 0 {
			return errReserved(in, "off", int64(in.Off))
		}
		if in.Imm != 0 {
			return errReserved(in, "imm", int64(in.Imm))
		}
		return checkWritable(in, "dst", in.Dst)
	case AluEND:
		if is64 && in.Source() != SrcK { // ALU64 END is bswap; its source bit is reserved
			return errUnknownOp(in)
		}
		if in.Src != 0 {
			return errReserved(in, "src", int64(in.Src))
		}
		if in.Off != 0 {
			return errReserved(in, "off", int64(in.Off))
		}
		if in.Imm != 16 && in.Imm != 32 && in.Imm != 64 {
			return errAt(in, "byte swap width must be 16, 32 or 64, is %d", in.Imm)
		}
		return checkWritable(in, "dst", in.Dst)
	default:
		return errUnknownOp(in)
	}
	if err := checkOperand(in); err != nil {
		return err
	}
	return checkWritable(in, "dst", in.Dst)
}

func checkJump(in Insn) error {
	is32 := in.Class() == ClassJMP32
	switch in.Code() {
	case JmpJA:
		if in.Source() != SrcK {
			return errUnknownOp(in)
		}
		if in.Dst != 0 {
			return errReserved(in, "dst", int64(in.Dst))
		}
		if in.Src != 0 {
			return errReserved(in, "src", int64(in.Src))
		}
		if is32 && in.Off != 0 { // ja32 jumps by imm
			return errReserved(in, "off", int64(in.Off))
		}
		if !is32 && in.Imm != 0 {
			return errReserved(in, "imm", int64(in.Imm))
		}
		return nil
	case JmpJEQ, JmpJGT, JmpJGE, JmpJSET, JmpJNE, JmpJSGT, JmpJSGE, JmpJLT, JmpJLE, JmpJSLT, JmpJSLE:
		if err := checkOperand(in); err != nil {
			return err
		}
		return checkReg(in, "dst", in.Dst)
	case JmpCALL:
		if is32 {
			return errUnknownOp(in)
		}
		if in.Off != 0 {
			return errReserved(in, "off", int64(in.Off))
		}
		if in.Source() == SrcX { // callx: the register is in dst
			if in.Src != 0 {
				return errReserved(in, "src", int64(in.Src))
			}
			if in.Imm != 0 {
				return errReserved(in, "imm", int64(in.Imm))
			}
			return checkReg(in, "dst", in.Dst)
		}
		if in.Dst != 0 {
			return errReserved(in, "dst", int64(in.Dst))
		}
		if in.Src != CallHelper && in.Src != CallLocal && in.Src != CallKfunc {
			return errAt(in, "call src must be 0 (helper), 1 (local) or 2 (kfunc), is %d", in.Src)
		}
		return nil
	case JmpEXIT:
		if is32 || in.Source() != SrcK {
			return errUnknownOp(in)
		}
		switch {
		case in.Dst != 0:
			return errReserved(in, "dst", int64(in.Dst))
		case in.Src != 0:
			return errReserved(in, "src", int64(in.Src))
		case in.Off != 0:
			return errReserved(in, "off", int64(in.Off))
		case in.Imm != 0:
			return errReserved(in, "imm", int64(in.Imm))
		}
		return nil
	}
	return errUnknownOp(in)
}

func checkLD(in Insn) error {
	switch in.Mode() {
	case ModeIMM:
		if in.Size() != SizeDW {
			return errUnknownOp(in)
		}
		if in.Src > PseudoMapIdxValue {
			return errAt(in, "lddw source %d is not a constant (0) or a pseudo source (1..6)", in.Src)
		}
		if in.Off != 0 {
			return errReserved(in, "off", int64(in.Off))
		}
		return checkWritable(in, "dst", in.Dst)
	case ModeABS, ModeIND: // legacy packet access: result in r0, dst and off unused
		if in.Size() == SizeDW {
			return errUnknownOp(in)
		}
		if in.Dst != 0 {
			return errReserved(in, "dst", int64(in.Dst))
		}
		if in.Off != 0 {
			return errReserved(in, "off", int64(in.Off))
		}
		if in.Mode() == ModeABS {
			if in.Src != 0 {
				return errReserved(in, "src", int64(in.Src))
			}
			return nil
		}
		return checkReg(in, "src", in.Src)
	}
	return errUnknownOp(in)
}

func checkLDX(in Insn) error {
	switch in.Mode() {
	case ModeMEM:
	case ModeMEMSX:
		if in.Size() == SizeDW {
			return errUnknownOp(in)
		}
	default:
		return errUnknownOp(in)
	}
	if in.Imm != 0 {
		return errReserved(in, "imm", int64(in.Imm))
	}
	if err := checkReg(in, "src", in.Src); err != nil {
		return err
	}
	return checkWritable(in, "dst", in.Dst)
}

func checkST(in Insn) error {
	if in.Mode() != ModeMEM {
		return errUnknownOp(in)
	}
	if in.Src != 0 {
		return errReserved(in, "src", int64(in.Src))
	}
	return checkReg(in, "dst", in.Dst)
}

// validAtomicOps are the imm values of STX ATOMIC that RFC 9669 defines.
var validAtomicOps = map[int32]bool{
	AtomicADD: true, AtomicADD | AtomicFetch: true,
	AtomicOR: true, AtomicOR | AtomicFetch: true,
	AtomicAND: true, AtomicAND | AtomicFetch: true,
	AtomicXOR: true, AtomicXOR | AtomicFetch: true,
	AtomicXCHG: true, AtomicCMPXCHG: true,
}

func checkSTX(in Insn) error {
	switch in.Mode() {
	case ModeMEM:
		if in.Imm != 0 {
			return errReserved(in, "imm", int64(in.Imm))
		}
	case ModeATOMIC:
		if in.Size() != SizeW && in.Size() != SizeDW {
			return errAt(in, "atomic operations need size W or DW, opcode 0x%02x has %d bytes", in.Op, SizeBytes(in.Size()))
		}
		if !validAtomicOps[in.Imm] {
			return errAt(in, "unknown atomic operation 0x%x", uint32(in.Imm))
		}
		if in.Imm&AtomicFetch != 0 && in.Imm != AtomicCMPXCHG { // fetch writes the old value to src
			if err := checkWritable(in, "src", in.Src); err != nil {
				return err
			}
		}
	default:
		return errUnknownOp(in)
	}
	if err := checkReg(in, "src", in.Src); err != nil {
		return err
	}
	return checkReg(in, "dst", in.Dst)
}
