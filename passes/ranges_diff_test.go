package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/bpfopt/bpfopt/ir"
)

// The ranges pass alone, and followed by the passes that cash in its
// rewrites, on random i64 functions with counter loops, guards and
// arithmetic at the 2^32 boundary (ranges_gen_test.go), run before and
// after under the IR interpreter (difftest_test.go's harness).
var srcRanges = diffSource{kind: "ranges",
	gen:  func(r *rand.Rand, name string) *ir.Func { return genRangeFunc(r, name, 6+r.IntN(30)) },
	args: genArgs}

func TestRangesDifferential(t *testing.T) {
	runDifferential(t, diffSpec{
		seed: 0x5a7e, funcs: 300, runs: 12,
		sources: []diffSource{srcRanges, srcI64},
		variants: []diffVariant{
			passList("ranges"),
			passList("ranges", "legalize64", "simplify", "deadcode"),
		},
		fired: []string{
			"ranges: ops narrowed to 32 bits",
			"ranges: compares narrowed to 32 bits",
			"ranges: values made constant",
			"ranges: induction variables bounded",
		},
	})
}
