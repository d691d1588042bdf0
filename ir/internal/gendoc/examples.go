package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// The worked examples are the real tool's output: the generator builds
// cmd/bpfopt and runs the very command the document shows on each program
// in examples/, so a reader who runs it gets the same text.

// examplesDir holds the example programs, relative to the module root.
const examplesDir = "ir/internal/gendoc/examples"

// exampleArgs are the bpfopt arguments before the file name.
var exampleArgs = []string{"compile", "-S", "-o", "/dev/null", "--dump-after=lift,legalize64"}

func renderExamples(root string) (string, error) {
	files, err := filepath.Glob(filepath.Join(root, examplesDir, "*.s"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no example programs in %s", filepath.Join(root, examplesDir))
	}
	sort.Strings(files)
	bin, cleanup, err := buildTool(root)
	if err != nil {
		return "", err
	}
	defer cleanup()

	var sb strings.Builder
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		rel := examplesDir + "/" + filepath.Base(path)
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, append(exampleArgs, rel)...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("bpfopt %s %s: %v\n%s", strings.Join(exampleArgs, " "), rel, err, stderr.String())
		}
		fmt.Fprintf(&sb, "### `%s`\n\n```\n%s```\n\n", filepath.Base(path), src)
		fmt.Fprintf(&sb, "```sh\ngo run ./cmd/bpfopt %s %s\n```\n\n", strings.Join(exampleArgs, " "), rel)
		fmt.Fprintf(&sb, "```\n%s```\n\n", stderr.String())
	}
	return strings.TrimSuffix(sb.String(), "\n"), nil
}

// buildTool builds cmd/bpfopt into a temporary directory.
func buildTool(root string) (bin string, cleanup func(), err error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("the go command is not on PATH (Debian package golang-go): it builds cmd/bpfopt for the worked examples")
	}
	dir, err := os.MkdirTemp("", "gendoc")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "bpfopt")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/bpfopt")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./cmd/bpfopt: %v\n%s", err, out)
	}
	return bin, cleanup, nil
}
