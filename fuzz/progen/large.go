package progen

import (
	"math/rand/v2"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// Large programs, for measuring how compile time and memory scale: one
// prologue, then a chain of sections, each a body like Generate's, then one
// epilogue. Registers, the stack window and memory carry their values from
// section to section, so the whole program is one computation: nine live
// 64-bit registers (eighteen 32-bit words after legalization) everywhere,
// branches, loops, loads, stores, atomics and division calls throughout.
//
// The bodies' conditional exits become "ja +0", jumps to the next
// instruction, so that a run goes through every section instead of leaving
// at the first early exit (taken half the time, and a section has dozens);
// the branch around the former exit stays. Every jump stays inside its
// section, which keeps offsets far inside the 16-bit Off field at any
// program size.

// largeSectionInsns is the body budget of one section; lddw takes two slots,
// so a section spans at most about twice as many slots, well under 32767.
const largeSectionInsns = 4000

// GenerateLarge returns a program of about n instructions (at least n, and
// at most a few dozen more) drawn from r. o.MaxInsns is ignored; the other
// options apply as in Generate, except that KernelSafe is not supported
// (the kernel verifier's budget is far smaller than these programs) and
// neither is Calls.
func GenerateLarge(r *rand.Rand, n int, o Options) *bpf.Program {
	o.KernelSafe, o.Calls = false, false
	o = o.withDefaults()
	g := &gen{src: randSource{r}, o: o}
	g.plan(0)
	g.begin(0)
	g.prologue()
	for len(g.insns) < n {
		start := len(g.insns)
		g.budget = min(largeSectionInsns, n-start) + maxItemCost
		g.block(-1)
		g.exitsToNops(start)
	}
	g.epilogue()
	g.funcs[0].insns = g.insns
	return g.program()
}

// exitsToNops turns every exit emitted since index start into a jump to
// the next instruction.
func (g *gen) exitsToNops(start int) {
	for j := start; j < len(g.insns); j++ {
		if g.insns[j].IsExit() {
			g.insns[j].Op = bpf.ClassJMP | bpf.JmpJA
			g.insns[j].Off = 0
		}
	}
}

// LargeStepBound bounds the instructions a program of GenerateLarge(r, n,
// o) executes, for the interpreters' step limits: every instruction runs at
// most once per iteration of each enclosing loop.
func LargeStepBound(n int) int {
	bound := n + largeSectionInsns + PrologueEpilogueMax
	for range maxLoopDepth {
		bound *= maxLoopIter + 1
	}
	return bound
}
