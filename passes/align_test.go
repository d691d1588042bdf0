package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

func TestAlignDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 61, funcs: 40, runs: 2, sources: []diffSource{srcShapes, srcI32, srcLegalized},
		variants: []diffVariant{passList("align"), passList("simplify", "deadcode", "align")},
		fired:    []string{"align: alignments raised"}})
}

// alignProbeBase is a one-byte region. instrumentAlign makes every access
// that claims alignment a > 1 first read the byte at alignProbeBase +
// ((address + offset) & (a - 1)), which faults unless the claim holds.
const alignProbeBase = 0x50000

// instrumentAlign adds the probes and returns how many it added.
func instrumentAlign(f *ir.Func) int {
	n := 0
	for _, b := range f.Blocks {
		orig := b.Values
		b.Values = nil
		for _, v := range orig {
			if (v.Op.IsLoad() || v.Op.IsStore() || v.Op.IsAtomic()) && v.Align > 1 {
				konst := func(c int64) *ir.Value {
					k := b.NewValue(ir.OpConst32, ir.I32)
					k.AuxInt = int64(int32(c))
					return k
				}
				ea := b.NewValue(ir.OpAdd32, ir.I32, v.Args[0], konst(v.AuxInt))
				low := b.NewValue(ir.OpAnd32, ir.I32, ea, konst(int64(v.Align)-1))
				b.NewValue(ir.OpLoad8, ir.I32, b.NewValue(ir.OpAdd32, ir.I32, konst(alignProbeBase), low))
				n++
			}
			b.Values = append(b.Values, v)
		}
	}
	return n
}

func probeMemory(seed uint64, bigEndian bool) *ir.RegionMemory {
	m := genMemory(seed, bigEndian)
	m.Regions = append(m.Regions, &ir.Region{Base: alignProbeBase, Data: make([]byte, 1), Name: "align probe"})
	return m
}

// memAligns maps the ID of every memory access to its Align.
func memAligns(f *ir.Func) map[int]uint8 {
	m := map[int]uint8{}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op.IsLoad() || v.Op.IsStore() || v.Op.IsAtomic() {
				m[v.ID] = v.Align
			}
		}
	}
	return m
}

// Every alignment align claims holds on every run: the probes of the
// instrumented function never fault. No Align goes down, and the random
// functions have accesses the pass must leave unaligned.
func TestAlignClaimsHold(t *testing.T) {
	r := rand.New(rand.NewPCG(62, 1))
	funcs := 300
	if testing.Short() {
		funcs = 60
	}
	probes, raised, unaligned := 0, 0, 0
	for _, src := range []diffSource{srcShapes, srcI32} {
		for i := range funcs {
			f := src.gen(r, fmt.Sprintf("%s%d", src.kind, i))
			before := memAligns(f)
			_, err := Run(f, 0, &Config{Passes: []string{"simplify", "align"}, VerifyEach: true})
			require.NoError(t, err)
			for id, a := range memAligns(f) {
				require.GreaterOrEqual(t, a, before[id], "align lowered v%d in\n%s", id, f)
				if a > before[id] {
					raised++
				}
				if a <= 1 {
					unaligned++
				}
			}
			text := f.String()
			probes += instrumentAlign(f)
			for range 4 {
				args, seed := src.args(r), r.Uint64()
				_, err := ir.Interpret(f, genInterp(args, probeMemory(seed, false)))
				require.NoError(t, err, "an alignment claim fails on args %#x in\n%s", args, text)
			}
		}
	}
	t.Logf("%d accesses probed, %d of them raised; %d left unaligned", probes, raised, unaligned)
	require.Positive(t, raised)
	require.Positive(t, unaligned)
}

// The probes catch a false claim: an access at FramePtr-3 claimed 4-aligned.
func TestAlignProbeCatchesFalseClaim(t *testing.T) {
	f, err := ir.Parse(`func bad {
b0:
    v0:i32 = FramePtr
    v1:i32 = Load32 [-3] v0 align=4
    v2:i32 = Const32 [0]
    Ret v1, v2
}`)
	require.NoError(t, err)
	require.Equal(t, 1, instrumentAlign(f))
	_, err = ir.Interpret(f, genInterp(make([]uint32, genArgWords), probeMemory(1, false)))
	require.Error(t, err)
}

// An Arg's align= is a promise the pass builds on: for random accesses at
// Arg+c+off (Arg align=A), every alignment claimed holds for every base
// that keeps the promise, and the claim is the largest power of two up
// to A that divides c+off (none without a promise).
func TestAlignArgClaimsHold(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 1))
	ops := []ir.Op{ir.OpLoad8, ir.OpLoad16, ir.OpLoad32}
	for i := range 500 {
		argAlign := []int{0, 2, 4, 8}[r.IntN(4)]
		c, off := r.IntN(16), r.IntN(16)
		op := ops[r.IntN(len(ops))]
		alignField := ""
		if argAlign > 0 {
			alignField = fmt.Sprintf(" align=%d", argAlign)
		}
		src := fmt.Sprintf("func f%d {\nb0:\n    v0:i32 = Arg [0]%s\n    v1:i32 = Const32 [%d]\n    v2:i32 = Add32 v0, v1\n    v3:i32 = %v [%d] v2\n    Ret v3, v3\n}\n",
			i, alignField, c, op, off)
		f, err := ir.Parse(src)
		require.NoError(t, err)
		_, err = Run(f, 0, &Config{Passes: []string{"align"}, VerifyEach: true})
		require.NoError(t, err)
		claim := int(f.Blocks[0].Values[3].Align)
		ea := c + off
		if argAlign > 1 {
			for k := range 4 {
				base := k * argAlign
				if claim > 1 {
					require.Zero(t, (base+ea)%claim, "claimed %d for base %d in\n%s", claim, base, src)
				}
			}
		}
		// Conversely the claim is as strong as the promise allows.
		want := 1
		for a := 2; a <= argAlign; a *= 2 {
			if ea%a == 0 {
				want = a
			}
		}
		require.Equal(t, want, max(claim, 1), "in\n%s", src)
	}
}
