package passes

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
// reviewer reads the change as a diff of the testdata file.

var update = flag.Bool("update", false, "rewrite the ; check: blocks of testdata/*.ir with the actual output")

func TestFiletests(t *testing.T) {
	files, err := filepath.Glob("testdata/*.ir")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no filetests in testdata/")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) { runFiletest(t, path) })
	}
}

// filetest is one parsed testdata file.
type filetest struct {
	lines     []string
	passes    []string
	bigEndian bool
	cases     []*filecase
}

// filecase is one function and its directives. Line numbers index
// filetest.lines (0-based).
type filecase struct {
	name       string
	src        string
	line       int // the "func" line
	runs       []runLine
	checkStart int // the "; check:" line, or -1
	checkEnd   int // one past the check block; where to insert one if absent
	want       string
}

type runLine struct {
	line int
	args []uint32
	want uint64
}

func parseFiletest(path string) (*filetest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ft := &filetest{lines: strings.Split(string(data), "\n")}
	sawTest := false
	var cur *filecase
	for i := 0; i < len(ft.lines); i++ {
		text := strings.TrimSpace(ft.lines[i])
		where := fmt.Sprintf("%s:%d", path, i+1)
		switch {
		case strings.HasPrefix(text, "; test "):
			ft.passes = strings.Split(strings.ReplaceAll(strings.TrimPrefix(text, "; test "), " ", ""), ",")
			sawTest = true
		case strings.HasPrefix(text, "; target:"):
			switch strings.TrimSpace(strings.TrimPrefix(text, "; target:")) {
			case "big-endian":
				ft.bigEndian = true
			case "little-endian":
			default:
				return nil, fmt.Errorf("%s: unknown target %q", where, text)
			}
		case strings.HasPrefix(text, "func "):
			if !sawTest {
				return nil, fmt.Errorf("%s: function before the \"; test PASSES\" header", where)
			}
			start := i
			for i < len(ft.lines) && strings.TrimSpace(ft.lines[i]) != "}" {
				i++
			}
			if i == len(ft.lines) {
				return nil, fmt.Errorf("%s: function has no closing \"}\"", where)
			}
			name := strings.Fields(text)[1]
			cur = &filecase{name: name, src: strings.Join(ft.lines[start:i+1], "\n") + "\n",
				line: start, checkStart: -1, checkEnd: i + 1}
			ft.cases = append(ft.cases, cur)
		case strings.HasPrefix(text, "; run:"):
			if cur == nil {
				return nil, fmt.Errorf("%s: run line before any function", where)
			}
			r, err := parseRunLine(strings.TrimPrefix(text, "; run:"))
			if err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			r.line = i
			cur.runs = append(cur.runs, r)
			cur.checkEnd = i + 1
		case text == "; check:":
			if cur == nil || cur.checkStart >= 0 {
				return nil, fmt.Errorf("%s: check block without a function before it", where)
			}
			cur.checkStart = i
			var want strings.Builder
			for i+1 < len(ft.lines) && strings.HasPrefix(ft.lines[i+1], ";") {
				i++
				s := strings.TrimPrefix(ft.lines[i], ";")
				want.WriteString(strings.TrimPrefix(s, " "))
				want.WriteByte('\n')
			}
			cur.checkEnd = i + 1
			cur.want = want.String()
		}
	}
	if !sawTest {
		return nil, fmt.Errorf("%s: no \"; test PASSES\" header", path)
	}
	if len(ft.cases) == 0 {
		return nil, fmt.Errorf("%s: no functions", path)
	}
	return ft, nil
}

// parseRunLine reads "w0, w1, ... -> result".
func parseRunLine(s string) (runLine, error) {
	args, res, ok := strings.Cut(s, "->")
	if !ok {
		return runLine{}, fmt.Errorf("run line needs \"ARGS -> RESULT\"")
	}
	var r runLine
	for _, a := range strings.Split(args, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		n, err := strconv.ParseInt(a, 0, 64)
		if err != nil || n < -1<<31 || n > 1<<32-1 {
			return runLine{}, fmt.Errorf("bad argument word %q", a)
		}
		r.args = append(r.args, uint32(n))
	}
	res = strings.TrimSpace(res)
	if u, err := strconv.ParseUint(res, 0, 64); err == nil {
		r.want = u
	} else if n, err := strconv.ParseInt(res, 0, 64); err == nil {
		r.want = uint64(n)
	} else {
		return runLine{}, fmt.Errorf("bad result %q", res)
	}
	return r, nil
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

func runFiletest(t *testing.T, path string) {
	ft, err := parseFiletest(path)
	require.NoError(t, err)
	got := make([]string, len(ft.cases))
	for i, c := range ft.cases {
		where := fmt.Sprintf("%s:%d: function %s", path, c.line+1, c.name)
		f, err := ir.Parse(c.src)
		require.NoError(t, err, where)
		before := make([]uint64, len(c.runs))
		memBefore := make([]*ir.RegionMemory, len(c.runs))
		for k, r := range c.runs {
			memBefore[k] = runMemory(ft.bigEndian)
			before[k], err = runFunc(f, r.args, memBefore[k])
			require.NoError(t, err, "%s: run line %d, before the passes", where, r.line+1)
		}
		_, err = Run(f, 0, &Config{Passes: ft.passes, VerifyEach: true, BigEndian: ft.bigEndian})
		require.NoError(t, err, where)
		got[i] = f.String()
		for k, r := range c.runs {
			mem := runMemory(ft.bigEndian)
			after, err := runFunc(f, r.args, mem)
			require.NoError(t, err, "%s: run line %d, after the passes", where, r.line+1)
			line := fmt.Sprintf("%s:%d", path, r.line+1)
			if before[k] != r.want {
				t.Errorf("%s: before the passes the function returns %#x, the run line says %#x", line, before[k], r.want)
			}
			if after != r.want {
				t.Errorf("%s: after the passes the function returns %#x, the run line says %#x", line, after, r.want)
			}
			for j, reg := range mem.Regions {
				if reg.Name == "locals" {
					continue // compiler scratch slots: the passes may use them
				}
				require.Equal(t, memBefore[k].Regions[j].Data, reg.Data, "%s: memory region %s differs after the passes", line, reg.Name)
			}
		}
		if !*update && got[i] != c.want {
			if c.checkStart < 0 {
				t.Errorf("%s: no \"; check:\" block; the output is\n%s", where, got[i])
			} else {
				t.Errorf("%s: output differs from the check block (-want +got):\n%s", where, lineDiff(c.want, got[i]))
			}
		}
	}
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(ft.rewrite(got)), 0o644))
	}
}

// rewrite returns the file with every case's check block replaced by got.
func (ft *filetest) rewrite(got []string) string {
	var out []string
	next := 0
	for i, c := range ft.cases {
		start, end := c.checkStart, c.checkEnd
		if start < 0 {
			start = c.checkEnd
		}
		out = append(out, ft.lines[next:start]...)
		out = append(out, "; check:")
		for _, l := range strings.Split(strings.TrimSuffix(got[i], "\n"), "\n") {
			out = append(out, strings.TrimRight("; "+l, " "))
		}
		next = end
	}
	out = append(out, ft.lines[next:]...)
	return strings.Join(out, "\n")
}

// lineDiff is a small LCS line diff: " " common, "-" only in want, "+"
// only in got.
func lineDiff(want, got string) string {
	a := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			fmt.Fprintf(&sb, "  %s\n", a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&sb, "- %s\n", a[i])
			i++
		default:
			fmt.Fprintf(&sb, "+ %s\n", b[j])
			j++
		}
	}
	return sb.String()
}

// The harness itself: diff output, the rewrite done by -update, and errors
// for malformed files.
func TestFiletestHarness(t *testing.T) {
	require.Equal(t, "  a\n- b\n+ B\n  c\n+ d\n", lineDiff("a\nb\nc\n", "a\nB\nc\nd\n"))

	dir := t.TempDir()
	path := filepath.Join(dir, "x.ir")
	src := "; test deadcode\n\nfunc f {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    Ret v1, v1\n}\n; run: 3 -> 0x300000003\n; check:\n; stale\n\nfunc g {\nb0:\n    v1:i32 = Arg [0]\n    Ret v1, v1\n}\n"
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	ft, err := parseFiletest(path)
	require.NoError(t, err)
	require.Len(t, ft.cases, 2)
	require.Equal(t, "stale\n", ft.cases[0].want)
	require.Len(t, ft.cases[0].runs, 1)
	require.Equal(t, []uint32{3}, ft.cases[0].runs[0].args)
	require.Equal(t, uint64(0x300000003), ft.cases[0].runs[0].want)
	got := ft.rewrite([]string{"func f {\n}\n", "func g {\n}\n"})
	require.Equal(t, "; test deadcode\n\nfunc f {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    Ret v1, v1\n}\n; run: 3 -> 0x300000003\n; check:\n; func f {\n; }\n\n"+
		"func g {\nb0:\n    v1:i32 = Arg [0]\n    Ret v1, v1\n}\n; check:\n; func g {\n; }\n", got)

	for _, bad := range []string{
		"func f {\nb0:\n    Ret\n}\n",      // no header
		"; test deadcode\nfunc f {\nb0:\n", // unclosed
		"; test deadcode\n; run: 1 -> 2\n", // run line before any function
		"; test deadcode\nfunc f {\n}\n; run: x -> 2\n",
		"; test deadcode\n; target: pdp-11\n",
	} {
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
		_, err := parseFiletest(path)
		require.Error(t, err, bad)
	}
}
