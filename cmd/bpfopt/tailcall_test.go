package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
)

// tailcallObject builds testdata/corpus/tailcall.c as the corpus tests do
// (pipeline.ClangBPF) and returns the object's path. Its program array
// jmp_table holds stage_sum, stage_final, nothing and spin in slots 0..3.
func tailcallObject(t *testing.T) string {
	t.Helper()
	needTool(t, "clang", "clang")
	data, err := pipeline.ClangBPF("../../testdata/corpus/tailcall.c", "v3")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "tailcall.o")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// TestRunProgWithTailCalls: --prog picks a program that tail-calls others
// of the object; they are compiled as its targets. Expected values from
// the C source: spin runs once and then 33 times by tail calls (the
// kernel's limit), so out[1] and r0 are 34 and out[0] has bit 8;
// stage_sum sums the packet 00 01 02 03 into out[2] and tail-calls
// stage_final, which returns that sum ^ 0x5a5a with bits 2|4 in out[0].
func TestRunProgWithTailCalls(t *testing.T) {
	needTool(t, "qemu-mipsel", "qemu-user")
	obj := tailcallObject(t)
	const zeroOut = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	cases := []struct {
		prog, mem, want string
	}{
		{"spin", "00 00 00 00 " + zeroOut,
			"0x22\n00 00 00 00 08 00 00 00 22 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"},
		{"stage_sum", "04 00 00 00 " + zeroOut + " 00 01 02 03",
			"0x5a5c\n04 00 00 00 06 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03\n"},
	}
	for _, engine := range []string{"sim", "qemu"} {
		for _, c := range cases {
			for _, level := range []string{"-O0", "-O2"} {
				out, _, err := runCLI("run", "--engine="+engine, "--prog", c.prog, level, "--mem-hex", c.mem, "--dump-mem", obj)
				require.NoError(t, err, "%s %s %s", engine, c.prog, level)
				require.Equal(t, c.want, out, "%s %s %s", engine, c.prog, level)
			}
		}
	}
}

// TestCompileProgWithTailCalls: compile --prog keeps the program and the
// tail-call targets the program array names, not the other entry
// (dispatch); --entry renames the program in its slot too, and refuses
// the name of another program.
func TestCompileProgWithTailCalls(t *testing.T) {
	obj := tailcallObject(t)
	out, _, err := runCLI("compile", "--prog", "spin", "-S", "-o", "-", obj)
	require.NoError(t, err)
	for _, sym := range []string{"spin:", "stage_sum:", "stage_final:", "jmp_table__init:\n\t.word\tstage_sum\n\t.word\tstage_final\n", "\t.word\tspin\n"} {
		require.Contains(t, out, sym)
	}
	require.NotContains(t, out, "dispatch")

	out, _, err = runCLI("compile", "--prog", "spin", "--entry", "spin_renamed", "-S", "-o", "-", obj)
	require.NoError(t, err)
	require.Contains(t, out, "\t.word\tspin_renamed\n")
	require.NotContains(t, out, "\nspin:")
	require.Equal(t, 1, strings.Count(out, "\nspin_renamed:"))

	_, _, err = runCLI("compile", "--prog", "dispatch", "--entry", "spin", "-S", "-o", "-", obj)
	require.ErrorContains(t, err, "--entry spin: the object has another program of that name")
}
