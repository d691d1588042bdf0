package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ssa"
)

func TestLICMDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 71, funcs: 100, runs: 6, sources: []diffSource{srcShapes, srcI32, srcLegalized},
		variants: []diffVariant{passList("licm"), passList("simplify", "deadcode", "cse", "cfg", "licm")},
		fired:    []string{"licm: values hoisted", "licm: preheaders made", "licm: values copied"}})
}

// After licm nothing is left to hoist: a second run moves nothing, and
// every loop with a hoisted value has a preheader (a block outside it
// that jumps only to its header, the header's only outside predecessor).
func TestLICMFixedPoint(t *testing.T) {
	r := rand.New(rand.NewPCG(72, 1))
	hoisted := 0
	for i := range 200 {
		f := srcShapes.gen(r, fmt.Sprint("shapes", i))
		rep, err := Run(f, 0, &Config{Passes: []string{"simplify", "deadcode", "licm"}, VerifyEach: true})
		require.NoError(t, err)
		hoisted += rep.Passes[2].Stats["values hoisted"]
		text := f.String()
		again, err := licmPass(f, nil)
		require.NoError(t, err)
		require.Empty(t, again, "a second licm changed\n%s", text)
		dom := ssa.Dominators(f)
		for _, l := range ssa.NaturalLoops(f, dom).Loops {
			require.Empty(t, licmCandidates(l, dom), "loop b%d still has invariant values in\n%s", l.Header.ID, text)
		}
	}
	require.Positive(t, hoisted)
}
