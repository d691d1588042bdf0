package filetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = "; test deadcode\n; target: mips32el\n\nfunc f {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    Ret v1, v1\n}\n; run: 3, -1 -> 0x300000003\n; run: -> -2\n; check:\n; stale\n\nfunc g {\nb0:\n    v1:i32 = Arg [0]\n    Ret v1, v1\n}\n"

func write(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.ir")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

func TestParse(t *testing.T) {
	path := write(t, sample)
	f, err := Parse(path)
	require.NoError(t, err)
	assert.Equal(t, "deadcode", f.Test)
	assert.Equal(t, 1, f.TestLine)
	assert.Equal(t, "mips32el", f.Target)
	assert.Equal(t, 2, f.TargetLine)
	require.Len(t, f.Cases, 2)
	c := f.Cases[0]
	assert.Equal(t, "f", c.Name)
	assert.Equal(t, 4, c.Line)
	assert.Equal(t, "func f {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    Ret v1, v1\n}\n", c.Src)
	assert.True(t, c.HasCheck)
	assert.Equal(t, "stale\n", c.Want)
	assert.Equal(t, []Run{{Line: 10, Words: []uint32{3, 0xffffffff}, Want: 0x300000003}, {Line: 11, Want: 0xfffffffffffffffe}}, c.Runs)
	assert.False(t, f.Cases[1].HasCheck)
	assert.Equal(t, path+":15: function g", f.Where(f.Cases[1]))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"func f {\nb0:\n    Ret\n}\n", ":1: function before the \"; test ...\" header"},
		{"; target: mips32el\n", ": no \"; test ...\" header"},
		{"; test deadcode\n", ": no functions"},
		{"; test deadcode\nfunc f {\nb0:\n", ":2: function has no closing \"}\""},
		{"; test deadcode\n; run: 1 -> 2\n", ":2: run line before any function"},
		{"; test deadcode\n; check:\n", ":2: check block without a function before it"},
		{"; test deadcode\nfunc f {\n}\n; check:\n; a\n\n; check:\n", ":7: check block without a function before it"},
		{"; test deadcode\nfunc f {\n}\n; run: 1 2\n", ":4: run line needs \"WORDS -> RESULT\""},
		{"; test deadcode\nfunc f {\n}\n; run: x -> 2\n", ":4: bad word \"x\""},
		{"; test deadcode\nfunc f {\n}\n; run: 0x100000000 -> 2\n", ":4: bad word \"0x100000000\""},
		{"; test deadcode\nfunc f {\n}\n; run: -2147483649 -> 2\n", ":4: bad word \"-2147483649\""},
		{"; test deadcode\nfunc f {\n}\n; run: 1 -> 0x10000000000000000\n", ":4: bad result \"0x10000000000000000\""},
	} {
		_, err := ParseText("x.ir", tc.src)
		require.EqualError(t, err, "x.ir"+tc.want, tc.src)
	}
	_, err := Parse(filepath.Join(t.TempDir(), "missing.ir"))
	require.Error(t, err)
}

// TestRewrite checks the rewrite -update does: a stale block replaced, a
// missing one added after the run lines, trailing blanks trimmed.
func TestRewrite(t *testing.T) {
	f, err := Parse(write(t, sample))
	require.NoError(t, err)
	want := "; test deadcode\n; target: mips32el\n\nfunc f {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    Ret v1, v1\n}\n; run: 3, -1 -> 0x300000003\n; run: -> -2\n; check:\n; func f {\n;\n; }\n\n" +
		"func g {\nb0:\n    v1:i32 = Arg [0]\n    Ret v1, v1\n}\n; check:\n; func g {\n; }\n"
	require.Equal(t, want, f.Rewrite([]string{"func f {\n\n}\n", "func g {\n}\n"}))
}

func TestMismatches(t *testing.T) {
	f, err := Parse(write(t, sample))
	require.NoError(t, err)
	msgs := f.Mismatches([]string{"stale\n", "x\n"})
	require.Len(t, msgs, 1, "f matches its block")
	assert.Equal(t, f.Path+":15: function g: no \"; check:\" block; the output is\nx\n", msgs[0])
	msgs = f.Mismatches([]string{"fresh\n", "x\n"})
	require.Len(t, msgs, 2)
	assert.Equal(t, f.Path+":4: function f: output differs from the check block (-want +got):\n- stale\n+ fresh\n", msgs[0])
}

func TestDiff(t *testing.T) {
	assert.Equal(t, "  a\n- b\n+ B\n  c\n+ d\n", Diff("a\nb\nc\n", "a\nB\nc\nd\n"))
	assert.Equal(t, "  a\n", Diff("a\n", "a\n"))
	assert.Equal(t, "- a\n- b\n+ c\n", Diff("a\nb\n", "c\n"))
}

// TestRunFilesUpdate blesses a file and then passes on it.
func TestRunFilesUpdate(t *testing.T) {
	path := write(t, sample)
	pattern := filepath.Join(filepath.Dir(path), "*.ir")
	output := func(t *testing.T, f *File) []string {
		var got []string
		for _, c := range f.Cases {
			got = append(got, "name "+c.Name+"\n")
		}
		return got
	}
	RunFiles(t, pattern, true, output)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "; run: -> -2\n; check:\n; name f\n\nfunc g")
	assert.Contains(t, string(data), "}\n; check:\n; name g\n")
	RunFiles(t, pattern, false, output)
}
