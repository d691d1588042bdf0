package passes

import (
	"math/rand/v2"

	"github.com/bpfopt/bpfopt/ir"
)

// A generator of random i32-level functions, the kind legalize64 leaves,
// for the simplify and known-bits tests. randfunc_test.go makes 64-bit code
// whose inputs are whole words; here inputs are also narrow (byte and half
// loads, extensions, boundary constants) so that known bits have something
// to prove, and the shapes simplify matches — legalize64's 64-bit compare
// chains, carries, sign copies — are built on purpose, sometimes with
// mismatched operands that must not match. Every value is stored to the
// "out" region (as in randfunc_test.go), so a wrong rewrite shows in memory
// even when the result hides it.

type gen32 struct {
	r      *rand.Rand
	f      *ir.Func
	b      *ir.Block
	vals   []*ir.Value // usable at the current point (scoped)
	outs   int
	budget int
}

// newGen32 starts a function of one block whose argument words are the
// first usable values.
func newGen32(r *rand.Rand, name string, size int) *gen32 {
	g := &gen32{r: r, f: ir.NewFunc(name), budget: size}
	g.b = g.f.NewBlock(ir.BlockRet)
	for i := range genArgWords {
		a := g.b.NewValue(ir.OpArg, ir.I32)
		a.AuxInt = int64(i)
		g.vals = append(g.vals, a)
	}
	return g
}

func genFunc32(r *rand.Rand, name string, size int) *ir.Func {
	g := newGen32(r, name, size)
	for range 4 {
		g.load()
	}
	for g.budget > 0 {
		g.region(0)
	}
	lo, hi := g.pick(), g.pick()
	for range 3 {
		lo = g.b.NewValue(ir.OpXor32, ir.I32, lo, g.pick())
	}
	g.b.Kind = ir.BlockRet
	g.b.SetControls(lo, hi)
	return g.f
}

func (g *gen32) konst(c uint32) *ir.Value {
	v := g.b.NewValue(ir.OpConst32, ir.I32)
	v.AuxInt = int64(int32(c))
	return v
}

func (g *gen32) boundary() *ir.Value { return g.konst(boundary32[g.r.IntN(len(boundary32))]) }

// pick prefers recent values so that chains form; sometimes a constant.
func (g *gen32) pick() *ir.Value {
	n := len(g.vals)
	switch k := g.r.IntN(10); {
	case k == 0:
		return g.boundary()
	case k < 7:
		return g.vals[n-1-g.r.IntN(min(n, 6))]
	}
	return g.vals[g.r.IntN(n)]
}

func (g *gen32) push(v *ir.Value) *ir.Value {
	g.vals = append(g.vals, v)
	slot := g.outs % genOutSlots
	g.outs++
	st := g.b.NewValue(ir.OpStore32, ir.TypeVoid, g.konst(genOutBase), v)
	st.AuxInt, st.Align = int64(4*slot), 4
	return v
}

var genLoads32 = []ir.Op{ir.OpLoad8, ir.OpLoad16, ir.OpLoadS8, ir.OpLoadS16, ir.OpLoad32}

func (g *gen32) load() {
	op := genLoads32[g.r.IntN(len(genLoads32))]
	ld := g.b.NewValue(op, ir.I32, g.konst(genDataBase))
	ld.AuxInt = int64(g.r.IntN(genDataSize - 4))
	g.push(ld)
}

var genBinary32 = []ir.Op{
	ir.OpAdd32, ir.OpSub32, ir.OpMul32, ir.OpMulHiU32, ir.OpDivU32, ir.OpModU32, ir.OpDivS32, ir.OpModS32,
	ir.OpAnd32, ir.OpOr32, ir.OpXor32, ir.OpShl32, ir.OpShrU32, ir.OpShrS32,
	ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32,
}
var genUnary32 = []ir.Op{
	ir.OpNeg32, ir.OpBswap16, ir.OpBswap32, ir.OpZeroExt8to32, ir.OpZeroExt16to32, ir.OpSignExt8to32, ir.OpSignExt16to32, ir.OpCopy,
}

// signCopy is x >>s 31, or sometimes a value that only looks like one.
func (g *gen32) signCopy(x *ir.Value) *ir.Value {
	switch g.r.IntN(6) {
	case 0:
		return g.b.NewValue(ir.OpShrS32, ir.I32, g.pick(), g.konst(31)) // of another value
	case 1:
		return g.konst(0)
	case 2:
		return g.b.NewValue(ir.OpShrS32, ir.I32, x, g.konst(30))
	}
	return g.b.NewValue(ir.OpShrS32, ir.I32, x, g.konst(31))
}

// narrow is a value with known high bits.
func (g *gen32) narrow() *ir.Value {
	op := []ir.Op{ir.OpZeroExt8to32, ir.OpZeroExt16to32, ir.OpSignExt8to32, ir.OpSignExt16to32}[g.r.IntN(4)]
	return g.b.NewValue(op, ir.I32, g.pick())
}

func (g *gen32) operand() *ir.Value {
	if g.r.IntN(4) == 0 {
		return g.narrow()
	}
	return g.pick()
}

// op emits one random operation.
func (g *gen32) op() {
	g.budget--
	b, r := g.b, g.r
	switch k := r.IntN(30); {
	case k < 10:
		op := genBinary32[r.IntN(len(genBinary32))]
		x, y := g.operand(), g.operand()
		if r.IntN(6) == 0 {
			y = x
		}
		g.push(b.NewValue(op, ir.I32, x, y))
	case k < 13:
		g.push(b.NewValue(genUnary32[r.IntN(len(genUnary32))], ir.I32, g.operand()))
	case k == 13:
		c := g.pick()
		if r.IntN(2) == 0 {
			c = b.NewValue(ir.OpNe32, ir.I32, g.pick(), g.konst(0))
		}
		g.push(b.NewValue(ir.OpSelect32, ir.I32, c, g.operand(), g.operand()))
	case k == 14: // the carry of a + b
		x, y := g.operand(), g.operand()
		s := b.NewValue(ir.OpAdd32, ir.I32, x, y)
		g.push(b.NewValue(ir.OpLtU32, ir.I32, s, []*ir.Value{x, y}[r.IntN(2)]))
	case k == 15: // a legalized 64-bit ordered compare of (ah, al), (bh, bl)
		al, bl := g.operand(), g.operand()
		ah, bh := g.signCopy(al), g.signCopy(bl)
		hiOp := []ir.Op{ir.OpLtU32, ir.OpLtS32}[r.IntN(2)]
		loOp := []ir.Op{ir.OpLtU32, ir.OpLeU32}[r.IntN(2)]
		hiLess := b.NewValue(hiOp, ir.I32, ah, bh)
		hiEq := b.NewValue(ir.OpEq32, ir.I32, ah, bh)
		loCmp := b.NewValue(loOp, ir.I32, al, bl)
		g.push(b.NewValue(ir.OpOr32, ir.I32, hiLess, b.NewValue(ir.OpAnd32, ir.I32, hiEq, loCmp)))
	case k == 16: // a legalized Eq64/Ne64
		al, bl := g.operand(), g.operand()
		ah, bh := g.signCopy(al), g.signCopy(bl)
		diff := b.NewValue(ir.OpOr32, ir.I32, b.NewValue(ir.OpXor32, ir.I32, ah, bh), b.NewValue(ir.OpXor32, ir.I32, al, bl))
		op := []ir.Op{ir.OpEq32, ir.OpNe32}[r.IntN(2)]
		g.push(b.NewValue(op, ir.I32, diff, g.konst(0)))
	case k == 17: // compare of a 0/1 value with 0 or 1
		c := b.NewValue(genBinary32[14+r.IntN(6)], ir.I32, g.operand(), g.operand())
		op := []ir.Op{ir.OpEq32, ir.OpNe32}[r.IntN(2)]
		g.push(b.NewValue(op, ir.I32, c, g.konst(uint32(r.IntN(2)))))
	case k == 18: // constant chains: (x op c1) op c2
		op := []ir.Op{ir.OpAdd32, ir.OpMul32, ir.OpAnd32, ir.OpOr32, ir.OpXor32, ir.OpShl32, ir.OpShrU32, ir.OpShrS32}[r.IntN(8)]
		inner := b.NewValue(op, ir.I32, g.pick(), g.boundary())
		g.push(b.NewValue(op, ir.I32, inner, g.boundary()))
	case k == 19:
		g.load()
	case k == 20: // a sign copy and its value combined, compared with 0, -1 or 1
		l := g.operand()
		op := []ir.Op{ir.OpOr32, ir.OpAnd32, ir.OpXor32}[r.IntN(3)]
		x := b.NewValue(op, ir.I32, g.signCopy(l), l)
		cmp := []ir.Op{ir.OpEq32, ir.OpNe32}[r.IntN(2)]
		g.push(b.NewValue(cmp, ir.I32, x, g.konst([]uint32{0, ^uint32(0), 1}[r.IntN(3)])))
	case k == 21:
		g.guardedDivision()
	case k == 22:
		g.divisionCall()
	case k == 23: // stack addresses: the carry of FramePtr + c, the borrow of FramePtr - c
		fp := b.NewValue(ir.OpFramePtr, ir.I32)
		c := g.konst([]uint32{0xfffffffc, 0xfffffe00, 0xfffffdff, 8, 0x200, 0x201, 0xffffffff}[r.IntN(7)])
		if r.IntN(2) == 0 {
			g.push(b.NewValue(ir.OpLtU32, ir.I32, fp, c))
			break
		}
		sum := b.NewValue(ir.OpAdd32, ir.I32, fp, c)
		g.push(b.NewValue(ir.OpLtU32, ir.I32, sum, fp))
	case k == 24:
		g.indexedAccess()
	case k == 28:
		g.repeat()
	case k == 29: // a store into the data region the loads read
		op := []ir.Op{ir.OpStore8, ir.OpStore16, ir.OpStore32}[r.IntN(3)]
		st := b.NewValue(op, ir.TypeVoid, g.konst(genDataBase), g.pick())
		st.AuxInt = int64(g.r.IntN(genDataSize - 4))
	default:
		x, y := g.operand(), g.boundary()
		if r.IntN(2) == 0 {
			x, y = y, x
		}
		g.push(b.NewValue(genBinary32[r.IntN(len(genBinary32))], ir.I32, x, y))
	}
}

// indexedAccess loads or stores at p + k + (x & 63) + off, p a data
// pointer the analysis cannot prove constant, k < 64 a constant the sum
// holds in one of the shapes simplify_addr.go folds into the offset, and
// sometimes with the sum or its inner add also used as a value (then the
// add must stay, or keep its meaning). All of it stays in the data region.
func (g *gen32) indexedAccess() {
	b, r := g.b, g.r
	p := b.NewValue(ir.OpSelect32, ir.I32, g.pick(), g.konst(genDataBase), g.konst(genDataBase+64))
	idx := b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(63))
	k := g.konst(uint32(r.IntN(32)))
	var inner, addr *ir.Value
	switch r.IntN(4) {
	case 0: // p + k, idx lost
		addr = b.NewValue(ir.OpAdd32, ir.I32, g.konst(uint32(r.IntN(64))), p)
	case 1: // (p + k) + idx
		inner = b.NewValue(ir.OpAdd32, ir.I32, p, k)
		addr = b.NewValue(ir.OpAdd32, ir.I32, inner, idx)
	case 2: // (idx + k) + p
		inner = b.NewValue(ir.OpAdd32, ir.I32, k, idx)
		addr = b.NewValue(ir.OpAdd32, ir.I32, p, inner)
	default: // (p + k) + (idx + k)
		inner = b.NewValue(ir.OpAdd32, ir.I32, p, k)
		addr = b.NewValue(ir.OpAdd32, ir.I32, inner, b.NewValue(ir.OpAdd32, ir.I32, idx, k))
	}
	if inner != nil && r.IntN(3) == 0 {
		g.push(inner)
	}
	off := int64(r.IntN(8))
	if r.IntN(2) == 0 {
		op := []ir.Op{ir.OpStore8, ir.OpStore16, ir.OpStore32}[r.IntN(3)]
		st := b.NewValue(op, ir.TypeVoid, addr, g.pick())
		st.AuxInt = off
	} else {
		ld := b.NewValue(genLoads32[r.IntN(len(genLoads32))], ir.I32, addr)
		ld.AuxInt = off
		g.push(ld)
	}
	if r.IntN(4) == 0 {
		g.push(addr)
	}
}

func (g *gen32) region(depth int) {
	switch k := g.r.IntN(9); {
	case depth < 2 && k == 0:
		g.diamond(depth)
	case depth < 2 && k == 1:
		g.loop(depth)
	case depth < 2 && k == 2:
		g.phiBranch(depth)
	case k == 3:
		g.sameTarget()
	default:
		for range 1 + g.r.IntN(4) {
			g.op()
		}
	}
}

func (g *gen32) diamond(depth int) {
	g.budget--
	top := g.b
	top.Kind = ir.BlockIf
	top.SetControls(g.pick())
	g.arms(top, depth, false)
}

// arms gives the If block top two successors, each a region (maybe none
// when mayBeEmpty), that join with a phi of a value from each.
func (g *gen32) arms(top *ir.Block, depth int, mayBeEmpty bool) {
	then, els, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(then)
	top.AddEdgeTo(els)
	n := len(g.vals)
	arm := func(start *ir.Block) *ir.Value {
		g.b = start
		if !mayBeEmpty || g.r.IntN(2) == 0 {
			g.region(depth + 1)
		}
		v := g.operand()
		g.b.AddEdgeTo(join)
		g.vals = g.vals[:n]
		return v
	}
	t, e := arm(then), arm(els)
	g.b = join
	g.push(join.NewValue(ir.OpPhi, ir.I32, t, e))
}

// loop: a counter to a bound of 1..4 and an accumulator that the body
// updates with a random op (often one that keeps known bits, such as
// And32 with a narrow value, so a loop-carried fact can be proven).
func (g *gen32) loop(depth int) {
	g.budget--
	pre := g.b
	bound := g.konst(uint32(1 + g.r.IntN(4)))
	zero, one := g.konst(0), g.konst(1)
	init := g.operand()
	header := g.f.NewBlock(ir.BlockJump)
	pre.Kind = ir.BlockJump
	pre.AddEdgeTo(header)
	g.b = header
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	acc := header.NewValue(ir.OpPhi, ir.I32, init)
	n := len(g.vals)
	g.vals = append(g.vals, cnt, acc)
	g.region(depth + 1)
	latch := g.b
	op := []ir.Op{ir.OpAnd32, ir.OpOr32, ir.OpAdd32, ir.OpXor32, ir.OpShrU32}[g.r.IntN(5)]
	next := g.push(latch.NewValue(op, ir.I32, acc, g.operand()))
	inc := latch.NewValue(ir.OpAdd32, ir.I32, cnt, one)
	latch.Kind = ir.BlockIf
	latch.SetControls(latch.NewValue(ir.OpLtU32, ir.I32, inc, bound))
	exit := g.f.NewBlock(ir.BlockJump)
	latch.AddEdgeTo(header)
	latch.AddEdgeTo(exit)
	cnt.AddArg(inc)
	acc.AddArg(next)
	g.vals = append(g.vals[:n], acc, next)
	g.b = exit
}

// genArgs32 picks argument words, boundary values half the time.
func genArgs32(r *rand.Rand) []uint32 {
	args := make([]uint32, genArgWords)
	for i := range args {
		if r.IntN(2) == 0 {
			args[i] = boundary32[r.IntN(len(boundary32))]
		} else {
			args[i] = r.Uint32()
		}
	}
	return args
}

// guardedDivision: legalize64's selects around a division by a divisor
// made non-zero, Select32(b == 0, a, q(x, b | (b == 0))), with a and x
// sometimes not what the pattern needs.
func (g *gen32) guardedDivision() {
	b, r := g.b, g.r
	d := g.operand()
	isZero := b.NewValue(ir.OpEq32, ir.I32, d, g.konst(0))
	safe := b.NewValue(ir.OpOr32, ir.I32, d, isZero)
	if r.IntN(2) == 0 {
		safe = b.NewValue(ir.OpOr32, ir.I32, isZero, d)
	}
	x := g.pick()
	op := []ir.Op{ir.OpDivU32, ir.OpModU32}[r.IntN(2)]
	q := b.NewValue(op, ir.I32, x, safe)
	a := []*ir.Value{g.konst(0), x, g.pick()}[r.IntN(3)]
	g.push(b.NewValue(ir.OpSelect32, ir.I32, isZero, a, q))
}

// divisionCall: a libgcc 64-bit division on split words whose high words
// are 0, sign copies, or anything. The divisor's low word is odd, so the
// call never sees 0 (nor INT64_MIN / -1, the dividend being at most 33
// bits); -1 may come, and with it INT32_MIN / -1 = 2^31, whose high word
// is not a sign copy.
func (g *gen32) divisionCall() {
	b, r := g.b, g.r
	sym := []string{"__udivdi3", "__umoddi3", "__divdi3", "__moddi3"}[r.IntN(4)]
	al := g.operand()
	dl := b.NewValue(ir.OpOr32, ir.I32, g.operand(), g.konst(1))
	if r.IntN(3) == 0 {
		dl = g.konst([]uint32{1, ^uint32(0), 0x80000001, 0x7fffffff, 3}[r.IntN(5)])
	}
	high := func(l *ir.Value) *ir.Value {
		switch r.IntN(3) {
		case 0:
			return g.konst(0)
		case 1:
			return b.NewValue(ir.OpShrS32, ir.I32, l, g.konst(31))
		}
		return b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(1))
	}
	call := b.NewValue(ir.OpCallRuntime, ir.Pair, al, high(al), dl, high(dl))
	call.Sym = sym
	if r.IntN(3) == 0 { // PairLo first
		g.push(b.NewValue(ir.OpPairLo, ir.I32, call))
		g.push(b.NewValue(ir.OpPairHi, ir.I32, call))
		return
	}
	g.push(b.NewValue(ir.OpPairHi, ir.I32, call))
	g.push(b.NewValue(ir.OpPairLo, ir.I32, call))
}

// repeat computes an earlier pure value or load again, the operands of a
// commutative op sometimes swapped: what cse merges, or must not merge
// when a store came between two loads.
func (g *gen32) repeat() {
	v := g.vals[g.r.IntN(len(g.vals))]
	if !isPure32(v.Op) && !v.Op.IsLoad() {
		g.load()
		return
	}
	args := append([]*ir.Value(nil), v.Args...)
	if v.Op.Info().Commutative && g.r.IntN(2) == 0 {
		args[0], args[1] = args[1], args[0]
	}
	w := g.b.NewValue(v.Op, ir.I32, args...)
	w.AuxInt = v.AuxInt
	g.push(w)
}

// phiBranch: two arms (one sometimes empty) give a flag a constant or a
// value, and the join branches on the flag or a compare of it with a
// constant: the shape cfg's jump threading removes. The flag is sometimes
// used later too, which must stop the threading.
func (g *gen32) phiBranch(depth int) {
	g.budget--
	top, r := g.b, g.r
	top.Kind = ir.BlockIf
	top.SetControls(g.pick())
	left, right, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(left)
	top.AddEdgeTo(right)
	n := len(g.vals)
	flag := func(arm *ir.Block) *ir.Value {
		g.b = top // the flag's value must dominate the arm's end
		v := g.konst(uint32(r.IntN(3)))
		if r.IntN(4) == 0 {
			v = g.pick()
		}
		g.b = arm
		if r.IntN(2) == 0 {
			g.op()
		}
		g.b.AddEdgeTo(join)
		g.vals = g.vals[:n]
		return v
	}
	fl, fr := flag(left), flag(right)
	g.b = join
	p := join.NewValue(ir.OpPhi, ir.I32, fl, fr)
	ctrl := p
	if r.IntN(2) == 0 {
		op := []ir.Op{ir.OpEq32, ir.OpNe32, ir.OpLtU32}[r.IntN(3)]
		ctrl = join.NewValue(op, ir.I32, p, g.konst(uint32(r.IntN(3))))
	}
	join.Kind = ir.BlockIf
	join.SetControls(ctrl)
	if r.IntN(3) == 0 {
		g.vals = append(g.vals, p) // used past the test
	}
	g.arms(join, depth, true)
}

// sameTarget: "If c -> s, s" with a phi whose two arguments are the same
// value or not.
func (g *gen32) sameTarget() {
	g.budget--
	top := g.b
	x, y := g.pick(), g.pick()
	if g.r.IntN(2) == 0 {
		y = x
	}
	top.Kind = ir.BlockIf
	top.SetControls(g.pick())
	s := g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(s)
	top.AddEdgeTo(s)
	g.b = s
	g.push(s.NewValue(ir.OpPhi, ir.I32, x, y))
}
