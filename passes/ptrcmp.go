package passes

import (
	"math/big"
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// ptrcmp turns 64-bit compares of pointers into 32-bit compares of their
// offsets, where value ranges prove that no sum wraps. It runs on the i64
// IR, after ranges and before legalize64.
//
// Why. BPF pointers are 64-bit; on MIPS32 a pointer's high word is a
// carry. A bounds check "if (p + n > end)" with p = ctx->data + 2 + ... and
// end = ctx->data + ctx->len compares two sums of the ctx pointer and
// small offsets: after legalize64 that is a carry per sum and a three-part
// 64-bit compare, 6–8 instructions where GCC's 32-bit pointers need 2–3.
// The ranges pass (ranges.go) does not help: neither sum fits in 32 bits.
//
// The rules, each exact under BPF semantics (no assumption about where
// memory is):
//
//   - Common base. Read both sides as B + a and B + b (offset forms,
//     ptrcmp_forms.go: modulo 2^64 addition is associative, so
//     (B + 48) + x == B + (x + 48)). When the ranges prove that neither
//     B + a nor B + b wraps 2^64 as integers (below 2^63 for a signed
//     compare: both are then non-negative), the compare is the compare of
//     a and b as integers; shifted by a common k that keeps both in
//     [0, 2^32), it is a 32-bit compare. Typically B is the ctx argument
//     (below 2^32: a zero-extended i32) and a, b are zero-extended u32s
//     plus constants: x + 32 > len + 48 becomes x > len + 16.
//   - Pointer webs. A pointer a loop walks (a phi) has no visible base;
//     ptrcmp_forms.go rewrites it as B + K + q with q a phi of offsets
//     (exact), so its compares have the common base too.
//   - Carry compares. With no common base (data and data_end loaded from
//     an XDP ctx, both below 2^32), a sum P below 2^33 compared with E
//     below 2^32 is decided by P's high word h, 0 or 1 (the carry), and
//     the low words: E < P is h | (lo E < lo P), P < E is h < (lo P <
//     lo E), and likewise for <=, == and !=. A constant added to a sum
//     a + b goes onto a side the ranges keep below 2^32 ((a + c) + b,
//     a + c an i32 add): one carry after legalize64 instead of two.
//
// Proofs by ranges that the rewrites themselves change. A compare's facts
// bound the values a loop computes (q + len <= hlen + doff on the back
// edge bounds q), and a compare of offsets gives facts the compare of
// pointers does not (those are about sums the analysis cannot bound).
// So the pass rewrites optimistically, then analyzes the rewritten
// function (the ranges analysis, ranges_solver.go) and keeps the rewrites
// whose conditions its ranges prove, undoing the others and analyzing
// again until all that remain are proven. That is sound: the ranges
// cover every execution of the rewritten function; up to the first
// compare whose result differs from the original's, the two functions
// compute the same values, and at that compare the ranges (proven
// conditions) say it does not differ — so none does. An undone rewrite
// the ranges prove exact (only too wide for 32 bits) computed what the
// original does, so undoing it needs no new analysis; one analysis is
// the rule. The final shifts and the carry compares are decided on the
// last analysis by the same argument, and its ranges narrow what the
// rewrites made (offsets, the webs' phis) with the ranges pass's rewrite.

func ptrcmpPass(f *ir.Func, c *Config) (Stats, error) {
	if len(f.Blocks) == 0 || !hasI64Compare(f) {
		return nil, nil
	}
	pc := &ptrCmp{f: f, dom: ssa.Dominators(f), stats: Stats{}, forms: map[formKey]offForm{},
		webOf: map[*ir.Value]*ptrWeb{}, place: newPlacer(f), bounds: map[*ir.Value]uint64{}}
	if n := mergeEqualPhis(f); n > 0 {
		pc.stats["equal phis merged"] = n
	}
	pc.findWebs()
	pc.fillWebs()
	pc.collect()
	s := pc.validate()
	for _, w := range pc.webs {
		if !w.used {
			pc.unrebase(w)
		}
	}
	pc.planCarries(s)
	if pc.stats["common-base compares narrowed"] > 0 {
		// What the compares of offsets made (offsets, webs' phis) narrows
		// to 32 bits by the same analysis.
		for k, n := range narrowWithRanges(f, s) {
			pc.stats["then ranges: "+k] += n
		}
	}
	pc.finish(s)
	pc.applyCarries()
	pc.place.place()
	f.RemoveDeadValues()
	deleteZeros(pc.stats)
	return pc.stats, nil
}

// narrowWithRanges is the rewrite of the ranges pass (ranges.go) by the
// analysis s, made before ptrcmp's last edits; those change no value s
// has a range for (unrebase puts back phis equal to their replacements),
// so its ranges hold. It saves the ranges pass's own analysis.
func narrowWithRanges(f *ir.Func, s *rangeSolver) Stats {
	rw := newRangeRewriter(f, s)
	rw.rewrite()
	return rw.stats
}

// ptrCmpOps maps each i64 compare to the unsigned compare of the same
// shape and whether it was signed.
var ptrCmpOps = map[ir.Op]struct {
	unsigned ir.Op
	signed   bool
}{
	ir.OpEq64: {ir.OpEq64, false}, ir.OpNe64: {ir.OpNe64, false},
	ir.OpLtU64: {ir.OpLtU64, false}, ir.OpLeU64: {ir.OpLeU64, false},
	ir.OpLtS64: {ir.OpLtU64, true}, ir.OpLeS64: {ir.OpLeU64, true},
}

func hasI64Compare(f *ir.Func) bool {
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if _, ok := ptrCmpOps[v.Op]; ok {
				return true
			}
		}
	}
	return false
}

type ptrCmp struct {
	f     *ir.Func
	dom   *ssa.DomTree
	stats Stats
	forms map[formKey]offForm
	webOf map[*ir.Value]*ptrWeb // by original phi, replacement and offset phi
	webs  []*ptrWeb
	place *placer
	cands []*offsetCmp
	// bounds caches bound, by value.
	bounds map[*ir.Value]uint64
	// carry lists the compares to rewrite by carryCmp, and for each which
	// operand is the sum below 2^33.
	carry []carryPlan
}

type carryPlan struct {
	v    *ir.Value
	psum int
}

// offsetCmp is a compare of B + val[i] + c[i] (i = 0, 1), rewritten to the
// unsigned compare of val[i] + d[i], d[i] = c[i] - min(c) (as integers).
type offsetCmp struct {
	v      *ir.Value
	origOp ir.Op
	orig   [2]*ir.Value
	signed bool
	base   *ir.Value
	val    [2]*ir.Value // nil: 0
	c      [2]int64     // the forms' constants, read as signed integers
	d      [2]uint64
	webs   []*ptrWeb // the webs whose offsets it reads
	k      uint64    // the final shift, once validated
	// psum is -1 when both offsets less k fit in 32 bits, else the one
	// that only fits in 33 (the other fits in 32): a carry compare.
	psum  int
	alive bool
}

// compares lists the i64 compares of reachable blocks.
func (pc *ptrCmp) compares() []*ir.Value {
	var out []*ir.Value
	for _, b := range pc.f.Blocks {
		if !pc.dom.Reachable(b) {
			continue
		}
		for _, v := range b.Values {
			if _, ok := ptrCmpOps[v.Op]; ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// findWebs rebases the pointer phis that a compare sets against a sum of
// a base they are made from.
func (pc *ptrCmp) findWebs() {
	for _, v := range pc.compares() {
		for side := range 2 {
			x, y := v.Args[side], v.Args[1-side]
			xl, k, ok := sumLeaves(x)
			if !ok {
				continue
			}
			yl, _, ok := sumLeaves(y)
			if !ok || commonLeaf(xl, yl) != nil {
				continue
			}
			pc.tryWeb(xl, yl, k)
		}
	}
}

// tryWeb rebases the first phi among yl that makes a web over a term of
// xl.
func (pc *ptrCmp) tryWeb(xl, yl []*ir.Value, k uint64) {
	for _, base := range xl {
		if base.Op == ir.OpPhi || pc.webOf[base] != nil {
			continue
		}
		for _, p := range yl {
			if !pc.isPtrPhi(p) {
				continue
			}
			if phis := pc.webPhis(p, base); phis != nil {
				pc.rebase(phis, base, k)
				return
			}
		}
	}
}

// commonLeaf is the first of xl that yl holds too.
func commonLeaf(xl, yl []*ir.Value) *ir.Value {
	for _, x := range xl {
		if indexOf(yl, x) >= 0 {
			return x
		}
	}
	return nil
}

// collect rewrites every compare of two forms over one base into the
// compare of their offsets.
func (pc *ptrCmp) collect() {
	for _, v := range pc.compares() {
		xl, _, okx := sumLeaves(v.Args[0])
		yl, _, oky := sumLeaves(v.Args[1])
		if !okx || !oky {
			continue
		}
		for _, base := range xl {
			if indexOf(yl, base) < 0 {
				continue
			}
			fx, fy := pc.form(base, v.Args[0]), pc.form(base, v.Args[1])
			if fx.ok && fy.ok {
				if fx != fy && pc.plausible(base, fx) && pc.plausible(base, fy) {
					pc.rewrite(v, base, [2]offForm{fx, fy})
				}
				break
			}
		}
	}
	pc.place.place()
}

// plausible is a cheap filter before the analysis: it rejects the forms
// whose base + val the ranges cannot bound below 2^64 because an operand
// has no bound at all by its ops (a 64-bit load or argument, say), so that
// hopeless rewrites do not cost another round of validate. It decides
// nothing: validate does.
func (pc *ptrCmp) plausible(base *ir.Value, f offForm) bool {
	hi, carry := pc.bound(base, 0), uint64(0)
	if f.val != nil {
		hi, carry = bits.Add64(hi, pc.bound(f.val, 0), 0)
	}
	return carry == 0 && hi < 1<<63
}

// bound is an upper bound of v by the ops that make it, trusting phis
// (a loop's counter is bounded by its compares, which the analysis sees
// and this does not): a phi is bounded by its other arguments.
func (pc *ptrCmp) bound(v *ir.Value, depth int) uint64 {
	const unbounded = ^uint64(0)
	if b, ok := pc.bounds[v]; ok {
		return b
	}
	if depth > maxFormDepth {
		return unbounded
	}
	pc.bounds[v] = 0 // a phi's cycle back to itself adds nothing
	b := unbounded
	switch c, isConst := rangeConst(v); {
	case isConst:
		b = c
	case v.Type == ir.I32 || v.Op == ir.OpZeroExt32to64:
		b = mask32
	case v.Op == ir.OpAdd64:
		var carry uint64
		if b, carry = bits.Add64(pc.bound(v.Args[0], depth+1), pc.bound(v.Args[1], depth+1), 0); carry != 0 {
			b = unbounded
		}
	case v.Op == ir.OpAnd64:
		b = min(pc.bound(v.Args[0], depth+1), pc.bound(v.Args[1], depth+1))
	case v.Op == ir.OpShrU64 && v.Args[1].IsConst():
		n, _ := rangeConst(v.Args[1])
		b = pc.bound(v.Args[0], depth+1) >> (n & 63)
	case v.Op == ir.OpInt64Make && v.Args[0].IsConst():
		h, _ := rangeConst(v.Args[0])
		b = h<<32 | mask32
	case v.Op == ir.OpPhi:
		b = 0
		for _, a := range v.Args {
			b = max(b, pc.bound(a, depth+1))
		}
	}
	pc.bounds[v] = b
	return b
}

func (pc *ptrCmp) rewrite(v, base *ir.Value, fs [2]offForm) {
	op := ptrCmpOps[v.Op]
	oc := &offsetCmp{v: v, origOp: v.Op, orig: [2]*ir.Value{v.Args[0], v.Args[1]}, signed: op.signed, base: base, alive: true}
	for i, f := range fs {
		oc.val[i], oc.c[i] = f.val, int64(f.c)
	}
	for _, w := range pc.webs {
		if (oc.val[0] != nil && readsAny(oc.val[0], w.offs)) || (oc.val[1] != nil && readsAny(oc.val[1], w.offs)) {
			oc.webs = append(oc.webs, w)
		}
	}
	low := min(oc.c[0], oc.c[1])
	var sides [2]*ir.Value
	for i := range 2 {
		oc.d[i] = uint64(oc.c[i]) - uint64(low) // the exact integer difference, below 2^64
		d := pc.place.before(v, ir.OpConst64, ir.I64)
		d.AuxInt = int64(oc.d[i])
		sides[i] = d
		if oc.val[i] != nil {
			sides[i] = pc.place.before(v, ir.OpAdd64, ir.I64, oc.val[i], d)
		}
	}
	v.Reset(op.unsigned, ir.I32, sides[0], sides[1])
	pc.cands = append(pc.cands, oc)
}

// readsAny reports whether v is one of offs or an add over one, through
// the mirrors' sum trees.
func readsAny(v *ir.Value, offs []*ir.Value) bool {
	leaves, _, _ := sumLeaves(v)
	for _, l := range leaves {
		if indexOf(offs, l) >= 0 {
			return true
		}
	}
	return false
}

// validate analyzes the function with its rewritten compares, undoes the
// rewrites whose conditions the ranges do not prove, and repeats until
// all left are proven (after maxValidateRounds, it undoes all). It
// returns the final analysis. An undone rewrite that the ranges prove
// exact, only too wide for 32 bits, computed what the original compare
// does: the analysis holds without it, and needs no new round.
func (pc *ptrCmp) validate() *rangeSolver {
	for round := 1; ; round++ {
		s := newRangeSolver(pc.f)
		s.solve()
		inexact := false
		for _, oc := range pc.cands {
			if !oc.alive {
				continue
			}
			k, psum, exact, ok := pc.proven(s, oc)
			if ok && round <= maxValidateRounds {
				oc.k, oc.psum = k, psum
				continue
			}
			oc.alive = false
			oc.v.Reset(oc.origOp, ir.I32, oc.orig[0], oc.orig[1])
			pc.stats["common-base compares the ranges do not prove"]++
			inexact = inexact || !exact
		}
		if !inexact {
			for _, oc := range pc.cands {
				for _, w := range oc.webs {
					w.used = w.used || oc.alive
				}
				if oc.alive {
					pc.stats["common-base compares narrowed"]++
				}
			}
			return s
		}
	}
}

// maxValidateRounds bounds the analyses: each round undoes at least one
// rewrite, and one or two rounds are the rule.
const maxValidateRounds = 4

var (
	two32 = new(big.Int).Lsh(big.NewInt(1), 32)
	two33 = new(big.Int).Lsh(big.NewInt(1), 33)
	two63 = new(big.Int).Lsh(big.NewInt(1), 63)
	two64 = new(big.Int).Lsh(big.NewInt(1), 64)
)

func bigU(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

// proven checks oc's conditions at its block under s and picks the
// shift k that brings both offsets into [0, 2^32), or one into [0, 2^32)
// and the other (psum) into [0, 2^33):
//
//  1. B + val[i] + c[i] lies in [0, 2^64) as an integer (in [0, 2^63)
//     for a signed compare), so the original compare is that of the
//     integers val[i] + c[i];
//  2. val[i] + d[i] lies below 2^64, so the rewritten compare is that of
//     the integers val[i] + d[i], the same numbers less min(c);
//  3. both less k lie in the ranges above.
func (pc *ptrCmp) proven(s *rangeSolver, oc *offsetCmp) (k uint64, psum int, exact, ok bool) {
	b := oc.v.Block
	if !s.execBlock[b.ID] {
		return 0, 0, true, false // never runs: nothing to gain, nothing to differ
	}
	rb := s.effective(oc.base, b)
	if rb.empty() {
		return 0, 0, false, false
	}
	limit := two64
	if oc.signed {
		limit = two63
	}
	var lo, hi [2]*big.Int
	for i := range 2 {
		rv := singleInterval(0)
		if oc.val[i] != nil {
			if rv = s.effective(oc.val[i], b); rv.empty() {
				return 0, 0, false, false
			}
		}
		c := big.NewInt(oc.c[i])
		sumLo := new(big.Int).Add(bigU(rb.lo), bigU(rv.lo))
		sumHi := new(big.Int).Add(bigU(rb.hi), bigU(rv.hi))
		if sumLo.Add(sumLo, c).Sign() < 0 || sumHi.Add(sumHi, c).Cmp(limit) >= 0 {
			return 0, 0, false, false
		}
		lo[i] = new(big.Int).Add(bigU(rv.lo), bigU(oc.d[i]))
		hi[i] = new(big.Int).Add(bigU(rv.hi), bigU(oc.d[i]))
		if hi[i].Cmp(two64) >= 0 {
			return 0, 0, false, false
		}
	}
	for _, psum := range []int{-1, 0, 1} {
		if k, ok := oc.pickShift(lo, hi, psum); ok {
			return k, psum, true, true
		}
	}
	return 0, 0, true, false
}

// pickShift finds k in [max(hi[i] - top[i]), min(lo)] (top: 2^32 - 1, or
// 2^33 - 1 for side psum), preferring one that cancels a side's constant
// so that side is its offset value alone. lo >= 0, so k >= 0.
func (oc *offsetCmp) pickShift(lo, hi [2]*big.Int, psum int) (uint64, bool) {
	var kmin *big.Int
	for i := range 2 {
		top := two32
		if i == psum {
			top = two33
		}
		m := new(big.Int).Sub(hi[i], top)
		m.Add(m, big.NewInt(1))
		if kmin == nil || m.Cmp(kmin) > 0 {
			kmin = m
		}
	}
	kmax := lo[0]
	if lo[1].Cmp(kmax) < 0 {
		kmax = lo[1]
	}
	if kmin.Cmp(kmax) > 0 {
		return 0, false
	}
	for i := range 2 {
		if d := bigU(oc.d[i]); oc.val[i] != nil && d.Cmp(kmin) >= 0 && d.Cmp(kmax) <= 0 {
			return oc.d[i], true
		}
	}
	if kmin.Sign() <= 0 {
		return 0, true
	}
	return kmin.Uint64(), true
}

// cmp32Ops gives the 32-bit compare of the unsigned i64 compares that
// offset compares use.
var cmp32Ops = map[ir.Op]ir.Op{ir.OpEq64: ir.OpEq32, ir.OpNe64: ir.OpNe32, ir.OpLtU64: ir.OpLtU32, ir.OpLeU64: ir.OpLeU32}

// finish gives each surviving compare of offsets its final form, shifted
// by k: the 32-bit compare of the offsets' low words, or the 64-bit
// compare that applyCarries rewrites.
func (pc *ptrCmp) finish(s *rangeSolver) {
	for _, oc := range pc.cands {
		if !oc.alive {
			continue
		}
		v, op := oc.v, ptrCmpOps[oc.origOp].unsigned // v may be narrowed already, unshifted
		if v.Op == ir.OpConst32 {
			continue // the ranges decided it
		}
		var sides [2]*ir.Value
		for i := range 2 {
			e := oc.d[i] - oc.k // modulo 2^64: val + e is the integer val + d - k
			if oc.psum < 0 {
				sides[i] = pc.offset32(v, oc.val[i], uint32(e))
			} else {
				sides[i] = pc.offset64(s, v, oc.val[i], e)
			}
		}
		if oc.psum < 0 {
			v.Reset(cmp32Ops[op], ir.I32, sides[0], sides[1])
		} else {
			v.Reset(op, ir.I32, sides[0], sides[1])
			pc.carry = append(pc.carry, carryPlan{v, oc.psum})
		}
	}
}

// offset32 is val + e in 32 bits (val below 2^32 - e as integers, so the
// low words' sum is the whole), made before v.
func (pc *ptrCmp) offset32(v, val *ir.Value, e uint32) *ir.Value {
	k := pc.place.before(v, ir.OpConst32, ir.I32)
	k.AuxInt = int64(int32(e))
	if val == nil {
		return k
	}
	lo := lowWord(val)
	if lo == nil {
		lo = pc.place.before(v, ir.OpInt64Lo, ir.I32, val)
	}
	if e == 0 {
		return lo
	}
	return pc.place.before(v, ir.OpAdd32, ir.I32, lo, k)
}

// offset64 is val + e, made before v. When val is a sum a + b and the
// ranges of s prove a + e below 2^32 where v runs, it is (a + e) + b with
// a + e an i32 add, zero-extended: the same integer (addition modulo 2^64
// is associative, and a + e does not wrap 32 bits), whose legalized form
// has one carry where (a + b) + e has two. dns_walk's bounds check
// q + len + 1 > end takes 5 instructions instead of 7 so.
func (pc *ptrCmp) offset64(s *rangeSolver, v, val *ir.Value, e uint64) *ir.Value {
	if val == nil {
		k := pc.place.before(v, ir.OpConst64, ir.I64)
		k.AuxInt = int64(e)
		return k
	}
	if e == 0 {
		return val
	}
	if val.Op == ir.OpAdd64 && e <= mask32 {
		for i, a := range val.Args {
			r := s.effective(a, v.Block)
			if r.empty() || r.hi > mask32-e {
				continue
			}
			lo := lowWord(a)
			if lo == nil {
				lo = pc.place.before(v, ir.OpInt64Lo, ir.I32, a)
			}
			k := pc.place.before(v, ir.OpConst32, ir.I32)
			k.AuxInt = int64(int32(uint32(e)))
			ae := pc.place.before(v, ir.OpZeroExt32to64, ir.I64, pc.place.before(v, ir.OpAdd32, ir.I32, lo, k))
			pc.stats["constants moved into a carry sum"]++
			return pc.place.before(v, ir.OpAdd64, ir.I64, ae, val.Args[1-i])
		}
	}
	k := pc.place.before(v, ir.OpConst64, ir.I64)
	k.AuxInt = int64(e)
	return pc.place.before(v, ir.OpAdd64, ir.I64, val, k)
}

// carryCmp gives, for a compare of E (below 2^32) and P (below 2^33),
// the i32 ops over h = hi P (0 or 1), the low words, and the op that
// joins them: join(h, low(lo P, lo E)) when P is the compare's first
// operand, join(h, low(lo E, lo P)) when E is. Proof: P = h*2^32 + lo P;
// h = 1 puts P above every E, h = 0 makes P its low word; for booleans,
// h | x is "h or x" and h < x is "not h and x". Signed compares are the
// unsigned ones: both sides are non-negative.
var carryCmp = map[ir.Op][2]struct{ join, low ir.Op }{
	//           P first (P op E)         E first (E op P)
	ir.OpLtU64: {{ir.OpLtU32, ir.OpLtU32}, {ir.OpOr32, ir.OpLtU32}},
	ir.OpLeU64: {{ir.OpLtU32, ir.OpLeU32}, {ir.OpOr32, ir.OpLeU32}},
	ir.OpLtS64: {{ir.OpLtU32, ir.OpLtU32}, {ir.OpOr32, ir.OpLtU32}},
	ir.OpLeS64: {{ir.OpLtU32, ir.OpLeU32}, {ir.OpOr32, ir.OpLeU32}},
	ir.OpEq64:  {{ir.OpLtU32, ir.OpEq32}, {ir.OpLtU32, ir.OpEq32}},
	ir.OpNe64:  {{ir.OpOr32, ir.OpNe32}, {ir.OpOr32, ir.OpNe32}},
}

// planCarries lists the i64 compares left whose one side is below 2^32
// and the other below 2^33 (carryCmp), by the ranges of s.
func (pc *ptrCmp) planCarries(s *rangeSolver) {
	done := map[*ir.Value]bool{}
	for _, oc := range pc.cands {
		done[oc.v] = oc.alive
	}
	const below33 = 1<<33 - 1
	for _, v := range pc.compares() {
		if done[v] || !s.execBlock[v.Block.ID] {
			continue
		}
		rx, ry := s.effective(v.Args[0], v.Block), s.effective(v.Args[1], v.Block)
		switch {
		case rx.empty() || ry.empty() || (rx.hi <= mask32 && ry.hi <= mask32):
			// never runs, or the ranges pass narrows it
		case rx.hi <= below33 && ry.hi <= mask32:
			pc.carry = append(pc.carry, carryPlan{v, 0})
		case ry.hi <= below33 && rx.hi <= mask32:
			pc.carry = append(pc.carry, carryPlan{v, 1})
		}
	}
}

// applyCarries rewrites the planned compares by carryCmp, unless
// something (the ranges pass) rewrote them since.
func (pc *ptrCmp) applyCarries() {
	for _, cp := range pc.carry {
		v := cp.v
		forms, ok := carryCmp[v.Op]
		if !ok || len(v.Args) != 2 {
			continue
		}
		p, e := v.Args[cp.psum], v.Args[1-cp.psum]
		h := pc.place.before(v, ir.OpInt64Hi, ir.I32, p)
		pl := pc.place.before(v, ir.OpInt64Lo, ir.I32, p)
		el := lowWord(e)
		if el == nil {
			el = pc.place.before(v, ir.OpInt64Lo, ir.I32, e)
		}
		f := forms[cp.psum]
		var low *ir.Value
		if cp.psum == 0 {
			low = pc.place.before(v, f.low, ir.I32, pl, el)
		} else {
			low = pc.place.before(v, f.low, ir.I32, el, pl)
		}
		v.Reset(f.join, ir.I32, h, low)
		pc.stats["compares against a carry"]++
	}
}

// lowWord is the i32 an i64 value's low word already is, or nil.
func lowWord(v *ir.Value) *ir.Value {
	switch v.Op {
	case ir.OpZeroExt32to64, ir.OpSignExt32to64:
		return v.Args[0]
	case ir.OpInt64Make:
		return v.Args[1]
	}
	return nil
}
