package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/bpfopt/bpfopt/cmd/bpfopt/bench"
)

// cmdBench runs the benchmark corpus (package cmd/bpfopt/bench) and
// writes the Markdown table.
func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bpfopt bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "-", "write the Markdown table to this file (- for stdout)")
	filter := fs.String("filter", "", "measure only the programs whose name matches this regular expression")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return &exitError{2, err}
	}
	opts := bench.Options{}
	switch len(pos) {
	case 0:
	case 1:
		opts.Dir = pos[0]
	default:
		return &exitError{2, fmt.Errorf("bench takes at most one DIR, got %d", len(pos))}
	}
	if *filter != "" {
		re, err := regexp.Compile(*filter)
		if err != nil {
			return &exitError{2, fmt.Errorf("--filter: %v", err)}
		}
		opts.Filter = re
	}
	if !*quiet {
		opts.Progress = stderr
	}
	rows, err := bench.Run(opts)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if _, err := fmt.Fprintf(w, "%s\n\n", bench.Preamble()); err != nil {
		return err
	}
	if err := bench.WriteMarkdown(w, rows); err != nil {
		return err
	}
	failed := 0
	for _, r := range rows {
		if r.Failed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d programs failed their checks (listed under the table)", failed, len(rows))
	}
	return nil
}
