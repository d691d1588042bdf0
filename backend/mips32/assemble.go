package mips32

// The assembler lays out one function, relaxes branches that cannot reach
// their label, and encodes.
//
// Layout is the classic iterate-to-fixpoint relaxation (as in GNU as and the
// Go linker): start with every branch short, compute addresses, mark each
// branch whose word offset does not fit in 16 signed bits as long, and
// repeat. A long branch only grows, so the loop ends after at most one round
// per branch.
//
// A long branch becomes a position-independent jump that needs no frame:
//
//	bcc rs, rt, L; <delay>   →   b!cc rs, rt, skip; <delay>; <long jump to L>; skip:
//	b L; <delay>             →   <delay>; <long jump to L>
//
// The original delay instruction stays in a delay slot (of the inverted
// branch), so it still runs on both paths. The long jump is
//
//	move $t9, $ra          # keep the return address
//	bal  1f                # $ra = address of 1:
//	lui  $at, hi           # (delay slot)  hi/lo = L - 1:, hi rounded for a signed lo
//	1: addiu $at, $at, lo
//	addu $at, $at, $ra
//	jr   $at
//	move $ra, $t9          # (delay slot)
//
// It clobbers only $at and $t9, which are scratch at branch points (regs.go).

import "fmt"

// Assembled is an encoded function.
type Assembled struct {
	Code   []byte  // instruction words in target byte order
	Relocs []Reloc // one per symbolic immediate, offsets into Code
	// Insts is the final instruction list, long-branch expansions and LABELs
	// included, with branch Imm set to the encoded word offset: encoding
	// each non-LABEL element in order yields Code.
	Insts []Inst
	// LabelOffsets maps every label (the caller's and the expansions') to
	// its byte offset in Code.
	LabelOffsets map[int]uint32
}

// longJumpSize is the size in bytes of the long-jump sequence.
const longJumpSize = 7 * 4

// branchRange is the reach of a 16-bit word offset.
const (
	minBranchWords = -1 << 15
	maxBranchWords = 1<<15 - 1
)

// Assemble lays out, relaxes and encodes a function. Branches name their
// label in Target (their Imm is ignored and recomputed); LABEL pseudo
// instructions define labels; every branch or jump is followed by its delay
// slot instruction, which may be neither a branch nor a label.
func Assemble(insts []Inst, t Target) (*Assembled, error) {
	labels, err := checkStructure(insts)
	if err != nil {
		return nil, err
	}
	long, err := relax(insts, labels)
	if err != nil {
		return nil, err
	}
	final, origin, jumps := expand(insts, long, labels)
	a := &Assembled{Insts: final, LabelOffsets: map[int]uint32{}}
	addr := make([]uint32, len(final))
	pc := uint32(0)
	for i, in := range final {
		addr[i] = pc
		if in.Op == LABEL {
			a.LabelOffsets[in.Target] = pc
			continue
		}
		pc += 4
	}
	for i := range final {
		in := &final[i]
		if isLabelBranch(in.Op) {
			in.Imm = wordOffset(addr[i], a.LabelOffsets[in.Target])
		}
	}
	for _, j := range jumps {
		d := int32(a.LabelOffsets[j.target] - a.LabelOffsets[j.anchor])
		lo := int32(int16(d))
		final[j.lui].Imm = int32(uint32(d-lo) >> 16)
		final[j.addiu].Imm = lo
	}
	order := appendOrder(t)
	a.Code = make([]byte, 0, pc)
	for i, in := range final {
		if in.Op == LABEL {
			continue
		}
		w, err := Encode(in, t)
		if err != nil {
			return nil, fmt.Errorf("instruction %d: %w", origin[i], err)
		}
		if in.Reloc != RelocNone {
			a.Relocs = append(a.Relocs, Reloc{Offset: addr[i], Type: in.Reloc, Sym: in.Sym})
		}
		a.Code = order.AppendUint32(a.Code, w)
	}
	return a, nil
}

// isLabelBranch reports the PC-relative branches whose Target is a label.
func isLabelBranch(op Opcode) bool {
	switch op.Info().Format {
	case FmtBranch1, FmtBranch2, FmtJump, FmtBAL:
		return true
	}
	return false
}

// wordOffset is the branch offset from the delay slot of a branch at from to to.
func wordOffset(from, to uint32) int32 { return int32(to-(from+4)) / 4 }

// checkStructure checks labels and delay slots and returns label → index.
func checkStructure(insts []Inst) (map[int]int, error) {
	labels := map[int]int{}
	for i, in := range insts {
		if in.Op != LABEL {
			continue
		}
		if prev, dup := labels[in.Target]; dup {
			return nil, fmt.Errorf("instruction %d: label .L%d already defined at instruction %d", i, in.Target, prev)
		}
		labels[in.Target] = i
	}
	for i, in := range insts {
		if isLabelBranch(in.Op) {
			if _, ok := labels[in.Target]; !ok {
				return nil, fmt.Errorf("instruction %d (%v): undefined label .L%d", i, in, in.Target)
			}
		}
		if !in.Op.HasDelaySlot() {
			continue
		}
		if i+1 == len(insts) {
			return nil, fmt.Errorf("instruction %d (%v): missing delay slot instruction at end of function", i, in)
		}
		switch d := insts[i+1]; {
		case d.Op == LABEL:
			return nil, fmt.Errorf("instruction %d (%v): label .L%d in its delay slot", i, in, d.Target)
		case d.Op.HasDelaySlot():
			return nil, fmt.Errorf("instruction %d (%v): branch %v in its delay slot", i, in, d)
		}
	}
	return labels, nil
}

// relax decides which branches need the long form.
func relax(insts []Inst, labels map[int]int) ([]bool, error) {
	long := make([]bool, len(insts))
	addr := make([]uint32, len(insts))
	for changed := true; changed; {
		changed = false
		pc := uint32(0)
		for i, in := range insts {
			addr[i] = pc
			switch {
			case in.Op == LABEL:
			case long[i] && in.Op == B:
				// replaced by its delay instruction and the long jump
			default:
				pc += 4
			}
			if i > 0 && long[i-1] {
				pc += longJumpSize // after the delay instruction
			}
		}
		for i, in := range insts {
			if !isLabelBranch(in.Op) || long[i] {
				continue
			}
			off := wordOffset(addr[i], addr[labels[in.Target]])
			if off >= minBranchWords && off <= maxBranchWords {
				continue
			}
			if in.Op == BAL {
				return nil, fmt.Errorf("instruction %d (%v): target %d words away is out of bal's range", i, in, off)
			}
			long[i], changed = true, true
		}
	}
	return long, nil
}

// longJump records where the constants of a long jump go.
type longJump struct {
	lui, addiu     int // indices in the final list
	target, anchor int // labels: destination, and the return address of the bal
}

// expand builds the final list: long branches rewritten, fresh labels
// numbered above every label in use. origin maps each final instruction to
// the input instruction it comes from, for error messages.
func expand(insts []Inst, long []bool, labels map[int]int) (final []Inst, origin []int, jumps []longJump) {
	next := 0
	for l := range labels {
		next = max(next, l+1)
	}
	fresh := func() int { next++; return next - 1 }
	emit := func(in Inst, from int) {
		final = append(final, in)
		origin = append(origin, from)
	}
	for i := 0; i < len(insts); i++ {
		in := insts[i]
		if !long[i] {
			emit(in, i)
			continue
		}
		skip := -1
		if in.Op != B {
			skip = fresh()
			inv := in
			inv.Op, inv.Target = branchInverse[in.Op], skip // lower_term.go
			emit(inv, i)
		}
		i++
		emit(insts[i], i) // the delay instruction
		anchor := fresh()
		j := longJump{target: in.Target, anchor: anchor}
		emit(Inst{Op: MOVE, Rd: T9, Rs: RA}, i-1)
		emit(Inst{Op: BAL, Target: anchor}, i-1)
		j.lui = len(final)
		emit(Inst{Op: LUI, Rt: AT}, i-1)
		emit(Inst{Op: LABEL, Target: anchor}, i-1)
		j.addiu = len(final)
		emit(Inst{Op: ADDIU, Rt: AT, Rs: AT}, i-1)
		emit(Inst{Op: ADDU, Rd: AT, Rs: AT, Rt: RA}, i-1)
		emit(Inst{Op: JR, Rs: AT}, i-1)
		emit(Inst{Op: MOVE, Rd: RA, Rs: T9}, i-1)
		if skip >= 0 {
			emit(Inst{Op: LABEL, Target: skip}, i-1)
		}
		jumps = append(jumps, j)
	}
	return final, origin, jumps
}
