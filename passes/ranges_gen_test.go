package passes

import (
	"math/bits"
	"math/rand/v2"

	"github.com/bpfopt/bpfopt/ir"
)

// A generator of random i64 functions for the ranges pass: what clang
// makes of C loops over packets — 64-bit counters stepping by constants,
// loops tested at the top or the bottom on "!=", "<", "<=" (signed too)
// or on the counter's low word, against constant or variable bounds —
// and, around them, branches on compares and arithmetic on small values
// with constants placed just below and just above the 2^32 boundary, so
// that a range one too small (or a rewrite one step too eager) changes a
// result. Bounds that a counter's step jumps over are generated too; every
// loop also counts its trips in an i32 and leaves after at most eight, so
// such loops end, and the pass must not claim their ranges. Every value is
// stored to the "out" region (as in randfunc_test.go).

type rangeGen struct {
	*funcGen
	small []*ir.Value // i64 values likely below 2^32 (scoped like i64s)
	// hints are bounds the enclosing loops' counters should stay within:
	// constants near 2^32 - 1 - hint make a range one too small show.
	hints []uint64
}

func genRangeFunc(r *rand.Rand, name string, size int) *ir.Func {
	g := &rangeGen{funcGen: newFuncGen(r, name, size)}
	args := g.args()
	// Small seeds: masked and extended inputs, loads, high words.
	g.pushSmall(g.b.NewValue(ir.OpZeroExt32to64, ir.I64, g.b.NewValue(ir.OpAnd32, ir.I32, args[8], g.const32(0xff))))
	g.pushSmall(g.b.NewValue(ir.OpZeroExt32to64, ir.I64, args[9]))
	g.pushSmall(g.b.NewValue(ir.OpAnd64, ir.I64, g.i64s[0], g.const64(0x1ffffffff)))
	ld := g.b.NewValue(ir.OpLoad16, ir.I32, g.const32(genDataBase))
	ld.AuxInt = int64(2 * r.IntN(genDataSize/2))
	g.pushSmall(g.b.NewValue(ir.OpZeroExt32to64, ir.I64, ld))
	g.pushSmall(g.b.NewValue(ir.OpShrU64, ir.I64, g.i64s[1], g.const32(uint32(31+r.IntN(3)))))
	for g.budget > 0 {
		g.rangeRegion(0)
	}
	return g.ret()
}

// pushCompare emits a compare, its result an i32 and, zero-extended, a
// small i64.
func (g *rangeGen) pushCompare(op ir.Op, a, x *ir.Value) {
	c := g.b.NewValue(op, ir.I32, a, x)
	g.i32s = append(g.i32s, c)
	g.pushSmall(g.b.NewValue(ir.OpZeroExt32to64, ir.I64, c))
}

func (g *rangeGen) pushSmall(v *ir.Value) *ir.Value {
	g.push64(v)
	g.small = append(g.small, v)
	return v
}

func (g *rangeGen) scope() (int, int, int) { return len(g.i64s), len(g.i32s), len(g.small) }

func (g *rangeGen) restore(n64, n32, ns int) {
	g.funcGen.restore(n64, n32)
	g.small = g.small[:ns]
}

// pickSmall prefers recent small values.
func (g *rangeGen) pickSmall() *ir.Value {
	n := len(g.small)
	if g.r.IntN(4) == 0 {
		return g.pick64()
	}
	return g.small[n-1-g.r.IntN(min(n, 5))]
}

// nearBoundary is a constant near where a value below hi stops fitting
// when added: 2^32 - 1 - hi plus or minus a little, or a small or huge one.
func (g *rangeGen) nearBoundary() uint64 {
	if len(g.hints) > 0 && g.r.IntN(3) == 0 {
		h := g.hints[g.r.IntN(len(g.hints))]
		switch g.r.IntN(3) {
		case 0: // compare against the bound
			return h + uint64(g.r.IntN(5)) - 2
		case 1: // multiply or shift to the edge
			if h != 0 {
				return (1<<32 - 1) / h
			}
		}
		return (1<<32 - 1 - h) + uint64(g.r.IntN(5)) - 2
	}
	switch g.r.IntN(6) {
	case 0:
		return uint64(g.r.IntN(40))
	case 1:
		return []uint64{1 << 32, 1<<32 - 1, 1 << 31, 1<<63 - 1, 1 << 63, ^uint64(0), ^uint64(0) - 3}[g.r.IntN(7)]
	}
	hi := []uint64{0xff, 0xffff, 1<<32 - 1, 8, 16, 64, 1 << 31}[g.r.IntN(7)]
	return (1<<32 - 1 - hi) + uint64(g.r.IntN(5)) - 2
}

var rangeBinary64 = []ir.Op{
	ir.OpAdd64, ir.OpAdd64, ir.OpSub64, ir.OpSub64, ir.OpMul64, ir.OpAnd64, ir.OpOr64, ir.OpXor64,
	ir.OpDivU64, ir.OpModU64, ir.OpDivS64, ir.OpModS64,
}

// smallOp emits one op on small values.
func (g *rangeGen) smallOp() {
	g.budget--
	b, r := g.b, g.r
	a := g.pickSmall()
	switch k := r.IntN(10); {
	case k < 5:
		op := rangeBinary64[r.IntN(len(rangeBinary64))]
		var x *ir.Value
		if r.IntN(2) == 0 {
			x = g.const64(g.nearBoundary())
		} else {
			x = g.pickSmall()
		}
		if r.IntN(3) == 0 {
			a, x = x, a
		}
		g.pushSmall(b.NewValue(op, ir.I64, a, x))
	case k < 7:
		op := genShift64[r.IntN(len(genShift64))]
		n := g.const32(uint32(r.IntN(36)))
		switch r.IntN(4) {
		case 0:
			n = b.NewValue(ir.OpInt64Lo, ir.I32, g.pickSmall())
		case 1: // 1..32: one past the 32-bit shifts
			n = b.NewValue(ir.OpAdd32, ir.I32, b.NewValue(ir.OpAnd32, ir.I32, g.pick32(), g.const32(31)), g.const32(1))
		}
		g.pushSmall(b.NewValue(op, ir.I64, a, n))
	case k < 9:
		op := genCompare64[r.IntN(len(genCompare64))]
		x := g.const64(g.nearBoundary())
		if r.IntN(2) == 0 {
			x = g.pickSmall()
		}
		g.pushCompare(op, a, x)
	default:
		lo := b.NewValue(ir.OpInt64Lo, ir.I32, a)
		hi := b.NewValue(ir.OpInt64Hi, ir.I32, a)
		sum := b.NewValue(ir.OpAdd32, ir.I32, lo, g.const32(uint32(g.nearBoundary())))
		g.i32s = append(g.i32s, lo, hi, sum)
		g.pushSmall(b.NewValue(ir.OpZeroExt32to64, ir.I64, sum))
		g.push64(b.NewValue(ir.OpZeroExt32to64, ir.I64, hi))
	}
}

// probe emits ops on v whose rewrite is right exactly when v stays
// within the bound h (the innermost hint): an add that reaches 2^32 - 1
// at v == h, a subtract, product, shift and compares at the edge, each a
// step off now and then.
func (g *rangeGen) probe(v *ir.Value) {
	if len(g.hints) == 0 {
		return
	}
	b, r := g.b, g.r
	h := g.hints[len(g.hints)-1-r.IntN(min(len(g.hints), 3))]
	d := uint64(r.IntN(3)) - 1 // -1, 0, 1
	switch r.IntN(6) {
	case 0:
		g.pushSmall(b.NewValue(ir.OpAdd64, ir.I64, v, g.const64(1<<32-1-h+d)))
	case 1:
		g.pushSmall(b.NewValue(ir.OpSub64, ir.I64, v, g.const64(h+d)))
	case 2:
		if h != 0 {
			g.pushSmall(b.NewValue(ir.OpMul64, ir.I64, v, g.const64((1<<32-1)/h+d)))
		}
	case 3:
		g.pushSmall(b.NewValue(ir.OpShl64, ir.I64, v, g.const32(uint32(32-bits.Len64(h))+uint32(d))))
	default:
		op := genCompare64[r.IntN(len(genCompare64))]
		g.pushCompare(op, v, g.const64(h+d))
	}
}

func (g *rangeGen) rangeRegion(depth int) {
	switch k := g.r.IntN(8); {
	case depth < 3 && k < 2:
		g.guard(depth)
	case depth < 2 && k < 4:
		g.counterLoop(depth)
	case k == 4:
		g.op() // any 64-bit op, on any value
	default:
		for range 1 + g.r.IntN(3) {
			g.smallOp()
		}
	}
}

// randomCompare is a compare of a with a constant near a boundary or
// another small value, at 64 bits or on the low words.
func (g *rangeGen) randomCompare(a *ir.Value) *ir.Value {
	c := g.nearBoundary()
	if len(g.hints) > 0 && g.r.IntN(2) == 0 { // a value an enclosing counter takes
		c = g.hints[g.r.IntN(len(g.hints))] + uint64(g.r.IntN(5)) - 2
	}
	g.hints = append(g.hints, c) // the guard's arms pop it
	x := g.const64(c)
	if g.r.IntN(3) == 0 {
		x = g.pickSmall()
	}
	if g.r.IntN(4) == 0 {
		op := []ir.Op{ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32}[g.r.IntN(6)]
		return g.b.NewValue(op, ir.I32, g.b.NewValue(ir.OpInt64Lo, ir.I32, a), g.b.NewValue(ir.OpInt64Lo, ir.I32, x))
	}
	op := genCompare64[g.r.IntN(len(genCompare64))]
	if g.r.IntN(2) == 0 {
		return g.b.NewValue(op, ir.I32, x, a)
	}
	return g.b.NewValue(op, ir.I32, a, x)
}

// guard: If (compare) -> then, else, both arms computing on the compared
// value, joined by phis.
func (g *rangeGen) guard(depth int) {
	g.budget--
	a := g.pickSmall()
	top := g.b
	compared := a
	if k := g.r.IntN(4); k < 2 { // "if (len - 20 > 1024)": a test of a plus or minus a constant
		off := uint64(g.r.IntN(40))
		op := []ir.Op{ir.OpAdd64, ir.OpSub64}[k]
		compared = top.NewValue(op, ir.I64, a, g.const64(off))
	}
	top.Kind = ir.BlockIf
	top.SetControls(g.randomCompare(compared))
	then, els, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(then)
	top.AddEdgeTo(els)
	n64, n32, ns := g.scope()
	arm := func(start *ir.Block) *ir.Value {
		g.b = start
		g.small = append(g.small, a) // the compared value, first in line
		g.probe(a)
		g.rangeRegion(depth + 1)
		v := g.pickSmall()
		g.b.Kind = ir.BlockJump
		g.b.AddEdgeTo(join)
		g.restore(n64, n32, ns)
		return v
	}
	t, e := arm(then), arm(els)
	g.hints = g.hints[:len(g.hints)-1]
	g.b = join
	g.pushSmall(join.NewValue(ir.OpPhi, ir.I64, t, e))
}

// counterLoop: x = Phi(start, x + step) with a test on x (at the top) or
// on n = x + step or x (at the bottom), plus the trip counter.
func (g *rangeGen) counterLoop(depth int) {
	g.budget--
	r := g.r
	steps := []uint64{1, 1, 2, 3, 4, 8, ^uint64(0), ^uint64(1), ^uint64(3), 1 << 32, 1 << 31}
	step := steps[r.IntN(len(steps))]
	starts := []uint64{0, 0, 1, 5, 1<<32 - 6, 1<<32 - 1, ^uint64(0) - 4, 1 << 31}
	start := starts[r.IntN(len(starts))]
	trips := uint64(r.IntN(7))
	bound := start + trips*step // reached exactly
	if r.IntN(3) == 0 {
		bound += uint64(r.IntN(3)) + 1 // perhaps jumped over
	}
	var startV *ir.Value
	if r.IntN(5) == 0 {
		startV = g.pickSmall() // not a constant: no induction rule
	} else {
		startV = g.const64(start)
	}
	var boundV *ir.Value
	var other *ir.Value // a second counter, the bound: "while (i != j)"
	switch r.IntN(5) {
	case 4:
		boundV = g.const64(bound)
		other = boundV // replaced by the second counter below
	case 0:
		boundV = g.pickSmall()
	case 1:
		boundV = g.b.NewValue(ir.OpAdd64, ir.I64, g.const64(start),
			g.b.NewValue(ir.OpZeroExt32to64, ir.I64, g.b.NewValue(ir.OpAnd32, ir.I32, g.pick32(), g.const32(7))))
	default:
		boundV = g.const64(bound)
	}
	zero, one, eight := g.const32(0), g.const32(1), g.const32(8)
	stepV := g.const64(step)

	pre := g.b
	pre.Kind = ir.BlockJump
	header := g.f.NewBlock(ir.BlockJump)
	pre.AddEdgeTo(header)
	exit := g.f.NewBlock(ir.BlockJump)
	g.b = header
	x := header.NewValue(ir.OpPhi, ir.I64, startV)
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	if other != nil {
		other = header.NewValue(ir.OpPhi, ir.I64, boundV)
		boundV = other
	}
	n64, n32, ns := g.scope()
	g.i32s = append(g.i32s, cnt)
	// branch ends the current block with a test that stays in the loop
	// (going to stayTo) while "a op b" holds: either If a op b -> stayTo,
	// exit, or the negated compare with the edges swapped (the lifter's
	// shape), or now and then If Eq32 (a op b), 0 -> exit, stayTo.
	branch := func(op ir.Op, a, b *ir.Value, stayTo *ir.Block) {
		blk := g.b
		blk.Kind = ir.BlockIf
		switch k := r.IntN(5); {
		case k < 2:
			blk.SetControls(blk.NewValue(op, ir.I32, a, b))
			blk.AddEdgeTo(stayTo)
			blk.AddEdgeTo(exit)
		case k < 4:
			neg := negatedCompare[op]
			blk.SetControls(blk.NewValue(neg.op, ir.I32, pickOrder(neg.swap, a, b)...))
			blk.AddEdgeTo(exit)
			blk.AddEdgeTo(stayTo)
		default:
			blk.SetControls(blk.NewValue(ir.OpEq32, ir.I32, blk.NewValue(op, ir.I32, a, b), zero))
			blk.AddEdgeTo(exit)
			blk.AddEdgeTo(stayTo)
		}
	}
	// test branches on v against the bound, at 64 bits or on low words.
	test := func(v *ir.Value, stayTo *ir.Block) {
		if r.IntN(4) == 0 {
			op := []ir.Op{ir.OpNe32, ir.OpLtU32, ir.OpLeU32}[r.IntN(3)]
			branch(op, g.b.NewValue(ir.OpInt64Lo, ir.I32, v), g.b.NewValue(ir.OpInt64Lo, ir.I32, boundV), stayTo)
			return
		}
		op := []ir.Op{ir.OpNe64, ir.OpNe64, ir.OpNe64, ir.OpLtU64, ir.OpLtU64, ir.OpLeU64, ir.OpLtS64, ir.OpLeS64}[r.IntN(8)]
		branch(op, v, boundV, stayTo)
	}
	topTest := r.IntN(3) == 0
	if topTest {
		body := g.f.NewBlock(ir.BlockJump)
		on := x
		if r.IntN(2) == 0 { // "if (i + 1 >= len) break", clang's form
			on = g.b.NewValue(ir.OpAdd64, ir.I64, x, g.const64(1))
		}
		test(on, body)
		g.b = body
	}
	g.small = append(g.small, x)
	g.hints = append(g.hints, start, bound-step, bound)
	g.probe(x)
	g.probe(x)
	g.rangeRegion(depth + 1)
	var next *ir.Value
	if r.IntN(4) == 0 {
		next = g.b.NewValue(ir.OpAdd64, ir.I64, stepV, x)
	} else {
		next = g.b.NewValue(ir.OpAdd64, ir.I64, x, stepV)
	}
	g.push64(next)
	g.small = append(g.small, next)
	g.probe(next)
	g.probe(next)
	if r.IntN(2) == 0 {
		g.smallOp() // something computed from the counter, before the test
	}
	cnt1 := g.b.NewValue(ir.OpAdd32, ir.I32, cnt, one)
	if !topTest || r.IntN(2) == 0 {
		on := next // bottom test on n, or on x
		if r.IntN(4) == 0 {
			on = x
		}
		latchTest := g.f.NewBlock(ir.BlockJump)
		if r.IntN(2) == 0 {
			test(on, latchTest)
			g.b = latchTest
			branch(ir.OpLtU32, cnt1, eight, header)
		} else {
			branch(ir.OpLtU32, cnt1, eight, latchTest)
			g.b = latchTest
			test(on, header)
		}
	} else {
		branch(ir.OpLtU32, cnt1, eight, header)
	}
	x.AddArg(next)
	cnt.AddArg(cnt1)
	if other != nil {
		// The bound moves: each trip brings it one down (or up).
		delta := []uint64{1, ^uint64(0), ^uint64(0), 2}[r.IntN(4)]
		other.AddArg(g.b.NewValue(ir.OpAdd64, ir.I64, other, g.const64(delta)))
	}
	g.restore(n64, n32, ns)
	g.hints = g.hints[:len(g.hints)-3]
	g.b = exit
	g.pushSmall(x)
	g.i32s = append(g.i32s, cnt)
}

// negatedCompare gives, for a compare op, the op that holds exactly when
// it does not, and whether its operands go swapped.
var negatedCompare = map[ir.Op]struct {
	op   ir.Op
	swap bool
}{
	ir.OpEq32: {ir.OpNe32, false}, ir.OpNe32: {ir.OpEq32, false},
	ir.OpLtU32: {ir.OpLeU32, true}, ir.OpLeU32: {ir.OpLtU32, true},
	ir.OpLtS32: {ir.OpLeS32, true}, ir.OpLeS32: {ir.OpLtS32, true},
	ir.OpEq64: {ir.OpNe64, false}, ir.OpNe64: {ir.OpEq64, false},
	ir.OpLtU64: {ir.OpLeU64, true}, ir.OpLeU64: {ir.OpLtU64, true},
	ir.OpLtS64: {ir.OpLeS64, true}, ir.OpLeS64: {ir.OpLtS64, true},
}

func pickOrder(swap bool, a, b *ir.Value) []*ir.Value {
	if swap {
		return []*ir.Value{b, a}
	}
	return []*ir.Value{a, b}
}
