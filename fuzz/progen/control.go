package progen

import (
	"slices"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// Control flow is structured so that termination is evident: every jump
// goes forward to a later item of its own block, except the back edge of a
// loop, whose counter register is set just before the loop, locked against
// writes in its body, and counted down to zero.

// pendingSkip is a forward jump that lands items items further on in the
// current block (0: on the next item).
type pendingSkip struct {
	jump  int
	items int
	dead  bool // an unconditional jump: the items it skips are unreachable
}

// block emits items until limit items (limit < 0: no limit) or the body
// budget runs out.
func (g *gen) block(limit int) {
	var pend []pendingSkip
	for n := 0; (limit < 0 || n < limit) && !g.stop(); n++ {
		kept := pend[:0]
		for _, p := range pend {
			if p.items == 0 {
				g.patchHere(p.jump)
				continue
			}
			p.items--
			kept = append(kept, p)
		}
		pend = kept
		dead := slices.ContainsFunc(pend, func(p pendingSkip) bool { return p.dead })
		if dead {
			g.dead++
		}
		if j, skip := g.item(); j >= 0 {
			pend = append(pend, pendingSkip{jump: j, items: skip, dead: g.insns[j].IsJA()})
		}
		if dead {
			g.dead--
		}
	}
	for _, p := range pend {
		g.patchHere(p.jump)
	}
}

// The kinds of item a block is made of.
type itemKind int

const (
	itemALU itemKind = iota
	itemByteSwap
	itemConst
	itemLoad
	itemStore
	itemStoreImm
	itemAtomic
	itemIf
	itemIfElse
	itemIfExit
	itemLoop
	itemSkip   // a conditional jump over the next few items of the block
	itemDeadJA // unreachable code, which the kernel verifier refuses
	itemCall   // a call of a later subprogram (calls.go)
	numItemKinds
)

// itemWeights are the relative frequencies of the item kinds.
var itemWeights = [numItemKinds]int{
	itemALU: 30, itemByteSwap: 4, itemConst: 4, itemLoad: 10, itemStore: 6,
	itemStoreImm: 4, itemAtomic: 6, itemIf: 6, itemIfElse: 4, itemIfExit: 2,
	itemLoop: 4, itemSkip: 4, itemDeadJA: 1, itemCall: 5,
}

func (g *gen) available(k itemKind) bool {
	switch k {
	case itemIf, itemIfElse, itemIfExit, itemSkip:
		// The verifier walks every loop iteration separately and each
		// branch on an unknown value doubles the paths of an iteration:
		// branches inside kernel loops blow its 1M-instruction budget.
		return !(g.o.KernelSafe && g.loopDepth > 0)
	case itemAtomic:
		return g.o.AllowAtomics
	case itemLoop:
		return g.canLoop()
	case itemDeadJA:
		return !g.o.KernelSafe
	case itemCall:
		return len(g.callees()) > 0
	}
	return true
}

// item emits one item; a skip returns its jump and the number of items it
// skips, anything else -1.
func (g *gen) item() (jump, skip int) {
	total := 0
	for k := range numItemKinds {
		if g.available(k) {
			total += itemWeights[k]
		}
	}
	x := g.intn(total)
	k := itemKind(0)
	for ; k < numItemKinds; k++ {
		if !g.available(k) {
			continue
		}
		if x < itemWeights[k] {
			break
		}
		x -= itemWeights[k]
	}
	switch k {
	case itemALU:
		g.alu()
	case itemByteSwap:
		g.byteSwap()
	case itemConst:
		g.setConst(g.dstReg(), g.value64())
	case itemLoad:
		g.load()
	case itemStore:
		g.store()
	case itemStoreImm:
		g.storeImm()
	case itemAtomic:
		g.atomic()
	case itemIf:
		g.ifThen()
	case itemIfElse:
		g.ifElse()
	case itemIfExit:
		g.ifExit()
	case itemLoop:
		g.loop()
	case itemSkip:
		return g.cond(), g.intn(4)
	case itemDeadJA:
		return g.ja(), 1 + g.intn(2)
	case itemCall:
		callees := g.callees()
		g.call(callees[g.intn(len(callees))])
	}
	return -1, 0
}

// subBlockItems is the size of a nested block: small, so nesting stays
// readable and budgets spread over several constructs.
func (g *gen) subBlockItems() int { return 1 + g.intn(6) }

var condCodes = []uint8{
	bpf.JmpJEQ, bpf.JmpJGT, bpf.JmpJGE, bpf.JmpJSET, bpf.JmpJNE, bpf.JmpJSGT,
	bpf.JmpJSGE, bpf.JmpJLT, bpf.JmpJLE, bpf.JmpJSLT, bpf.JmpJSLE,
}

// cond emits a random conditional jump (offset patched later) and returns
// its index.
func (g *gen) cond() int {
	class := uint8(bpf.ClassJMP)
	if g.chance(40) {
		class = bpf.ClassJMP32
	}
	in := bpf.Insn{Dst: g.srcReg()}
	code := condCodes[g.intn(len(condCodes))]
	if g.chance(50) {
		in.Op = class | code | bpf.SrcX
		in.Src = g.srcReg()
	} else {
		in.Op = class | code | bpf.SrcK
		in.Imm = g.value32()
	}
	return g.emit(in)
}

// ja emits an unconditional jump (offset patched later): JA, or with v4
// sometimes the 32-bit-offset JMP32 JA.
func (g *gen) ja() int {
	if g.o.AllowV4 && g.chance(30) {
		return g.emit(bpf.Insn{Op: bpf.ClassJMP32 | bpf.JmpJA})
	}
	return g.emit(bpf.Insn{Op: bpf.ClassJMP | bpf.JmpJA})
}

func (g *gen) ifThen() {
	j := g.cond()
	g.block(g.subBlockItems())
	g.patchHere(j)
}

func (g *gen) ifElse() {
	j := g.cond()
	g.budget-- // the ja
	g.block(g.subBlockItems())
	g.budget++
	end := g.ja()
	g.patchHere(j)
	g.block(g.subBlockItems())
	g.patchHere(end)
}

// ifExit returns early on a condition, with r0 as computed so far.
func (g *gen) ifExit() {
	j := g.cond()
	g.budget--
	g.block(g.intn(3))
	g.budget++
	g.emit(bpf.Insn{Op: bpf.ClassJMP | bpf.JmpEXIT})
	g.patchHere(j)
}

// counterRegs may hold loop counters: the value registers but r0, which
// cmpxchg writes.
func (g *gen) counterRegs() []uint8 { return g.values[1:] }

func (g *gen) canLoop() bool {
	if !g.o.Loops || g.loopDepth >= g.funcs[g.fn].loops {
		return false
	}
	for _, r := range g.counterRegs() {
		if !g.locked[r] {
			return true
		}
	}
	return false
}

// A loop condition on the counter: op, class and immediate.
type counterTest struct {
	class, code uint8
	imm         int32
}

// Back edges of do-while loops: taken while the counter is not zero.
var whileNotZero = []counterTest{
	{bpf.ClassJMP, bpf.JmpJNE, 0}, {bpf.ClassJMP, bpf.JmpJGT, 0},
	{bpf.ClassJMP, bpf.JmpJSGT, 0}, {bpf.ClassJMP, bpf.JmpJGE, 1},
	{bpf.ClassJMP32, bpf.JmpJNE, 0}, {bpf.ClassJMP32, bpf.JmpJSGE, 1},
}

// Head tests of while loops: leave when the counter is zero.
var leaveIfZero = []counterTest{
	{bpf.ClassJMP, bpf.JmpJEQ, 0}, {bpf.ClassJMP, bpf.JmpJLE, 0},
	{bpf.ClassJMP, bpf.JmpJSLE, 0}, {bpf.ClassJMP, bpf.JmpJLT, 1},
	{bpf.ClassJMP32, bpf.JmpJEQ, 0},
}

// Counter decrements (the counter is small and non-negative, so the 32-bit
// forms are equivalent).
var decrements = []bpf.Insn{
	{Op: bpf.ClassALU64 | bpf.AluSUB | bpf.SrcK, Imm: 1},
	{Op: bpf.ClassALU64 | bpf.AluADD | bpf.SrcK, Imm: -1},
	{Op: bpf.ClassALU | bpf.AluSUB | bpf.SrcK, Imm: 1},
	{Op: bpf.ClassALU | bpf.AluADD | bpf.SrcK, Imm: -1},
}

func (g *gen) counterJump(c uint8, tests []counterTest) int {
	t := tests[g.intn(len(tests))]
	return g.emit(bpf.Insn{Op: t.class | t.code | bpf.SrcK, Dst: c, Imm: t.imm})
}

// loop emits a do-while loop (body; c--; if c != 0 goto body) or a while
// loop (head: if c == 0 goto out; body; c--; goto head) running at most
// maxLoopIter times.
func (g *gen) loop() {
	var c uint8
	counterRegs := g.counterRegs()
	for {
		c = counterRegs[g.intn(len(counterRegs))]
		if !g.locked[c] {
			break
		}
		if g.src.exhausted() {
			return
		}
	}
	maxIter := maxLoopIter
	if g.o.KernelSafe {
		maxIter = maxLoopIterKernel
	}
	doWhile := g.chance(50)
	n := g.intn(maxIter + 1)
	if doWhile {
		n = 1 + g.intn(maxIter)
	}
	g.setConst(c, uint64(n))
	g.locked[c] = true
	g.loopDepth++
	head := g.slots
	out := -1
	if !doWhile {
		out = g.counterJump(c, leaveIfZero)
	}
	g.budget -= 2 // decrement and back edge
	g.block(1 + g.intn(8))
	g.budget += 2
	dec := decrements[g.intn(len(decrements))]
	dec.Dst = c
	g.emit(dec)
	if doWhile {
		g.patchTo(g.counterJump(c, whileNotZero), head)
	} else {
		g.patchTo(g.ja(), head)
		g.patchHere(out)
	}
	g.locked[c] = false
	g.loopDepth--
}
