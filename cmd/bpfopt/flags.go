package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// commonFlags are the flags compile, run and conformance share.
type commonFlags struct {
	march             string
	el                bool
	o0, o1, o2        bool
	passes            string
	dumpAfter         string
	prog              string
	bigEndianBytecode bool
	verify            bool
	helperSymbol      string
	kernelHelperNames bool
	ctxAlign          int
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.march, "march", "mips32r2", "target ISA: mips32 (R1) or mips32r2")
	fs.BoolVar(&c.el, "EL", true, "little-endian target (the only byte order so far)")
	fs.BoolVar(&c.o0, "O0", false, "no optimization: legalization, plain code generation (nops in delay slots)")
	fs.BoolVar(&c.o1, "O1", false, "light optimization")
	fs.BoolVar(&c.o2, "O2", false, "full optimization (default)")
	fs.StringVar(&c.passes, "passes", "", "comma-separated pass list, overriding -O")
	fs.StringVar(&c.dumpAfter, "dump-after", "", "print the IR after these passes (comma-separated, 'lift' or 'all') to stderr")
	fs.StringVar(&c.prog, "prog", "", "program to take from an ELF object with several")
	fs.BoolVar(&c.bigEndianBytecode, "big-endian-bytecode", false, "raw input is big-endian bytecode")
	fs.BoolVar(&c.verify, "verify", false, "run the IR verifier after every pass")
	fs.StringVar(&c.helperSymbol, "helper-symbol", "bpf_helper_%d", "symbol of helper N (a printf format taking the helper ID)")
	fs.BoolVar(&c.kernelHelperNames, "kernel-helper-names", false, "call known helpers by the kernel's names (bpf_map_lookup_elem, ...)")
	fs.IntVar(&c.ctxAlign, "ctx-align", bpf.DefaultCtxAlign,
		fmt.Sprintf("alignment in bytes the caller guarantees for ctx (r1), a power of two up to %d; 1 assumes nothing (docs/abi.md)", bpf.MaxCtxAlign))
}

func (c *commonFlags) optLevel() int {
	switch {
	case c.o0:
		return 0
	case c.o1:
		return 1
	}
	return 2
}

func (c *commonFlags) options(dump io.Writer) (pipeline.Options, error) {
	rev, err := mips32.ParseMarch(c.march)
	if err != nil {
		return pipeline.Options{}, err
	}
	o := pipeline.Options{
		Target:     mips32.Target{Rev: rev},
		OptLevel:   c.optLevel(),
		DumpAfter:  c.dumpAfter,
		Dump:       dump,
		VerifyEach: c.verify,
	}
	if c.passes != "" {
		o.Passes = strings.Split(c.passes, ",")
	}
	if strings.Count(c.helperSymbol, "%") != 1 || !strings.Contains(c.helperSymbol, "%d") {
		return o, fmt.Errorf("--helper-symbol=%q: want one %%d for the helper ID", c.helperSymbol)
	}
	if err := bpf.CheckCtxAlign(c.ctxAlign); err != nil {
		return o, fmt.Errorf("--ctx-align: %v", err)
	}
	o.Lift.CtxAlign = c.ctxAlign
	format, kernel := c.helperSymbol, c.kernelHelperNames
	o.Lift.HelperSymbol = func(id int32) string {
		if n := bpf.KernelHelperName(id); kernel && n != "" {
			return n
		}
		return fmt.Sprintf(format, id)
	}
	return o, nil
}

// compileInput loads INPUT and compiles it: every program of an ELF
// object (or only --prog's, with the tail-call targets its program arrays
// name: see pipeline.CompileObject) with the object's maps, or the one
// program of other inputs, renamed to entry when given. It returns the
// result and the name of the program to run.
func (c *commonFlags) compileInput(path, entry string, opts pipeline.Options) (*pipeline.Result, string, error) {
	obj, err := pipeline.LoadObject(path, pipeline.LoadOptions{BigEndianBytecode: c.bigEndianBytecode})
	if err != nil {
		return nil, "", err
	}
	var names []string
	var chosen *bpf.Program
	for _, p := range obj.Programs {
		names = append(names, p.Name)
		if c.prog == "" || p.Name == c.prog {
			if chosen == nil {
				chosen = p
			}
		}
	}
	if chosen == nil {
		return nil, "", fmt.Errorf("%s: no program %q (has: %s)", path, c.prog, strings.Join(names, ", "))
	}
	var keep func(string) bool
	if c.prog != "" {
		keep = func(n string) bool { return n == c.prog }
	}
	if entry != "" {
		if c.prog == "" && len(obj.Programs) > 1 {
			return nil, "", fmt.Errorf("--entry renames one program: pick it with --prog (has: %s)", strings.Join(names, ", "))
		}
		for _, p := range obj.Programs {
			if p != chosen && p.Name == entry {
				return nil, "", fmt.Errorf("--entry %s: the object has another program of that name", entry)
			}
		}
		renameProgram(obj, chosen, entry)
		keep = func(n string) bool { return n == entry }
	}
	res, err := pipeline.CompileObject(obj, keep, opts)
	if err != nil {
		return nil, "", err
	}
	return res, chosen.Name, nil
}

// renameProgram renames p, a program of obj, and the program-array slots
// that name it, so that they still name it.
func renameProgram(obj *bpf.Object, p *bpf.Program, name string) {
	for _, m := range obj.Maps {
		for slot, prog := range m.Programs {
			if prog == p.Name {
				m.Programs[slot] = name
			}
		}
	}
	p.Name = name
}

// parseInterleaved parses flags that may come before or after positional
// arguments, as GCC users expect ("bpfopt compile x.s -o x.o").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
