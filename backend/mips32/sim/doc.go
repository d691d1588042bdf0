// Package sim is an in-process MIPS32 instruction-set simulator: the
// default run engine and the engine of fuzz campaigns. It runs a compiled
// function as the qemu engine (package backend/mips32/qemu) does — same
// calling setup, same memory-block addresses, same Run signature and
// result shape — but in Go, without processes, at about 150–250 million
// simulated instructions per second, with statistics and a cycle
// estimate, and with stricter checks: exact delay-slot semantics, O32
// contract checks at every runtime call, and faults for what the
// architecture leaves UNPREDICTABLE.
//
// It imports backend/mips32 for the Target, Reloc and Reg types and the O32
// constants only: instruction words are decoded from the MIPS32 manuals
// (decode.go), never with the backend's encoder tables, so that the
// simulator does not share the encoder's mistakes. It imports ir for the
// runtime functions' Go implementations. It knows nothing of eBPF: the BPF
// helpers and maps compiled code calls are externs (Options.Externs) that
// package sim/runner, the Go twin of the qemu engine's C runner, supplies.
//
// # Address space
//
//	CodeBase    0x20000000  the code, fetch only (not readable as data),
//	                        then a module's data (RunModule), read/write
//	HeapBase    0x10000000  the runtime heap: what externs allocated this run
//	RuntimeBase 0x0f000000  runtime routines, one per 16 bytes: a jump there
//	                        is a call served in Go
//	ExitAddress 0x0ff00000  the return address the function is called with
//	MemEnd      0x31000000  the memory block ends here (length rounded up to 8)
//	StackTop    0x7fff0000  the stack region ends here (64 KiB by default)
//
// Only the memory block [MemAddr, MemAddr+len), the stack, a module's data
// and the allocated part of the heap are mapped for loads and stores; an
// access elsewhere is an Unmapped fault (qemu maps the block's padding to
// 8 bytes, and the rest of its heap, the simulator does not), one within
// 1 MiB below the stack a StackOverflow. Stack words start out as an
// address-dependent garbage pattern, not zero. The code, data and heap
// addresses are the qemu engine's, so that pointers agree.
//
// # Modules
//
// RunModule runs a module with data, laid out as the qemu engine lays one
// out (mips32.Module.Image): the code at CodeBase, the data right after
// it, relocations (anywhere in the image) resolved against the module's
// symbols first, then the runtime routines. Every run starts from the
// data as linked and with an empty heap.
//
// # Calling setup
//
// The function is called as uint64_t fn(void *ctx, uint32_t len): a0 = the
// block's address (8-byte aligned; for an empty block a valid pointer at
// which every access faults), a1 = len, sp = StackTop-16 (the 16 bytes
// above sp are the caller's home area), ra = ExitAddress. Every other
// register, HI and LO hold distinct garbage (0xcaNN5afe for register N,
// the qemu runner's canaries for s0–s7 and fp). When the function returns
// to ExitAddress, s0–s7, fp, sp and gp must hold their entry values, or
// the run ends with an ABIViolation fault (R0 is still valid). R0 is
// v1:v0 on little-endian and v0:v1 on big-endian.
//
// # Runtime routines
//
// Relocations (R_MIPS_HI16/LO16 with the %hi carry, R_MIPS_32) resolve
// against the routines: ir's runtime functions (libgcc's 64-bit division,
// libatomic's 8-byte atomics) and Options.Externs. A call is served in Go
// when control reaches the routine's address, after the jalr's delay slot.
// The O32 contract is checked first, any breach being an ABIViolation
// fault: sp 8-byte aligned, the 16-byte home area at sp inside the stack,
// t9 holding the callee's address (calls go through t9, for PIC callees),
// stack arguments inside the stack. Arguments are read per the routine's
// C signature: words 0–3 from a0–a3, then from sp+16, a 64-bit parameter
// at an even word, its low word first on little-endian. The home area is
// then overwritten with garbage (as a C callee at -O0 spills its arguments
// there), the Eval runs on the simulated memory, the result goes to v0
// (and v1 for a 64-bit result, in the byte order's word order), and at,
// v1 (for a 32-bit result), a0–a3, t0–t9, k0, k1, HI and LO get garbage
// that changes from call to call, so that code relying on a caller-saved
// register across a call fails. An Eval error is a RuntimeError fault (or
// the memory fault it ran into); a *Stop ends the run as a return.
//
// An Eval's ir.Memory is an *Env: besides loads and stores it gives byte
// views of the memory, allocations from the runtime heap (Env.Alloc, up
// to Options.HeapSize) and the externs' per-run state (Env.RunState, made
// by Options.NewRunState), which is how a runtime written in Go keeps maps
// and clocks that start afresh every run.
//
// # Semantics of what the manual leaves open
//
//   - Division by zero (div, divu) gives LO = the dividend and HI = 0, and
//     INT_MIN / -1 gives LO = INT_MIN, HI = 0: what qemu does (checked by
//     the cross-checks), so that the engines agree.
//   - mul leaves HI and LO UNPREDICTABLE: the simulator poisons them
//     (0xdead0b1d, 0xdead10ad); qemu leaves them unchanged.
//   - ll/sc, single-threaded: ll links the address and the word it read;
//     sc succeeds iff the link is set, the address is the linked one and
//     the word still holds the linked value (so a store of a different
//     value in between makes it fail, a store of the same value or to
//     another word does not), which is qemu's rule. Every sc and every
//     runtime call clears the link. qemu keeps the link from one run to
//     the next; the simulator starts every run without one. An sc checks
//     alignment and mapping even when it fails (qemu's failing sc touches
//     no memory).
//   - A branch or jump in a delay slot is a ReservedInstruction fault, as
//     qemu raises. jalr with rd = rs, ext/ins with fields out of range,
//     clz/clo with rt ≠ rd and bltzal/bgezal(l) on ra are Unpredictable
//     faults (qemu executes them).
//   - Fields the manual requires to be zero (sa of addu, rt of blez, ...)
//     are not checked, as in qemu; fields that select an instruction are.
//   - Release 2 instructions on a Release 1 target are ReservedInstruction
//     faults (qemu's 4Kc runs rotr as srl).
//   - Floating-point, COP0, COP2 and cache instructions are
//     CoprocessorUnusable faults; syscall, break and sdbbp, traps that
//     fire, and add/addi/sub overflows fault with their own kinds.
//   - A fault in a delay slot is reported at its branch with DelaySlot set,
//     as EPC and qemu report it. A fetch outside the code (other than
//     ExitAddress and the routines) faults; PC = len(code) means the
//     function ran off its end.
//
// # Cycle model
//
// Stats.Cycles estimates an in-order, single-issue, 24K-like pipeline:
//
//   - every instruction issues in 1 cycle, once its register operands are
//     ready (a scoreboard per GPR and for HI/LO);
//   - a loaded value is ready 2 cycles after the load issues: an
//     instruction that uses it right away stalls 1 cycle (lwl/lwr merging
//     into the register a preceding lwl/lwr loaded does not stall);
//   - mul, mult(u), madd(u) and msub(u) results are ready 4 cycles after
//     issue, div and divu results 35 cycles after (no early exit);
//     back-to-back madd/msub accumulate without stalling;
//   - a taken branch or a jump costs 1 more cycle, an annulled delay slot
//     of a branch-likely 1 cycle (it is not counted as an instruction);
//   - a runtime routine costs a fixed number of cycles: 80 for the 64-bit
//     division routines, 30 for the 8-byte atomics, 20 for any other
//     (Externs), plus the call's own instructions.
//
// Stats.Stalls counts the cycles lost to operand waits. The model is meant
// to rank code sequences, not to predict a real core to the cycle.
//
// # Performance
//
// Code is decoded once per Run into a slice of pre-decoded instructions
// (and reused while the same code and relocations come back); the loop is
// a switch over dense opcodes with registers in a 256-entry array indexed
// by uint8 fields, so no bounds checks. Per-run state (registers, the
// stack) is pooled. Measured on the development machine: 180–245 M
// instructions/s on ALU loops, 145–175 M on load/store loops, ~0.8 µs per
// run of a 40-instruction program (see bench_test.go).
package sim
