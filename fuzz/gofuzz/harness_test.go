//go:build gofuzz

package gofuzz

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign"
)

// The harnesses run on their seed corpora (go test -tags gofuzz
// ./fuzz/gofuzz, from fuzz/ci.sh): valid inputs score 1, and nothing
// panics.
func TestHarnessesOnSeeds(t *testing.T) {
	harnesses := []struct {
		name   string
		fn     func([]byte) int
		corpus string
	}{
		{"Fuzz", Fuzz, "corpus-progen"},
		{"FuzzDeterminism", FuzzDeterminism, "corpus-progen"},
		{"FuzzCompile", FuzzCompile, "corpus-progen"},
		{"FuzzDecode", FuzzDecode, "corpus-decode"},
		{"FuzzParseAsm", FuzzParseAsm, "corpus-asm"},
	}
	for _, h := range harnesses {
		t.Run(h.name, func(t *testing.T) {
			paths, err := filepath.Glob(filepath.Join(h.corpus, "*"))
			require.NoError(t, err)
			require.NotEmpty(t, paths)
			for _, p := range paths {
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				require.Equal(t, 1, h.fn(data), p)
			}
		})
	}
}

// The differential, determinism and compile harnesses read programs with
// subprograms (campaign.InputOptions has Calls): their seeds reach calls.
func TestHarnessSeedsHaveSubprogramCalls(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("corpus-progen", "*"))
	require.NoError(t, err)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		diff, _ := campaign.ProgramFromInput(data, campaign.InputOptions) // Fuzz, FuzzDeterminism
		compile, _ := campaign.CompileProgramFromInput(data)
		for _, p := range []*bpf.Program{diff, compile} {
			require.True(t, slices.ContainsFunc(p.Insns, bpf.Insn.IsLocalCall), "%s:\n%s", path, bpf.Disassemble(p))
		}
	}
}

func TestHarnessesRejectBadInput(t *testing.T) {
	require.Equal(t, -1, FuzzDecode([]byte{1, 2, 3}), "not a whole instruction")
	require.Equal(t, 0, FuzzParseAsm([]byte("frob %r0")))
	require.Equal(t, 1, Fuzz(nil), "any input is a program")
}

func TestHarnessPanicsOnBrokenRoundTrip(t *testing.T) {
	require.Panics(t, func() { mustBeBPFError(os.ErrNotExist) })
}
