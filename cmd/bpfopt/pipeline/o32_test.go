package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// o32Dir holds the O32 call test's sources: prog.s (the BPF program),
// helpers.c (its helpers, built by GCC at -O0 -fPIC), wrapper.S (checks
// s0-s7, fp and sp around the program), main.c (the driver) and broken.S
// (a hand-broken program for the negative control).
var o32Dir = filepath.Join("..", "..", "..", "testdata", "o32")

// o32Tool finds an external program or fails naming the Debian package
// (skips under BPFOPT_SKIP_EXTERNAL=1).
func o32Tool(t *testing.T, name, debianPkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			t.Skipf("%s not found (BPFOPT_SKIP_EXTERNAL=1)", name)
		}
		t.Fatalf("%s not found in PATH: install the Debian package %s", name, debianPkg)
	}
	return path
}

func o32Exec(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %q:\n%s", name, args, out)
}

// o32Run runs a static MIPS executable under qemu-mipsel on a 24Kf (an FPU:
// Debian's glibc needs one) and returns its output and exit code.
func o32Run(t *testing.T, qemu, exe string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemu, "-cpu", "24Kf", exe).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err, "running %s under %s:\n%s", exe, qemu, out)
	return string(out), 0
}

// TestO32CallsIntoGCCCode links a compiled BPF program that calls helpers
// with GCC-compiled helpers and runs it: every 64-bit argument must arrive
// whole (r1, r2 in a0..a3, r3..r5 on the stack), sp must be 8-byte aligned
// at the calls, the 16-byte home area must be reserved (GCC -O0 stores
// a0..a3 there), the call must go through t9 (PIC helpers compute gp from
// it), r6-r9 and the BPF stack must survive the calls, the 64-bit result
// must come back whole, and s0-s7, fp and sp must be preserved for the C
// caller. main exits 0 only if every check passed.
func TestO32CallsIntoGCCCode(t *testing.T) {
	gcc := o32Tool(t, "mipsel-linux-gnu-gcc", "gcc-mipsel-linux-gnu")
	qemu := o32Tool(t, "qemu-mipsel", "qemu-user")
	tmp := t.TempDir()
	obj := func(name string) string { return filepath.Join(tmp, name+".o") }
	src := func(name string) string { return filepath.Join(o32Dir, name) }
	o32Exec(t, gcc, "-O0", "-fPIC", "-Wall", "-Werror", "-c", src("helpers.c"), "-o", obj("helpers"))
	o32Exec(t, gcc, "-O0", "-Wall", "-Werror", "-c", src("main.c"), "-o", obj("main"))
	o32Exec(t, gcc, "-c", src("wrapper.S"), "-o", obj("wrapper"))
	link := func(t *testing.T, prog, exe string) {
		o32Exec(t, gcc, "-static", "-no-pie", "-o", exe, obj("main"), obj("wrapper"), obj("helpers"), prog)
	}

	progs, err := Load(src("prog.s"), LoadOptions{})
	require.NoError(t, err)
	require.Len(t, progs, 1)
	for _, level := range []int{0, 2} {
		for _, rev := range []mips32.Revision{mips32.R2, mips32.R1} {
			target := mips32.Target{Rev: rev}
			t.Run(fmt.Sprintf("O%d/%s", level, target), func(t *testing.T) {
				res, err := Compile(progs[0], "o32_prog", Options{Target: target, OptLevel: level, VerifyEach: true, CheckAllocation: true})
				require.NoError(t, err)
				called := map[string]bool{}
				for _, r := range res.Module.Relocs {
					called[r.Sym] = true
				}
				require.True(t, called["bpf_helper_900"] && called["bpf_helper_901"], "the helper calls are missing: relocations %v", res.Module.Relocs)
				// Otherwise the preservation check would prove little.
				require.Positive(t, res.Module.Stats.CalleeSavedUsed, "r6-r9 live across the calls but no callee-saved register is used")

				var elf bytes.Buffer
				require.NoError(t, mips32.WriteELF(&elf, res.Module.ELFFuncs(), target))
				prog := filepath.Join(t.TempDir(), "prog.o")
				require.NoError(t, os.WriteFile(prog, elf.Bytes(), 0o644))
				exe := filepath.Join(t.TempDir(), "o32")
				link(t, prog, exe)
				out, code := o32Run(t, qemu, exe)
				assert.Equal(t, 0, code, "the O32 checks failed:\n%s", out)
				assert.Contains(t, out, "o32: all checks passed")
			})
		}
	}

	// The negative control: a program that breaks O32 in every checked way
	// must fail every corresponding check.
	t.Run("the checks catch a broken program", func(t *testing.T) {
		o32Exec(t, gcc, "-c", src("broken.S"), "-o", obj("broken"))
		exe := filepath.Join(t.TempDir(), "broken")
		link(t, obj("broken"), exe)
		out, code := o32Run(t, qemu, exe)
		assert.Equal(t, 1, code, out)
		for _, want := range []string{
			"FAIL bpf_helper_900: sp = ", // " is not 8-byte aligned"
			"FAIL bpf_helper_900: r1 = ",
			"FAIL s3 not preserved across the BPF function",
			"FAIL r0 = 0x0000000000000000, want 0xc0ffee0200000010",
			"FAIL calls of bpf_helper_901 = 0x0000000000000000, want 0x0000000000000001",
		} {
			assert.Contains(t, out, want)
		}
		assert.NotContains(t, out, "all checks passed")
	})
}
