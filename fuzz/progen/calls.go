package progen

import (
	"slices"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// Subprograms (Options.Calls). A program is its entry followed by 1 to 4
// subprograms, each generated like the entry: prologue, body, epilogue.
// What makes them valid by construction:
//
//   - No recursion, bounded depth: a function calls only later ones, so a
//     call chain has at most 5 frames (BPF allows 8). Every subprogram has
//     a parent, an earlier function that calls it at the latest at the end
//     of its body, so every subprogram is reachable (the kernel verifier
//     refuses unreachable code).
//   - Signatures are planned before any code: each of r1..r5 is nothing, a
//     value or a pointer to a region — a window of the caller's stack or of
//     the memory at r1, of a planned size and alignment. A caller builds
//     pointer arguments from its own bases (the entry's r1, its pointer
//     arguments) or r10, at offsets that keep the window inside the region
//     the base reaches, so a subprogram's pointer arguments are bases of its
//     own: memory operands, never values. No pointer becomes a value, which
//     matters because every engine places memory and stacks at different
//     addresses.
//   - A call writes r0 and leaves r1..r5 undefined: after it the caller
//     reloads its bases among r1..r5 (spilled below its stack window, or
//     kept in a callee-saved register from the start, as the plan says)
//     and gives its value registers among r1..r5 new values. r6..r9 keep
//     theirs, which checks callee-saved registers. No call happens while a
//     loop counter lives in r1..r5.
//   - A subprogram's other registers (r0, r6..r9, r1..r5 that are not
//     arguments) get constants in its prologue, and its stack window is
//     filled, as in the entry.
//   - Termination and StepBound: a function calls at most maxCallSites
//     times (statically), and a call at loop depth d needs d plus the loop
//     nesting the callee may cause (function.loops) to stay within the
//     caller's, so loops nest at most maxLoopDepth deep along any call
//     path.
//   - Under KernelSafe calls stay out of loops (the verifier walks the
//     callee once per iteration) and the frames of all functions, rounded
//     up to 32 bytes as the verifier counts them, fit 512 bytes together.

const (
	maxSubprograms = 4
	// maxCallSites bounds the call instructions of one function.
	maxCallSites = 3
	// maxCallPaths bounds the call paths from the entry: maxCallSites^d
	// paths of each depth d up to maxSubprograms.
	maxCallPaths = 1 + 3 + 9 + 27 + 81
	// maxCallCost bounds a call site: at most two instructions per
	// argument, the call, and one reload or new value per r1..r5.
	maxCallCost = 2*5 + 1 + 5
	// maxSubWindow is the largest stack window of a subprogram.
	maxSubWindow = 128
	// SubprogramOverheadMax bounds the instructions a subprogram adds
	// besides its body: constants for r0..r9, a move or spill per
	// pointer argument, its stack window's stores, its epilogue, and the
	// call its parent makes at the end of its body.
	SubprogramOverheadMax = 10 + 5 + maxSubWindow/8 + 30 + maxCallCost
	// kernelFrameRound is the granularity of the verifier's stack count.
	kernelFrameRound = 32
)

// subWindows are the stack windows of subprograms: small, since their
// prologues pay one store per 8 bytes. The kernel also has to fit every
// frame of a call chain into 512 bytes.
var (
	subWindows       = []int{8, 16, 32, 64, maxSubWindow}
	subWindowsKernel = []int{8, 16, 32}
)

// Sizes and alignments of pointer arguments' windows.
var (
	pointerSizes  = []int{4, 8, 16, 32}
	pointerAligns = []int{1, 8, 2, 4, 8}
)

// A region is memory a pointer reaches: [p, p+size), p a multiple of
// align, in a stack frame or in the memory at r1.
type region struct {
	size  int
	align int
	stack bool
}

// holds reports that a pointer reaching r can serve as one reaching want.
func (r region) holds(want region) bool {
	return r.stack == want.stack && r.size >= want.size && r.align >= want.align
}

// A base is a register that points at a region for the whole function.
type base struct {
	reg uint8
	region
}

type paramKind uint8

const (
	paramNone paramKind = iota
	paramValue
	paramPointer
)

// A param is what a subprogram expects in one of r1..r5.
type param struct {
	kind paramKind
	region
}

// A move copies a base from an argument register to a callee-saved one
// at the start of a function.
type move struct{ from, to uint8 }

// A callSite is a call instruction to patch when linking.
type callSite struct {
	insn   int // index in the function's instructions
	callee int
}

// A function is one function of the program: its plan, then its code.
type function struct {
	params [bpf.R5 + 1]param // by register, for subprograms
	window int               // stack window; 0 lets the prologue choose
	loops  int               // loop nesting it may cause, its calls' included
	budget int               // body instructions
	parent int               // calls it if no one has by the end of its body
	// How its bases (after moves) and values start, and which bases in
	// r1..r5 it spills below its window to reload after each call.
	bases  []base
	values []uint8
	moves  []move
	spills []uint8
	// Generation.
	called    bool // some function has a call to it
	calls     int
	insns     []bpf.Insn
	callSites []callSite
}

// valueParam reports that f receives a value in r.
func (f *function) valueParam(r uint8) bool {
	return r <= bpf.R5 && f.params[r].kind == paramValue
}

// frame is the stack the verifier counts for f: window and spills.
func (f *function) frame() int { return f.window + 8*len(f.spills) }

// spillOffset is the r10 offset of spill slot i: below the window.
func (f *function) spillOffset(i int) int16 { return int16(-f.window - 8*(i+1)) }

// plan decides the functions: without Calls only the entry, with the
// whole budget; with Calls also the subprograms' signatures, windows, loop
// nesting, budgets and parents, and how each function keeps its bases.
func (g *gen) plan(budget int) {
	entry := &function{loops: maxLoopDepth, budget: budget}
	if g.o.KernelSafe {
		entry.loops = 1 // see available
	}
	if g.o.MemSize > 0 {
		entry.bases = []base{{bpf.R1, region{size: g.o.MemSize, align: 8}}}
	}
	g.funcs = []*function{entry}
	if !g.o.Calls {
		entry.values = valueRegs
		return
	}
	entry.window = stackWindows[g.intn(len(stackWindows))]
	n := 1 + g.intn(maxSubprograms)
	g.keepBases(entry, true)
	// r1 computes only once the ctx pointer has moved out of it.
	entry.values = regsExcept(entry, bpf.R0, bpf.R1, bpf.R2, bpf.R3, bpf.R4, bpf.R5, bpf.R6, bpf.R7, bpf.R8, bpf.R9)
	if len(entry.moves) == 0 {
		entry.values = slices.DeleteFunc(entry.values, func(r uint8) bool { return r == bpf.R1 })
	}
	children := make([]int, n+1)
	windows := subWindows
	if g.o.KernelSafe {
		windows = subWindowsKernel
	}
	for k := 1; k <= n; k++ {
		f := &function{window: windows[g.intn(len(windows))], parent: g.intn(k)}
		if children[f.parent] == maxCallSites {
			f.parent = k - 1 // has no child yet
		}
		children[f.parent]++
		parent := g.funcs[f.parent]
		f.loops = g.intn(parent.loops + 1)
		f.budget = g.intn(budget/(n+1) + 1)
		entry.budget -= f.budget
		for r := uint8(bpf.R1); r <= bpf.R5; r++ {
			f.params[r] = g.param(parent)
		}
		// A later pointer argument can take the register an earlier
		// one's source is in: demote arguments until the parent can
		// build them all.
		for {
			_, _, missing := pointerSources(parent.bases, parent.window, f)
			if missing < 0 {
				break
			}
			f.params[missing] = param{kind: paramValue}
		}
		for r := uint8(bpf.R1); r <= bpf.R5; r++ {
			if f.params[r].kind == paramPointer {
				f.bases = append(f.bases, base{r, f.params[r].region})
			}
		}
		g.keepBases(f, k < n)
		f.values = regsExcept(f, bpf.R0, bpf.R1, bpf.R2, bpf.R3, bpf.R4, bpf.R5, bpf.R6, bpf.R7, bpf.R8, bpf.R9)
		g.funcs = append(g.funcs, f)
	}
	// The entry's window shrinks to leave room for its spills (and, for
	// the kernel, for the other frames); its planned size was at least
	// what its children's stack arguments need, and it stays so: the
	// others' frames take at most 4 × 96 bytes (subWindowsKernel), which
	// leaves the entry 120, more than the largest pointer argument.
	limit := bpf.StackSize
	if g.o.KernelSafe {
		for _, f := range g.funcs[1:] {
			limit -= (f.frame() + kernelFrameRound - 1) / kernelFrameRound * kernelFrameRound
		}
	}
	entry.window = min(entry.window, (limit-8*len(entry.spills))&^7)
}

// regsExcept returns regs without f's bases.
func regsExcept(f *function, regs ...uint8) []uint8 {
	return slices.DeleteFunc(regs, func(r uint8) bool {
		return slices.ContainsFunc(f.bases, func(b base) bool { return b.reg == r })
	})
}

// keepBases plans how f keeps its bases in r1..r5 across the calls it may
// make: each is moved to a free callee-saved register or spilled.
func (g *gen) keepBases(f *function, mayCall bool) {
	if !mayCall {
		return
	}
	free := []uint8{bpf.R6, bpf.R7, bpf.R8, bpf.R9}
	for i := range f.bases {
		b := &f.bases[i]
		if len(free) > 0 && g.chance(50) {
			to := free[g.intn(len(free))]
			free = slices.DeleteFunc(free, func(r uint8) bool { return r == to })
			f.moves = append(f.moves, move{b.reg, to})
			b.reg = to
		} else {
			f.spills = append(f.spills, b.reg)
		}
	}
}

// param draws what a subprogram whose parent is caller expects in one
// register: nothing, a value, or a pointer that caller can build.
func (g *gen) param(caller *function) param {
	switch g.intn(3) {
	case 0:
		return param{}
	case 1:
		return param{kind: paramValue}
	}
	hasMem := slices.ContainsFunc(caller.bases, func(b base) bool { return !b.stack })
	want := region{stack: !hasMem || g.chance(50), size: pointerSizes[g.intn(len(pointerSizes))]}
	// The largest region of that kind the caller has, and the best
	// alignment among those that are large enough.
	sources := callerRegions(caller.bases, caller.window)
	biggest := 0
	for _, r := range sources {
		if r.stack == want.stack {
			biggest = max(biggest, r.size)
		}
	}
	want.size = min(want.size, biggest)
	want.align = pointerAligns[g.intn(len(pointerAligns))]
	if want.stack && g.o.KernelSafe {
		want.align = 8 // the verifier wants aligned stack accesses
	}
	bestAlign := 1
	for _, r := range sources {
		if r.stack == want.stack && r.size >= want.size {
			bestAlign = max(bestAlign, r.align)
		}
	}
	want.align = min(want.align, bestAlign)
	if want.size == 0 || !slices.ContainsFunc(sources, func(r region) bool { return r.holds(want) }) {
		return param{kind: paramValue}
	}
	return param{kind: paramPointer, region: want}
}

// callerRegions lists the regions a function reaches: its bases' and its
// stack window.
func callerRegions(bases []base, window int) []region {
	var rs []region
	for _, b := range bases {
		rs = append(rs, b.region)
	}
	if window > 0 {
		rs = append(rs, region{size: window, align: 8, stack: true})
	}
	return rs
}

// pointerSources finds where a caller with bases and stack window can
// build each pointer argument of callee: in place, from a base already in
// that register (adjusted last), or from r10 or a base in a register no
// other argument is built into. missing is the first register with no
// source, -1 if none.
func pointerSources(bases []base, window int, callee *function) (inPlace [bpf.R5 + 1]*base, from [bpf.R5 + 1][]base, missing int) {
	var moved [bpf.NumRegs]bool
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		p := callee.params[r]
		if p.kind != paramPointer {
			continue
		}
		for i := range bases {
			if bases[i].reg == r && bases[i].holds(p.region) {
				inPlace[r] = &bases[i]
			}
		}
		moved[r] = inPlace[r] == nil
	}
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		p := callee.params[r]
		if !moved[r] {
			continue
		}
		if stack := (region{size: window, align: 8, stack: true}); window > 0 && stack.holds(p.region) {
			from[r] = append(from[r], base{bpf.R10, stack})
		}
		for _, b := range bases {
			if !moved[b.reg] && b.holds(p.region) {
				from[r] = append(from[r], b)
			}
		}
		if len(from[r]) == 0 {
			return inPlace, from, int(r)
		}
	}
	return inPlace, from, -1
}

// callees are the subprograms the current function may call here.
func (g *gen) callees() []int {
	if !g.o.Calls || g.budget < maxCallCost || g.o.KernelSafe && g.loopDepth > 0 {
		return nil
	}
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		if g.locked[r] {
			return nil // a loop counter: the call would clobber it
		}
	}
	f := g.funcs[g.fn]
	pending := 0 // children no one has called yet: they need a site
	for _, c := range g.funcs[g.fn+1:] {
		if c.parent == g.fn && !c.called {
			pending++
		}
	}
	var out []int
	for j := g.fn + 1; j < len(g.funcs); j++ {
		c := g.funcs[j]
		owed := c.parent == g.fn && !c.called
		if g.loopDepth+c.loops > f.loops || f.calls+pending >= maxCallSites && !owed {
			continue
		}
		if _, _, missing := pointerSources(g.bases, g.stack, c); missing < 0 {
			out = append(out, j)
		}
	}
	return out
}

// call emits a call of subprogram j: its arguments, the call, and the
// caller's r1..r5 afterwards.
func (g *gen) call(j int) {
	callee, f := g.funcs[j], g.funcs[g.fn]
	inPlace, from, missing := pointerSources(g.bases, g.stack, callee)
	if missing >= 0 {
		panic("progen: a planned call has no source for a pointer argument")
	}
	mov := func(dst, src uint8) {
		g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcX, Dst: dst, Src: src})
	}
	add := func(dst uint8, off int) {
		if off != 0 {
			g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluADD | bpf.SrcK, Dst: dst, Imm: int32(off)})
		}
	}
	// Pointers from other registers first, then in place: no source is
	// overwritten before it is used.
	var pointerDst [bpf.NumRegs]bool
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		if len(from[r]) > 0 {
			b := from[r][g.intn(len(from[r]))]
			mov(r, b.reg)
			add(r, g.pointerOffset(b, callee.params[r].region))
			pointerDst[r] = true
		}
	}
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		if b := inPlace[r]; b != nil {
			add(r, g.pointerOffset(*b, callee.params[r].region))
		}
	}
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		if !callee.valueParam(r) {
			continue
		}
		if slices.Contains(g.values, r) && g.chance(40) {
			continue // pass what it holds
		}
		srcs := slices.DeleteFunc(slices.Clone(g.values), func(s uint8) bool { return s == r || pointerDst[s] })
		if len(srcs) > 0 && g.chance(50) {
			mov(r, srcs[g.intn(len(srcs))])
		} else {
			g.setConst(r, g.value64())
		}
	}
	f.callSites = append(f.callSites, callSite{g.emit(bpf.Insn{Op: bpf.ClassJMP | bpf.JmpCALL, Src: bpf.CallLocal}), j})
	f.calls++
	// A call in unreachable code does not make the callee reachable.
	callee.called = callee.called || g.dead == 0
	// r1..r5 are undefined now.
	survivors := slices.DeleteFunc(slices.Clone(g.values), func(s uint8) bool { return s >= bpf.R1 && s <= bpf.R5 })
	for r := uint8(bpf.R1); r <= bpf.R5; r++ {
		if i := slices.Index(f.spills, r); i >= 0 {
			g.emit(bpf.Insn{Op: bpf.ClassLDX | bpf.ModeMEM | bpf.SizeDW, Dst: r, Src: bpf.R10, Off: f.spillOffset(i)})
		} else if slices.Contains(g.values, r) {
			if g.chance(50) {
				mov(r, survivors[g.intn(len(survivors))])
			} else {
				g.setConst(r, g.value64())
			}
		}
	}
}

// pointerOffset picks where in b's region (r10: the stack window) a
// pointer to want starts, relative to b's register.
func (g *gen) pointerOffset(b base, want region) int {
	k := want.align * g.intn((b.size-want.size)/want.align+1)
	if b.reg == bpf.R10 {
		return k - b.size
	}
	return k
}

// function generates funcs[k].
func (g *gen) function(k int) {
	f := g.begin(k)
	for _, m := range f.moves {
		g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcX, Dst: m.to, Src: m.from})
	}
	g.prologue()
	for i, r := range f.spills {
		g.emit(bpf.Insn{Op: bpf.ClassSTX | bpf.ModeMEM | bpf.SizeDW, Dst: bpf.R10, Src: r, Off: f.spillOffset(i)})
	}
	g.budget = f.budget
	g.block(-1)
	for j := k + 1; j < len(g.funcs); j++ {
		if c := g.funcs[j]; c.parent == k && !c.called {
			g.call(j)
		}
	}
	g.epilogue()
	f.insns = g.insns
}

// begin makes funcs[k] the function being generated.
func (g *gen) begin(k int) *function {
	f := g.funcs[k]
	g.fn, g.insns, g.slots, g.loopDepth, g.dead = k, nil, 0, 0, 0
	g.locked = [bpf.NumRegs]bool{}
	g.stack, g.values, g.bases = f.window, f.values, f.bases
	return f
}

// link concatenates the functions, entry first, and points every call at
// its callee.
func (g *gen) link() []bpf.Insn {
	start := make([]int, len(g.funcs))
	slots := 0
	for k, f := range g.funcs {
		start[k] = slots
		if n := len(f.insns); n > 0 {
			slots += f.insns[n-1].Slot + f.insns[n-1].SlotCount()
		}
	}
	var out []bpf.Insn
	for k, f := range g.funcs {
		for _, c := range f.callSites {
			in := &f.insns[c.insn]
			in.Imm = int32(start[c.callee] - (start[k] + in.Slot + 1))
		}
		out = append(out, f.insns...)
	}
	return out
}
