package qemuengine

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

func requireQemu(t *testing.T) {
	t.Helper()
	if _, err := New(campaign.DefaultTargets[0], 0); err != nil {
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			t.Skipf("qemu unavailable (BPFOPT_SKIP_EXTERNAL=1): %v", err)
		}
		t.Fatalf("%v (or run ./test.sh)", err)
	}
}

// TestCheckProgramOnQemu runs generated programs with qemu as the
// machine-code oracle.
func TestCheckProgramOnQemu(t *testing.T) {
	requireQemu(t)
	o := campaign.InputOptions
	cfg := &campaign.Config{Engine: New, MaxSteps: progen.StepBound(o)}
	for i := range 20 {
		r := rand.New(rand.NewPCG(uint64(i), 0x9e40))
		p := progen.Generate(r, o)
		mem := make([]byte, o.MemSize)
		for k := range mem {
			mem[k] = byte(r.Uint32())
		}
		if f := campaign.CheckProgram(p, mem, cfg); f != nil {
			t.Fatalf("program %d:\n%s", i, f.String())
		}
	}
}

// TestQemuAgreesWithSim runs the same compiled code on both engines.
func TestQemuAgreesWithSim(t *testing.T) {
	requireQemu(t)
	p, err := bpf.ParseAsm("ldxdw %r0, [%r1+0]\nstdw [%r1+8], -1\nlddw %r3, 0x123456789\ndiv %r0, %r3\nexit")
	require.NoError(t, err)
	mem := []byte{1, 2, 3, 4, 5, 6, 7, 0x88, 0, 0, 0, 0, 0, 0, 0, 0}
	for _, target := range campaign.DefaultTargets {
		mod, _, err := campaign.Compile(p, target, 2, nil)
		require.NoError(t, err)
		q, err := New(target, 0)
		require.NoError(t, err)
		s, err := campaign.SimEngine(target, 0)
		require.NoError(t, err)
		xq, err := q.Run(mod.Code, mod.Relocs, 0, mem)
		require.NoError(t, err)
		xs, err := s.Run(mod.Code, mod.Relocs, 0, mem)
		require.NoError(t, err)
		require.Equal(t, xs, xq, "%s", target)
		require.Equal(t, uint64(0x8807060504030201)/0x123456789, xq.R0)
		require.Equal(t, "qemu", q.Name())
	}
}
