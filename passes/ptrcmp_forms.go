package passes

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
)

// Offset forms and pointer webs, the vocabulary of the ptrcmp pass
// (ptrcmp.go).
//
// An offset form reads an i64 value v as base + val + c modulo 2^64: base
// is one value (the ctx argument, say), val an i64 value or nothing (0)
// and c a constant. It follows the sum tree of v — Add64, and Sub64 of a
// constant — down to the one leaf that is base; every add on that path
// gets a mirror, the same add without base: the form of (B + x) + y is
// (x + y) with no constant, and x + y is one new value made right after
// the original, shared by every compare that reads the original. Sharing
// matters: a compare's facts (ranges_solver.go) narrow the mirror the
// compare reads, and a later compare or a loop's next offset reads the
// same mirror. Forms are identities modulo 2^64 whatever the values; only
// the compares that use them need ranges (ptrcmp.go).
//
// A pointer web is a set of i64 phis — a pointer a loop walks, p =
// Phi(B + 54, p + len) — each of whose incoming values is, through the sum
// tree, exactly one of base B or another phi of the web plus other terms.
// Each phi p becomes (B + K) + q, q a new phi of offsets whose incoming
// values are the forms of p's (with q for the phis of the web), so that a
// compare of p + 2 with B + 48 + hlen sees the common base. K, the
// constant of the compare's other side, only shifts the offsets, so that
// they stay small where the other side's constant is large: measured from
// the ctx's data field rather than from the ctx.

// maxFormDepth bounds how deep a sum tree is read; deeper subtrees are
// opaque terms. maxSumLeaves bounds the terms of one tree.
const (
	maxFormDepth = 16
	maxSumLeaves = 32
	maxWebPhis   = 8
)

// offForm is v = base + val + c (mod 2^64); val nil stands for 0.
type offForm struct {
	val *ir.Value
	c   uint64
	ok  bool
}

type formKey struct{ base, v *ir.Value }

// ptrWeb is one rebased set of phis.
type ptrWeb struct {
	base *ir.Value
	k    uint64
	bk   *ir.Value   // base + k (base when k is 0)
	phis []*ir.Value // the original phis, dead once replaced
	offs []*ir.Value // q of each phi: phis[i] == bk + offs[i]
	reps []*ir.Value // bk + offs[i], which replaced phis[i]
	used bool        // a compare that survived reads one of its offsets
}

// sumLeaves lists the terms of v's sum tree (Add64, Sub64 of a constant)
// and the sum of its constants, at most maxSumLeaves terms (ok false past
// that).
func sumLeaves(v *ir.Value) (leaves []*ir.Value, c uint64, ok bool) {
	var walk func(v *ir.Value, depth int, neg bool) bool
	walk = func(v *ir.Value, depth int, neg bool) bool {
		v = throughCopies(v)
		if depth < maxFormDepth {
			switch {
			case v.Op == ir.OpAdd64:
				return walk(v.Args[0], depth+1, neg) && walk(v.Args[1], depth+1, neg)
			case v.Op == ir.OpSub64 && v.Args[1].IsConst():
				return walk(v.Args[0], depth+1, neg) && walk(v.Args[1], depth+1, !neg)
			}
		}
		if k, isConst := rangeConst(v); isConst {
			if neg {
				k = -k
			}
			c += k
			return true
		}
		leaves = append(leaves, v)
		return len(leaves) <= maxSumLeaves
	}
	ok = walk(v, 0, false)
	return leaves, c, ok
}

// form reads v as base + val + c, making the mirrors it needs.
func (pc *ptrCmp) form(base, v *ir.Value) offForm {
	return pc.formAt(base, v, 0)
}

func (pc *ptrCmp) formAt(base, v *ir.Value, depth int) offForm {
	if v = throughCopies(v); v == base {
		return offForm{ok: true}
	}
	if w := pc.webOf[v]; w != nil && w.base == base {
		if i := indexOf(w.reps, v); i >= 0 { // a replaced phi: bk + q
			return offForm{val: w.offs[i], c: w.k, ok: true}
		}
	}
	key := formKey{base, v}
	if f, seen := pc.forms[key]; seen {
		return f
	}
	var f offForm
	if depth < maxFormDepth {
		switch {
		case v.Op == ir.OpAdd64:
			x, y := v.Args[0], v.Args[1]
			fx, fy := pc.formAt(base, x, depth+1), pc.formAt(base, y, depth+1)
			if fy.ok && !fx.ok {
				x, fx, y = y, fy, x
			} else if fy.ok {
				break // base twice
			}
			if !fx.ok {
				break
			}
			f = offForm{val: fx.val, c: fx.c, ok: true}
			switch k, isConst := rangeConst(y); {
			case isConst:
				f.c += k
			case fx.val == nil:
				f.val = y
			default:
				f.val = pc.place.after(v, ir.OpAdd64, ir.I64, fx.val, y)
			}
		case v.Op == ir.OpSub64 && v.Args[1].IsConst():
			if f = pc.formAt(base, v.Args[0], depth+1); f.ok {
				k, _ := rangeConst(v.Args[1])
				f.c -= k
			}
		}
	}
	pc.forms[key] = f
	return f
}

// mergeEqualPhis replaces each i64 phi with an earlier phi of its block
// that has the same arguments, which it equals (on every edge both take
// the same value). The lifter and promote leave such twins (a pointer
// held in two registers); a twin that is not rebased with its web would
// keep the 64-bit pointer arithmetic the web removes.
func mergeEqualPhis(f *ir.Func) int {
	var repl []*ir.Value
	n := 0
	for _, b := range f.Blocks {
		seen := map[[2]int][]*ir.Value{}
		for _, v := range b.Values {
			if v.Op != ir.OpPhi {
				break // phis come first
			}
			if v.Type != ir.I64 || len(v.Args) < 2 {
				continue
			}
			key := [2]int{v.Args[0].ID, v.Args[1].ID}
			twin := false
			for _, u := range seen[key] {
				if slices.Equal(u.Args, v.Args) {
					if repl == nil {
						repl = make([]*ir.Value, f.NumValues())
					}
					repl[v.ID], twin = u, true
					n++
					break
				}
			}
			if !twin {
				seen[key] = append(seen[key], v)
			}
		}
	}
	if n > 0 {
		replaceValues(f, repl)
	}
	return n
}

// throughCopies is the value v equals by its op: x for a Copy of x and
// for a phi whose arguments are x or the phi itself (a value a loop
// carries unchanged). x dominates v's block: it reaches it on the edge
// from outside the loop, the only way in.
func throughCopies(v *ir.Value) *ir.Value {
	for range maxFormDepth {
		var x *ir.Value
		switch v.Op {
		case ir.OpCopy:
			x = v.Args[0]
		case ir.OpPhi:
			for _, a := range v.Args {
				if a != v && x != nil && a != x {
					return v
				}
				if a != v {
					x = a
				}
			}
		}
		if x == nil {
			return v
		}
		v = x
	}
	return v
}

func indexOf(vs []*ir.Value, v *ir.Value) int {
	for i, x := range vs {
		if x == v {
			return i
		}
	}
	return -1
}

// isPtrPhi reports an i64 phi that no web holds yet (nor made).
func (pc *ptrCmp) isPtrPhi(v *ir.Value) bool {
	return v.Op == ir.OpPhi && v.Type == ir.I64 && pc.webOf[v] == nil
}

// webPhis finds the web of p over base: the phis reachable from p's
// incoming values whose sum trees hold no other anchor (base or a phi of
// the web) than the one that makes them a pointer. It returns nil when
// some incoming value has none, or two.
func (pc *ptrCmp) webPhis(p, base *ir.Value) []*ir.Value {
	phis := []*ir.Value{p}
	member := func(v *ir.Value) bool { return v == base || indexOf(phis, v) >= 0 }
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(phis); i++ {
			if !pc.dom.StrictlyDominates(base.Block, phis[i].Block) {
				return nil // bk must be available where the phi was
			}
			for _, a := range phis[i].Args {
				leaves, _, ok := sumLeaves(a)
				if !ok {
					return nil
				}
				anchors, joiners := 0, 0
				var joiner *ir.Value
				for _, l := range leaves {
					switch {
					case member(l):
						anchors++
					case pc.isPtrPhi(l):
						joiner = l
						joiners++
					}
				}
				switch {
				case anchors > 1:
					return nil
				case anchors == 1:
				case joiners != 1 || len(phis) == maxWebPhis:
					return nil // no anchor, or two phis that could be
				default: // the one phi it sums must be in the web too
					phis = append(phis, joiner)
					changed = true
				}
			}
		}
	}
	return phis
}

// rebase makes the web of p over base, with offsets from base + k: each
// phi becomes bk + q. The offsets' incoming values come later (fillWebs),
// once every web exists.
func (pc *ptrCmp) rebase(phis []*ir.Value, base *ir.Value, k uint64) {
	w := &ptrWeb{base: base, k: k, bk: base, phis: phis}
	if k != 0 {
		kv := pc.place.after(base, ir.OpConst64, ir.I64)
		kv.AuxInt = int64(k)
		w.bk = pc.place.after(base, ir.OpAdd64, ir.I64, base, kv)
	}
	for _, p := range phis {
		q := p.Block.NewValueAt(0, ir.OpPhi, ir.I64)
		w.offs = append(w.offs, q)
		w.reps = append(w.reps, pc.place.atStart(p.Block, ir.OpAdd64, ir.I64, w.bk, q))
	}
	for i, p := range phis {
		pc.webOf[p], pc.webOf[w.reps[i]], pc.webOf[w.offs[i]] = w, w, w
		pc.f.ReplaceUses(p, w.reps[i])
	}
	pc.webs = append(pc.webs, w)
	pc.stats["pointer webs rebased"]++
}

// fillWebs gives each offset phi its incoming values: the forms of the
// original phi's, less k, made at the end of each predecessor.
func (pc *ptrCmp) fillWebs() {
	for _, w := range pc.webs {
		for i, p := range w.phis {
			for j, a := range p.Args {
				pred := p.Block.Preds[j]
				f := pc.form(w.base, a)
				var in *ir.Value
				switch d := f.c - w.k; {
				case !f.ok: // cannot happen for a web webPhis accepted; exact all the same
					in = pc.place.atEnd(pred, ir.OpSub64, ir.I64, a, w.bk)
				case f.val == nil:
					in = pc.place.atEnd(pred, ir.OpConst64, ir.I64)
					in.AuxInt = int64(d)
				case d == 0:
					in = f.val
				default:
					kv := pc.place.atEnd(pred, ir.OpConst64, ir.I64)
					kv.AuxInt = int64(d)
					in = pc.place.atEnd(pred, ir.OpAdd64, ir.I64, f.val, kv)
				}
				w.offs[i].AddArg(in)
			}
		}
	}
}

// unrebase puts back the phis of a web no surviving compare reads.
// Exact: each replacement equals the phi it replaced.
func (pc *ptrCmp) unrebase(w *ptrWeb) {
	for i, p := range w.phis {
		pc.f.ReplaceUses(w.reps[i], p)
	}
	pc.stats["pointer webs rebased"]--
}

// placer puts new values where they belong — after a value, at a block's
// start (after its phis) or end — with one rebuild of each block's list.
type placer struct {
	f          *ir.Func
	afterV     map[*ir.Value][]*ir.Value
	start, end map[*ir.Block][]*ir.Value
	beforeV    map[*ir.Value][]*ir.Value
	made       map[*ir.Value]bool
}

func newPlacer(f *ir.Func) *placer {
	return &placer{f: f, afterV: map[*ir.Value][]*ir.Value{}, beforeV: map[*ir.Value][]*ir.Value{},
		start: map[*ir.Block][]*ir.Value{}, end: map[*ir.Block][]*ir.Value{}, made: map[*ir.Value]bool{}}
}

func (pl *placer) make(b *ir.Block, op ir.Op, t ir.Type, args []*ir.Value) *ir.Value {
	v := b.NewValue(op, t, args...) // appended for now; place moves it
	pl.made[v] = true
	return v
}

// after makes a value right after v (after the phis when v is a phi).
func (pl *placer) after(v *ir.Value, op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	if v.Op == ir.OpPhi {
		return pl.atStart(v.Block, op, t, args...)
	}
	n := pl.make(v.Block, op, t, args)
	pl.afterV[v] = append(pl.afterV[v], n)
	return n
}

// before makes a value right before v.
func (pl *placer) before(v *ir.Value, op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	n := pl.make(v.Block, op, t, args)
	pl.beforeV[v] = append(pl.beforeV[v], n)
	return n
}

func (pl *placer) atStart(b *ir.Block, op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	n := pl.make(b, op, t, args)
	pl.start[b] = append(pl.start[b], n)
	return n
}

func (pl *placer) atEnd(b *ir.Block, op ir.Op, t ir.Type, args ...*ir.Value) *ir.Value {
	n := pl.make(b, op, t, args)
	pl.end[b] = append(pl.end[b], n)
	return n
}

// place rebuilds the value list of every block that got new values.
func (pl *placer) place() {
	if len(pl.made) == 0 {
		return
	}
	blocks := map[*ir.Block]bool{}
	for v := range pl.made {
		blocks[v.Block] = true
	}
	for _, b := range pl.f.Blocks {
		if !blocks[b] {
			continue
		}
		out := make([]*ir.Value, 0, len(b.Values))
		var emit func(v *ir.Value)
		emit = func(v *ir.Value) {
			for _, x := range pl.beforeV[v] {
				emit(x)
			}
			out = append(out, v)
			for _, x := range pl.afterV[v] {
				emit(x)
			}
		}
		i := 0
		for ; i < len(b.Values) && b.Values[i].Op == ir.OpPhi; i++ {
			out = append(out, b.Values[i])
		}
		for _, v := range pl.start[b] {
			emit(v)
		}
		for _, v := range b.Values[i:] {
			if !pl.made[v] {
				emit(v)
			}
		}
		for _, v := range pl.end[b] {
			emit(v)
		}
		b.Values = out
	}
	clear(pl.afterV)
	clear(pl.beforeV)
	clear(pl.start)
	clear(pl.end)
	clear(pl.made)
}
