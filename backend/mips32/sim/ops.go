package sim

// op is a decoded operation: what the execution loop switches on. One
// encoding may decode to several ops (sll $0,$0,0 is opNop; beq with
// rs = rt = $zero is still opBeq) and several encodings to one op.
type op uint8

const (
	opBad op = iota // an encoding that faults when executed (see program.bad)
	opNop           // sll $0 (nop, ssnop, ehb, pause), sync, pref, synci

	// ALU, rd ← f(rs, rt) or rt ← f(rs, imm)
	opAddu
	opAdd // traps on signed overflow
	opSubu
	opSub // traps on signed overflow
	opAnd
	opOr
	opXor
	opNor
	opSlt
	opSltu
	opAddiu
	opAddi // traps on signed overflow
	opSlti
	opSltiu // immediate sign-extended, compared unsigned
	opAndi  // immediates zero-extended
	opOri
	opXori
	opLui
	opSll // rd ← rt << sa
	opSrl
	opSra
	opRotr // R2
	opSllv // rd ← rt << (rs & 31)
	opSrlv
	opSrav
	opRotrv // R2
	opMovn  // if rt ≠ 0 { rd ← rs }
	opMovz  // if rt = 0 { rd ← rs }
	opClz
	opClo
	opSeb  // R2
	opSeh  // R2
	opWsbh // R2
	opExt  // R2: rt ← (rs >> sa) & imm
	opIns  // R2: rt ← rt &^ imm | (rs << sa) & imm

	// Multiply and divide unit
	opMul // rd ← low word of rs × rt; HI, LO UNPREDICTABLE (poisoned)
	opMult
	opMultu
	opDiv
	opDivu
	opMadd
	opMaddu
	opMsub
	opMsubu
	opMfhi
	opMflo
	opMthi
	opMtlo

	// Loads rt ← mem[rs + imm], stores mem[rs + imm] ← rt
	opLb
	opLbu
	opLh
	opLhu
	opLw
	opLwl
	opLwr
	opLl
	opSb
	opSh
	opSw
	opSwl
	opSwr
	opSc

	// Branches (imm = target address) and jumps
	opBeq
	opBne
	opBlez
	opBgtz
	opBltz
	opBgez
	opBltzal // ra ← pc + 8 whether taken or not
	opBgezal
	opBeql // likely: the delay slot is annulled when not taken
	opBnel
	opBlezl
	opBgtzl
	opBltzl
	opBgezl
	opBltzall
	opBgezall
	opJ   // imm = target address
	opJal // ra ← pc + 8
	opJr
	opJalr // rd ← pc + 8

	// Exceptions
	opTge // register traps: trap when f(rs, rt)
	opTgeu
	opTlt
	opTltu
	opTeq
	opTne
	opTgei // immediate traps: trap when f(rs, imm), imm sign-extended
	opTgeiu
	opTlti
	opTltiu
	opTeqi
	opTnei
	opSyscall
	opBreak
	numOps
)

// opNames are the GNU mnemonics, for messages.
var opNames = [numOps]string{
	opBad: "(reserved)", opNop: "nop",
	opAddu: "addu", opAdd: "add", opSubu: "subu", opSub: "sub", opAnd: "and", opOr: "or",
	opXor: "xor", opNor: "nor", opSlt: "slt", opSltu: "sltu", opAddiu: "addiu", opAddi: "addi",
	opSlti: "slti", opSltiu: "sltiu", opAndi: "andi", opOri: "ori", opXori: "xori", opLui: "lui",
	opSll: "sll", opSrl: "srl", opSra: "sra", opRotr: "rotr", opSllv: "sllv", opSrlv: "srlv",
	opSrav: "srav", opRotrv: "rotrv", opMovn: "movn", opMovz: "movz", opClz: "clz", opClo: "clo",
	opSeb: "seb", opSeh: "seh", opWsbh: "wsbh", opExt: "ext", opIns: "ins",
	opMul: "mul", opMult: "mult", opMultu: "multu", opDiv: "div", opDivu: "divu",
	opMadd: "madd", opMaddu: "maddu", opMsub: "msub", opMsubu: "msubu",
	opMfhi: "mfhi", opMflo: "mflo", opMthi: "mthi", opMtlo: "mtlo",
	opLb: "lb", opLbu: "lbu", opLh: "lh", opLhu: "lhu", opLw: "lw", opLwl: "lwl", opLwr: "lwr",
	opLl: "ll", opSb: "sb", opSh: "sh", opSw: "sw", opSwl: "swl", opSwr: "swr", opSc: "sc",
	opBeq: "beq", opBne: "bne", opBlez: "blez", opBgtz: "bgtz", opBltz: "bltz", opBgez: "bgez",
	opBltzal: "bltzal", opBgezal: "bgezal", opBeql: "beql", opBnel: "bnel", opBlezl: "blezl",
	opBgtzl: "bgtzl", opBltzl: "bltzl", opBgezl: "bgezl", opBltzall: "bltzall", opBgezall: "bgezall",
	opJ: "j", opJal: "jal", opJr: "jr", opJalr: "jalr",
	opTge: "tge", opTgeu: "tgeu", opTlt: "tlt", opTltu: "tltu", opTeq: "teq", opTne: "tne",
	opTgei: "tgei", opTgeiu: "tgeiu", opTlti: "tlti", opTltiu: "tltiu", opTeqi: "teqi", opTnei: "tnei",
	opSyscall: "syscall", opBreak: "break",
}

func (o op) String() string {
	if o < numOps && opNames[o] != "" {
		return opNames[o]
	}
	return "op?"
}
