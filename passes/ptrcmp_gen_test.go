package passes

import (
	"math/rand/v2"

	"github.com/bpfopt/bpfopt/ir"
)

// A generator of random i64 functions for the ptrcmp pass: pointers as
// clang's BPF makes them — a base plus offsets, summed in any association,
// compared in every order (signed too) with each other and with "ends" —
// in straight-line code, behind guards, and walked by loops whose pointer
// is a phi. Bases are the ctx (a zero-extended argument, below 2^32, as
// the lifter makes it), whole 64-bit arguments and constants just below
// 2^32 and 2^64; offsets are masked and whole u32 arguments, loads, and
// constants near 0, 2^32, 2^63 and 2^64 (negative ones too), so that sums
// pass 2^32 and wrap 2^64 on some inputs: the rewrite must hold exactly
// where its proof does. Every loop counts its trips and leaves after at
// most eight. Every value is stored to the "out" region (randfunc_test.go).

type ptrGen struct {
	*funcGen
	bases []*ir.Value
	offs  []*ir.Value // offset terms (scoped like i64s)
	ptrs  []*ir.Value // sums over a base (scoped like i64s)
}

// ptrConsts are the constant offsets: header sizes, and values that make
// sums cross 2^32, 2^63 or 2^64.
var ptrConsts = []uint64{0, 1, 2, 4, 8, 14, 20, 32, 48, 60, 0x7fffffff, 0xfffffff0, 0xffffffff,
	1 << 32, 1<<32 + 8, 1<<63 - 1, 1 << 63, ^uint64(0), ^uint64(0) - 3, ^uint64(0) - 15, ^uint64(0) - 47}

func genPtrFunc(r *rand.Rand, name string, size int) *ir.Func {
	g := &ptrGen{funcGen: newFuncGen(r, name, size)}
	args := g.args()
	ctx := g.b.NewValue(ir.OpZeroExt32to64, ir.I64, args[8])
	g.bases = []*ir.Value{ctx, ctx, ctx, g.i64s[0], g.const64(0xfffffff0), g.const64(^uint64(0) - 31)}
	for _, w := range args[9:] {
		g.offs = append(g.offs, g.b.NewValue(ir.OpZeroExt32to64, ir.I64, w))
		m := []uint32{0xff, 0xffff, 0x3c, 0x7fffffff}[r.IntN(4)]
		g.offs = append(g.offs, g.b.NewValue(ir.OpZeroExt32to64, ir.I64, g.b.NewValue(ir.OpAnd32, ir.I32, w, g.const32(m))))
	}
	ld := g.b.NewValue(ir.OpLoad8, ir.I32, g.const32(genDataBase))
	ld.AuxInt = int64(r.IntN(genDataSize))
	g.offs = append(g.offs, g.b.NewValue(ir.OpZeroExt32to64, ir.I64, ld))
	for range 2 {
		g.pushPtr(g.sum(g.bases[r.IntN(len(g.bases))]))
	}
	for g.budget > 0 {
		g.ptrRegion(0)
	}
	return g.ret()
}

// genPtrArgs: the ctx word is small, near 2^32 or anything; the other
// words too; the i64 inputs come from the boundary set.
func genPtrArgs(r *rand.Rand) []uint32 {
	args := genArgs(r)
	for i := 2 * genI64Args; i < genArgWords; i++ {
		switch r.IntN(3) {
		case 0:
			args[i] = uint32(r.IntN(300))
		case 1:
			args[i] = ^uint32(0) - uint32(r.IntN(300))
		default:
			args[i] = r.Uint32()
		}
	}
	return args
}

func (g *ptrGen) pushPtr(p *ir.Value) {
	g.push64(p)
	g.ptrs = append(g.ptrs, p)
}

func (g *ptrGen) pickOff() *ir.Value {
	if g.r.IntN(3) == 0 {
		return g.const64(ptrConsts[g.r.IntN(len(ptrConsts))])
	}
	return g.offs[g.r.IntN(len(g.offs))]
}

func (g *ptrGen) pickPtr() *ir.Value {
	n := len(g.ptrs)
	return g.ptrs[n-1-g.r.IntN(min(n, 5))]
}

// sum adds one to three offsets to p, in a random association, and
// sometimes subtracts a constant.
func (g *ptrGen) sum(p *ir.Value) *ir.Value {
	b := g.b
	for range 1 + g.r.IntN(3) {
		x := g.pickOff()
		switch g.r.IntN(3) {
		case 0:
			p = b.NewValue(ir.OpAdd64, ir.I64, x, p)
		case 1: // p + (x + y): reassociated
			y := g.pickOff()
			p = b.NewValue(ir.OpAdd64, ir.I64, p, b.NewValue(ir.OpAdd64, ir.I64, x, y))
		default:
			p = b.NewValue(ir.OpAdd64, ir.I64, p, x)
		}
	}
	if g.r.IntN(4) == 0 {
		p = b.NewValue(ir.OpSub64, ir.I64, p, g.const64(ptrConsts[g.r.IntN(len(ptrConsts))]))
	}
	return p
}

// compare emits a compare of two pointers, mostly over one base.
func (g *ptrGen) compare() *ir.Value {
	x, y := g.pickPtr(), g.pickPtr()
	if g.r.IntN(3) > 0 {
		y = g.sum(x)
	}
	if g.r.IntN(2) == 0 {
		x, y = y, x
	}
	return g.b.NewValue(genCompare64[g.r.IntN(len(genCompare64))], ir.I32, x, y)
}

func (g *ptrGen) ptrRegion(depth int) {
	g.budget--
	switch k := g.r.IntN(8); {
	case depth < 2 && k == 0:
		g.guard(depth)
	case depth < 2 && k == 1:
		g.walk(depth)
	case k < 5:
		g.pushPtr(g.sum(g.pickPtr()))
	default:
		c := g.compare()
		g.i32s = append(g.i32s, c)
		g.push64(g.b.NewValue(ir.OpZeroExt32to64, ir.I64, c))
	}
}

func (g *ptrGen) scope() (int, int, int, int) {
	return len(g.i64s), len(g.i32s), len(g.offs), len(g.ptrs)
}

func (g *ptrGen) restore(n64, n32, no, np int) {
	g.funcGen.restore(n64, n32)
	g.offs, g.ptrs = g.offs[:no], g.ptrs[:np]
}

// guard: if a pointer compare holds, go on in one block; else in another;
// both join with phis of a pointer.
func (g *ptrGen) guard(depth int) {
	top := g.b
	top.Kind = ir.BlockIf
	top.SetControls(g.compare())
	then, els, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(then)
	top.AddEdgeTo(els)
	saved := [4]int{}
	saved[0], saved[1], saved[2], saved[3] = g.scope()
	var ends [2]*ir.Value
	for i, start := range []*ir.Block{then, els} {
		g.b = start
		g.ptrRegion(depth + 1)
		ends[i] = g.pickPtr()
		g.b.Kind = ir.BlockJump
		g.b.AddEdgeTo(join)
		g.restore(saved[0], saved[1], saved[2], saved[3])
	}
	g.b = join
	g.pushPtr(join.NewValue(ir.OpPhi, ir.I64, ends[0], ends[1]))
}

// walk: p = Phi(start, p + step) while a compare of p + n with an end
// holds and the trip count is below a bound (at most 8).
func (g *ptrGen) walk(depth int) {
	pre := g.b
	start := g.pickPtr()
	end := g.sum(start)
	if g.r.IntN(3) == 0 {
		end = g.sum(g.bases[g.r.IntN(len(g.bases))])
	}
	bound := g.const32(uint32(1 + g.r.IntN(8)))
	zero, one := g.const32(0), g.const32(1)
	pre.Kind = ir.BlockJump
	header := g.f.NewBlock(ir.BlockIf)
	pre.AddEdgeTo(header)
	g.b = header
	p := header.NewValue(ir.OpPhi, ir.I64, start)
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	saved := [4]int{}
	saved[0], saved[1], saved[2], saved[3] = g.scope()
	g.ptrs = append(g.ptrs, p)
	near := header.NewValue(ir.OpAdd64, ir.I64, p, g.pickOff())
	x, y := end, near
	if g.r.IntN(2) == 0 {
		x, y = y, x
	}
	stay := header.NewValue(genCompare64[g.r.IntN(len(genCompare64))], ir.I32, x, y)
	header.SetControls(stay)
	body := g.f.NewBlock(ir.BlockJump)
	exit := g.f.NewBlock(ir.BlockJump)
	header.AddEdgeTo(body)
	header.AddEdgeTo(exit)
	g.b = body
	g.ptrRegion(depth + 1)
	latch := g.b
	step := latch.NewValue(ir.OpAdd64, ir.I64, near, g.pickOff())
	next := latch.NewValue(ir.OpAdd32, ir.I32, cnt, one)
	again := latch.NewValue(ir.OpLtU32, ir.I32, next, bound)
	latch.Kind = ir.BlockIf
	latch.SetControls(again)
	latch.AddEdgeTo(header)
	latch.AddEdgeTo(exit)
	p.AddArg(step)
	cnt.AddArg(next)
	g.restore(saved[0], saved[1], saved[2], saved[3])
	g.b = exit
	g.pushPtr(exit.NewValue(ir.OpPhi, ir.I64, p, step))
}
