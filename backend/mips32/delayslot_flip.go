package mips32

// Branch reversal over jumps, on final code. A conditional branch whose
// fall-through is an unconditional jump (a loop's latch: exit on the
// condition, else back to the header)
//
//	    bCOND  x, E              bINV   x, H
//	    S1                       S
//	L:  b      H          →      (b E; nop, unless E follows)
//	    S2
//	E:
//
// runs four instructions on its way to H where the reversed branch runs
// two, and when E follows (the usual layout, since the jump block sits
// between the latch and the loop's exit) none more on the way to E. The
// slot S keeps S1 when S2 is a nop; otherwise it takes S2, which then
// also runs on the way to E: S2 must be speculable and write nothing live
// at E. When S1 is no nop either, it moves up before the branch (if it
// writes nothing the branch reads), and the way to E runs one
// instruction more. L must be reached only by falling through. Where the
// way to E gets longer (a jump more when E does not follow, or the moved
// S1), the reversal is made only for a backward H: a loop's back edge,
// the likelier way.

// flipBranches applies the reversal wherever it fits; live is
// liveAtLabels of insts (still an upper bound afterwards: the reversal
// adds no label and runs S2 only where a path to it existed).
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
		if j+1 >= len(insts) || insts[j].Op != B {
			out = append(out, in)
			continue
		}
		s1, s2, head, exit := insts[i+1], insts[j+1], insts[j].Target, in.Target
		exitFollows := j+2 < len(insts) && insts[j+2].Op == LABEL && insts[j+2].Target == exit
		var hoist []Inst // S1 moved above the branch
		slot := s1
		switch {
		case head == exit || (!exitFollows && !defined[head]):
			out = append(out, in)
			continue
		case s2.Op == NOP:
		case !speculable(&s2) || regMask(defsOf(&s2))&live[exit] != 0:
			out = append(out, in)
			continue
		case s1.Op != NOP:
			// S1 and S2 both run on the way to E now: one more there.
			if !defined[head] {
				out = append(out, in)
				continue
			}
			if uses, _ := operands(&in, nil, nil); regMask(defsOf(&s1))&regMask(uses) != 0 {
				out = append(out, in)
				continue
			}
			hoist, slot = []Inst{s1}, s2
		default:
			slot = s2
		}
		br := invertBranch(in)
		br.Target = head
		out = append(append(out, hoist...), br, slot)
		if !exitFollows {
			out = append(out, Inst{Op: B, Target: exit}, Inst{Op: NOP})
		}
		i = j + 1
	}
	return out
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
