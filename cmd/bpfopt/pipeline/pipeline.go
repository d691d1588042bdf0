// Package pipeline wires the compiler's stages together: read a program
// (raw bytecode, ELF object or assembly text), lift it into SSA IR, run the
// middle-end passes, and compile it for a MIPS32 target. The command-line
// tool, the conformance runner and the differential tests all go through
// it, so they compile exactly alike.
package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// LoadOptions says how to read an input file.
type LoadOptions struct {
	// BigEndianBytecode reads raw .bin input as big-endian instructions.
	BigEndianBytecode bool
}

// Load reads every program of an input file. The format comes from the
// content (ELF magic) or the extension: .s/.asm assembly, anything else
// raw 8-byte instructions.
func Load(path string, opts LoadOptions) ([]*bpf.Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	progs, err := LoadBytes(data, filepath.Base(path), opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return progs, nil
}

// LoadObject reads an input file as an object: an ELF object's programs,
// maps and data sections, or the one program of any other input.
func LoadObject(path string, opts LoadOptions) (*bpf.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		obj, err := bpf.LoadELFObject(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return obj, nil
	}
	progs, err := LoadBytes(data, filepath.Base(path), opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &bpf.Object{Programs: progs}, nil
}

// LoadBytes is Load for data already in memory; name gives the extension
// and, for single-program formats, the program's name.
func LoadBytes(data []byte, name string, opts LoadOptions) ([]*bpf.Program, error) {
	base := strings.TrimSuffix(name, filepath.Ext(name))
	switch {
	case bytes.HasPrefix(data, []byte("\x7fELF")):
		return bpf.LoadELF(bytes.NewReader(data))
	case strings.HasSuffix(name, ".s") || strings.HasSuffix(name, ".asm"):
		p, err := bpf.ParseAsm(string(data))
		if err != nil {
			return nil, err
		}
		p.Name = symbolName(base)
		return []*bpf.Program{p}, nil
	default:
		var order binary.ByteOrder = binary.LittleEndian
		if opts.BigEndianBytecode {
			order = binary.BigEndian
		}
		p, err := bpf.Decode(data, order)
		if err != nil {
			return nil, err
		}
		p.Name = symbolName(base)
		return []*bpf.Program{p}, nil
	}
}

// symbolName turns a file name into a C identifier.
func symbolName(s string) string {
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			sb.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				sb.WriteByte('_')
			}
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	if sb.Len() == 0 {
		return "bpf_prog"
	}
	return sb.String()
}

// Options configures compilation.
type Options struct {
	Target   mips32.Target
	OptLevel int // 0, 1 or 2
	// Passes overrides the level's pass list; DumpAfter and Dump print IR
	// after passes (see passes.Config).
	Passes     []string
	DumpAfter  string
	Dump       io.Writer
	VerifyEach bool
	// CheckAllocation runs the register-allocation checker (tests, fuzzing).
	CheckAllocation bool
	// Lift names helper symbols and arities (BigEndian is set from Target).
	Lift bpf.LiftOptions
}

// Result is a compiled program. (It does not keep the IR: the backend
// releases each function once it is selected, mips32.Options.ReleaseIR,
// which on a function of a million instructions is most of the memory at
// the backend's peak.)
type Result struct {
	Module  *mips32.Module
	Reports []*passes.Report
}

// Compile lifts, optimizes and compiles one program (its entry function
// under the given symbol name, and its subprograms).
func Compile(p *bpf.Program, name string, opts Options) (*Result, error) {
	funcs, reps, err := middleEnd(p, name, opts)
	if err != nil {
		return nil, err
	}
	mod, err := mips32.CompileModule(funcs, 1, opts.backend())
	if err != nil {
		return nil, err
	}
	return &Result{Module: mod, Reports: reps}, nil
}

// CompileObject compiles the programs of an ELF object that keep says to
// keep (nil: all), and the tail-call targets, into one module with the
// object's maps and data sections in the module's data (see emitMaps), so
// that tail calls and map references between them resolve within the
// module. The tail-call targets are the programs the object's program
// arrays name: every map is emitted, and a slot's relocation needs its
// program.
func CompileObject(obj *bpf.Object, keep func(name string) bool, opts Options) (*Result, error) {
	tailTargets := map[string]bool{}
	for _, m := range obj.Maps {
		for _, name := range m.Programs {
			tailTargets[name] = true
		}
	}
	var entries, subs []*ir.Func
	var reps []*passes.Report
	for _, p := range obj.Programs {
		if keep != nil && !keep(p.Name) && !tailTargets[p.Name] {
			continue
		}
		funcs, r, err := middleEnd(p, p.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", p.Name, err)
		}
		entries = append(entries, funcs[0])
		subs = append(subs, funcs[1:]...)
		reps = append(reps, r...)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("no program to compile")
	}
	funcs := append(entries, subs...)
	mod, err := mips32.CompileModule(funcs, len(entries), opts.backend())
	if err != nil {
		return nil, err
	}
	if err := emitMaps(mod, obj.Maps, opts.Target); err != nil {
		return nil, err
	}
	return &Result{Module: mod, Reports: reps}, nil
}

// backend is the backend's configuration.
func (o Options) backend() mips32.Options {
	return mips32.Options{Target: o.Target, CheckAllocation: o.CheckAllocation, ReleaseIR: true, Unoptimized: o.OptLevel == 0}
}

// middleEnd lifts p and runs the passes on each of its functions.
func middleEnd(p *bpf.Program, name string, opts Options) ([]*ir.Func, []*passes.Report, error) {
	lo := opts.Lift
	lo.BigEndian = opts.Target.BigEndian
	funcs, err := bpf.Lift(p, name, lo)
	if err != nil {
		return nil, nil, err
	}
	// "lift" names the frontend's output; the other names are passes.
	var passDumps []string
	dumpLift := false
	for _, n := range strings.Split(opts.DumpAfter, ",") {
		switch n = strings.TrimSpace(n); n {
		case "":
		case "lift":
			dumpLift = true
		case "all":
			dumpLift = true
			passDumps = append(passDumps, n)
		default:
			passDumps = append(passDumps, n)
		}
	}
	var reps []*passes.Report
	for _, f := range funcs {
		if dumpLift && opts.Dump != nil {
			fmt.Fprintf(opts.Dump, "; after lift\n%s", f)
		}
		rep, err := passes.Run(f, opts.OptLevel, &passes.Config{
			BigEndian:  opts.Target.BigEndian,
			VerifyEach: opts.VerifyEach,
			DumpAfter:  strings.Join(passDumps, ","),
			Dump:       opts.Dump,
			Passes:     opts.Passes,
		})
		if err != nil {
			return nil, nil, err
		}
		reps = append(reps, rep)
	}
	return funcs, reps, nil
}
