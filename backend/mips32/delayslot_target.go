package mips32

// fillFromTarget fills the slots still empty, of branches and jumps,
// with the first instruction at the branch's target, and points the
// branch past it, at a new label (GCC's reorg "steals from the target"
// the same way): a loop's back edge then runs one instruction less per
// iteration, an early return its value's li in the slot. The target
// keeps the instruction for its other ways in. After a conditional
// branch the instruction also runs now when the branch is not taken, so
// it must be speculable and write nothing live on the fall-through path;
// after a jump it only has to be fit for a slot (canFillSlot).
func fillFromTarget(insts []Inst) []Inst {
	liveIn, before := liveness(insts, true)
	at := make([]int, len(liveIn)) // the index of each label
	for i := range insts {
		if insts[i].Op == LABEL {
			at[insts[i].Target] = i
		}
	}
	nextLabel := len(liveIn)
	past := map[int]int{} // instruction index → the label to put after it
	for i := 0; i+2 < len(insts); i++ {
		br := &insts[i]
		cond := isCondBranch(br.Op)
		if (!cond && br.Op != B) || insts[i+1].Op != NOP {
			continue
		}
		k := at[br.Target]
		for k < len(insts) && insts[k].Op == LABEL {
			k++
		}
		if k == len(insts) {
			continue
		}
		if cand := &insts[k]; (cond && (!speculable(cand) || regMask(defsOf(cand))&before[i+2] != 0)) ||
			(!cond && !canFillSlot(cand, br)) {
			continue
		}
		l, ok := past[k]
		if !ok {
			l, nextLabel = nextLabel, nextLabel+1
			past[k] = l
		}
		insts[i+1], br.Target = insts[k], l
	}
	if len(past) == 0 {
		return insts
	}
	out := make([]Inst, 0, len(insts)+len(past))
	for k := range insts {
		out = append(out, insts[k])
		if l, ok := past[k]; ok {
			out = append(out, Inst{Op: LABEL, Target: l})
		}
	}
	return out
}
