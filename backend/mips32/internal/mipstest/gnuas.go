// Package mipstest is the test support the MIPS engines' tests share
// (backend/mips32/qemu, backend/mips32/sim and sim/runner): machine code
// from GNU as, never from the backend's encoder, so that an engine is
// tested on its own; programs that call the runtime step by step
// (steps.go); and the programs both engines' tests run (programs.go),
// so that the simulator's runtime is checked on exactly what the C
// runner's tests check.
//
// Import rule: it imports backend/mips32 for types only and neither
// engine, so that each engine's internal tests can import it.
package mipstest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// SkipExternal reports whether tests may skip when an external tool is
// missing (BPFOPT_SKIP_EXTERNAL=1); otherwise a missing tool fails them.
func SkipExternal() bool { return os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" }

// RequireTool finds an external program or fails (skips under
// BPFOPT_SKIP_EXTERNAL=1) naming the Debian package to install.
func RequireTool(t testing.TB, name, debianPkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found in PATH: install the Debian package " + debianPkg
		if SkipExternal() {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return path
}

// GNUTool finds a binutils program; the mipsel binutils handle both byte
// orders (-EL, -EB).
func GNUTool(t testing.TB, name string) string {
	return RequireTool(t, "mipsel-linux-gnu-"+name, "binutils-mipsel-linux-gnu")
}

// EndianFlag is the GNU tools' byte-order flag for target.
func EndianFlag(target mips32.Target) string {
	if target.BigEndian {
		return "-EB"
	}
	return "-EL"
}

// Object is an assembled snippet: the .text bytes, its relocations in
// file order, and the offsets of its labels; and the same for .data, when
// the snippet has one. A relocation against a section symbol (GNU as's
// way of referring to a local label) names the section: ".text" or
// ".data".
type Object struct {
	Code   []byte
	Relocs []mips32.Reloc
	Labels map[string]uint32

	Data       []byte
	DataRelocs []mips32.Reloc
	DataLabels map[string]uint32
}

// Image lays o out as a module, as mips32.Module.Image does: the code,
// then the data 8-byte aligned, with the data relocations moved along;
// the labels of both and the section symbols .text and .data are the
// module's symbols.
func (o *Object) Image() (image []byte, relocs []mips32.Reloc, syms map[string]uint32) {
	image = append([]byte(nil), o.Code...)
	for len(image)%8 != 0 {
		image = append(image, 0)
	}
	base := uint32(len(image))
	image = append(image, o.Data...)
	relocs = append([]mips32.Reloc(nil), o.Relocs...)
	for _, r := range o.DataRelocs {
		r.Offset += base
		relocs = append(relocs, r)
	}
	syms = map[string]uint32{".text": 0, ".data": base}
	for name, off := range o.Labels {
		syms[name] = off
	}
	for name, off := range o.DataLabels {
		syms[name] = base + off
	}
	return image, relocs, syms
}

// Assemble runs GNU as on src (".set noreorder" is prepended, so delay
// slots are as written) for target's byte order and the given -march.
// -mno-fix-loongson3-llsc keeps Debian's as from adding a sync before
// every ll.
func Assemble(t testing.TB, target mips32.Target, march, src string) *Object {
	t.Helper()
	as := GNUTool(t, "as")
	obj := filepath.Join(t.TempDir(), "snippet.o")
	cmd := exec.Command(as, EndianFlag(target), "-march="+march, "-mabi=32", "-mno-fix-loongson3-llsc", "-o", obj, "-")
	cmd.Stdin = strings.NewReader("\t.text\n\t.set noreorder\n" + src + "\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "GNU as failed:\n%s\nsource:\n%s", out, src)
	return ReadObject(t, obj)
}

// ReadObject reads the .text and .data of an ELF object or executable.
func ReadObject(t testing.TB, path string) *Object {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	o := &Object{}
	o.Code, o.Relocs, o.Labels = readSection(t, f, ".text")
	if f.Section(".data") != nil {
		o.Data, o.DataRelocs, o.DataLabels = readSection(t, f, ".data")
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
