package mips32

// Delay-slot filling. Instruction selection puts a nop after every branch;
// this pass moves the instruction just before the branch into the slot
// when that changes nothing: the instruction runs on every path through
// the branch either way, so it only has to be independent of the branch
// itself. It runs on a function's final instructions (physical registers,
// frame resolved), before assembly; long-branch relaxation keeps a filled
// slot's instruction on both paths (assemble.go).

func fillDelaySlots(insts []Inst) []Inst {
	out := make([]Inst, 0, len(insts))
	for i := 0; i < len(insts); i++ {
		in := insts[i]
		if in.Op == NOP && i > 0 && insts[i-1].Op.HasDelaySlot() {
			br := insts[i-1]
			n := len(out)
			// out[n-1] is the branch; out[n-2] the candidate.
			if n >= 2 && canFillSlot(&out[n-2], &br) && (n < 3 || !out[n-3].Op.HasDelaySlot()) {
				cand := out[n-2]
				out[n-2] = br
				out[n-1] = cand
				continue
			}
		}
		out = append(out, in)
	}
	return out
}

// canFillSlot reports whether cand, just before branch br, may move into
// br's delay slot.
func canFillSlot(cand, br *Inst) bool {
	switch cand.Op {
	case LABEL, NOP, SYNC, LL, SC:
		return false // a block boundary, nothing to gain, or an ordering point
	}
	if cand.Op.HasDelaySlot() {
		return false
	}
	cu, cd := operands(cand, nil, nil)
	bu, bd := operands(br, nil, nil)
	if br.Op == JALR || br.Op == BAL {
		bd = append(bd, &[]Reg{RA}[0]) // the link register
	}
	for _, d := range cd {
		if *d == RA {
			return false
		}
		for _, u := range bu {
			if *u == *d {
				return false // the branch reads what cand writes
			}
		}
	}
	for _, d := range bd {
		for _, u := range cu {
			if *u == *d {
				return false // cand reads what the branch writes
			}
		}
		for _, c := range cd {
			if *c == *d {
				return false
			}
		}
	}
	return true
}
