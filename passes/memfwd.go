package passes

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// memfwd forwards stored values to the loads that read them back and
// deletes stores nobody reads, on the BPF stack: the 512 bytes below
// FramePtr (r10). eBPF has only ten registers, so clang keeps what does
// not fit in them on the stack, and helpers take their keys and buffers
// there; after legalize64 a 64-bit spill is two Store32s and its reload
// two Load32s. Both halves of the pass are the classic ones (Muchnick,
// "Advanced Compiler Design and Implementation", 12.5 available
// expressions and 13.1 dead-code elimination), on stack slots instead of
// expressions and registers.
//
// What may touch the stack. An address is a stack address when it is
// FramePtr, or a stack address plus or minus anything, a copy, or a phi
// with a stack address among its arguments (before legalize64, also its
// ZeroExt32to64 and Int64Lo: BPF's r10 is a 64-bit value, and memory ops
// take the low word of r10 + off); with constant offsets all the
// way it names exact bytes FramePtr+off (off in [-512, 0)), otherwise it
// may point anywhere in the stack. The stack *escapes* when a stack
// address is used any other way: passed to a call that may keep it (one
// whose memory effect is unknown: a subprogram, callx, an unknown
// helper), stored to memory, compared, returned, ... Then calls may read
// and write any stack byte, and so may loads and stores through addresses
// not derived from FramePtr (which might carry the escaped address).
// While it has not escaped, only FramePtr-derived addresses reach the
// stack: eBPF pointers carry their provenance (the verifier tracks r10
// through every register and spill), so another pointer cannot be made
// to point into the frame.
//
// Calls. A call with a known memory effect (ir.CallEffect: a helper the
// frontend knows, such as bpf_map_lookup_elem) keeps no stack address it
// receives, so passing it a key or a buffer on the stack is no escape. It
// reads (writes) the stack only through the parameters its effect lists
// for reading (writing) that hold stack addresses: from FramePtr+off to
// the end of the frame, or anywhere for an address of unknown offset.
// Once the stack has escaped, a call that reads (writes) through any
// parameter may read (write) any stack byte; a call that touches no
// memory (bpf_ktime_get_ns) touches none of it either way. A call that
// writes no stack byte keeps every available slot: a key stored before a
// lookup is forwarded to the loads after it, while the store stays, since
// the lookup reads it.
//
// Forwarding is a forward dataflow of the slots whose bytes are known to
// equal the low bytes of an SSA value: a store of v to [off, off+n) makes
// (off, n, v) available, as does a load (its result holds the bytes it
// read); a store, an atomic or a call kills the slots it may write (all
// of them when it may write anywhere in the stack). At a join a slot
// stays available only if every predecessor has the same value in it (no
// phis are made). A load whose bytes lie inside an available slot becomes
// that value, shifted and zero- or sign-extended as the load would — the
// byte order comes from Config — and only when the value dominates the
// load.
//
// Dead stores come from a backward liveness of the stack's bytes: nothing
// is live at a return (the frame dies with it), everything may be read at
// a tail call (conservatively: the next program is entered with the frame
// freed, and only the verifier's rule against reading uninitialized stack
// makes its old bytes unobservable), at a call the bytes it may read,
// and at a load through an address that may be in the stack; a store of
// exact bytes kills them. A store none of whose bytes is live after it is
// removed.

// stackSize is the size of the BPF stack below FramePtr.
const stackSize = 512

// maxAvailSlots bounds the slots tracked at a point, so that a function
// with a huge straight-line stack area stays linear.
const maxAvailSlots = 64

// maxForwardRounds bounds the dataflow's rounds over the blocks. The sets
// only shrink from one round to the next, except where maxAvailSlots
// drops a slot, so this is reached only in pathological functions.
const maxForwardRounds = 50

func memfwdPass(f *ir.Func, c *Config) (Stats, error) {
	m := &memfwd{f: f, bigEndian: c != nil && c.BigEndian, order: ssa.ReversePostorder(f)}
	m.classify()
	st := Stats{"loads forwarded": m.forward()}
	m.classify() // forwarded loads are gone; nothing else changed
	st["stores removed"] = m.removeDeadStores()
	deleteZeros(st)
	return st, nil
}

type memfwd struct {
	f         *ir.Func
	bigEndian bool
	order     []*ir.Block // reachable blocks, in reverse postorder
	addrs     []stackAddr // by value ID
	escaped   bool
	// pos is, by value ID, the index of the value in its block when
	// forward began; values it inserts keep the order of the others.
	pos []int
}

// stackAddr says where a value may point in the stack.
type stackAddr struct {
	kind stackKind
	off  int64 // for exactly: the offset from FramePtr
}

type stackKind uint8

const (
	unset     stackKind = iota // not analyzed yet (a phi's back-edge argument)
	notStack                   // not derived from FramePtr
	exactly                    // FramePtr + off
	somewhere                  // derived from FramePtr, offset unknown; or maybe not a stack address at all
)

// join is the address a phi of a and b may hold.
func (a stackAddr) join(b stackAddr) stackAddr {
	switch {
	case a.kind == unset || a == b:
		return b
	case b.kind == unset:
		return a
	}
	return stackAddr{kind: somewhere}
}

// classify computes m.addrs and m.escaped.
func (m *memfwd) classify() {
	m.addrs = make([]stackAddr, m.f.NumValues())
	for changed := true; changed; {
		changed = false
		for _, b := range m.order {
			for _, v := range b.Values {
				if a := m.derive(v); a != m.addrs[v.ID] {
					m.addrs[v.ID], changed = a, true
				}
			}
		}
	}
	m.escaped = false
	for _, b := range m.order {
		for _, v := range b.Values {
			for i, a := range v.Args {
				if m.isStack(a) && !addressUse(v, i, m) {
					m.escaped = true
					return
				}
			}
		}
		for _, c := range b.Controls {
			if m.isStack(c) {
				m.escaped = true
				return
			}
		}
	}
}

func (m *memfwd) isStack(v *ir.Value) bool {
	k := m.addrs[v.ID].kind
	return k == exactly || k == somewhere
}

// derive is the address v holds, from its arguments'.
func (m *memfwd) derive(v *ir.Value) stackAddr {
	arg := func(i int) stackAddr {
		if a := m.addrs[v.Args[i].ID]; a.kind != unset {
			return a
		}
		return stackAddr{kind: notStack}
	}
	switch v.Op {
	case ir.OpFramePtr:
		return stackAddr{kind: exactly}
	case ir.OpCopy, ir.OpZeroExt32to64, ir.OpInt64Lo:
		// The last two: r10 and its sums before legalize64 are i64
		// values, and memory ops take their low words.
		return arg(0)
	case ir.OpPhi:
		a := stackAddr{}
		for _, x := range v.Args {
			a = a.join(m.addrs[x.ID])
		}
		return a
	case ir.OpAdd32, ir.OpSub32, ir.OpAdd64, ir.OpSub64:
		// The base address is the first operand (of an add, the stack
		// one), the offset the other.
		base, offset := 0, 1
		if (v.Op == ir.OpAdd32 || v.Op == ir.OpAdd64) && arg(0).kind == notStack {
			base, offset = 1, 0
		}
		x, y := arg(base), arg(offset)
		if x.kind == notStack {
			return stackAddr{kind: notStack}
		}
		// A sum or difference of two stack addresses (an escape, see
		// addressUse) may be anything. (Never back to notStack: a value
		// only moves up, unset → notStack → exactly → somewhere, as its
		// arguments do, so classify's rounds end.)
		if c, ok := constOperand(v, offset); ok && x.kind == exactly && y.kind == notStack {
			if v.Op == ir.OpSub32 || v.Op == ir.OpSub64 {
				c = -c
			}
			return stackAddr{kind: exactly, off: x.off + c}
		}
		return stackAddr{kind: somewhere}
	}
	return stackAddr{kind: notStack}
}

// constOperand is argument i of v as a signed constant. (A Const64
// offset out of the stack's range makes an address outside it, which
// accessOf takes for anywhere.)
func constOperand(v *ir.Value, i int) (int64, bool) {
	switch v.Args[i].Op {
	case ir.OpConst32:
		return int64(int32(v.Args[i].AuxInt)), true
	case ir.OpConst64:
		return v.Args[i].AuxInt, true
	}
	return 0, false
}

// addressUse reports whether argument i of v, a stack address, is used as
// an address (or to derive one) rather than escaping.
func addressUse(v *ir.Value, i int, m *memfwd) bool {
	switch {
	case v.Op.IsLoad() || v.Op.IsStore() || v.Op.IsAtomic():
		return i == 0
	case v.Op == ir.OpCopy || v.Op == ir.OpPhi || v.Op == ir.OpZeroExt32to64 || v.Op == ir.OpInt64Lo:
		return true
	case v.Op == ir.OpAdd32 || v.Op == ir.OpAdd64:
		return !m.isStack(v.Args[1-i])
	case v.Op == ir.OpSub32 || v.Op == ir.OpSub64:
		return i == 0 && !m.isStack(v.Args[1])
	case v.Op == ir.OpCall && v.CallEffect().Known():
		// The callee keeps no stack address; one in a high word is no
		// pointer it can use, so treat it as escaping.
		_, low := v.CallParamOf(i)
		return low
	}
	return false
}

// access is what a memory op or call may do to the stack.
type access struct {
	kind stackKind // exactly: the bytes [off, off+size); somewhere: any; notStack: none
	off  int32
	size int
}

var (
	noAccess  = access{kind: notStack}
	anyAccess = access{kind: somewhere}
)

// union is an access that covers a and b.
func (a access) union(b access) access {
	switch {
	case a.kind == notStack:
		return b
	case b.kind == notStack:
		return a
	case a.kind == exactly && b.kind == exactly:
		lo := min(a.off, b.off)
		hi := max(a.off+int32(a.size), b.off+int32(b.size))
		return access{kind: exactly, off: lo, size: int(hi - lo)}
	}
	return anyAccess
}

// isCall reports a call (Call or CallRuntime): see callAccess.
func isCall(v *ir.Value) bool { return v.Op == ir.OpCall || v.Op == ir.OpCallRuntime }

// callAccess is what the call v may read and write of the stack (see the
// file comment).
func (m *memfwd) callAccess(v *ir.Value) (reads, writes access) {
	e := v.CallEffect() // unknown for CallRuntime: libatomic writes through its pointer
	switch {
	case !e.Known() && m.escaped:
		return anyAccess, anyAccess
	case !e.Known():
		return noAccess, noAccess // it has seen no stack address
	case m.escaped:
		reads, writes = noAccess, noAccess
		if e.ReadMask() != 0 {
			reads = anyAccess
		}
		if e.WriteMask() != 0 {
			writes = anyAccess
		}
		return reads, writes
	}
	reads, writes = noAccess, noAccess
	for i, a := range v.Args {
		p, low := v.CallParamOf(i)
		if !low || !m.isStack(a) {
			continue
		}
		through := m.accessThrough(a)
		if e.ReadMask()&(1<<p) != 0 {
			reads = reads.union(through)
		}
		if e.WriteMask()&(1<<p) != 0 {
			writes = writes.union(through)
		}
	}
	return reads, writes
}

// accessThrough is the part of the stack a call reaches through the stack
// address a: from it to the end of the frame.
func (m *memfwd) accessThrough(a *ir.Value) access {
	addr := m.addrs[a.ID]
	switch {
	case addr.kind != exactly || addr.off < -stackSize:
		return anyAccess
	case addr.off >= 0:
		return noAccess
	}
	return access{kind: exactly, off: int32(addr.off), size: int(-addr.off)}
}

// accessOf classifies the effect on the stack of a load, store or atomic;
// ok is false for values that neither read nor write memory, and for calls
// (see callAccess).
func (m *memfwd) accessOf(v *ir.Value) (a access, ok bool) {
	if !(v.Op.IsLoad() || v.Op.IsStore() || v.Op.IsAtomic()) {
		return access{}, false
	}
	addr := m.addrs[v.Args[0].ID]
	n := v.Op.MemSize()
	switch addr.kind {
	case exactly:
		off := addr.off + v.AuxInt
		if off >= -stackSize && off+int64(n) <= 0 {
			return access{kind: exactly, off: int32(off), size: n}, true
		}
		return access{kind: somewhere}, true
	case somewhere:
		return access{kind: somewhere}, true
	}
	if m.escaped {
		return access{kind: somewhere}, true
	}
	return access{kind: notStack}, true
}

// slotVal says the stack bytes [off, off+size) are the low size bytes of
// val, in the target's byte order.
type slotVal struct {
	off  int32
	size int
	val  *ir.Value
}

func (s slotVal) overlaps(off int32, size int) bool {
	return s.off < off+int32(size) && off < s.off+int32(s.size)
}

func (s slotVal) contains(off int32, size int) bool {
	return s.off <= off && off+int32(size) <= s.off+int32(s.size)
}

// availSet is the set of available slots at a point; known false is the
// top of the lattice (a block not computed yet), which a meet ignores.
type availSet struct {
	known bool
	slots []slotVal
}

func (s availSet) meet(t availSet) availSet {
	switch {
	case !s.known:
		return availSet{known: t.known, slots: slices.Clone(t.slots)}
	case !t.known:
		return s
	}
	s.slots = slices.DeleteFunc(s.slots, func(x slotVal) bool { return !slices.Contains(t.slots, x) })
	return s
}

func (s availSet) equal(t availSet) bool {
	return s.known == t.known && len(s.slots) == len(t.slots) &&
		!slices.ContainsFunc(s.slots, func(x slotVal) bool { return !slices.Contains(t.slots, x) })
}

// forward runs the available-slots dataflow to a fixed point, then
// rewrites the loads it can answer; it returns how many.
func (m *memfwd) forward() int {
	dom := ssa.Dominators(m.f)
	m.pos = make([]int, m.f.NumValues())
	for _, b := range m.f.Blocks {
		for i, v := range b.Values {
			m.pos[v.ID] = i
		}
	}
	out := make([]availSet, m.f.NumBlocks())
	in := func(b *ir.Block) availSet {
		if b == m.f.Entry() {
			return availSet{known: true} // the stack's bytes at entry are unknown
		}
		s := availSet{}
		for _, p := range b.Preds {
			if dom.Reachable(p) {
				s = s.meet(out[p.ID])
			}
		}
		return s
	}
	for round := 0; ; round++ {
		if round == maxForwardRounds {
			return 0 // no fixed point yet (maxAvailSlots cut the sets): forward nothing
		}
		changed := false
		for _, b := range m.order {
			s := in(b)
			for _, v := range b.Values {
				m.transfer(&s, v, dom, nil)
			}
			if !s.equal(out[b.ID]) {
				out[b.ID], changed = s, true
			}
		}
		if !changed {
			break
		}
	}
	fw := newForwarder(m)
	for _, b := range m.order {
		s := in(b)
		for _, v := range b.Values {
			m.transfer(&s, v, dom, fw) // (the values rewrite makes go at the end, and touch no memory)
		}
		fw.place(b)
	}
	fw.k.place()
	replaceValues(m.f, fw.repl)
	return fw.n
}

// forwarder rewrites loads during the last walk of forward.
type forwarder struct {
	m    *memfwd
	repl []*ir.Value
	k    *entryConstants
	n    int
	// before holds, by load, the values made to go just before it; they
	// wait at the end of the load's block until place.
	before map[*ir.Value][]*ir.Value
	made   map[*ir.Value]bool
}

func newForwarder(m *memfwd) *forwarder {
	return &forwarder{m: m, repl: make([]*ir.Value, m.f.NumValues()), k: newEntryConstants(m.f, true),
		before: map[*ir.Value][]*ir.Value{}, made: map[*ir.Value]bool{}}
}

// newBefore makes a value that place puts just before ld.
func (fw *forwarder) newBefore(ld *ir.Value, op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	v := ld.Block.NewValue(op, t, args...)
	fw.before[ld] = append(fw.before[ld], v)
	fw.made[v] = true
	return v
}

// place moves the values newBefore made in b to their places, in one
// sweep over the block.
func (fw *forwarder) place(b *ir.Block) {
	if len(fw.before) == 0 {
		return
	}
	out := make([]*ir.Value, 0, len(b.Values))
	for _, v := range b.Values {
		if !fw.made[v] {
			out = append(append(out, fw.before[v]...), v)
			delete(fw.before, v)
		}
	}
	b.Values = out
}

// transfer applies v's effect to the available slots s; with fw set it
// also rewrites v if it is a load that s answers.
func (m *memfwd) transfer(s *availSet, v *ir.Value, dom *ssa.DomTree, fw *forwarder) {
	a, ok := m.accessOf(v)
	if isCall(v) {
		_, a = m.callAccess(v) // what it may write
		ok = true
	}
	if !ok || a.kind == notStack {
		return
	}
	if a.kind == somewhere {
		if !v.Op.IsLoad() { // a store, atomic or call may write any byte
			s.slots = s.slots[:0]
		}
		return
	}
	switch {
	case v.Op.IsLoad():
		if fw != nil {
			if src, ok := m.answer(s, v, a, dom); ok {
				fw.rewrite(v, src, a)
			}
		}
		// Forwarded or not, v holds the bytes it reads. (Adding it either
		// way keeps the transfer monotone, so the dataflow converges.)
		m.add(s, slotVal{a.off, a.size, v})
	case v.Op.IsStore():
		s.slots = slices.DeleteFunc(s.slots, func(x slotVal) bool { return x.overlaps(a.off, a.size) })
		if x := v.Args[1]; x.Type == ir.I32 && a.size <= 4 {
			m.add(s, slotVal{a.off, a.size, x})
		}
	default: // atomics on the stack, calls that write through a stack address
		s.slots = slices.DeleteFunc(s.slots, func(x slotVal) bool { return x.overlaps(a.off, a.size) })
	}
}

func (m *memfwd) add(s *availSet, x slotVal) {
	if x.size > 4 || x.val.Type != ir.I32 {
		return
	}
	if len(s.slots) >= maxAvailSlots {
		s.slots = slices.Delete(s.slots, 0, 1)
	}
	s.slots = append(s.slots, x)
}

// answer finds an available slot holding every byte load ld reads, whose
// value dominates ld.
func (m *memfwd) answer(s *availSet, ld *ir.Value, a access, dom *ssa.DomTree) (slotVal, bool) {
	if ld.Type != ir.I32 {
		return slotVal{}, false
	}
	// A slot of the load's own bytes first, then any that holds them; the
	// oldest first, since a forwarded load is a slot of its own after the
	// one that answered it.
	for _, exact := range []bool{true, false} {
		for _, x := range s.slots {
			if x.contains(a.off, a.size) && (!exact || x.off == a.off && x.size == a.size) && m.defDominates(x.val, ld, dom) {
				return x, true
			}
		}
	}
	return slotVal{}, false
}

// defDominates reports whether x is defined before v on every path to v.
func (m *memfwd) defDominates(x, v *ir.Value, dom *ssa.DomTree) bool {
	if x.Block != v.Block {
		return dom.StrictlyDominates(x.Block, v.Block)
	}
	return m.pos[x.ID] < m.pos[v.ID]
}

// loadExtension is the extension each narrow load applies to its bytes.
var loadExtension = map[ir.Op]ir.Op{
	ir.OpLoad8:   ir.OpZeroExt8to32,
	ir.OpLoad16:  ir.OpZeroExt16to32,
	ir.OpLoadS8:  ir.OpSignExt8to32,
	ir.OpLoadS16: ir.OpSignExt16to32,
}

// rewrite turns the load ld, whose bytes a are inside the slot src, into
// src's value: shifted right to bring the bytes down, then extended as
// the load would.
//
//	bytes at src.off+d, little-endian: val >> 8d
//	big-endian: val >> 8(src.size - d - a.size)
func (fw *forwarder) rewrite(ld *ir.Value, src slotVal, a access) {
	fw.n++
	d := int(a.off - src.off)
	shift := 8 * d
	if fw.m.bigEndian {
		shift = 8 * (src.size - d - a.size)
	}
	x := src.val
	if shift == 0 && src.size == a.size && x.Op == ld.Op {
		fw.repl[ld.ID] = x // the same load again
		return
	}
	if shift > 0 {
		x = fw.newBefore(ld, ir.OpShrU32, ir.I32, x, fw.k.get(uint32(shift)))
	}
	ext, narrow := loadExtension[ld.Op]
	// A logical shift that leaves exactly the load's bytes has zero-extended them.
	if !narrow || shift+8*a.size == 32 && (ext == ir.OpZeroExt8to32 || ext == ir.OpZeroExt16to32) {
		fw.repl[ld.ID] = x
		return
	}
	ld.Reset(ext, ir.I32, x)
}

// byteSet is a set of stack bytes, bit off+stackSize for FramePtr+off.
type byteSet [stackSize / 64]uint64

func (s *byteSet) all() {
	for i := range s {
		s[i] = ^uint64(0)
	}
}

func (s *byteSet) union(t *byteSet) {
	for i := range s {
		s[i] |= t[i]
	}
}

func (s *byteSet) setRange(off int32, n int, on bool) {
	for k := range n {
		i := int(off) + stackSize + k
		if on {
			s[i/64] |= 1 << (i % 64)
		} else {
			s[i/64] &^= 1 << (i % 64)
		}
	}
}

func (s *byteSet) anyInRange(off int32, n int) bool {
	for k := range n {
		i := int(off) + stackSize + k
		if s[i/64]&(1<<(i%64)) != 0 {
			return true
		}
	}
	return false
}

// removeDeadStores deletes the stores to exact stack bytes that no path
// reads before they are overwritten or the function returns; it returns
// how many.
func (m *memfwd) removeDeadStores() int {
	liveIn := make([]byteSet, m.f.NumBlocks())
	post := slices.Clone(m.order)
	slices.Reverse(post)
	for changed := true; changed; {
		changed = false
		for _, b := range post {
			live := m.liveOut(b, liveIn)
			for i := len(b.Values) - 1; i >= 0; i-- {
				m.liveStep(&live, b.Values[i])
			}
			if live != liveIn[b.ID] {
				liveIn[b.ID], changed = live, true
			}
		}
	}
	removed := 0
	for _, b := range m.order {
		live := m.liveOut(b, liveIn)
		dead := map[*ir.Value]bool{}
		for i := len(b.Values) - 1; i >= 0; i-- {
			v := b.Values[i]
			if a, ok := m.accessOf(v); ok && a.kind == exactly && v.Op.IsStore() && !live.anyInRange(a.off, a.size) {
				dead[v] = true
				continue
			}
			m.liveStep(&live, v)
		}
		if len(dead) == 0 {
			continue
		}
		b.Values = slices.DeleteFunc(b.Values, func(v *ir.Value) bool {
			if dead[v] {
				v.ResetArgs()
			}
			return dead[v]
		})
		removed += len(dead)
	}
	return removed
}

// liveOut is the union of b's successors' live bytes; nothing at a
// return, everything at a tail call.
func (m *memfwd) liveOut(b *ir.Block, liveIn []byteSet) byteSet {
	var live byteSet
	switch b.Kind {
	case ir.BlockRet:
	case ir.BlockTailCall:
		live.all()
	default:
		for _, s := range b.Succs {
			live.union(&liveIn[s.ID])
		}
	}
	return live
}

// liveStep moves the live bytes from after v to before it.
func (m *memfwd) liveStep(live *byteSet, v *ir.Value) {
	a, ok := m.accessOf(v)
	if isCall(v) {
		// What it may read; what it may write stays live, since the write
		// is only possible.
		a, _ = m.callAccess(v)
		ok = true
	}
	switch {
	case !ok || a.kind == notStack:
	case a.kind == somewhere:
		if !v.Op.IsStore() { // a store somewhere kills nothing for sure
			live.all()
		}
	case v.Op.IsStore():
		live.setRange(a.off, a.size, false)
	default: // loads, atomics and calls read their bytes
		live.setRange(a.off, a.size, true)
	}
}
