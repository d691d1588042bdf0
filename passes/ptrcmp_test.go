package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/bpfopt/bpfopt/ir"
)

// The ptrcmp pass alone, and followed by the passes that lower and fold
// what it leaves, on random pointer functions (ptrcmp_gen_test.go) and
// the ranges pass's counter loops, run before and after under the IR
// interpreter (difftest_test.go's harness). Inputs put the ctx near 0 and
// near 2^32, and offsets where sums cross 2^32 and wrap 2^64.
var srcPtr = diffSource{kind: "ptr",
	gen:  func(r *rand.Rand, name string) *ir.Func { return genPtrFunc(r, name, 6+r.IntN(24)) },
	args: genPtrArgs}

func TestPtrcmpDifferential(t *testing.T) {
	runDifferential(t, diffSpec{
		seed: 0x97c3, funcs: 300, runs: 16,
		sources: []diffSource{srcPtr, srcRanges},
		variants: []diffVariant{
			passList("ptrcmp"),
			passList("ranges", "ptrcmp", "legalize64", "simplify", "deadcode"),
		},
		fired: []string{
			"ptrcmp: common-base compares narrowed",
			"ptrcmp: common-base compares the ranges do not prove",
			"ptrcmp: compares against a carry",
			"ptrcmp: pointer webs rebased",
			"ptrcmp: constants moved into a carry sum",
		},
	})
}
