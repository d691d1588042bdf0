// Command gendoc writes the generated sections of docs/ir.md: the op
// reference (from ir/op.go's opTable and the comment after each Op
// constant, plus the split form of every 64-bit op, made by running
// legalize64), the runtime functions (ir/runtime.go) and the worked
// examples (cmd/bpfopt's own -dump-after output). Each section sits
// between marker lines
//
//	<!-- BEGIN GENERATED OPS -->
//	<!-- END GENERATED OPS -->
//
// (likewise RUNTIME and EXAMPLES); everything outside the markers is
// hand-written and left alone.
//
// Usage, from ir (go generate ./ir runs exactly this):
//
//	go run ./internal/gendoc             # rewrite ../docs/ir.md
//	go run ./internal/gendoc -check      # exit 1 if it is stale
//
// gendoc_test.go fails when the committed document differs from what this
// command writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	irDir := flag.String("ir", ".", "directory of package ir (op.go, types.go, runtime.go)")
	docPath := flag.String("doc", "../docs/ir.md", "document whose generated sections to rewrite")
	check := flag.Bool("check", false, "report a stale document (exit 1) instead of rewriting it")
	flag.Parse()
	if err := run(*irDir, *docPath, *check); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}

func run(irDir, docPath string, check bool) error {
	old, err := os.ReadFile(docPath)
	if err != nil {
		return err
	}
	doc, err := generate(irDir, old)
	if err != nil {
		return err
	}
	if bytes.Equal(doc, old) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is stale: run go generate ./ir", docPath)
	}
	return os.WriteFile(docPath, doc, 0o644)
}

// section is one generated part of the document.
type section struct {
	name   string // in the markers: OPS, RUNTIME, EXAMPLES
	render func() (string, error)
}

// generate returns doc with every generated section rewritten from the
// sources of package ir in irDir (and the module around it).
func generate(irDir string, doc []byte) ([]byte, error) {
	root, err := moduleRoot(irDir)
	if err != nil {
		return nil, err
	}
	sections := []section{
		{"OPS", func() (string, error) {
			ops, err := readOps(filepath.Join(irDir, "op.go"), filepath.Join(irDir, "types.go"))
			if err != nil {
				return "", err
			}
			splits, err := splitForms(ops)
			if err != nil {
				return "", err
			}
			return renderOps(ops, splits), nil
		}},
		{"RUNTIME", func() (string, error) {
			names, err := readRuntimeNames(filepath.Join(irDir, "runtime.go"))
			if err != nil {
				return "", err
			}
			return renderRuntime(names), nil
		}},
		{"EXAMPLES", func() (string, error) { return renderExamples(root) }},
	}
	text := string(doc)
	for _, s := range sections {
		content, err := s.render()
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.name, err)
		}
		if text, err = splice(text, s.name, content); err != nil {
			return nil, err
		}
	}
	return []byte(text), nil
}

func beginMarker(name string) string { return "<!-- BEGIN GENERATED " + name + " -->" }
func endMarker(name string) string   { return "<!-- END GENERATED " + name + " -->" }

// generatedNote opens every generated section, for whoever edits the file.
const generatedNote = "<!-- Written by `go generate ./ir` (ir/internal/gendoc). Do not edit between these markers. -->"

// splice replaces the lines between the name's marker lines with content.
// Each marker must be a line of its own, appear once, begin before end.
func splice(doc, name, content string) (string, error) {
	begin, end := beginMarker(name), endMarker(name)
	lines := strings.SplitAfter(doc, "\n")
	bi, ei := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case begin:
			if bi >= 0 {
				return "", fmt.Errorf("marker %q appears twice (lines %d and %d)", begin, bi+1, i+1)
			}
			bi = i
		case end:
			if ei >= 0 {
				return "", fmt.Errorf("marker %q appears twice (lines %d and %d)", end, ei+1, i+1)
			}
			ei = i
		}
	}
	switch {
	case bi < 0:
		return "", fmt.Errorf("marker line %q is missing", begin)
	case ei < 0:
		return "", fmt.Errorf("marker line %q is missing", end)
	case ei < bi:
		return "", fmt.Errorf("marker %q (line %d) comes before %q (line %d)", end, ei+1, begin, bi+1)
	}
	var sb strings.Builder
	for _, l := range lines[:bi+1] {
		sb.WriteString(l)
	}
	sb.WriteString(generatedNote + "\n\n")
	sb.WriteString(strings.TrimRight(content, "\n") + "\n\n")
	for _, l := range lines[ei:] {
		sb.WriteString(l)
	}
	return sb.String(), nil
}

// moduleRoot is the nearest directory at or above dir holding go.mod.
func moduleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", abs)
		}
	}
}
