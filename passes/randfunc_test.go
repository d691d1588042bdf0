package passes

import (
	"math/rand/v2"

	"github.com/bpfopt/bpfopt/ir"
)

// A small generator of random, valid IR functions for differential tests:
// straight-line code using every 64-bit op, diamonds and loops with i64
// and i32 phis, loads, stores and atomics. Every i64 value it makes is also
// stored to the "out" region, so a comparison of memory after a run pins a
// wrong result to the value that computed it.
//
// Inputs: argument words 0..7 are four i64 inputs (lo, hi pairs), words
// 8..11 are i32 inputs (shift amounts, loop bounds, conditions).

const (
	genI64Args  = 4
	genI32Args  = 4
	genArgWords = 2*genI64Args + genI32Args

	genDataBase  = 0x10000 // 256 bytes of random data: loads, stores, atomics
	genDataSize  = 256
	genOutBase   = 0x20000 // one 8-byte slot per stored value
	genOutSlots  = 512
	genFramePtr  = 0x40000
	genLocalBase = 0x30000
)

type funcGen struct {
	r    *rand.Rand
	f    *ir.Func
	b    *ir.Block
	i64s []*ir.Value // values usable at the current point (scoped)
	i32s []*ir.Value
	outs int // next out slot
	// budget limits the number of ops so functions stay small.
	budget int
}

// genFunc makes a random function; size scales its length.
func genFunc(r *rand.Rand, name string, size int) *ir.Func {
	g := newFuncGen(r, name, size)
	args := g.args()
	g.i64s = append(g.i64s, g.b.NewValue(ir.OpZeroExt32to64, ir.I64, args[8]))
	g.i64s = append(g.i64s, g.b.NewValue(ir.OpSignExt32to64, ir.I64, args[9]))
	g.i64s = append(g.i64s, g.const64(boundary64[r.IntN(len(boundary64))]))
	for g.budget > 0 {
		g.region(0)
	}
	return g.ret()
}

// ret returns a mix of the last few values, so the result depends on
// them, and gives back the function.
func (g *funcGen) ret() *ir.Func {
	res := g.i64s[len(g.i64s)-1]
	for i := 2; i <= 4 && i <= len(g.i64s); i++ {
		res = g.b.NewValue(ir.OpXor64, ir.I64, res, g.i64s[len(g.i64s)-i])
	}
	g.b.Kind = ir.BlockRet
	g.b.SetControls(res)
	return g.f
}

// newFuncGen starts a function of one block.
func newFuncGen(r *rand.Rand, name string, size int) *funcGen {
	g := &funcGen{r: r, f: ir.NewFunc(name), budget: size}
	g.b = g.f.NewBlock(ir.BlockRet)
	return g
}

// args makes the argument words (the layout above genFunc) and puts the
// i64 inputs and the i32 words in the pools; it returns the words.
func (g *funcGen) args() []*ir.Value {
	var args []*ir.Value
	for i := range genArgWords {
		a := g.b.NewValue(ir.OpArg, ir.I32)
		a.AuxInt = int64(i)
		args = append(args, a)
	}
	for i := range genI64Args {
		g.i64s = append(g.i64s, g.b.NewValue(ir.OpInt64Make, ir.I64, args[2*i+1], args[2*i]))
	}
	g.i32s = append(g.i32s, args[2*genI64Args:]...)
	return args
}

func (g *funcGen) const64(c uint64) *ir.Value {
	v := g.b.NewValue(ir.OpConst64, ir.I64)
	v.AuxInt = int64(c)
	return v
}

func (g *funcGen) const32(c uint32) *ir.Value {
	v := g.b.NewValue(ir.OpConst32, ir.I32)
	v.AuxInt = int64(int32(c))
	return v
}

// pick64 prefers recent values, so chains of ops form.
func (g *funcGen) pick64() *ir.Value {
	n := len(g.i64s)
	if g.r.IntN(3) > 0 {
		return g.i64s[n-1-g.r.IntN(min(n, 6))]
	}
	return g.i64s[g.r.IntN(n)]
}

func (g *funcGen) pick32() *ir.Value {
	n := len(g.i32s)
	if g.r.IntN(3) > 0 {
		return g.i32s[n-1-g.r.IntN(min(n, 4))]
	}
	return g.i32s[g.r.IntN(n)]
}

// shiftAmount is a constant (boundary-heavy) or a variable amount.
func (g *funcGen) shiftAmount() *ir.Value {
	switch g.r.IntN(3) {
	case 0:
		return g.const32(boundaryShifts[g.r.IntN(len(boundaryShifts))])
	case 1:
		return g.const32(uint32(g.r.IntN(130)))
	}
	return g.pick32()
}

// divisor is an operand that is often 0, -1 or 1.
func (g *funcGen) divisor() *ir.Value {
	switch g.r.IntN(6) {
	case 0:
		return g.const64(0)
	case 1:
		return g.const64(^uint64(0))
	case 2:
		return g.const64(1)
	}
	return g.pick64()
}

func (g *funcGen) push64(v *ir.Value) {
	g.i64s = append(g.i64s, v)
	slot := g.outs % genOutSlots
	g.outs++
	base := g.const32(genOutBase)
	st := g.b.NewValue(ir.OpStore64, ir.TypeVoid, base, v)
	st.AuxInt, st.Align = int64(8*slot), 8
}

var genBinary64 = []ir.Op{
	ir.OpAdd64, ir.OpSub64, ir.OpMul64, ir.OpAnd64, ir.OpOr64, ir.OpXor64,
	ir.OpDivU64, ir.OpModU64, ir.OpDivS64, ir.OpModS64,
}
var genShift64 = []ir.Op{ir.OpShl64, ir.OpShrU64, ir.OpShrS64}
var genCompare64 = []ir.Op{ir.OpEq64, ir.OpNe64, ir.OpLtU64, ir.OpLeU64, ir.OpLtS64, ir.OpLeS64}
var genAtomic64 = []ir.Op{ir.OpAtomicAdd64, ir.OpAtomicOr64, ir.OpAtomicAnd64, ir.OpAtomicXor64, ir.OpAtomicXchg64}

// op emits one random operation into the current block.
func (g *funcGen) op() {
	g.budget--
	b, r := g.b, g.r
	switch k := r.IntN(20); {
	case k < 6:
		op := genBinary64[r.IntN(len(genBinary64))]
		a := g.pick64()
		var x *ir.Value
		if op >= ir.OpDivU64 && op <= ir.OpModS64 {
			x = g.divisor()
		} else {
			x = g.pick64()
		}
		g.push64(b.NewValue(op, ir.I64, a, x))
	case k < 9:
		op := genShift64[r.IntN(len(genShift64))]
		a := g.pick64()
		g.push64(b.NewValue(op, ir.I64, a, g.shiftAmount()))
	case k < 11:
		op := genCompare64[r.IntN(len(genCompare64))]
		a, x := g.pick64(), g.pick64()
		if r.IntN(4) == 0 {
			x = a // equal operands
		}
		c := b.NewValue(op, ir.I32, a, x)
		g.i32s = append(g.i32s, c)
		g.push64(b.NewValue(ir.OpZeroExt32to64, ir.I64, c))
	case k == 11:
		op := []ir.Op{ir.OpNeg64, ir.OpBswap64, ir.OpCopy}[r.IntN(3)]
		g.push64(b.NewValue(op, ir.I64, g.pick64()))
	case k == 12:
		a := g.pick64()
		h := b.NewValue(ir.OpInt64Hi, ir.I32, a)
		l := b.NewValue(ir.OpInt64Lo, ir.I32, a)
		g.i32s = append(g.i32s, h, l)
		x := b.NewValue(ir.OpAdd32, ir.I32, h, g.pick32())
		g.push64(b.NewValue(ir.OpInt64Make, ir.I64, l, x))
	case k == 13:
		ext := []ir.Op{ir.OpZeroExt32to64, ir.OpSignExt32to64}[r.IntN(2)]
		g.push64(b.NewValue(ext, ir.I64, g.pick32()))
	case k == 14:
		g.push64(g.const64(randomWord64(r)))
	case k == 15:
		off := r.IntN(genDataSize - 8)
		ld := b.NewValue(ir.OpLoad64, ir.I64, g.const32(genDataBase))
		ld.AuxInt, ld.Align = int64(off), proveAlign(off)
		g.push64(ld)
	case k == 16:
		off := r.IntN(genDataSize - 8)
		st := b.NewValue(ir.OpStore64, ir.TypeVoid, g.const32(genDataBase), g.pick64())
		st.AuxInt, st.Align = int64(off), proveAlign(off)
	case k == 17:
		op := genAtomic64[r.IntN(len(genAtomic64))]
		at := b.NewValue(op, ir.I64, g.const32(genDataBase), g.pick64())
		at.AuxInt = int64(8 * r.IntN(genDataSize/8))
		g.push64(at)
	case k == 18:
		off := int64(8 * r.IntN(genDataSize/8))
		base := g.const32(genDataBase)
		expect := g.pick64()
		if r.IntN(2) == 0 { // make it succeed
			expect = b.NewValue(ir.OpLoad64, ir.I64, base)
			expect.AuxInt = off
		}
		at := b.NewValue(ir.OpAtomicCmpXchg64, ir.I64, base, expect, g.pick64())
		at.AuxInt = off
		g.push64(at)
	default:
		// Runtime call in C form; the divisor is made non-zero.
		sym := []string{"__udivdi3", "__umoddi3"}[r.IntN(2)]
		d := b.NewValue(ir.OpOr64, ir.I64, g.pick64(), g.const64(1))
		c := b.NewValue(ir.OpCallRuntime, ir.I64, g.pick64(), d)
		c.Sym = sym
		g.push64(c)
	}
}

func proveAlign(off int) uint8 {
	switch {
	case off%8 == 0:
		return 8
	case off%4 == 0:
		return 4
	case off%2 == 0:
		return 2
	}
	return 0
}

// region emits straight-line code, a diamond or a loop.
func (g *funcGen) region(depth int) {
	switch k := g.r.IntN(6); {
	case depth < 2 && k == 0:
		g.diamond(depth)
	case depth < 2 && k == 1:
		g.loop(depth)
	default:
		for range 1 + g.r.IntN(4) {
			g.op()
		}
	}
}

// scope saves the value pools; restore drops what was defined since.
func (g *funcGen) scope() (int, int) { return len(g.i64s), len(g.i32s) }
func (g *funcGen) restore(n64, n32 int) {
	g.i64s, g.i32s = g.i64s[:n64], g.i32s[:n32]
}

// diamond: If cond -> then, else; both join with an i64 and an i32 phi.
func (g *funcGen) diamond(depth int) {
	g.budget--
	cond := g.pick32()
	if g.r.IntN(2) == 0 {
		a, x := g.pick64(), g.pick64()
		cond = g.b.NewValue(genCompare64[g.r.IntN(len(genCompare64))], ir.I32, a, x)
	}
	top := g.b
	top.Kind = ir.BlockIf
	top.SetControls(cond)
	then, els, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(then)
	top.AddEdgeTo(els)
	n64, n32 := g.scope()
	arm := func(start *ir.Block) (*ir.Value, *ir.Value) {
		g.b = start
		g.region(depth + 1)
		v64, v32 := g.pick64(), g.pick32()
		g.b.Kind = ir.BlockJump
		g.b.AddEdgeTo(join)
		g.restore(n64, n32)
		return v64, v32
	}
	t64, t32 := arm(then)
	e64, e32 := arm(els)
	g.b = join
	p64 := join.NewValue(ir.OpPhi, ir.I64, t64, e64)
	p32 := join.NewValue(ir.OpPhi, ir.I32, t32, e32)
	g.i32s = append(g.i32s, p32)
	g.push64(p64)
}

// loop: a header with a counter and an i64 accumulator phi, a body, and a
// latch that branches back while counter < bound (bound is 1..4 or an
// argument masked to 0..7).
func (g *funcGen) loop(depth int) {
	g.budget--
	pre := g.b
	var bound *ir.Value
	if g.r.IntN(2) == 0 {
		bound = g.const32(uint32(1 + g.r.IntN(4)))
	} else {
		bound = g.b.NewValue(ir.OpAnd32, ir.I32, g.pick32(), g.const32(7))
	}
	zero, one := g.const32(0), g.const32(1)
	init64 := g.pick64()
	pre.Kind = ir.BlockJump
	header := g.f.NewBlock(ir.BlockJump)
	pre.AddEdgeTo(header)
	g.b = header
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	acc := header.NewValue(ir.OpPhi, ir.I64, init64)
	n64, n32 := g.scope()
	g.i32s = append(g.i32s, cnt)
	g.i64s = append(g.i64s, acc)
	g.region(depth + 1)
	latch := g.b
	next64 := g.b.NewValue(ir.OpAdd64, ir.I64, acc, g.pick64())
	g.push64(next64)
	next := latch.NewValue(ir.OpAdd32, ir.I32, cnt, one)
	again := latch.NewValue(ir.OpLtU32, ir.I32, next, bound)
	latch.Kind = ir.BlockIf
	latch.SetControls(again)
	exit := g.f.NewBlock(ir.BlockJump)
	latch.AddEdgeTo(header)
	latch.AddEdgeTo(exit)
	cnt.AddArg(next)
	acc.AddArg(next64)
	g.restore(n64, n32)
	// Header phis dominate the exit; so does next64, made in the latch.
	g.i32s = append(g.i32s, cnt)
	g.i64s = append(g.i64s, acc, next64)
	g.b = exit
}

// genArgs picks argument words: i64 inputs from the boundary set most of
// the time, i32 inputs from the shift boundaries.
func genArgs(r *rand.Rand) []uint32 {
	args := make([]uint32, genArgWords)
	for i := range genI64Args {
		args[2*i], args[2*i+1] = words(randomWord64(r))
	}
	for i := range genI32Args {
		if r.IntN(2) == 0 {
			args[2*genI64Args+i] = boundaryShifts[r.IntN(len(boundaryShifts))]
		} else {
			args[2*genI64Args+i] = r.Uint32()
		}
	}
	return args
}

// genMemory is a fresh memory for one run of a generated function.
func genMemory(seed uint64, bigEndian bool) *ir.RegionMemory {
	r := rand.New(rand.NewPCG(seed, 99))
	data := make([]byte, genDataSize)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: genDataBase, Data: data, Name: "data"},
		{Base: genOutBase, Data: make([]byte, 8*genOutSlots), Name: "out"},
		{Base: genFramePtr - 512, Data: make([]byte, 512), Name: "stack"},
		{Base: genLocalBase, Data: make([]byte, 64), Name: "locals"},
	}}
}
