package bpf

import "encoding/binary"

// Encode writes p as raw bytecode in the given byte order (nil means
// little-endian); it is the inverse of Decode. For lddw the constant comes
// from Imm64 (both slots), so Imm of an lddw is ignored.
func Encode(p *Program, order binary.ByteOrder) []byte {
	if order == nil {
		order = binary.LittleEndian
	}
	out := make([]byte, 0, 8*len(p.SlotIndex))
	for _, in := range p.Insns {
		imm := in.Imm
		if in.IsLdImm64() {
			imm = int32(uint32(in.Imm64))
		}
		out = appendSlot(out, order, in.Op, in.Dst, in.Src, in.Off, imm)
		if in.IsLdImm64() {
			out = appendSlot(out, order, 0, 0, 0, 0, int32(uint32(in.Imm64>>32)))
		}
	}
	return out
}

func appendSlot(out []byte, order binary.ByteOrder, op, dst, src uint8, off int16, imm int32) []byte {
	regs := src<<4 | dst&0x0f
	if !isLittle(order) {
		regs = dst<<4 | src&0x0f
	}
	var b [8]byte
	b[0], b[1] = op, regs
	order.PutUint16(b[2:4], uint16(off))
	order.PutUint32(b[4:8], uint32(imm))
	return append(out, b[:]...)
}
