package qemu

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// link returns a copy of code with relocs applied for code loaded at base,
// resolving a symbol in local (offsets into code) first, then in runtime
// (addresses). Relocations are REL-style, as GNU as emits them for O32: the
// addend is what the instruction or word already holds.
//
//	R_MIPS_32:   word ← word + S
//	R_MIPS_HI16: AHL = imm(hi)<<16 + sext(imm(paired lo)); imm ← (S+AHL+0x8000) >> 16
//	R_MIPS_LO16: imm ← S + sext(imm)
//
// The +0x8000 in %hi is the carry: the paired addiu or load sign-extends its
// 16-bit immediate, so %hi rounds up when bit 15 of the address is set. A
// HI16 pairs with the next LO16 of the same symbol in relocs (the ELF rule).
func link(code []byte, relocs []mips32.Reloc, base uint32, local, runtime map[string]uint32, order binary.ByteOrder) ([]byte, error) {
	out := slices.Clone(code)
	word := func(off uint32) uint32 { return order.Uint32(code[off:]) } // original contents
	for i, r := range relocs {
		if r.Offset%4 != 0 || uint64(r.Offset)+4 > uint64(len(code)) {
			return nil, fmt.Errorf("relocation %d (%s %s) at offset %#x: outside the %d-byte code or unaligned", i, relocName(r.Type), r.Sym, r.Offset, len(code))
		}
		s, ok := local[r.Sym]
		if ok {
			s += base
		} else {
			s, ok = runtime[r.Sym]
		}
		if !ok {
			offered := "the runner offers " + symbolList(runtime)
			if len(local) > 0 {
				offered = "the module defines " + symbolList(local) + "; " + offered
			}
			return nil, fmt.Errorf("relocation %d (%s) at code offset %#x: unknown symbol %q (%s)", i, relocName(r.Type), r.Offset, r.Sym, offered)
		}
		w := word(r.Offset)
		switch r.Type {
		case mips32.Reloc32:
			w += s
		case mips32.RelocHi16:
			lo, err := pairedLo16(code, relocs, i, order)
			if err != nil {
				return nil, err
			}
			ahl := w<<16 + uint32(int32(int16(lo)))
			w = w&0xffff0000 | (s+ahl+0x8000)>>16
		case mips32.RelocLo16:
			w = w&0xffff0000 | (s+uint32(int32(int16(w))))&0xffff
		default:
			return nil, fmt.Errorf("relocation %d at code offset %#x: unsupported type %d", i, r.Offset, r.Type)
		}
		order.PutUint32(out[r.Offset:], w)
	}
	return out, nil
}

// pairedLo16 returns the original low 16 bits of the LO16 that pairs with
// the HI16 relocs[i].
func pairedLo16(code []byte, relocs []mips32.Reloc, i int, order binary.ByteOrder) (uint32, error) {
	hi := relocs[i]
	for _, r := range relocs[i+1:] {
		if r.Type == mips32.RelocLo16 && r.Sym == hi.Sym {
			if r.Offset%4 != 0 || uint64(r.Offset)+4 > uint64(len(code)) {
				break // reported when the LO16 itself is applied
			}
			return order.Uint32(code[r.Offset:]) & 0xffff, nil
		}
	}
	return 0, fmt.Errorf("relocation %d (R_MIPS_HI16 %s) at code offset %#x: no R_MIPS_LO16 of the same symbol follows it", i, hi.Sym, hi.Offset)
}

func relocName(t mips32.RelocType) string {
	switch t {
	case mips32.Reloc32:
		return "R_MIPS_32"
	case mips32.RelocHi16:
		return "R_MIPS_HI16"
	case mips32.RelocLo16:
		return "R_MIPS_LO16"
	}
	return fmt.Sprintf("type %d", t)
}

func symbolList(syms map[string]uint32) string {
	names := make([]string, 0, len(syms))
	for n := range syms {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
