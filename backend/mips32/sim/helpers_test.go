package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
)

// The tests produce machine code with GNU as, never with the backend's
// encoder, and work out expected results by hand; the cross-checks then
// run the same code under qemu.

var (
	r2el = mips32.Target{Rev: mips32.R2}
	r2eb = mips32.Target{Rev: mips32.R2, BigEndian: true}
	r1el = mips32.Target{Rev: mips32.R1}
)

// assemble assembles src with GNU as for target's byte order and
// revision (mipstest.Assemble).
func assemble(t testing.TB, target mips32.Target, src string) *mipstest.Object {
	t.Helper()
	return mipstest.Assemble(t, target, target.March(), src)
}

// moduleOf lays obj out as the qemu engine's tests do (mipstest's
// Object.Image, as mips32.Module.Image does).
func moduleOf(obj *mipstest.Object) *Module {
	image, relocs, syms := obj.Image()
	return &Module{Image: image, CodeSize: uint32(len(obj.Code)), Relocs: relocs, Symbols: syms}
}

// newMachine returns a simulator for target.
func newMachine(t testing.TB, opts Options) *Machine {
	t.Helper()
	m, err := New(opts)
	require.NoError(t, err)
	return m
}

// runSim assembles src for target and runs it from label "f" (or offset 0).
func runSim(t testing.TB, target mips32.Target, src string, mem []byte) (*Result, *mipstest.Object) {
	t.Helper()
	return runSimOpts(t, Options{Target: target}, src, mem)
}

func runSimOpts(t testing.TB, opts Options, src string, mem []byte) (*Result, *mipstest.Object) {
	t.Helper()
	obj := assemble(t, opts.Target, src)
	res, err := newMachine(t, opts).Run(obj.Code, obj.Relocs, obj.Labels["f"], mem)
	require.NoError(t, err)
	return res, obj
}

// requireQemu returns the shared qemu engine for target, failing (or
// skipping under BPFOPT_SKIP_EXTERNAL=1) when a tool is missing.
func requireQemu(t testing.TB, target mips32.Target) *qemu.Engine {
	t.Helper()
	e, err := qemu.Shared(target)
	if errors.Is(err, qemu.ErrMissingTool) && mipstest.SkipExternal() {
		t.Skip(err)
	}
	require.NoError(t, err)
	return e
}

// requireReturned fails on a fault.
func requireReturned(t testing.TB, res *Result) {
	t.Helper()
	if res.Fault != nil {
		t.Fatalf("unexpected fault: %v", res.Fault)
	}
}

// r0Of is R0 for the given v0 and v1 under target's word order.
func r0Of(target mips32.Target, v0, v1 uint32) uint64 {
	if target.BigEndian {
		return uint64(v0)<<32 | uint64(v1)
	}
	return uint64(v1)<<32 | uint64(v0)
}

// words encodes 32-bit words in target's byte order.
func words(target mips32.Target, ws ...uint32) []byte {
	b := make([]byte, 4*len(ws))
	for i, w := range ws {
		target.ByteOrder().PutUint32(b[4*i:], w)
	}
	return b
}

// u64s encodes 64-bit words in target's byte order.
func u64s(target mips32.Target, vs ...uint64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		target.ByteOrder().PutUint64(b[8*i:], v)
	}
	return b
}

// assembleBatch assembles many snippets in one GNU as run: snippet i's
// label f becomes f<i>, and entries[i] is its offset. A snippet that
// computes addresses from f's (j/jal targets, "- f)") must come first, so
// that it sits at offset 0 as when assembled alone.
func assembleBatch(t testing.TB, target mips32.Target, srcs []string) (obj *mipstest.Object, entries []uint32) {
	t.Helper()
	var b strings.Builder
	for i, src := range srcs {
		if i > 0 && strings.Contains(src, "- f)") {
			t.Fatalf("snippet %d computes addresses from f's: put it first", i)
		}
		name := fmt.Sprintf("f%d", i)
		src = strings.Replace(src, "f:", name+":", 1)
		src = strings.ReplaceAll(src, "- f)", "- "+name+")")
		b.WriteString(src + "\n")
	}
	obj = assemble(t, target, b.String())
	for i := range srcs {
		off, ok := obj.Labels[fmt.Sprintf("f%d", i)]
		require.True(t, ok, "snippet %d has no label f", i)
		entries = append(entries, off)
	}
	return obj, entries
}
