package passes

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Differential tests of legalize64 and of whole pipelines: random 64-bit
// functions (randfunc_test.go) through legalize64 alone and the passes of
// each level, compared with the function before on boundary-heavy inputs
// by the harness of difftest_test.go.

func TestLegalize64Differential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 2024, funcs: 250, runs: 6, sources: []diffSource{srcI64},
		variants: []diffVariant{passList("legalize64"), {name: "-O0", level: 0}, {name: "-O1", level: 1}, {name: "-O2", level: 2}}})
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
