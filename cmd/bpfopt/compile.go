package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

func cmdCompile(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bpfopt compile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	out := fs.String("o", "", "output file ('-' for standard output; default INPUT with .o, or .s with -S)")
	asm := fs.Bool("S", false, "write GNU assembly instead of an ELF object")
	entry := fs.String("entry", "", "symbol name of the compiled function (default: the program's name)")
	stats := fs.Bool("stats", false, "print per-pass and backend statistics to stderr")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return &exitError{2, err}
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("compile takes exactly one INPUT, got %d", len(pos))}
	}
	input := pos[0]
	opts, err := c.options(stderr)
	if err != nil {
		return &exitError{2, err}
	}
	res, name, err := c.compileInput(input, *entry, opts)
	if err != nil {
		return err
	}
	if *stats {
		for _, r := range res.Reports {
			fmt.Fprint(stderr, r.String())
		}
		s := res.Module.Stats
		fmt.Fprintf(stderr, "%s backend code_bytes=%d vregs=%d spilled=%d spill_slots=%d frame=%d callee_saved=%d\n",
			name, len(res.Module.Code), s.VirtualRegs, s.SpilledRegs, s.SpillSlots, s.FrameSize, s.CalleeSavedUsed)
	}
	var buf bytes.Buffer
	if *asm {
		err = mips32.FormatModuleAsm(&buf, res.Module, opts.Target)
	} else {
		err = mips32.WriteObject(&buf, res.Module.ELFFuncs(), &res.Module.Data, opts.Target)
	}
	if err != nil {
		return err
	}
	dest := *out
	if dest == "" {
		ext := ".o"
		if *asm {
			ext = ".s"
		}
		dest = strings.TrimSuffix(filepath.Base(input), filepath.Ext(input)) + ext
	}
	if dest == "-" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(dest, buf.Bytes(), 0o644)
}
