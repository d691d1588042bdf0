// Package filetest is the machinery of the text filetests of passes and
// backend/mips32 (Cranelift style): it parses a testdata file, compares
// each function's output with its check block, prints a diff on a
// mismatch, and with -update rewrites the check blocks in place, so that a
// reviewer reads a change of output as a diff of the testdata file. What a
// test runs (the "; test" header's meaning, the target, what a run line
// checks) stays with the package that uses it.
//
// A file is a header, then functions in IR text, each followed by its
// directives:
//
//	; test WHAT                  what to run (the using package reads WHAT)
//	; target: NAME               optional
//	func f {                     a function, up to a line "}"
//	...
//	}
//	; run: 1, 0xffffffff -> 5    words -> 64-bit result (any number)
//	; check:
//	; <the expected output, one "; " line per line, up to the next line
//	;  that does not start with ';'>
package filetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// File is one parsed testdata file.
type File struct {
	Path string
	// Test is the text after "; test " and Target the text after
	// "; target:" (empty when absent), trimmed; TestLine and TargetLine
	// are their lines (1-based).
	Test, Target         string
	TestLine, TargetLine int
	Cases                []*Case

	lines []string
}

// Case is one function and its directives.
type Case struct {
	Name string
	Src  string // the function's text
	Line int    // of the "func" line (1-based)
	Runs []Run
	// Want is the check block's text; HasCheck tells an empty block from
	// none.
	Want     string
	HasCheck bool

	// Line indexes into File.lines (0-based) of the check block, for
	// Rewrite: checkStart is the "; check:" line or -1, checkEnd one past
	// the block, or where to insert one.
	checkStart, checkEnd int
}

// Run is a run line: what the words mean is the using package's.
type Run struct {
	Line  int // 1-based
	Words []uint32
	Want  uint64
}

// At is "path:line", for messages.
func (f *File) At(line int) string { return fmt.Sprintf("%s:%d", f.Path, line) }

// Where names a case in messages: "path:line: function name".
func (f *File) Where(c *Case) string { return fmt.Sprintf("%s: function %s", f.At(c.Line), c.Name) }

// Parse reads and parses a testdata file.
func Parse(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseText(path, string(data))
}

// ParseText parses the text of a testdata file; path names it in messages.
func ParseText(path, text string) (*File, error) {
	f := &File{Path: path, lines: strings.Split(text, "\n")}
	var cur *Case
	for i := 0; i < len(f.lines); i++ {
		text := strings.TrimSpace(f.lines[i])
		where := f.At(i + 1)
		switch {
		case strings.HasPrefix(text, "; test "):
			f.Test, f.TestLine = strings.TrimSpace(strings.TrimPrefix(text, "; test ")), i+1
		case strings.HasPrefix(text, "; target:"):
			f.Target, f.TargetLine = strings.TrimSpace(strings.TrimPrefix(text, "; target:")), i+1
		case strings.HasPrefix(text, "func "):
			if f.Test == "" {
				return nil, fmt.Errorf("%s: function before the \"; test ...\" header", where)
			}
			start := i
			for i < len(f.lines) && strings.TrimSpace(f.lines[i]) != "}" {
				i++
			}
			if i == len(f.lines) {
				return nil, fmt.Errorf("%s: function has no closing \"}\"", where)
			}
			cur = &Case{Name: strings.Fields(text)[1], Src: strings.Join(f.lines[start:i+1], "\n") + "\n",
				Line: start + 1, checkStart: -1, checkEnd: i + 1}
			f.Cases = append(f.Cases, cur)
		case strings.HasPrefix(text, "; run:"):
			if cur == nil {
				return nil, fmt.Errorf("%s: run line before any function", where)
			}
			r, err := parseRun(strings.TrimPrefix(text, "; run:"))
			if err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			r.Line = i + 1
			cur.Runs = append(cur.Runs, r)
			cur.checkEnd = i + 1
		case text == "; check:":
			if cur == nil || cur.HasCheck {
				return nil, fmt.Errorf("%s: check block without a function before it", where)
			}
			cur.checkStart, cur.HasCheck = i, true
			var want strings.Builder
			for i+1 < len(f.lines) && strings.HasPrefix(f.lines[i+1], ";") {
				i++
				want.WriteString(strings.TrimPrefix(strings.TrimPrefix(f.lines[i], ";"), " "))
				want.WriteByte('\n')
			}
			cur.checkEnd = i + 1
			cur.Want = want.String()
		}
	}
	if f.Test == "" {
		return nil, fmt.Errorf("%s: no \"; test ...\" header", path)
	}
	if len(f.Cases) == 0 {
		return nil, fmt.Errorf("%s: no functions", path)
	}
	return f, nil
}

// parseRun reads "w0, w1, ... -> result": words from -2^31 to 2^32-1,
// a result that fits 64 bits, signed or not.
func parseRun(s string) (Run, error) {
	words, res, ok := strings.Cut(s, "->")
	if !ok {
		return Run{}, fmt.Errorf("run line needs \"WORDS -> RESULT\"")
	}
	var r Run
	for _, w := range strings.Split(words, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		n, err := strconv.ParseInt(w, 0, 64)
		if err != nil || n < -1<<31 || n > 1<<32-1 {
			return Run{}, fmt.Errorf("bad word %q", w)
		}
		r.Words = append(r.Words, uint32(n))
	}
	res = strings.TrimSpace(res)
	if u, err := strconv.ParseUint(res, 0, 64); err == nil {
		r.Want = u
	} else if n, err := strconv.ParseInt(res, 0, 64); err == nil {
		r.Want = uint64(n)
	} else {
		return Run{}, fmt.Errorf("bad result %q", res)
	}
	return r, nil
}

// RunFiles runs the files matching pattern, one subtest each: output
// returns the actual text of each of a file's cases, in order (failing the
// test for what it checks itself), and RunFiles compares each with its
// check block or, with update, rewrites the file's check blocks.
func RunFiles(t *testing.T, pattern string, update bool, output func(t *testing.T, f *File) []string) {
	paths, err := filepath.Glob(pattern)
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no filetests match %s", pattern)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Parse(path)
			require.NoError(t, err)
			got := output(t, f)
			require.Len(t, got, len(f.Cases), "%s: one output per function", path)
			if update {
				require.NoError(t, os.WriteFile(path, []byte(f.Rewrite(got)), 0o644))
				return
			}
			for _, msg := range f.Mismatches(got) {
				t.Error(msg)
			}
		})
	}
}

// Mismatches explains each case whose output (got, one per case) is not
// its check block, or that has no check block, with a diff.
func (f *File) Mismatches(got []string) []string {
	var msgs []string
	for i, c := range f.Cases {
		if !c.HasCheck {
			msgs = append(msgs, fmt.Sprintf("%s: no \"; check:\" block; the output is\n%s", f.Where(c), got[i]))
		} else if got[i] != c.Want {
			msgs = append(msgs, fmt.Sprintf("%s: output differs from the check block (-want +got):\n%s", f.Where(c), Diff(c.Want, got[i])))
		}
	}
	return msgs
}

// Rewrite returns the file with every case's check block replaced by got
// (one text per case), a block added where a case has none.
func (f *File) Rewrite(got []string) string {
	var out []string
	next := 0
	for i, c := range f.Cases {
		start, end := c.checkStart, c.checkEnd
		if start < 0 {
			start = c.checkEnd
		}
		out = append(out, f.lines[next:start]...)
		out = append(out, "; check:")
		for _, l := range strings.Split(strings.TrimSuffix(got[i], "\n"), "\n") {
			out = append(out, strings.TrimRight("; "+l, " "))
		}
		next = end
	}
	out = append(out, f.lines[next:]...)
	return strings.Join(out, "\n")
}

// Diff is a small LCS line diff of two texts: "  " common, "- " only in
// want, "+ " only in got.
func Diff(want, got string) string {
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
