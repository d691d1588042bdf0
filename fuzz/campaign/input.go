package campaign

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// InputOptions are the generator options fuzz inputs are read with: every
// kind of instruction progen knows, subprograms (1 to 4, reached by `call
// local`), a 64-byte memory block, bodies of up to 64 instructions in all
// functions together.
var InputOptions = progen.Options{
	MemSize:      64,
	MaxInsns:     64,
	AllowAtomics: true,
	AllowV4:      true,
	AllowDiv:     true,
	Loops:        true,
	Calls:        true,
}

// CompileInputOptions are the generator options of the FuzzCompile
// targets: InputOptions with bodies of up to 400 instructions (a compile
// is cheaper than four executions, and long bodies stress the register
// allocator). A FuzzCompile input is all generator choices, with no
// memory prefix: progen.FromBytes(data, CompileInputOptions).
var CompileInputOptions = func() progen.Options {
	o := InputOptions
	o.MaxInsns = 400
	return o
}()

// CompileProgramFromInput maps a FuzzCompile input to its program and
// the memory ProgramFromInput starts from, so that CheckProgram can run
// it (for instance to reduce a compile failure).
func CompileProgramFromInput(data []byte) (*bpf.Program, []byte) {
	return progen.FromBytes(data, CompileInputOptions), inputMemory(CompileInputOptions.MemSize)
}

// inputMemory is the memory ProgramFromInput starts from: size bytes of a
// fixed pattern, not zeros, because zero memory would hide wrong loads.
func inputMemory(size int) []byte {
	mem := make([]byte, max(size, 0))
	for i := range mem {
		mem[i] = byte(i*0x9d + 0x5b)
	}
	return mem
}

// ProgramFromInput maps fuzzer bytes to a valid program and its input
// memory, the one input format of the native fuzz targets and the go-fuzz
// harnesses (so corpora carry over between them):
//
//	data[0]           k: the first k % (o.MemSize+1) bytes after it are memory
//	data[1:1+k']      the memory's first bytes; the rest is a fixed pattern
//	data[1+k':]       the generator's choices (progen.FromBytes)
//
// Any input, including none, gives a program and o.MemSize bytes.
func ProgramFromInput(data []byte, o progen.Options) (*bpf.Program, []byte) {
	mem := inputMemory(o.MemSize)
	rest := data
	if len(data) > 0 {
		k := int(data[0]) % (len(mem) + 1)
		k = min(k, len(data)-1)
		copy(mem, data[1:1+k])
		rest = data[1+k:]
	}
	return progen.FromBytes(rest, o), mem
}

// CheckInput checks the program and memory that data describes under
// InputOptions, with the step limit the generator guarantees.
func CheckInput(data []byte, cfg *Config) *Finding {
	p, mem := ProgramFromInput(data, InputOptions)
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = progen.StepBound(InputOptions)
	}
	return CheckProgram(p, mem, &c)
}

// goFuzzHeader opens the native fuzzer's corpus files.
const goFuzzHeader = "go test fuzz v1\n"

// ReadInputFile reads a fuzz input from a file in either engine's format:
// a native corpus or failure file ("go test fuzz v1" and one []byte("...")
// line, as in testdata/fuzz/<Target>/) or a go-fuzz corpus or crasher file
// (the raw bytes).
func ReadInputFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text, ok := strings.CutPrefix(string(data), goFuzzHeader)
	if !ok {
		return data, nil
	}
	lit, ok := strings.CutPrefix(strings.TrimSpace(text), "[]byte(")
	lit, ok2 := strings.CutSuffix(lit, ")")
	if !ok || !ok2 {
		return nil, fmt.Errorf("%s: want one []byte(...) value after %q", path, strings.TrimSpace(goFuzzHeader))
	}
	s, err := strconv.Unquote(lit)
	if err != nil {
		return nil, fmt.Errorf("%s: bad []byte literal: %v", path, err)
	}
	return []byte(s), nil
}
