package passes

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Differential tests: random functions (randfunc_test.go) are interpreted
// before and after the pipeline on boundary-heavy inputs; results and
// memory (every i64 value is stored to the "out" region, and loads, stores
// and atomics work on "data") must agree. Each function goes through three
// pipelines (legalize64 alone, -O0, -O1) on its byte order, with the
// verifier after every pass.

type pipelineVariant struct {
	name   string
	level  int
	passes []string
}

var diffVariants = []pipelineVariant{
	{"legalize64", 0, []string{"legalize64"}},
	{"-O0", 0, nil},
	{"-O1", 1, nil},
}

func TestLegalize64Differential(t *testing.T) {
	const shards = 4 // run in parallel; each shard has its own seed
	funcs, runsPerFunc := 300, 6
	if testing.Short() {
		funcs = 50
	}
	for shard := range shards {
		t.Run(fmt.Sprintf("shard%d", shard), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(2024, uint64(shard)))
			runs := 0
			for i := range funcs {
				runs += diffOne(t, r, fmt.Sprintf("rand%d_%d", shard, i), i%2 == 1, runsPerFunc)
			}
			t.Logf("%d random functions, %d compared runs", funcs, runs)
		})
	}
}

// diffOne generates a function, compiles it with each pipeline variant and
// compares runs; it returns the number of compared runs.
func diffOne(t *testing.T, r *rand.Rand, name string, bigEndian bool, runsPerFunc int) int {
	orig := genFunc(r, name, 4+r.IntN(40))
	require.NoError(t, ir.Verify(orig, ir.VerifyOptions{}), "the generator made invalid IR")
	text := orig.String()
	compiled := make([]*ir.Func, len(diffVariants))
	for k, v := range diffVariants {
		f, err := ir.Parse(text)
		require.NoError(t, err)
		_, err = Run(f, v.level, &Config{Passes: v.passes, VerifyEach: true, BigEndian: bigEndian})
		require.NoError(t, err, "%s on\n%s", v.name, text)
		compiled[k] = f
	}
	runs := 0
	for range runsPerFunc {
		args := genArgs(r)
		seed := r.Uint64()
		wantMem := genMemory(seed, bigEndian)
		want, err := ir.Interpret(orig, genInterp(args, wantMem))
		require.NoError(t, err, "original\n%s", text)
		for k, f := range compiled {
			mem := genMemory(seed, bigEndian)
			got, err := ir.Interpret(f, genInterp(args, mem))
			require.NoError(t, err, "%s\n%s", diffVariants[k].name, f)
			if got != want || !sameMemory(wantMem, mem) {
				t.Fatalf("%s (bigEndian=%v) changed the behaviour of %s on args %#x: result %#x, want %#x; %s\n"+
					"--- before:\n%s--- after:\n%s", diffVariants[k].name, bigEndian, name, args, got, want,
					memoryDiff(wantMem, mem), text, f)
			}
			runs++
		}
	}
	return runs
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

// TestPipelineDeterministic compiles the same random functions twice and
// compares every dump and the reports.
func TestPipelineDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 60 {
		text := genFunc(r, fmt.Sprintf("det%d", i), 30).String()
		var dumps [2]bytes.Buffer
		var reports [2]string
		for k := range 2 {
			f, err := ir.Parse(text)
			require.NoError(t, err)
			rep, err := Run(f, MaxLevel, &Config{VerifyEach: true, DumpAfter: "all", Dump: &dumps[k], BigEndian: i%2 == 0})
			require.NoError(t, err)
			reports[k] = rep.String()
		}
		require.Equal(t, dumps[0].String(), dumps[1].String())
		require.Equal(t, reports[0], reports[1])
	}
}
