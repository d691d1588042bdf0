// Package conformance reads the data files of the BPF conformance suite
// (Alan-Jowett/bpf_conformance), which the tests of every stage run.
//
// A file is a list of sections, each opened by a line "-- NAME"; lines
// starting with # outside the asm section are comments. The sections:
//
//   - asm: the program in assembly (bpf.ParseAsm reads it; its own comments
//     are kept so that line numbers stay right).
//   - mem: the initial memory, hex bytes separated by white space. At entry
//     r1 points to a copy and r2 holds its length; without it the memory is
//     empty.
//   - result: the expected r0 at exit (hex with 0x, else decimal).
//   - raw: the program as 64-bit instruction words, one or more per line:
//     the little-endian reading of each 8-byte slot (opcode in the low byte,
//     imm in the high 32 bits). When present, bpf_conformance runs it instead
//     of asm.
//   - error: the error the runtime is expected to report instead of a
//     result (the runner compares it with the plugin's message). A test with
//     an error expects the program to be rejected or to fail.
//   - c: the C source the program came from; documentation only.
//   - no register offset: a marker inherited from uBPF's test suite, telling
//     uBPF's JIT test mode that remaps registers ("register offset") to skip
//     the test (its body names the reason, e.g. "call instruction"). It has
//     no meaning for the program's semantics; bpf_conformance ignores it.
//
// Every section's body is also kept verbatim in Test.Sections.
//
// Import rule: standard library only; it knows nothing of eBPF encodings
// beyond reading the raw words as numbers.
package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Test is one conformance file.
type Test struct {
	Name string // file name without .data
	Path string
	// Asm is the asm section verbatim; its line n is line AsmLine+n-1 of the
	// file.
	Asm     string
	AsmLine int
	Mem     []byte // nil when the file has no mem section
	// Result is the expected r0; HasResult is false when the file has no
	// result section (then Error should be set).
	Result    uint64
	HasResult bool
	Raw       []uint64 // instruction words of the raw section, nil without one
	Error     string   // expected error (error section), "" when none
	Sections  map[string]string
}

// Parse reads one .data file.
func Parse(path string) (*Test, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := ParseText(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = path
	t.Name = strings.TrimSuffix(filepath.Base(path), ".data")
	return t, nil
}

// ParseText parses the text of a .data file.
func ParseText(text string) (*Test, error) {
	t := &Test{Sections: map[string]string{}}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	section, startLine := "", 0
	var body []string
	flush := func() error {
		if section == "" {
			return nil
		}
		if _, dup := t.Sections[section]; dup {
			return fmt.Errorf("line %d: section %q appears twice", startLine-1, section)
		}
		text := strings.Join(body, "\n")
		t.Sections[section] = text
		return t.apply(section, text, startLine)
	}
	for i, line := range lines {
		if name, ok := strings.CutPrefix(line, "-- "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			section, startLine, body = strings.TrimSpace(name), i+2, nil
			continue
		}
		if section != "" {
			body = append(body, line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if _, ok := t.Sections["asm"]; !ok {
		if _, ok := t.Sections["raw"]; !ok {
			return nil, errors.New("no asm or raw section")
		}
	}
	if !t.HasResult && t.Error == "" {
		return nil, errors.New("neither a result nor an error section")
	}
	return t, nil
}

// dataLines are the non-blank, non-comment lines of a section.
func dataLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func (t *Test) apply(section, text string, line int) error {
	switch section {
	case "asm":
		t.Asm, t.AsmLine = text, line
	case "mem":
		t.Mem = []byte{}
		for _, f := range strings.Fields(strings.Join(dataLines(text), " ")) {
			b, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return fmt.Errorf("mem section (line %d): bad byte %q", line, f)
			}
			t.Mem = append(t.Mem, byte(b))
		}
	case "result":
		l := dataLines(text)
		if len(l) != 1 {
			return fmt.Errorf("result section (line %d): want one value, got %d lines", line, len(l))
		}
		v, err := parseUint(l[0])
		if err != nil {
			return fmt.Errorf("result section (line %d): %v", line, err)
		}
		t.Result, t.HasResult = v, true
	case "raw":
		t.Raw = []uint64{}
		for _, f := range strings.Fields(strings.Join(dataLines(text), " ")) {
			v, err := parseUint(f)
			if err != nil {
				return fmt.Errorf("raw section (line %d): %v", line, err)
			}
			t.Raw = append(t.Raw, v)
		}
	case "error":
		t.Error = strings.Join(dataLines(text), "\n")
	}
	return nil
}

func parseUint(s string) (uint64, error) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strconv.ParseUint(h, 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

// RawBytes is the raw section as little-endian bytecode.
func (t *Test) RawBytes() []byte {
	out := make([]byte, 0, 8*len(t.Raw))
	for _, w := range t.Raw {
		for i := 0; i < 8; i++ {
			out = append(out, byte(w>>(8*i)))
		}
	}
	return out
}

// LoadDir parses every .data file of dir, sorted by name.
func LoadDir(dir string) ([]*Test, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.data"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .data files in %s (set %s to the suite's directory)", dir, EnvDir)
	}
	slices.Sort(paths)
	tests := make([]*Test, 0, len(paths))
	for _, p := range paths {
		t, err := Parse(p)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// EnvDir names the environment variable that overrides Dir.
const EnvDir = "BPFOPT_CONFORMANCE_DIR"

// Dir finds the suite: $BPFOPT_CONFORMANCE_DIR, else ../shared/conformance
// beside the repository root (the directory holding go.mod, found by
// walking up from the working directory). When there is no go.mod above,
// it returns ../shared/conformance relative to the working directory; a
// missing directory is reported by LoadDir.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "conformance")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "conformance")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "..", "shared", "conformance")
		}
	}
}
