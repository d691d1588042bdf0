package passes

import (
	"slices"

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
//     or twice. (This matters: several passes run the analysis, on
//     functions of millions of values.)
//   - In that order (ssa.ReversePostorderLoops) an outermost loop's blocks
//     follow its header and precede every block its exits lead to, and
//     changes are propagated before the next block is visited; so a value
//     changes after a user's block was visited only when both lie in one
//     outermost loop (through the loop's back edges). Only those users
//     are indexed, which on straight-line code is none. A function with
//     an irreducible loop gets every user indexed.
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
func KnownBits(f *ir.Func) *Bits { return knownBits(f, false) }

// knownBits is KnownBits; allUsers propagates a change to every user in a
// visited block, not only to those in the value's outermost loop and,
// for a value its block's visit changed, to none (a test compares the
// two).
func knownBits(f *ir.Func, allUsers bool) *Bits {
	k := &Bits{
		facts:     make([]fact, f.NumValues()),
		reached:   make([]bool, f.NumValues()),
		execBlock: make([]bool, f.NumBlocks()),
	}
	s := newKBSolver(f, k, allUsers)
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
	// users are the values whose fact depends on each value: its users,
	// and for Int64Hi/Lo of a word pair the pair's words' too (halfFact
	// looks through the pair).
	users *userIndex
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
	// their block's visit. Such a value's users need no update: those in
	// its block come after it and were evaluated after it; the others are
	// in blocks its block dominates, which come later in the order, not
	// visited yet, or are phis on edges from such blocks (or from its
	// block), whose terminator's visit marks the edge and updates the
	// phis (markEdge).
	fresh    []bool
	visiting bool
	allUsers bool // knownBits's allUsers: no shortcut in propagate
}

func newKBSolver(f *ir.Func, k *Bits, allUsers bool) *kbSolver {
	n := f.NumValues()
	order, outermost, reducible := ssa.ReversePostorderLoops(f)
	if !reducible || allUsers {
		outermost = nil // any value may change after its users' visit
	}
	s := &kbSolver{f: f, k: k, allUsers: allUsers,
		order:     order,
		users:     newUserIndex(f, true, outermost),
		ctrlOf:    map[int][]*ir.Block{},
		isControl: make([]bool, n),
		edgeStart: make([]int32, f.NumBlocks()),
		queued:    make([]bool, n),
		fresh:     make([]bool, n),
	}
	edges := 0
	for _, b := range f.Blocks {
		s.edgeStart[b.ID] = int32(edges)
		edges += len(b.Preds)
		if b.Kind == ir.BlockIf && len(b.Controls) == 1 {
			c := b.Controls[0]
			s.ctrlOf[c.ID] = append(s.ctrlOf[c.ID], b)
			s.isControl[c.ID] = true
		}
	}
	s.execEdge = make([]bool, edges)
	return s
}

// userIndex lists the users of every value: those of the value with ID i
// are users[start[i]:start[i+1]], in block order, once per use. Passes
// build it on functions of millions of values, so it is one flat array,
// counted first and then filled. Constants are left out: nothing about a
// Const32 ever changes, so no analysis needs to revisit its users.
type userIndex struct {
	users []*ir.Value
	start []int32
}

// newUserIndex indexes the users of f's values; with pairWords, an
// Int64Hi or Int64Lo of a word pair (isWordPair) counts as a user of the
// pair's words too. With outermost (by block ID, the outermost loop
// around the block, -1 for none: ssa.ReversePostorderLoops), only users
// in the same outermost loop as the value are listed.
func newUserIndex(f *ir.Func, pairWords bool, outermost []int32) *userIndex {
	n := f.NumValues()
	x := &userIndex{start: make([]int32, n+1)}
	// Two passes over the uses: the first counts into start[id+1], which
	// is then summed; the second fills, with start[id] as the cursor,
	// which leaves it at the next value's start until the shift below.
	count, cursor := x.start[1:], x.start[:n]
	var buf [8]*ir.Value
	for pass := range 2 {
		for _, b := range f.Blocks {
			loop := int32(-1)
			if outermost != nil {
				if loop = outermost[b.ID]; loop < 0 {
					continue
				}
			}
			listed := func(a *ir.Value) bool {
				return a.Op != ir.OpConst32 && (outermost == nil || outermost[a.Block.ID] == loop)
			}
			for _, v := range b.Values {
				used := buf[:0] // the values v's fact depends on
				pair := pairWords && (v.Op == ir.OpInt64Hi || v.Op == ir.OpInt64Lo)
				for _, a := range v.Args {
					if listed(a) {
						used = append(used, a)
					}
					if pair && isWordPair(a) {
						for _, w := range a.Args {
							if listed(w) {
								used = append(used, w)
							}
						}
					}
				}
				for _, a := range used {
					if pass == 0 {
						count[a.ID]++
					} else {
						x.users[cursor[a.ID]] = v
						cursor[a.ID]++
					}
				}
			}
		}
		if pass == 0 {
			for i := 1; i <= n; i++ {
				x.start[i] += x.start[i-1]
			}
			x.users = make([]*ir.Value, x.start[n])
		}
	}
	copy(x.start[1:], x.start[:n])
	x.start[0] = 0
	return x
}

// of returns the users of v, nil for a value made after the index.
func (x *userIndex) of(v *ir.Value) []*ir.Value {
	if v.ID+1 >= len(x.start) {
		return nil
	}
	return x.users[x.start[v.ID]:x.start[v.ID+1]]
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
	if !fresh || s.allUsers {
		for _, u := range s.users.of(v) {
			if !s.visited[u.Block.ID] || (fresh && u.Block == v.Block && u.Op != ir.OpPhi) {
				continue
			}
			s.update(u)
		}
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
	return s.k.transferOp(v)
}

// transferOp is transfer for an op other than Phi.
func (k *Bits) transferOp(v *ir.Value) (f fact, ok bool) {
	for _, a := range v.Args {
		if !k.isReached(a) {
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
		return k.fact(v.Args[0]), true
	case ir.OpLoad8:
		return boundFact(0xff), true
	case ir.OpLoad16:
		return boundFact(0xffff), true
	case ir.OpLoadS8:
		return fact{sign: 25}, true
	case ir.OpLoadS16:
		return fact{sign: 17}, true
	case ir.OpInt64Hi, ir.OpInt64Lo:
		return k.halfFact(v)
	}
	if !isPure32(v.Op) {
		return unknownFact, true
	}
	var buf [3]fact
	args := buf[:len(v.Args)]
	for i, a := range v.Args {
		args[i] = k.fact(a)
	}
	same := len(v.Args) >= 2 && v.Args[0] == v.Args[1]
	return transfer32(v.Op, args, same), true
}

func (s *kbSolver) isReached(a *ir.Value) bool {
	return a.Op == ir.OpConst32 || s.k.reached[a.ID]
}

// isReached is kbSolver.isReached for any value, made since or not.
func (k *Bits) isReached(a *ir.Value) bool {
	return a.Op == ir.OpConst32 || a.ID < len(k.reached) && k.reached[a.ID]
}

// halfFact sees through Int64Hi/Lo of a pair whose words are i32 values.
func (k *Bits) halfFact(v *ir.Value) (fact, bool) {
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
		return k.fact(w), k.isReached(w)
	case ir.OpZeroExt32to64, ir.OpSignExt32to64:
		w := x.Args[0]
		if !k.isReached(w) {
			return fact{}, false
		}
		wf := k.fact(w)
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

// refine recomputes v's fact from its arguments' current facts, after a
// rewrite (simplify's incremental rounds, simplify_rounds.go): v may have
// a new op, new arguments or be new itself. The old fact and the new one
// are both true of v, so v keeps what either knows. A phi meets the
// arguments of the edges from executable blocks (the edges themselves
// are not kept); an argument without a fact counts as unknown. It
// reports whether v's fact improved; values in blocks that never run and
// values other than i32 are left alone.
func (k *Bits) refine(v *ir.Value) bool {
	if v.Type != ir.I32 || !k.Executable(v.Block) {
		return false
	}
	var nf fact
	ok := false
	switch v.Op {
	case ir.OpConst32: // folded: its users may learn more than its old fact
		if v.ID < len(k.facts) && k.reached[v.ID] && k.facts[v.ID] == constFact(uint32(v.AuxInt)) {
			return false
		}
		nf, ok = constFact(uint32(v.AuxInt)), true
	case ir.OpPhi:
		// Unlike the analysis, which starts optimistic, refine is
		// pessimistic: an argument with no fact yet (a value made since
		// the analysis, refined later) may be anything, and skipping it
		// would make the phi look like its other arguments.
		for j, a := range v.Args {
			if !k.Executable(v.Block.Preds[j]) {
				continue
			}
			if af := k.fact(a); ok {
				nf = meet(nf, af)
			} else {
				nf, ok = af, true
			}
		}
	default:
		nf, ok = k.transferOp(v)
	}
	if !ok {
		return false
	}
	if n := v.ID + 1; n > len(k.facts) {
		k.facts = slices.Grow(k.facts, n-len(k.facts))[:n]
		k.reached = slices.Grow(k.reached, n-len(k.reached))[:n]
	}
	if k.reached[v.ID] && v.Op != ir.OpConst32 {
		old := k.facts[v.ID]
		both := fact{zero: old.zero | nf.zero, one: old.one | nf.one, sign: max(old.sign, nf.sign)}
		if both.zero&both.one != 0 {
			return false // contradictory: v never runs
		}
		if nf = norm(both); nf == old {
			return false
		}
	}
	k.reached[v.ID], k.facts[v.ID] = true, nf
	return true
}

// merge adds to k what fresh, a later analysis of f (which has the same
// blocks), knows, and returns the values whose facts improved. Both hold
// (each rewrite since keeps every value's meaning), so a block runs only
// if both say it may, and a value's fact keeps what either knows.
func (k *Bits) merge(f *ir.Func, fresh *Bits) []*ir.Value {
	for i := range k.execBlock {
		k.execBlock[i] = k.execBlock[i] && fresh.execBlock[i]
	}
	if n := f.NumValues(); n > len(k.facts) {
		k.facts = slices.Grow(k.facts, n-len(k.facts))[:n]
		k.reached = slices.Grow(k.reached, n-len(k.reached))[:n]
	}
	var improved []*ir.Value
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			id := v.ID
			if v.Type != ir.I32 || v.Op == ir.OpConst32 || !fresh.reached[id] {
				continue
			}
			nf := fresh.facts[id]
			if k.reached[id] {
				old := k.facts[id]
				both := fact{zero: old.zero | nf.zero, one: old.one | nf.one, sign: max(old.sign, nf.sign)}
				if both.zero&both.one != 0 {
					continue // contradictory: v never runs
				}
				if nf = norm(both); nf == old {
					continue
				}
			}
			k.reached[id], k.facts[id] = true, nf
			improved = append(improved, v)
		}
	}
	return improved
}
