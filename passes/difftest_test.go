package passes

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// The differential harness every pass uses: random functions from a
// generator (randfunc_test.go, simplify_gen_test.go) are brought to the
// stage the pass expects (setup passes, e.g. legalize64), then copied and
// run through each pass list under test with the verifier after every
// pass; the function before and each result are interpreted on the same
// boundary-heavy inputs, and results and memory must agree (every value
// the generators make is stored to the "out" region, so a wrong value
// shows in memory even when the result hides it).

// diffSource makes random functions and inputs for them.
type diffSource struct {
	kind  string
	setup []string // passes run before the "before" snapshot
	gen   func(r *rand.Rand, name string) *ir.Func
	args  func(r *rand.Rand) []uint32
}

// The generators, at the stages passes see.
var (
	srcI32 = diffSource{kind: "i32",
		gen: func(r *rand.Rand, name string) *ir.Func { return genFunc32(r, name, 4+r.IntN(50)) }, args: genArgs32}
	srcI64 = diffSource{kind: "i64",
		gen: func(r *rand.Rand, name string) *ir.Func { return genFunc(r, name, 4+r.IntN(40)) }, args: genArgs}
	srcLegalized = diffSource{kind: "legalized", setup: []string{"legalize64"}, gen: srcI64.gen, args: genArgs}
)

// diffVariant is one pass list under test: the level's passes when passes
// is nil.
type diffVariant struct {
	name   string
	level  int
	passes []string
}

func passList(passes ...string) diffVariant {
	return diffVariant{name: strings.Join(passes, ","), passes: passes}
}

// diffSpec is one differential test.
type diffSpec struct {
	seed     uint64
	funcs    int // per source and shard (a fifth of it under -short)
	runs     int // inputs per function
	sources  []diffSource
	variants []diffVariant
	// fired lists "pass: counter" statistics that must be positive, summed
	// over all the functions, so that the rewrites under test did run.
	fired []string
}

const diffShards = 4 // run in parallel, each with its own seed

// runDifferential runs spec and logs, per source, shard and variant, the
// compared runs and the values before and after.
func runDifferential(t *testing.T, spec diffSpec) {
	funcs := spec.funcs
	if testing.Short() {
		funcs = max(funcs/5, 1)
	}
	var mu sync.Mutex
	total := Stats{}
	t.Run("all", func(t *testing.T) { // returns when the parallel shards are done
		for _, src := range spec.sources {
			for shard := range diffShards {
				t.Run(fmt.Sprintf("%s/shard%d", src.kind, shard), func(t *testing.T) {
					t.Parallel()
					r := rand.New(rand.NewPCG(spec.seed, uint64(shard)))
					runs, before := 0, 0
					after := make([]int, len(spec.variants))
					stats := Stats{}
					for i := range funcs {
						name := fmt.Sprintf("%s%d_%d", src.kind, shard, i)
						n, b, a := diffOne(t, r, src, spec, name, i%2 == 1, stats)
						runs, before = runs+n, before+b
						for k := range after {
							after[k] += a[k]
						}
					}
					var counts []string
					for k, v := range spec.variants {
						counts = append(counts, fmt.Sprintf("%s: %d", v.name, after[k]))
					}
					t.Logf("%d functions, %d compared runs; %d values before, after %s", funcs, runs, before, strings.Join(counts, "; "))
					mu.Lock()
					defer mu.Unlock()
					for k, n := range stats {
						total[k] += n
					}
				})
			}
		}
	})
	if t.Failed() {
		return
	}
	for _, key := range spec.fired {
		if total[key] == 0 {
			t.Errorf("no %q in the random functions: the generators do not exercise it (counted: %v)", key, total)
		}
	}
}

// diffOne checks one random function; it returns the compared runs and
// the values before and after each variant, and adds the passes'
// statistics to stats ("pass: counter").
func diffOne(t *testing.T, r *rand.Rand, src diffSource, spec diffSpec, name string, bigEndian bool, stats Stats) (runs, before int, after []int) {
	orig := src.gen(r, name)
	require.NoError(t, ir.Verify(orig, ir.VerifyOptions{}), "the generator made invalid IR")
	if len(src.setup) > 0 {
		_, err := Run(orig, 0, &Config{Passes: src.setup, VerifyEach: true, BigEndian: bigEndian})
		require.NoError(t, err, "setup %s on\n%s", src.setup, orig)
	}
	text := orig.String()
	compiled := make([]*ir.Func, len(spec.variants))
	after = make([]int, len(spec.variants))
	for k, v := range spec.variants {
		f, err := ir.Parse(text)
		require.NoError(t, err)
		rep, err := Run(f, v.level, &Config{Passes: v.passes, VerifyEach: true, BigEndian: bigEndian})
		require.NoError(t, err, "%s on\n%s", v.name, text)
		compiled[k], after[k] = f, countValues(f)
		for _, p := range rep.Passes {
			for key, n := range p.Stats {
				stats[p.Pass+": "+key] += n
			}
		}
	}
	for range spec.runs {
		args := src.args(r)
		seed := r.Uint64()
		wantMem := genMemory(seed, bigEndian)
		want, err := ir.Interpret(orig, genInterp(args, wantMem))
		require.NoError(t, err, "before\n%s", text)
		for k, f := range compiled {
			mem := genMemory(seed, bigEndian)
			got, err := ir.Interpret(f, genInterp(args, mem))
			require.NoError(t, err, "after %s\n%s", spec.variants[k].name, f)
			if got != want || !sameMemory(wantMem, mem) {
				t.Fatalf("%s (bigEndian=%v) changed the behaviour of %s on args %#x: result %#x, want %#x; %s\n"+
					"--- before:\n%s--- after:\n%s", spec.variants[k].name, bigEndian, name, args, got, want,
					memoryDiff(wantMem, mem), text, f)
			}
			runs++
		}
	}
	return runs, countValues(orig), after
}

func genInterp(args []uint32, mem *ir.RegionMemory) ir.InterpConfig {
	return ir.InterpConfig{Args: args, Mem: mem, FramePtr: genFramePtr, LocalBase: genLocalBase, MaxSteps: 1 << 20}
}

// sameMemory compares every region but the compiler's scratch slots.
func sameMemory(a, b *ir.RegionMemory) bool {
	for i, r := range a.Regions {
		if r.Name != "locals" && !bytes.Equal(r.Data, b.Regions[i].Data) {
			return false
		}
	}
	return true
}

func memoryDiff(want, got *ir.RegionMemory) string {
	for i, r := range want.Regions {
		if r.Name == "locals" {
			continue
		}
		for j := range r.Data {
			if r.Data[j] != got.Regions[i].Data[j] {
				return fmt.Sprintf("first memory difference in %s at %#x: %#02x, want %#02x", r.Name, r.Base+uint32(j), got.Regions[i].Data[j], r.Data[j])
			}
		}
	}
	return "memory agrees"
}

// srcShapes makes i32 functions (gen32) rich in the shapes the loop, branch
// and alignment passes transform, which the other generators make only by
// chance: loops whose bodies compute values from outside the loop (wide
// constants, chains, divisions in conditional blocks, stack addresses),
// nested, and entered from several blocks or over a critical edge;
// diamonds and triangles of a few cheap values joined by phis, nested and
// sometimes holding what must not be speculated (loads, divisions);
// pointers that walk the stack through phis, clang-style spills to
// FramePtr-8 inside loops, and masked data addresses, at aligned and
// unaligned offsets.
var srcShapes = diffSource{kind: "shapes",
	gen: func(r *rand.Rand, name string) *ir.Func { return genShapes(r, name, 4+r.IntN(40)) }, args: genArgs32}

func genShapes(r *rand.Rand, name string, size int) *ir.Func {
	g := newGen32(r, name, size)
	for range 2 {
		g.load()
	}
	for g.budget > 0 {
		g.shape(0)
	}
	lo := g.pick()
	for range 3 {
		lo = g.b.NewValue(ir.OpXor32, ir.I32, lo, g.pick())
	}
	g.b.Kind = ir.BlockRet
	g.b.SetControls(lo, g.pick())
	return g.f
}

// shape emits one of the shapes above, or one of gen32's regions.
func (g *gen32) shape(depth int) {
	switch k := g.r.IntN(11); {
	case depth < 3 && k < 2:
		g.invariantLoop(depth)
	case depth < 3 && k < 4:
		g.selectDiamond(depth)
	case k == 4:
		g.stackWalk()
	case k == 5:
		g.stackSpill()
	case k == 6:
		g.maskedAccess()
	case k == 7:
		g.guardedLoad()
	default:
		g.region(min(depth, 2))
	}
}

// guardedLoad: a load through a pointer that is null on some inputs,
// behind a test of the pointer (a triangle): speculating the load would
// fault.
func (g *gen32) guardedLoad() {
	g.budget--
	b := g.b
	p := b.NewValue(ir.OpSelect32, ir.I32, g.pick(), g.konst(genDataBase), g.konst(0))
	b.Kind = ir.BlockIf
	b.SetControls(b.NewValue(ir.OpNe32, ir.I32, p, g.konst(0)))
	arm, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
	b.AddEdgeTo(arm)
	b.AddEdgeTo(join)
	other := g.pick() // join.Preds is b, arm
	ld := arm.NewValue(ir.OpLoad8, ir.I32, p)
	ld.AuxInt = int64(g.r.IntN(genDataSize))
	arm.AddEdgeTo(join)
	g.b = join
	g.push(join.NewValue(ir.OpPhi, ir.I32, other, ld))
}

// cheapOp emits one cheap pure op (what ifconv may speculate) and
// returns it.
func (g *gen32) cheapOp() *ir.Value {
	b, r := g.b, g.r
	switch r.IntN(8) {
	case 0:
		return g.konst(uint32(r.IntN(2)))
	case 1:
		return g.konst(r.Uint32() | 0x10000) // needs lui and ori
	case 2:
		return b.NewValue(ir.OpShl32, ir.I32, g.pick(), g.konst(uint32(r.IntN(8))))
	case 3:
		return b.NewValue(genBinary32[14+r.IntN(6)], ir.I32, g.pick(), g.pick()) // a compare
	}
	op := []ir.Op{ir.OpAdd32, ir.OpSub32, ir.OpXor32, ir.OpAnd32, ir.OpOr32}[r.IntN(5)]
	return b.NewValue(op, ir.I32, g.pick(), g.pick())
}

// condition is an If control: a compare, a test against 0, or any value.
func (g *gen32) condition() *ir.Value {
	b, r := g.b, g.r
	switch r.IntN(4) {
	case 0:
		return b.NewValue([]ir.Op{ir.OpEq32, ir.OpNe32}[r.IntN(2)], ir.I32, g.pick(), g.konst(0))
	case 1:
		return g.pick()
	}
	return b.NewValue(genBinary32[14+r.IntN(6)], ir.I32, g.pick(), g.pick())
}

// selectDiamond: If c -> arm0, arm1 (a diamond) or If c -> arm, join (a
// triangle, either side), arms of up to four cheap ops (sometimes a load
// or a division, sometimes another diamond), joined by one to four phis
// of arm values, values from before, and the constants 0 and 1.
func (g *gen32) selectDiamond(depth int) {
	g.budget--
	top, r := g.b, g.r
	top.Kind = ir.BlockIf
	top.SetControls(g.condition())
	join := g.f.NewBlock(ir.BlockJump)
	n := len(g.vals)
	nphis := 1 + r.IntN(4)
	// side builds the arm (or nothing, for a triangle's direct edge) and
	// returns the phi arguments for its edge.
	side := func(arm bool) []*ir.Value {
		g.b = top
		if arm {
			g.b = g.f.NewBlock(ir.BlockJump)
			top.AddEdgeTo(g.b)
			if depth < 2 && r.IntN(5) == 0 {
				g.selectDiamond(depth + 1)
			}
			for range r.IntN(5) {
				switch r.IntN(12) {
				case 0:
					g.load()
				case 1:
					g.push(g.b.NewValue(ir.OpDivU32, ir.I32, g.pick(), g.pick()))
				default:
					g.vals = append(g.vals, g.cheapOp())
				}
			}
		}
		args := make([]*ir.Value, nphis)
		for i := range args {
			switch r.IntN(4) {
			case 0:
				args[i] = g.konst(uint32(r.IntN(2)))
			case 1:
				args[i] = g.vals[r.IntN(n)] // from before the branch
			default:
				args[i] = g.pick()
			}
		}
		if arm {
			g.b.AddEdgeTo(join)
		} else {
			top.AddEdgeTo(join)
		}
		g.vals = g.vals[:n]
		return args
	}
	var a0, a1 []*ir.Value
	switch r.IntN(3) {
	case 0: // triangle, the arm taken when c != 0
		a0 = side(true)
		a1 = side(false)
	case 1: // triangle, the arm taken when c == 0
		a0 = side(false)
		a1 = side(true)
	default:
		a0 = side(true)
		a1 = side(true)
	}
	g.b = join
	phis := make([]*ir.Value, nphis)
	for i := range phis {
		phis[i] = join.NewValue(ir.OpPhi, ir.I32, a0[i], a1[i])
	}
	for _, p := range phis {
		g.push(p)
	}
}

// invariantLoop: a counted loop (1..4 iterations) whose body mixes values
// computed from outside the loop only — constants, wide constants,
// chains of them, a FramePtr offset, a division in a conditional block —
// with values that change (from the counter and an accumulator); the
// header is entered from one block, from two (the header's phis then
// take different initial values), or over a critical edge. Bodies may
// hold inner loops and diamonds.
func (g *gen32) invariantLoop(depth int) {
	g.budget--
	r := g.r
	outside := len(g.vals) // g.vals[:outside] are defined before the loop
	bound := g.konst(uint32(1 + r.IntN(4)))
	zero, one := g.konst(0), g.konst(1)
	init := []*ir.Value{g.pick(), g.pick()}
	header := g.f.NewBlock(ir.BlockJump)
	pre := g.b
	var skip *ir.Block // the critical edge's target, when pre may skip the loop
	switch r.IntN(3) {
	case 0:
		pre.Kind = ir.BlockJump
		pre.AddEdgeTo(header)
	case 1: // two outside predecessors
		pre.Kind = ir.BlockIf
		pre.SetControls(g.condition())
		for k := range 2 {
			e := g.f.NewBlock(ir.BlockJump)
			pre.AddEdgeTo(e)
			g.b = e
			if k == 1 {
				init[1] = g.cheapOp() // defined on this edge only
			}
			e.AddEdgeTo(header)
		}
	default: // pre -> header, skip: a critical edge into the header
		pre.Kind = ir.BlockIf
		pre.SetControls(g.condition())
		pre.AddEdgeTo(header)
		skip = g.f.NewBlock(ir.BlockJump)
		pre.AddEdgeTo(skip)
	}
	g.b = header
	cnt := header.NewValue(ir.OpPhi, ir.I32)
	acc := header.NewValue(ir.OpPhi, ir.I32)
	for j := range header.Preds {
		cnt.AddArg(zero)
		if len(header.Preds) == 1 {
			j = 1
		}
		acc.AddArg(init[j])
	}
	invariant := func() *ir.Value {
		x := g.vals[r.IntN(outside)]
		switch r.IntN(5) {
		case 0:
			return g.b.NewValue(ir.OpAdd32, ir.I32, x, g.konst(r.Uint32()|0x10000))
		case 1:
			return g.b.NewValue(ir.OpAdd32, ir.I32, g.b.NewValue(ir.OpFramePtr, ir.I32), g.konst(uint32(-8*(1+r.IntN(8)))))
		case 2:
			return g.b.NewValue(ir.OpMul32, ir.I32, x, g.vals[r.IntN(outside)])
		case 3:
			return g.konst(r.Uint32())
		}
		return g.b.NewValue(ir.OpXor32, ir.I32, g.b.NewValue(ir.OpShrU32, ir.I32, x, g.konst(3)), g.vals[r.IntN(outside)])
	}
	n := len(g.vals)
	g.vals = append(g.vals, cnt, acc)
	for range 1 + r.IntN(3) {
		switch k := r.IntN(8); {
		case k < 4:
			g.push(invariant())
		case k == 4 && depth < 2:
			g.invariantLoop(depth + 1)
		case k == 5:
			g.selectDiamond(depth + 1)
		case k == 6: // a division by an invariant divisor, only when cnt is odd
			c := g.b.NewValue(ir.OpAnd32, ir.I32, cnt, one)
			top := g.b
			top.Kind = ir.BlockIf
			top.SetControls(c)
			odd, join := g.f.NewBlock(ir.BlockJump), g.f.NewBlock(ir.BlockJump)
			top.AddEdgeTo(odd)
			top.AddEdgeTo(join)
			g.b = odd
			q := odd.NewValue(ir.OpDivU32, ir.I32, g.vals[r.IntN(outside)], g.vals[r.IntN(outside)])
			odd.AddEdgeTo(join)
			g.b = join
			g.push(join.NewValue(ir.OpPhi, ir.I32, zero, q))
		default:
			g.push(g.cheapOp())
		}
	}
	op := []ir.Op{ir.OpAdd32, ir.OpXor32, ir.OpMul32}[r.IntN(3)]
	next := g.push(g.b.NewValue(op, ir.I32, acc, g.pick()))
	exit := g.closeLoop(header, cnt, one, bound)
	acc.AddArg(next)
	g.vals = g.vals[:n]
	g.b = exit
	if skip == nil {
		g.vals = append(g.vals, acc, next)
		return
	}
	// exit and skip meet; only values from before the loop reach the join.
	join := g.f.NewBlock(ir.BlockJump)
	exit.AddEdgeTo(join)
	skip.AddEdgeTo(join)
	g.b = join
	g.push(join.NewValue(ir.OpPhi, ir.I32, next, init[1]))
}

// stackOps are the accesses stackWalk and maskedAccess make.
var stackOps = []ir.Op{ir.OpLoad8, ir.OpLoad16, ir.OpLoad32, ir.OpLoadS16, ir.OpStore8, ir.OpStore16, ir.OpStore32, ir.OpAtomicAdd32}

// access emits op at [addr+off] (a store or an atomic of a picked value)
// and keeps a loaded value.
func (g *gen32) access(op ir.Op, addr *ir.Value, off int) {
	var v *ir.Value
	switch {
	case op.IsStore():
		v = g.b.NewValue(op, ir.TypeVoid, addr, g.pick())
	case op.IsAtomic():
		v = g.b.NewValue(op, ir.I32, addr, g.pick())
	default:
		v = g.b.NewValue(op, ir.I32, addr)
	}
	v.AuxInt = int64(off)
	if v.Type == ir.I32 {
		g.push(v)
	}
}

// stackWalk: a pointer that walks the stack through a loop phi, from
// FramePtr-128 or an unaligned FramePtr-125, by 1, 2, 4, 8 or 16, with
// accesses at offsets aligned or not (atomics only where aligned, as BPF
// requires); at most 4 iterations, so every access stays in the 512-byte
// stack.
func (g *gen32) stackWalk() {
	g.budget--
	r := g.r
	start := []uint32{-128 & 0xffffffff, -120 & 0xffffffff, -125 & 0xffffffff}[r.IntN(3)]
	step := []uint32{1, 2, 4, 8, 16}[r.IntN(5)]
	p0 := g.b.NewValue(ir.OpAdd32, ir.I32, g.b.NewValue(ir.OpFramePtr, ir.I32), g.konst(start))
	zero, one, bound := g.konst(0), g.konst(1), g.konst(uint32(1+r.IntN(4)))
	header := g.f.NewBlock(ir.BlockJump)
	g.b.Kind = ir.BlockJump
	g.b.AddEdgeTo(header)
	g.b = header
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	p := header.NewValue(ir.OpPhi, ir.I32, p0)
	for range 1 + r.IntN(3) {
		op := stackOps[r.IntN(len(stackOps))]
		off := []int{0, 4, 8, 1, 2, -8}[r.IntN(6)]
		if op.IsAtomic() && (start%8 != 0 || step < 4 || off%4 != 0) {
			op = ir.OpStore32
		}
		g.access(op, p, off)
	}
	next := header.NewValue(ir.OpAdd32, ir.I32, p, g.konst(step))
	g.b = g.closeLoop(header, cnt, one, bound)
	p.AddArg(next)
}

// closeLoop ends the current block, the loop's latch, with "If cnt + 1 <
// bound -> header, exit", gives the counter phi cnt its back-edge
// argument and returns exit (the header's other phis get theirs after).
func (g *gen32) closeLoop(header *ir.Block, cnt, one, bound *ir.Value) *ir.Block {
	latch := g.b
	inc := latch.NewValue(ir.OpAdd32, ir.I32, cnt, one)
	latch.Kind = ir.BlockIf
	latch.SetControls(latch.NewValue(ir.OpLtU32, ir.I32, inc, bound))
	exit := g.f.NewBlock(ir.BlockJump)
	latch.AddEdgeTo(header)
	latch.AddEdgeTo(exit)
	cnt.AddArg(inc)
	return exit
}

// stackSpill: clang's spill shape — a value stored to FramePtr-8k before
// a loop, loaded, changed and stored back in the body, loaded after it.
func (g *gen32) stackSpill() {
	g.budget--
	r := g.r
	fp := g.b.NewValue(ir.OpFramePtr, ir.I32)
	off := -8 * (1 + r.IntN(8))
	st := g.b.NewValue(ir.OpStore32, ir.TypeVoid, fp, g.pick())
	st.AuxInt = int64(off)
	zero, one, bound := g.konst(0), g.konst(1), g.konst(uint32(1+r.IntN(4)))
	header := g.f.NewBlock(ir.BlockJump)
	g.b.Kind = ir.BlockJump
	g.b.AddEdgeTo(header)
	g.b = header
	cnt := header.NewValue(ir.OpPhi, ir.I32, zero)
	ld := header.NewValue(ir.OpLoad32, ir.I32, fp)
	ld.AuxInt = int64(off)
	sum := header.NewValue(ir.OpAdd32, ir.I32, ld, cnt)
	st = header.NewValue(ir.OpStore32, ir.TypeVoid, fp, sum)
	st.AuxInt = int64(off)
	exit := g.closeLoop(header, cnt, one, bound)
	g.b = exit
	back := exit.NewValue(ir.OpLoad32, ir.I32, fp)
	back.AuxInt = int64(off)
	g.push(back)
}

// maskedAccess: data + (x & 0xf8) or data + ((x & 31) << 3), accessed at
// offset 0..3: aligned to 8, 4, 2 or not at all depending on the offset.
func (g *gen32) maskedAccess() {
	g.budget--
	r := g.r
	idx := g.b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(0xf8))
	if r.IntN(2) == 0 {
		idx = g.b.NewValue(ir.OpShl32, ir.I32, g.b.NewValue(ir.OpAnd32, ir.I32, g.pick(), g.konst(31)), g.konst(3))
	}
	addr := g.b.NewValue(ir.OpAdd32, ir.I32, g.konst(genDataBase), idx)
	op := stackOps[r.IntN(len(stackOps)-1)] // no atomics: the offset may be unaligned
	g.access(op, addr, r.IntN(4))
}
