package mips32

import "fmt"

// Reg is a register operand: 0..31 are the physical GPRs; values from
// FirstVirtual on are virtual registers awaiting allocation.
type Reg uint32

// The O32 register file. This table is the single source of truth for
// register names and ABI roles.
const (
	ZERO Reg = 0
	AT   Reg = 1 // assembler temporary: scratch for long branches and spill code
	V0   Reg = 2 // results
	V1   Reg = 3
	A0   Reg = 4 // arguments
	A1   Reg = 5
	A2   Reg = 6
	A3   Reg = 7
	T0   Reg = 8 // caller-saved temporaries
	T1   Reg = 9
	T2   Reg = 10
	T3   Reg = 11
	T4   Reg = 12
	T5   Reg = 13
	T6   Reg = 14
	T7   Reg = 15
	S0   Reg = 16 // callee-saved
	S1   Reg = 17
	S2   Reg = 18
	S3   Reg = 19
	S4   Reg = 20
	S5   Reg = 21
	S6   Reg = 22
	S7   Reg = 23
	T8   Reg = 24 // scratch for spill code
	T9   Reg = 25 // call target (PIC convention), scratch
	K0   Reg = 26 // kernel reserved
	K1   Reg = 27
	GP   Reg = 28
	SP   Reg = 29
	FP   Reg = 30 // callee-saved (s8)
	RA   Reg = 31

	NumGPR Reg = 32
	// FirstVirtual is the first virtual register number.
	FirstVirtual Reg = 64
)

var regNames = [NumGPR]string{
	"zero", "at", "v0", "v1", "a0", "a1", "a2", "a3",
	"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
	"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
	"t8", "t9", "k0", "k1", "gp", "sp", "fp", "ra",
}

// IsVirtual reports a virtual register.
func (r Reg) IsVirtual() bool { return r >= FirstVirtual }

// String is the ABI name ("a0"), or "%N" for virtual register N (printed so
// that a dump never passes a virtual register off as a real one).
func (r Reg) String() string {
	if r < NumGPR {
		return regNames[r]
	}
	if r.IsVirtual() {
		return fmt.Sprintf("%%%d", uint32(r-FirstVirtual))
	}
	return fmt.Sprintf("reg(%d)", uint32(r))
}

// AsmName is the GNU assembler spelling: "$4".
func (r Reg) AsmName() string { return fmt.Sprintf("$%d", uint32(r)) }

// Allocation classes of the O32 register file.
var (
	// CallerSaved registers the allocator may use; a call clobbers them.
	CallerSaved = []Reg{V0, V1, A0, A1, A2, A3, T0, T1, T2, T3, T4, T5, T6, T7}
	// CalleeSaved registers the allocator may use; a function that writes
	// one saves and restores it.
	CalleeSaved = []Reg{S0, S1, S2, S3, S4, S5, S6, S7, FP}
	// ScratchRegs are never allocated: spill reloads and expansion
	// sequences use them for the span of one machine instruction.
	ScratchRegs = []Reg{AT, T8, T9}
	// ArgRegs carry the first four argument words.
	ArgRegs = []Reg{A0, A1, A2, A3}
)

// IsCalleeSaved reports whether O32 requires r preserved across calls.
func IsCalleeSaved(r Reg) bool { return (r >= S0 && r <= S7) || r == FP || r == SP || r == GP }

// O32 frame facts.
const (
	StackAlign   = 8  // sp is 8-byte aligned at every call
	HomeAreaSize = 16 // the caller reserves 16 bytes for a0..a3 at 0(sp)..15(sp)
)
