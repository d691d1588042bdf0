package mips32

import "fmt"

// checkAllocation is an independent check of the register allocator, after
// Cranelift's regalloc2 checker: it replays the allocated code abstractly,
// tracking which virtual register each physical register and spill slot
// holds, and fails when an instruction reads a location that does not hold
// the virtual register the unallocated instruction read.
//
// The state at a block's entry is the meet (agreement) of its
// predecessors' exit states, iterated to a fixed point over loops. Calls
// clobber the caller-saved and scratch registers; spill loads and stores
// copy between a slot and a register. It proves the allocation against the
// instruction selector's own code, so it is run in tests and fuzzing
// (Options.CheckAllocation), not in production compiles.
func checkAllocation(m *mfunc, numSlots int) error {
	nloc := int(NumGPR) + numSlots
	in := make([][]Reg, len(m.blocks)) // nil: not reached yet (top)
	preds := make([][]*mblock, len(m.blocks))
	for _, b := range m.blocks {
		for _, s := range b.succs {
			preds[s.label] = append(preds[s.label], b)
		}
	}
	// The constant each li defines, for the rematerialized loads; a
	// register defined more than once has none.
	constants := singleLIs(m, func(b *mblock) []Inst { return b.orig })
	out := make([][]Reg, len(m.blocks))
	in[0] = make([]Reg, nloc)
	for changed := true; changed; {
		changed = false
		for bi, b := range m.blocks {
			state := meet(in[bi], preds[bi], out, nloc)
			if state == nil {
				continue
			}
			in[bi] = state
			cur := append([]Reg(nil), state...)
			if err := replayBlock(b, cur, constants); err != nil {
				return fmt.Errorf("%s: allocation check: block %d: %w", m.name, b.label, err)
			}
			if !equalRegs(out[bi], cur) {
				out[bi] = cur
				changed = true
			}
		}
	}
	return nil
}

// meet combines the exit states of the visited predecessors: a location
// keeps its virtual register only where all of them agree.
func meet(entry []Reg, preds []*mblock, out [][]Reg, nloc int) []Reg {
	var res []Reg
	if entry != nil && len(preds) == 0 {
		return entry // the function's entry block
	}
	for _, p := range preds {
		o := out[p.label]
		if o == nil {
			continue
		}
		if res == nil {
			res = append([]Reg(nil), o...)
			continue
		}
		for i := range res {
			if res[i] != o[i] {
				res[i] = 0
			}
		}
	}
	if res == nil && entry != nil {
		return make([]Reg, nloc)
	}
	return res
}

func equalRegs(a, b []Reg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isSpillCode(in *Inst) bool { return in.Reloc == relocSpill && in.Rs == SP }

func replayBlock(b *mblock, state []Reg, constants map[Reg]int32) error {
	var pu, pd, ou, od []*Reg
	nextCall := 0
	for k := range b.insts {
		post, pre := &b.insts[k], &b.orig[k]
		if post.Op == LI && post.Reloc == relocRemat {
			if c, ok := constants[post.Rs]; !ok || c != post.Imm {
				return fmt.Errorf("instruction %d (%s) rematerializes %s, which is not the constant %#x", k, post, post.Rs, uint32(post.Imm))
			}
			state[post.Rt] = post.Rs
			continue
		}
		if isSpillCode(post) && pre.Op == MOVE {
			if err := replayMoveSpill(post, pre, state); err != nil {
				return fmt.Errorf("instruction %d (%s): %w", k, post, err)
			}
			continue
		}
		if isSpillCode(post) {
			slot := int(NumGPR) + int(post.Imm/4)
			if post.Op == LW {
				state[post.Rt] = state[slot]
			} else {
				state[slot] = state[post.Rt]
			}
			continue
		}
		pu, pd = operands(post, pu[:0], pd[:0])
		ou, od = operands(pre, ou[:0], od[:0])
		if len(pu) != len(ou) || len(pd) != len(od) || post.Op != pre.Op {
			return fmt.Errorf("instruction %d (%s): shape changed by allocation", k, post.Op)
		}
		for i, u := range ou {
			if u.IsVirtual() && state[*pu[i]] != *u {
				return fmt.Errorf("instruction %d (%s) reads %s from %s, which holds %s",
					k, post, *u, *pu[i], describe(state[*pu[i]]))
			}
			if !u.IsVirtual() && *u != *pu[i] {
				return fmt.Errorf("instruction %d (%s): fixed register %s became %s", k, post, *u, *pu[i])
			}
		}
		if nextCall < len(b.calls) && b.calls[nextCall].index == k {
			for _, r := range CallerSaved {
				state[r] = 0
			}
			for _, r := range ScratchRegs {
				state[r] = 0
			}
			nextCall++
		}
		for i, d := range od {
			if d.IsVirtual() {
				state[*pd[i]] = *d
			} else {
				state[*pd[i]] = 0
			}
		}
	}
	return nil
}

// replayMoveSpill replays a move the allocator folded into spill code: a
// store from the source's register to the destination's slot, or a load
// from the source's slot to the destination's register.
func replayMoveSpill(post, pre *Inst, state []Reg) error {
	slot := int(NumGPR) + int(post.Imm/4)
	from, to, reg := slot, int(post.Rt), pre.Rd
	if post.Op == SW {
		from, to, reg = int(post.Rt), slot, pre.Rs
	}
	if !reg.IsVirtual() && reg != post.Rt {
		return fmt.Errorf("fixed register %s became %s", reg, post.Rt)
	}
	if pre.Rs.IsVirtual() && state[from] != pre.Rs {
		return fmt.Errorf("copies %s from a location holding %s", pre.Rs, describe(state[from]))
	}
	state[to] = 0
	if pre.Rd.IsVirtual() {
		state[to] = pre.Rd
	}
	return nil
}

func describe(r Reg) string {
	if r == 0 {
		return "nothing known"
	}
	return r.String()
}
