package conformance

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseText(t *testing.T) {
	text := `# Copyright line
# SPDX-License-Identifier: MIT
-- asm
mov %r0, 1 # comment
exit
-- mem
00 01 ff
# a comment inside mem
10
-- raw
0x00000001000000b7
149
-- result
0x1
-- c
int f(void) { return 1; }
-- no register offset
call instruction
`
	tc, err := ParseText(text)
	require.NoError(t, err)
	require.Equal(t, "mov %r0, 1 # comment\nexit", tc.Asm)
	require.Equal(t, 4, tc.AsmLine)
	require.Equal(t, []byte{0x00, 0x01, 0xff, 0x10}, tc.Mem)
	require.Equal(t, []uint64{0xb7 | 1<<32, 0x95}, tc.Raw)
	require.Equal(t, []byte{0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}, tc.RawBytes())
	require.True(t, tc.HasResult)
	require.Equal(t, uint64(1), tc.Result)
	require.Empty(t, tc.Error)
	require.Equal(t, "int f(void) { return 1; }", tc.Sections["c"])
	require.Equal(t, "call instruction\n", tc.Sections["no register offset"])
	require.Len(t, tc.Sections, 6)
}

func TestParseTextErrorSection(t *testing.T) {
	tc, err := ParseText("-- asm\nmov %r11, 1\nexit\n-- error\nFailed to load code: invalid register\n")
	require.NoError(t, err)
	require.False(t, tc.HasResult)
	require.Equal(t, "Failed to load code: invalid register", tc.Error)
	require.Nil(t, tc.Mem)
	require.Nil(t, tc.Raw)

	tc, err = ParseText("-- asm\nexit\n-- result\n42\n")
	require.NoError(t, err)
	require.Equal(t, uint64(42), tc.Result, "decimal without 0x")
}

func TestParseTextErrors(t *testing.T) {
	for _, c := range []struct{ text, msg string }{
		{"-- asm\nexit\n", "neither a result nor an error"},
		{"-- result\n0x1\n", "no asm or raw section"},
		{"-- asm\nexit\n-- result\n0xzz\n", "result section (line 4)"},
		{"-- asm\nexit\n-- result\n1\n2\n", "want one value, got 2 lines"},
		{"-- asm\nexit\n-- mem\n0g\n-- result\n1\n", `mem section (line 4): bad byte "0g"`},
		{"-- asm\nexit\n-- mem\n100\n-- result\n1\n", `bad byte "100"`},
		{"-- raw\n0xq\n-- result\n1\n", "raw section (line 2)"},
		{"-- asm\nexit\n-- asm\nexit\n-- result\n1\n", `section "asm" appears twice`},
	} {
		_, err := ParseText(c.text)
		require.ErrorContains(t, err, c.msg, c.text)
	}
}

func TestLoadDir(t *testing.T) {
	tests, err := LoadDir(Dir())
	require.NoError(t, err)
	require.Len(t, tests, 313, "the suite as vendored in shared/ (see its README)")
	names := map[string]*Test{}
	for _, tc := range tests {
		require.NotEmpty(t, tc.Asm, tc.Name)
		require.True(t, tc.HasResult, tc.Name)
		names[tc.Name] = tc
	}
	memLen := names["mem-len"]
	require.NotNil(t, memLen)
	require.Equal(t, []byte{0, 0, 0, 1, 0, 0, 0, 2}, memLen.Mem)
	require.Equal(t, uint64(8), memLen.Result)
	require.Equal(t, filepath.Join(Dir(), "mem-len.data"), memLen.Path)
	require.Len(t, names["lddw"].Raw, 3)
}

func TestDir(t *testing.T) {
	t.Setenv(EnvDir, "/somewhere/else")
	require.Equal(t, "/somewhere/else", Dir())
	t.Setenv(EnvDir, "")
	dir := Dir()
	require.Equal(t, "conformance", filepath.Base(dir))
	_, err := os.Stat(filepath.Join(dir, "README.md"))
	require.NoError(t, err)

	_, err = LoadDir(t.TempDir())
	require.ErrorContains(t, err, "no .data files")
	require.ErrorContains(t, err, EnvDir)
}
