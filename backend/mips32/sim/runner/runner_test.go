package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
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

// mapFields are struct bpf_map's fields (the C runner's maps.c) with the
// word this package reads each from.
var mapFields = []struct {
	name string
	word int
}{
	{"type", MapWordType}, {"key_size", MapWordKeySize}, {"value_size", MapWordValueSize},
	{"max_entries", MapWordMaxEntries}, {"flags", MapWordFlags}, {"initial", MapWordInitial},
	{"state", MapWordState}, {"reserved", MapWordReserved},
}

// TestMapLayoutMatchesC compiles the C runner's maps.c with static
// assertions that its struct bpf_map has the fields at the words the Go
// constants say, and MapObjectSize bytes.
func TestMapLayoutMatchesC(t *testing.T) {
	gcc := mipstest.RequireTool(t, "mipsel-linux-gnu-gcc", "gcc-mipsel-linux-gnu")
	dir, err := filepath.Abs("../../qemu/runner")
	require.NoError(t, err)
	var src strings.Builder
	src.WriteString("#include <stddef.h>\n#include \"maps.c\"\n")
	fmt.Fprintf(&src, "_Static_assert(sizeof(struct bpf_map) == %d, \"sizeof(struct bpf_map) is not MapObjectSize\");\n", MapObjectSize)
	for _, f := range mapFields {
		fmt.Fprintf(&src, "_Static_assert(offsetof(struct bpf_map, %[1]s) == %[2]d, \"%[1]s is not at word %[3]d\");\n", f.name, 4*f.word, f.word)
	}
	file := filepath.Join(t.TempDir(), "layout.c")
	require.NoError(t, os.WriteFile(file, []byte(src.String()), 0o644))
	out, err := exec.Command(gcc, "-fsyntax-only", "-ffreestanding", "-I", dir, file).CombinedOutput()
	require.NoError(t, err, "struct bpf_map in maps.c differs from the MapWord constants:\n%s", out)
}

// TestMapObjectMatchesLayout: the map objects the engines' tests write in
// assembly (mipstest.MapObject) have the fields at the MapWord words.
func TestMapObjectMatchesLayout(t *testing.T) {
	src := mipstest.MapObject("m", 11, 22, 33, 44, "init")
	_, list, ok := strings.Cut(src, ".word ")
	require.True(t, ok, src)
	words := strings.Split(strings.TrimSpace(list), ", ")
	require.Len(t, words, MapObjectSize/4)
	want := map[int]string{MapWordType: "11", MapWordKeySize: "22", MapWordValueSize: "33", MapWordMaxEntries: "44",
		MapWordFlags: "0", MapWordInitial: "init", MapWordState: "0", MapWordReserved: "0"}
	for word, v := range want {
		assert.Equal(t, v, words[word], "word %d", word)
	}
}
