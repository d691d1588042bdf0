package passes

import "testing"

// cse on its own on random functions (difftest_test.go), before and after
// legalize64, and followed by the passes that fold what it exposes.
func TestCSEDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 41, funcs: 150, runs: 6, sources: []diffSource{srcI32, srcLegalized, srcI64},
		variants: []diffVariant{passList("cse"), passList("cse", "sccp", "deadcode")},
		fired:    []string{"cse: values merged", "cse: loads merged"}})
}
