package sim

import (
	"fmt"
	"strings"
)

// FaultKind classifies a Fault.
type FaultKind string

// The fault kinds. The first group are MIPS exceptions (what a CPU running
// the code would raise), the second the simulator's own checks.
const (
	// AddressError: a misaligned load, store or instruction fetch (AdEL/AdES).
	AddressError FaultKind = "address error"
	// Unmapped: a load, store or fetch outside every mapped region.
	Unmapped FaultKind = "unmapped"
	// StackOverflow: an access in the 1 MiB below the stack region.
	StackOverflow FaultKind = "stack overflow"
	// ReservedInstruction: an encoding that is not an instruction of the
	// target's revision, or a branch in a delay slot (which qemu also
	// reports as SIGILL).
	ReservedInstruction FaultKind = "reserved instruction"
	// CoprocessorUnusable: a coprocessor instruction (FPU, COP0, COP2);
	// the simulator models an integer-only user-mode CPU.
	CoprocessorUnusable FaultKind = "coprocessor unusable"
	// Unpredictable: an instruction whose result the architecture leaves
	// UNPREDICTABLE (jalr rd = rs, ext/ins fields out of range, clz/clo
	// with rt ≠ rd, bltzal/bgezal on ra).
	Unpredictable FaultKind = "unpredictable"
	// IntegerOverflow: add, addi or sub overflowed.
	IntegerOverflow FaultKind = "integer overflow"
	// Trap: a trap instruction (teq, tne, tge, ... and their immediate forms) fired.
	Trap FaultKind = "trap"
	// Syscall: a syscall instruction (generated code makes no system calls).
	Syscall FaultKind = "syscall"
	// Breakpoint: a break or sdbbp instruction.
	Breakpoint FaultKind = "breakpoint"

	// StepLimit: the run executed Options.MaxSteps instructions.
	StepLimit FaultKind = "step limit"
	// ABIViolation: the O32 contract broken at a runtime call or at the
	// final return (see the package documentation for the checks).
	ABIViolation FaultKind = "ABI violation"
	// RuntimeError: a runtime routine refused its arguments (its Eval
	// returned an error, such as a division by zero reaching __udivdi3).
	RuntimeError FaultKind = "runtime error"
)

// Fault says how a run went wrong.
type Fault struct {
	Kind FaultKind
	// PC is the faulting instruction's byte offset in the code when InCode,
	// else its absolute address (a runtime routine, the caller's return
	// address, a wild jump target). As with the EPC register (and qemu), a
	// fault in a branch delay slot reports the branch, with DelaySlot set:
	// the faulting instruction is then at PC+4. A PC equal to the code's
	// length means the function ran off its end. For a runtime routine's
	// fault or an ABI violation at a call, PC is the address of the
	// routine, and Msg names the call site.
	PC        uint32
	InCode    bool
	DelaySlot bool
	// Addr is the data address of a memory fault, or the target of a bad
	// fetch; 0 otherwise.
	Addr uint32
	// Msg explains the fault: the instruction, the access, the broken rule.
	Msg string
}

func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	switch {
	case f.InCode && f.DelaySlot:
		fmt.Fprintf(&b, " in the delay slot of the branch at code offset %#x", f.PC)
	case f.InCode:
		fmt.Fprintf(&b, " at code offset %#x", f.PC)
	case f.PC != 0:
		fmt.Fprintf(&b, " at 0x%08x (outside the code)", f.PC)
	}
	if f.Msg != "" {
		b.WriteString(": ")
		b.WriteString(f.Msg)
	}
	return b.String()
}
