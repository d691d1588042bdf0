package campaign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

// SameFailure is the reduction predicate for a finding: it holds for a
// program and memory on which Recheck reports a finding with f's Key.
func SameFailure(f *Finding, cfg *Config) func(*bpf.Program, []byte) bool {
	key := f.Key()
	return func(p *bpf.Program, mem []byte) bool {
		g := Recheck(f, cfg, p, mem)
		return g != nil && g.Key() == key
	}
}

// Recheck runs the check that produced f (CheckProgram, or
// CheckDeterminism for a determinism finding), narrowed to f's target and
// level, on p and mem, and returns its finding or nil. cfg supplies the
// engine and step limit (nil: the defaults, with a step limit of 1<<21 so
// that candidates that loop forever are rejected quickly).
func Recheck(f *Finding, cfg *Config, p *bpf.Program, mem []byte) *Finding {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	c.Targets = []mips32.Target{f.Target}
	c.Levels = []int{f.Level}
	if c.MaxSteps == 0 {
		c.MaxSteps = 1 << 21
	}
	if f.Stage == StageDeterminism {
		return CheckDeterminism(p, &c)
	}
	return CheckProgram(p, mem, &c)
}

// RegressionDir is where fuzz findings become tests, relative to this
// package's directory: TestRegressions runs every .data file in it.
const RegressionDir = "testdata/regressions"

var regressionName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// WriteRegressionTest writes p and mem as dir/name.data in the format of
// the conformance suite (internal/conformance): an asm section, a mem
// section and the result the reference interpreter gives (little-endian
// memory), headed by comments quoting the finding (nil for none). Name
// the file after what it caught ("simplify-sub-carry"); an existing file
// is not overwritten. It returns the file's path.
func WriteRegressionTest(dir, name string, p *bpf.Program, mem []byte, finding *Finding) (string, error) {
	if !regressionName.MatchString(name) {
		return "", fmt.Errorf("regression name %q: use lower-case letters, digits, - and _", name)
	}
	want, err := runReference(p, mem, false, bpf.DefaultMaxSteps)
	if err != nil {
		return "", fmt.Errorf("the reference interpreter fails on the program, so it has no expected result: %w", err)
	}
	var sb strings.Builder
	sb.WriteString("# Regression test written by fuzz/campaign.WriteRegressionTest.\n")
	if finding != nil {
		fmt.Fprintf(&sb, "# Finding: %s\n", finding.Key())
		for _, l := range strings.Split(strings.TrimSpace(finding.Msg), "\n")[:1] {
			fmt.Fprintf(&sb, "#   %s\n", l)
		}
	}
	sb.WriteString("# TestRegressions runs it through CheckProgram (every oracle, -O0 and -O2, R1 and R2).\n")
	sb.WriteString("-- asm\n")
	sb.WriteString(bpf.Disassemble(p))
	if len(mem) > 0 {
		sb.WriteString("-- mem\n")
		sb.WriteString(hexLines(mem, ""))
	}
	fmt.Fprintf(&sb, "-- result\n%#x\n", want.R0)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".data")
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("%s exists: choose another name", path)
		}
		return "", err
	}
	if _, err := fh.WriteString(sb.String()); err != nil {
		fh.Close()
		return "", err
	}
	return path, fh.Close()
}

// Regression is one regression file read back.
type Regression struct {
	Name    string
	Program *bpf.Program
	Mem     []byte
	Result  uint64
}

// LoadRegressions reads every .data file of dir.
func LoadRegressions(dir string) ([]*Regression, error) {
	tests, err := conformance.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Regression
	for _, t := range tests {
		if !t.HasResult {
			return nil, fmt.Errorf("%s: no result section", t.Path)
		}
		p, err := bpf.ParseAsm(t.Asm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Path, err)
		}
		p.Name = t.Name
		mem := t.Mem
		if mem == nil {
			mem = []byte{}
		}
		out = append(out, &Regression{Name: t.Name, Program: p, Mem: mem, Result: t.Result})
	}
	return out, nil
}
