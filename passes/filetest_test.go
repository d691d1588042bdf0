package passes

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/internal/filetest"
	"github.com/bpfopt/bpfopt/ir"
)

// Filetests, Cranelift style. Each testdata/*.ir file starts with a header
//
//	; test legalize64,deadcode     passes to run, in order
//	; target: big-endian           optional (default little-endian)
//
// followed by functions in IR text. After each function may come
//
//	; run: 1, 0xffffffff -> 0x100000000
//	  (argument words -> 64-bit result: the function is interpreted on
//	  these arguments before and after the passes, and both results must
//	  equal the one given; memory is described at runMemory below)
//	; check:
//	; <the expected text of the function after the passes, one "; " line
//	;  per line, up to the next line that does not start with ';'>
//
// Every pass runs with VerifyEach. On a mismatch the test prints a diff;
// `go test ./passes -update` rewrites the check blocks in place so that a
// reviewer reads the change as a diff of the testdata file. The file
// format and that machinery are internal/filetest's.

var update = flag.Bool("update", false, "rewrite the ; check: blocks of testdata/*.ir with the actual output")

func TestFiletests(t *testing.T) {
	filetest.RunFiles(t, "testdata/*.ir", *update, runFiletest)
}

// fileConfig reads the header: the passes to run and the byte order.
func fileConfig(ft *filetest.File) (passes []string, bigEndian bool, err error) {
	switch ft.Target {
	case "big-endian":
		bigEndian = true
	case "", "little-endian":
	default:
		return nil, false, fmt.Errorf("%s: unknown target %q (little-endian, big-endian)", ft.At(ft.TargetLine), ft.Target)
	}
	return strings.Split(strings.ReplaceAll(ft.Test, " ", ""), ","), bigEndian, nil
}

// The memory of run lines: a 256-byte data region at runDataBase whose
// byte i is i*0x11+1 (so that every word differs), a 512-byte stack below
// runFramePtr, and 64 bytes of scratch slots at runLocalBase.
const (
	runDataBase  = 0x1000
	runFramePtr  = 0x4000
	runLocalBase = 0x8000
)

func runMemory(bigEndian bool) *ir.RegionMemory {
	data := make([]byte, 256)
	for i := range data {
		data[i] = byte(i*0x11 + 1)
	}
	return &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: runDataBase, Data: data, Name: "data"},
		{Base: runFramePtr - 512, Data: make([]byte, 512), Name: "stack"},
		{Base: runLocalBase, Data: make([]byte, 64), Name: "locals"},
	}}
}

func runFunc(f *ir.Func, args []uint32, mem *ir.RegionMemory) (uint64, error) {
	return ir.Interpret(f, ir.InterpConfig{Args: args, Mem: mem,
		FramePtr: runFramePtr, LocalBase: runLocalBase, MaxSteps: 1 << 20})
}

// runFiletest runs each function's passes and run lines and returns the
// functions after the passes.
func runFiletest(t *testing.T, ft *filetest.File) []string {
	passes, bigEndian, err := fileConfig(ft)
	require.NoError(t, err)
	got := make([]string, len(ft.Cases))
	for i, c := range ft.Cases {
		where := ft.Where(c)
		f, err := ir.Parse(c.Src)
		require.NoError(t, err, where)
		before := make([]uint64, len(c.Runs))
		memBefore := make([]*ir.RegionMemory, len(c.Runs))
		for k, r := range c.Runs {
			memBefore[k] = runMemory(bigEndian)
			before[k], err = runFunc(f, r.Words, memBefore[k])
			require.NoError(t, err, "%s: run line %d, before the passes", where, r.Line)
		}
		_, err = Run(f, 0, &Config{Passes: passes, VerifyEach: true, BigEndian: bigEndian})
		require.NoError(t, err, where)
		got[i] = f.String()
		for k, r := range c.Runs {
			mem := runMemory(bigEndian)
			after, err := runFunc(f, r.Words, mem)
			require.NoError(t, err, "%s: run line %d, after the passes", where, r.Line)
			line := ft.At(r.Line)
			if before[k] != r.Want {
				t.Errorf("%s: before the passes the function returns %#x, the run line says %#x", line, before[k], r.Want)
			}
			if after != r.Want {
				t.Errorf("%s: after the passes the function returns %#x, the run line says %#x", line, after, r.Want)
			}
			for j, reg := range mem.Regions {
				if reg.Name == "locals" {
					continue // compiler scratch slots: the passes may use them
				}
				require.Equal(t, memBefore[k].Regions[j].Data, reg.Data, "%s: memory region %s differs after the passes", line, reg.Name)
			}
		}
	}
	return got
}

// The header as this package reads it (the rest of the format is tested
// in internal/filetest).
func TestFiletestHeader(t *testing.T) {
	const path = "x.ir"
	for _, tc := range []struct {
		src       string
		passes    []string
		bigEndian bool
		err       string
	}{
		{"; test legalize64, deadcode\nfunc f {\n}\n", []string{"legalize64", "deadcode"}, false, ""},
		{"; test deadcode\n; target: big-endian\nfunc f {\n}\n", []string{"deadcode"}, true, ""},
		{"; test deadcode\n; target: little-endian\nfunc f {\n}\n", []string{"deadcode"}, false, ""},
		{"; test deadcode\n; target: pdp-11\nfunc f {\n}\n", nil, false, `x.ir:2: unknown target "pdp-11" (little-endian, big-endian)`},
	} {
		ft, err := filetest.ParseText(path, tc.src)
		require.NoError(t, err)
		passes, bigEndian, err := fileConfig(ft)
		if tc.err != "" {
			require.EqualError(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.passes, passes, tc.src)
		assert.Equal(t, tc.bigEndian, bigEndian, tc.src)
	}
}
