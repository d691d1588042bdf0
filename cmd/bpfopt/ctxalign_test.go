package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ctxLoads reads a word at ctx+4, halves at ctx+8 (aligned) and ctx+13
// (never aligned) and a double word at ctx+16, and returns their sum.
const ctxLoads = `ldxw %r0, [%r1+4]
ldxh %r2, [%r1+8]
add %r0, %r2
ldxh %r2, [%r1+13]
add %r0, %r2
ldxdw %r2, [%r1+16]
add %r0, %r2
exit
`

// loadsOf lists the loads of -S output as "mnemonic offset".
func loadsOf(asm string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\t(lbu|lhu|lw|lwl|lwr)\t\$\w+, (-?\d+)\(`).FindAllStringSubmatch(asm, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

// --ctx-align (default 4) makes ctx accesses at aligned offsets plain
// loads at every level; an offset that is not a multiple of the access
// size keeps the unaligned sequence; 1 assumes nothing.
func TestCtxAlignFlag(t *testing.T) {
	src := filepath.Join(t.TempDir(), "ctx.s")
	require.NoError(t, os.WriteFile(src, []byte(ctxLoads), 0o644))
	unaligned := []string{"lwl 7", "lwr 4", "lbu 8", "lbu 9", "lbu 13", "lbu 14", "lwl 19", "lwr 16", "lwl 23", "lwr 20"}
	halfAligned := []string{"lwl 7", "lwr 4", "lhu 8", "lbu 13", "lbu 14", "lwl 19", "lwr 16", "lwl 23", "lwr 20"}
	aligned := []string{"lw 4", "lhu 8", "lbu 13", "lbu 14", "lw 16", "lw 20"}
	for _, tc := range []struct {
		flag string
		want []string
	}{
		{"", aligned}, // the default: 4
		{"--ctx-align=1", unaligned},
		{"--ctx-align=2", halfAligned},
		{"--ctx-align=4", aligned},
		{"--ctx-align=8", aligned},
	} {
		for _, level := range []string{"-O0", "-O1", "-O2"} {
			args := []string{"compile", "-S", level, "-o", "-", src}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			out, _, err := runCLI(args...)
			require.NoError(t, err, "%s %s", tc.flag, level)
			require.Equal(t, tc.want, loadsOf(out), "%s %s", tc.flag, level)
		}
	}
	for _, bad := range []string{"0", "3", "16", "-4"} {
		_, _, err := runCLI("compile", "-S", "-o", "-", "--ctx-align="+bad, src)
		require.Equal(t, 2, exitCode(err), bad)
		require.EqualError(t, err, "--ctx-align: ctx alignment "+bad+": want a power of two from 1 to 8")
	}
}

// The run engines place ctx 8-aligned, so every promise holds and the
// result is the same.
func TestCtxAlignRun(t *testing.T) {
	needTool(t, "qemu-mipsel", "qemu-user")
	src := filepath.Join(t.TempDir(), "ctx.s")
	require.NoError(t, os.WriteFile(src, []byte(ctxLoads), 0o644))
	var mem []string
	for i := range 24 {
		mem = append(mem, fmt.Sprintf("%02x", i))
	}
	for _, engine := range []string{"sim", "qemu"} {
		for _, flag := range []string{"--ctx-align=1", "--ctx-align=4", "--ctx-align=8"} {
			out, _, err := runCLI("run", "--engine="+engine, flag, "--mem-hex", strings.Join(mem, " "), src)
			require.NoError(t, err, "%s %s", engine, flag)
			// 0x07060504 + 0x0908 + 0x0e0d + 0x1716151413121110
			require.Equal(t, "0x171615141a182d29\n", out, "%s %s", engine, flag)
		}
	}
}

// Both engines keep the contract for every memory length: r1 is a
// multiple of 8, the largest --ctx-align.
func TestEnginesPlaceCtxAligned(t *testing.T) {
	needTool(t, "qemu-mipsel", "qemu-user")
	src := filepath.Join(t.TempDir(), "ctx.s")
	require.NoError(t, os.WriteFile(src, []byte("mov %r0, %r1\nexit\n"), 0o644))
	for _, engine := range []string{"sim", "qemu"} {
		for _, mem := range []string{"01", "01 02 03", "01 02 03 04 05", "01 02 03 04 05 06 07 08 09"} {
			out, _, err := runCLI("run", "--engine="+engine, "--mem-hex", mem, src)
			require.NoError(t, err, engine)
			r1, err := strconv.ParseUint(strings.TrimSpace(out), 0, 64)
			require.NoError(t, err, out)
			require.NotZero(t, r1, engine)
			require.Zero(t, r1%8, "%s: ctx at %#x with %q", engine, r1, mem)
		}
	}
}
