package bench

import (
	"fmt"
	"io"
	"math"
	"os/exec"
	"strings"
	"time"
)

// Columns of the table, in order.
var Columns = []string{
	"program", "kind", "BPF insns", "inputs",
	"bytes -O0", "bytes -O2", "bytes GCC",
	"executed -O0", "executed -O2", "executed GCC",
	"cycles -O0", "cycles -O2", "cycles GCC",
	"O2/GCC executed", "O2/GCC bytes", "compile -O2", "check", "notes",
}

// Means are the footer's geometric means, each over the rows that passed
// every check and have both figures, generated (progen) rows left out;
// N counts the rows.
type Means struct {
	ExecO2O0, BytesO2O0             float64
	ExecO2GCC, BytesO2GCC, CycO2GCC float64
	NExec, NBytes, NGCC             int
}

// GeoMeans computes the footer.
func GeoMeans(rows []*Row) Means {
	var execO2O0, bytesO2O0, execGCC, bytesGCC, cycGCC []float64
	for _, r := range rows {
		if r.Failed() || r.Kind == KindProgen {
			continue
		}
		if r.Insns[0] > 0 && r.Insns[1] > 0 {
			execO2O0 = append(execO2O0, float64(r.Insns[1])/float64(r.Insns[0]))
		}
		if r.Bytes[0] > 0 && r.Bytes[1] > 0 {
			bytesO2O0 = append(bytesO2O0, float64(r.Bytes[1])/float64(r.Bytes[0]))
		}
		if g := r.GCC; g != nil && g.Insns > 0 && g.Bytes > 0 && r.Insns[1] > 0 {
			execGCC = append(execGCC, float64(r.Insns[1])/float64(g.Insns))
			bytesGCC = append(bytesGCC, float64(r.Bytes[1])/float64(g.Bytes))
			cycGCC = append(cycGCC, float64(r.Cycles[1])/float64(g.Cycles))
		}
	}
	return Means{
		ExecO2O0: geoMean(execO2O0), BytesO2O0: geoMean(bytesO2O0),
		ExecO2GCC: geoMean(execGCC), BytesO2GCC: geoMean(bytesGCC), CycO2GCC: geoMean(cycGCC),
		NExec: len(execO2O0), NBytes: len(bytesO2O0), NGCC: len(execGCC),
	}
}

func geoMean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(xs)))
}

// WriteMarkdown writes the table, the geometric means and the list of
// errors.
func WriteMarkdown(w io.Writer, rows []*Row) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(Columns, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(Columns)) + "\n")
	for _, r := range rows {
		cells := []string{
			r.Name, string(r.Kind), count(int64(r.BPFInsns)), count(int64(r.Inputs)),
			count(int64(r.Bytes[0])), count(int64(r.Bytes[1])), "—",
			count(r.Insns[0]), count(r.Insns[1]), "—",
			count(r.Cycles[0]), count(r.Cycles[1]), "—",
			"—", "—", millis(r.Compile), "ok", notes(r),
		}
		if g := r.GCC; g != nil {
			cells[6], cells[9], cells[12] = count(int64(g.Bytes)), count(g.Insns), count(g.Cycles)
			cells[13] = ratio(r.Insns[1], g.Insns)
			cells[14] = ratio(int64(r.Bytes[1]), int64(g.Bytes))
		}
		if r.Failed() {
			cells[16] = fmt.Sprintf("**FAILED** (%d)", len(r.Errors))
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	m := GeoMeans(rows)
	fmt.Fprintf(&b, "\nGeometric means over the rows that passed every check, generated (progen) rows left out:\n\n")
	fmt.Fprintf(&b, "| ratio | geometric mean | rows |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| executed instructions -O2 / -O0 | %s | %d |\n", mean(m.ExecO2O0), m.NExec)
	fmt.Fprintf(&b, "| code bytes -O2 / -O0 | %s | %d |\n", mean(m.BytesO2O0), m.NBytes)
	fmt.Fprintf(&b, "| executed instructions bpfopt -O2 / GCC -O2 | %s | %d |\n", mean(m.ExecO2GCC), m.NGCC)
	fmt.Fprintf(&b, "| code bytes bpfopt -O2 / GCC -O2 | %s | %d |\n", mean(m.BytesO2GCC), m.NGCC)
	fmt.Fprintf(&b, "| estimated cycles bpfopt -O2 / GCC -O2 | %s | %d |\n", mean(m.CycO2GCC), m.NGCC)
	var errs []string
	for _, r := range rows {
		for _, e := range r.Errors {
			errs = append(errs, fmt.Sprintf("- %s: %s", r.Name, strings.ReplaceAll(e, "\n", "\n  ")))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\nErrors (%d):\n\n%s\n", len(errs), strings.Join(errs, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// notes explains the dashes of a row.
func notes(r *Row) string {
	var n []string
	if r.CountNote != "" {
		n = append(n, r.CountNote)
	}
	if r.GCC == nil && r.GCCNote != "" {
		n = append(n, "no GCC: "+r.GCCNote)
	}
	return strings.Join(n, "; ")
}

// count formats n with thousands separators, "—" when unknown (< 0).
func count(n int64) string {
	if n < 0 {
		return "—"
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ratio(a, b int64) string {
	if a <= 0 || b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func mean(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.3f", x)
}

func millis(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// Preamble is a sentence saying how the table was made: the date and the
// compilers' versions.
func Preamble() string {
	return fmt.Sprintf("Measured by `bpfopt bench` on %s: BPF from %s (`-O2 -target bpfel -mcpu=v3`), "+
		"the anchor from %s (`%s`), executed instructions and cycles from the simulator's "+
		"cycle model (backend/mips32/sim), totals over each program's inputs.",
		time.Now().Format("2006-01-02"), toolVersion("clang", "--version"),
		toolVersion(gccCC, "--version"), strings.Join(GCCFlags, " "))
}

// toolVersion is the first line of a tool's version output.
func toolVersion(tool, flag string) string {
	out, err := exec.Command(tool, flag).Output()
	if err != nil {
		return tool + " (version unknown)"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
