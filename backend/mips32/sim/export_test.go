package sim

import (
	"testing"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// What the external tests (package sim_test, which may import the runtime
// in sim/runner) use of this package's test helpers.

// AssembleModule assembles src with GNU as and lays it out as a module.
func AssembleModule(t testing.TB, target mips32.Target, src string) *Module {
	return moduleOf(assemble(t, target, src))
}

// RequireQemu is requireQemu.
var RequireQemu = requireQemu
