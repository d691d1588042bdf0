package passes

import "testing"

// sccp on its own, and followed by deadcode, which folds the branches it
// decides, on random functions (difftest_test.go).
func TestSCCPDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 31, funcs: 150, runs: 6, sources: []diffSource{srcI32, srcLegalized},
		variants: []diffVariant{passList("sccp"), passList("sccp", "deadcode")},
		fired:    []string{"sccp: values folded", "sccp: phis folded", "sccp: branches decided", "sccp: identities forwarded"}})
}
