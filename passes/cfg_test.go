package passes

import "testing"

// cfg on its own on random functions (difftest_test.go), and after
// simplify and deadcode, which leave it more constant phis and empty
// blocks.
func TestCFGDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 51, funcs: 150, runs: 6, sources: []diffSource{srcI32, srcLegalized},
		variants: []diffVariant{passList("cfg"), passList("simplify", "deadcode", "cfg")},
		fired: []string{"cfg: branches folded", "cfg: blocks removed", "cfg: phis removed", "cfg: jumps threaded",
			"cfg: empty blocks removed", "cfg: blocks merged", "cfg: values removed"}})
}
