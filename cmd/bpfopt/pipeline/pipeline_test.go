package pipeline

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

// engine returns the shared qemu engine for t, failing (not skipping) when
// qemu or the cross compiler is missing unless BPFOPT_SKIP_EXTERNAL=1.
func engine(tb testing.TB, t mips32.Target) *qemu.Engine {
	tb.Helper()
	e, err := qemu.Shared(t)
	if err != nil {
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			tb.Skipf("qemu engine unavailable (BPFOPT_SKIP_EXTERNAL=1): %v", err)
		}
		tb.Fatalf("qemu engine unavailable: %v (install qemu-user and gcc-mipsel-linux-gnu, or run ./test.sh)", err)
	}
	return e
}

// namedEngine is engine for any engine name.
func namedEngine(tb testing.TB, name string, t mips32.Target) Engine {
	tb.Helper()
	if name == "qemu" {
		return qemuEngine{engine(tb, t)}
	}
	e, err := NewEngine(name, t)
	require.NoError(tb, err)
	return e
}

// TestConformanceOnQemu runs the suite on both engines (the name is kept
// for docs and habits).
func TestConformanceOnQemu(t *testing.T) {
	tests, err := conformance.LoadDir(conformance.Dir())
	require.NoError(t, err)
	require.Greater(t, len(tests), 300, "conformance suite not found or incomplete")
	for _, level := range []int{0, 2} {
		for _, rev := range []mips32.Revision{mips32.R2, mips32.R1} {
			for _, eng := range Engines {
				target := mips32.Target{Rev: rev}
				t.Run(fmt.Sprintf("%s/O%d/%s", eng, level, target), func(t *testing.T) {
					e := namedEngine(t, eng, target)
					outcomes := make([]Outcome, len(tests))
					var wg sync.WaitGroup
					for i, tc := range tests {
						wg.Add(1)
						go func() {
							defer wg.Done()
							outcomes[i] = RunConformanceTest(tc, e, Options{Target: target, OptLevel: level, VerifyEach: true, CheckAllocation: true})
						}()
					}
					wg.Wait()
					summary, pass, fail, skip := Summary(outcomes)
					t.Log(summary)
					require.Zero(t, fail, summary)
					require.Zero(t, skip, summary)
					require.Equal(t, len(tests), pass)
				})
			}
		}
	}
}

// longProgram builds a program of about n instructions whose jumps span
// far more than MIPS's ±128 KiB branch range, forward and backward (BPF's
// own offsets reach ±32K instructions, each several MIPS instructions):
// sections of about 30,000 instructions, each a loop run three times over
// two straight-line runs, the first skipped on even iterations. The first
// run mixes the loop counter in, so that no constant folding collapses it.
func longProgram(n int) string {
	var sb strings.Builder
	sb.WriteString("mov %r0, 0\n")
	const section = 30_000
	for s := 0; s*section < n; s++ {
		fmt.Fprintf(&sb, "mov %%r6, 3\nmov %%r7, 0\ntop%d:\n", s)
		fmt.Fprintf(&sb, "add %%r7, 1\nmov %%r8, %%r7\nand %%r8, 1\njeq %%r8, 0, far%d\n", s)
		for i := 0; i < section/2; i++ {
			if i%2 == 0 {
				fmt.Fprintf(&sb, "add %%r0, %d\n", i%7+1)
			} else {
				sb.WriteString("xor %r0, %r7\n") // no constant folding across this
			}
		}
		fmt.Fprintf(&sb, "far%d:\n", s)
		for i := 0; i < section/2; i++ {
			fmt.Fprintf(&sb, "xor %%r0, %d\n", i%5)
			if i%1000 == 0 {
				sb.WriteString("lsh %r0, 1\n")
			}
		}
		fmt.Fprintf(&sb, "sub %%r6, 1\njne %%r6, 0, top%d\n", s)
	}
	sb.WriteString("exit\n")
	return sb.String()
}

func TestLongProgram(t *testing.T) {
	p, err := bpf.ParseAsm(longProgram(150_000))
	require.NoError(t, err)
	require.Greater(t, len(p.Insns), 100_000)
	want, err := bpf.Interpret(p, bpf.RunConfig{})
	require.NoError(t, err)

	target := mips32.DefaultTarget
	start := time.Now()
	res, err := Compile(p, "long", Options{Target: target, OptLevel: 2, CheckAllocation: true})
	require.NoError(t, err)
	t.Logf("compiled %d BPF instructions to %d bytes in %v", len(p.Insns), len(res.Module.Code), time.Since(start))
	require.Greater(t, len(res.Module.Code), 4*65536, "code must exceed the branch range to test long branches")

	r, err := engine(t, target).Run(res.Module.Code, res.Module.Relocs, 0, nil)
	require.NoError(t, err)
	require.Nil(t, r.Fault)
	require.Equal(t, want, r.R0)
}
