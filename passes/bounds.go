package passes

import (
	"math"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// bounds removes the packet bounds checks that an earlier check already
// decides. Packet programs guard every header read with
//
//	if (data + N > data_end) return ...;
//
// and inlining and repeated helpers repeat such checks; one with an N no
// larger than that of a check passed before (on the same data and
// data_end) always passes, and one after a failed check with an N no
// smaller always fails. The compare becomes a constant; cfg (or
// deadcode) folds the branch.
//
// The comparisons are BPF's 64-bit ones: after legalize64 a pointer is a
// (hi, lo) pair, data + N is lo = Add32(l, N), hi = h + LtU32(lo, l) (the
// carry), and P <=u E is Or32(LtU32(Ph, Eh), And32(Eq32(Ph, Eh), LeU32(Pl,
// El))) (legalize64_arith.go). The pass reads each side back as a root
// pair plus a constant, root + k, looking through such adds (and through
// an Add32 whose carry known bits rule out, with any high word); a 32-bit
// compare is one of pairs with high words 0.
//
// Wraparound. The IR computes these sums modulo 2^64 (modulo 2^32 for a
// 32-bit compare), and an implication like data + 14 <= end ⇒ data + 10
// <= end fails when data + 14 wraps. So a side counts as root + k only
// when known bits bound the root so that root + k < 2^64 — the root's
// high word is 0 or a carry, so it is below 2^33 — and then every sum is
// the exact integer and the facts below are plain integer inequalities.
// A 32-bit compare of unknown pointers (whose sums may wrap at 2^32) is
// left alone.
//
// Facts. The edge where a check passes says P + s <= E (s = 1 when
// strict), the other edge E + 1 - s <= P; with P = A + a and E = B + b
// that is A + d <= B for a constant d. A fact holds in the dominator
// subtree of an edge's target when the target has that one predecessor.
// A compare whose P + s <= E reads A + d' <= B is true under a fact
// A + d <= B with d >= d', false under B + e <= A with e >= 1 - d', and
// decided outright when A and B are the same root.

func boundsPass(f *ir.Func, _ *Config) (Stats, error) {
	bc := &boundsChecker{kb: KnownBits(f), repl: make([]*ir.Value, f.NumValues()), k: newEntryConstants(f, true)}
	walkDominatorTree(f, ssa.Dominators(f), func(b *ir.Block) func() {
		n := len(bc.facts)
		bc.visit(b)
		return func() { bc.facts = bc.facts[:n] }
	})
	bc.k.place()
	if bc.decided > 0 {
		replaceValues(f, bc.repl)
	}
	st := Stats{"checks decided": bc.decided}
	deleteZeros(st)
	return st, nil
}

type boundsChecker struct {
	kb      *Bits
	repl    []*ir.Value
	k       *entryConstants
	facts   []checkFact
	decided int
}

// pairRoot names a 64-bit value by its words' value IDs; hi is -1 for a
// high word known to be 0.
type pairRoot struct{ hi, lo int }

// checkFact says a + d <= b, as integers.
type checkFact struct {
	a, b pairRoot
	d    int64
}

// pairSum is root + off, exactly (no wraparound).
type pairSum struct {
	root pairRoot
	off  int64
}

// boundCompare is the compare P + strict <= E.
type boundCompare struct {
	p, e   pairSum
	strict int64
}

// visit adds the fact of the edge into b, if any, then decides b's
// compares.
func (bc *boundsChecker) visit(b *ir.Block) {
	// Every run of b comes through the edge from its one predecessor —
	// unless b is the entry, which runs first with no edge at all.
	if len(b.Preds) == 1 && b != b.Func.Entry() {
		p := b.Preds[0]
		if p.Kind == ir.BlockIf && p.Succs[0] != p.Succs[1] {
			if c, ok := bc.compare(resolve(bc.repl, p.Controls[0])); ok {
				pass := p.Succs[0] == b
				bc.facts = append(bc.facts, c.edgeFact(pass))
			}
		}
	}
	for _, v := range b.Values {
		c, ok := bc.compare(v)
		if !ok {
			continue
		}
		if r, ok := bc.decide(c); ok {
			bc.repl[v.ID] = bc.k.get(b2u32(r))
			bc.decided++
		}
	}
}

// edgeFact is what c says on the edge where it is true (pass) or false.
func (c boundCompare) edgeFact(pass bool) checkFact {
	if pass { // P + s <= E: A + (a + s - b) <= B
		return checkFact{c.p.root, c.e.root, c.p.off + c.strict - c.e.off}
	}
	// E + 1 - s <= P: B + (b + 1 - s - a) <= A
	return checkFact{c.e.root, c.p.root, c.e.off + 1 - c.strict - c.p.off}
}

// decide reports c's value if the facts or its own sides decide it.
func (bc *boundsChecker) decide(c boundCompare) (bool, bool) {
	d := c.p.off + c.strict - c.e.off // c is A + d <= B
	if c.p.root == c.e.root {
		return d <= 0, true
	}
	for _, f := range bc.facts {
		switch {
		case f.a == c.p.root && f.b == c.e.root && f.d >= d:
			return true, true
		case f.a == c.e.root && f.b == c.p.root && f.d >= 1-d:
			return false, true
		}
	}
	return false, false
}

// compare reads v as an unsigned compare of two exact sums.
func (bc *boundsChecker) compare(v *ir.Value) (boundCompare, bool) {
	var ph, pl, eh, el *ir.Value
	var lowOp ir.Op
	switch v.Op {
	case ir.OpLtU32, ir.OpLeU32: // a 32-bit compare: high words 0
		pl, el, lowOp = v.Args[0], v.Args[1], v.Op
	case ir.OpOr32:
		var ok bool
		if ph, pl, eh, el, lowOp, ok = bc.wideCompare(v); !ok {
			return boundCompare{}, false
		}
	default:
		return boundCompare{}, false
	}
	p, ok := bc.sum(ph, pl)
	if !ok {
		return boundCompare{}, false
	}
	e, ok := bc.sum(eh, el)
	if !ok {
		return boundCompare{}, false
	}
	c := boundCompare{p: p, e: e}
	if lowOp == ir.OpLtU32 {
		c.strict = 1
	}
	return c, true
}

// wideCompare matches legalize64's unsigned 64-bit compare,
// Or32(LtU32(ph, eh), And32(Eq32(ph, eh), L(pl, el))) with L LtU32 or
// LeU32, its commutative operands in either order.
func (bc *boundsChecker) wideCompare(v *ir.Value) (ph, pl, eh, el *ir.Value, lowOp ir.Op, ok bool) {
	for i := range 2 {
		// Not resolved: a part decided on its own still has its operands.
		hiLess, rest := v.Args[i], v.Args[1-i]
		if hiLess.Op != ir.OpLtU32 || rest.Op != ir.OpAnd32 {
			continue
		}
		ph, eh = hiLess.Args[0], hiLess.Args[1]
		for j := range 2 {
			eq, low := rest.Args[j], rest.Args[1-j]
			if eq.Op != ir.OpEq32 || low.Op != ir.OpLtU32 && low.Op != ir.OpLeU32 {
				continue
			}
			if (eq.Args[0] == ph && eq.Args[1] == eh) || (eq.Args[0] == eh && eq.Args[1] == ph) {
				return ph, low.Args[0], eh, low.Args[1], low.Op, true
			}
		}
	}
	return nil, nil, nil, nil, 0, false
}

// maxSumDepth bounds how many adds sum looks through.
const maxSumDepth = 8

// sum reads the pair (hi, lo) (hi nil: 0) as root + off, looking through
// adds of constants, and checks that the sum cannot wrap.
func (bc *boundsChecker) sum(hi, lo *ir.Value) (pairSum, bool) {
	var off int64
	for range maxSumDepth {
		h, l, c, ok := bc.addStep(hi, lo)
		if !ok {
			break
		}
		hi, lo, off = h, l, off+int64(c)
	}
	root := pairRoot{hi: -1, lo: lo.ID}
	rootMax := uint64(bc.kb.fact(lo).umax())
	if hi != nil && !bc.isZero(hi) {
		root.hi = hi.ID
		rootMax |= uint64(bc.kb.fact(hi).umax()) << 32
	}
	if uint64(off) > math.MaxUint64-rootMax {
		return pairSum{}, false // root + off might wrap around 2^64
	}
	return pairSum{root: root, off: off}, true
}

// addStep reads the pair (hi, lo) as (h, l) + c, c a 32-bit constant, in
// the shapes legalize64 and simplify leave (hi nil, and h nil, mean 0):
//
//	hi = LtU32(lo, x) or Add32(h, LtU32(lo, x)): the carry of lo = x + c,
//	  where lo = Add32(x, c), or lo = Add32(y, c1) and x = Add32(y, c2)
//	  (simplify reassociates data + 32 + 14 into ctx + 46 but leaves the
//	  carry test against data), c = c1 - c2; or lo = Add32(l, c) and x is
//	  c itself (legalize64 tests the carry against the first addend);
//	lo = Add32(l, c) with known bits ruling the carry out: (hi, l) + c.
func (bc *boundsChecker) addStep(hi, lo *ir.Value) (h, l *ir.Value, c uint32, ok bool) {
	if hi != nil {
		var carry *ir.Value
		switch {
		case bc.isCarryOf(hi, lo):
			carry = hi
		case hi.Op == ir.OpAdd32 && bc.isCarryOf(hi.Args[1], lo):
			carry, h = hi.Args[1], hi.Args[0]
		case hi.Op == ir.OpAdd32 && bc.isCarryOf(hi.Args[0], lo):
			carry, h = hi.Args[0], hi.Args[1]
		}
		if carry != nil {
			x := carry.Args[1]
			if y, c1, ok := bc.constAddend(lo); ok {
				if k, isConst := bc.kb.Constant(x); isConst && k == c1 {
					return h, y, c1, true // x is the constant addend
				}
				if y == x {
					return h, x, c1, true
				}
				if z, c2, ok := bc.constAddend(x); ok && z == y {
					return h, x, c1 - c2, true
				}
			}
		}
	}
	y, c, ok := bc.constAddend(lo)
	if ok && uint64(bc.kb.fact(y).umax())+uint64(c) < 1<<32 { // no carry
		return hi, y, c, true
	}
	return nil, nil, 0, false
}

// isCarryOf reports x = LtU32(lo, _).
func (bc *boundsChecker) isCarryOf(x, lo *ir.Value) bool {
	return x.Op == ir.OpLtU32 && x.Args[0] == lo
}

// constAddend matches lo = Add32(y, c) with c a non-zero constant.
func (bc *boundsChecker) constAddend(lo *ir.Value) (*ir.Value, uint32, bool) {
	if lo.Op != ir.OpAdd32 {
		return nil, 0, false
	}
	for i := range 2 {
		if c, ok := bc.kb.Constant(lo.Args[1-i]); ok && c != 0 {
			return lo.Args[i], c, true
		}
	}
	return nil, 0, false
}

func (bc *boundsChecker) isZero(v *ir.Value) bool {
	c, ok := bc.kb.Constant(v)
	return ok && c == 0
}

// walkDominatorTree visits the blocks in a preorder of the dominator tree:
// enter(b) runs before b's subtree, and the function it returns after it,
// so that what enter adds for the subtree (facts, scoped tables) can go.
// An explicit stack, not recursion: the tree of a long chain of blocks is
// as deep as the chain.
func walkDominatorTree(f *ir.Func, dom *ssa.DomTree, enter func(b *ir.Block) (leave func())) {
	type frame struct {
		b     *ir.Block
		next  int // next child to visit
		leave func()
	}
	stack := []frame{{b: f.Entry(), leave: enter(f.Entry())}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if kids := dom.Children(top.b); top.next < len(kids) {
			k := kids[top.next]
			top.next++
			stack = append(stack, frame{b: k, leave: enter(k)})
			continue
		}
		top.leave()
		stack = stack[:len(stack)-1]
	}
}
