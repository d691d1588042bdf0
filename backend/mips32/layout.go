package mips32

import "fmt"

// Block layout and branch clean-up, after register allocation.
//
// Instruction selection lays blocks out in the IR's reverse postorder and
// ends each with the branches that order needs; allocation then removes
// the moves it coalesced, which often leaves a block that only jumps. This
// pass takes each block apart into a body and a terminator (fall through,
// jump, conditional branch with an else, or exit: a return or tail call,
// whose epilogue is part of the body), and then, as GCC's bb-reorder and
// jump optimizations do:
//
//  1. threads branches through blocks that only jump (forwarders) and
//     drops those blocks;
//  2. predicts branches statically, after Ball and Larus ("Branch
//     prediction for free", PLDI 1993): where one successor of a
//     conditional branch leads straight (by jumps alone) to an exit and
//     the other does not, the exit path is unlikely. Unlikely blocks, and
//     blocks only they reach, are cold;
//  3. merges identical blocks that are cold or lead to an exit by jumps
//     alone (the many "return -1" paths of a packet parser become one):
//     the copies' labels lead to the one kept, and a fall-through into a
//     copy becomes a jump or, for a small exit, a copy again (step 5);
//  4. orders the blocks: the hot ones in their original order, which
//     keeps each loop together and puts a branch's likely successor
//     next, then the cold ones;
//  5. emits each terminator for that order: nothing for a jump to the
//     next block, an inverted conditional branch when the taken side
//     comes next, and in place of a jump to a small exit block a copy of
//     it (return duplication), so that the early returns of a parser cost
//     no jump.
//
// Reordering after allocation is sound because the allocator keeps every
// virtual register in one place for its whole life (no splitting): the
// register state on an edge does not depend on where its blocks lie.
// Blocks marked glued (LL/SC sequences) keep their successor next and
// their branches as they are.

type termKind uint8

const (
	termFall termKind = iota // continues at next, wherever it is laid out
	termJump                 // jumps to next (an explicit b)
	termCond                 // br to br.Target, else next
	termExit                 // returns or tail-calls: the body ends in jr and its delay slot
)

type codeBlock struct {
	label int
	body  []Inst // without the final branches and their delay-slot nops
	kind  termKind
	br    Inst // termCond: the conditional branch
	next  int  // termFall, termJump, termCond: the label reached otherwise
	glued bool // must be laid out directly before next
	cold  bool
	// exitPath marks a block that reaches an exit by jumps alone.
	exitPath bool
}

// dupLimit is the largest exit block (instructions, the delay slot
// included) copied in place of a jump to it.
const dupLimit = 5

// buildCodeBlocks splits the allocated blocks into bodies and
// terminators, resolving frame offsets, dropping coalesced moves and the
// definitions of rematerialized constants, expanding li and appending the
// epilogues.
func buildCodeBlocks(m *mfunc, fr *frame) ([]*codeBlock, error) {
	blocks := make([]*codeBlock, len(m.blocks))
	for i, b := range m.blocks {
		if b.label != i {
			return nil, fmt.Errorf("%s: block %d labelled %d", m.name, i, b.label)
		}
		cb := &codeBlock{label: i, glued: b.glued, next: -1}
		for k := range b.insts {
			in := b.insts[k]
			if in.Op == MOVE && in.Rd == in.Rs && (k == 0 || !b.insts[k-1].Op.HasDelaySlot()) {
				continue // coalesced by the allocator
			}
			if in.Op == LI {
				if in.Reloc != relocRematDef {
					cb.body = append(cb.body, expandLI(in.Rt, uint32(in.Imm))...)
				}
				continue
			}
			fr.resolve(&in)
			cb.body = append(cb.body, in)
		}
		blocks[i] = cb
		switch {
		case b.ret:
			cb.body, cb.kind = append(cb.body, fr.epilogue()...), termExit
			continue
		case b.tail:
			cb.body, cb.kind = append(cb.body, fr.leave(T9)...), termExit
			continue
		}
		if i+1 < len(m.blocks) {
			cb.next = i + 1
		}
		if n := len(cb.body); n >= 2 && cb.body[n-1].Op == NOP && cb.body[n-2].Op == B {
			cb.kind, cb.next = termJump, cb.body[n-2].Target
			cb.body = cb.body[:n-2]
		}
		if n := len(cb.body); n >= 2 && cb.body[n-1].Op == NOP && isCondBranch(cb.body[n-2].Op) {
			cb.kind, cb.br = termCond, cb.body[n-2]
			cb.body = cb.body[:n-2]
		}
		if cb.next < 0 {
			return nil, fmt.Errorf("%s: block %d falls off the end of the function", m.name, i)
		}
	}
	return blocks, nil
}

func isCondBranch(op Opcode) bool {
	f := op.Info().Format
	return f == FmtBranch1 || f == FmtBranch2
}

// layoutBlocks orders the blocks and emits them with their terminators.
// blocks[0] is the entry and stays first. Without optimize (-O0) the
// blocks keep their order and no jump is threaded or block merged.
func layoutBlocks(blocks []*codeBlock, optimize bool) []Inst {
	gluedNext := make([]bool, len(blocks))
	for _, b := range blocks {
		if b.glued {
			gluedNext[b.next] = true
		}
	}
	live := make([]bool, len(blocks))
	if optimize {
		live = threadJumps(blocks, gluedNext)
		markCold(blocks, live, gluedNext)
		mergeBlocks(blocks, live, gluedNext)
	} else {
		for i := range live {
			live[i] = true // emitting drops the blocks nothing branches to
		}
	}

	var order []*codeBlock
	placed := make([]bool, len(blocks))
	place := func(b *codeBlock) {
		for {
			order = append(order, b)
			placed[b.label] = true
			if !b.glued {
				return
			}
			b = blocks[b.next]
		}
	}
	for _, cold := range []bool{false, true} {
		for _, b := range blocks {
			if live[b.label] && b.cold == cold && !gluedNext[b.label] && !placed[b.label] {
				place(b)
			}
		}
	}
	// Emitting may copy exit blocks in place of every jump to them; drop
	// the blocks nothing reaches any more and emit again.
	for {
		insts, refs := emitBlocks(blocks, order)
		kept := order[:1]
		for _, b := range order[1:] {
			if refs[b.label] > 0 {
				kept = append(kept, b)
			}
		}
		if len(kept) == len(order) {
			return insts
		}
		order = kept
	}
}

// threadJumps retargets every branch to a forwarder (a block with an empty
// body that only jumps) at the forwarder's final destination and reports
// which blocks are still reachable by label.
func threadJumps(blocks []*codeBlock, gluedNext []bool) []bool {
	isForwarder := func(b *codeBlock) bool {
		return b.label != 0 && len(b.body) == 0 && (b.kind == termFall || b.kind == termJump) &&
			!b.glued && !gluedNext[b.label]
	}
	final := func(l int) int {
		for steps := 0; isForwarder(blocks[l]) && steps < len(blocks); steps++ {
			l = blocks[l].next
		}
		return l
	}
	live := make([]bool, len(blocks))
	live[0] = true
	for _, b := range blocks {
		if isForwarder(b) {
			continue
		}
		if b.kind != termExit {
			b.next = final(b.next)
			live[b.next] = true
		}
		if b.kind == termCond {
			b.br.Target = final(b.br.Target)
			live[b.br.Target] = true
			if b.br.Target == b.next && !b.glued {
				b.kind = termJump // both ways lead to the same place
			}
		}
	}
	// A forwarder that survives is one a cycle of forwarders leads into
	// (an empty infinite loop); keep what it jumps to as well.
	for _, b := range blocks {
		if live[b.label] && isForwarder(b) {
			live[b.next] = true
		}
	}
	return live
}

// markCold marks the unlikely blocks: a successor of a conditional branch
// that leads straight to an exit while the other successor does not, and
// any block reached only from cold blocks.
func markCold(blocks []*codeBlock, live, gluedNext []bool) {
	exitLike := make([]int8, len(blocks)) // 0 unknown, 1 yes, -1 no or in progress
	var leadsToExit func(l int) bool
	leadsToExit = func(l int) bool {
		if exitLike[l] == 0 {
			exitLike[l] = -1
			b := blocks[l]
			if b.kind == termExit || ((b.kind == termJump || b.kind == termFall) && leadsToExit(b.next)) {
				exitLike[l] = 1
			}
		}
		return exitLike[l] == 1
	}
	preds := make([][]*codeBlock, len(blocks))
	for _, b := range blocks {
		if !live[b.label] {
			continue
		}
		for _, s := range successors(b) {
			preds[s] = append(preds[s], b)
		}
	}
	for _, b := range blocks {
		b.exitPath = live[b.label] && leadsToExit(b.label)
	}
	canBeCold := func(l int) bool { return l != 0 && !gluedNext[l] && !blocks[l].cold }
	for _, b := range blocks {
		if !live[b.label] || b.kind != termCond || b.glued {
			continue
		}
		if b.br.Target <= b.label || b.next <= b.label {
			continue // a loop's branch: its exit belongs right after the loop
		}
		t, e := leadsToExit(b.br.Target), leadsToExit(b.next)
		switch {
		case t && !e && canBeCold(b.br.Target):
			blocks[b.br.Target].cold = true
		case e && !t && canBeCold(b.next):
			blocks[b.next].cold = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, b := range blocks {
			if !live[b.label] || !canBeCold(b.label) || len(preds[b.label]) == 0 {
				continue
			}
			allCold := true
			for _, p := range preds[b.label] {
				allCold = allCold && p.cold
			}
			if allCold {
				b.cold, changed = true, true
			}
		}
	}
}

func successors(b *codeBlock) []int {
	switch b.kind {
	case termExit:
		return nil
	case termCond:
		return []int{b.br.Target, b.next}
	}
	return []int{b.next}
}

// mergeBlocks keeps one of each set of identical blocks that are cold or
// on exit paths and retargets the branches to the others at it. Blocks
// of LL/SC sequences stay: each sequence is laid out as a whole.
func mergeBlocks(blocks []*codeBlock, live, gluedNext []bool) {
	same := func(a, b *codeBlock) bool {
		if a.kind != b.kind || a.next != b.next || a.br != b.br || len(a.body) != len(b.body) {
			return false
		}
		for i := range a.body {
			if a.body[i] != b.body[i] {
				return false
			}
		}
		return true
	}
	replace := make([]int, len(blocks))
	for i := range replace {
		replace[i] = i
	}
	var kept []*codeBlock
	merged := false
	for _, b := range blocks {
		if !live[b.label] || b.label == 0 || (!b.cold && !b.exitPath) || b.glued || gluedNext[b.label] {
			continue
		}
		found := false
		for _, k := range kept {
			if same(k, b) {
				replace[b.label], live[b.label], found, merged = k.label, false, true, true
				break
			}
		}
		if !found {
			kept = append(kept, b)
		}
	}
	if !merged {
		return
	}
	for _, b := range blocks {
		if live[b.label] && b.kind != termExit {
			b.next = replace[b.next]
			if b.kind == termCond {
				b.br.Target = replace[b.br.Target]
			}
		}
	}
}

// emitBlocks emits the blocks in order with their terminators and counts
// the references to each label (branches and fall-throughs).
func emitBlocks(blocks []*codeBlock, order []*codeBlock) ([]Inst, []int) {
	refs := make([]int, len(blocks))
	var out []Inst
	jump := func(to int) {
		if t := blocks[to]; t.kind == termExit && len(t.body) <= dupLimit {
			out = append(out, t.body...)
			return
		}
		refs[to]++
		out = append(out, Inst{Op: B, Target: to}, Inst{Op: NOP})
	}
	for i, b := range order {
		following := -1
		if i+1 < len(order) {
			following = order[i+1].label
		}
		out = append(out, Inst{Op: LABEL, Target: b.label})
		out = append(out, b.body...)
		kind := b.kind
		if kind == termCond && b.br.Target == b.next && !b.glued {
			kind = termJump // merging left both ways the same
		}
		switch kind {
		case termFall, termJump:
			if b.next == following {
				refs[b.next]++
			} else {
				jump(b.next)
			}
		case termCond:
			switch {
			case b.next == following:
				refs[b.next]++
				refs[b.br.Target]++
				out = append(out, b.br, Inst{Op: NOP})
			case b.br.Target == following && !b.glued:
				br := invertBranch(b.br)
				br.Target = b.next
				refs[b.br.Target]++
				refs[b.next]++
				out = append(out, br, Inst{Op: NOP})
			default:
				refs[b.br.Target]++
				out = append(out, b.br, Inst{Op: NOP})
				jump(b.next)
			}
		}
	}
	return out, refs
}
