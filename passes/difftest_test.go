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
