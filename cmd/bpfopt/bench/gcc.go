package bench

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
)

// The GCC anchor: the benchmark's C source compiled by GCC for the same
// target, freestanding, and run by the same simulator.
//
// GCCFlags are the flags besides -c. -fno-pic -mno-abicalls -G0 give
// position-dependent code with no GOT and no small-data section: the
// simulator maps code, the memory block and the stack, nothing else.
// -fno-jump-tables and -fno-tree-switch-conversion keep switch statements
// in code rather than in .rodata tables, which the simulator could not
// read (clang's BPF target has no jump tables either).
var GCCFlags = []string{
	"-O2", "-march=mips32r2", "-mabi=32", "-EL",
	"-ffreestanding", "-fno-pic", "-mno-abicalls", "-G0", "-fno-stack-protector",
	"-fno-jump-tables", "-fno-tree-switch-conversion",
}

// gccCC is the cross compiler.
const gccCC = "mipsel-linux-gnu-gcc"

// Trampoline costs: GCC calls libgcc routines with jal, but the simulator
// serves a routine only when t9 holds its address (the O32 rule for PIC
// callees), so each such jal goes to a 4-instruction trampoline
// (lui t9; addiu t9; jr t9; nop) whose instructions and cycles (one more
// for the taken jump) are subtracted from GCC's counts.
const (
	trampolineInsns  = 4
	trampolineCycles = 5
)

// gccCode is GCC's code for one C function, linked for the simulator.
type gccCode struct {
	code   []byte         // every executable section, then trampolines
	relocs []mips32.Reloc // against runtime routines, in the trampolines
	entry  uint32         // the function's offset in code
	bytes  int            // code bytes of GCC's functions (sizes of the STT_FUNC symbols)
}

// buildGCC compiles src with GCC and links the function entry.
func buildGCC(src, entry string) (*gccCode, []byte, error) {
	cc, err := exec.LookPath(gccCC)
	if err != nil {
		return nil, nil, fmt.Errorf("%s not found: apt-get install gcc-mipsel-linux-gnu", gccCC)
	}
	dir, err := os.MkdirTemp("", "bpfopt-bench-gcc-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "prog.o")
	cmd := exec.Command(cc, append(slices.Clone(GCCFlags), "-c", src, "-o", out)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("%s: %v\n%s", cmd, err, msg)
	}
	obj, err := os.ReadFile(out)
	if err != nil {
		return nil, nil, err
	}
	code, err := linkGCC(obj, entry)
	return code, obj, err
}

// MIPS relocation types in GCC's objects (the ELF psABI numbers).
const (
	rMIPSNone = 0
	rMIPS26   = 4
	rMIPSJalr = 37 // a hint for the linker; nothing to apply
)

// linkGCC lays out the executable sections of a relocatable MIPS32
// little-endian object one after the other from sim.CodeBase, applies its
// R_MIPS_26 relocations (jal between functions), sends jal to undefined
// symbols (libgcc's routines) through trampolines, and refuses anything
// else: references to data, which the simulator does not map.
func linkGCC(obj []byte, entry string) (*gccCode, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return nil, fmt.Errorf("GCC object: %v", err)
	}
	if f.Machine != elf.EM_MIPS || f.Class != elf.ELFCLASS32 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_REL {
		return nil, fmt.Errorf("GCC object: want a relocatable little-endian ELF32 MIPS object, got %s %s %s %s", f.Class, f.Data, f.Machine, f.Type)
	}
	g := &gccCode{}
	base := map[int]uint32{} // executable section index → offset in code
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR == 0 || s.Type != elf.SHT_PROGBITS || s.Size == 0 {
			continue
		}
		for align := max(uint32(s.Addralign), 4); uint32(len(g.code))%align != 0; {
			g.code = append(g.code, 0)
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("GCC object: section %s: %v", s.Name, err)
		}
		base[i] = uint32(len(g.code))
		g.code = append(g.code, data...)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("GCC object: %v", err)
	}
	found := false
	for _, s := range syms {
		off, inCode := base[int(s.Section)]
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || !inCode {
			continue
		}
		g.bytes += int(s.Size)
		if s.Name == entry {
			g.entry, found = off+uint32(s.Value), true
		}
	}
	if !found {
		return nil, fmt.Errorf("GCC object: no function %s", entry)
	}

	trampolines := map[string]uint32{}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_RELA {
			return nil, fmt.Errorf("GCC object: unexpected RELA section %s", s.Name)
		}
		target, ok := base[int(s.Info)]
		if s.Type != elf.SHT_REL || !ok {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("GCC object: section %s: %v", s.Name, err)
		}
		for r := 0; r+8 <= len(data); r += 8 {
			at := target + binary.LittleEndian.Uint32(data[r:])
			info := binary.LittleEndian.Uint32(data[r+4:])
			typ, symIndex := info&0xff, int(info>>8)
			if symIndex < 1 || symIndex > len(syms) {
				return nil, fmt.Errorf("GCC object: relocation at %#x: symbol index %d", at, symIndex)
			}
			sym := syms[symIndex-1] // Symbols() omits the null symbol
			switch typ {
			case rMIPSNone, rMIPSJalr:
				continue
			case rMIPS26:
			default:
				return nil, fmt.Errorf("GCC code at %#x refers to %s (relocation type %d): only calls within the code and to libgcc are supported; the simulator maps no data sections", at, symName(f, sym), typ)
			}
			w := binary.LittleEndian.Uint32(g.code[at:])
			var dest uint32
			if sym.Section == elf.SHN_UNDEF {
				t, ok := trampolines[sym.Name]
				if !ok {
					t = g.addTrampoline(sym.Name)
					trampolines[sym.Name] = t
				}
				dest = t
			} else if off, ok := base[int(sym.Section)]; ok {
				// REL addend: the instruction's 26-bit field, in words.
				dest = off + uint32(sym.Value) + (w&0x3ffffff)<<2
			} else {
				return nil, fmt.Errorf("GCC code at %#x calls %s outside the code", at, symName(f, sym))
			}
			abs := sim.CodeBase + dest
			if abs>>28 != (sim.CodeBase+at+4)>>28 {
				return nil, fmt.Errorf("GCC code at %#x: jal target %#x out of range", at, abs)
			}
			binary.LittleEndian.PutUint32(g.code[at:], w&^0x3ffffff|(abs>>2)&0x3ffffff)
		}
	}
	return g, nil
}

// addTrampoline appends lui t9, %hi(sym); addiu t9, t9, %lo(sym); jr t9;
// nop and returns its offset.
func (g *gccCode) addTrampoline(sym string) uint32 {
	off := uint32(len(g.code))
	for _, w := range []uint32{0x3c190000, 0x27390000, 0x03200008, 0} {
		g.code = binary.LittleEndian.AppendUint32(g.code, w)
	}
	g.relocs = append(g.relocs,
		mips32.Reloc{Offset: off, Type: mips32.RelocHi16, Sym: sym},
		mips32.Reloc{Offset: off + 4, Type: mips32.RelocLo16, Sym: sym})
	return off
}

// symName names a symbol, or its section for section symbols.
func symName(f *elf.File, s elf.Symbol) string {
	if s.Name == "" && int(s.Section) < len(f.Sections) {
		return f.Sections[s.Section].Name
	}
	return s.Name
}
