package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/ir"
)

// The runtime against the C runner, helper by helper and map by map, is
// tested from package sim (runtime_maps_test.go, which has the GNU as
// tooling) and by the corpus tests of cmd/bpfopt/pipeline; these are the
// package's own rules.

func TestConfigure(t *testing.T) {
	mine := &ir.RuntimeFunc{Name: "bpf_helper_5", Result: ir.I64, Eval: func(ir.Memory, []uint64) (uint64, error) { return 7, nil }}
	opts := Configure(sim.Options{Target: mips32.Target{Rev: mips32.R2}, Externs: map[string]*ir.RuntimeFunc{"bpf_helper_5": mine}})
	assert.Same(t, mine, opts.Externs["bpf_helper_5"], "the caller's extern keeps its name")
	for _, name := range []string{"bpf_helper_1", "bpf_helper_2", "bpf_helper_3", "bpf_helper_7", "bpf_helper_8", "bpf_callx",
		TailCallTargetSymbol, "ubpf_helper_0", "ubpf_helper_5", "ubpf_callx"} {
		assert.Contains(t, opts.Externs, name)
	}
	assert.NotContains(t, opts.Externs, "bpf_helper_12", "tail calls are compiled, not called")
	assert.Len(t, opts.Externs["bpf_helper_2"].Params, 4, "map_update_elem reads r1..r4")
	assert.Len(t, opts.Externs["bpf_callx"].Params, 6)
	require.NotNil(t, opts.NewRunState)
	assert.NotSame(t, opts.NewRunState(), opts.NewRunState(), "each run its own state")
	_, err := sim.New(opts)
	require.NoError(t, err)

	// Outside the simulator the routines refuse to run.
	_, err = symbols["bpf_helper_5"].Eval(nil, nil)
	assert.EqualError(t, err, "bpf_helper_5: the BPF runtime runs on the simulator only")
}

func TestCNumber(t *testing.T) {
	assert.Equal(t, "4294967295", cNumber(1<<32-1))
	assert.Equal(t, "0x100000000", cNumber(1<<32))
}
