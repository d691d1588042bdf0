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
//   - an li of a constant loaded shortly before, earlier in its block or
//     in a dominating block (the copies of an unrolled loop load the
//     same constants), merges into that one: its register is renamed
//     (mergeConstants). Not across a call, nor over more than
//     mergeWindow instructions: the register held would cost more than
//     the load.
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

	rename := mergeConstants(m, movable)
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

// mergeConstants merges equal constants down the dominator tree: an li
// whose constant an li above it in its block or in a dominating block
// has loaded, less than mergeWindow instructions before and with no call
// between (a constant held across a call needs a callee-saved register,
// dearer than loading it again), goes; it returns the renaming of the
// registers of the li's removed.
func mergeConstants(m *mfunc, movable func(*Inst) bool) map[Reg]Reg {
	rename := map[Reg]Reg{}
	if len(m.blocks) == 0 {
		return rename
	}
	idom := machineIdoms(m)
	children := make([][]*mblock, len(m.blocks))
	for _, b := range m.blocks {
		if d := idom[b.label]; d >= 0 && d != b.label {
			children[d] = append(children[d], b)
		}
	}
	type load struct {
		reg Reg
		at  int // instructions from the entry along the dominator path
	}
	type undo struct {
		c    int32
		prev load
		had  bool
	}
	type visit struct {
		b          *mblock
		at, callAt int
		undoFrom   int // -1 before the block is entered; after, where its undo entries start
	}
	loaded := map[int32]load{}
	var log []undo
	stack := []visit{{m.blocks[0], 0, 0, -1}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.undoFrom >= 0 { // leaving: restore what the block changed
			for len(log) > top.undoFrom {
				u := log[len(log)-1]
				log = log[:len(log)-1]
				if u.had {
					loaded[u.c] = u.prev
				} else {
					delete(loaded, u.c)
				}
			}
			stack = stack[:len(stack)-1]
			continue
		}
		top.undoFrom = len(log)
		b, at, callAt := top.b, top.at, top.callAt
		b.removeInsts(func(in *Inst) bool {
			at++
			if in.Op == JALR || in.Op == BAL {
				callAt = at
			}
			if !movable(in) {
				return false
			}
			if l, ok := loaded[in.Imm]; ok && at-l.at <= mergeWindow && l.at > callAt {
				rename[in.Rt] = l.reg
				return true
			}
			prev, had := loaded[in.Imm]
			log = append(log, undo{in.Imm, prev, had})
			loaded[in.Imm] = load{in.Rt, at}
			return false
		})
		for _, c := range children[b.label] {
			stack = append(stack, visit{c, at, callAt, -1})
		}
	}
	return rename
}

// mergeWindow is how far (in instructions along the dominator path) a
// constant's register is reused rather than the constant loaded again:
// near enough for the copies of an unrolled loop, not so far that the
// register, held across, costs a callee-saved register (arp_reply's
// 256, reused 86 instructions on, did).
const mergeWindow = 40

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

// machineIdoms returns each block's immediate dominator (by label; the
// entry its own, -1 for a block the entry does not reach), by Cooper,
// Harvey and Kennedy's iteration over reverse postorder ("A simple,
// fast dominance algorithm", 2001).
func machineIdoms(m *mfunc) []int {
	n := len(m.blocks)
	idom := make([]int, n)
	for i := range idom {
		idom[i] = -1
	}
	if n == 0 {
		return idom
	}
	order := make([]int, 0, n) // postorder
	seen := make([]bool, n)
	type frame struct {
		b    *mblock
		next int
	}
	stack := []frame{{m.blocks[0], 0}}
	seen[0] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == len(top.b.succs) {
			order = append(order, top.b.label)
			stack = stack[:len(stack)-1]
			continue
		}
		s := top.b.succs[top.next]
		top.next++
		if !seen[s.label] {
			seen[s.label] = true
			stack = append(stack, frame{s, 0})
		}
	}
	po := make([]int, n) // postorder number by label
	for i, l := range order {
		po[l] = i
	}
	preds := make([][]int, n)
	for _, b := range m.blocks {
		for _, s := range b.succs {
			preds[s.label] = append(preds[s.label], b.label)
		}
	}
	intersect := func(a, b int) int {
		for a != b {
			for po[a] < po[b] {
				a = idom[a]
			}
			for po[b] < po[a] {
				b = idom[b]
			}
		}
		return a
	}
	idom[0] = 0
	for changed := true; changed; {
		changed = false
		for i := len(order) - 2; i >= 0; i-- { // reverse postorder, entry (last) left out
			l := order[i]
			d := -1
			for _, p := range preds[l] {
				if idom[p] < 0 {
					continue
				}
				if d < 0 {
					d = p
				} else {
					d = intersect(p, d)
				}
			}
			if d != idom[l] {
				idom[l], changed = d, true
			}
		}
	}
	return idom
}
