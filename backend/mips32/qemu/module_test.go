package qemu

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
)

// runModule assembles src (text, then whatever sections it switches to),
// lays it out as a module (mipstest.Object.Image) and runs it from label
// entry.
func runModule(t *testing.T, e *Engine, march, src, entry string, mem []byte) (*Result, *mipstest.Object) {
	t.Helper()
	obj := mipstest.Assemble(t, e.Options().Target, march, src)
	blob, relocs, syms := obj.Image()
	off, ok := syms[entry]
	require.True(t, ok, "no label %q", entry)
	res, err := e.RunModule(blob, relocs, syms, off, mem)
	require.NoError(t, err)
	return res, obj
}

// moduleImage is mipstest.ModuleSource's image, cut after the last data
// byte (GNU as pads sections to 16 bytes) so that its length is not a
// multiple of 4.
func moduleImage(t *testing.T, target mips32.Target, march string) ([]byte, []mips32.Reloc, map[string]uint32) {
	obj := mipstest.Assemble(t, target, march, mipstest.ModuleSource)
	blob, relocs, syms := obj.Image()
	blob = blob[:syms["bytes"]+3]
	require.NotZero(t, len(blob)%4)
	return blob, relocs, syms
}

func TestRunModule(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		blob, relocs, syms := moduleImage(t, e.Options().Target, march)
		base := codeBase(t, e)
		// The data word written by the first run is back to 40 in the
		// second: the image is copied afresh for every run.
		for run := range 2 {
			res, err := e.RunModule(blob, relocs, syms, syms["f"], make([]byte, 16))
			require.NoError(t, err)
			requireReturned(t, res)
			assert.Equal(t, []uint32{40, 0x2222, 0x5555, 9}, le32Words(res.Mem), "run %d", run)
			assert.Equal(t, uint64(base+syms["bytes"]), res.R0, "the data lies after the code, at its image offset")
		}
	})
}

func TestRunModuleErrors(t *testing.T) {
	e := requireEngine(t, r2)
	blob, relocs, syms := moduleImage(t, r2, "mips32r2")

	_, err := e.RunModule(nil, nil, nil, 0, nil)
	assert.ErrorContains(t, err, "qemu engine: empty module")

	_, err = e.RunModule(blob, relocs, map[string]uint32{"far": uint32(len(blob)) + 1}, 0, nil)
	assert.ErrorContains(t, err, `module symbol "far" at offset`)
	assert.ErrorContains(t, err, "lies outside the")

	_, err = e.RunModule(blob, relocs, syms, uint32(len(blob)+3)&^3, nil)
	assert.ErrorContains(t, err, "is not an instruction of the")

	// Without the module's symbols its relocations do not resolve; with
	// some of them, the error lists both sets.
	_, err = e.RunModule(blob, relocs, nil, 0, nil)
	assert.ErrorContains(t, err, `unknown symbol ".data" (the runner offers `)
	_, err = e.RunModule(blob, relocs, map[string]uint32{"f": 0}, 0, nil)
	assert.ErrorContains(t, err, `unknown symbol ".data" (the module defines f; the runner offers `)

	// Run is RunModule without module symbols, and keeps rejecting code
	// whose size is not a multiple of 4.
	_, err = e.Run(blob, nil, 0, nil)
	assert.ErrorContains(t, err, "is not a positive multiple of 4")
}

// TestRunModuleLink checks the linked image itself: symbols at offsets
// resolve to the code region's addresses, module symbols first.
func TestRunModuleLink(t *testing.T) {
	e := requireEngine(t, r2)
	const src = `
f:	lui $v0, %hi(here)
	addiu $v0, $v0, %lo(here)
	lui $v1, %hi(__udivdi3)
	jr $ra
	addiu $v1, $v1, %lo(__udivdi3)
	.globl __udivdi3
__udivdi3:
here:	nop
`
	res, obj := runModule(t, e, "mips32r2", src, "f", nil)
	requireReturned(t, res)
	lo, hi := uint32(res.R0), uint32(res.R0>>32)
	assert.Equal(t, obj.Labels["here"], obj.Labels["__udivdi3"])
	assert.Equal(t, lo, hi, "__udivdi3 is the module's, not libgcc's")
	assert.NotEqual(t, e.Symbols()["__udivdi3"], hi)
	assert.Equal(t, obj.Labels["here"], lo-codeBase(t, e), "here is at its offset in the code region")
}

// codeBase finds the code region's address by running a function that
// returns its own address.
func codeBase(t *testing.T, e *Engine) uint32 {
	t.Helper()
	res, _ := runModule(t, e, "mips32", "f:\tlui $v0, %hi(f)\n\taddiu $v0, $v0, %lo(f)\n\tjr $ra\n\tmove $v1, $zero\n", "f", nil)
	requireReturned(t, res)
	return uint32(res.R0)
}

func le32Words(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}
