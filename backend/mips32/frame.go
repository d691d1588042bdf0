package mips32

import "fmt"

// The O32 frame of a compiled program, from sp upward after the prologue:
//
//	sp_in →  +------------------------------+  (the caller's frame; its home area
//	         | saved ra, fp, s0..s7 (used)  |   for our a0..a3 lies just above sp_in)
//	r10   →  +------------------------------+  frameTop, 8-byte aligned
//	         | BPF stack, 512 bytes         |  (only when the program uses r10)
//	         +------------------------------+
//	         | local scratch slots, 8 each  |  (ir.Func.NumLocals)
//	         +------------------------------+
//	         | spill slots, 4 each          |
//	         +------------------------------+
//	         | outgoing arguments: 16-byte  |  (only when the program calls)
//	         | home area + stack words      |
//	sp    →  +------------------------------+  8-byte aligned
//
// A leaf program that uses neither r10 nor spill slots nor callee-saved
// registers has no frame at all.

type frame struct {
	size      int
	spillBase int
	localBase int
	frameTop  int
	saves     []savedReg
}

type savedReg struct {
	reg Reg
	off int
}

const bpfStackSize = 512

func layoutFrame(m *mfunc, numSpillSlots int, calleeSaved []Reg) (*frame, error) {
	fr := &frame{}
	off := m.outArgs
	fr.spillBase = off
	off += 4 * numSpillSlots
	off = (off + 7) &^ 7
	fr.localBase = off
	off += 8 * m.locals
	if m.usesFP {
		off += bpfStackSize
	}
	fr.frameTop = off
	var regs []Reg
	if m.hasCall {
		regs = append(regs, RA)
	}
	regs = append(regs, calleeSaved...)
	for _, r := range regs {
		fr.saves = append(fr.saves, savedReg{r, off})
		off += 4
	}
	fr.size = (off + StackAlign - 1) &^ (StackAlign - 1)
	if fr.size > 32767 {
		return nil, fmt.Errorf("%s: stack frame of %d bytes exceeds the 32 KiB that 16-bit offsets reach", m.name, fr.size)
	}
	return fr, nil
}

// resolve turns the frame markers of an instruction into sp offsets.
func (fr *frame) resolve(in *Inst) {
	switch in.Reloc {
	case relocFrameTop:
		in.Imm += int32(fr.frameTop)
	case relocLocal:
		in.Imm += int32(fr.localBase)
	case relocSpill:
		in.Imm += int32(fr.spillBase)
	case relocIncoming:
		in.Imm += int32(fr.size)
	default:
		return
	}
	in.Reloc = RelocNone
}

func (fr *frame) prologue() []Inst {
	if fr.size == 0 {
		return nil
	}
	out := []Inst{{Op: ADDIU, Rt: SP, Rs: SP, Imm: -int32(fr.size)}}
	for _, s := range fr.saves {
		out = append(out, Inst{Op: SW, Rt: s.reg, Rs: SP, Imm: int32(s.off)})
	}
	return out
}

// epilogue restores saved registers and returns; the stack adjustment
// sits in the delay slot of jr.
func (fr *frame) epilogue() []Inst { return fr.leave(RA) }

// leave restores saved registers, frees the frame and jumps to the
// address in reg (ra to return, t9 to tail-call), the stack adjustment in
// the delay slot of jr.
func (fr *frame) leave(reg Reg) []Inst {
	var out []Inst
	for _, s := range fr.saves {
		out = append(out, Inst{Op: LW, Rt: s.reg, Rs: SP, Imm: int32(s.off)})
	}
	out = append(out, Inst{Op: JR, Rs: reg})
	if fr.size == 0 {
		return append(out, Inst{Op: NOP})
	}
	return append(out, Inst{Op: ADDIU, Rt: SP, Rs: SP, Imm: int32(fr.size)})
}
