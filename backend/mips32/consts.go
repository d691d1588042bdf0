package mips32

import "sort"

// Constant loads between selection and allocation. Selection loads a
// constant next to each use (li, a pseudo-instruction until allocation
// ends), which keeps live ranges short but repeats the load, two
// instructions for most 32-bit constants, on every pass through a loop.
// hoistConstants is loop-invariant code motion for these loads alone, as
// GCC's and LLVM's LICM do for them:
//
//   - in every loop with a preheader (the header's one predecessor outside
//     the loop, which has no other successor), each li of a virtual
//     register defined nowhere else moves to the end of the preheader;
//     loops are taken innermost first, so a load climbs out of a nest one
//     level at a time;
//   - in every block, li's of the same constant merge into the first one
//     (the others' registers are renamed to its register).
//
// A hoisted constant holds a register across its loop. Where registers
// run out, the allocator rematerializes it (reloads it with li at each
// use, regalloc.go) instead of giving it a stack slot, so hoisting never
// makes the loop slower than reloading at each use. It can make the
// function slower when the loop rarely runs and the register held pushes
// another value into a callee-saved register (one save and restore more);
// GCC's static estimate, ten iterations a loop, is what the spill weights
// assume as well.

func hoistConstants(m *mfunc, nest *loopNest) {
	single := singleLIs(m, func(b *mblock) []Inst { return b.insts })
	movable := func(in *Inst) bool {
		_, ok := single[in.Rt]
		return in.Op == LI && ok
	}

	preds := make([][]*mblock, len(m.blocks))
	for _, b := range m.blocks {
		for _, s := range b.succs {
			preds[s.label] = append(preds[s.label], b)
		}
	}
	loops := append([]machineLoop(nil), nest.loops...)
	sort.SliceStable(loops, func(i, j int) bool { return len(loops[i].blocks) < len(loops[j].blocks) })
	for _, lp := range loops {
		pre := preheader(m, lp, preds[lp.header])
		if pre == nil {
			continue
		}
		var hoisted []Inst
		for _, l := range lp.blocks {
			m.blocks[l].removeInsts(func(in *Inst) bool {
				if movable(in) {
					hoisted = append(hoisted, *in)
					return true
				}
				return false
			})
		}
		pre.insertBeforeBranch(hoisted)
	}

	// Merge equal constants within each block.
	rename := map[Reg]Reg{}
	for _, b := range m.blocks {
		first := map[int32]Reg{}
		b.removeInsts(func(in *Inst) bool {
			if !movable(in) {
				return false
			}
			if r, ok := first[in.Imm]; ok {
				rename[in.Rt] = r
				return true
			}
			first[in.Imm] = in.Rt
			return false
		})
	}
	if len(rename) == 0 {
		return
	}
	var uses []*Reg
	for _, b := range m.blocks {
		for k := range b.insts {
			uses, _ = operands(&b.insts[k], uses[:0], nil)
			for _, u := range uses {
				if r, ok := rename[*u]; ok {
					*u = r
				}
			}
		}
	}
}

// singleLIs maps each virtual register defined exactly once, by an li, to
// its constant. code gives a block's instructions: as selected, or (for
// the allocation checker) their forms before allocation.
func singleLIs(m *mfunc, code func(*mblock) []Inst) map[Reg]int32 {
	defs := map[Reg]int{}
	constants := map[Reg]int32{}
	var uses, ds []*Reg
	for _, b := range m.blocks {
		insts := code(b)
		for k := range insts {
			in := &insts[k]
			uses, ds = operands(in, uses[:0], ds[:0])
			for _, d := range ds {
				defs[*d]++
			}
			if in.Op == LI && in.Rt.IsVirtual() && in.Reloc != relocRemat {
				constants[in.Rt] = in.Imm
			}
		}
	}
	for r := range constants {
		if defs[r] != 1 {
			delete(constants, r)
		}
	}
	return constants
}

// preheader returns the block through which control enters the loop from
// outside, or nil when there is no single such block that leads only to
// the header. Loops of LL/SC sequences are left alone.
func preheader(m *mfunc, lp machineLoop, headerPreds []*mblock) *mblock {
	in := map[int]bool{}
	for _, l := range lp.blocks {
		in[l] = true
		if isLLSCBlock(m.blocks[l]) {
			return nil
		}
	}
	var pre *mblock
	for _, b := range headerPreds {
		if in[b.label] {
			continue
		}
		if pre != nil || len(b.succs) != 1 || b.glued {
			return nil
		}
		pre = b
	}
	return pre
}

// removeInsts deletes the instructions drop selects, keeping the call
// sites' indices right.
func (b *mblock) removeInsts(drop func(*Inst) bool) {
	out := b.insts[:0]
	removed, next := 0, 0
	for k := range b.insts {
		if next < len(b.calls) && b.calls[next].index == k {
			b.calls[next].index -= removed
			next++
		}
		if drop(&b.insts[k]) {
			removed++
			continue
		}
		out = append(out, b.insts[k])
	}
	b.insts = out
}

// insertBeforeBranch adds insts at the end of the block, before its final
// branch and delay slot if it has one.
func (b *mblock) insertBeforeBranch(insts []Inst) {
	if len(insts) == 0 {
		return
	}
	at := len(b.insts)
	if at >= 2 && b.insts[at-1].Op == NOP && isBranchFormat(b.insts[at-2].Op.Info().Format) {
		at -= 2
	}
	rest := append(append([]Inst(nil), insts...), b.insts[at:]...)
	b.insts = append(b.insts[:at], rest...)
}
