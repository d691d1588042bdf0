package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ClangBPF compiles the C file src into a little-endian BPF ELF object
// with clang, as the corpus and the benchmark programs are built —
// `clang -O2 -g -target bpfel -mcpu=CPU -c SRC` (-g: the BTF that map
// definitions in .maps need) — and returns the object's bytes.
func ClangBPF(src, cpu string) ([]byte, error) {
	clang, err := exec.LookPath("clang")
	if err != nil {
		return nil, fmt.Errorf("clang not found: apt-get install clang")
	}
	dir, err := os.MkdirTemp("", "bpfopt-clang-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "prog.o")
	cmd := exec.Command(clang, "-O2", "-g", "-target", "bpfel", "-mcpu="+cpu, "-c", src, "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", cmd, err, msg)
	}
	return os.ReadFile(out)
}
