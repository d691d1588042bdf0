package qemu

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

//go:embed runner/runner.c
var runnerSource []byte

// ErrMissingTool is wrapped by the errors Start returns when the cross
// compiler or qemu-user is not installed, so that tests can tell a missing
// tool from a broken engine.
var ErrMissingTool = errors.New("missing external tool")

// runnerFlags build the freestanding runner (see runner.c for why): no libc,
// MIPS32 Release 1 code so that it runs on every -cpu, no PIE so that the
// trampoline's %hi/%lo addressing links.
var runnerFlags = []string{
	"-O2", "-Wall", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin",
	"-fno-tree-loop-distribute-patterns", "-fno-stack-protector",
	"-fno-pie", "-no-pie", "-march=mips32", "-x", "c", "-",
}

// runnerLibs follow the source: libatomic first, since it needs libgcc.
var runnerLibs = []string{"-latomic", "-lgcc"}

// toolchain names the external programs for one byte order.
type toolchain struct {
	triple, compiler, compilerPkg, qemu string
}

func toolchainFor(t mips32.Target) toolchain {
	if t.BigEndian {
		return toolchain{"mips-linux-gnu", "mips-linux-gnu-gcc", "gcc-mips-linux-gnu", "qemu-mips"}
	}
	return toolchain{"mipsel-linux-gnu", "mipsel-linux-gnu-gcc", "gcc-mipsel-linux-gnu", "qemu-mipsel"}
}

// lookTool finds a program in PATH or explains which Debian package has it.
func lookTool(name, debianPkg string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s not found in PATH (install the Debian package %s)", ErrMissingTool, name, debianPkg)
	}
	return path, nil
}

// buildMu serializes builds within the process; the atomic rename handles
// other processes.
var buildMu sync.Mutex

// runnerBinary returns the path of the runner built for tc, building it into
// the user cache directory on first use. The file name carries a hash of the
// source, the compiler's identity and the flags, so that any change rebuilds.
func runnerBinary(tc toolchain) (string, error) {
	compiler, err := lookTool(tc.compiler, tc.compilerPkg)
	if err != nil {
		return "", err
	}
	version, err := exec.Command(compiler, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", compiler, err)
	}
	h := sha256.New()
	for _, part := range [][]byte{runnerSource, []byte(compiler), version, fmt.Appendf(nil, "%q%q", runnerFlags, runnerLibs)} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("runner-%s-%s", tc.triple, hex.EncodeToString(h.Sum(nil))[:16]))

	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, "runner-*.tmp")
	if err != nil {
		return "", fmt.Errorf("building the qemu runner: %v", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	args := append(append(append([]string{}, runnerFlags...), "-o", tmp.Name()), runnerLibs...)
	cmd := exec.Command(compiler, args...)
	cmd.Stdin = bytes.NewReader(runnerSource)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the qemu runner with %s: %v\n%s", tc.compiler, err, out)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("installing the qemu runner: %v", err)
	}
	return path, nil
}

func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "bpfopt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the runner cache directory: %v", err)
	}
	return dir, nil
}
