package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const example = "../../testdata/examples/ipv4_proto.s"

// ipv4TCPFrame is an Ethernet + IPv4 header carrying TCP (protocol 6).
const ipv4TCPFrame = "00 11 22 33 44 55 66 77 88 99 aa bb 08 00 45 00 00 54 00 00 40 00 40 06 00 00 0a 00 00 01 0a 00 00 02"

func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = run(args, &out, &errb)
	return out.String(), errb.String(), err
}

func needTool(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			t.Skipf("%s missing (BPFOPT_SKIP_EXTERNAL=1)", tool)
		}
		t.Fatalf("%s not found: install the Debian package %s (./test.sh does)", tool, pkg)
	}
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestRunPrintsR0(t *testing.T) {
	needTool(t, "qemu-mipsel", "qemu-user")
	for _, engine := range []string{"sim", "qemu"} {
		out, _, err := runCLI("run", "--engine="+engine, "--mem-hex", ipv4TCPFrame, example)
		require.NoError(t, err, engine)
		require.Equal(t, "0x6\n", out, engine)
	}
	out, stderr, err := runCLI("run", "--stats", "--mem-hex", ipv4TCPFrame, example)
	require.NoError(t, err)
	require.Equal(t, "0x6\n", out)
	require.Regexp(t, `^dynamic_insns=[1-9][0-9]* cycles=[1-9][0-9]* `, stderr)
	_, _, err = runCLI("run", "--engine=qemu", "--stats", example)
	require.Equal(t, 2, exitCode(err))

	out, _, err = runCLI("run", "--mem-hex", "00 11", example, "-O0")
	require.NoError(t, err)
	require.Equal(t, "0x0\n", out, "a short frame is rejected")
}

func TestRunDumpMem(t *testing.T) {
	needTool(t, "qemu-mipsel", "qemu-user")
	src := filepath.Join(t.TempDir(), "store.s")
	require.NoError(t, os.WriteFile(src, []byte("stw [%r1+1], 0x11223344\nldxb %r0, [%r1]\nexit\n"), 0o644))
	out, _, err := runCLI("run", "--mem-hex", "aa 00 00 00 00 bb", "--dump-mem", src)
	require.NoError(t, err)
	require.Equal(t, "0xaa\naa 44 33 22 11 bb\n", out)
}

func TestRunFaultIsAnError(t *testing.T) {
	needTool(t, "qemu-mipsel", "qemu-user")
	src := filepath.Join(t.TempDir(), "fault.s")
	// Reads far outside the (empty) memory block.
	require.NoError(t, os.WriteFile(src, []byte("ldxw %r0, [%r1+4096]\nexit\n"), 0o644))
	_, _, err := runCLI("run", src)
	require.Error(t, err)
	require.Equal(t, 3, exitCode(err))
	require.Contains(t, err.Error(), "runtime fault")
}

func TestCompileErrorsNameTheInstruction(t *testing.T) {
	dir := t.TempDir()
	bad := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	insn := func(op, regs uint8, off int16, imm int32) []byte {
		b := make([]byte, 8)
		b[0], b[1] = op, regs
		binary.LittleEndian.PutUint16(b[2:], uint16(off))
		binary.LittleEndian.PutUint32(b[4:], uint32(imm))
		return b
	}
	exit := insn(0x95, 0, 0, 0)
	cases := []struct {
		name, file, want string
	}{
		{"truncated", bad("trunc.bin", append(exit, 1, 2, 3)), "truncated"},
		{"unknown opcode", bad("op.bin", append(insn(0xff, 0, 0, 0), exit...)), "instruction 0"},
		{"jump out of range", bad("jmp.bin", append(insn(0x05, 0, 10, 0), exit...)), "instruction 0"},
		{"bad register", bad("reg.bin", append(insn(0xb7, 0x0c, 0, 1), exit...)), "instruction 0"},
		{"syntax error", bad("syntax.s", []byte("mov %r0, 1\nfrob %r1\nexit\n")), "line 2"},
		{"not ELF", bad("junk.o", []byte("\x7fELF\x01\x01garbage")), "junk.o"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCLI("compile", "-o", filepath.Join(dir, "out.o"), c.file)
			require.Error(t, err)
			require.Equal(t, 1, exitCode(err))
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	_, _, err := runCLI()
	require.Equal(t, 2, exitCode(err))
	_, _, err = runCLI("frobnicate")
	require.Equal(t, 2, exitCode(err))
	_, _, err = runCLI("compile", "--march=mips64", example)
	require.Equal(t, 2, exitCode(err))
	require.Contains(t, err.Error(), "mips64")
}

// TestCompiledObjectLinksWithC compiles the example to an ELF object, links
// it into a C program with the Debian cross compiler and runs it under qemu.
func TestCompiledObjectLinksWithC(t *testing.T) {
	needTool(t, "mipsel-linux-gnu-gcc", "gcc-mipsel-linux-gnu")
	needTool(t, "qemu-mipsel", "qemu-user")
	dir := t.TempDir()
	obj := filepath.Join(dir, "ipv4.o")
	_, _, err := runCLI("compile", "--entry", "ipv4_proto", "-o", obj, example)
	require.NoError(t, err)
	main := filepath.Join(dir, "main.c")
	require.NoError(t, os.WriteFile(main, []byte(`
#include <stdint.h>
#include <stdio.h>
#include <string.h>
uint64_t ipv4_proto(void *ctx, size_t len);
int main(void) {
	/* ctx must have the ABI's alignment (docs/abi.md) */
	unsigned char f[34] __attribute__((aligned(4))) = {0,0x11,0x22,0x33,0x44,0x55,0x66,0x77,0x88,0x99,0xaa,0xbb,8,0,0x45,0,0,0x54,0,0,0x40,0,0x40,17};
	uint64_t udp = ipv4_proto(f, sizeof f);
	f[13] = 6; /* ARP-ish ethertype 0x0806 */
	uint64_t other = ipv4_proto(f, sizeof f);
	uint64_t shortf = ipv4_proto(f, 20);
	printf("%llu %llu %llu\n", (unsigned long long)udp, (unsigned long long)other, (unsigned long long)shortf);
	return !(udp == 17 && other == 0 && shortf == 0);
}
`), 0o644))
	exe := filepath.Join(dir, "prog")
	out, err := exec.Command("mipsel-linux-gnu-gcc", "-static", "-O2", "-o", exe, main, obj).CombinedOutput()
	require.NoError(t, err, string(out))
	require.NotContains(t, string(out), "warning", "linking must be clean")
	out, err = exec.Command("qemu-mipsel", "-cpu", "24Kf", exe).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "17 0 0", strings.TrimSpace(string(out)))
}

// TestRunELFObjectWithMapsAndSubprograms runs the programs of a clang-built
// object (frontend/bpf/testdata/progs.c): "pure" calls two subprograms,
// "counted" looks up an array map, adds a .rodata constant atomically, and
// returns fib(5). The expected values come from the C source. The default
// engine (sim) runs every case, qemu one with the map.
func TestRunELFObjectWithMapsAndSubprograms(t *testing.T) {
	const obj = "../../frontend/bpf/testdata/progs_el.o"
	for prog, want := range map[string]string{"pure": "0x51\n", "counted": "0x5\n"} {
		for _, level := range []string{"-O0", "-O2"} {
			out, _, err := runCLI("run", "--prog", prog, level, obj)
			require.NoError(t, err, "%s %s", prog, level)
			require.Equal(t, want, out, "%s %s", prog, level)
		}
	}
	needTool(t, "qemu-mipsel", "qemu-user")
	out, _, err := runCLI("run", "--engine=qemu", "--prog", "counted", obj)
	require.NoError(t, err)
	require.Equal(t, "0x5\n", out)

	out, _, err = runCLI("compile", "-S", "-o", "-", obj)
	require.NoError(t, err)
	for _, sym := range []string{"counted:", "pure:", "counters:", "__rodata:", ".local\tcounted__fib"} {
		require.Contains(t, out, sym)
	}
}
