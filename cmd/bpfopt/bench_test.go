package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBench runs `bpfopt bench` on two programs and reads the table back.
func TestBench(t *testing.T) {
	needTool(t, "clang", "clang")
	needTool(t, "mipsel-linux-gnu-gcc", "gcc-mipsel-linux-gnu")
	out := filepath.Join(t.TempDir(), "table.md")
	stdout, stderr, err := runCLI("bench", "--filter", "^(vlan_walk|conf_prime)$", "-o", out, "../../testdata/bench")
	require.NoError(t, err, stderr)
	require.Empty(t, stdout)
	require.Regexp(t, `(?m)^bench: vlan_walk +ok `, stderr)
	require.Regexp(t, `(?m)^bench: conf_prime +ok `, stderr)
	md, err := os.ReadFile(out)
	require.NoError(t, err)
	text := string(md)
	require.True(t, strings.HasPrefix(text, "Measured by `bpfopt bench` on "), text)
	require.Regexp(t, `(?m)^\| vlan_walk \| C \| [0-9]+ \| 6 \| .* \| ok \|  \|$`, text)
	require.Regexp(t, `(?m)^\| conf_prime \| conformance \| 16 \| 1 \| .* \| ok \| no GCC: no C source \|$`, text)
	require.Contains(t, text, "| code bytes bpfopt -O2 / GCC -O2 | ")

	_, _, err = runCLI("bench", "--filter", "(", "-q")
	require.Equal(t, 2, exitCode(err))
	_, _, err = runCLI("bench", "-q", "a", "b")
	require.Equal(t, 2, exitCode(err))
	_, _, err = runCLI("bench", "-q", "--filter", "^nothing$")
	require.ErrorContains(t, err, "no benchmark matches")
}
