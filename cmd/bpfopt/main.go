// Command bpfopt compiles eBPF (raw bytecode, ELF objects from clang
// -target bpf, or assembly text) ahead of time to MIPS32 O32 machine code,
// and runs the result.
//
//	bpfopt compile [-o OUT] [-S] [--march=mips32r2] [-EL] [--entry NAME] [--prog NAME] [-O0|-O1|-O2] INPUT
//	bpfopt run [--engine=qemu] [--march=...] [--mem FILE] [--mem-hex HEX] [--dump-mem] INPUT
//	bpfopt conformance [--engine=qemu] [-O0|-O1|-O2] [DIR]
//	bpfopt bench [-o FILE] [--filter REGEX] [DIR]
//	bpfopt reduce [-O0] [-O2] [--march=mips32r2,mips32] [--engine=qemu] [-o NAME.data] INPUT
//
// See docs/cli.md.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// exitError carries an exit status through to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	tuneGC()
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if !errors.Is(err, errUsagePrinted) {
		fmt.Fprintf(os.Stderr, "bpfopt: %v\n", err)
	}
	os.Exit(code)
}

var errUsagePrinted = errors.New("usage")

// The garbage collector's settings for the tool (the GOGC and GOMEMLIMIT
// environment variables override them). A compile allocates about 12 KB
// per BPF instruction while holding a fraction of it, so the default
// (collect when the heap doubles) spends 15-20% of the time collecting.
// Letting the heap triple halves the collections, and the soft limit
// makes the collector work harder only as the heap nears it: on a
// program of a million instructions at -O2 this kept the peak resident
// memory at 1.8 GB (2.4 GB with the defaults) for no more CPU time
// (docs/results.md, "Compile scaling").
const (
	gcPercent   = 200
	memoryLimit = 1750 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

const usage = `usage: bpfopt <command> [flags] INPUT

commands:
  compile      compile eBPF to a MIPS32 ELF object (or assembly with -S)
  run          compile and execute on MIPS32 (qemu-user), print r0
  conformance  run the BPF conformance suite through compile and run
  bench        measure code size and executed instructions against GCC (Markdown table)
  reduce       shrink a program the fuzz oracles disagree on; write a regression test
  help         show this text

INPUT is an ELF object (clang -target bpf), assembly text (.s, .asm) or raw
little-endian 8-byte instructions (anything else; --big-endian-bytecode for
big-endian). Run 'bpfopt <command> -h' for the command's flags.
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{2, errUsagePrinted}
	}
	switch args[0] {
	case "compile":
		return cmdCompile(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "conformance":
		return cmdConformance(args[1:], stdout, stderr)
	case "bench":
		return cmdBench(args[1:], stdout, stderr)
	case "reduce":
		return cmdReduce(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &exitError{2, fmt.Errorf("unknown command %q", args[0])}
}
