package bpf

import (
	"fmt"
	"strings"
)

// Disassemble writes p in the assembly syntax ParseAsm reads, one
// instruction per line. Jump and local-call targets get generated labels
// "L<slot>:" (a target outside the program, possible only in an unvalidated
// Program, is written as a numeric offset), so ParseAsm(Disassemble(p))
// reproduces p exactly, apart from source lines.
func Disassemble(p *Program) string {
	labels := map[int]string{}
	for _, in := range p.Insns {
		if t, ok := branchTarget(in); ok && p.IndexOfSlot(t) >= 0 {
			labels[t] = fmt.Sprintf("L%d", t)
		}
	}
	var b strings.Builder
	for _, in := range p.Insns {
		if l, ok := labels[in.Slot]; ok {
			b.WriteString(l + ":\n")
		}
		b.WriteString(formatInsn(in, labels))
		b.WriteByte('\n')
	}
	return b.String()
}

// FormatInsn writes one instruction in assembly syntax, with numeric jump
// offsets (for messages and dumps).
func FormatInsn(in Insn) string { return formatInsn(in, nil) }

// String is FormatInsn.
func (i Insn) String() string { return FormatInsn(i) }

// branchTarget is the slot a jump or local call goes to.
func branchTarget(in Insn) (int, bool) {
	switch {
	case in.IsJA() || in.IsCondJump():
		return in.JumpTarget(), true
	case in.IsLocalCall():
		return in.CallTarget(), true
	}
	return 0, false
}

func formatInsn(in Insn, labels map[int]string) string {
	switch in.Class() {
	case ClassALU, ClassALU64:
		return formatALU(in)
	case ClassJMP, ClassJMP32:
		return formatJump(in, labels)
	case ClassLD:
		return formatLD(in)
	}
	return formatMem(in)
}

func regName(r uint8) string { return fmt.Sprintf("%%r%d", r) }

// formatImm writes small immediates in decimal and others in hex: as the
// unsigned 32-bit pattern where only 32 bits matter (wide32), else signed.
func formatImm(v int32, wide32 bool) string {
	switch {
	case v >= -4096 && v <= 4096:
		return fmt.Sprint(v)
	case v > 0 || wide32:
		return fmt.Sprintf("0x%x", uint32(v))
	}
	return fmt.Sprintf("-0x%x", -int64(v))
}

// widthSuffix is "32" for the 32-bit classes.
func widthSuffix(in Insn) string {
	if in.Class() == ClassALU || in.Class() == ClassJMP32 {
		return "32"
	}
	return ""
}

func formatALU(in Insn) string {
	w := widthSuffix(in)
	is32 := w == "32"
	switch in.Code() {
	case AluNEG:
		return "neg" + w + " " + regName(in.Dst)
	case AluEND:
		name := "le"
		switch {
		case in.Class() == ClassALU64:
			name = "bswap"
		case in.Source() == SrcX:
			name = "be"
		}
		return fmt.Sprintf("%s%d %s", name, in.Imm, regName(in.Dst))
	case AluMOV:
		if in.Off != 0 && in.Source() == SrcX {
			width := "64"
			if is32 {
				width = "32"
			}
			return fmt.Sprintf("movsx%d%s %s, %s", in.Off, width, regName(in.Dst), regName(in.Src))
		}
	}
	name := fmt.Sprintf("alu_0x%02x", in.Code())
	for _, o := range aluNames {
		if o.code == in.Code() && o.off == in.Off {
			name = o.name
		}
	}
	return fmt.Sprintf("%s%s %s, %s", name, w, regName(in.Dst), formatSrc(in, is32))
}

// formatSrc is the register or immediate second operand.
func formatSrc(in Insn, is32 bool) string {
	if in.Source() == SrcX {
		return regName(in.Src)
	}
	return formatImm(in.Imm, is32)
}

func formatTarget(target int, off int64, labels map[int]string) string {
	if l, ok := labels[target]; ok {
		return l
	}
	return fmt.Sprintf("%+d", off)
}

func formatJump(in Insn, labels map[int]string) string {
	w := widthSuffix(in)
	switch in.Code() {
	case JmpJA:
		off := int64(in.Off)
		if in.Class() == ClassJMP32 {
			off = int64(in.Imm)
		}
		return "ja" + w + " " + formatTarget(in.JumpTarget(), off, labels)
	case JmpEXIT:
		return "exit"
	case JmpCALL:
		switch {
		case in.Source() == SrcX:
			return "call " + regName(in.Dst)
		case in.Src == CallHelper:
			return fmt.Sprintf("call %d", in.Imm)
		case in.Src == CallLocal:
			return "call local " + formatTarget(in.CallTarget(), int64(in.Imm), labels)
		case int(in.Src) < len(callKinds):
			return fmt.Sprintf("call %s %d", callKinds[in.Src], in.Imm)
		}
		return fmt.Sprintf("call src%d %d", in.Src, in.Imm)
	}
	name := fmt.Sprintf("jmp_0x%02x", in.Code())
	for _, j := range jmpNames {
		if j.code == in.Code() {
			name = j.name
		}
	}
	return fmt.Sprintf("%s%s %s, %s, %s", name, w, regName(in.Dst), formatSrc(in, w == "32"),
		formatTarget(in.JumpTarget(), int64(in.Off), labels))
}

// memName finds the mnemonic of a load/store opcode.
func memName(op uint8) string {
	for name, o := range memMnemonics {
		if o == op {
			return name
		}
	}
	return fmt.Sprintf("mem_0x%02x", op)
}

func formatMemOperand(r uint8, off int16) string {
	if off == 0 {
		return "[" + regName(r) + "]"
	}
	return fmt.Sprintf("[%s%+d]", regName(r), off)
}

func formatLD(in Insn) string {
	switch in.Mode() {
	case ModeIMM:
		s := fmt.Sprintf("lddw %s, 0x%x", regName(in.Dst), in.Imm64)
		if in.Src != 0 {
			if int(in.Src) < len(pseudoNames) {
				return s + ", " + pseudoNames[in.Src]
			}
			return s + fmt.Sprintf(", src%d", in.Src)
		}
		return s
	case ModeABS:
		return fmt.Sprintf("%s %s", memName(in.Op), formatImm(in.Imm, true))
	}
	return fmt.Sprintf("%s %s, %s", memName(in.Op), regName(in.Src), formatImm(in.Imm, true))
}

func formatMem(in Insn) string {
	addr := formatMemOperand(in.Dst, in.Off)
	switch {
	case in.Class() == ClassLDX:
		return fmt.Sprintf("%s %s, %s", memName(in.Op), regName(in.Dst), formatMemOperand(in.Src, in.Off))
	case in.Class() == ClassST:
		return fmt.Sprintf("%s %s, %s", memName(in.Op), addr, formatImm(in.Imm, in.Size() != SizeDW))
	case in.Mode() == ModeATOMIC:
		name := fmt.Sprintf("atomic_0x%x", uint32(in.Imm))
		fetch := ""
		for _, o := range atomicNames {
			switch in.Imm {
			case o.imm:
				name = o.name
			case o.imm | AtomicFetch:
				name, fetch = o.name, "fetch "
			}
		}
		if in.Size() == SizeW {
			name += "32"
		}
		return fmt.Sprintf("lock %s%s %s, %s", fetch, name, addr, regName(in.Src))
	}
	return fmt.Sprintf("%s %s, %s", memName(in.Op), addr, regName(in.Src))
}
