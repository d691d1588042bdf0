package mips32

// Delay-slot filling. Instruction selection puts a nop after every branch;
// this pass moves an earlier instruction of the same straight-line run
// into the slot when that changes nothing: the instruction runs on every
// path through the branch either way, so it only has to be independent of
// the branch and of the instructions it moves past. It looks back a few
// instructions (slotWindow), so that the compare feeding a branch does not
// keep the slot empty when the work before the compare could fill it. It
// runs on a function's final instructions (physical registers, frame
// resolved), before assembly; long-branch relaxation keeps a filled slot's
// instruction on both paths (assemble.go).

// slotWindow is how far back the filler looks for a candidate.
const slotWindow = 8

func fillDelaySlots(insts []Inst) []Inst {
	out := make([]Inst, 0, len(insts))
	for i := 0; i < len(insts); i++ {
		in := insts[i]
		if in.Op == NOP && i > 0 && insts[i-1].Op.HasDelaySlot() {
			// out[n-1] is the branch.
			if j := slotCandidate(out); j >= 0 {
				cand := out[j]
				out = append(out[:j], out[j+1:]...)
				out = append(out, cand)
				continue
			}
		}
		out = append(out, in)
	}
	return out
}

// slotCandidate returns the index in out of the instruction to move into
// the delay slot of the branch out[len(out)-1], or -1.
func slotCandidate(out []Inst) int {
	n := len(out)
	br := &out[n-1]
	for j := n - 2; j >= 0 && j >= n-1-slotWindow; j-- {
		cand := &out[j]
		if cand.Op == LABEL || cand.Op.HasDelaySlot() || (j > 0 && out[j-1].Op.HasDelaySlot()) {
			return -1 // the start of the run: a label, or a branch and its slot
		}
		if canFillSlot(cand, br) && movesPast(cand, out[j+1:n-1]) {
			return j
		}
	}
	return -1
}

// movesPast reports whether cand may move below the instructions between:
// no register dependence either way, and no reordering of memory accesses
// or of uses of hi and lo.
func movesPast(cand *Inst, between []Inst) bool {
	cu, cd := operands(cand, nil, nil)
	for k := range between {
		in := &between[k]
		if (touchesMemory(cand) && touchesMemory(in)) || (touchesHiLo(cand) && touchesHiLo(in)) {
			return false
		}
		u, d := operands(in, nil, nil)
		if intersects(cd, u) || intersects(cd, d) || intersects(cu, d) {
			return false
		}
	}
	return true
}

func intersects(a, b []*Reg) bool {
	for _, x := range a {
		for _, y := range b {
			if *x == *y {
				return true
			}
		}
	}
	return false
}

func touchesMemory(in *Inst) bool {
	switch in.Op.Info().Format {
	case FmtLoad, FmtLoadMerge, FmtStore, FmtSC:
		return true
	}
	return in.Op == SYNC
}

// touchesHiLo reports instructions that read or write hi and lo; mul
// leaves them unpredictable on R1 and R2.
func touchesHiLo(in *Inst) bool {
	f := in.Op.Info().Format
	return f == FmtMulDiv || f == FmtMoveHiLo || in.Op == MUL
}

// canFillSlot reports whether cand, before branch br, may move into br's
// delay slot.
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
	}
	return !intersects(cd, bu) && !intersects(bd, cu) && !intersects(bd, cd)
}

// fillFromFallThrough fills the slots still empty after fillDelaySlots,
// of conditional branches, in three steps: it reverses the branches whose
// fall-through is a jump (flipBranches), which takes that jump's slot
// instruction into theirs; fills slots from the fall-through path
// (fillFallThroughSlots); and fills what is left from the branches'
// targets (fillFromTarget).
func fillFromFallThrough(insts []Inst) []Inst {
	live := liveAtLabels(insts)
	return fillFromTarget(fillFallThroughSlots(flipBranches(insts, live), live))
}

// fillFallThroughSlots fills the empty slots of conditional branches
// with an instruction from the start of the fall-through path (GCC's
// reorg does the same): the instruction then also runs when the branch
// is taken, so it must be harmless there. It must not trap, touch memory
// or hi and lo, and what it writes must be dead at the branch target
// (live: liveAtLabels of the physical registers). It must also be
// reached only through this branch: the run it comes from follows the
// slot directly or after a label that no branch names, and it must be
// free to move up past the instructions of the run before it.
func fillFallThroughSlots(insts []Inst, live []uint32) []Inst {
	refs := labelRefs(insts, len(live))
	moved := make([]bool, len(insts)) // taken into an earlier slot
	var passed []Inst
	for i := 0; i+2 < len(insts); i++ {
		if !isCondBranch(insts[i].Op) || insts[i+1].Op != NOP {
			continue
		}
		j := i + 2
		if insts[j].Op == LABEL && refs[insts[j].Target] == 0 {
			j++
		}
		// The candidates: the run of instructions from j, up to a label
		// or branch; one further down moves up past those before it.
		passed = passed[:0]
		for k := j; k < len(insts) && k < j+slotWindow; k++ {
			f := &insts[k]
			if f.Op == LABEL || f.Op.HasDelaySlot() {
				break
			}
			if moved[k] {
				continue
			}
			_, defs := operands(f, nil, nil)
			if speculable(f) && regMask(defs)&live[insts[i].Target] == 0 && movesPast(f, passed) {
				insts[i+1], moved[k] = *f, true
				break
			}
			passed = append(passed, *f)
		}
	}
	out := insts[:0]
	for k := range insts {
		if !moved[k] {
			out = append(out, insts[k])
		}
	}
	return out
}

// speculable reports an instruction that may run on a path where it was
// not meant to: a register operation that cannot trap and leaves memory,
// hi and lo, sp, ra and gp alone.
func speculable(in *Inst) bool {
	switch in.Op.Info().Format {
	case FmtR3, FmtR2, FmtRI, FmtLUI, FmtShift, FmtShiftV, FmtExt, FmtIns, FmtMove, FmtCondMove:
	default:
		return false
	}
	_, defs := operands(in, nil, nil)
	return in.Op != MUL && regMask(defs)&regMask([]*Reg{ptr(SP), ptr(RA), ptr(GP)}) == 0
}

func ptr(r Reg) *Reg { return &r }

// regMask is the set of physical registers among regs, $zero left out.
func regMask(regs []*Reg) uint32 {
	var m uint32
	for _, r := range regs {
		if *r != ZERO && *r < NumGPR {
			m |= 1 << *r
		}
	}
	return m
}

func maskOf(regs ...Reg) uint32 {
	var m uint32
	for _, r := range regs {
		m |= 1 << r
	}
	return m
}

var (
	// exitUses is what is live when the function tail-calls (jr t9): the
	// arguments passed on, and what the caller expects preserved (a
	// superset, which is safe); returnUses when it returns (jr ra): the
	// results and what the caller expects preserved.
	exitUses   = maskOf(V0, V1, A0, A1, A2, A3, T9, SP, RA, GP, S0, S1, S2, S3, S4, S5, S6, S7, FP)
	returnUses = maskOf(V0, V1, SP, RA, GP, S0, S1, S2, S3, S4, S5, S6, S7, FP)
	// callUses and callDefs are what a call reads and may write.
	callUses = maskOf(A0, A1, A2, A3, T9, SP, GP)
	callDefs = maskOf(append([]Reg{AT, T8, T9, RA}, CallerSaved...)...)
)

// liveAtLabels computes, for final code, the physical registers live at
// each label, by backward dataflow iterated to a fixed point.
func liveAtLabels(insts []Inst) []uint32 {
	liveIn, _ := liveness(insts, false)
	return liveIn
}

// liveness computes liveAtLabels and, with atEach, the registers live
// before each instruction (for a delay slot: after its branch has read
// its operands).
func liveness(insts []Inst, atEach bool) (liveIn, before []uint32) {
	n := 0
	for k := range insts {
		if isLabelled(insts[k].Op) {
			n = max(n, insts[k].Target+1)
		}
	}
	liveIn = make([]uint32, n)
	pass := func(record []uint32) (changed bool) {
		var live uint32
		for i := len(insts) - 1; i >= 0; i-- {
			in := &insts[i]
			if in.Op == LABEL {
				if liveIn[in.Target] != live {
					liveIn[in.Target], changed = live, true
				}
				if record != nil {
					record[i] = live
				}
				continue
			}
			slotted := i > 0 && insts[i-1].Op.HasDelaySlot()
			if !slotted {
				uses, defs := operands(in, nil, nil)
				live = live&^regMask(defs) | regMask(uses)
				if record != nil {
					record[i] = live
				}
				continue
			}
			// in is the delay slot of br: br's operands are read, then
			// the slot runs, then control goes where br says.
			br := &insts[i-1]
			switch f := br.Op.Info().Format; {
			case f == FmtBranch1 || f == FmtBranch2:
				live |= liveIn[br.Target]
			case f == FmtJump:
				live = liveIn[br.Target]
			case f == FmtJR && br.Rs == RA:
				live = returnUses
			case f == FmtJR:
				live = exitUses
			default: // a call: jalr, bal
				live = live&^callDefs | callUses
			}
			uses, defs := operands(in, nil, nil)
			live = live&^regMask(defs) | regMask(uses)
			if record != nil {
				record[i] = live
			}
			uses, _ = operands(br, nil, nil)
			live |= regMask(uses)
			if record != nil {
				record[i-1] = live
			}
			i--
		}
		return changed
	}
	for pass(nil) {
	}
	if atEach {
		before = make([]uint32, len(insts))
		pass(before)
	}
	return liveIn, before
}
