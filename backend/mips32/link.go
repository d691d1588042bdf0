package mips32

import (
	"encoding/binary"
	"fmt"
)

// Link returns a copy of image with relocs applied, each symbol resolving
// to the address resolve gives it. It is the linker of both engines (the
// simulator's and qemu's): they differ only in where symbols live.
// Relocations are REL-style, as GNU as emits them for O32: the addend is
// what the instruction or word already holds.
//
//	R_MIPS_32:   word ← word + S
//	R_MIPS_HI16: AHL = imm(hi)<<16 + sext(imm(paired lo)); imm ← (S+AHL+0x8000) >> 16
//	R_MIPS_LO16: imm ← S + sext(imm)
//
// The +0x8000 in %hi is the carry: the paired addiu or load sign-extends
// its 16-bit immediate, so %hi rounds up when bit 15 of the address is
// set. A HI16 pairs with the next LO16 of the same symbol in relocs (the
// ELF rule). A symbol resolve does not know is an *UnknownSymbolError.
func Link(image []byte, relocs []Reloc, resolve func(sym string) (uint32, bool), order binary.ByteOrder) ([]byte, error) {
	out := append([]byte(nil), image...)
	for i, r := range relocs {
		if r.Offset%4 != 0 || uint64(r.Offset)+4 > uint64(len(image)) {
			return nil, fmt.Errorf("relocation %d (%s %s) at offset %#x: outside the %d-byte image or unaligned", i, r.Type, r.Sym, r.Offset, len(image))
		}
		s, ok := resolve(r.Sym)
		if !ok {
			return nil, &UnknownSymbolError{Index: i, Reloc: r}
		}
		w := order.Uint32(image[r.Offset:]) // the original contents: the addend
		switch r.Type {
		case Reloc32:
			w += s
		case RelocHi16:
			lo, ok := pairedLo16(image, relocs, i, order)
			if !ok {
				return nil, fmt.Errorf("relocation %d (R_MIPS_HI16 %s) at code offset %#x: no R_MIPS_LO16 of the same symbol follows it", i, r.Sym, r.Offset)
			}
			ahl := w<<16 + uint32(int32(int16(lo)))
			w = w&0xffff0000 | (s+ahl+0x8000)>>16
		case RelocLo16:
			w = w&0xffff0000 | (s+uint32(int32(int16(w))))&0xffff
		default:
			return nil, fmt.Errorf("relocation %d at code offset %#x: unsupported type %d", i, r.Offset, r.Type)
		}
		order.PutUint32(out[r.Offset:], w)
	}
	return out, nil
}

// UnknownSymbolError is Link's error for a relocation against a symbol
// its resolver does not know; a caller adds which symbols it offers.
type UnknownSymbolError struct {
	Index int // in relocs
	Reloc Reloc
}

func (e *UnknownSymbolError) Error() string {
	return fmt.Sprintf("relocation %d (%s) at code offset %#x: unknown symbol %q", e.Index, e.Reloc.Type, e.Reloc.Offset, e.Reloc.Sym)
}

// pairedLo16 returns the original low 16 bits of the LO16 that pairs with
// the HI16 relocs[i], and false when none follows it.
func pairedLo16(image []byte, relocs []Reloc, i int, order binary.ByteOrder) (uint32, bool) {
	for _, r := range relocs[i+1:] {
		if r.Type == RelocLo16 && r.Sym == relocs[i].Sym {
			if r.Offset%4 != 0 || uint64(r.Offset)+4 > uint64(len(image)) {
				return 0, true // reported when the LO16 itself is applied
			}
			return order.Uint32(image[r.Offset:]) & 0xffff, true
		}
	}
	return 0, false
}

// String is the relocation type's ELF name, "R_MIPS_HI16", or "type N".
func (t RelocType) String() string {
	switch t {
	case Reloc32:
		return "R_MIPS_32"
	case RelocHi16:
		return "R_MIPS_HI16"
	case RelocLo16:
		return "R_MIPS_LO16"
	}
	return fmt.Sprintf("type %d", uint8(t))
}
