package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// simplify and known bits against the interpreter on random functions:
//
//   - TestSimplifyDifferential: random i32 functions (simplify_gen_test.go)
//     through simplify, deadcode, and random 64-bit functions
//     (randfunc_test.go) through legalize64, simplify, deadcode (and
//     through simplify, deadcode alone), with the verifier after every
//     pass; results and memory must not change.
//   - TestKnownBitsSound: every value a traced run (knownbits_trace_test.go)
//     computes must match the facts the analysis gave it, and every block
//     that runs must be one the analysis found executable.

type simplifyCase struct {
	kind   string
	passes []string
	gen    func(r *rand.Rand, name string) *ir.Func
	args   func(r *rand.Rand) []uint32
}

var simplifyCases = []simplifyCase{
	{"i32", []string{"simplify", "deadcode"},
		func(r *rand.Rand, name string) *ir.Func { return genFunc32(r, name, 4+r.IntN(50)) }, genArgs32},
	{"i64", []string{"legalize64", "simplify", "deadcode"},
		func(r *rand.Rand, name string) *ir.Func { return genFunc(r, name, 4+r.IntN(40)) }, genArgs},
	// Before legalize64 simplify sees only the i32 values (and Int64Hi/Lo).
	{"i64-whole", []string{"simplify", "deadcode"},
		func(r *rand.Rand, name string) *ir.Func { return genFunc(r, name, 4+r.IntN(40)) }, genArgs},
}

func TestSimplifyDifferential(t *testing.T) {
	const shards = 4 // per kind: 3 kinds x 4 shards x 500 functions x 8 runs
	funcs := 500
	if testing.Short() {
		funcs = 100
	}
	for _, sc := range simplifyCases {
		for shard := range shards {
			t.Run(fmt.Sprintf("%s/shard%d", sc.kind, shard), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(77, uint64(shard)))
				runs, before, after := 0, 0, 0
				for i := range funcs {
					n, b, a := simplifyDiffOne(t, r, sc, fmt.Sprintf("%s%d_%d", sc.kind, shard, i), i%2 == 1)
					runs, before, after = runs+n, before+b, after+a
				}
				t.Logf("%d functions, %d compared runs; %d values before the passes, %d after", funcs, runs, before, after)
			})
		}
	}
}

func simplifyDiffOne(t *testing.T, r *rand.Rand, sc simplifyCase, name string, bigEndian bool) (runs, before, after int) {
	orig := sc.gen(r, name)
	require.NoError(t, ir.Verify(orig, ir.VerifyOptions{}), "the generator made invalid IR")
	text := orig.String()
	f, err := ir.Parse(text)
	require.NoError(t, err)
	// The i64 case counts values after legalize64, where simplify starts.
	rep, err := Run(f, 0, &Config{Passes: sc.passes, VerifyEach: true, BigEndian: bigEndian})
	require.NoError(t, err, "%s on\n%s", sc.passes, text)
	start := rep.Passes[len(rep.Passes)-2].ValuesBefore
	for range 8 {
		args := sc.args(r)
		seed := r.Uint64()
		wantMem := genMemory(seed, bigEndian)
		want, err := ir.Interpret(orig, genInterp(args, wantMem))
		require.NoError(t, err, "original\n%s", text)
		mem := genMemory(seed, bigEndian)
		got, err := ir.Interpret(f, genInterp(args, mem))
		require.NoError(t, err, "after %s\n%s", sc.passes, f)
		if got != want || !sameMemory(wantMem, mem) {
			t.Fatalf("%s (bigEndian=%v) changed the behaviour of %s on args %#x: result %#x, want %#x; %s\n"+
				"--- before:\n%s--- after:\n%s", sc.passes, bigEndian, name, args, got, want,
				memoryDiff(wantMem, mem), text, f)
		}
		runs++
	}
	return runs, start, countValues(f)
}

func TestKnownBitsSound(t *testing.T) {
	const shards = 4
	funcs := 200
	if testing.Short() {
		funcs = 40
	}
	for shard := range shards {
		t.Run(fmt.Sprintf("shard%d", shard), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(5, uint64(shard)))
			checked, constant := 0, 0
			for i := range funcs {
				c, k := knownBitsSoundOne(t, r, simplifyCases[i%2], fmt.Sprintf("kb%d_%d", shard, i))
				checked, constant = checked+c, constant+k
			}
			t.Logf("%d computed values matched their facts; %d non-constant values proven constant", checked, constant)
			assert.Positive(t, constant, "the analysis proves something")
		})
	}
}

// knownBitsSoundOne checks one random function (i32 code, or i64 code once
// legalized) on several inputs.
func knownBitsSoundOne(t *testing.T, r *rand.Rand, sc simplifyCase, name string) (checked, constant int) {
	f := sc.gen(r, name)
	if sc.kind == "i64" {
		_, err := Run(f, 0, &Config{Passes: []string{"legalize64"}, VerifyEach: true})
		require.NoError(t, err)
	}
	kb := KnownBits(f)
	byID := valuesByID(f)
	blockByID := map[int]*ir.Block{}
	for _, b := range f.Blocks {
		blockByID[b.ID] = b
		for _, v := range b.Values {
			if _, ok := kb.Constant(v); ok && v.Op != ir.OpConst32 {
				constant++
			}
		}
	}
	g := traceInstrument(t, f)
	for range 6 {
		args := sc.args(r)
		for _, rec := range tracedRun(t, g, args, genMemory(r.Uint64(), false)) {
			if rec.id < 0 {
				if b := blockByID[-1-rec.id]; !kb.Executable(b) {
					t.Fatalf("b%d ran, but the analysis found it never runs (args %#x)\n%s", b.ID, args, f)
				}
				continue
			}
			v := byID[rec.id]
			if v.Op != ir.OpConst32 && !kb.reached[v.ID] {
				t.Fatalf("v%d ran, but the analysis never reached it (args %#x)\n%s", v.ID, args, f)
			}
			fa := kb.fact(v)
			if !matches(fa, rec.value) {
				t.Fatalf("v%d = %#x breaks its facts: zero %#x, one %#x, %d sign bits (args %#x)\n%s",
					v.ID, rec.value, fa.zero, fa.one, fa.sign, args, f)
			}
			checked++
		}
	}
	return checked, constant
}

// The statistics --stats shows, counted by hand on a 64-bit compare of a
// zero-extended value: legalize64 makes LtU32(0, hi of v3) and Eq32(0,
// hi of v3) for the high words — the two high-word operations — plus the
// low compare, an And32 and an Or32; simplify folds both high-word ones
// (values folded), forwards the And32 and the Or32 to the low compare.
func TestSimplifyStats(t *testing.T) {
	f := parseOrFail(t, `func s {
b0:
    v1:i32 = Arg [0]
    v2:i64 = ZeroExt32to64 v1
    v3:i64 = Const64 [34]
    v4:i32 = LtU64 v2, v3
    v5:i64 = ZeroExt32to64 v4
    Ret v5
}
`)
	rep, err := Run(f, 0, &Config{Passes: []string{"legalize64", "simplify"}, VerifyEach: true})
	require.NoError(t, err)
	st := rep.Passes[1].Stats
	assert.Equal(t, 2, st["high-word operations removed"], "%v", st)
	assert.Equal(t, 2, st["values folded"], "%v", st)
	assert.Equal(t, 2, st["values forwarded"], "%v", st)
	assert.Contains(t, f.String(), "LtU32 v1, ")
}
