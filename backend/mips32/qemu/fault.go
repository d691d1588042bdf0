package qemu

import (
	"fmt"
	"strings"
	"time"
)

// Fault says how a run went wrong: a signal, a time-out, a runtime routine
// that stopped the program with an error, or a function that returned but
// broke the O32 calling convention.
type Fault struct {
	// Signal is the signal's name ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE",
	// "SIGTRAP", ...), empty for a time-out or an ABI violation.
	Signal string
	// PC is the faulting instruction's byte offset in the code when InCode,
	// else its absolute address (in a runtime routine such as __udivdi3).
	// For a fault in a branch delay slot qemu reports the branch. PC equal
	// to the code's length means the function ran off its end. For a Stop
	// it is the jalr that called the runtime routine.
	PC     uint32
	InCode bool
	// Addr is the signal's si_addr: the bad data address for SIGSEGV and
	// SIGBUS, the instruction's address for SIGILL, SIGTRAP and SIGFPE.
	Addr uint32
	// Code is the signal's si_code.
	Code int32
	// Timeout reports a run stopped at the engine's time limit.
	Timeout bool
	// ABI describes how a function that returned broke the O32 calling
	// convention (callee-saved registers or sp not preserved).
	ABI string
	// Stop is the message of a runtime routine that stopped the program
	// with an error, such as "unknown helper id 6 in ubpf_callx" (see
	// runner/helpers.c). uBPF's unwind is not an error: the program then
	// returns normally with r0 = 0.
	Stop string

	limit   time.Duration
	killed  bool   // the runner did not answer and was killed
	codeLen uint32 // to recognize a function that ran off its end
}

var signalDescriptions = map[string]string{
	"SIGSEGV": "segmentation fault",
	"SIGBUS":  "address error",
	"SIGILL":  "reserved instruction",
	"SIGFPE":  "arithmetic exception",
	"SIGTRAP": "trap",
}

func (f *Fault) Error() string {
	switch {
	case f.Timeout && f.killed:
		return fmt.Sprintf("timed out: the runner did not answer within the %v limit (plus grace) and was killed", f.limit)
	case f.Timeout:
		return fmt.Sprintf("timed out after %v", f.limit)
	case f.ABI != "":
		return "the function broke the O32 calling convention: " + f.ABI
	case f.Stop != "" && f.InCode:
		return fmt.Sprintf("stopped by the runtime: %s (called at code offset %#x)", f.Stop, f.PC)
	case f.Stop != "":
		return fmt.Sprintf("stopped by the runtime: %s (called from 0x%08x, outside the code)", f.Stop, f.PC)
	}
	var b strings.Builder
	if d, ok := signalDescriptions[f.Signal]; ok {
		fmt.Fprintf(&b, "%s (%s)", d, f.Signal)
	} else {
		b.WriteString(f.Signal)
	}
	if f.InCode {
		fmt.Fprintf(&b, " at code offset %#x", f.PC)
		if f.PC == f.codeLen {
			fmt.Fprintf(&b, ", past the end of the %d-byte code (the function ran off its end)", f.codeLen)
		}
	} else {
		fmt.Fprintf(&b, " at 0x%08x (outside the code)", f.PC)
	}
	if f.Signal == "SIGSEGV" || f.Signal == "SIGBUS" {
		fmt.Fprintf(&b, ", address 0x%08x", f.Addr)
	}
	return b.String()
}

// abiFault compares the callee-saved registers before and after the call.
func abiFault(rep *reply) *Fault {
	var bad []string
	for i, r := range checkedRegs {
		if rep.before[i] != rep.after[i] {
			bad = append(bad, fmt.Sprintf("%s not preserved (0x%08x before the call, 0x%08x after)", r, rep.before[i], rep.after[i]))
		}
	}
	if bad == nil {
		return nil
	}
	return &Fault{ABI: strings.Join(bad, "; ")}
}
