package passes

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// simplify and known bits against the interpreter on random functions:
//
//   - TestSimplifyDifferential: random i32 functions (simplify_gen_test.go)
//     and random 64-bit functions (randfunc_test.go), legalized or not,
//     through simplify and deadcode, by the harness of difftest_test.go.
//   - TestKnownBitsSound: every value a traced run (knownbits_trace_test.go)
//     computes must match the facts the analysis gave it, and every block
//     that runs must be one the analysis found executable.

func TestSimplifyDifferential(t *testing.T) {
	// Before legalize64 (srcI64) simplify sees only the i32 values and
	// Int64Hi/Lo.
	runDifferential(t, diffSpec{seed: 77, funcs: 400, runs: 8, sources: []diffSource{srcI32, srcLegalized, srcI64},
		variants: []diffVariant{passList("simplify", "deadcode")}})
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
				c, k := knownBitsSoundOne(t, r, []diffSource{srcI32, srcLegalized}[i%2], fmt.Sprintf("kb%d_%d", shard, i))
				checked, constant = checked+c, constant+k
			}
			t.Logf("%d computed values matched their facts; %d non-constant values proven constant", checked, constant)
			assert.Positive(t, constant, "the analysis proves something")
		})
	}
}

// knownBitsSoundOne checks one random function (i32 code, or i64 code once
// legalized) on several inputs.
func knownBitsSoundOne(t *testing.T, r *rand.Rand, src diffSource, name string) (checked, constant int) {
	f := src.gen(r, name)
	if len(src.setup) > 0 {
		_, err := Run(f, 0, &Config{Passes: src.setup, VerifyEach: true})
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
		args := src.args(r)
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

// TestSimplifyReachesFixpoint checks the rounds after the first
// (simplify_rounds.go): they visit only what a change marked and refine
// known bits instead of analyzing again, yet simplify must end where a
// round of every rule over every value, with a fresh analysis, finds
// nothing to do — as when every round was such a round.
func TestSimplifyReachesFixpoint(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 23))
	sources := []diffSource{srcI32, srcLegalized, srcShapes}
	rewritten := 0
	for i := range 240 {
		src := sources[i%len(sources)]
		f := src.gen(r, fmt.Sprintf("fix%d", i))
		passes := append(slices.Clone(src.setup), "simplify")
		rep, err := Run(f, 0, &Config{Passes: passes, VerifyEach: true})
		require.NoError(t, err)
		st := rep.Passes[len(rep.Passes)-1].Stats
		rewritten += st["values folded"] + st["values forwarded"] + st["ops rewritten"]
		f.ComputeUses()
		require.False(t, newSimplifier(f).fullRound(), "a full round still changes\n%s", f)
	}
	assert.Positive(t, rewritten, "simplify rewrote something")
}

// TestSimplifyAddressOffsetsDifferential checks the address-offset rules
// (simplify_addr.go) on the random functions whose loads and stores go
// through computed addresses.
func TestSimplifyAddressOffsetsDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 79, funcs: 200, runs: 6, sources: []diffSource{srcShapes, srcI32, srcLegalized},
		variants: []diffVariant{passList("simplify", "deadcode")},
		fired:    []string{"simplify: address constants folded"}})
}
