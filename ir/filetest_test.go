package ir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The files in testdata/ are IR functions followed by directive comments:
//
//	; run: [be] WORD... -> RESULT      run with these OpArg words, expect RESULT
//	; run: [be] WORD... -> error "TEXT" expect an error containing TEXT
//	; verify: noi64                     also verify with NoI64 (before the first
//	                                    function: for every function of the file)
//
// A directive belongs to the function above it. Runs use the environment of
// newTestEnv.

type runLine struct {
	line    int
	be      bool
	args    []uint32
	want    uint64
	wantErr string
}

type testFunc struct {
	file  string
	f     *Func
	runs  []runLine
	noI64 bool
}

func loadTestFiles(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.ir")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	files := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files[p] = string(b)
	}
	return files
}

func loadTestFuncs(t *testing.T) []*testFunc {
	t.Helper()
	var all []*testFunc
	for path, src := range loadTestFiles(t) {
		fs, err := ParseAll(src)
		require.NoError(t, err, path)
		var tfs []*testFunc
		fileNoI64 := false
		for i, line := range strings.Split(src, "\n") {
			line = strings.TrimSpace(line)
			var cur *testFunc
			if len(tfs) > 0 {
				cur = tfs[len(tfs)-1]
			}
			switch {
			case strings.HasPrefix(line, "func "):
				require.Less(t, len(tfs), len(fs), path)
				tfs = append(tfs, &testFunc{file: path, f: fs[len(tfs)], noI64: fileNoI64})
			case line == "; verify: noi64":
				if cur == nil {
					fileNoI64 = true
				} else {
					cur.noI64 = true
				}
			case strings.HasPrefix(line, "; run:"):
				require.NotNil(t, cur, "%s:%d: run line before any function", path, i+1)
				cur.runs = append(cur.runs, parseRunLine(t, path, i+1, strings.TrimPrefix(line, "; run:")))
			}
		}
		require.Len(t, tfs, len(fs), path)
		all = append(all, tfs...)
	}
	return all
}

func parseRunLine(t *testing.T, path string, line int, s string) runLine {
	t.Helper()
	where := path + ":" + strconv.Itoa(line)
	lhs, rhs, ok := strings.Cut(s, "->")
	require.True(t, ok, "%s: run line without ->", where)
	r := runLine{line: line}
	for i, w := range strings.Fields(lhs) {
		if i == 0 && w == "be" {
			r.be = true
			continue
		}
		n, err := strconv.ParseUint(w, 0, 32)
		require.NoError(t, err, where)
		r.args = append(r.args, uint32(n))
	}
	rhs = strings.TrimSpace(rhs)
	if msg, ok := strings.CutPrefix(rhs, "error "); ok {
		r.wantErr, _ = strconv.Unquote(msg)
		require.NotEmpty(t, r.wantErr, "%s: error text must be a non-empty quoted string", where)
		return r
	}
	n, err := strconv.ParseUint(rhs, 0, 64)
	require.NoError(t, err, where)
	r.want = n
	return r
}

// Test environment: the 512-byte BPF stack just below FramePtr, the locals,
// and a 64-byte ctx holding the bytes 0..63.
const (
	testStackBase = 0x10000
	testFramePtr  = testStackBase + 512
	testLocalBase = 0x20000
	testCtxBase   = 0x30000
)

func newTestEnv(f *Func, args []uint32, bigEndian bool) InterpConfig {
	ctx := make([]byte, 64)
	for i := range ctx {
		ctx[i] = byte(i)
	}
	mem := &RegionMemory{BigEndian: bigEndian, Regions: []*Region{
		{Base: testStackBase, Data: make([]byte, 512), Name: "stack"},
		{Base: testLocalBase, Data: make([]byte, 8*f.NumLocals), Name: "locals"},
		{Base: testCtxBase, Data: ctx, Name: "ctx"},
	}}
	return InterpConfig{Args: args, Mem: mem, FramePtr: testFramePtr, LocalBase: testLocalBase, Call: testCall,
		Symbols: map[string]uint32{"table": testCtxBase + 16}, TailCall: testTailCall}
}

// testTailCall serves BlockTailCall: it packs its four operands into the
// result (a byte each) so a swapped operand shows.
func testTailCall(target, ctx, length, count uint32) (uint64, error) {
	return uint64(target&0xff)<<24 | uint64(ctx&0xff)<<16 | uint64(length&0xff)<<8 | uint64(count&0xff), nil
}

// testCall serves OpCall in filetests: "weighted" returns the sum of
// argument i times i+1, so a swapped or dropped argument shows.
func testCall(sym string, args []uint64) (uint64, error) {
	if sym != "weighted" {
		return 0, fmt.Errorf("no test callee %q", sym)
	}
	var r uint64
	for i, a := range args {
		r += a * uint64(i+1)
	}
	return r, nil
}
