package qemu

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// The tests produce machine code with GNU as, never with our own encoder, so
// that the engine is tested on its own.

// skipExternal reports whether tests may skip when an external tool is
// missing (BPFOPT_SKIP_EXTERNAL=1); otherwise a missing tool fails them.
func skipExternal() bool { return os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" }

// requireTool finds an external program or fails (skips under
// BPFOPT_SKIP_EXTERNAL=1) naming the Debian package to install.
func requireTool(t testing.TB, name, debianPkg string) string {
	t.Helper()
	path, err := lookTool(name, debianPkg)
	if err != nil {
		if skipExternal() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return path
}

// requireEngine returns the shared engine for target, failing (or skipping
// under BPFOPT_SKIP_EXTERNAL=1) when a tool is missing.
func requireEngine(t testing.TB, target mips32.Target) *Engine {
	t.Helper()
	e, err := Shared(target)
	if errors.Is(err, ErrMissingTool) && skipExternal() {
		t.Skip(err)
	}
	require.NoError(t, err)
	return e
}

// startEngine starts a private engine (closed at the end of the test).
func startEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := Start(opts)
	if errors.Is(err, ErrMissingTool) && skipExternal() {
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
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

// image lays o out as a module for RunModule: the code, then the data
// 8-byte aligned (as mips32.Module.Image does); the labels of both and the
// section symbols .text and .data are the module's symbols.
func (o *object) image() ([]byte, []mips32.Reloc, map[string]uint32) {
	blob := append([]byte(nil), o.code...)
	for len(blob)%8 != 0 {
		blob = append(blob, 0)
	}
	base := uint32(len(blob))
	blob = append(blob, o.data...)
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
	return blob, relocs, syms
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

// assemble runs GNU as on src (".set noreorder" is prepended, so delay slots
// are as written) for the given -march.
func assemble(t testing.TB, target mips32.Target, march, src string) *object {
	t.Helper()
	as := gnuTool(t, "as")
	obj := filepath.Join(t.TempDir(), "snippet.o")
	cmd := exec.Command(as, endianFlag(target), "-march="+march, "-mabi=32", "-o", obj, "-")
	cmd.Stdin = bytes.NewReader([]byte("\t.text\n\t.set noreorder\n" + src + "\n"))
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
	labels := map[string]uint32{}
	for _, s := range syms {
		if s.Section == elf.SectionIndex(indexOf(f, sec)) && s.Name != "" && elf.ST_TYPE(s.Info) != elf.STT_SECTION {
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

func indexOf(f *elf.File, s *elf.Section) int {
	for i, x := range f.Sections {
		if x == s {
			return i
		}
	}
	return -1
}

// le64 encodes little-endian 64-bit words: the memory blocks of the tests.
func le64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}
