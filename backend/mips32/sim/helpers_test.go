package sim

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
)

// The tests produce machine code with GNU as, never with the backend's
// encoder, and work out expected results by hand; the cross-checks then
// run the same code under qemu.

var (
	r2el = mips32.Target{Rev: mips32.R2}
	r2eb = mips32.Target{Rev: mips32.R2, BigEndian: true}
	r1el = mips32.Target{Rev: mips32.R1}
)

// skipExternal reports whether tests may skip when an external tool is
// missing (BPFOPT_SKIP_EXTERNAL=1); otherwise a missing tool fails them.
func skipExternal() bool { return os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" }

// requireTool finds an external program or fails (skips under
// BPFOPT_SKIP_EXTERNAL=1) naming the Debian package to install.
func requireTool(t testing.TB, name, debianPkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found in PATH: install the Debian package " + debianPkg
		if skipExternal() {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return path
}

// gnuTool finds a binutils program; the mipsel binutils handle both byte
// orders (-EL, -EB).
func gnuTool(t testing.TB, name string) string {
	return requireTool(t, "mipsel-linux-gnu-"+name, "binutils-mipsel-linux-gnu")
}

func endianFlag(target mips32.Target) string {
	if target.BigEndian {
		return "-EB"
	}
	return "-EL"
}

// object is an assembled snippet: the .text bytes, its relocations in file
// order, and the offsets of its labels; and the same for .data, when the
// snippet has one. A relocation against a section symbol (GNU as's way of
// referring to a local label) names the section: ".text" or ".data".
type object struct {
	code   []byte
	relocs []mips32.Reloc
	labels map[string]uint32

	data       []byte
	dataRelocs []mips32.Reloc
	dataLabels map[string]uint32
}

// module lays o out as the qemu engine's tests do: the code, then the data
// 8-byte aligned (as mips32.Module.Image does); the labels of both and the
// section symbols .text and .data are the module's symbols.
func (o *object) module() *Module {
	image := append([]byte(nil), o.code...)
	for len(image)%8 != 0 {
		image = append(image, 0)
	}
	base := uint32(len(image))
	image = append(image, o.data...)
	relocs := append([]mips32.Reloc(nil), o.relocs...)
	for _, r := range o.dataRelocs {
		r.Offset += base
		relocs = append(relocs, r)
	}
	syms := map[string]uint32{".text": 0, ".data": base}
	for name, off := range o.labels {
		syms[name] = off
	}
	for name, off := range o.dataLabels {
		syms[name] = base + off
	}
	return &Module{Image: image, CodeSize: uint32(len(o.code)), Relocs: relocs, Symbols: syms}
}

// assemble runs GNU as on src (".set noreorder" is prepended, so delay
// slots are as written) for the target's byte order and revision.
func assemble(t testing.TB, target mips32.Target, src string) *object {
	t.Helper()
	as := gnuTool(t, "as")
	obj := filepath.Join(t.TempDir(), "snippet.o")
	cmd := exec.Command(as, endianFlag(target), "-march="+target.March(), "-mabi=32",
		"-mno-fix-loongson3-llsc", "-o", obj, "-")
	cmd.Stdin = strings.NewReader("\t.text\n\t.set noreorder\n" + src + "\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "GNU as failed:\n%s\nsource:\n%s", out, src)
	return readObject(t, obj)
}

func readObject(t testing.TB, path string) *object {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	o := &object{}
	o.code, o.relocs, o.labels = readSection(t, f, ".text")
	if f.Section(".data") != nil {
		o.data, o.dataRelocs, o.dataLabels = readSection(t, f, ".data")
	}
	return o
}

// readSection returns a section's bytes, relocations and labels.
func readSection(t testing.TB, f *elf.File, name string) ([]byte, []mips32.Reloc, map[string]uint32) {
	t.Helper()
	sec := f.Section(name)
	require.NotNil(t, sec, name)
	data, err := sec.Data()
	require.NoError(t, err)
	syms, err := f.Symbols()
	require.NoError(t, err)
	index := slices.Index(f.Sections, sec)
	labels := map[string]uint32{}
	for _, s := range syms {
		if int(s.Section) == index && s.Name != "" && elf.ST_TYPE(s.Info) != elf.STT_SECTION {
			labels[s.Name] = uint32(s.Value)
		}
	}
	var relocs []mips32.Reloc
	if rel := f.Section(".rel" + name); rel != nil {
		raw, err := rel.Data()
		require.NoError(t, err)
		for i := 0; i+8 <= len(raw); i += 8 {
			off := f.ByteOrder.Uint32(raw[i:])
			info := f.ByteOrder.Uint32(raw[i+4:])
			sym := syms[info>>8-1] // Symbols omits the null symbol 0
			symName := sym.Name
			if elf.ST_TYPE(sym.Info) == elf.STT_SECTION {
				symName = f.Sections[sym.Section].Name
			}
			relocs = append(relocs, mips32.Reloc{Offset: off, Type: mips32.RelocType(info & 0xff), Sym: symName})
		}
	}
	return data, relocs, labels
}

// newMachine returns a simulator for target.
func newMachine(t testing.TB, opts Options) *Machine {
	t.Helper()
	m, err := New(opts)
	require.NoError(t, err)
	return m
}

// runSim assembles src for target and runs it from label "f" (or offset 0).
func runSim(t testing.TB, target mips32.Target, src string, mem []byte) (*Result, *object) {
	t.Helper()
	return runSimOpts(t, Options{Target: target}, src, mem)
}

func runSimOpts(t testing.TB, opts Options, src string, mem []byte) (*Result, *object) {
	t.Helper()
	obj := assemble(t, opts.Target, src)
	res, err := newMachine(t, opts).Run(obj.code, obj.relocs, obj.labels["f"], mem)
	require.NoError(t, err)
	return res, obj
}

// requireQemu returns the shared qemu engine for target, failing (or
// skipping under BPFOPT_SKIP_EXTERNAL=1) when a tool is missing.
func requireQemu(t testing.TB, target mips32.Target) *qemu.Engine {
	t.Helper()
	e, err := qemu.Shared(target)
	if errors.Is(err, qemu.ErrMissingTool) && skipExternal() {
		t.Skip(err)
	}
	require.NoError(t, err)
	return e
}

// requireReturned fails on a fault.
func requireReturned(t testing.TB, res *Result) {
	t.Helper()
	if res.Fault != nil {
		t.Fatalf("unexpected fault: %v", res.Fault)
	}
}

// r0Of is R0 for the given v0 and v1 under target's word order.
func r0Of(target mips32.Target, v0, v1 uint32) uint64 {
	if target.BigEndian {
		return uint64(v0)<<32 | uint64(v1)
	}
	return uint64(v1)<<32 | uint64(v0)
}

// words encodes 32-bit words in target's byte order.
func words(target mips32.Target, ws ...uint32) []byte {
	b := make([]byte, 4*len(ws))
	for i, w := range ws {
		target.ByteOrder().PutUint32(b[4*i:], w)
	}
	return b
}

// le64 encodes little-endian 64-bit words.
func le64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// be64 encodes big-endian 64-bit words.
func be64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

// u64s encodes 64-bit words in target's byte order.
func u64s(target mips32.Target, vs ...uint64) []byte {
	if target.BigEndian {
		return be64(vs...)
	}
	return le64(vs...)
}

// assembleBatch assembles many snippets in one GNU as run: snippet i's
// label f becomes f<i>, and entries[i] is its offset. A snippet that
// computes addresses from f's (j/jal targets, "- f)") must come first, so
// that it sits at offset 0 as when assembled alone.
func assembleBatch(t testing.TB, target mips32.Target, srcs []string) (obj *object, entries []uint32) {
	t.Helper()
	var b strings.Builder
	for i, src := range srcs {
		if i > 0 && strings.Contains(src, "- f)") {
			t.Fatalf("snippet %d computes addresses from f's: put it first", i)
		}
		name := fmt.Sprintf("f%d", i)
		src = strings.Replace(src, "f:", name+":", 1)
		src = strings.ReplaceAll(src, "- f)", "- "+name+")")
		b.WriteString(src + "\n")
	}
	obj = assemble(t, target, b.String())
	for i := range srcs {
		off, ok := obj.labels[fmt.Sprintf("f%d", i)]
		require.True(t, ok, "snippet %d has no label f", i)
		entries = append(entries, off)
	}
	return obj, entries
}
