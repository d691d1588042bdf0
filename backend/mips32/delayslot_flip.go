package mips32

// Branch reversal over jumps, on final code. A conditional branch whose
// fall-through ends in an unconditional jump (a loop's latch: exit on
// the condition, else copy the back edge's phis and go to the header)
//
//	    bCOND  x, E              S1; M1 … Mk−1
//	    S1                       bINV   x, H
//	L:  M1 … Mk                  Mk (or S2)
//	    b      H          →      (b E; nop, unless E follows)
//	    S2
//	E:
//
// runs k+4 instructions on its way to H where the reversed branch runs
// k+2 (k+3 with S2), and when E follows (the usual layout, since the
// latch sits between the loop and its exit) none more on the way to E
// for k = 0. The copies keep their order, except that the one taking the
// slot is the latest of S1, M1…Mk, S2 free to move past those after it
// (the last, unless only an earlier one writes what the branch reads);
// the others move up before the branch and so must not write what it
// reads. Where one must, and the condition was computed just before the
// branch, it is computed into a free register instead
// (retargetCondition). All but S1 also run on the way to E now: they
// must be speculable and write nothing live at E. L must be reached only
// by falling through. Where the way to E gets longer (a jump more when E
// does not follow, or instructions moved up), the reversal is made only
// for a backward H: a loop's back edge, the likelier way; and only for up
// to maxLatchCopies instructions M, since a loop that runs once pays
// them.

// maxLatchCopies bounds the instructions between the branch's slot and
// the jump that move onto the way to the exit.
const maxLatchCopies = 4

// flipBranches applies the reversal wherever it fits; live is
// liveAtLabels of insts (still an upper bound afterwards: the reversal
// adds no label and runs M and S2 only where a path to them existed).
func flipBranches(insts []Inst, live []uint32) []Inst {
	refs := labelRefs(insts, len(live))
	defined := make([]bool, len(live)) // labels seen so far, the backward targets
	out := make([]Inst, 0, len(insts))
	for i := 0; i < len(insts); i++ {
		in := insts[i]
		if in.Op == LABEL {
			defined[in.Target] = true
		}
		if !isCondBranch(in.Op) || i+1 >= len(insts) {
			out = append(out, in)
			continue
		}
		j := i + 2
		if j < len(insts) && insts[j].Op == LABEL && refs[insts[j].Target] == 0 {
			j++
		}
		copies := j // the instructions M run from copies to j
		for j < len(insts) && j-copies <= maxLatchCopies && isStraight(insts[j].Op) {
			j++
		}
		if j+1 >= len(insts) || insts[j].Op != B || j-copies > maxLatchCopies {
			out = append(out, in)
			continue
		}
		head, exit := insts[j].Target, in.Target
		exitFollows := j+2 < len(insts) && insts[j+2].Op == LABEL && insts[j+2].Target == exit
		moved, ok := latchCopies(&in, insts[i+1], insts[copies:j], insts[j+1], live[exit])
		if !ok && head != exit && defined[head] { // then nothing below refuses
			in, moved, ok = retargetCondition(out, in, insts[i+1], insts[copies:j], insts[j+1], live[exit], live[head])
		}
		longer := len(moved) > 1
		if !ok || head == exit || ((!exitFollows || longer) && !defined[head]) {
			out = append(out, in)
			continue
		}
		br := invertBranch(in)
		br.Target = head
		slot := Inst{Op: NOP}
		if len(moved) > 0 {
			slot = moved[len(moved)-1]
			out = append(out, moved[:len(moved)-1]...)
		}
		out = append(out, br, slot)
		if !exitFollows {
			out = append(out, Inst{Op: B, Target: exit}, Inst{Op: NOP})
		}
		i = j + 1
	}
	return out
}

// latchCopies is what runs on the way to the header once the branch br
// is reversed: its slot s1, the copies ms and the jump's slot s2, nops
// left out, the one for the new slot last. That one is the latest that
// may move past those after it (usually the last; an earlier one when it
// alone writes what br reads); the others run before br reads its
// operands. ok also requires that all but s1 may run on the way to the
// exit too, where exitLive is live.
func latchCopies(br *Inst, s1 Inst, ms []Inst, s2 Inst, exitLive uint32) (moved []Inst, ok bool) {
	for k, c := range append(append([]Inst{s1}, ms...), s2) {
		if c.Op == NOP {
			continue
		}
		if k > 0 && (!speculable(&c) || regMask(defsOf(&c))&exitLive != 0) {
			return nil, false
		}
		moved = append(moved, c)
	}
	if len(moved) == 0 {
		return nil, true
	}
	brUses, _ := operands(br, nil, nil)
	for k := len(moved) - 1; k >= 0; k-- {
		if !movesPast(&moved[k], moved[k+1:]) {
			continue
		}
		rest := append(append([]Inst{}, moved[:k]...), moved[k+1:]...)
		if !writesAny(rest, regMask(brUses)) {
			return append(rest, moved[k]), true
		}
	}
	return nil, false
}

// retargetCondition handles the latch whose copy overwrites the register
// r the branch tests (the allocator reuses a dead phi's register for the
// condition): the instruction that computes r just before the branch
// writes a free register x instead, and the branch tests x. x is one no
// instruction from there on touches and that is dead at both targets; r
// must be dead at the exit, and the copies must not read it. On success
// it rewrites that instruction in out and returns the branch that tests x
// with latchCopies' answer for it; otherwise br unchanged and ok false.
func retargetCondition(out []Inst, br, s1 Inst, ms []Inst, s2 Inst, exitLive, headLive uint32) (Inst, []Inst, bool) {
	brUses, _ := operands(&br, nil, nil)
	copies := append(append([]Inst{s1}, ms...), s2)
	var written, read, touched uint32
	for k := range copies {
		uses, defs := operands(&copies[k], nil, nil)
		written |= regMask(defs)
		read |= regMask(uses)
		touched |= regMask(uses) | regMask(defs)
	}
	r := regMask(brUses) & written
	if r == 0 || r&(r-1) != 0 || r&(exitLive|read) != 0 {
		return br, nil, false
	}
	touched |= regMask(brUses) | exitLive | headLive
	// The computing instruction: the last one in the straight run before
	// br that touches r, and it only writes r.
	for k := len(out) - 1; k >= 0 && isStraight(out[k].Op) && (k == 0 || !out[k-1].Op.HasDelaySlot()); k-- {
		uses, defs := operands(&out[k], nil, nil)
		touched |= regMask(uses) | regMask(defs)
		if regMask(uses)&r != 0 {
			return br, nil, false
		}
		if regMask(defs)&r == 0 {
			continue
		}
		if len(defs) != 1 || !speculable(&out[k]) {
			return br, nil, false
		}
		for _, x := range CallerSaved {
			if maskOf(x)&touched != 0 {
				continue
			}
			def, test := out[k], br
			_, ds := operands(&def, nil, nil)
			*ds[0] = x
			us, _ := operands(&test, nil, nil)
			for _, u := range us {
				if maskOf(*u) == r {
					*u = x
				}
			}
			moved, ok := latchCopies(&test, s1, ms, s2, exitLive)
			if ok {
				out[k] = def
				return test, moved, true
			}
			return br, nil, false
		}
		return br, nil, false
	}
	return br, nil, false
}

// writesAny reports whether one of insts writes a register of mask.
func writesAny(insts []Inst, mask uint32) bool {
	for k := range insts {
		if regMask(defsOf(&insts[k]))&mask != 0 {
			return true
		}
	}
	return false
}

// isStraight reports an instruction that neither branches nor is a label.
func isStraight(op Opcode) bool {
	return op != LABEL && !op.HasDelaySlot()
}

// labelRefs counts the branches to each label (a bal to another function
// has none yet).
func labelRefs(insts []Inst, labels int) []int {
	refs := make([]int, labels)
	for k := range insts {
		if in := &insts[k]; isLabelled(in.Op) && in.Op != LABEL && in.Target >= 0 {
			refs[in.Target]++
		}
	}
	return refs
}

func defsOf(in *Inst) []*Reg {
	_, defs := operands(in, nil, nil)
	return defs
}
