package passes

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// promote turns stack slots into SSA values: scalar replacement of the
// BPF stack, or mem2reg. clang spills what does not fit in BPF's ten
// registers to r10-N and reloads it, in loops too; memfwd forwards a
// store to a later load only when one value reaches the load on every
// path, while a slot written on both arms of a branch, or once per loop
// iteration, needs a phi. promote builds those phis with the same SSA
// construction the lifter uses for registers (ssa.Builder, Braun et al.
// 2013): each promotable slot is a variable, a store defines it, a load
// reads it. The stores then go.
//
// It runs first, on the lifter's i64 IR, so that every later pass sees
// the values instead of memory: ranges a loop bound clang spilled (and
// so narrows the counter compared with it), ifconv a slot written on
// both arms of a branch (now a phi, so a select), licm what depended on
// memory the loop wrote.
//
// A slot is a maximal run of stack bytes that the function's exact
// accesses (memfwd's FramePtr + constant addresses, which follow r10
// through the lifter's ZeroExt32to64, Int64Lo, 64-bit sums and phis)
// overlap. It is promoted when
//
//   - the stack does not escape (memfwd's classify): then only these
//     accesses reach it, and calls only through the stack addresses they
//     are given (memfwd's callAccess: helpers with a known memory effect,
//     which keep no pointer);
//   - no load, store, atomic or call reaches the stack at an unknown
//     offset;
//   - no call may read or write it. One that writes it (a helper filling
//     a buffer) gives it a value no store made. One that reads it (a map
//     key) needs its stores; promoting it anyway would turn the reloads
//     after the call into values live across the call, which cost a
//     callee-saved register (or a spill) where the reload from the slot,
//     which holds the value anyway, costs one load: measured on
//     xdp_parse, whose key clang reloads after each lookup, that was 22
//     more instructions executed and 16 more bytes. memfwd still forwards
//     such a reload where one value reaches it;
//   - it pays (worthIt): some load of it is in a loop, or no store is;
//   - it is 1, 2 or 4 bytes (an i32 variable) or 8 (an i64, before
//     legalize64), every store to it writes all of it, and no atomic
//     touches it. Loads may read all of it or any part within one word:
//     a narrower load is the slot's value (or the Int64Lo or Int64Hi of
//     an i64 one) shifted and extended, as memfwd rewrites a forwarded
//     load.
//
// A load that no store reaches on some path reads the bytes the stack
// held at entry: those paths get one load of the slot at the top of the
// entry block (BPF's verifier rejects such programs, but the IR allows
// them, and the tests run them). Stores are deleted unless the function
// can tail-call: memfwd counts every stack byte as read there (see its
// liveness), and so does promote.

func promotePass(f *ir.Func, c *Config) (Stats, error) {
	m := &memfwd{f: f, bigEndian: c != nil && c.BigEndian, order: ssa.ReversePostorder(f)}
	if len(m.order) != len(f.Blocks) || len(f.Entry().Preds) > 0 {
		return Stats{}, nil // the verifier rejects both; nothing to rely on
	}
	m.classify()
	if m.escaped {
		return Stats{}, nil
	}
	p := &promoter{m: m}
	if !p.findSlots() {
		return Stats{}, nil
	}
	st := p.rewrite()
	deleteZeros(st)
	return st, nil
}

// maxBuilderCells bounds blocks × promoted slots, the size of
// ssa.Builder's table (8 bytes a cell).
const maxBuilderCells = 1 << 22

// stackSlot is a promotable run of stack bytes [off, off+size).
type stackSlot struct {
	off  int32
	size int
	// entryLoad reads the slot's bytes at entry, made when a load may
	// see them.
	entryLoad *ir.Value
}

type promoter struct {
	m     *memfwd
	slots []stackSlot
	// slotOf is, by value ID, 1 + the index in slots of the slot a load
	// or store accesses; 0 for every other value.
	slotOf   []int32
	accesses []access // by value ID, for loads and stores of a slot
	loops    *ssa.LoopNest
}

// findSlots groups the exact stack accesses into slots and keeps the
// promotable ones; it reports false when none is, or when an access at an
// unknown offset forbids them all.
func (p *promoter) findSlots() bool {
	f := p.m.f
	p.slotOf = make([]int32, f.NumValues())
	p.accesses = make([]access, f.NumValues())
	var users []*ir.Value
	called := noAccess // the stack bytes calls may read or write
	for _, b := range p.m.order {
		for _, v := range b.Values {
			if isCall(v) {
				r, w := p.m.callAccess(v)
				if called = called.union(r).union(w); called.kind == somewhere {
					return false
				}
				continue
			}
			a, ok := p.m.accessOf(v)
			switch {
			case !ok || a.kind == notStack:
			case a.kind == somewhere:
				return false
			default:
				p.accesses[v.ID] = a
				users = append(users, v)
			}
		}
	}
	// Merge overlapping accesses into runs, in offset order.
	type slotRun struct {
		slot     stackSlot
		accesses []*ir.Value
	}
	var runs []slotRun
	slices.SortStableFunc(users, func(x, y *ir.Value) int { return int(p.accesses[x.ID].off - p.accesses[y.ID].off) })
	for i := 0; i < len(users); {
		lo := p.accesses[users[i].ID].off
		hi := lo + int32(p.accesses[users[i].ID].size)
		j := i + 1
		for ; j < len(users) && p.accesses[users[j].ID].off < hi; j++ {
			hi = max(hi, p.accesses[users[j].ID].off+int32(p.accesses[users[j].ID].size))
		}
		slot := stackSlot{off: lo, size: int(hi - lo)}
		if run := users[i:j]; !slot.overlaps(called) && p.promotable(run, lo, hi) && p.worthIt(run) {
			runs = append(runs, slotRun{slot, run})
		}
		i = j
	}
	// ssa.Builder keeps a table of blocks × variables: in a huge function
	// with many slots, promote those accessed most.
	if keep := maxBuilderCells / max(f.NumBlocks(), 1); len(runs) > keep {
		slices.SortStableFunc(runs, func(x, y slotRun) int { return len(y.accesses) - len(x.accesses) })
		runs = runs[:keep]
	}
	for _, run := range runs {
		p.slots = append(p.slots, run.slot)
		for _, v := range run.accesses {
			p.slotOf[v.ID] = int32(len(p.slots))
		}
	}
	return len(p.slots) > 0
}

// overlaps reports whether the slot shares a byte with a, an access of
// exact bytes or none.
func (s stackSlot) overlaps(a access) bool {
	return a.kind == exactly && s.off < a.off+int32(a.size) && a.off < s.off+int32(s.size)
}

// promotable reports whether the run of accesses to [lo, hi) may become
// one SSA variable: an i32 for a slot of at most 4 bytes, an i64 for an
// 8-byte one (before legalize64), whose loads read all of it or i32s
// within one of its words.
func (p *promoter) promotable(run []*ir.Value, lo, hi int32) bool {
	want := ir.I32
	switch hi - lo {
	case 1, 2, 4:
	case 8:
		want = ir.I64
	default:
		return false
	}
	stores := 0
	for _, v := range run {
		a := p.accesses[v.ID]
		switch {
		case v.Op.IsStore():
			if a.off != lo || a.off+int32(a.size) != hi || v.Args[1].Type != want {
				return false
			}
			stores++
		case v.Op == ir.OpLoad64:
			if a.off != lo || hi-lo != 8 {
				return false
			}
		case v.Op.IsLoad():
			inWord := a.off+int32(a.size) <= lo+4 || a.off >= lo+4
			if v.Type != ir.I32 || !inWord {
				return false
			}
		default: // atomics
			return false
		}
	}
	return stores > 0
}

// worthIt reports whether promoting the slot of run pays: not when it is
// stored in a loop and loaded only outside loops (a result the loop
// leaves in memory). Promoted, it would hold a register through the
// whole loop to save a load after it; in tcp_options, whose loop keeps
// five such results, that pressure made the allocator spill the ctx
// pointer, which costs more than the loads saved.
func (p *promoter) worthIt(run []*ir.Value) bool {
	if p.loops == nil {
		p.loops = ssa.NaturalLoops(p.m.f, ssa.Dominators(p.m.f))
	}
	storedInLoop := false
	for _, v := range run {
		inLoop := p.loops.Depth(v.Block) > 0
		if v.Op.IsLoad() && inLoop {
			return true
		}
		storedInLoop = storedInLoop || inLoop
	}
	return !storedInLoop
}

// rewrite replaces the loads of promoted slots by the values stored
// there, through phis where paths meet, and deletes the stores.
func (p *promoter) rewrite() Stats {
	f := p.m.f
	types := make([]ir.Type, len(p.slots))
	for i, s := range p.slots {
		types[i] = ir.I32
		if s.size == 8 {
			types[i] = ir.I64
		}
	}
	bld := ssa.NewBuilder(f, types)
	var atEntry []*ir.Value // FramePtr and the entry loads, placed at the top at the end
	bld.Undefined = func(variable int, _ *ir.Block) *ir.Value {
		s := &p.slots[variable]
		if s.entryLoad == nil {
			if len(atEntry) == 0 {
				atEntry = append(atEntry, f.Entry().NewValue(ir.OpFramePtr, ir.I32))
			}
			s.entryLoad = f.Entry().NewValue(loadOfSize[s.size], types[variable], atEntry[0])
			s.entryLoad.AuxInt = int64(s.off)
			atEntry = append(atEntry, s.entryLoad)
		}
		return s.entryLoad
	}
	fw := newForwarder(p.m)
	keepStores := slices.ContainsFunc(f.Blocks, func(b *ir.Block) bool { return b.Kind == ir.BlockTailCall })
	var stores []*ir.Value
	filledPreds := make([]int, f.NumBlocks())
	bld.Seal(f.Entry())
	for _, b := range p.m.order {
		// A snapshot: Read may put phis at the top of b.
		for _, v := range slices.Clone(b.Values) {
			if v.ID >= len(p.slotOf) || p.slotOf[v.ID] == 0 {
				continue
			}
			k := int(p.slotOf[v.ID] - 1)
			s := p.slots[k]
			if v.Op.IsStore() {
				bld.Write(k, b, v.Args[1])
				stores = append(stores, v)
				continue
			}
			p.replaceLoad(fw, v, s, bld.Read(k, b))
		}
		fw.place(b)
		for _, s := range b.Succs {
			if filledPreds[s.ID]++; filledPreds[s.ID] == len(s.Preds) {
				bld.Seal(s)
			}
		}
	}
	st := Stats{"slots promoted": len(p.slots), "loads promoted": fw.n}
	if !keepStores {
		for _, v := range stores {
			v.ResetArgs()
		}
		for _, b := range f.Blocks {
			b.Values = slices.DeleteFunc(b.Values, func(v *ir.Value) bool {
				return v.ID < len(p.slotOf) && p.slotOf[v.ID] != 0 && v.Op.IsStore()
			})
		}
		st["stores removed"] = len(stores)
	}
	replaceValues(f, fw.repl)
	moveToEntryTop(f, atEntry)
	fw.k.place()
	// Finish misses a phi whose argument was replaced by a phi that is
	// replaced later (a chain through a loop); removeTrivialPhis's rounds
	// take the rest, few after Finish.
	bld.Finish()
	f.ComputeUses()
	removeTrivialPhis(f)
	removeDeadValues(f)
	return st
}

// replaceLoad makes the load ld of slot s the value x the slot holds: x
// itself for a whole i64; for an i32 load, the word of x it reads
// (little-endian: the low word first in memory) shifted and extended as
// memfwd forwards a store.
func (p *promoter) replaceLoad(fw *forwarder, ld *ir.Value, s stackSlot, x *ir.Value) {
	a := p.accesses[ld.ID]
	if ld.Op == ir.OpLoad64 {
		fw.n++
		fw.repl[ld.ID] = x
		return
	}
	word := slotVal{off: s.off, size: s.size, val: x}
	if s.size == 8 {
		high := a.off >= s.off+4 // the word at the higher address
		op := ir.OpInt64Lo
		if high != p.m.bigEndian {
			op = ir.OpInt64Hi
		}
		if high {
			word.off += 4
		}
		word.size = 4
		word.val = fw.newBefore(ld, op, ir.I32, x)
	}
	fw.rewrite(ld, word, a)
}

// loadOfSize is the zero-extending load of each slot size.
var loadOfSize = [...]ir.Op{1: ir.OpLoad8, 2: ir.OpLoad16, 4: ir.OpLoad32, 8: ir.OpLoad64}

// moveToEntryTop moves vs, in their order, to the top of the entry block.
func moveToEntryTop(f *ir.Func, vs []*ir.Value) {
	if len(vs) == 0 {
		return
	}
	e := f.Entry()
	e.Values = append(slices.Clone(vs), slices.DeleteFunc(e.Values, func(v *ir.Value) bool { return slices.Contains(vs, v) })...)
}
