package mips32

import (
	"fmt"
	"math"
	"sort"

	"golang.org/x/tools/container/intsets"
)

// Linear-scan register allocation over lifetime intervals with holes,
// after Wimmer and Franz, "Linear Scan Register Allocation on SSA Form"
// (CGO 2010), without interval splitting for now: an interval that cannot
// keep one register for its whole life is spilled whole. Which one spills
// is decided by spill weight, the uses and definitions weighed by loop
// depth (loops.go) per position of the interval, so that values read in
// loops keep their registers and long-lived values read rarely give them
// up. A spilled virtual register lives in a stack slot; each instruction
// that touches it loads it into, or stores it from, one of the scratch
// registers (at, t8, t9) that the allocator never hands out.
//
// Moves tie intervals together. Before the scan, the two virtual
// registers of a move whose lifetimes do not meet may merge into one
// interval (regalloc_coalesce.go); during it, an interval takes the
// register of a move partner (a physical register such as a0 at entry or
// v0 at a return, or another interval already assigned) when that
// register is free for its whole life (a hint). Either way the move
// disappears: phi moves, argument and result moves, copies.
//
// An interval whose one definition loads a constant is rematerialized
// when it spills: no slot, and each use loads the constant again.
//
// Positions: instruction i of the linearized function reads its operands
// at 2i and writes its results at 2i+1, so an instruction may reuse an
// operand's register for its result.
//
// Physical registers appear in the input only in short fixed sequences
// (argument moves at entry, call sequences, result moves before return);
// their live ranges, and the clobbering of caller-saved registers at each
// call, become fixed ranges that an interval assigned that register must
// not intersect.

type lrange struct{ from, to int } // half-open [from, to)

type interval struct {
	vreg    Reg
	ranges  []lrange // ascending, disjoint
	reg     Reg      // assigned register, ZERO while unassigned
	spilled bool
	slot    int
	noSpill bool // lives in an LL/SC loop, where a spill store would break the link
	// hints are the registers a move connects this one with (physical
	// registers, or virtual ones whose assignment is looked up): taking
	// one of them makes that move vanish.
	hints []Reg
	// members are the virtual registers the interval stands for after
	// coalescing (regalloc_coalesce.go); nil while it is vreg alone.
	members []Reg
	// cost estimates the spill code spilling would execute: each use and
	// definition weighed by its block's frequency (loops.go).
	cost float64
	// remat marks an interval whose one definition is li (a constant):
	// spilled, it needs no slot, its li is dropped and each use loads
	// the constant afresh (rematerialization).
	remat  bool
	defs   int     // definitions
	liDef  bool    // one of them is an li,
	liImm  int32   // of this constant,
	liCost float64 // at this cost
}

// spillWeight is the cost of spilling per position the spill frees: the
// interval to spill is the one with the smallest (a long interval with
// few uses outside loops frees the most for the least).
func (it *interval) spillWeight() float64 {
	if it.noSpill {
		return math.Inf(1)
	}
	length := 0
	for _, r := range it.ranges {
		length += r.to - r.from
	}
	return it.cost / float64(length)
}

func (it *interval) start() int { return it.ranges[0].from }
func (it *interval) end() int   { return it.ranges[len(it.ranges)-1].to }

// covers reports whether pos lies in one of the ranges.
func (it *interval) covers(pos int) bool {
	i := sort.Search(len(it.ranges), func(i int) bool { return it.ranges[i].to > pos })
	return i < len(it.ranges) && it.ranges[i].from <= pos
}

// firstIntersection returns the first position covered by both range
// lists, or math.MaxInt.
func firstIntersection(a, b []lrange) int {
	if len(a) == 0 || len(b) == 0 {
		return math.MaxInt
	}
	// Skip ahead in the longer list.
	j := sort.Search(len(b), func(j int) bool { return b[j].to > a[0].from })
	i := 0
	for i < len(a) && j < len(b) {
		lo := max(a[i].from, b[j].from)
		hi := min(a[i].to, b[j].to)
		if lo < hi {
			return lo
		}
		if a[i].to <= b[j].to {
			i++
		} else {
			j++
		}
	}
	return math.MaxInt
}

// allocRegs is the allocation order: caller-saved first (no save cost),
// then callee-saved (survive calls). Among the caller-saved, the
// temporaries come first and the argument and result registers last, so
// that an interval without a hint leaves those to the intervals a move
// ties to them.
var allocRegs = []Reg{T0, T1, T2, T3, T4, T5, T6, T7, A3, A2, A1, A0, V1, V0,
	S0, S1, S2, S3, S4, S5, S6, S7, FP}

func isAllocatable(r Reg) bool {
	for _, a := range allocRegs {
		if a == r {
			return true
		}
	}
	return false
}

type allocator struct {
	m         *mfunc
	freq      []float64 // by block: the static estimate of how often it runs
	blockFrom []int     // first position of each block
	blockTo   []int
	// intervals holds, by virtual register index (vidx), the register's
	// interval; after coalescing, merged registers share one.
	intervals []*interval
	slab      []interval  // where interval allocates: one object per 256
	list      []*interval // all(): the intervals once each, after coalescing
	fixed     [NumGPR][]lrange
	liveIn    []*intsets.Sparse
	numSlots  int
	// UsedCalleeSaved lists the callee-saved registers the code writes.
	usedCalleeSaved []Reg
	// keepOrig keeps each block's instructions before allocation
	// (mblock.orig) for the allocation checker.
	keepOrig bool
}

// allocate assigns registers to every virtual register of m and rewrites
// the code, inserting spill code, keeping what checkAllocation needs.
func allocate(m *mfunc) (*allocator, error) { return allocateFor(m, true, true) }

// allocateFor is allocate; without keepOrig, the code before allocation
// is not kept (checkAllocation cannot run); without coalesce, moves are
// not coalesced (-O0).
func allocateFor(m *mfunc, keepOrig, coalesce bool) (*allocator, error) {
	a := &allocator{m: m, intervals: make([]*interval, m.nextV-FirstVirtual), keepOrig: keepOrig}
	for _, d := range findLoops(m).depth {
		a.freq = append(a.freq, blockFrequency(d))
	}
	a.number()
	a.liveness()
	a.buildIntervals()
	if coalesce {
		a.coalesce()
	}
	a.buildFixed()
	if err := a.scan(); err != nil {
		return nil, err
	}
	a.assignSlots()
	if err := a.rewrite(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *allocator) number() {
	pos := 0
	for _, b := range a.m.blocks {
		a.blockFrom = append(a.blockFrom, pos)
		pos += 2 * len(b.insts)
		a.blockTo = append(a.blockTo, pos)
	}
}

func vidx(r Reg) int { return int(r - FirstVirtual) }

// liveness computes live-in sets of virtual registers per block by the
// usual backward dataflow iterated to a fixed point.
func (a *allocator) liveness() {
	n := len(a.m.blocks)
	gen := make([]intsets.Sparse, n)
	kill := make([]intsets.Sparse, n)
	var uses, defs []*Reg
	for bi, b := range a.m.blocks {
		for k := range b.insts {
			uses, defs = operands(&b.insts[k], uses[:0], defs[:0])
			for _, u := range uses {
				if u.IsVirtual() && !kill[bi].Has(vidx(*u)) {
					gen[bi].Insert(vidx(*u))
				}
			}
			for _, d := range defs {
				if d.IsVirtual() {
					kill[bi].Insert(vidx(*d))
				}
			}
		}
	}
	a.liveIn = make([]*intsets.Sparse, n)
	for i := range a.liveIn {
		a.liveIn[i] = &intsets.Sparse{}
	}
	var out, in intsets.Sparse
	for changed := true; changed; {
		changed = false
		for bi := n - 1; bi >= 0; bi-- {
			out.Clear()
			for _, s := range a.m.blocks[bi].succs {
				out.UnionWith(a.liveIn[s.label])
			}
			in.Difference(&out, &kill[bi])
			in.UnionWith(&gen[bi])
			if !in.Equals(a.liveIn[bi]) {
				a.liveIn[bi].Copy(&in)
				changed = true
			}
		}
	}
}

func (a *allocator) interval(r Reg) *interval {
	it := a.intervals[vidx(r)]
	if it == nil {
		if len(a.slab) == 0 {
			a.slab = make([]interval, 256)
		}
		it = &a.slab[0]
		a.slab = a.slab[1:]
		*it = interval{vreg: r, slot: -1}
		a.intervals[vidx(r)] = it
	}
	return it
}

// intervalOf returns the interval of virtual register r.
func (a *allocator) intervalOf(r Reg) *interval { return a.intervals[vidx(r)] }

// addRange adds [from, to) while ranges are built backwards (descending
// order, reversed at the end).
func (it *interval) addRange(from, to int) {
	if n := len(it.ranges); n > 0 {
		last := &it.ranges[n-1]
		if last.from <= to {
			last.from = min(last.from, from)
			last.to = max(last.to, to)
			return
		}
	}
	it.ranges = append(it.ranges, lrange{from, to})
}

func (a *allocator) buildIntervals() {
	var uses, defs []*Reg
	var live intsets.Sparse
	for bi := len(a.m.blocks) - 1; bi >= 0; bi-- {
		b := a.m.blocks[bi]
		from, to := a.blockFrom[bi], a.blockTo[bi]
		live.Clear()
		for _, s := range b.succs {
			live.UnionWith(a.liveIn[s.label])
		}
		for _, x := range live.AppendTo(nil) {
			a.interval(Reg(x)+FirstVirtual).addRange(from, to)
		}
		loop := isLLSCBlock(b)
		for k := len(b.insts) - 1; k >= 0; k-- {
			pos := from + 2*k
			if in := &b.insts[k]; in.Op == MOVE {
				a.addHint(in.Rd, in.Rs)
				a.addHint(in.Rs, in.Rd)
			}
			uses, defs = operands(&b.insts[k], uses[:0], defs[:0])
			for _, d := range defs {
				if !d.IsVirtual() {
					continue
				}
				it := a.interval(*d)
				if n := len(it.ranges); n > 0 && it.ranges[n-1].from <= pos+1 && it.ranges[n-1].to > pos+1 {
					it.ranges[n-1].from = pos + 1
				} else {
					it.addRange(pos+1, pos+2) // dead definition
				}
				it.noSpill = it.noSpill || loop
				it.cost += a.freq[bi]
				it.defs++
				if in := &b.insts[k]; in.Op == LI {
					it.liDef, it.liImm, it.liCost = true, in.Imm, a.freq[bi]
				}
			}
			for _, u := range uses {
				if u.IsVirtual() {
					it := a.interval(*u)
					it.addRange(from, pos+1)
					it.noSpill = it.noSpill || loop
					it.cost += a.freq[bi]
				}
			}
		}
	}
	for _, it := range a.intervals {
		if it == nil {
			continue
		}
		for i, j := 0, len(it.ranges)-1; i < j; i, j = i+1, j-1 {
			it.ranges[i], it.ranges[j] = it.ranges[j], it.ranges[i]
		}
		if it.defs == 1 && it.liDef && !it.noSpill {
			it.remat = true
			it.cost -= it.liCost // spilled, the li goes away
		}
	}
}

// addHint records that giving virtual register v the register of other
// (an allocatable physical register, or another virtual register's
// assignment) removes a move.
func (a *allocator) addHint(v, other Reg) {
	if !v.IsVirtual() || other == v || (!other.IsVirtual() && !isAllocatable(other)) {
		return
	}
	it := a.interval(v)
	it.hints = append(it.hints, other)
}

// hintedReg returns a hinted register that is free for all of cur, or
// ZERO.
func (a *allocator) hintedReg(cur *interval, freeUntil *[NumGPR]int) Reg {
	for _, h := range cur.hints {
		r := h
		if h.IsVirtual() {
			r = a.intervalOf(h).reg
		}
		if r != ZERO && freeUntil[r] >= cur.end() {
			return r
		}
	}
	return ZERO
}

func isLLSCBlock(b *mblock) bool {
	for _, in := range b.insts {
		if in.Op == LL || in.Op == SC {
			return true
		}
	}
	return false
}

// buildFixed computes the ranges where physical registers are busy: from
// each definition (or block entry) to its last use (or block exit, for
// the result registers of a returning block), and every caller-saved
// register at each call.
func (a *allocator) buildFixed() {
	var uses, defs []*Reg
	for bi, b := range a.m.blocks {
		from, to := a.blockFrom[bi], a.blockTo[bi]
		var openEnd [NumGPR]int // 0: not live
		if b.ret {
			openEnd[V0], openEnd[V1] = to, to
		}
		if b.tail {
			openEnd[A0], openEnd[A1], openEnd[A2] = to, to, to
		}
		nextCall := len(b.calls) - 1
		for k := len(b.insts) - 1; k >= 0; k-- {
			pos := from + 2*k
			uses, defs = operands(&b.insts[k], uses[:0], defs[:0])
			if nextCall >= 0 && b.calls[nextCall].index == k {
				for i := 0; i < b.calls[nextCall].argRegs; i++ {
					uses = append(uses, &ArgRegs[i])
				}
				nextCall--
			}
			for _, d := range defs {
				r := *d
				if r < NumGPR && isAllocatable(r) {
					end := openEnd[r]
					if end == 0 {
						end = pos + 2
					}
					a.fixed[r] = append(a.fixed[r], lrange{pos + 1, end})
					openEnd[r] = 0
				}
			}
			for _, u := range uses {
				r := *u
				if r < NumGPR && isAllocatable(r) && openEnd[r] == 0 {
					openEnd[r] = pos + 1
				}
			}
		}
		for r, end := range openEnd {
			if end != 0 {
				a.fixed[r] = append(a.fixed[r], lrange{from, end})
			}
		}
		for _, c := range b.calls {
			pos := from + 2*c.index
			for _, r := range CallerSaved {
				a.fixed[r] = append(a.fixed[r], lrange{pos, pos + 2})
			}
		}
	}
	for r := range a.fixed {
		f := a.fixed[r]
		sort.Slice(f, func(i, j int) bool { return f[i].from < f[j].from })
		// Merge overlaps so the list is disjoint and ascending.
		out := f[:0]
		for _, x := range f {
			if n := len(out); n > 0 && out[n-1].to >= x.from {
				out[n-1].to = max(out[n-1].to, x.to)
				continue
			}
			out = append(out, x)
		}
		a.fixed[r] = out
	}
}

func (a *allocator) scan() error {
	unhandled := a.all()
	sort.Slice(unhandled, func(i, j int) bool {
		if unhandled[i].start() != unhandled[j].start() {
			return unhandled[i].start() < unhandled[j].start()
		}
		return unhandled[i].vreg < unhandled[j].vreg
	})
	var active, inactive []*interval
	var freeUntil, freeIgnoringActive [NumGPR]int
	for _, cur := range unhandled {
		pos := cur.start()
		keep := active[:0]
		var nowInactive []*interval
		for _, it := range active {
			switch {
			case it.end() <= pos:
			case !it.covers(pos):
				nowInactive = append(nowInactive, it)
			default:
				keep = append(keep, it)
			}
		}
		active = keep
		keepIn := inactive[:0]
		for _, it := range inactive {
			switch {
			case it.end() <= pos:
			case it.covers(pos):
				active = append(active, it)
			default:
				keepIn = append(keepIn, it)
			}
		}
		inactive = append(keepIn, nowInactive...)

		for _, r := range allocRegs {
			freeIgnoringActive[r] = firstIntersection(cur.ranges, a.fixed[r])
		}
		for _, it := range inactive {
			if x := firstIntersection(cur.ranges, it.ranges); x < freeIgnoringActive[it.reg] {
				freeIgnoringActive[it.reg] = x
			}
		}
		freeUntil = freeIgnoringActive
		for _, it := range active {
			freeUntil[it.reg] = 0
		}
		best := a.hintedReg(cur, &freeUntil)
		if best == ZERO {
			best = allocRegs[0]
			for _, r := range allocRegs {
				if freeUntil[r] > freeUntil[best] {
					best = r
				}
			}
		}
		if freeUntil[best] >= cur.end() {
			cur.reg = best
			active = append(active, cur)
			continue
		}
		// No register is free for all of cur: spill the competitor with
		// the smallest spill weight among cur and the active intervals
		// whose register would then be free for all of cur.
		var victim *interval
		for _, it := range active {
			if it.noSpill || freeIgnoringActive[it.reg] < cur.end() {
				continue
			}
			if victim == nil || spillsBefore(it, victim) {
				victim = it
			}
		}
		if victim != nil && (cur.noSpill || spillsBefore(victim, cur)) {
			cur.reg = victim.reg
			victim.reg, victim.spilled = ZERO, true
			for i, it := range active {
				if it == victim {
					active[i] = cur
				}
			}
			continue
		}
		cur.spilled = true
	}
	return nil
}

// spillsBefore reports whether a is the better interval to spill than b:
// the smaller spill weight, on a tie the one that ends last (Poletto and
// Sarkar's rule, which frees the register longest).
func spillsBefore(a, b *interval) bool {
	wa, wb := a.spillWeight(), b.spillWeight()
	if wa != wb {
		return wa < wb
	}
	return a.end() > b.end()
}

// assignSlots gives spilled intervals 4-byte stack slots, reusing a slot
// once its interval has ended.
func (a *allocator) assignSlots() {
	var spilled []*interval
	for _, it := range a.all() {
		if it.spilled && !it.remat {
			spilled = append(spilled, it)
		}
	}
	sort.Slice(spilled, func(i, j int) bool {
		if spilled[i].start() != spilled[j].start() {
			return spilled[i].start() < spilled[j].start()
		}
		return spilled[i].vreg < spilled[j].vreg
	})
	var slotEnd []int // per slot: end of the interval using it
	for _, it := range spilled {
		for s, e := range slotEnd {
			if e <= it.start() {
				it.slot = s
				break
			}
		}
		if it.slot < 0 {
			it.slot = len(slotEnd)
			slotEnd = append(slotEnd, 0)
		}
		slotEnd[it.slot] = it.end()
	}
	a.numSlots = len(slotEnd)
}

// rewrite replaces virtual registers by their assignments and inserts
// spill loads and stores through the scratch registers. A block that needs
// no spill code is rewritten in place.
func (a *allocator) rewrite() error {
	var uses, defs []*Reg
	var before, after []Inst // spill code around the instruction
	used := map[Reg]bool{}
	for _, b := range a.m.blocks {
		// out is nil while the block is rewritten in place. orig keeps,
		// for each output instruction, the instruction before allocation
		// (spill code stands for itself), for checkAllocation.
		var out, orig []Inst
		if a.keepOrig {
			out, orig = make([]Inst, 0, len(b.insts)), make([]Inst, 0, len(b.insts))
		}
		callIdx := 0
		var calls []callSite
		for k := range b.insts {
			in := b.insts[k]
			before, after = before[:0], after[:0]
			if sp, ok := a.spillMove(&in, used); ok {
				in = sp // orig keeps the move: the checker sees the copy
			} else {
				uses, defs = operands(&in, uses[:0], defs[:0])
				var err error
				if before, after, err = a.rewriteOperands(&in, uses, defs, before, after, used); err != nil {
					return err
				}
			}
			if out == nil && (len(before) > 0 || len(after) > 0) {
				out = append(make([]Inst, 0, len(b.insts)+len(before)+len(after)+8), b.insts[:k]...)
			}
			if callIdx < len(b.calls) && b.calls[callIdx].index == k {
				at := k
				if out != nil {
					at = len(out) + len(before)
				}
				calls = append(calls, callSite{at, b.calls[callIdx].argRegs})
				callIdx++
			}
			if out == nil {
				b.insts[k] = in
				continue
			}
			out = append(append(append(out, before...), in), after...)
			if a.keepOrig {
				orig = append(append(append(orig, before...), b.insts[k]), after...)
			}
		}
		if out != nil {
			b.insts = out
		}
		b.calls, b.orig = calls, orig
	}
	for _, r := range CalleeSaved {
		if used[r] {
			a.usedCalleeSaved = append(a.usedCalleeSaved, r)
		}
	}
	return nil
}

// rewriteOperands gives the operands of in their registers: an assigned
// one its register, a spilled one a scratch register, loaded before in
// (appended to before) when read and stored after it (appended to after)
// when written.
func (a *allocator) rewriteOperands(in *Inst, uses, defs []*Reg, before, after []Inst, used map[Reg]bool) ([]Inst, []Inst, error) {
	// The scratch registers taken, for which virtual registers.
	var scratchOf [3]struct{ v, s Reg }
	taken := 0
	take := func(v Reg) (Reg, bool, error) {
		for _, x := range scratchOf[:taken] {
			if x.v == v {
				return x.s, false, nil
			}
		}
		if taken >= len(ScratchRegs) || taken >= len(scratchOf) {
			return 0, false, fmt.Errorf("%s: instruction %s needs more than %d scratch registers", a.m.name, in.Op, len(ScratchRegs))
		}
		scratchOf[taken].v, scratchOf[taken].s = v, ScratchRegs[taken]
		taken++
		return ScratchRegs[taken-1], true, nil
	}
	// Read every operand before replacing any: an operand that is both
	// read and written (movn's rd, sc's rt) is one field.
	var useBuf, defBuf [4]Reg
	useRegs, defRegs := useBuf[:0], defBuf[:0]
	for _, u := range uses {
		useRegs = append(useRegs, *u)
	}
	for _, d := range defs {
		defRegs = append(defRegs, *d)
	}
	for i, u := range uses {
		v := useRegs[i]
		if !v.IsVirtual() {
			continue
		}
		it := a.intervalOf(v)
		if !it.spilled {
			*u = it.reg
			continue
		}
		s, fresh, err := take(v)
		if err != nil {
			return before, after, err
		}
		if fresh {
			ld := Inst{Op: LW, Rt: s, Rs: SP, Imm: int32(4 * it.slot), Reloc: relocSpill}
			if it.remat {
				// Rs names the register the constant stands for, for the
				// allocation checker.
				ld = Inst{Op: LI, Rt: s, Rs: v, Imm: it.liImm, Reloc: relocRemat}
			}
			before = append(before, ld)
		}
		*u = s
	}
	for i, d := range defs {
		v := defRegs[i]
		if !v.IsVirtual() {
			if isCalleeSavedAlloc(v) {
				used[v] = true
			}
			continue
		}
		it := a.intervalOf(v)
		if !it.spilled {
			*d = it.reg
			if isCalleeSavedAlloc(it.reg) {
				used[it.reg] = true
			}
			continue
		}
		s, _, err := take(v)
		if err != nil {
			return before, after, err
		}
		*d = s
		if it.remat {
			in.Reloc = relocRematDef // dropped once the checker has seen it
			continue
		}
		after = append(after, Inst{Op: SW, Rt: s, Rs: SP, Imm: int32(4 * it.slot), Reloc: relocSpill})
	}
	return before, after, nil
}

// spillMove folds a move between a register and a spilled virtual
// register into the spill code itself: move v, r becomes sw r, slot(v)
// and move r, v becomes lw r, slot(v), instead of going through a
// scratch register.
func (a *allocator) spillMove(in *Inst, used map[Reg]bool) (Inst, bool) {
	if in.Op != MOVE {
		return Inst{}, false
	}
	place := func(r Reg) (reg Reg, slot int) {
		if !r.IsVirtual() {
			return r, -1
		}
		it := a.intervalOf(r)
		if it.spilled {
			if it.remat {
				return ZERO, -2
			}
			return ZERO, it.slot
		}
		return it.reg, -1
	}
	dst, dstSlot := place(in.Rd)
	src, srcSlot := place(in.Rs)
	switch {
	case dstSlot >= 0 && srcSlot == -1:
		return Inst{Op: SW, Rt: src, Rs: SP, Imm: int32(4 * dstSlot), Reloc: relocSpill}, true
	case srcSlot >= 0 && dstSlot == -1:
		if isCalleeSavedAlloc(dst) {
			used[dst] = true
		}
		return Inst{Op: LW, Rt: dst, Rs: SP, Imm: int32(4 * srcSlot), Reloc: relocSpill}, true
	}
	return Inst{}, false
}

func isCalleeSavedAlloc(r Reg) bool {
	for _, c := range CalleeSaved {
		if c == r {
			return true
		}
	}
	return false
}
