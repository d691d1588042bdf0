package pipeline

import (
	"fmt"
	"strings"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

// Verdict is the outcome of one conformance test.
type Verdict int

const (
	Pass Verdict = iota
	Fail
	// Unsupported: the program uses a feature this compiler does not
	// translate yet (calls); named in the summary, never silently passed.
	Unsupported
)

// Outcome is one test's verdict with the reason.
type Outcome struct {
	Test    *conformance.Test
	Verdict Verdict
	Detail  string
}

// ConformanceHelpers names the helpers the conformance suite calls: its
// helper IDs are uBPF's test table (frontend/bpf ConformanceHelpers), not
// the kernel's, so they get their own symbols, which the run engines
// provide, and always receive all five argument registers.
var ConformanceHelpers = bpf.LiftOptions{
	HelperSymbol: func(id int32) string { return fmt.Sprintf("ubpf_helper_%d", id) },
	CallxSymbol:  "ubpf_callx",
	HelperArgs:   func(int32) int { return 5 },
}

// RunConformanceTest compiles one test's program, runs it on the engine
// with the test's memory, and compares r0 (or the expected error).
func RunConformanceTest(t *conformance.Test, e Engine, opts Options) Outcome {
	out := func(v Verdict, format string, args ...any) Outcome {
		return Outcome{Test: t, Verdict: v, Detail: fmt.Sprintf(format, args...)}
	}
	p, err := bpf.ParseAsm(t.Asm)
	if err != nil {
		if t.Error != "" {
			return out(Pass, "rejected as expected: %v", err)
		}
		return out(Fail, "assembly: %v", err)
	}
	ctxAlign := opts.Lift.CtxAlign
	opts.Lift = ConformanceHelpers
	opts.Lift.CtxAlign = ctxAlign
	res, err := Compile(p, "conformance_"+symbolName(t.Name), opts)
	if err != nil {
		if t.Error != "" {
			return out(Pass, "rejected as expected: %v", err)
		}
		if strings.Contains(err.Error(), "not supported yet") {
			return out(Unsupported, "%v", err)
		}
		return out(Fail, "compile: %v", err)
	}
	r, err := e.Run(res.Module, res.Module.Funcs[0].Offset, t.Mem)
	if err != nil {
		return out(Fail, "engine: %v", err)
	}
	if r.Fault != nil {
		if t.Error != "" {
			return out(Pass, "faulted as expected: %v", r.Fault)
		}
		return out(Fail, "runtime fault: %v", r.Fault)
	}
	if t.Error != "" {
		return out(Fail, "expected error %q, got r0 = %#x", t.Error, r.R0)
	}
	if t.HasResult && r.R0 != t.Result {
		return out(Fail, "r0 = %#x, want %#x", r.R0, t.Result)
	}
	return out(Pass, "r0 = %#x", r.R0)
}

// Summary prints the closing line "N passed, M failed, K skipped" after
// naming every failure and unsupported test.
func Summary(outcomes []Outcome) (string, int, int, int) {
	var sb strings.Builder
	var pass, fail, skip int
	for _, o := range outcomes {
		switch o.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
			fmt.Fprintf(&sb, "FAIL %s: %s\n", o.Test.Name, o.Detail)
		case Unsupported:
			skip++
			fmt.Fprintf(&sb, "UNSUPPORTED %s: %s\n", o.Test.Name, o.Detail)
		}
	}
	fmt.Fprintf(&sb, "%d passed, %d failed, %d skipped\n", pass, fail, skip)
	return sb.String(), pass, fail, skip
}
