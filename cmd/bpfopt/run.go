package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bpfopt run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	engine := fs.String("engine", "sim", "execution engine: sim (in-process simulator) or qemu (qemu-user, the reference); both run maps, helpers and tail calls")
	stats := fs.Bool("stats", false, "print dynamic_insns=N cycles=M (and more counts) to stderr; sim engine only")
	memFile := fs.String("mem", "", "file whose bytes are the program's memory (r1 points to a copy, r2 = its length)")
	memHex := fs.String("mem-hex", "", "the program's memory as hex bytes (spaces allowed)")
	dumpMem := fs.Bool("dump-mem", false, "print the final memory as hex bytes on a second line")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return &exitError{2, err}
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("run takes exactly one INPUT, got %d", len(pos))}
	}
	mem, err := readMem(*memFile, *memHex)
	if err != nil {
		return &exitError{2, err}
	}
	opts, err := c.options(stderr)
	if err != nil {
		return &exitError{2, err}
	}
	res, name, err := c.compileInput(pos[0], "", opts)
	if err != nil {
		return err
	}
	if *stats && *engine != "sim" {
		return &exitError{2, fmt.Errorf("--stats needs --engine=sim")}
	}
	e, err := pipeline.NewEngine(*engine, opts.Target)
	if err != nil {
		return &exitError{2, err}
	}
	entry, _ := res.Module.Entry(name)
	out, err := e.Run(res.Module, entry, mem)
	if err != nil {
		return err
	}
	if *stats {
		s := out.Stats
		fmt.Fprintf(stderr, "dynamic_insns=%d cycles=%d stalls=%d loads=%d stores=%d branches=%d taken_branches=%d calls=%d\n",
			s.Insns, s.Cycles, s.Stalls, s.Loads, s.Stores, s.Branches, s.TakenBranches, s.Calls)
	}
	if out.Fault != nil {
		return &exitError{3, fmt.Errorf("%s: runtime fault: %v", pos[0], out.Fault)}
	}
	fmt.Fprintf(stdout, "%#x\n", out.R0)
	if *dumpMem {
		fmt.Fprintln(stdout, formatHexBytes(out.Mem))
	}
	return nil
}

func readMem(file, hexText string) ([]byte, error) {
	switch {
	case file != "" && hexText != "":
		return nil, fmt.Errorf("give --mem or --mem-hex, not both")
	case file != "":
		return os.ReadFile(file)
	case hexText != "":
		b, err := hex.DecodeString(strings.Join(strings.Fields(hexText), ""))
		if err != nil {
			return nil, fmt.Errorf("--mem-hex: %v", err)
		}
		return b, nil
	}
	return nil, nil
}

func formatHexBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, " ")
}
