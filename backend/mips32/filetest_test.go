package mips32_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/internal/filetest"
	"github.com/bpfopt/bpfopt/ir"
)

// Backend filetests. Each testdata/*.ir file starts with a header
//
//	; test lower        print the code instruction selection makes
//	; test regalloc     print the final code: allocated, framed, laid
//	                    out, delay slots filled (the allocation checker on)
//	; target: mips32el  optional: mips32el, mips32eb, mips32r2el (default),
//	                    mips32r2eb
//
// followed by legalized IR functions (i32 only, critical edges split).
// After each function may come
//
//	; run: 5, 0xffffffff -> 4
//	  (memory words -> 64-bit result: the function gets a0 = the address
//	  of the words, a1 = their length in bytes, as a compiled program
//	  does; the IR interpreter runs the function and the simulator runs
//	  the compiled code, and both must return the result given and leave
//	  the same memory)
//	; check:
//	; <the expected output, one "; " line per line>
//
// On a mismatch the test prints a diff; `go test ./backend/mips32 -run
// Filetests -update` rewrites the check blocks so that a reviewer reads a
// change of the generated code as a diff of the testdata file. The file
// format and that machinery are internal/filetest's.

var update = flag.Bool("update", false, "rewrite the ; check: blocks of testdata/*.ir with the actual output")

func TestFiletests(t *testing.T) {
	filetest.RunFiles(t, "testdata/*.ir", *update, runFiletest)
}

var targets = map[string]mips32.Target{
	"mips32el":   {Rev: mips32.R1},
	"mips32eb":   {Rev: mips32.R1, BigEndian: true},
	"mips32r2el": {Rev: mips32.R2},
	"mips32r2eb": {Rev: mips32.R2, BigEndian: true},
}

// fileConfig reads the header: what to print and for which target.
func fileConfig(ft *filetest.File) (kind string, target mips32.Target, err error) {
	if ft.Test != "lower" && ft.Test != "regalloc" {
		return "", target, fmt.Errorf("%s: unknown test %q (lower, regalloc)", ft.At(ft.TestLine), ft.Test)
	}
	target = mips32.DefaultTarget
	if ft.Target != "" {
		var ok bool
		if target, ok = targets[ft.Target]; !ok {
			return "", target, fmt.Errorf("%s: unknown target %q", ft.At(ft.TargetLine), ft.Target)
		}
	}
	return ft.Test, target, nil
}

// runFiletest prints each function's code and checks its run lines.
func runFiletest(t *testing.T, ft *filetest.File) []string {
	kind, target, err := fileConfig(ft)
	require.NoError(t, err)
	machine, err := sim.New(sim.Options{Target: target})
	require.NoError(t, err)
	got := make([]string, len(ft.Cases))
	for i, c := range ft.Cases {
		where := ft.Where(c)
		f, err := ir.Parse(c.Src)
		require.NoError(t, err, where)
		require.NoError(t, ir.Verify(f, ir.VerifyOptions{NoI64: true}), where)
		if kind == "lower" {
			got[i], err = mips32.LowerText(f, target)
		} else {
			got[i], err = mips32.FinalText(f, target)
		}
		require.NoError(t, err, where)
		if len(c.Runs) > 0 {
			mod, err := mips32.Compile(f, mips32.Options{Target: target, CheckAllocation: true})
			require.NoError(t, err, where)
			for _, r := range c.Runs {
				checkRun(t, ft.At(r.Line), f, mod, machine, target, r)
			}
		}
	}
	return got
}

// checkRun runs the IR and the compiled code on the run line's memory.
func checkRun(t *testing.T, where string, f *ir.Func, mod *mips32.Module, m *sim.Machine, target mips32.Target, r filetest.Run) {
	mem := make([]byte, 4*len(r.Words))
	for k, w := range r.Words {
		target.ByteOrder().PutUint32(mem[4*k:], w)
	}
	res, err := m.RunModule(&sim.Module{Image: mod.Code, CodeSize: uint32(len(mod.Code)), Relocs: mod.Relocs}, 0, mem)
	require.NoError(t, err, where)
	require.Nil(t, res.Fault, where)
	irMem := append([]byte(nil), mem...)
	const irFrame = 0x7000_0000
	want, err := ir.Interpret(f, ir.InterpConfig{
		Args: []uint32{res.MemAddr, uint32(len(mem))},
		Mem: &ir.RegionMemory{BigEndian: target.BigEndian, Regions: []*ir.Region{
			{Base: res.MemAddr, Data: irMem, Name: "mem"},
			{Base: irFrame - 512, Data: make([]byte, 512), Name: "stack"},
		}},
		FramePtr: irFrame,
	})
	require.NoError(t, err, "%s: IR interpreter", where)
	require.Equal(t, r.Want, want, "%s: the IR interpreter's result", where)
	require.Equal(t, r.Want, res.R0, "%s: the compiled code's result", where)
	require.Equal(t, irMem, res.Mem, "%s: memory after the IR interpreter (want) and the compiled code (got)", where)
}

// The header as this package reads it (the rest of the format is tested
// in internal/filetest).
func TestFiletestHeader(t *testing.T) {
	const path = "x.ir"
	for _, tc := range []struct {
		src    string
		kind   string
		target mips32.Target
		err    string
	}{
		{"; test lower\nfunc f {\n}\n", "lower", mips32.DefaultTarget, ""},
		{"; test regalloc\n; target: mips32el\nfunc f {\n}\n", "regalloc", mips32.Target{Rev: mips32.R1}, ""},
		{"; target: mips32r2eb\n; test lower\nfunc f {\n}\n", "lower", mips32.Target{Rev: mips32.R2, BigEndian: true}, ""},
		{"; test lower\n; target: pdp11\nfunc f {\n}\n", "", mips32.Target{}, `x.ir:2: unknown target "pdp11"`},
		{"; test emit\nfunc f {\n}\n", "", mips32.Target{}, `x.ir:1: unknown test "emit" (lower, regalloc)`},
	} {
		ft, err := filetest.ParseText(path, tc.src)
		require.NoError(t, err)
		kind, target, err := fileConfig(ft)
		if tc.err != "" {
			require.EqualError(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.kind, kind, tc.src)
		assert.Equal(t, tc.target, target, tc.src)
	}
}
