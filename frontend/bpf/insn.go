// Package bpf is bpfopt's eBPF frontend: the instruction model, decoders for
// raw bytecode, ELF objects and assembly text, the reference interpreter
// (RFC 9669, the oracle every other stage is checked against), and lifting
// into SSA IR.
//
// Import rule: only this package knows eBPF encodings. It may import ir and
// ssa, never passes or backend.
package bpf

import "fmt"

// Instruction classes (RFC 9669 section 3).
const (
	ClassLD    = 0x00
	ClassLDX   = 0x01
	ClassST    = 0x02
	ClassSTX   = 0x03
	ClassALU   = 0x04
	ClassJMP   = 0x05
	ClassJMP32 = 0x06
	ClassALU64 = 0x07
)

// Source bit of arithmetic and jump instructions.
const (
	SrcK = 0x00 // immediate
	SrcX = 0x08 // register (for END: to big-endian)
)

// Arithmetic operation codes (high 4 bits).
const (
	AluADD  = 0x00
	AluSUB  = 0x10
	AluMUL  = 0x20
	AluDIV  = 0x30 // off = 1: signed
	AluOR   = 0x40
	AluAND  = 0x50
	AluLSH  = 0x60
	AluRSH  = 0x70
	AluNEG  = 0x80
	AluMOD  = 0x90 // off = 1: signed
	AluXOR  = 0xa0
	AluMOV  = 0xb0 // off = 8, 16, 32: MOVSX
	AluARSH = 0xc0
	AluEND  = 0xd0
)

// Jump operation codes (high 4 bits).
const (
	JmpJA   = 0x00
	JmpJEQ  = 0x10
	JmpJGT  = 0x20
	JmpJGE  = 0x30
	JmpJSET = 0x40
	JmpJNE  = 0x50
	JmpJSGT = 0x60
	JmpJSGE = 0x70
	JmpCALL = 0x80
	JmpEXIT = 0x90
	JmpJLT  = 0xa0
	JmpJLE  = 0xb0
	JmpJSLT = 0xc0
	JmpJSLE = 0xd0
)

// Load/store sizes (bits 3-4) and modes (bits 5-7).
const (
	SizeW  = 0x00
	SizeH  = 0x08
	SizeB  = 0x10
	SizeDW = 0x18

	ModeIMM    = 0x00
	ModeABS    = 0x20
	ModeIND    = 0x40
	ModeMEM    = 0x60
	ModeMEMSX  = 0x80
	ModeATOMIC = 0xc0
)

// Atomic operations (imm field of STX ATOMIC).
const (
	AtomicFetch   = 0x01
	AtomicADD     = 0x00
	AtomicOR      = 0x40
	AtomicAND     = 0x50
	AtomicXOR     = 0xa0
	AtomicXCHG    = 0xe0 | AtomicFetch
	AtomicCMPXCHG = 0xf0 | AtomicFetch
)

// OpLdImm64 is the opcode of the two-slot 64-bit immediate load (lddw).
const OpLdImm64 = ClassLD | ModeIMM | SizeDW

// Src values of lddw that are not plain constants (ELF map pseudo sources).
const (
	PseudoMapFD       = 1
	PseudoMapValue    = 2
	PseudoBTFID       = 3
	PseudoFunc        = 4
	PseudoMapIdx      = 5
	PseudoMapIdxValue = 6
)

// Src values of CALL.
const (
	CallHelper = 0 // imm is a helper ID
	CallLocal  = 1 // imm is a slot offset to a subprogram (bpf-to-bpf)
	CallKfunc  = 2 // imm is a BTF ID of a kernel function
)

// Registers.
const (
	R0 = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10 // read-only frame pointer
	NumRegs
)

// StackSize is the size of the BPF stack below r10.
const StackSize = 512

// Insn is one decoded eBPF instruction. lddw is a single Insn occupying two
// slots, with its full constant in Imm64.
type Insn struct {
	Op    uint8 // opcode byte
	Dst   uint8 // destination register 0..10
	Src   uint8 // source register 0..10 (or pseudo source for lddw/call)
	Off   int16
	Imm   int32
	Imm64 uint64 // full 64-bit constant of lddw
	Slot  int    // slot index in the raw program (jump offsets count slots)
	Line  int    // source line of assembly input, 0 when unknown
}

// Class is the instruction class.
func (i Insn) Class() uint8 { return i.Op & 0x07 }

// Code is the operation code of ALU and JMP classes.
func (i Insn) Code() uint8 { return i.Op & 0xf0 }

// Source is SrcK or SrcX.
func (i Insn) Source() uint8 { return i.Op & 0x08 }

// Size is the size field of load/store classes.
func (i Insn) Size() uint8 { return i.Op & 0x18 }

// Mode is the mode field of load/store classes.
func (i Insn) Mode() uint8 { return i.Op & 0xe0 }

// IsLdImm64 reports lddw.
func (i Insn) IsLdImm64() bool { return i.Op == OpLdImm64 }

// SlotCount is 2 for lddw, 1 otherwise.
func (i Insn) SlotCount() int {
	if i.IsLdImm64() {
		return 2
	}
	return 1
}

// JumpTarget is the slot a jump goes to when taken: Slot + 1 + offset,
// where the offset is Imm for the 32-bit-offset JMP32 JA and Off otherwise.
func (i Insn) JumpTarget() int {
	if i.Class() == ClassJMP32 && i.Code() == JmpJA {
		return i.Slot + 1 + int(i.Imm)
	}
	return i.Slot + 1 + int(i.Off)
}

// SizeBytes is the byte width of a load/store size field.
func SizeBytes(size uint8) int {
	switch size {
	case SizeB:
		return 1
	case SizeH:
		return 2
	case SizeW:
		return 4
	}
	return 8
}

// Program is a decoded eBPF program.
type Program struct {
	Name  string
	Insns []Insn
	// SlotIndex maps a slot to its index in Insns, -1 for the second slot of
	// lddw. It has one entry per slot.
	SlotIndex []int
	// Refs names, by slot, what an lddw with a pseudo source refers to: a
	// map (by FD or index) or a data section (map value), from the ELF
	// relocations. Raw bytecode has none.
	Refs map[int]string
	// FuncNames names the functions of the program by their first slot
	// (the program and its subprograms, from ELF symbols).
	FuncNames map[int]string
}

// IndexOfSlot returns the Insns index starting at slot s, or -1.
func (p *Program) IndexOfSlot(s int) int {
	if s < 0 || s >= len(p.SlotIndex) {
		return -1
	}
	return p.SlotIndex[s]
}

// Error is a decode, parse or lift error that names where it happened.
type Error struct {
	Slot int // instruction slot, -1 when not about one instruction
	Line int // assembly line, 0 when not from text
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Slot >= 0:
		return fmt.Sprintf("instruction %d: %s", e.Slot, e.Msg)
	}
	return e.Msg
}

// errAt makes an Error about instruction i.
func errAt(i Insn, format string, args ...any) *Error {
	return &Error{Slot: i.Slot, Line: i.Line, Msg: fmt.Sprintf(format, args...)}
}
