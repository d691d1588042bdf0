package qemu

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
)

// The tests produce machine code with GNU as (mipstest.Assemble), never
// with our own encoder, so that the engine is tested on its own.

// requireEngine returns the shared engine for target, failing (or skipping
// under BPFOPT_SKIP_EXTERNAL=1) when a tool is missing.
func requireEngine(t testing.TB, target mips32.Target) *Engine {
	t.Helper()
	e, err := Shared(target)
	if errors.Is(err, ErrMissingTool) && mipstest.SkipExternal() {
		t.Skip(err)
	}
	require.NoError(t, err)
	return e
}

// startEngine starts a private engine (closed at the end of the test).
func startEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := Start(opts)
	if errors.Is(err, ErrMissingTool) && mipstest.SkipExternal() {
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// le64 encodes little-endian 64-bit words: the memory blocks of the tests.
var le64 = mipstest.LE64
