package qemu

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// runnerSources are the runner's files: runner.c (protocol, trampoline,
// signals), helpers.c (the BPF helpers), maps.c (maps and the tail-call
// lookup) and runner.h (what they share).
//
//go:embed runner/*.c runner/*.h
var runnerSources embed.FS

// runnerUnits are the translation units, in link order.
var runnerUnits = []string{"runner.c", "helpers.c", "maps.c"}

// ErrMissingTool is wrapped by the errors Start returns when the cross
// compiler or qemu-user is not installed, so that tests can tell a missing
// tool from a broken engine.
var ErrMissingTool = errors.New("missing external tool")

// runnerFlags build the freestanding runner (see runner.c for why): no libc,
// MIPS32 Release 1 code so that it runs on every -cpu, no PIE so that the
// trampoline's %hi/%lo addressing links. -mplt makes calls between the
// runner's files direct: without it GCC loads the address of a function of
// another file from the GOT, setting gp on the way (even in a delay slot of
// a path that returns), and the BPF helpers must leave gp as the program's
// caller had it, which the engine checks.
var runnerFlags = []string{
	"-O2", "-Wall", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin",
	"-fno-tree-loop-distribute-patterns", "-fno-stack-protector",
	"-fno-pie", "-no-pie", "-mplt", "-march=mips32",
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
	sources, err := runnerSources.ReadDir("runner")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	hashPart := func(part []byte) {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	files := map[string][]byte{}
	for _, s := range sources {
		data, err := runnerSources.ReadFile("runner/" + s.Name())
		if err != nil {
			return "", err
		}
		files[s.Name()] = data
		hashPart([]byte(s.Name())) // ReadDir sorts by name
		hashPart(data)
	}
	for _, part := range [][]byte{[]byte(compiler), version, fmt.Appendf(nil, "%q%q%q", runnerFlags, runnerUnits, runnerLibs)} {
		hashPart(part)
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
	src, err := os.MkdirTemp(dir, "runner-src-*")
	if err != nil {
		return "", fmt.Errorf("building the qemu runner: %v", err)
	}
	defer os.RemoveAll(src)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			return "", fmt.Errorf("building the qemu runner: %v", err)
		}
	}
	args := append(append([]string{}, runnerFlags...), "-o", tmp.Name())
	for _, u := range runnerUnits {
		args = append(args, filepath.Join(src, u))
	}
	cmd := exec.Command(compiler, append(args, runnerLibs...)...)
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
