package passes

import (
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// Known bits: for every i32 value, which bits are certainly 0 and which
// certainly 1 whenever the value is computed, and how many of its leading
// bits certainly equal its sign bit. After legalize64 most high words are
// 0 (zero-extended loads and ALU32 results) or copies of a sign bit
// (sign-extensions), and this analysis is what lets simplify prove it and
// delete the high-word arithmetic, carries and compares built on them.
//
// The analysis is sparse conditional propagation (Wegman and Zadeck,
// "Constant propagation with conditional branches", TOPLAS 1991) over the
// known-bits lattice of LLVM's ValueTracking instead of constants:
//
//   - It starts optimistic: every value is "not reached" (top, all bits
//     known) and only the entry block is executable. A value is evaluated
//     when its block becomes executable and again whenever an argument's
//     fact changes; a phi meets only the arguments of executable incoming
//     edges, so a loop-carried high word that starts 0 and stays 0 is
//     proven 0 across the loop.
//   - An If whose control is known non-zero (or zero) makes only one
//     successor edge executable.
//   - Facts only ever lose knowledge (a re-evaluation meets the new fact
//     with the old), so the iteration ends: each of the 32 bits goes from
//     known to unknown at most once and the sign count only decreases.
//   - Executable blocks are visited in reverse postorder, changed values
//     are propagated before the next visit, and only to users in blocks
//     already visited: a block's visit finds its values' arguments already
//     settled except across back edges, so most values are evaluated once
//     or twice. (This matters: simplify runs the analysis every round, on
//     functions of millions of values.)
//
// Each op's transfer function is in knownbits_ops.go. A value in a block
// the analysis proves never runs stays "not reached"; Known reports it as
// unknown, which is always safe.

// Bits is the known-bits analysis of one function.
type Bits struct {
	facts     []fact // by value ID
	reached   []bool // by value ID: the value may run and facts holds
	execBlock []bool // by block ID: the block may run
}

// KnownBits analyzes f, which must be valid (see ir.Verify).
func KnownBits(f *ir.Func) *Bits {
	k := &Bits{
		facts:     make([]fact, f.NumValues()),
		reached:   make([]bool, f.NumValues()),
		execBlock: make([]bool, f.NumBlocks()),
	}
	s := newKBSolver(f, k)
	s.run()
	return k
}

// Known returns the bits of v known to be 0 and those known to be 1.
// Constants are fully known; values the analysis has not seen (made after
// it ran), that never run, or that are not i32 are unknown (0, 0).
func (k *Bits) Known(v *ir.Value) (zero, one uint32) {
	f := k.fact(v)
	return f.zero, f.one
}

// SignBits is the number of leading bits of v known to equal its sign bit
// (1 to 32): 32 means v is 0 or -1.
func (k *Bits) SignBits(v *ir.Value) int { return int(k.fact(v).sign) }

// Constant reports whether every bit of v is known, and its value.
func (k *Bits) Constant(v *ir.Value) (uint32, bool) { return k.fact(v).constant() }

// Executable reports whether the analysis found a way for b to run.
func (k *Bits) Executable(b *ir.Block) bool {
	return b.ID < len(k.execBlock) && k.execBlock[b.ID]
}

func (k *Bits) fact(v *ir.Value) fact {
	switch {
	case v.Op == ir.OpConst32:
		return constFact(uint32(v.AuxInt))
	case v.Type != ir.I32 || v.ID >= len(k.facts) || !k.reached[v.ID]:
		return unknownFact
	}
	return k.facts[v.ID]
}

type kbSolver struct {
	f *ir.Func
	k *Bits
	// The values whose fact depends on value i are users[userStart[i]:
	// userStart[i+1]] (one flat array: this runs on every round of simplify).
	users     []*ir.Value
	userStart []int32
	// ctrlOf holds, by value ID, the If blocks the value controls; only
	// values marked in isControl have an entry (the map is slow to ask).
	ctrlOf    map[int][]*ir.Block
	isControl []bool
	// execEdge holds, for predecessor j of block b, whether the edge may
	// run, at edgeStart[b.ID]+j (one flat array, like users).
	execEdge  []bool
	edgeStart []int32
	// Blocks are visited in reverse postorder, so that a value's
	// arguments mostly have their facts when it is first evaluated:
	// order lists the blocks, rpoIndex is by block ID, pending by order
	// index marks blocks made executable but not yet visited, all from
	// order[next] on.
	order    []*ir.Block
	rpoIndex []int32
	pending  []bool
	next     int
	visited  []bool      // by block ID
	values   []*ir.Value // work: values whose fact changed
	queued   []bool      // by value ID: in values
	// fresh, by value ID, marks queued values whose last change came from
	// their block's visit, which evaluated the non-phi users in that
	// block after them: propagate skips those.
	fresh    []bool
	visiting bool
}

func newKBSolver(f *ir.Func, k *Bits) *kbSolver {
	n := f.NumValues()
	s := &kbSolver{f: f, k: k,
		userStart: make([]int32, n+1),
		ctrlOf:    map[int][]*ir.Block{},
		isControl: make([]bool, n),
		edgeStart: make([]int32, f.NumBlocks()),
		queued:    make([]bool, n),
		fresh:     make([]bool, n),
	}
	// Users by dependence: a value's arguments, and for Int64Hi/Lo of a
	// word pair the pair's words too (halfFact looks through the pair).
	// Counted first, then filled with userStart[a.ID] as the cursor, which
	// leaves each entry at the next one's start until the shift below.
	count := s.userStart[1:]
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			pair := v.Op == ir.OpInt64Hi || v.Op == ir.OpInt64Lo
			for _, a := range v.Args {
				count[a.ID]++
				if pair && isWordPair(a) {
					for _, w := range a.Args {
						count[w.ID]++
					}
				}
			}
		}
	}
	for i := 1; i <= n; i++ {
		s.userStart[i] += s.userStart[i-1]
	}
	s.users = make([]*ir.Value, s.userStart[n])
	cursor := s.userStart[:n]
	edges := 0
	for _, b := range f.Blocks {
		s.edgeStart[b.ID] = int32(edges)
		edges += len(b.Preds)
		for _, v := range b.Values {
			pair := v.Op == ir.OpInt64Hi || v.Op == ir.OpInt64Lo
			for _, a := range v.Args {
				s.users[cursor[a.ID]] = v
				cursor[a.ID]++
				if pair && isWordPair(a) {
					for _, w := range a.Args {
						s.users[cursor[w.ID]] = v
						cursor[w.ID]++
					}
				}
			}
		}
		if b.Kind == ir.BlockIf && len(b.Controls) == 1 {
			c := b.Controls[0]
			s.ctrlOf[c.ID] = append(s.ctrlOf[c.ID], b)
			s.isControl[c.ID] = true
		}
	}
	copy(s.userStart[1:], s.userStart[:n])
	s.userStart[0] = 0
	s.execEdge = make([]bool, edges)
	return s
}

// isWordPair reports the i64 ops whose words halfFact can see.
func isWordPair(v *ir.Value) bool {
	switch v.Op {
	case ir.OpInt64Make, ir.OpZeroExt32to64, ir.OpSignExt32to64:
		return true
	}
	return false
}

// run propagates facts until nothing changes. Changed values go first,
// then the next executable block in reverse postorder; a user in a block
// not visited yet is left alone, its visit will evaluate it.
func (s *kbSolver) run() {
	s.order = ssa.ReversePostorder(s.f)
	s.rpoIndex = make([]int32, s.f.NumBlocks())
	for i, b := range s.order {
		s.rpoIndex[b.ID] = int32(i)
	}
	s.pending = make([]bool, len(s.order))
	s.visited = make([]bool, s.f.NumBlocks())
	s.makeExecutable(s.f.Entry())
	for {
		if n := len(s.values); n > 0 {
			v := s.values[n-1]
			s.values = s.values[:n-1]
			s.queued[v.ID] = false
			s.propagate(v, s.fresh[v.ID])
			continue
		}
		for s.next < len(s.order) && !s.pending[s.next] {
			s.next++
		}
		if s.next == len(s.order) {
			return
		}
		s.pending[s.next] = false
		s.visitBlock(s.order[s.next])
	}
}

// propagate re-evaluates the users of v, whose fact changed, except
// (fresh) the non-phi ones in v's block.
func (s *kbSolver) propagate(v *ir.Value, fresh bool) {
	for _, u := range s.users[s.userStart[v.ID]:s.userStart[v.ID+1]] {
		if !s.visited[u.Block.ID] || (fresh && u.Block == v.Block && u.Op != ir.OpPhi) {
			continue
		}
		s.update(u)
	}
	if !s.isControl[v.ID] {
		return
	}
	for _, b := range s.ctrlOf[v.ID] {
		if s.visited[b.ID] {
			s.visitTerminator(b)
		}
	}
}

func (s *kbSolver) makeExecutable(b *ir.Block) {
	s.k.execBlock[b.ID] = true
	i := int(s.rpoIndex[b.ID])
	s.pending[i] = true
	s.next = min(s.next, i)
}

// visitBlock evaluates a block that just became executable.
func (s *kbSolver) visitBlock(b *ir.Block) {
	s.visited[b.ID] = true
	s.visiting = true
	for _, v := range b.Values {
		s.update(v)
	}
	s.visiting = false
	s.visitTerminator(b)
}

func (s *kbSolver) visitTerminator(b *ir.Block) {
	switch b.Kind {
	case ir.BlockJump:
		s.markEdge(b, 0)
	case ir.BlockIf:
		c := b.Controls[0]
		if !s.k.reached[c.ID] && c.Op != ir.OpConst32 {
			return
		}
		f := s.k.fact(c)
		if f.zero != ^uint32(0) { // may be non-zero
			s.markEdge(b, 0)
		}
		if f.one == 0 { // may be zero
			s.markEdge(b, 1)
		}
	}
}

func (s *kbSolver) markEdge(b *ir.Block, i int) {
	succ := b.Succs[i]
	j := ir.PredIndex(b, i)
	if j < 0 || s.execEdge[s.edgeStart[succ.ID]+int32(j)] {
		return
	}
	s.execEdge[s.edgeStart[succ.ID]+int32(j)] = true
	if !s.k.execBlock[succ.ID] {
		s.makeExecutable(succ)
		return
	}
	if !s.visited[succ.ID] {
		return // its visit evaluates the phis
	}
	for _, v := range succ.Values {
		if v.Op == ir.OpPhi {
			s.update(v)
		}
	}
}

// update re-evaluates v and queues its users if its fact changed.
func (s *kbSolver) update(v *ir.Value) {
	nf, ok := s.transfer(v)
	if !ok {
		return
	}
	id := v.ID
	if s.k.reached[id] {
		nf = norm(meet(s.k.facts[id], nf))
		if nf == s.k.facts[id] {
			return
		}
	}
	s.k.reached[id], s.k.facts[id] = true, nf
	s.fresh[id] = s.visiting && (!s.queued[id] || s.fresh[id])
	if !s.queued[id] {
		s.queued[id] = true
		s.values = append(s.values, v)
	}
}

// transfer computes v's fact from its arguments'; ok is false while an
// argument it needs is not reached.
func (s *kbSolver) transfer(v *ir.Value) (f fact, ok bool) {
	if v.Op == ir.OpPhi {
		start := s.edgeStart[v.Block.ID]
		edges := s.execEdge[start : start+int32(len(v.Block.Preds))]
		for j, a := range v.Args {
			if j >= len(edges) || !edges[j] || !s.isReached(a) {
				continue
			}
			if af := s.k.fact(a); ok {
				f = meet(f, af)
			} else {
				f, ok = af, true
			}
		}
		return f, ok
	}
	for _, a := range v.Args {
		if !s.isReached(a) {
			return fact{}, false
		}
	}
	if v.Type != ir.I32 {
		return unknownFact, true
	}
	switch v.Op {
	case ir.OpConst32:
		return constFact(uint32(v.AuxInt)), true
	case ir.OpCopy:
		return s.k.fact(v.Args[0]), true
	case ir.OpLoad8:
		return boundFact(0xff), true
	case ir.OpLoad16:
		return boundFact(0xffff), true
	case ir.OpLoadS8:
		return fact{sign: 25}, true
	case ir.OpLoadS16:
		return fact{sign: 17}, true
	case ir.OpInt64Hi, ir.OpInt64Lo:
		return s.halfFact(v)
	}
	if !isPure32(v.Op) {
		return unknownFact, true
	}
	var buf [3]fact
	args := buf[:len(v.Args)]
	for i, a := range v.Args {
		args[i] = s.k.fact(a)
	}
	same := len(v.Args) >= 2 && v.Args[0] == v.Args[1]
	return transfer32(v.Op, args, same), true
}

func (s *kbSolver) isReached(a *ir.Value) bool {
	return a.Op == ir.OpConst32 || s.k.reached[a.ID]
}

// halfFact sees through Int64Hi/Lo of a pair whose words are i32 values.
func (s *kbSolver) halfFact(v *ir.Value) (fact, bool) {
	x := v.Args[0]
	hi := v.Op == ir.OpInt64Hi
	switch x.Op {
	case ir.OpConst64:
		c := uint64(x.AuxInt)
		if hi {
			return constFact(uint32(c >> 32)), true
		}
		return constFact(uint32(c)), true
	case ir.OpInt64Make:
		w := x.Args[1]
		if hi {
			w = x.Args[0]
		}
		return s.k.fact(w), s.isReached(w)
	case ir.OpZeroExt32to64, ir.OpSignExt32to64:
		w := x.Args[0]
		if !s.isReached(w) {
			return fact{}, false
		}
		wf := s.k.fact(w)
		switch {
		case !hi:
			return wf, true
		case x.Op == ir.OpZeroExt32to64:
			return constFact(0), true
		}
		// The high word of a sign-extension: 32 copies of w's sign.
		return norm(fact{zero: wf.zero & signBit, one: wf.one & signBit, sign: 32}), true
	}
	return unknownFact, true
}
