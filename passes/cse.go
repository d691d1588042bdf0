package passes

import (
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// cse is common-subexpression elimination by global value numbering over
// the dominator tree (the "dominator-based value numbering" of Briggs,
// Cooper and Simpson, "Value Numbering", SP&E 1997): a preorder walk of the
// tree keeps a scoped table from an expression — op, type, aux fields and
// the arguments' value numbers — to the first value that computed it; a
// later value with the same expression in a dominated block is replaced by
// that one, which dominates all its uses. Leaving a subtree drops its
// entries, so a value is only ever replaced by one that dominates it.
//
// What counts as the same expression:
//
//   - pure ops (no memory read, no side effect) with equal op, type,
//     AuxInt, Sym and arguments, the arguments of commutative ops in either
//     order — constants, Arg, FramePtr, addresses, arithmetic, compares,
//     Int64Hi/Lo, PairLo/Hi of the same call;
//   - phis of the same block with the same arguments;
//   - plain loads with equal op, address and offset when memory cannot
//     have changed between them. Memory has epochs: a new one after every
//     call and atomic and at the entry of every block with several
//     predecessors, while a block with one predecessor (its immediate
//     dominator) continues the epoch its predecessor ended with; only
//     loads of one epoch merge, so never across a join or a loop. Within
//     an epoch, a store between the two loads prevents the merge unless it
//     provably writes other bytes: the same base value with disjoint
//     offset ranges, or two constant addresses with disjoint ranges.
//     Forwarding a stored value to a later load is left to a
//     store-forwarding pass.
//
// Two limits keep merging from costing more registers than it saves.
// cse does not merge a value with one computed before a call on the
// dominator-tree path (calls in side branches are not seen): under O32 a
// value live across a call needs one of the nine callee-saved registers or
// a spill, which costs more than recomputing an op whose operands are
// mostly live anyway. And values cheap to recompute without operands
// (constants, addresses, FramePtr-16: cheapToRecompute) merge only within
// a block. Values with more than three arguments (wide phis) are left
// alone, which keeps the table key a small fixed-size struct.

func csePass(f *ir.Func, _ *Config) (Stats, error) {
	dom := ssa.Dominators(f)
	c := &cse{
		repl:     make([]*ir.Value, f.NumValues()),
		table:    map[cseKey]cseEntry{},
		epochEnd: make([]int, f.NumBlocks()),
	}
	type frame struct {
		b         *ir.Block
		next      int // next child to visit
		undo      int // len(c.undo) on entry
		storesLen int // len(c.stores) on entry
		calls     int // c.calls on entry
	}
	stack := []frame{{b: f.Entry()}}
	c.visit(f.Entry())
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if kids := dom.Children(top.b); top.next < len(kids) {
			k := kids[top.next]
			top.next++
			stack = append(stack, frame{b: k, undo: len(c.undo), storesLen: len(c.stores), calls: c.calls})
			c.visit(k)
			continue
		}
		for i := len(c.undo) - 1; i >= top.undo; i-- {
			u := c.undo[i]
			if u.old.v == nil {
				delete(c.table, u.key)
			} else {
				c.table[u.key] = u.old
			}
		}
		c.undo = c.undo[:top.undo]
		c.stores = c.stores[:top.storesLen]
		c.calls = top.calls
		stack = stack[:len(stack)-1]
	}
	st := Stats{"values merged": c.merged, "loads merged": c.loads}
	if c.merged+c.loads > 0 {
		replaceValues(f, c.repl)
	}
	deleteZeros(st)
	return st, nil
}

type cse struct {
	repl  []*ir.Value // by value ID: the dominating value that replaces it
	table map[cseKey]cseEntry
	undo  []cseUndo // table changes, undone when the walk leaves a subtree
	// stores are the stores since the epoch began, on the path the walk
	// is on; epochEnd is, by block ID, the epoch at the block's end.
	stores   []*ir.Value
	epochEnd []int
	epochs   int // last epoch handed out
	calls    int // calls on the path from the entry

	merged int
	loads  int
}

// cseEntry is the value that computed an expression first, with
// len(cse.stores) and cse.calls when it ran.
type cseEntry struct {
	v      *ir.Value
	stores int
	calls  int
}

type cseUndo struct {
	key cseKey
	old cseEntry // v == nil: the key was absent
}

// cseKey is an expression. Arguments are value IDs after replacement;
// block is set for phis only, epoch for loads only.
type cseKey struct {
	op    ir.Op
	typ   ir.Type
	aux   int64
	sym   string
	nargs int
	args  [3]int
	block int
	epoch int
}

func (c *cse) visit(b *ir.Block) {
	epoch := 0
	if len(b.Preds) == 1 {
		epoch = c.epochEnd[b.Preds[0].ID]
	} else {
		c.epochs++
		epoch = c.epochs
	}
	for _, v := range b.Values {
		switch {
		case v.Op.IsStore():
			c.stores = append(c.stores, v)
			continue
		case v.Op.Info().SideEffect: // calls and atomics
			c.epochs++
			epoch = c.epochs
			if v.Op == ir.OpCall || v.Op == ir.OpCallRuntime {
				c.calls++
			}
			continue
		}
		key, ok := c.key(v, epoch)
		if !ok {
			continue
		}
		e, seen := c.table[key]
		switch {
		case !seen:
		case e.calls != c.calls && v.Op != ir.OpArg: // Args are all read on entry anyway
			seen = false // see "calls" above; v stands for the expression from now on
		case v.Op.IsLoad() && c.storeBetween(e.stores, v):
			seen = false
		}
		if !seen {
			c.undo = append(c.undo, cseUndo{key, e})
			c.table[key] = cseEntry{v, len(c.stores), c.calls}
			continue
		}
		w := e.v
		c.repl[v.ID] = w
		if v.Op.IsLoad() {
			w.Align = max(w.Align, v.Align) // both proofs hold for the one address
			c.loads++
		} else {
			c.merged++
		}
	}
	c.epochEnd[b.ID] = epoch
}

// key returns v's expression, or false when v may not be merged.
func (c *cse) key(v *ir.Value, epoch int) (cseKey, bool) {
	info := v.Op.Info()
	if len(v.Args) > len(cseKey{}.args) || (info.ReadsMem && !v.Op.IsLoad()) {
		return cseKey{}, false
	}
	k := cseKey{op: v.Op, typ: v.Type, aux: v.AuxInt, sym: v.Sym, nargs: len(v.Args), block: -1}
	for i, a := range v.Args {
		k.args[i] = resolve(c.repl, a).ID
	}
	if info.Commutative && k.args[0] > k.args[1] {
		k.args[0], k.args[1] = k.args[1], k.args[0]
	}
	switch {
	case v.Op == ir.OpPhi, cheapToRecompute(v):
		k.block = v.Block.ID
	case v.Op.IsLoad():
		k.epoch = epoch
	}
	return k, true
}

// storeBetween reports whether a store made after the first since
// stores ones of the epoch may write a byte the load ld reads.
func (c *cse) storeBetween(since int, ld *ir.Value) bool {
	for _, st := range c.stores[since:] {
		if mayOverlap(resolve(c.repl, st.Args[0]), st.AuxInt, st.Op.MemSize(), resolve(c.repl, ld.Args[0]), ld.AuxInt, ld.Op.MemSize()) {
			return true
		}
	}
	return false
}

// mayOverlap reports whether the accesses [a+aoff, +an) and [b+boff, +bn)
// may share a byte: unless a and b are the same value or both constants,
// and the ranges are disjoint.
func mayOverlap(a *ir.Value, aoff int64, an int, b *ir.Value, boff int64, bn int) bool {
	if a != b {
		if a.Op != ir.OpConst32 || b.Op != ir.OpConst32 {
			return true
		}
		aoff = int64(uint32(aoff + a.AuxInt)) // the addresses, as the machine computes them
		boff = int64(uint32(boff + b.AuxInt))
		if aoff+int64(an) > 1<<32 || boff+int64(bn) > 1<<32 {
			return true // wraps around
		}
	}
	return aoff < boff+int64(bn) && boff < aoff+int64(an)
}

// cheapToRecompute reports values that cost at most an instruction or two
// and no register input but the stack pointer: constants, addresses, and
// a constant offset from one (the FramePtr-16 of a helper argument).
// Merging such values across blocks would trade that instruction for a
// register held over the blocks between, often across calls, so cse
// merges them only within a block.
func cheapToRecompute(v *ir.Value) bool {
	switch v.Op {
	case ir.OpConst32, ir.OpConst64, ir.OpFramePtr, ir.OpLocalAddr, ir.OpSymAddr:
		return true
	case ir.OpAdd32, ir.OpSub32:
		base, off := v.Args[0], v.Args[1]
		if v.Op == ir.OpAdd32 && base.Op == ir.OpConst32 {
			base, off = off, base
		}
		return off.Op == ir.OpConst32 && base.Op != ir.OpConst32 && cheapToRecompute(base)
	}
	return false
}
