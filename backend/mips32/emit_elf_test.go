package mips32

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hand-built functions for the object-file tests; testdata/elf_main.c
// calls them and checks their results.

// addCarryFunc returns a+b in v0 and the carry in v1: a 64-bit result.
func addCarryFunc() []Inst {
	return []Inst{
		{Op: ADDU, Rd: V0, Rs: A0, Rt: A1},
		{Op: SLTU, Rd: V1, Rs: V0, Rt: A0},
		{Op: JR, Rs: RA},
		{Op: NOP},
	}
}

// callExtFunc calls ext_fn(a0) through an absolute address, in a frame
// that saves ra.
func callExtFunc() []Inst {
	return []Inst{
		{Op: ADDIU, Rt: SP, Rs: SP, Imm: -24},
		{Op: SW, Rt: RA, Rs: SP, Imm: 20},
		{Op: LUI, Rt: T9, Sym: "ext_fn", Reloc: RelocHi16},
		{Op: ADDIU, Rt: T9, Rs: T9, Sym: "ext_fn", Reloc: RelocLo16},
		{Op: JALR, Rs: T9},
		{Op: NOP},
		{Op: LW, Rt: RA, Rs: SP, Imm: 20},
		{Op: JR, Rs: RA},
		{Op: ADDIU, Rt: SP, Rs: SP, Imm: 24},
	}
}

// callAddFunc calls add_carry, defined in the same object, and returns its
// 64-bit result.
func callAddFunc() []Inst {
	return []Inst{
		{Op: ADDIU, Rt: SP, Rs: SP, Imm: -24},
		{Op: LUI, Rt: T9, Sym: "add_carry", Reloc: RelocHi16},
		{Op: SW, Rt: RA, Rs: SP, Imm: 20},
		{Op: ADDIU, Rt: T9, Rs: T9, Sym: "add_carry", Reloc: RelocLo16},
		{Op: JALR, Rs: T9},
		{Op: NOP},
		{Op: LW, Rt: RA, Rs: SP, Imm: 20},
		{Op: JR, Rs: RA},
		{Op: ADDIU, Rt: SP, Rs: SP, Imm: 24},
	}
}

// readGlobalFunc loads the C global ext_global.
func readGlobalFunc() []Inst {
	return []Inst{
		{Op: LUI, Rt: AT, Sym: "ext_global", Reloc: RelocHi16},
		{Op: LW, Rt: V0, Rs: AT, Sym: "ext_global", Reloc: RelocLo16},
		{Op: JR, Rs: RA},
		{Op: NOP},
	}
}

// longBranchFunc has pad instructions between its branches and their
// targets, so that with pad > 32767 all but one branch must be relaxed:
//
//	mode 0: v0 = 1000 (beq's delay slot, long forward) + 7 = 1007
//	mode 1: 1000 + pad (short beq into the padding) + 7, then bgtz long
//	        backward to .L3: + 100 → 1107 + pad
//	mode 2: 1000, b long forward (+20000 in its delay slot) to .L5, b long
//	        backward (+30000) to .L3: + 100 → 51100
//
// Every path returns through jr ra, so the long jumps must preserve ra.
func longBranchFunc(pad int) []Inst {
	insts := []Inst{
		{Op: MOVE, Rd: V0, Rs: ZERO},
		{Op: BEQ, Rs: A0, Rt: ZERO, Target: 1}, // long forward, conditional
		{Op: ADDIU, Rt: V0, Rs: V0, Imm: 1000},
		{Op: ADDIU, Rt: T0, Rs: A0, Imm: -1},
		{Op: BEQ, Rs: T0, Rt: ZERO, Target: 2}, // short
		{Op: NOP},
		{Op: B, Target: 5}, // long forward, unconditional
		{Op: ADDIU, Rt: V0, Rs: V0, Imm: 20000},
		{Op: LABEL, Target: 3},
		{Op: JR, Rs: RA},
		{Op: ADDIU, Rt: V0, Rs: V0, Imm: 100},
		{Op: LABEL, Target: 2},
	}
	for range pad {
		insts = append(insts, Inst{Op: ADDIU, Rt: V0, Rs: V0, Imm: 1})
	}
	return append(insts,
		Inst{Op: LABEL, Target: 1},
		Inst{Op: ADDIU, Rt: V0, Rs: V0, Imm: 7},
		Inst{Op: BGTZ, Rs: A0, Target: 3}, // long backward, conditional
		Inst{Op: NOP},
		Inst{Op: JR, Rs: RA},
		Inst{Op: NOP},
		Inst{Op: LABEL, Target: 5},
		Inst{Op: B, Target: 3}, // long backward, unconditional
		Inst{Op: ADDIU, Rt: V0, Rs: V0, Imm: 30000},
	)
}

// testObjectFuncs assembles the functions elf_main.c calls.
func testObjectFuncs(t *testing.T, tg Target) []ELFFunc {
	t.Helper()
	var funcs []ELFFunc
	for _, f := range testObjectSources() {
		a, err := Assemble(f.insts, tg)
		require.NoError(t, err, f.name)
		funcs = append(funcs, ELFFunc{Name: f.name, Code: a.Code, Relocs: a.Relocs})
	}
	return funcs
}

type testFunc struct {
	name  string
	insts []Inst
}

func testObjectSources() []testFunc {
	return []testFunc{
		{"add_carry", addCarryFunc()},
		{"call_ext", callExtFunc()},
		{"call_add", callAddFunc()},
		{"read_global", readGlobalFunc()},
		{"long_branches", longBranchFunc(40000)},
	}
}

func writeObject(t *testing.T, funcs []ELFFunc, tg Target) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteELF(&b, funcs, tg))
	path := filepath.Join(t.TempDir(), "funcs.o")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

// TestELFRunsUnderQemu links our object with a C driver and runs it: the
// calls, the 64-bit return, the relocations and the long branches work.
// Against glibc for little-endian; freestanding (no libc) for both byte
// orders, since the machine has no big-endian libc.
func TestELFRunsUnderQemu(t *testing.T) {
	requireTools(t, "mipsel-linux-gnu-gcc", "qemu-mipsel", "qemu-mips")
	for _, tg := range []Target{{Rev: R2}, {Rev: R1}, {Rev: R2, BigEndian: true}, {Rev: R1, BigEndian: true}} {
		for _, hosted := range []bool{true, false} {
			if hosted && tg.BigEndian {
				continue
			}
			name := tg.String() + "/freestanding"
			if hosted {
				name = tg.String() + "/glibc"
			}
			t.Run(name, func(t *testing.T) {
				obj := writeObject(t, testObjectFuncs(t, tg), tg)
				exe := filepath.Join(t.TempDir(), "prog")
				args := []string{"-static", "-no-pie", "-O1", "-o", exe}
				if !hosted {
					// -G0: no gp-relative data, as nothing sets up $gp;
					// -mplt: non-PIC abicalls code, like ours.
					args = append(args, "-nostdlib", "-ffreestanding", "-DFREESTANDING", "-G0", "-fno-pic", "-mplt", gccEndian(tg))
				}
				out, err := exec.Command("mipsel-linux-gnu-gcc", append(args, "testdata/elf_main.c", obj)...).CombinedOutput()
				require.NoError(t, err, "link failed:\n%s", out)
				assert.Empty(t, string(out), "the link must not warn")
				qemu := "qemu-mipsel"
				if tg.BigEndian {
					qemu = "qemu-mips"
				}
				out, err = exec.Command(qemu, "-cpu", "24Kf", exe).CombinedOutput()
				require.NoError(t, err, "program failed (exit status = number of failed checks):\n%s", out)
				if hosted {
					assert.Equal(t, "ok\n", string(out))
				}
			})
		}
	}
}

func gccEndian(tg Target) string {
	if tg.BigEndian {
		return "-EB"
	}
	return "-EL"
}

// TestELFStackNote links our object alone (libc's objects would decide
// otherwise) and checks that its .note.GNU-stack keeps the stack
// non-executable: ld makes it executable when an object lacks the note.
func TestELFStackNote(t *testing.T) {
	requireTools(t, "mipsel-linux-gnu-gcc")
	tg := Target{Rev: R2}
	a, err := Assemble(addCarryFunc(), tg)
	require.NoError(t, err)
	obj := writeObject(t, []ELFFunc{{Name: "add_carry", Code: a.Code}}, tg)
	exe := filepath.Join(t.TempDir(), "alone")
	out, err := exec.Command("mipsel-linux-gnu-gcc", "-nostdlib", "-static", "-no-pie", "-Wl,-e,add_carry", "-o", exe, obj).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, string(out), "the link must not warn")
	f, err := elf.Open(exe)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_STACK {
			assert.Zero(t, p.Flags&elf.PF_X, "executable stack")
			return
		}
	}
	t.Error("no PT_GNU_STACK")
}

// TestELFMatchesGNU checks our object with readelf and objdump (no
// complaints), and against the object GNU as makes from FormatAsm's output:
// same .text bytes, same relocations, same function symbols, same e_flags.
func TestELFMatchesGNU(t *testing.T) {
	requireTools(t, "mipsel-linux-gnu-readelf", "mipsel-linux-gnu-objdump")
	sets := map[string][]testFunc{
		"all":      testObjectSources(),
		"call_ext": {{"call_ext", callExtFunc()}}, // .text padded to 16 bytes
	}
	for _, tg := range []Target{{Rev: R2}, {Rev: R1}, {Rev: R2, BigEndian: true}, {Rev: R1, BigEndian: true}} {
		for setName, set := range sets {
			t.Run(tg.String()+"/"+setName, func(t *testing.T) { checkELFAgainstGNU(t, set, tg) })
		}
	}
}

func checkELFAgainstGNU(t *testing.T, set []testFunc, tg Target) {
	var funcs []ELFFunc
	var src strings.Builder
	for _, f := range set {
		a, err := Assemble(f.insts, tg)
		require.NoError(t, err)
		require.NoError(t, FormatAsm(&src, f.name, a, tg))
		funcs = append(funcs, ELFFunc{Name: f.name, Code: a.Code, Relocs: a.Relocs})
	}
	obj := writeObject(t, funcs, tg)
	gnuObj := gnuAssemble(t, src.String(), tg)

	assert.Equal(t, textSection(t, gnuObj), textSection(t, obj), ".text differs from GNU as")
	assert.Equal(t, textRelocs(t, gnuObj), textRelocs(t, obj), "relocations differ from GNU as")

	ours, theirs := elfSummary(t, obj), elfSummary(t, gnuObj)
	assert.Equal(t, theirs.flags, ours.flags, "e_flags")
	assert.Equal(t, theirs.order, ours.order, "byte order")
	assert.Equal(t, theirs.syms, ours.syms, "global symbols")

	for _, tool := range [][]string{
		{"mipsel-linux-gnu-readelf", "-a", "-W", obj},
		{"mipsel-linux-gnu-objdump", "-dr", obj},
	} {
		cmd := exec.Command(tool[0], tool[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "%v: %s", tool, stderr.String())
		assert.Empty(t, stderr.String(), "%v complains", tool)
		for _, bad := range []string{"Warning", "warning", "Error", "error", "<unknown>"} {
			assert.NotContains(t, string(out), bad, "%v output", tool)
		}
	}
}

type elfFacts struct {
	flags uint32
	order string
	syms  []string // "name type bind section value size" of global symbols
}

func elfSummary(t *testing.T, path string) elfFacts {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	require.NoError(t, err)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	facts := elfFacts{flags: f.ByteOrder.Uint32(raw[36:40]), order: f.ByteOrder.String()} // e_flags
	for _, s := range syms {
		if elf.ST_BIND(s.Info) != elf.STB_GLOBAL {
			continue
		}
		sec := "UND"
		if s.Section != elf.SHN_UNDEF {
			sec = f.Sections[s.Section].Name
		}
		facts.syms = append(facts.syms, strings.Join([]string{
			s.Name, elf.ST_TYPE(s.Info).String(), sec, fmt.Sprintf("%#x %d", s.Value, s.Size),
		}, " "))
	}
	sort.Strings(facts.syms)
	return facts
}

func TestWriteELFErrors(t *testing.T) {
	tg := Target{Rev: R2}
	nop4 := []byte{0, 0, 0, 0}
	cases := []struct {
		name  string
		funcs []ELFFunc
		tg    Target
		want  string
	}{
		{"duplicate", []ELFFunc{{Name: "f", Code: nop4}, {Name: "f", Code: nop4}}, tg, "function 1: f defined twice"},
		{"bad name", []ELFFunc{{Name: "9f", Code: nop4}}, tg, "function 0: symbol name \"9f\""},
		{"odd size", []ELFFunc{{Name: "f", Code: []byte{0, 0}}}, tg, "code size 2 is not a multiple of 4"},
		{"reloc outside", []ELFFunc{{Name: "f", Code: nop4, Relocs: []Reloc{{Offset: 4, Type: RelocLo16, Sym: "g"}}}}, tg, "outside the code"},
		{"reloc unaligned", []ELFFunc{{Name: "f", Code: nop4, Relocs: []Reloc{{Offset: 2, Type: RelocLo16, Sym: "g"}}}}, tg, "unaligned"},
		{"reloc type", []ELFFunc{{Name: "f", Code: nop4, Relocs: []Reloc{{Type: 4, Sym: "g"}}}}, tg, "unsupported type 4"},
		{"reloc no symbol", []ELFFunc{{Name: "f", Code: nop4, Relocs: []Reloc{{Type: RelocLo16}}}}, tg, "has no symbol"},
		{"unpaired hi", []ELFFunc{{Name: "f", Code: append(nop4, nop4...), Relocs: []Reloc{{Offset: 4, Type: RelocHi16, Sym: "g"}}}}, tg, "%hi(g) at offset 4 has no later %lo(g)"},
		{"lo before hi", []ELFFunc{{Name: "f", Code: append(nop4, nop4...), Relocs: []Reloc{{Offset: 0, Type: RelocLo16, Sym: "g"}, {Offset: 4, Type: RelocHi16, Sym: "g"}}}}, tg, "has no later %lo(g)"},
		{"R6", []ELFFunc{{Name: "f", Code: nop4}}, Target{Rev: R6}, "only mips32 and mips32r2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := WriteELF(&bytes.Buffer{}, c.funcs, c.tg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestRelocTypesAreELF checks inst.go's relocation numbers against debug/elf.
func TestRelocTypesAreELF(t *testing.T) {
	assert.Equal(t, uint8(elf.R_MIPS_32), uint8(Reloc32))
	assert.Equal(t, uint8(elf.R_MIPS_HI16), uint8(RelocHi16))
	assert.Equal(t, uint8(elf.R_MIPS_LO16), uint8(RelocLo16))
}

// TestWriteELFEmpty: an object without functions is still valid.
func TestWriteELFEmpty(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteELF(&b, nil, Target{Rev: R2}))
	f, err := elf.NewFile(bytes.NewReader(b.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, elf.EM_MIPS, f.Machine)
	assert.Equal(t, elf.ET_REL, f.Type)
	assert.NotNil(t, f.Section(".note.GNU-stack"))
}
