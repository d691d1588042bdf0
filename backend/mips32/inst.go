package mips32

// The machine-instruction model. Instruction selection produces Insts over
// virtual registers; the allocator rewrites them to physical ones; the
// assembler (assemble.go) lays them out, relaxes long branches and encodes.
// Delay slots are explicit: every branch or jump is followed by the
// instruction that fills its delay slot (a NOP when nothing better fits).

// Opcode is a MIPS32 instruction or an assembler pseudo-instruction.
type Opcode uint16

// Format says which Inst fields an opcode reads and writes. It is what the
// allocator, the printer and the encoder agree on.
type Format uint8

const (
	FmtNone      Format = iota // nop, sync
	FmtR3                      // rd ← f(rs, rt)                  addu rd, rs, rt
	FmtR2                      // rd ← f(rt)                      seb rd, rt; wsbh rd, rt
	FmtRI                      // rt ← f(rs, imm)                 addiu rt, rs, imm
	FmtLUI                     // rt ← imm << 16                  lui rt, imm
	FmtShift                   // rd ← f(rt, sa=Imm)              sll rd, rt, sa
	FmtShiftV                  // rd ← f(rt, rs)                  sllv rd, rt, rs
	FmtMulDiv                  // hi,lo ← f(rs, rt)               mult rs, rt
	FmtMoveHiLo                // rd ← hi or lo                   mflo rd
	FmtCondMove                // rd ← rt != 0 (movn) ? rs : rd   movn rd, rs, rt (reads rd)
	FmtLoad                    // rt ← mem[rs + Imm]              lw rt, imm(rs)
	FmtLoadMerge               // rt ← merge(rt, mem[rs + Imm])   lwl/lwr (reads rt)
	FmtStore                   // mem[rs + Imm] ← rt              sw rt, imm(rs)
	FmtSC                      // mem[rs+Imm] ← rt; rt ← success  sc rt, imm(rs) (reads and writes rt)
	FmtExt                     // rt ← bits(rs, pos=Imm, size=Imm2)      ext rt, rs, pos, size
	FmtIns                     // rt ← insert(rt, rs, pos=Imm, size=Imm2) ins (reads rt)
	FmtBranch2                 // if f(rs, rt) goto Target         beq rs, rt, L
	FmtBranch1                 // if f(rs) goto Target             bltz rs, L
	FmtJump                    // goto Target                      b L
	FmtBAL                     // ra ← return address; goto Target (long-branch sequences)
	FmtJR                      // goto rs                          jr rs
	FmtJALR                    // ra ← return address; call rs     jalr rs
	FmtLabel                   // pseudo: defines label Target
	FmtMove                    // pseudo: rd ← rs                  move rd, rs (or rd, rs, $zero)
	FmtLI                      // pseudo: rt ← Imm (32 bits)      li rt, imm (expanded after allocation)
)

// Inst is one machine instruction.
type Inst struct {
	Op     Opcode
	Rd     Reg
	Rs     Reg
	Rt     Reg
	Imm    int32 // immediate, shift amount, memory offset, or ext/ins position
	Imm2   int32 // ext/ins size
	Target int   // label number of branches, jumps and OpLabel
	// Sym and Reloc make Imm symbolic: lui rt, %hi(Sym) / addiu rt, rs, %lo(Sym).
	Sym   string
	Reloc RelocType
}

// The opcodes. Names are the GNU mnemonics in upper case.
const (
	OpInvalid Opcode = iota
	NOP
	SYNC
	ADDU
	SUBU
	AND
	OR
	XOR
	NOR
	SLT
	SLTU
	MUL // MIPS32 R1/R2 three-operand multiply (SPECIAL2)
	MOVN
	MOVZ
	ADDIU
	ANDI
	ORI
	XORI
	SLTI
	SLTIU
	LUI
	SLL
	SRL
	SRA
	ROTR // R2
	SLLV
	SRLV
	SRAV
	ROTRV // R2
	SEB   // R2
	SEH   // R2
	WSBH  // R2
	EXT   // R2
	INS   // R2
	MULT
	MULTU
	DIV  // printed "div $zero, rs, rt" so GNU as emits the bare instruction
	DIVU // printed "divu $zero, rs, rt"
	MFHI
	MFLO
	LB
	LBU
	LH
	LHU
	LW
	LWL
	LWR
	LL
	SB
	SH
	SW
	SWL
	SWR
	SC
	BEQ
	BNE
	BLEZ
	BGTZ
	BLTZ
	BGEZ
	B   // unconditional PC-relative branch: beq $zero, $zero, L
	BAL // bgezal $zero, L
	JR
	JALR
	LABEL // pseudo
	MOVE  // pseudo: or rd, rs, $zero (what GNU as emits for move)
	// LI loads a 32-bit constant. It lives only between instruction
	// selection and the end of allocation, where it is one instruction
	// (so that it can be hoisted, merged and rematerialized as a unit);
	// expandLI turns it into the one or two real instructions.
	LI
	numOpcodes
)

// OpcodeInfo is an opcode's name and format.
type OpcodeInfo struct {
	Name   string
	Format Format
	// R2 marks instructions new in MIPS32 Release 2.
	R2 bool
}

var opcodeTable = [numOpcodes]OpcodeInfo{
	OpInvalid: {"invalid", FmtNone, false},
	NOP:       {"nop", FmtNone, false},
	SYNC:      {"sync", FmtNone, false},
	ADDU:      {"addu", FmtR3, false},
	SUBU:      {"subu", FmtR3, false},
	AND:       {"and", FmtR3, false},
	OR:        {"or", FmtR3, false},
	XOR:       {"xor", FmtR3, false},
	NOR:       {"nor", FmtR3, false},
	SLT:       {"slt", FmtR3, false},
	SLTU:      {"sltu", FmtR3, false},
	MUL:       {"mul", FmtR3, false},
	MOVN:      {"movn", FmtCondMove, false},
	MOVZ:      {"movz", FmtCondMove, false},
	ADDIU:     {"addiu", FmtRI, false},
	ANDI:      {"andi", FmtRI, false},
	ORI:       {"ori", FmtRI, false},
	XORI:      {"xori", FmtRI, false},
	SLTI:      {"slti", FmtRI, false},
	SLTIU:     {"sltiu", FmtRI, false},
	LUI:       {"lui", FmtLUI, false},
	SLL:       {"sll", FmtShift, false},
	SRL:       {"srl", FmtShift, false},
	SRA:       {"sra", FmtShift, false},
	ROTR:      {"rotr", FmtShift, true},
	SLLV:      {"sllv", FmtShiftV, false},
	SRLV:      {"srlv", FmtShiftV, false},
	SRAV:      {"srav", FmtShiftV, false},
	ROTRV:     {"rotrv", FmtShiftV, true},
	SEB:       {"seb", FmtR2, true},
	SEH:       {"seh", FmtR2, true},
	WSBH:      {"wsbh", FmtR2, true},
	EXT:       {"ext", FmtExt, true},
	INS:       {"ins", FmtIns, true},
	MULT:      {"mult", FmtMulDiv, false},
	MULTU:     {"multu", FmtMulDiv, false},
	DIV:       {"div", FmtMulDiv, false},
	DIVU:      {"divu", FmtMulDiv, false},
	MFHI:      {"mfhi", FmtMoveHiLo, false},
	MFLO:      {"mflo", FmtMoveHiLo, false},
	LB:        {"lb", FmtLoad, false},
	LBU:       {"lbu", FmtLoad, false},
	LH:        {"lh", FmtLoad, false},
	LHU:       {"lhu", FmtLoad, false},
	LW:        {"lw", FmtLoad, false},
	LWL:       {"lwl", FmtLoadMerge, false},
	LWR:       {"lwr", FmtLoadMerge, false},
	LL:        {"ll", FmtLoad, false},
	SB:        {"sb", FmtStore, false},
	SH:        {"sh", FmtStore, false},
	SW:        {"sw", FmtStore, false},
	SWL:       {"swl", FmtStore, false},
	SWR:       {"swr", FmtStore, false},
	SC:        {"sc", FmtSC, false},
	BEQ:       {"beq", FmtBranch2, false},
	BNE:       {"bne", FmtBranch2, false},
	BLEZ:      {"blez", FmtBranch1, false},
	BGTZ:      {"bgtz", FmtBranch1, false},
	BLTZ:      {"bltz", FmtBranch1, false},
	BGEZ:      {"bgez", FmtBranch1, false},
	B:         {"b", FmtJump, false},
	BAL:       {"bal", FmtBAL, false},
	JR:        {"jr", FmtJR, false},
	JALR:      {"jalr", FmtJALR, false},
	LABEL:     {"label", FmtLabel, false},
	MOVE:      {"move", FmtMove, false},
	LI:        {"li", FmtLI, false},
}

// Info returns the opcode's table entry.
func (o Opcode) Info() *OpcodeInfo {
	if o >= numOpcodes {
		return &opcodeTable[OpInvalid]
	}
	return &opcodeTable[o]
}

func (o Opcode) String() string { return o.Info().Name }

// NumOpcodes is the number of opcodes, for tables indexed by Opcode.
const NumOpcodes = int(numOpcodes)

// Encodable reports a machine instruction, which the assembler encodes:
// every opcode but the LABEL and LI pseudo-instructions.
func (o Opcode) Encodable() bool {
	f := o.Info().Format
	return f != FmtLabel && f != FmtLI
}

// HasDelaySlot reports branches and jumps, which are followed by a delay-slot instruction.
func (o Opcode) HasDelaySlot() bool {
	switch o.Info().Format {
	case FmtBranch2, FmtBranch1, FmtJump, FmtBAL, FmtJR, FmtJALR:
		return true
	}
	return false
}

// RelocType is an ELF MIPS relocation type.
type RelocType uint8

const (
	RelocNone RelocType = 0
	Reloc32   RelocType = 2 // R_MIPS_32
	RelocHi16 RelocType = 5 // R_MIPS_HI16: %hi(sym), paired with the next RelocLo16
	RelocLo16 RelocType = 6 // R_MIPS_LO16: %lo(sym)
)

// Reloc is a relocation in a function's code.
type Reloc struct {
	Offset uint32 // byte offset of the instruction in the code
	Type   RelocType
	Sym    string
}
