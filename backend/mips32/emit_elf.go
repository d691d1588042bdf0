package mips32

// The ELF32 relocatable object writer. It writes what GNU as writes for our
// assembly output, minus what linking does not need: .text with the
// functions one after another, .rel.text (REL, addends in the instruction
// fields, all zero here), .symtab/.strtab, .shstrtab, and an empty
// .note.GNU-stack, without which ld silently makes the stack executable.
// .reginfo, .MIPS.abiflags, .gnu.attributes and .pdr are left out: ld takes
// the ISA from e_flags and treats a missing FP ABI attribute as "any", which
// is right for code that never touches the FPU.
// e_flags are those of `gcc -c -fno-pic -mplt` (non-PIC code under the
// abicalls convention) for O32: noreorder, cpic, o32, and the revision
// (mips32 or mips32r2). cpic is true of our code — calls go through $t9, $gp
// is never relied on — and without it ld warns "linking abicalls files with
// non-abicalls files" against Debian's libc, as it does for gcc -mno-abicalls.

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

// ELFFunc is one function of an object file: its code (Assembled.Code) and
// relocations, with offsets relative to the function's start.
type ELFFunc struct {
	Name   string
	Code   []byte
	Relocs []Reloc
	// Local makes the symbol local (STB_LOCAL): subprograms of a BPF
	// program are reached only from within the object.
	Local bool
}

// Sizes of ELF32 records, and the MIPS e_flags bits (MIPS psABI; debug/elf
// has the rest of the constants).
const (
	elfHeaderSize  = 52
	elfSectionSize = 40
	elfSymSize     = 16
	elfRelSize     = 8
	textAlign      = 16

	efNoreorder = 0x00000001 // EF_MIPS_NOREORDER
	efCPIC      = 0x00000004 // EF_MIPS_CPIC
	efABIO32    = 0x00001000 // EF_MIPS_ABI_O32
	efArch32    = 0x50000000 // EF_MIPS_ARCH_32
	efArch32R2  = 0x70000000 // EF_MIPS_ARCH_32R2
)

// Section indices, in file order.
const (
	secNull = iota
	secText
	secRelText
	secData
	secRelData
	secNoteStack
	secSymtab
	secStrtab
	secShstrtab
	numSections
)

// elfSection is a section header plus its contents.
type elfSection struct {
	name                   string
	typ, flags, link, info uint32
	align, entsize         uint32
	data                   []byte
	nameOff, offset        uint32
}

// ELFData is an object's .data: bytes, their R_MIPS_32 relocations
// (offsets into Bytes) and the symbols defined in them.
type ELFData struct {
	Bytes  []byte
	Relocs []Reloc
	Syms   []DataSymbol
}

// DataSymbol is an object (a map, a data section) in a module's data.
type DataSymbol struct {
	Name         string
	Offset, Size uint32
	Local        bool
}

// WriteELF writes funcs as one ELF32 relocatable object for t.
func WriteELF(w io.Writer, funcs []ELFFunc, t Target) error { return WriteObject(w, funcs, nil, t) }

// WriteObject writes funcs and data (nil: none) as one ELF32 relocatable
// object for t.
func WriteObject(w io.Writer, funcs []ELFFunc, data *ELFData, t Target) error {
	if data == nil {
		data = &ELFData{}
	}
	var flags uint32 = efNoreorder | efCPIC | efABIO32
	switch t.Rev {
	case R1:
		flags |= efArch32
	case R2:
		flags |= efArch32R2
	default:
		return fmt.Errorf("cannot write an object for %s: only mips32 and mips32r2 are supported", t.March())
	}
	text, base, err := concatText(funcs)
	if err != nil {
		return err
	}
	syms := newSymbolTable(appendOrder(t))
	// ELF wants every local symbol before the first global one.
	for _, f := range funcs {
		if f.Local {
			syms.defineIn(f.Name, base[f.Name], uint32(len(f.Code)), elf.STB_LOCAL, elf.STT_FUNC, secText)
		}
	}
	for _, d := range data.Syms {
		if d.Local {
			syms.defineIn(d.Name, d.Offset, d.Size, elf.STB_LOCAL, elf.STT_OBJECT, secData)
		}
	}
	firstGlobal := uint32(len(syms.entries) / elfSymSize)
	for _, f := range funcs {
		if !f.Local {
			syms.defineIn(f.Name, base[f.Name], uint32(len(f.Code)), elf.STB_GLOBAL, elf.STT_FUNC, secText)
		}
	}
	for _, d := range data.Syms {
		if !d.Local {
			syms.defineIn(d.Name, d.Offset, d.Size, elf.STB_GLOBAL, elf.STT_OBJECT, secData)
		}
	}
	o := appendOrder(t)
	var rel []byte
	for _, f := range funcs {
		if err := checkRelocs(f); err != nil {
			return err
		}
		for _, r := range f.Relocs {
			rel = o.AppendUint32(rel, base[f.Name]+r.Offset)
			rel = o.AppendUint32(rel, syms.index(r.Sym)<<8|uint32(r.Type)) // r_info
		}
	}
	var relData []byte
	for i, r := range data.Relocs {
		if r.Type != Reloc32 || r.Offset%4 != 0 || r.Offset+4 > uint32(len(data.Bytes)) {
			return fmt.Errorf("data relocation %d (%s at %d) is not an aligned R_MIPS_32 inside the data", i, r.Sym, r.Offset)
		}
		relData = o.AppendUint32(relData, r.Offset)
		relData = o.AppendUint32(relData, syms.index(r.Sym)<<8|uint32(r.Type))
	}
	secs := [numSections]elfSection{
		secText:      {name: ".text", typ: uint32(elf.SHT_PROGBITS), flags: uint32(elf.SHF_ALLOC | elf.SHF_EXECINSTR), align: textAlign, data: text},
		secRelText:   {name: ".rel.text", typ: uint32(elf.SHT_REL), flags: uint32(elf.SHF_INFO_LINK), link: secSymtab, info: secText, align: 4, entsize: elfRelSize, data: rel},
		secData:      {name: ".data", typ: uint32(elf.SHT_PROGBITS), flags: uint32(elf.SHF_ALLOC | elf.SHF_WRITE), align: 8, data: data.Bytes},
		secRelData:   {name: ".rel.data", typ: uint32(elf.SHT_REL), flags: uint32(elf.SHF_INFO_LINK), link: secSymtab, info: secData, align: 4, entsize: elfRelSize, data: relData},
		secNoteStack: {name: ".note.GNU-stack", typ: uint32(elf.SHT_PROGBITS), align: 1},
		secSymtab:    {name: ".symtab", typ: uint32(elf.SHT_SYMTAB), link: secStrtab, info: firstGlobal, align: 4, entsize: elfSymSize, data: syms.entries},
		secStrtab:    {name: ".strtab", typ: uint32(elf.SHT_STRTAB), align: 1, data: syms.names.buf},
		secShstrtab:  {name: ".shstrtab", typ: uint32(elf.SHT_STRTAB), align: 1},
	}
	_, err = w.Write(layoutELF(secs[:], flags, t))
	return err
}

// concatText places the functions one after another in .text and returns
// each one's offset.
func concatText(funcs []ELFFunc) ([]byte, map[string]uint32, error) {
	var text []byte
	base := map[string]uint32{}
	for i, f := range funcs {
		if err := checkSymbolName(f.Name); err != nil {
			return nil, nil, fmt.Errorf("function %d: %w", i, err)
		}
		if _, dup := base[f.Name]; dup {
			return nil, nil, fmt.Errorf("function %d: %s defined twice", i, f.Name)
		}
		if len(f.Code)%4 != 0 {
			return nil, nil, fmt.Errorf("function %s: code size %d is not a multiple of 4", f.Name, len(f.Code))
		}
		base[f.Name] = uint32(len(text))
		text = append(text, f.Code...)
	}
	// Pad to the section alignment with zeros (nops), as GNU as does.
	text = append(text, make([]byte, int(alignUp(uint32(len(text)), textAlign))-len(text))...)
	return text, base, nil
}

// layoutELF lays out the header, the section contents in order and the
// section header table, and returns the file. Section 0 is the null section.
func layoutELF(secs []elfSection, flags uint32, t Target) []byte {
	o := appendOrder(t)
	shstrtab := newStringTable()
	for i := 1; i < len(secs); i++ {
		secs[i].nameOff = shstrtab.add(secs[i].name)
	}
	secs[secShstrtab].data = shstrtab.buf
	off := uint32(elfHeaderSize)
	for i := 1; i < len(secs); i++ {
		off = alignUp(off, max(secs[i].align, 1))
		secs[i].offset = off
		off += uint32(len(secs[i].data))
	}
	shoff := alignUp(off, 4)

	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	if t.BigEndian {
		ident[5] = byte(elf.ELFDATA2MSB)
	}
	b := append(make([]byte, 0, int(shoff)+len(secs)*elfSectionSize), ident[:]...)
	b = o.AppendUint16(b, uint16(elf.ET_REL))
	b = o.AppendUint16(b, uint16(elf.EM_MIPS))
	b = o.AppendUint32(b, uint32(elf.EV_CURRENT))
	b = o.AppendUint32(b, 0) // e_entry
	b = o.AppendUint32(b, 0) // e_phoff
	b = o.AppendUint32(b, shoff)
	b = o.AppendUint32(b, flags)
	b = o.AppendUint16(b, elfHeaderSize)
	b = o.AppendUint16(b, 0) // e_phentsize
	b = o.AppendUint16(b, 0) // e_phnum
	b = o.AppendUint16(b, elfSectionSize)
	b = o.AppendUint16(b, uint16(len(secs)))
	b = o.AppendUint16(b, secShstrtab)
	for _, s := range secs[1:] {
		b = append(b, make([]byte, int(s.offset)-len(b))...)
		b = append(b, s.data...)
	}
	b = append(b, make([]byte, int(shoff)-len(b))...)
	for _, s := range secs {
		for _, v := range []uint32{s.nameOff, s.typ, s.flags, 0 /* addr */, s.offset, uint32(len(s.data)), s.link, s.info, s.align, s.entsize} {
			b = o.AppendUint32(b, v)
		}
	}
	return b
}

// symbolTable builds .symtab and .strtab: the locals, then the functions in
// order, then undefined symbols in order of first reference.
type symbolTable struct {
	o       binary.AppendByteOrder
	entries []byte
	names   *stringTable
	byName  map[string]uint32
}

func newSymbolTable(o binary.AppendByteOrder) *symbolTable {
	s := &symbolTable{o: o, names: newStringTable(), byName: map[string]uint32{}}
	s.add(0, 0, 0, elf.STB_LOCAL, elf.STT_NOTYPE, uint16(elf.SHN_UNDEF))
	s.add(0, 0, 0, elf.STB_LOCAL, elf.STT_SECTION, secText)
	return s
}

func (s *symbolTable) add(name, value, size uint32, bind elf.SymBind, typ elf.SymType, shndx uint16) uint32 {
	idx := uint32(len(s.entries) / elfSymSize)
	s.entries = s.o.AppendUint32(s.entries, name)
	s.entries = s.o.AppendUint32(s.entries, value)
	s.entries = s.o.AppendUint32(s.entries, size)
	s.entries = append(s.entries, elf.ST_INFO(bind, typ), 0 /* st_other: default visibility */)
	s.entries = s.o.AppendUint16(s.entries, shndx)
	return idx
}

// defineIn adds a symbol defined in section shndx.
func (s *symbolTable) defineIn(name string, value, size uint32, bind elf.SymBind, typ elf.SymType, shndx uint16) {
	s.byName[name] = s.add(s.names.add(name), value, size, bind, typ, shndx)
}

// index returns the symbol's index, adding an undefined global if needed.
func (s *symbolTable) index(name string) uint32 {
	if idx, ok := s.byName[name]; ok {
		return idx
	}
	idx := s.add(s.names.add(name), 0, 0, elf.STB_GLOBAL, elf.STT_NOTYPE, uint16(elf.SHN_UNDEF))
	s.byName[name] = idx
	return idx
}

// checkRelocs checks a function's relocations: inside the code, on an
// instruction, of a supported type, and every %hi followed by a %lo of the
// same symbol — the linker pairs them to compute the carry into %hi.
func checkRelocs(f ELFFunc) error {
	for i, r := range f.Relocs {
		switch {
		case r.Sym == "":
			return fmt.Errorf("function %s: relocation %d has no symbol", f.Name, i)
		case r.Offset%4 != 0 || r.Offset+4 > uint32(len(f.Code)):
			return fmt.Errorf("function %s: relocation %d at offset %d is outside the code (%d bytes) or unaligned", f.Name, i, r.Offset, len(f.Code))
		case r.Type != RelocHi16 && r.Type != RelocLo16 && r.Type != Reloc32:
			return fmt.Errorf("function %s: relocation %d has unsupported type %d", f.Name, i, r.Type)
		}
		if err := checkSymbolName(r.Sym); err != nil {
			return fmt.Errorf("function %s: relocation %d: %w", f.Name, i, err)
		}
		if r.Type != RelocHi16 {
			continue
		}
		paired := false
		for _, l := range f.Relocs[i+1:] {
			if l.Type == RelocLo16 && l.Sym == r.Sym {
				paired = true
				break
			}
		}
		if !paired {
			return fmt.Errorf("function %s: %%hi(%s) at offset %d has no later %%lo(%s)", f.Name, r.Sym, r.Offset, r.Sym)
		}
	}
	return nil
}

// appendOrder is the target byte order, for appending.
func appendOrder(t Target) binary.AppendByteOrder {
	if t.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func alignUp(v, a uint32) uint32 { return (v + a - 1) &^ (a - 1) }

// stringTable builds an ELF string table; offset 0 is the empty string.
type stringTable struct {
	buf []byte
	at  map[string]uint32
}

func newStringTable() *stringTable { return &stringTable{buf: []byte{0}, at: map[string]uint32{}} }

func (s *stringTable) add(name string) uint32 {
	if off, ok := s.at[name]; ok {
		return off
	}
	off := uint32(len(s.buf))
	s.buf = append(append(s.buf, name...), 0)
	s.at[name] = off
	return off
}
