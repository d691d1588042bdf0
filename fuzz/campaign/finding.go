package campaign

import (
	"fmt"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// Stage names where in the pipeline a Finding diverged.
type Stage string

const (
	// StageReference: the reference interpreter failed (the program
	// faults or runs too long): the input is outside the contract.
	StageReference Stage = "reference interpreter"
	// StageLift: lifting failed, or the lifted IR is invalid or computes
	// something else.
	StageLift Stage = "lift"
	// StagePass: a middle-end pass (Finding.Pass) failed, broke the IR
	// verifier, or changed what the IR computes.
	StagePass Stage = "pass"
	// StageBackend: the backend failed (the allocation checker included).
	StageBackend Stage = "backend"
	// StageMachine: the compiled code computes something else.
	StageMachine Stage = "machine code"
	// StageDeterminism: two compilations of the same program differ
	// (Finding.Pass names the dump, "lift", a pass or "machine code").
	StageDeterminism Stage = "determinism"
	// StageUnsupported: the program uses what the oracles cannot run.
	StageUnsupported Stage = "unsupported"
	// StageSetup: the check could not run (engine missing or broken).
	StageSetup Stage = "setup"
)

// Finding is one disagreement, with everything needed to reproduce it.
type Finding struct {
	Stage Stage
	Pass  string // the pass for StagePass, the dump for StageDeterminism
	// Target and Level are the compilation that diverged.
	Target mips32.Target
	Level  int
	// Engine ran Got: "IR interpreter", "sim" or "qemu".
	Engine string
	// Program and Mem are the input.
	Program *bpf.Program
	Mem     []byte
	// Want is the reference interpreter's result, Got the diverging one.
	Want, Got Execution
	// Msg says what went wrong, in one line (an error may add its stack).
	Msg string
	// Detail is the evidence: the IR before and after a pass, the
	// compiled code's assembly, or the two diverging dumps.
	Detail string
	// Previous is the last stage that agreed with the reference.
	Previous string
}

// Where names the stage, with the pass for pass and determinism findings:
// "pass simplify", "machine code".
func (f *Finding) Where() string {
	if f.Pass != "" {
		return string(f.Stage) + " " + f.Pass
	}
	return string(f.Stage)
}

// Key identifies the failure for reduction: the same key on a smaller
// program is the same bug (as far as the oracles can tell).
func (f *Finding) Key() string {
	return fmt.Sprintf("%s %s -O%d", f.Where(), f.Target, f.Level)
}

func (f *Finding) withDetail(d string) *Finding {
	f.Detail = d
	return f
}

// String is the full report: what diverged where, the input, both
// results, the program and the evidence.
func (f *Finding) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "FINDING at %s (%s, -O%d)\n", f.Where(), f.Target, f.Level)
	fmt.Fprintf(&sb, "  %s\n", f.Msg)
	if f.Previous != "" {
		fmt.Fprintf(&sb, "  last stage that agreed: %s\n", f.Previous)
	}
	if f.Stage != StageReference && f.Stage != StageUnsupported && f.Stage != StageDeterminism {
		fmt.Fprintf(&sb, "reference:  %s\n", formatExecution(f.Want))
		if f.Got.Mem != nil || f.Got.Err != "" {
			fmt.Fprintf(&sb, "%-11s %s\n", f.Engine+":", formatExecution(f.Got))
		}
	}
	fmt.Fprintf(&sb, "input memory (%d bytes):\n%s", len(f.Mem), hexLines(f.Mem, "  "))
	if f.Want.Mem != nil && f.Got.Mem != nil && len(f.Want.Mem) == len(f.Got.Mem) && string(f.Want.Mem) != string(f.Got.Mem) {
		fmt.Fprintf(&sb, "reference final memory:\n%s", hexLines(f.Want.Mem, "  "))
		fmt.Fprintf(&sb, "%s final memory:\n%s", f.Engine, hexLines(f.Got.Mem, "  "))
	}
	if f.Program != nil {
		fmt.Fprintf(&sb, "program (%d instructions):\n%s", len(f.Program.Insns), indent(bpf.Disassemble(f.Program), "  "))
	}
	if f.Detail != "" {
		fmt.Fprintf(&sb, "evidence:\n%s", indent(f.Detail, "  "))
	}
	return sb.String()
}

func formatExecution(x Execution) string {
	if x.Err != "" {
		return "error: " + firstLine(x.Err)
	}
	return fmt.Sprintf("r0 = %#x", x.R0)
}

// hexLines prints b as hex bytes, 16 to a line (the conformance format's
// mem section).
func hexLines(b []byte, prefix string) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		sb.WriteString(prefix)
		for j := i; j < min(i+16, len(b)); j++ {
			if j > i {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02x", b[j])
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// diffOffsets lists the offsets where a and b differ (a few, then a count).
func diffOffsets(a, b []byte) string {
	if len(a) != len(b) {
		return fmt.Sprintf("(lengths %d and %d)", len(a), len(b))
	}
	var offs []string
	n := 0
	for i := range a {
		if a[i] != b[i] {
			if n < 8 {
				offs = append(offs, fmt.Sprint(i))
			}
			n++
		}
	}
	s := strings.Join(offs, ", ")
	if n > len(offs) {
		s += fmt.Sprintf(" (%d bytes in all)", n)
	}
	return s
}

func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
