package mips32

// The encoder turns one physical-register Inst into its 32-bit instruction
// word. It is pure: byte order is applied when the word is stored
// (assemble.go), and branch offsets arrive already computed in Imm.
//
// The opcode bit-field table below is the only place that knows MIPS32
// instruction encodings. testdata/encode.txt holds assembler text beside the
// bytes GNU as emits for it, at least one row per opcode; TestEncodeTable
// compares Encode with every row.

import "fmt"

//go:generate go run ./internal/genenc

// opEncoding is an opcode's fixed bits and how its immediate is checked.
type opEncoding struct {
	bits        uint32 // every fixed field (major opcode, funct, fixed rs/rt/rd/sa)
	unsignedImm bool   // the 16-bit immediate is zero-extended (andi, ori, xori, lui)
}

// Major opcodes (bits 31..26) that select a secondary table.
const (
	majorSpecial  = 0x00 // funct in bits 5..0
	majorRegimm   = 0x01 // branch kind in the rt field
	majorSpecial2 = 0x1c // funct in bits 5..0
	majorSpecial3 = 0x1f // funct in bits 5..0 (R2: ext, ins, bshfl)
	functBSHFL    = 0x20 // special3 funct of seb/seh/wsbh; the sa field selects which
)

func major(op uint32) uint32       { return op << 26 }
func special(funct uint32) uint32  { return major(majorSpecial) | funct }
func special2(funct uint32) uint32 { return major(majorSpecial2) | funct }
func special3(funct uint32) uint32 { return major(majorSpecial3) | funct }
func regimm(rtField uint32) uint32 { return major(majorRegimm) | rtField<<16 }
func bshfl(saField uint32) uint32  { return special3(functBSHFL) | saField<<6 }
func fieldRs(v uint32) uint32      { return v << 21 }
func fieldRt(v uint32) uint32      { return v << 16 }
func fieldRd(v uint32) uint32      { return v << 11 }
func fieldSa(v uint32) uint32      { return v << 6 }

// signed is an I-type opcode whose 16-bit immediate is sign-extended;
// unsigned one whose immediate is zero-extended.
func signed(op uint32) opEncoding   { return opEncoding{bits: major(op)} }
func unsigned(op uint32) opEncoding { return opEncoding{bits: major(op), unsignedImm: true} }

// encodings is the bit-field table: one row per Opcode.
var encodings = [numOpcodes]opEncoding{
	NOP:   {bits: 0},             // sll $zero, $zero, 0
	SYNC:  {bits: special(0x0f)}, // stype 0
	ADDU:  {bits: special(0x21)},
	SUBU:  {bits: special(0x23)},
	AND:   {bits: special(0x24)},
	OR:    {bits: special(0x25)},
	XOR:   {bits: special(0x26)},
	NOR:   {bits: special(0x27)},
	SLT:   {bits: special(0x2a)},
	SLTU:  {bits: special(0x2b)},
	MUL:   {bits: special2(0x02)},
	MOVN:  {bits: special(0x0b)},
	MOVZ:  {bits: special(0x0a)},
	ADDIU: signed(0x09),
	ANDI:  unsigned(0x0c),
	ORI:   unsigned(0x0d),
	XORI:  unsigned(0x0e),
	SLTI:  signed(0x0a),
	SLTIU: signed(0x0b), // sign-extended immediate, unsigned comparison
	LUI:   unsigned(0x0f),
	SLL:   {bits: special(0x00)},
	SRL:   {bits: special(0x02)},
	SRA:   {bits: special(0x03)},
	ROTR:  {bits: special(0x02) | fieldRs(1)}, // srl with rs field 1
	SLLV:  {bits: special(0x04)},
	SRLV:  {bits: special(0x06)},
	SRAV:  {bits: special(0x07)},
	ROTRV: {bits: special(0x06) | fieldSa(1)}, // srlv with sa field 1
	SEB:   {bits: bshfl(0x10)},
	SEH:   {bits: bshfl(0x18)},
	WSBH:  {bits: bshfl(0x02)},
	EXT:   {bits: special3(0x00)},
	INS:   {bits: special3(0x04)},
	MULT:  {bits: special(0x18)},
	MULTU: {bits: special(0x19)},
	DIV:   {bits: special(0x1a)},
	DIVU:  {bits: special(0x1b)},
	MFHI:  {bits: special(0x10)},
	MFLO:  {bits: special(0x12)},
	LB:    signed(0x20),
	LBU:   signed(0x24),
	LH:    signed(0x21),
	LHU:   signed(0x25),
	LW:    signed(0x23),
	LWL:   signed(0x22),
	LWR:   signed(0x26),
	LL:    signed(0x30),
	SB:    signed(0x28),
	SH:    signed(0x29),
	SW:    signed(0x2b),
	SWL:   signed(0x2a),
	SWR:   signed(0x2e),
	SC:    signed(0x38),
	BEQ:   signed(0x04),
	BNE:   signed(0x05),
	BLEZ:  signed(0x06),
	BGTZ:  signed(0x07),
	BLTZ:  {bits: regimm(0x00)},
	BGEZ:  {bits: regimm(0x01)},
	B:     signed(0x04),                                // beq $zero, $zero, off
	BAL:   {bits: regimm(0x11)},                        // bgezal $zero, off
	JR:    {bits: special(0x08)},                       // hint 0
	JALR:  {bits: special(0x09) | fieldRd(uint32(RA))}, // jalr $ra, rs
	MOVE:  {bits: special(0x25)},                       // or rd, rs, $zero: what GNU as emits for move
}

// Encode returns the instruction word of in. Branches (FmtBranch1,
// FmtBranch2, FmtJump, FmtBAL) take their signed 16-bit word offset, relative
// to the delay slot, from Imm; Assemble computes it from Target. A symbolic
// immediate (Reloc set) encodes as zero: the relocation supplies it (REL, no addend).
func Encode(in Inst, t Target) (uint32, error) {
	w, err := encode(in, t)
	if err != nil {
		return 0, fmt.Errorf("%v: %w", in, err)
	}
	return w, nil
}

func encode(in Inst, t Target) (uint32, error) {
	if in.Op == OpInvalid || in.Op >= numOpcodes {
		return 0, fmt.Errorf("invalid opcode %d", uint16(in.Op))
	}
	if t.Rev != R1 && t.Rev != R2 {
		return 0, fmt.Errorf("cannot encode for %s: only mips32 and mips32r2 are supported", t.March())
	}
	info := in.Op.Info()
	if info.R2 && !t.HasR2() {
		return 0, fmt.Errorf("%s needs mips32r2, target is %s", info.Name, t.March())
	}
	e := encodings[in.Op]
	imm, err := immField(in, e)
	if err != nil {
		return 0, err
	}
	var regErr error
	r := func(x Reg) uint32 {
		if regErr == nil {
			regErr = checkPhysical(x)
		}
		return uint32(x) & 31
	}
	w := e.bits
	switch info.Format {
	case FmtNone:
	case FmtR3, FmtCondMove:
		w |= fieldRd(r(in.Rd)) | fieldRs(r(in.Rs)) | fieldRt(r(in.Rt))
	case FmtR2:
		w |= fieldRd(r(in.Rd)) | fieldRt(r(in.Rt))
	case FmtRI, FmtLoad, FmtLoadMerge, FmtStore, FmtSC:
		w |= fieldRt(r(in.Rt)) | fieldRs(r(in.Rs)) | imm
	case FmtLUI:
		w |= fieldRt(r(in.Rt)) | imm
	case FmtShift:
		if in.Imm < 0 || in.Imm > 31 {
			return 0, fmt.Errorf("shift amount %d out of range 0..31", in.Imm)
		}
		w |= fieldRd(r(in.Rd)) | fieldRt(r(in.Rt)) | fieldSa(uint32(in.Imm))
	case FmtShiftV:
		w |= fieldRd(r(in.Rd)) | fieldRt(r(in.Rt)) | fieldRs(r(in.Rs))
	case FmtMulDiv:
		w |= fieldRs(r(in.Rs)) | fieldRt(r(in.Rt))
	case FmtMoveHiLo:
		w |= fieldRd(r(in.Rd))
	case FmtExt, FmtIns:
		pos, size := in.Imm, in.Imm2
		if pos < 0 || pos > 31 || size < 1 || pos+size > 32 {
			return 0, fmt.Errorf("bit field pos %d size %d: need 0 <= pos <= 31, size >= 1, pos+size <= 32", pos, size)
		}
		high := size - 1 // ext stores msbd = size-1
		if info.Format == FmtIns {
			high = pos + size - 1 // ins stores msb = pos+size-1
		}
		w |= fieldRt(r(in.Rt)) | fieldRs(r(in.Rs)) | fieldRd(uint32(high)) | fieldSa(uint32(pos))
	case FmtBranch2:
		w |= fieldRs(r(in.Rs)) | fieldRt(r(in.Rt)) | imm
	case FmtBranch1:
		w |= fieldRs(r(in.Rs)) | imm
	case FmtJump, FmtBAL:
		w |= imm
	case FmtJR, FmtJALR:
		if info.Format == FmtJALR && in.Rs == RA {
			return 0, fmt.Errorf("jalr $ra is unpredictable: the link would overwrite the target")
		}
		w |= fieldRs(r(in.Rs))
	case FmtMove:
		w |= fieldRd(r(in.Rd)) | fieldRs(r(in.Rs))
	default:
		return 0, fmt.Errorf("%s is not a machine instruction", info.Name)
	}
	if regErr != nil {
		return 0, regErr
	}
	return w, nil
}

// immField checks the 16-bit immediate of in and returns it in bits 15..0
// (zero when the opcode has none or a relocation supplies it).
func immField(in Inst, e opEncoding) (uint32, error) {
	f := in.Op.Info().Format
	if in.Reloc != RelocNone || in.Sym != "" {
		return 0, checkReloc(in)
	}
	switch f {
	case FmtBranch1, FmtBranch2, FmtJump, FmtBAL:
		if in.Imm < -32768 || in.Imm > 32767 {
			return 0, fmt.Errorf("branch offset %d words out of range -32768..32767", in.Imm)
		}
	case FmtRI, FmtLUI, FmtLoad, FmtLoadMerge, FmtStore, FmtSC:
		if e.unsignedImm {
			if in.Imm < 0 || in.Imm > 0xffff {
				return 0, fmt.Errorf("immediate %d out of range 0..65535", in.Imm)
			}
		} else if in.Imm < -32768 || in.Imm > 32767 {
			return 0, fmt.Errorf("immediate %d out of range -32768..32767", in.Imm)
		}
	default:
		return 0, nil
	}
	return uint32(in.Imm) & 0xffff, nil
}

// checkReloc accepts the symbolic immediates the relocations can express:
// %hi on lui and %lo on addiu and memory offsets. ori is refused: %hi is
// rounded for a sign-extended %lo, so `lui; ori %lo` is wrong whenever bit 15
// of the address is set.
func checkReloc(in Inst) error {
	f := in.Op.Info().Format
	switch {
	case in.Sym == "":
		return fmt.Errorf("relocation %d without a symbol", in.Reloc)
	case in.Reloc == RelocHi16 && in.Op == LUI:
	case in.Reloc == RelocLo16 && (in.Op == ADDIU || f == FmtLoad || f == FmtLoadMerge || f == FmtStore || f == FmtSC):
	default:
		return fmt.Errorf("symbol %q with relocation %d: only lui %%hi and addiu/load/store %%lo are supported", in.Sym, in.Reloc)
	}
	if in.Imm != 0 {
		return fmt.Errorf("symbol %q with addend %d: addends are not supported", in.Sym, in.Imm)
	}
	return nil
}

// checkPhysical rejects virtual and out-of-range registers.
func checkPhysical(r Reg) error {
	if r.IsVirtual() {
		return fmt.Errorf("virtual register %v not allocated", r)
	}
	if r >= NumGPR {
		return fmt.Errorf("invalid register %v", r)
	}
	return nil
}
