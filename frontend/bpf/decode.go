package bpf

import (
	"encoding/binary"
	"fmt"
)

// Decoding raw bytecode.
//
// An instruction is 8 bytes: opcode, a register byte, a 16-bit offset and a
// 32-bit immediate (RFC 9669 section 3). The byte order of the offset and
// immediate is the byte order of the program, and so is the order of the two
// register nibbles: on little-endian bytecode dst is the low nibble, on
// big-endian bytecode the high one (Linux's struct bpf_insn bit fields).
// lddw takes two slots; the second carries the upper 32 bits of the
// constant in its immediate and must be zero elsewhere.
//
// Decode checks everything through Validate, the same check ParseAsm and
// the ELF loader run, so every Program that leaves this package is valid.

// Decode decodes and validates raw bytecode. A nil order means little-endian.
func Decode(raw []byte, order binary.ByteOrder) (*Program, error) {
	if order == nil {
		order = binary.LittleEndian
	}
	if len(raw)%8 != 0 {
		return nil, &Error{Slot: len(raw) / 8, Msg: fmt.Sprintf("truncated program: %d bytes is not a multiple of 8", len(raw))}
	}
	if len(raw) == 0 {
		return nil, &Error{Slot: -1, Msg: "empty program"}
	}
	n := len(raw) / 8
	p := &Program{SlotIndex: make([]int, n)}
	for s := 0; s < n; s++ {
		in := decodeSlot(raw[s*8:s*8+8], order, s)
		p.SlotIndex[s] = len(p.Insns)
		if in.IsLdImm64() {
			if s+1 >= n {
				return nil, errAt(in, "truncated lddw: the second slot is missing")
			}
			hi := decodeSlot(raw[s*8+8:s*8+16], order, s+1)
			if hi.Op != 0 || hi.Dst != 0 || hi.Src != 0 || hi.Off != 0 {
				return nil, errAt(hi, "second slot of lddw must have opcode, registers and offset 0 (opcode 0x%02x, dst %d, src %d, off %d)",
					hi.Op, hi.Dst, hi.Src, hi.Off)
			}
			in.Imm64 = uint64(uint32(in.Imm)) | uint64(uint32(hi.Imm))<<32
			s++
			p.SlotIndex[s] = -1
		}
		p.Insns = append(p.Insns, in)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeSlot decodes the 8 bytes of one slot.
func decodeSlot(b []byte, order binary.ByteOrder, slot int) Insn {
	in := Insn{
		Op:   b[0],
		Off:  int16(order.Uint16(b[2:4])),
		Imm:  int32(order.Uint32(b[4:8])),
		Slot: slot,
	}
	if isLittle(order) {
		in.Dst, in.Src = b[1]&0x0f, b[1]>>4
	} else {
		in.Dst, in.Src = b[1]>>4, b[1]&0x0f
	}
	return in
}

// isLittle reports whether order is little-endian, without relying on the
// identity of the binary package's values.
func isLittle(order binary.ByteOrder) bool {
	return order.Uint16([]byte{1, 0}) == 1
}

// NumSlots is the number of 8-byte slots of the program.
func (p *Program) NumSlots() int { return len(p.SlotIndex) }

// InsnAtSlot returns the instruction starting at slot s, or nil.
func (p *Program) InsnAtSlot(s int) *Insn {
	if i := p.IndexOfSlot(s); i >= 0 {
		return &p.Insns[i]
	}
	return nil
}

// NewProgram lays out insns (assigning Slot and SlotIndex) and validates the
// result. Offsets of jumps and local calls count slots, as in bytecode.
func NewProgram(name string, insns []Insn) (*Program, error) {
	p := &Program{Name: name, Insns: insns}
	p.layout()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// layout assigns Slot and rebuilds SlotIndex from the order of Insns.
func (p *Program) layout() {
	p.SlotIndex = p.SlotIndex[:0]
	for i := range p.Insns {
		p.Insns[i].Slot = len(p.SlotIndex)
		p.SlotIndex = append(p.SlotIndex, i)
		if p.Insns[i].IsLdImm64() {
			p.SlotIndex = append(p.SlotIndex, -1)
		}
	}
}

// IsExit reports EXIT.
func (i Insn) IsExit() bool { return i.Op == ClassJMP|JmpEXIT }

// IsJA reports the unconditional jumps (JA with a 16-bit offset, and the
// JMP32-class JA with a 32-bit offset in Imm).
func (i Insn) IsJA() bool { return i.Op == ClassJMP|JmpJA || i.Op == ClassJMP32|JmpJA }

// IsCondJump reports the conditional jumps of both widths.
func (i Insn) IsCondJump() bool {
	c := i.Class()
	return (c == ClassJMP || c == ClassJMP32) && i.Code() != JmpJA && i.Code() != JmpCALL && i.Code() != JmpEXIT
}

// IsCall reports CALL of any kind, including callx.
func (i Insn) IsCall() bool { return i.Class() == ClassJMP && i.Code() == JmpCALL }

// IsCallx reports the call through a register (opcode 0x8d, register in
// Dst), the Linux/LLVM extension the conformance suite uses as `call %rN`.
func (i Insn) IsCallx() bool { return i.Op == ClassJMP|JmpCALL|SrcX }

// IsLocalCall reports a bpf-to-bpf call; its target is CallTarget.
func (i Insn) IsLocalCall() bool { return i.Op == ClassJMP|JmpCALL && i.Src == CallLocal }

// CallTarget is the slot a local call enters: Slot + 1 + Imm.
func (i Insn) CallTarget() int { return i.Slot + 1 + int(i.Imm) }
