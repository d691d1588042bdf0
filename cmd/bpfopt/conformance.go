package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

func cmdConformance(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bpfopt conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	engine := fs.String("engine", "sim", "execution engine: sim or qemu")
	verbose := fs.Bool("v", false, "print every test's outcome")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return &exitError{2, err}
	}
	dir := conformance.Dir()
	if len(pos) == 1 {
		dir = pos[0]
	} else if len(pos) > 1 {
		return &exitError{2, fmt.Errorf("conformance takes at most one DIR")}
	}
	tests, err := conformance.LoadDir(dir)
	if err != nil {
		return err
	}
	opts, err := c.options(stderr)
	if err != nil {
		return &exitError{2, err}
	}
	e, err := pipeline.NewEngine(*engine, opts.Target)
	if err != nil {
		return &exitError{2, err}
	}
	outcomes := make([]pipeline.Outcome, len(tests))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, t := range tests {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outcomes[i] = pipeline.RunConformanceTest(t, e, opts)
		}()
	}
	wg.Wait()
	if *verbose {
		for _, o := range outcomes {
			if o.Verdict == pipeline.Pass {
				fmt.Fprintf(stdout, "PASS %s: %s\n", o.Test.Name, o.Detail)
			}
		}
	}
	summary, _, fail, _ := pipeline.Summary(outcomes)
	fmt.Fprint(stdout, summary)
	if fail > 0 {
		return &exitError{1, fmt.Errorf("%d conformance tests failed", fail)}
	}
	return nil
}
