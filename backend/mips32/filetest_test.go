package mips32_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
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
// change of the generated code as a diff of the testdata file.

var update = flag.Bool("update", false, "rewrite the ; check: blocks of testdata/*.ir with the actual output")

func TestFiletests(t *testing.T) {
	files, err := filepath.Glob("testdata/*.ir")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no filetests in testdata/")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) { runFiletest(t, path) })
	}
}

type filetest struct {
	lines  []string
	kind   string // "lower" or "regalloc"
	target mips32.Target
	cases  []*filecase
}

// filecase is one function with its directives; line numbers index
// filetest.lines.
type filecase struct {
	name       string
	src        string
	line       int
	runs       []runLine
	checkStart int // the "; check:" line, or -1
	checkEnd   int // one past the check block, or where to insert one
	want       string
}

type runLine struct {
	line  int
	words []uint32
	want  uint64
}

var targets = map[string]mips32.Target{
	"mips32el":   {Rev: mips32.R1},
	"mips32eb":   {Rev: mips32.R1, BigEndian: true},
	"mips32r2el": {Rev: mips32.R2},
	"mips32r2eb": {Rev: mips32.R2, BigEndian: true},
}

func parseFiletest(path string) (*filetest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ft := &filetest{lines: strings.Split(string(data), "\n"), target: mips32.DefaultTarget}
	var cur *filecase
	for i := 0; i < len(ft.lines); i++ {
		text := strings.TrimSpace(ft.lines[i])
		where := fmt.Sprintf("%s:%d", path, i+1)
		switch {
		case strings.HasPrefix(text, "; test "):
			ft.kind = strings.TrimSpace(strings.TrimPrefix(text, "; test "))
			if ft.kind != "lower" && ft.kind != "regalloc" {
				return nil, fmt.Errorf("%s: unknown test %q (lower, regalloc)", where, ft.kind)
			}
		case strings.HasPrefix(text, "; target:"):
			name := strings.TrimSpace(strings.TrimPrefix(text, "; target:"))
			t, ok := targets[name]
			if !ok {
				return nil, fmt.Errorf("%s: unknown target %q", where, name)
			}
			ft.target = t
		case strings.HasPrefix(text, "func "):
			if ft.kind == "" {
				return nil, fmt.Errorf("%s: function before the \"; test KIND\" header", where)
			}
			start := i
			for i < len(ft.lines) && strings.TrimSpace(ft.lines[i]) != "}" {
				i++
			}
			if i == len(ft.lines) {
				return nil, fmt.Errorf("%s: function has no closing \"}\"", where)
			}
			cur = &filecase{name: strings.Fields(text)[1], src: strings.Join(ft.lines[start:i+1], "\n") + "\n",
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
				want.WriteString(strings.TrimPrefix(strings.TrimPrefix(ft.lines[i], ";"), " "))
				want.WriteByte('\n')
			}
			cur.checkEnd = i + 1
			cur.want = want.String()
		}
	}
	if ft.kind == "" {
		return nil, fmt.Errorf("%s: no \"; test KIND\" header", path)
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
		return runLine{}, fmt.Errorf("run line needs \"WORDS -> RESULT\"")
	}
	var r runLine
	for _, a := range strings.Split(args, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		n, err := strconv.ParseInt(a, 0, 64)
		if err != nil || n < -1<<31 || n > 1<<32-1 {
			return runLine{}, fmt.Errorf("bad memory word %q", a)
		}
		r.words = append(r.words, uint32(n))
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

func runFiletest(t *testing.T, path string) {
	ft, err := parseFiletest(path)
	require.NoError(t, err)
	machine, err := sim.New(sim.Options{Target: ft.target})
	require.NoError(t, err)
	got := make([]string, len(ft.cases))
	for i, c := range ft.cases {
		where := fmt.Sprintf("%s:%d: function %s", path, c.line+1, c.name)
		f, err := ir.Parse(c.src)
		require.NoError(t, err, where)
		require.NoError(t, ir.Verify(f, ir.VerifyOptions{NoI64: true}), where)
		if ft.kind == "lower" {
			got[i], err = mips32.LowerText(f, ft.target)
		} else {
			got[i], err = mips32.FinalText(f, ft.target)
		}
		require.NoError(t, err, where)
		if len(c.runs) > 0 {
			mod, err := mips32.Compile(f, mips32.Options{Target: ft.target, CheckAllocation: true})
			require.NoError(t, err, where)
			for _, r := range c.runs {
				checkRun(t, fmt.Sprintf("%s:%d", path, r.line+1), f, mod, machine, ft.target, r)
			}
		}
		if !*update && c.checkStart < 0 {
			t.Errorf("%s: no \"; check:\" block; the output is\n%s", where, got[i])
		} else if !*update {
			assert.Equal(t, c.want, got[i], "%s: output differs from the check block", where)
		}
	}
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(ft.rewrite(got)), 0o644))
	}
}

// checkRun runs the IR and the compiled code on the run line's memory.
func checkRun(t *testing.T, where string, f *ir.Func, mod *mips32.Module, m *sim.Machine, target mips32.Target, r runLine) {
	mem := make([]byte, 4*len(r.words))
	for k, w := range r.words {
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
	require.Equal(t, r.want, want, "%s: the IR interpreter's result", where)
	require.Equal(t, r.want, res.R0, "%s: the compiled code's result", where)
	require.Equal(t, irMem, res.Mem, "%s: memory after the IR interpreter (want) and the compiled code (got)", where)
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

// The harness itself: parsing, errors for malformed files, and the
// rewrite -update does.
func TestFiletestHarness(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.ir")
	src := "; test regalloc\n; target: mips32el\n\nfunc f {\nb0:\n    v1:i32 = Arg [0]\n    Ret v1, v1\n}\n; run: 3, -1 -> 0x300000003\n; check:\n; stale\n\nfunc g {\n}\n"
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	ft, err := parseFiletest(path)
	require.NoError(t, err)
	require.Equal(t, "regalloc", ft.kind)
	require.Equal(t, mips32.Target{Rev: mips32.R1}, ft.target)
	require.Len(t, ft.cases, 2)
	require.Equal(t, "stale\n", ft.cases[0].want)
	require.Equal(t, []runLine{{line: 8, words: []uint32{3, 0xffffffff}, want: 0x300000003}}, ft.cases[0].runs)
	require.Equal(t, "; test regalloc\n; target: mips32el\n\nfunc f {\nb0:\n    v1:i32 = Arg [0]\n    Ret v1, v1\n}\n; run: 3, -1 -> 0x300000003\n; check:\n; new\n\nfunc g {\n}\n; check:\n; x\n",
		ft.rewrite([]string{"new\n", "x\n"}))
	for _, bad := range []string{
		"func f {\nb0:\n    Ret\n}\n",   // no header
		"; test lower\nfunc f {\nb0:\n", // unclosed
		"; test lower\n; run: 1 -> 2\n", // run line before any function
		"; test lower\nfunc f {\n}\n; run: x -> 2\n",
		"; test lower\n; target: pdp11\n",
		"; test emit\n",
	} {
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
		_, err := parseFiletest(path)
		require.Error(t, err, bad)
	}
}
