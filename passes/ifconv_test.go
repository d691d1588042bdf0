package passes

import (
	"testing"
)

func TestIfconvDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 81, funcs: 100, runs: 6, sources: []diffSource{srcShapes, srcI32, srcLegalized},
		variants: []diffVariant{passList("ifconv"), passList("simplify", "deadcode", "cse", "cfg", "ifconv", "licm", "align")},
		fired:    []string{"ifconv: branches converted", "ifconv: selects made"}})
}

// With ops allowed in the arms (the pipeline allows none, a measured
// choice), what is speculated must be safe: the shapes include loads
// behind null checks, divisions and stores in arms.
func TestIfconvSpeculationDifferential(t *testing.T) {
	defer func(n int) { ifconvMaxArmOps = n }(ifconvMaxArmOps)
	ifconvMaxArmOps = 3
	runDifferential(t, diffSpec{seed: 82, funcs: 60, runs: 6, sources: []diffSource{srcShapes},
		variants: []diffVariant{passList("ifconv"), passList("simplify", "deadcode", "ifconv")},
		fired:    []string{"ifconv: branches converted", "ifconv: selects made"}})
}
