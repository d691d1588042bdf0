package mips32

import (
	"fmt"
	"strings"
)

// A machine function: instruction selection's output and the register
// allocator's input. Code is a list of machine blocks in layout order; each
// ends by falling through to the next block or by a branch (followed by its
// delay slot) whose targets are listed in Succs. One IR block may become
// several machine blocks (LL/SC loops of atomics).
type mfunc struct {
	name   string
	blocks []*mblock
	nextV  Reg // next virtual register
	// outArgs is the size of the outgoing argument area at 0(sp): the
	// 16-byte home area plus stack-passed words, 0 when nothing is called.
	outArgs int
	hasCall bool
	locals  int // 8-byte scratch slots (ir.Func.NumLocals)
	usesFP  bool
}

type mblock struct {
	label int // label number: the block's index in mfunc.blocks
	insts []Inst
	succs []*mblock
	// ret marks a block that returns: v0/v1 hold the result at its end and
	// the epilogue is appended after allocation.
	ret bool
	// tail marks a block that ends in a tail call: a0..a2 and t9 are set
	// at its end and the tail epilogue (restore, jr t9) is appended after
	// allocation.
	tail bool
	// glued marks a block that must stay directly before the block
	// after it (the blocks of an LL/SC sequence, where no branch may be
	// added), whatever the final layout (layout.go).
	glued bool
	// calls lists the call instructions (jalr), where caller-saved
	// registers die and the argument registers are read.
	calls []callSite
	// orig is set by the allocator: the pre-allocation form of each
	// instruction of insts, for the allocation checker.
	orig []Inst
}

type callSite struct {
	index   int // in insts
	argRegs int // how many of a0..a3 carry arguments
}

func (f *mfunc) newVReg() Reg {
	r := f.nextV
	f.nextV++
	return r
}

// Frame markers: Inst.Reloc values private to the backend, resolved to
// numeric sp offsets once the frame is laid out (frame.go). They never
// reach the assembler.
const (
	relocFrameTop RelocType = 200 + iota // Imm += offset of the BPF stack's end (r10)
	relocLocal                           // Imm += offset of local scratch slot 0
	relocSpill                           // Imm += offset of spill slot 0
	relocIncoming                        // Imm += frame size: the caller's argument words
	relocRemat                           // li of a spilled constant at its use (Rs: the virtual register)
	relocRematDef                        // the li defining a spilled constant: dropped after the check
)

// operands lists the registers an instruction reads and writes, from its
// opcode's format. It is what liveness, allocation and rewriting agree on.
func operands(in *Inst, uses, defs []*Reg) ([]*Reg, []*Reg) {
	switch in.Op.Info().Format {
	case FmtR3:
		return append(uses, &in.Rs, &in.Rt), append(defs, &in.Rd)
	case FmtR2, FmtShift:
		return append(uses, &in.Rt), append(defs, &in.Rd)
	case FmtRI, FmtExt:
		return append(uses, &in.Rs), append(defs, &in.Rt)
	case FmtLUI, FmtLI:
		return uses, append(defs, &in.Rt)
	case FmtShiftV:
		return append(uses, &in.Rt, &in.Rs), append(defs, &in.Rd)
	case FmtMulDiv:
		return append(uses, &in.Rs, &in.Rt), defs
	case FmtMoveHiLo:
		return uses, append(defs, &in.Rd)
	case FmtCondMove:
		return append(uses, &in.Rs, &in.Rt, &in.Rd), append(defs, &in.Rd)
	case FmtLoad:
		return append(uses, &in.Rs), append(defs, &in.Rt)
	case FmtLoadMerge:
		// Imm2 = 1 marks the first of an lwl/lwr pair, whose merge reads
		// only garbage that the second instruction overwrites.
		if in.Imm2 == 1 {
			return append(uses, &in.Rs), append(defs, &in.Rt)
		}
		return append(uses, &in.Rs, &in.Rt), append(defs, &in.Rt)
	case FmtStore:
		return append(uses, &in.Rs, &in.Rt), defs
	case FmtSC:
		return append(uses, &in.Rs, &in.Rt), append(defs, &in.Rt)
	case FmtIns:
		return append(uses, &in.Rs, &in.Rt), append(defs, &in.Rt)
	case FmtBranch2:
		return append(uses, &in.Rs, &in.Rt), defs
	case FmtBranch1, FmtJR:
		return append(uses, &in.Rs), defs
	case FmtJALR:
		return append(uses, &in.Rs), append(defs, &in.Rd)
	case FmtMove:
		return append(uses, &in.Rs), append(defs, &in.Rd)
	}
	return uses, defs
}

// String prints the machine function for dumps and filetests: each block
// as a label line (with its successors) and its instructions indented.
func (f *mfunc) String() string {
	var sb strings.Builder
	for _, b := range f.blocks {
		fmt.Fprintf(&sb, ".L%d:", b.label)
		if len(b.succs) > 0 {
			sb.WriteString(" ->")
			for _, s := range b.succs {
				fmt.Fprintf(&sb, " .L%d", s.label)
			}
		}
		switch {
		case b.ret:
			sb.WriteString(" ret")
		case b.tail:
			sb.WriteString(" tail")
		}
		sb.WriteByte('\n')
		for _, in := range b.insts {
			fmt.Fprintf(&sb, "    %s\n", in)
		}
	}
	return sb.String()
}

// formatInsts prints final instructions: labels flush left, the rest
// indented.
func formatInsts(insts []Inst) string {
	var sb strings.Builder
	for _, in := range insts {
		if in.Op != LABEL {
			sb.WriteString("    ")
		}
		sb.WriteString(in.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}
