package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign"
	"github.com/bpfopt/bpfopt/fuzz/campaign/qemuengine"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// reduceHook, when set (by tests only), adjusts the campaign configuration
// before the first check: a test plants a compiler bug through it.
var reduceHook func(*campaign.Config)

// fuzzHarness is a fuzz target whose inputs reduce can read: how its bytes
// become a program and memory, and which check it runs.
type fuzzHarness struct {
	name        string // the native target; go-fuzz's name in goFuzzName
	goFuzzName  string
	determinism bool // the target runs CheckDeterminism, not CheckProgram
	opts        progen.Options
	decode      func(data []byte) (*bpf.Program, []byte)
}

var fuzzHarnesses = []fuzzHarness{
	{name: "FuzzDifferential", goFuzzName: "Fuzz", opts: campaign.InputOptions, decode: decodeCheckInput},
	{name: "FuzzDeterminism", goFuzzName: "FuzzDeterminism", determinism: true, opts: campaign.InputOptions, decode: decodeCheckInput},
	{name: "FuzzCompile", goFuzzName: "FuzzCompile", opts: campaign.CompileInputOptions, decode: campaign.CompileProgramFromInput},
}

func decodeCheckInput(data []byte) (*bpf.Program, []byte) {
	return campaign.ProgramFromInput(data, campaign.InputOptions)
}

func lookupHarness(name string) (*fuzzHarness, error) {
	var names []string
	for i, h := range fuzzHarnesses {
		if name == h.name || name == h.goFuzzName {
			return &fuzzHarnesses[i], nil
		}
		names = append(names, h.name)
	}
	return nil, fmt.Errorf("unknown fuzz target %q (known: %s; go-fuzz's Fuzz is FuzzDifferential)", name, strings.Join(names, ", "))
}

// defaultReduceSteps bounds the reference interpreter on inputs that are
// not fuzz inputs (those get the generator's bound): small enough that
// candidates which loop forever are rejected quickly.
const defaultReduceSteps = 1 << 21

func cmdReduce(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("bpfopt reduce", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var o0, o1, o2 bool
	fset.BoolVar(&o0, "O0", false, "check -O0 (any of -O0, -O1, -O2; default -O0 and -O2, as the campaign)")
	fset.BoolVar(&o1, "O1", false, "check -O1")
	fset.BoolVar(&o2, "O2", false, "check -O2")
	march := fset.String("march", "mips32r2,mips32", "targets to check, comma-separated: mips32r2, mips32 (R1)")
	engine := fset.String("engine", "sim", "machine-code engine: sim (in-process simulator) or qemu (qemu-user)")
	fuzzTarget := fset.String("fuzz-target", "", "read INPUT as an input of this fuzz target: FuzzDifferential (go-fuzz: Fuzz), FuzzDeterminism or FuzzCompile (default: guessed from the file)")
	memFile := fset.String("mem", "", "file whose bytes are the program's memory (assembly or bytecode input)")
	memHex := fset.String("mem-hex", "", "the program's memory as hex bytes (assembly or bytecode input)")
	prog := fset.String("prog", "", "program to take from an ELF object with several")
	bigEndianBytecode := fset.Bool("big-endian-bytecode", false, "raw input is big-endian bytecode")
	maxSteps := fset.Int("max-steps", 0, fmt.Sprintf("reference interpreter step limit (default: the generator's bound for fuzz inputs, %d otherwise)", defaultReduceSteps))
	out := fset.String("o", "", "write the reduced program as a regression test to this .data file (e.g. fuzz/campaign/testdata/regressions/NAME.data)")
	pos, err := parseInterleaved(fset, args)
	if err != nil {
		return &exitError{2, err}
	}
	if len(pos) != 1 {
		fset.Usage()
		return &exitError{2, fmt.Errorf("reduce takes exactly one INPUT, got %d", len(pos))}
	}
	path := pos[0]

	cfg := campaign.Config{MaxSteps: *maxSteps}
	for level, on := range []bool{o0, o1, o2} {
		if on {
			cfg.Levels = append(cfg.Levels, level)
		}
	}
	if cfg.Targets, err = parseMarchList(*march); err != nil {
		return &exitError{2, err}
	}
	switch *engine {
	case "sim":
		cfg.Engine = campaign.SimEngine
	case "qemu":
		cfg.Engine = qemuengine.New
	default:
		return &exitError{2, fmt.Errorf("unknown engine %q (available: qemu, sim)", *engine)}
	}
	regressionDir, regressionName, err := regressionPath(*out)
	if err != nil {
		return &exitError{2, err}
	}

	in, err := loadReduceInput(path, *fuzzTarget, *prog, *bigEndianBytecode)
	if err != nil {
		return err
	}
	if in.harness != nil {
		if *memFile != "" || *memHex != "" {
			return &exitError{2, fmt.Errorf("--mem and --mem-hex are for assembly and bytecode: a fuzz input carries its memory")}
		}
		if cfg.MaxSteps == 0 {
			cfg.MaxSteps = progen.StepBound(in.harness.opts)
		}
	} else if in.mem, err = readMem(*memFile, *memHex); err != nil {
		return &exitError{2, err}
	}
	if in.mem == nil {
		in.mem = []byte{}
	}
	if cfg.MaxSteps == 0 {
		cfg.MaxSteps = defaultReduceSteps
	}
	if reduceHook != nil {
		reduceHook(&cfg)
	}

	var f *campaign.Finding
	if in.harness != nil && in.harness.determinism {
		f = campaign.CheckDeterminism(in.prog, &cfg)
	} else {
		f = campaign.CheckProgram(in.prog, in.mem, &cfg)
	}
	if err := reducible(f, cfg.MaxSteps); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(stderr, "bpfopt reduce: %s: %s\n", f.Key(), firstLine(f.Msg))

	q, qmem := campaign.Reduce(in.prog, in.mem, campaign.SameFailure(f, &cfg))
	g := campaign.Recheck(f, &cfg, q, qmem)
	if g == nil || g.Key() != f.Key() {
		// Unreachable unless the compiler is nondeterministic: Reduce
		// returns only programs on which the predicate held.
		return fmt.Errorf("%s: the reduced program no longer fails; the failure is flaky", path)
	}
	fmt.Fprintf(stderr, "bpfopt reduce: %d instructions reduced to %d, %d of %d memory bytes nonzero\n",
		len(in.prog.Insns), len(q.Insns), countNonzero(qmem), len(qmem))
	fmt.Fprint(stderr, g.String())
	fmt.Fprint(stdout, bpf.Disassemble(q))

	if regressionName != "" {
		written, err := campaign.WriteRegressionTest(regressionDir, regressionName, q, qmem, g)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bpfopt reduce: wrote %s\n", written)
	}
	return nil
}

// reduceInput is the program and memory reduce starts from; harness is
// the fuzz target the input belongs to, nil for assembly, bytecode and
// ELF.
type reduceInput struct {
	prog    *bpf.Program
	mem     []byte
	harness *fuzzHarness
}

// loadReduceInput reads path as a fuzz input (a native corpus or failure
// file, recognised by its header, or a go-fuzz input when target is given
// or the file lies in go-fuzz's crashers/ directory) or as anything the
// compile command reads.
func loadReduceInput(path, target, prog string, bigEndianBytecode bool) (*reduceInput, error) {
	head := make([]byte, len("go test fuzz v1"))
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	n, _ := io.ReadFull(fh, head)
	fh.Close()
	nativeFuzz := string(head[:n]) == "go test fuzz v1"
	dir := filepath.Base(filepath.Dir(path))
	if target == "" {
		switch {
		case nativeFuzz && strings.HasPrefix(dir, "Fuzz"):
			target = dir // testdata/fuzz/<Target>/ or the fuzz cache's <Target>/
		case nativeFuzz || dir == "crashers":
			target = "FuzzDifferential"
		}
	}
	if target == "" {
		progs, err := pipeline.Load(path, pipeline.LoadOptions{BigEndianBytecode: bigEndianBytecode})
		if err != nil {
			return nil, err
		}
		var names []string
		for _, p := range progs {
			if prog == "" || p.Name == prog {
				return &reduceInput{prog: p}, nil
			}
			names = append(names, p.Name)
		}
		return nil, fmt.Errorf("%s: no program %q (has: %s)", path, prog, strings.Join(names, ", "))
	}
	h, err := lookupHarness(target)
	if err != nil {
		return nil, &exitError{2, err}
	}
	data, err := campaign.ReadInputFile(path)
	if err != nil {
		return nil, err
	}
	p, mem := h.decode(data)
	return &reduceInput{prog: p, mem: mem, harness: h}, nil
}

// reducible returns why finding f cannot be reduced, or nil.
func reducible(f *campaign.Finding, maxSteps int) error {
	switch {
	case f == nil:
		return errors.New("input does not reproduce a failure: every oracle agrees at the levels and targets checked (see -O0/-O1/-O2, --march, --engine)")
	case f.Stage == campaign.StageReference:
		return fmt.Errorf("the program itself fails in the reference interpreter (it faults, or runs over --max-steps=%d), so there is nothing to compare: %s", maxSteps, firstLine(f.Msg))
	case f.Stage == campaign.StageUnsupported, f.Stage == campaign.StageSetup:
		return fmt.Errorf("cannot check the program: %s", firstLine(f.Msg))
	}
	return nil
}

// parseMarchList parses --march's comma-separated revisions.
func parseMarchList(s string) ([]mips32.Target, error) {
	var targets []mips32.Target
	for _, name := range strings.Split(s, ",") {
		rev, err := mips32.ParseMarch(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		targets = append(targets, mips32.Target{Rev: rev})
	}
	return targets, nil
}

// regressionPath splits -o's path into WriteRegressionTest's directory and
// name; "" writes nothing. An existing file is refused before the
// reduction runs, not after.
func regressionPath(out string) (dir, name string, err error) {
	if out == "" {
		return "", "", nil
	}
	base := filepath.Base(out)
	name, ok := strings.CutSuffix(base, ".data")
	if !ok || name == "" {
		return "", "", fmt.Errorf("-o %s: a regression test is a NAME.data file", out)
	}
	if _, err := os.Stat(out); err == nil {
		return "", "", fmt.Errorf("-o %s exists: choose another name", out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	return filepath.Dir(out), name, nil
}

func countNonzero(b []byte) int {
	n := 0
	for _, x := range b {
		if x != 0 {
			n++
		}
	}
	return n
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
