package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/bench/packet"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

func needTools(t *testing.T) {
	t.Helper()
	for tool, pkg := range map[string]string{"clang": "clang", gccCC: "gcc-mipsel-linux-gnu"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
				t.Skipf("%s missing (BPFOPT_SKIP_EXTERNAL=1)", tool)
			}
			t.Fatalf("%s not found: install the Debian package %s (./test.sh does)", tool, pkg)
		}
	}
}

// someCases are three programs, one of each kind with an anchor or not.
func someCases(t *testing.T) []Case {
	var cs []Case
	for _, c := range Corpus() {
		if c.Name == "parse_tcp4" || c.Name == "conf_subnet" {
			cs = append(cs, c)
		}
	}
	require.Len(t, cs, 2)
	gen := progen.Options{MemSize: 64, MaxInsns: 200, Loops: true}
	return append(cs, Case{Name: "progen_small", Kind: KindProgen, Gen: gen, Seed: 3, Inputs: [][]byte{packet.Random(3, 64)}})
}

// tableRows returns the data rows of the Markdown table as cells.
func tableRows(t *testing.T, md string) [][]string {
	lines := strings.Split(md, "\n")
	require.Equal(t, "| "+strings.Join(Columns, " | ")+" |", lines[0])
	require.Equal(t, "|"+strings.Repeat("---|", len(Columns)), lines[1])
	var rows [][]string
	for _, l := range lines[2:] {
		if l == "" {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), " | ")
		require.Len(t, cells, len(Columns), "row %q", l)
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

func TestTable(t *testing.T) {
	needTools(t)
	rows, err := Run(Options{Cases: someCases(t)})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for _, r := range rows {
		require.Empty(t, r.Errors, r.Name)
		require.Positive(t, r.BPFInsns, r.Name)
		require.Positive(t, r.Bytes[0], r.Name)
		require.Positive(t, r.Bytes[1], r.Name)
		require.Positive(t, r.Insns[0], r.Name)
		require.Positive(t, r.Insns[1], r.Name)
		// Every instruction takes at least a cycle.
		require.GreaterOrEqual(t, r.Cycles[1], r.Insns[1], r.Name)
		require.Positive(t, r.Compile, r.Name)
	}
	tcp, subnet, gen := rows[0], rows[1], rows[2]
	require.Equal(t, 6, tcp.Inputs)
	require.NotNil(t, tcp.GCC)
	require.Positive(t, tcp.GCC.Insns)
	require.Positive(t, tcp.GCC.Bytes)
	require.Nil(t, subnet.GCC)
	require.Equal(t, "no C source", subnet.GCCNote)
	require.Equal(t, 14, subnet.BPFInsns) // the .data file's asm section
	require.Nil(t, gen.GCC)

	var md bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, rows))
	cells := tableRows(t, md.String())
	require.Len(t, cells, 3)
	col := func(name string) int {
		for i, c := range Columns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %q", name)
		return -1
	}
	require.Equal(t, "parse_tcp4", cells[0][col("program")])
	require.Equal(t, "ok", cells[0][col("check")])
	require.Regexp(t, `^[0-9],?[0-9]*$`, cells[0][col("executed GCC")])
	require.Regexp(t, `^[0-9]+\.[0-9]{2}$`, cells[0][col("O2/GCC executed")])
	require.Equal(t, "—", cells[1][col("executed GCC")])
	require.Equal(t, "no GCC: no C source", cells[1][col("notes")])
	require.Regexp(t, `^[0-9.]+ ms$`, cells[2][col("compile -O2")])

	// The footer: the GCC means are over parse_tcp4 alone, so they are its
	// ratios; the O2/O0 means skip the generated program.
	m := GeoMeans(rows)
	require.Equal(t, 1, m.NGCC)
	require.Equal(t, 2, m.NExec)
	require.InDelta(t, float64(tcp.Insns[1])/float64(tcp.GCC.Insns), m.ExecO2GCC, 1e-9)
	require.InDelta(t, float64(tcp.Bytes[1])/float64(tcp.GCC.Bytes), m.BytesO2GCC, 1e-9)
	require.Contains(t, md.String(), "| executed instructions bpfopt -O2 / GCC -O2 | ")
	require.NotContains(t, md.String(), "Errors")
}

// TestPlantedMismatch plants wrong results at each checked configuration
// and requires the row to fail, say where, and drop out of the means.
func TestPlantedMismatch(t *testing.T) {
	needTools(t)
	cases := someCases(t)[:1] // parse_tcp4, with a GCC anchor
	for _, plant := range []struct {
		config, want string
		tamper       func(x *pipeline.Execution)
	}{
		{"-O2", `-O2 input 2: r0 = 0x4, reference 0x3`, func(x *pipeline.Execution) { x.R0++ }},
		{"-O0", `-O0 input 2: memory differs`, func(x *pipeline.Execution) { x.Mem[40] ^= 1 }},
		{"gcc", `GCC: input 2: r0 = 0x4 \(low word\), reference 0x3`, func(x *pipeline.Execution) { x.R0++ }},
	} {
		t.Run(plant.config, func(t *testing.T) {
			opts := Options{Cases: cases, tamper: func(row, config string, x *pipeline.Execution) {
				// Input 2 (a SYN to the echo port) is the one that returns
				// XDP_TX; GCC's result is v0 alone.
				if config == plant.config && uint32(x.R0) == 3 {
					plant.tamper(x)
				}
			}}
			rows, err := Run(opts)
			require.NoError(t, err)
			require.True(t, rows[0].Failed())
			require.Len(t, rows[0].Errors, 1)
			require.Regexp(t, "^"+plant.want, rows[0].Errors[0])
			var md bytes.Buffer
			require.NoError(t, WriteMarkdown(&md, rows))
			require.Equal(t, "**FAILED** (1)", tableRows(t, md.String())[0][len(Columns)-2])
			require.Regexp(t, "Errors \\(1\\):\n\n- parse_tcp4: "+plant.want, md.String())
			require.Zero(t, GeoMeans(rows).NGCC)
		})
	}
}

// TestGCCDisagrees runs a C file whose BPF and GCC builds differ (the
// preprocessor tells them apart): the GCC check must catch it without
// any planted help.
func TestGCCDisagrees(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	src := `#include "` + filepath.Join(DefaultDir(), "bench.h") + `"
SEC("socket") int odd(struct ctx *ctx) {
#ifdef __bpf__
	ctx->out[0] = 7;
#else
	ctx->out[0] = 8;
#endif
	return ctx->len;
}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "odd.c"), []byte(src), 0o644))
	rows, err := Run(Options{Dir: dir, Cases: []Case{{Name: "odd", Kind: KindC, Source: "odd.c", Inputs: netInputs([]byte{1, 2, 3})}}})
	require.NoError(t, err)
	require.Len(t, rows[0].Errors, 1)
	require.Contains(t, rows[0].Errors[0], "GCC: input 0: memory differs")
	require.Nil(t, rows[0].GCC)
}

// TestLinkGCC links GCC code with a call between functions and calls of
// libgcc's 64-bit division (through trampolines) and runs it.
func TestLinkGCC(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "div.c")
	require.NoError(t, os.WriteFile(src, []byte(`
typedef unsigned long long u64;
static __attribute__((noinline)) u64 divmod(u64 a, u64 b) { return a / b * 1000 + a % b; }
u64 entry(u64 *p) { return divmod(p[0], p[1]) + 1; }
`), 0o644))
	g, _, err := buildGCC(src, "entry")
	require.NoError(t, err)
	require.Len(t, g.relocs, 4) // two trampolines, %hi and %lo each
	m, err := sim.New(sim.Options{Target: mips32.DefaultTarget})
	require.NoError(t, err)
	mem := []byte{0x39, 0x30, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0} // 12345, 7
	res, err := m.Run(g.code, g.relocs, g.entry, mem)
	require.NoError(t, err)
	require.Nil(t, res.Fault)
	require.Equal(t, uint64(12345/7*1000+12345%7+1), res.R0)
	require.Equal(t, int64(2), res.Stats.RuntimeCalls)
}

// TestGCCCountsWithoutTrampolines runs branch-free GCC code that calls
// libgcc: every one of its instructions runs once, so its count must be
// its size in words once the trampoline is taken out.
func TestGCCCountsWithoutTrampolines(t *testing.T) {
	needTools(t)
	src := filepath.Join(t.TempDir(), "quot.c")
	require.NoError(t, os.WriteFile(src, []byte("unsigned long long quot(unsigned long long *p) { return p[0] / p[1]; }\n"), 0o644))
	g, obj, err := buildGCC(src, "quot")
	require.NoError(t, err)
	m, err := sim.New(sim.Options{Target: mips32.DefaultTarget})
	require.NoError(t, err)
	res, err := m.Run(g.code, g.relocs, g.entry, []byte{100, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	require.Nil(t, res.Fault)
	require.Equal(t, uint64(14), res.R0)
	require.Equal(t, int64(1), res.Stats.RuntimeCalls)
	insns, cycles := gccCounts(res.Stats)
	require.Equal(t, int64(g.bytes/4), insns, "GCC object:\n%s", disassemble(t, obj))
	require.Positive(t, cycles)
}

// disassemble is objdump's listing of a GCC object, for failure messages.
func disassemble(t *testing.T, obj []byte) string {
	f := filepath.Join(t.TempDir(), "obj.o")
	require.NoError(t, os.WriteFile(f, obj, 0o644))
	out, _ := exec.Command("mipsel-linux-gnu-objdump", "-dr", f).CombinedOutput()
	return string(out)
}

func TestLinkGCCRefusesData(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "global.c")
	require.NoError(t, os.WriteFile(src, []byte("int counter;\nint entry(void *p) { return ++counter; }\n"), 0o644))
	_, _, err := buildGCC(src, "entry")
	require.ErrorContains(t, err, "refers to counter")
	require.ErrorContains(t, err, "maps no data")
	_, _, err = buildGCC(src, "missing")
	require.ErrorContains(t, err, "no function missing")
}

func TestFilterMatchingNothing(t *testing.T) {
	_, err := Run(Options{Filter: regexp.MustCompile(`^no such program$`)})
	require.ErrorContains(t, err, "no benchmark matches")
}

// BenchmarkTable runs the whole corpus and reports the footer's means
// (go test -bench Table ./cmd/bpfopt/bench).
func BenchmarkTable(b *testing.B) {
	var rows []*Row
	for b.Loop() {
		var err error
		if rows, err = Run(Options{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, r := range rows {
		if r.Failed() {
			b.Errorf("%s: %s", r.Name, strings.Join(r.Errors, "; "))
		}
	}
	m := GeoMeans(rows)
	b.ReportMetric(m.ExecO2O0, "exec_O2/O0")
	b.ReportMetric(m.BytesO2O0, "bytes_O2/O0")
	b.ReportMetric(m.ExecO2GCC, "exec_O2/GCC")
	b.ReportMetric(m.BytesO2GCC, "bytes_O2/GCC")
}
