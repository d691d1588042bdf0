package passes

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// memfwd's differential test: random i32 functions that spill to and
// reload from the stack — aligned and unaligned slots, every access size,
// addresses with constant and variable offsets, diamonds and loops — and
// pass stack addresses to helpers with a known memory effect of each
// class (none, reads a word, reads to the end of the frame, writes,
// reads and writes), and sometimes let the stack escape: a stack address
// passed to a call of unknown effect that writes through it, stored to
// memory and written through after being loaded back, or given to an
// atomic. Before and after the pass, the
// function runs on the same inputs over a stack of random bytes; results,
// every region but the stack (which dies at return) and the bytes a tail
// call sees must agree.

func TestMemfwdDifferential(t *testing.T) {
	funcs := 1500
	if testing.Short() {
		funcs = 300
	}
	r := rand.New(rand.NewPCG(5, 12))
	// genStackFunc's functions, and difftest_test.go's srcShapes (stack
	// pointers walking through phis, spills in loops).
	gens := []func(i int) *ir.Func{
		func(i int) *ir.Func { return genStackFunc(r, fmt.Sprintf("stack%d", i)) },
		func(i int) *ir.Func {
			f := srcShapes.gen(r, fmt.Sprintf("shapes%d", i))
			_, err := Run(f, 0, &Config{Passes: srcShapes.setup, VerifyEach: true})
			require.NoError(t, err)
			return f
		},
	}
	forwarded, removed := 0, 0
	for i := range funcs {
		f := gens[i%len(gens)](i)
		require.NoError(t, ir.Verify(f, ir.VerifyOptions{NoI64: true}), "the generator made invalid IR:\n%s", f)
		bigEndian := i%4 >= 2
		st := checkStackPass(t, r, f, bigEndian, 6, memfwdPass)
		forwarded += st["loads forwarded"]
		removed += st["stores removed"]
	}
	t.Logf("%d functions: %d loads forwarded, %d stores removed", funcs, forwarded, removed)
	require.Positive(t, forwarded)
	require.Positive(t, removed)
}

// checkStackPass runs pass on a copy of f and compares both on runs
// inputs; it returns the pass's stats.
func checkStackPass(t *testing.T, r *rand.Rand, f *ir.Func, bigEndian bool, runs int, pass func(*ir.Func, *Config) (Stats, error)) Stats {
	t.Helper()
	text := f.String()
	noI64 := ir.Verify(f, ir.VerifyOptions{NoI64: true}) == nil
	g, err := ir.Parse(text)
	require.NoError(t, err)
	st, err := pass(g, &Config{BigEndian: bigEndian})
	require.NoError(t, err)
	require.NoError(t, ir.Verify(g, ir.VerifyOptions{NoI64: noI64}), "after the pass:\n%s", g)
	for range runs {
		args := genArgs32(r)
		seed := r.Uint64()
		want, wantMem, wantErr := runStackFunc(f, args, seed, bigEndian)
		got, gotMem, gotErr := runStackFunc(g, args, seed, bigEndian)
		if wantErr != nil {
			require.Error(t, gotErr, "before the pass the run fails (%v), after it does not:\n%s\n%s", wantErr, text, g)
			continue
		}
		require.NoError(t, gotErr, "before:\n%s\nafter:\n%s", text, g)
		if got != want || !sameVisibleMemory(wantMem, gotMem) {
			t.Fatalf("bigEndian=%v args %#x: result %#x, want %#x; %s\n--- before:\n%s--- after:\n%s",
				bigEndian, args, got, want, memoryDiff(wantMem, gotMem), text, g)
		}
	}
	return st
}

// The helpers of the generated functions, each of (addr, v):
//
//	poke  stores the word v at addr, returns the word there before
//	peek  returns the word at addr
//	sum   returns a hash of the bytes from addr to the end of its region
//	      (of the frame, for a stack address)
//	fill  writes v+i to byte i of the 8 bytes from addr (fewer at the
//	      region's end), returns 0
//	tick  returns how many calls of the run came before it
//
// Called with a known memory effect, each does no more than its effect in
// helperEffects says. A tail call returns a hash of the whole stack, so
// that the bytes a tail-called program could see count as a result.
func runStackFunc(f *ir.Func, args []uint32, seed uint64, bigEndian bool) (uint64, *ir.RegionMemory, error) {
	mem := genMemory(seed, bigEndian)
	stack := mem.Regions[2]
	fill := rand.New(rand.NewPCG(seed, 7))
	for i := range stack.Data {
		stack.Data[i] = byte(fill.Uint32())
	}
	cfg := genInterp(args, mem)
	calls := uint64(0)
	cfg.Call = func(sym string, a []uint64) (uint64, error) {
		calls++
		addr := uint32(a[0])
		switch sym {
		case "tick":
			return calls - 1, nil
		case "sum":
			h := uint64(0)
			for i := uint32(0); ; i++ {
				b, err := mem.Load(addr+i, 1)
				if err != nil {
					return h, nil
				}
				h = h*0x100000001b3 ^ b
			}
		case "fill":
			for i := uint32(0); i < 8; i++ {
				if mem.Store(addr+i, 1, a[1]+uint64(i)) != nil {
					break
				}
			}
			return 0, nil
		}
		old, err := mem.Load(addr, 4)
		if err != nil || sym == "peek" {
			return old, err
		}
		return old, mem.Store(addr, 4, a[1])
	}
	cfg.TailCall = func(target, ctx, length, count uint32) (uint64, error) {
		h := uint64(target)
		for i := 0; i+8 <= len(stack.Data); i += 8 {
			h = h*0x9e3779b97f4a7c15 + binary.LittleEndian.Uint64(stack.Data[i:])
		}
		return h, nil
	}
	res, err := ir.Interpret(f, cfg)
	return res, mem, err
}

// sameVisibleMemory compares every region but the stack and the scratch
// slots, which die with the function.
func sameVisibleMemory(a, b *ir.RegionMemory) bool {
	for i, r := range a.Regions {
		if r.Name != "stack" && r.Name != "locals" && !bytes.Equal(r.Data, b.Regions[i].Data) {
			return false
		}
	}
	return true
}

// stackGen makes the functions of the memfwd test.
type stackGen struct {
	r      *rand.Rand
	f      *ir.Func
	b      *ir.Block
	fp     *ir.Value
	vals   []*ir.Value
	outs   int
	budget int
	// escape: the generator may let the stack escape in this function.
	escape bool
	// wide: the function is as the lifter makes it before legalize64:
	// BPF's r10 is r10w, the i64 ZeroExt32to64 of FramePtr (through phis
	// at joins and loop headers), addresses are Int64Lo of r10w plus
	// Const64 offsets, and 64-bit accesses store and load i64 values.
	wide bool
	r10w *ir.Value
	// clean: every access is at a constant offset, stores write whole
	// aligned words (doublewords at -8 and -16 in wide functions), and
	// nothing escapes or is atomic, so that promote takes most slots.
	clean bool
}

// stackSlots are the offsets from FramePtr the generated accesses use:
// mostly a few aligned words, so that accesses meet, and some odd ones.
var stackSlots = []int64{-4, -8, -8, -12, -16, -16, -6, -7, -3, -1, -512, -508, -2}

func genStackFunc(r *rand.Rand, name string) *ir.Func { return genStackFuncOf(r, name, false, false) }

// genStackFuncOf makes stack functions before legalize64 (wide) or after
// it; with mayClean, half of them clean.
func genStackFuncOf(r *rand.Rand, name string, wide, mayClean bool) *ir.Func {
	g := &stackGen{r: r, f: ir.NewFunc(name), budget: 6 + r.IntN(30), escape: r.IntN(3) == 0, wide: wide}
	if mayClean && r.IntN(2) == 0 {
		g.clean, g.escape = true, false
	}
	g.b = g.f.NewBlock(ir.BlockRet)
	for i := range genArgWords {
		a := g.b.NewValue(ir.OpArg, ir.I32)
		a.AuxInt = int64(i)
		g.vals = append(g.vals, a)
	}
	g.fp = g.b.NewValue(ir.OpFramePtr, ir.I32)
	if wide {
		g.r10w = g.b.NewValue(ir.OpZeroExt32to64, ir.I64, g.fp)
	}
	for g.budget > 0 {
		g.region(0)
	}
	for range 1 + r.IntN(3) { // read some slots back at the end
		g.load()
	}
	lo, hi := g.pick(), g.pick()
	lo = g.b.NewValue(ir.OpXor32, ir.I32, lo, g.pick())
	if r.IntN(6) == 0 {
		g.b.Kind = ir.BlockTailCall
		g.b.SetControls(g.konst(0x1234), g.vals[0], g.vals[1], lo)
		return g.f
	}
	g.b.Kind = ir.BlockRet
	g.b.SetControls(lo, hi)
	return g.f
}

func (g *stackGen) konst(c uint32) *ir.Value {
	v := g.b.NewValue(ir.OpConst32, ir.I32)
	v.AuxInt = int64(int32(c))
	return v
}

func (g *stackGen) konst64(c int64) *ir.Value {
	v := g.b.NewValue(ir.OpConst64, ir.I64)
	v.AuxInt = c
	return v
}

// ext is x as an i64 BPF register value.
func (g *stackGen) ext(x *ir.Value) *ir.Value { return g.b.NewValue(ir.OpZeroExt32to64, ir.I64, x) }

// wideSlots are the offsets of the 64-bit accesses of wide functions:
// mostly two aligned slots, sometimes one that straddles them.
var wideSlots = []int64{-8, -16, -8, -16, -12, -24}

func (g *stackGen) pick() *ir.Value {
	n := len(g.vals)
	if g.r.IntN(8) == 0 {
		return g.konst(boundary32[g.r.IntN(len(boundary32))])
	}
	return g.vals[n-1-g.r.IntN(min(n, 5))]
}

func (g *stackGen) push(v *ir.Value) {
	g.vals = append(g.vals, v)
	st := g.b.NewValue(ir.OpStore32, ir.TypeVoid, g.konst(genOutBase), v)
	st.AuxInt, st.Align = int64(4*(g.outs%genOutSlots)), 4
	g.outs++
}

// addr returns an address and an offset that together name FramePtr+off
// for one of the stack slots, in one of the shapes the lifter and the
// passes make: FramePtr with the offset in the access, FramePtr plus a
// constant, or (rarely) FramePtr plus a variable that is 0 at run time
// but unknown to the pass.
func (g *stackGen) addr(size int) (*ir.Value, int64) {
	off := stackSlots[g.r.IntN(len(stackSlots))]
	if size == 8 {
		off = wideSlots[g.r.IntN(len(wideSlots))]
		if g.clean {
			off = -8 * (1 + int64(g.r.IntN(2)))
		}
	}
	if off+int64(size) > 0 {
		off = -int64(size)
	}
	if g.wide {
		return g.addrWide(off)
	}
	k := g.r.IntN(8)
	if g.clean {
		k = g.r.IntN(7)
	}
	switch {
	case k < 5:
		return g.fp, off
	case k < 7:
		d := int64(g.r.IntN(3)*4 - 4)
		return g.b.NewValue(ir.OpAdd32, ir.I32, g.fp, g.konst(uint32(int32(d)))), off - d
	default:
		zero := g.b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(0)) // 0, unless simplified
		return g.b.NewValue(ir.OpAdd32, ir.I32, g.fp, zero), off
	}
}

// addrWide is addr's lifter shape: the Int64Lo of r10w, of r10w plus a
// constant, or (rarely) of r10w plus a variable that is 0 at run time.
func (g *stackGen) addrWide(off int64) (*ir.Value, int64) {
	b := g.b
	k := g.r.IntN(8)
	if g.clean {
		k = g.r.IntN(7)
	}
	switch {
	case k < 4:
		return b.NewValue(ir.OpInt64Lo, ir.I32, g.r10w), off
	case k < 7:
		d := int64(g.r.IntN(3)*8 - 16)
		return b.NewValue(ir.OpInt64Lo, ir.I32, b.NewValue(ir.OpAdd64, ir.I64, g.r10w, g.konst64(d))), off - d
	default:
		zero := g.ext(b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(0)))
		return b.NewValue(ir.OpInt64Lo, ir.I32, b.NewValue(ir.OpAdd64, ir.I64, g.r10w, zero)), off
	}
}

var (
	stackLoads  = []ir.Op{ir.OpLoad8, ir.OpLoad16, ir.OpLoad32, ir.OpLoad32, ir.OpLoadS8, ir.OpLoadS16}
	stackStores = []ir.Op{ir.OpStore8, ir.OpStore16, ir.OpStore32, ir.OpStore32, ir.OpStore32}
)

func (g *stackGen) load() {
	if g.wide && g.r.IntN(2) == 0 {
		a, off := g.addr(8)
		ld := g.b.NewValue(ir.OpLoad64, ir.I64, a)
		ld.AuxInt = off
		g.push(g.b.NewValue(ir.OpInt64Lo, ir.I32, ld))
		g.push(g.b.NewValue(ir.OpInt64Hi, ir.I32, ld))
		return
	}
	op := stackLoads[g.r.IntN(len(stackLoads))]
	a, off := g.addr(op.MemSize())
	ld := g.b.NewValue(op, ir.I32, a)
	ld.AuxInt = off
	g.push(ld)
}

func (g *stackGen) store() {
	if g.wide && g.r.IntN(2) == 0 {
		a, off := g.addr(8)
		x := g.ext(g.pick())
		if g.r.IntN(2) == 0 {
			x = g.b.NewValue(ir.OpInt64Make, ir.I64, g.pick(), g.pick())
		}
		st := g.b.NewValue(ir.OpStore64, ir.TypeVoid, a, x)
		st.AuxInt = off
		return
	}
	op := stackStores[g.r.IntN(len(stackStores))]
	if g.clean {
		op = ir.OpStore32
	}
	a, off := g.addr(op.MemSize())
	if g.clean {
		off &^= 3
	}
	st := g.b.NewValue(op, ir.TypeVoid, a, g.pick())
	st.AuxInt = off
}

// op emits one random operation.
func (g *stackGen) op() {
	g.budget--
	b, r := g.b, g.r
	switch k := r.IntN(20); {
	case k < 6:
		g.store()
	case k < 12:
		g.load()
	case k < 14:
		op := []ir.Op{ir.OpAdd32, ir.OpXor32, ir.OpMul32, ir.OpShrU32}[r.IntN(4)]
		g.push(b.NewValue(op, ir.I32, g.pick(), g.pick()))
	case k == 14: // memory that is not the stack
		if r.IntN(2) == 0 {
			st := b.NewValue(ir.OpStore32, ir.TypeVoid, g.konst(genDataBase), g.pick())
			st.AuxInt = int64(4 * r.IntN(8))
		} else {
			ld := b.NewValue(ir.OpLoad32, ir.I32, g.konst(genDataBase))
			ld.AuxInt = int64(4 * r.IntN(8))
			g.push(ld)
		}
	case k == 15: // a call that does not see the stack (unless it escaped)
		g.call([]string{"poke", "peek"}[r.IntN(2)], g.konst(genDataBase+16), g.pick())
	case k == 16 && g.escape:
		g.escapeStack()
	case k == 17 && g.clean:
		g.store()
	case k == 17 && g.wide && r.IntN(2) == 0: // an atomic on a stack doubleword
		a, off := g.addr(8)
		at := b.NewValue(ir.OpAtomicAdd64, ir.I64, a, g.ext(g.pick()))
		at.AuxInt = off &^ 7
		g.push(b.NewValue(ir.OpInt64Lo, ir.I32, at))
	case k == 17: // an atomic on a stack word
		a, off := g.addr(4)
		at := b.NewValue(ir.OpAtomicAdd32, ir.I32, a, g.pick())
		at.AuxInt = off &^ 3
		g.push(at)
	case k == 18:
		g.knownCall()
	default:
		g.store()
		g.load()
	}
}

// escapeStack lets a stack address out in one of three ways.
func (g *stackGen) escapeStack() {
	b, r := g.b, g.r
	if g.wide && r.IntN(3) == 0 { // BPF's r2 = r10; r2 += off, passed as it is
		o := stackSlots[r.IntN(len(stackSlots))] &^ 3
		c := b.NewValue(ir.OpCall, ir.I64, b.NewValue(ir.OpAdd64, ir.I64, g.r10w, g.konst64(o)), g.ext(g.pick()))
		c.Sym = "poke"
		g.push(b.NewValue(ir.OpInt64Lo, ir.I32, c))
		return
	}
	p, off := g.addr(4)
	addr := b.NewValue(ir.OpAdd32, ir.I32, p, g.konst(uint32(int32(off&^3))))
	switch r.IntN(3) {
	case 0: // a helper writes through it
		g.call("poke", addr, g.pick())
	case 1: // stored to memory, loaded back, written through
		st := b.NewValue(ir.OpStore32, ir.TypeVoid, g.konst(genDataBase), addr)
		st.AuxInt = 64
		back := b.NewValue(ir.OpLoad32, ir.I32, g.konst(genDataBase))
		back.AuxInt = 64
		w := b.NewValue(ir.OpStore32, ir.TypeVoid, back, g.pick())
		w.AuxInt = 0
	default: // a 64-bit atomic (in libatomic after legalize64)
		if g.wide {
			at := b.NewValue(ir.OpAtomicAdd64, ir.I64, addr, g.ext(g.pick()))
			g.push(b.NewValue(ir.OpInt64Lo, ir.I32, at))
			return
		}
		c := b.NewValue(ir.OpCallRuntime, ir.Pair, addr, g.pick(), g.pick(), g.konst(ir.MemOrderSeqCst))
		c.Sym = "__atomic_fetch_add_8"
		g.push(b.NewValue(ir.OpPairLo, ir.I32, c))
	}
}

// helperEffects are the memory effects of runStackFunc's helpers, by
// name: what a call of each may be given (the effect of the kernel
// helpers' classes: none, reads through its pointer, writes, both).
var helperEffects = map[string]ir.CallEffect{
	"tick": ir.KnownEffect(0, 0),
	"peek": ir.KnownEffect(1, 0),
	"sum":  ir.KnownEffect(1, 0),
	"fill": ir.KnownEffect(0, 1),
	"poke": ir.KnownEffect(1, 1),
}

var knownHelpers = []string{"tick", "peek", "sum", "fill", "poke"}

// knownCall passes a stack address to a helper with a known memory effect,
// which is no escape.
func (g *stackGen) knownCall() {
	sym := knownHelpers[g.r.IntN(len(knownHelpers))]
	p, off := g.addr(4)
	addr := g.b.NewValue(ir.OpAdd32, ir.I32, p, g.konst(uint32(int32(off&^3))))
	g.call(sym, addr, g.pick()).SetCallEffect(helperEffects[sym])
}

// call emits a call of a runtime helper with an address and a value, in
// the form of the function's stage, and pushes its result; the call has
// the unknown memory effect.
func (g *stackGen) call(sym string, addr, x *ir.Value) *ir.Value {
	b := g.b
	if g.wide {
		c := b.NewValue(ir.OpCall, ir.I64, g.ext(addr), g.ext(x))
		c.Sym = sym
		g.push(b.NewValue(ir.OpInt64Lo, ir.I32, c))
		return c
	}
	c := b.NewValue(ir.OpCall, ir.Pair, addr, g.konst(0), x, g.konst(0))
	c.Sym = sym
	g.push(b.NewValue(ir.OpPairLo, ir.I32, c))
	return c
}

func (g *stackGen) region(depth int) {
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

// diamond: both arms may store; the join sees what both left.
func (g *stackGen) diamond(depth int) {
	g.budget--
	top := g.b
	top.Kind = ir.BlockIf
	top.SetControls(g.b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(1)))
	then, els, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	top.AddEdgeTo(then)
	top.AddEdgeTo(els)
	n := len(g.vals)
	r10w := g.r10w
	var ends, addrs, r10s [2]*ir.Value
	for i, start := range []*ir.Block{then, els} {
		g.b, g.r10w = start, r10w
		if g.r.IntN(3) > 0 {
			g.region(depth + 1)
		}
		ends[i] = g.pick()
		// Each arm's own slot, for an access through a phi of addresses.
		off := stackSlots[g.r.IntN(len(stackSlots))] &^ 3
		if g.wide {
			addrs[i] = g.b.NewValue(ir.OpAdd64, ir.I64, g.r10w, g.konst64(off))
		} else {
			addrs[i] = g.b.NewValue(ir.OpAdd32, ir.I32, g.fp, g.konst(uint32(int32(off))))
		}
		r10s[i] = g.r10w
		g.b.AddEdgeTo(join)
		g.vals = g.vals[:n]
	}
	g.b = join
	g.vals = append(g.vals, join.NewValue(ir.OpPhi, ir.I32, ends[0], ends[1]))
	// The lifter's r10 at a join: a phi, trivial or of phis from the arms.
	g.r10w = r10w
	if g.wide && (r10s[0] != r10s[1] || g.r.IntN(2) == 0) {
		g.r10w = join.NewValue(ir.OpPhi, ir.I64, r10s[0], r10s[1])
	}
	if !g.clean && g.r.IntN(2) == 0 {
		p := join.NewValue(ir.OpPhi, addrs[0].Type, addrs[0], addrs[1])
		if g.wide {
			p = join.NewValue(ir.OpInt64Lo, ir.I32, p)
		}
		if g.r.IntN(2) == 0 {
			join.NewValue(ir.OpStore32, ir.TypeVoid, p, g.pick())
		} else {
			g.push(join.NewValue(ir.OpLoad32, ir.I32, p))
		}
	}
}

// loop runs its body 1..3 times.
func (g *stackGen) loop(depth int) {
	g.budget--
	pre := g.b
	bound := g.konst(uint32(1 + g.r.IntN(3)))
	zero, one := g.konst(0), g.konst(1)
	pre.Kind = ir.BlockJump
	header := g.f.NewBlock(ir.BlockJump)
	pre.AddEdgeTo(header)
	g.b = header
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	var r10h *ir.Value
	if g.wide { // the lifter's r10 at a loop header
		r10h = header.NewValue(ir.OpPhi, ir.I64, g.r10w)
		g.r10w = r10h
	}
	n := len(g.vals)
	g.vals = append(g.vals, cnt)
	g.region(depth + 1)
	latch := g.b
	if r10h != nil {
		r10h.AddArg(g.r10w)
	}
	next := latch.NewValue(ir.OpAdd32, ir.I32, cnt, one)
	latch.Kind = ir.BlockIf
	latch.SetControls(latch.NewValue(ir.OpLtU32, ir.I32, next, bound))
	exit := g.f.NewBlock(ir.BlockJump)
	latch.AddEdgeTo(header)
	latch.AddEdgeTo(exit)
	cnt.AddArg(next)
	g.vals = append(g.vals[:n], cnt)
	g.b = exit
}
