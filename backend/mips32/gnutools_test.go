package mips32

// Helpers that run the GNU cross tools and qemu, the oracles of the
// encoder, printer and ELF writer tests.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// debianPackage names the package that provides each external tool.
var debianPackage = map[string]string{
	"mipsel-linux-gnu-as":      "binutils-mipsel-linux-gnu",
	"mipsel-linux-gnu-objcopy": "binutils-mipsel-linux-gnu",
	"mipsel-linux-gnu-objdump": "binutils-mipsel-linux-gnu",
	"mipsel-linux-gnu-readelf": "binutils-mipsel-linux-gnu",
	"mipsel-linux-gnu-gcc":     "gcc-mipsel-linux-gnu libc6-dev-mipsel-cross",
	"qemu-mipsel":              "qemu-user",
	"qemu-mips":                "qemu-user",
	"go":                       "golang-go",
}

// requireTools fails the test when a tool is missing, naming the Debian
// package to install; with BPFOPT_SKIP_EXTERNAL=1 it skips instead.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err == nil {
			continue
		}
		msg := tool + " not found: apt-get install " + debianPackage[tool] + " (or set BPFOPT_SKIP_EXTERNAL=1)"
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
}

// gasFlags are the flags under which GNU as must reproduce Assemble's bytes
// (see emit_asm.go).
func gasFlags(tg Target) []string {
	endian := "-EL"
	if tg.BigEndian {
		endian = "-EB"
	}
	return []string{endian, "-march=" + tg.March(), "-mabi=32", "-mno-fix-loongson3-llsc"}
}

// gnuAssemble assembles src with GNU as and returns the object's path. Any
// assembler output (even a warning) fails the test.
func gnuAssemble(t *testing.T, src string, tg Target) string {
	t.Helper()
	requireTools(t, "mipsel-linux-gnu-as")
	dir := t.TempDir()
	s, o := filepath.Join(dir, "f.s"), filepath.Join(dir, "f.o")
	require.NoError(t, os.WriteFile(s, []byte(src), 0o644))
	out, err := exec.Command("mipsel-linux-gnu-as", append(gasFlags(tg), "-o", o, s)...).CombinedOutput()
	require.NoError(t, err, "GNU as failed:\n%s", out)
	require.Empty(t, string(out), "GNU as warned")
	return o
}

// textSection returns the .text bytes of an object file.
func textSection(t *testing.T, obj string) []byte {
	t.Helper()
	requireTools(t, "mipsel-linux-gnu-objcopy")
	bin := obj + ".text.bin"
	out, err := exec.Command("mipsel-linux-gnu-objcopy", "-O", "binary", "-j", ".text", obj, bin).CombinedOutput()
	require.NoError(t, err, "objcopy: %s", out)
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	return b
}

// textRelocs returns the relocations of .text, as readelf prints them.
func textRelocs(t *testing.T, obj string) []Reloc {
	t.Helper()
	requireTools(t, "mipsel-linux-gnu-readelf")
	out, err := exec.Command("mipsel-linux-gnu-readelf", "-rW", obj).CombinedOutput()
	require.NoError(t, err, "readelf: %s", out)
	types := map[string]RelocType{"R_MIPS_HI16": RelocHi16, "R_MIPS_LO16": RelocLo16, "R_MIPS_32": Reloc32}
	var rs []Reloc
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Relocation section") {
			section = strings.Trim(strings.Fields(line)[2], "'")
			continue
		}
		f := strings.Fields(line)
		if section != ".rel.text" || len(f) < 5 || !strings.HasPrefix(f[2], "R_MIPS_") {
			continue
		}
		off, err := strconv.ParseUint(f[0], 16, 32)
		require.NoError(t, err, line)
		typ, ok := types[f[2]]
		require.True(t, ok, "unexpected relocation %s", line)
		rs = append(rs, Reloc{Offset: uint32(off), Type: typ, Sym: f[4]})
	}
	return rs
}
