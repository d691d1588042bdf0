// Package ir is bpfopt's typed SSA intermediate representation: the data
// model (Func, Block, Value), the op table, a text printer and parser that
// round-trip, a verifier, and an interpreter that runs a function at any stage
// of the pipeline.
//
// Import rule: ir knows nothing of eBPF encodings or of MIPS. It imports only
// the standard library and golang.org/x/tools/container/intsets.
//
// Model in brief:
//   - A Func is a list of Blocks; Blocks[0] is the entry.
//   - A Block holds Values in execution order and ends in a terminator given
//     by its Kind (Jump, If, Ret) with its Controls and Succs.
//   - A Value is one SSA definition: Op, Type, Args, AuxInt, Sym, Align.
//   - Memory is ordered by the order of values within a block: ops whose
//     OpInfo says ReadsMem or SideEffect are never reordered against ones
//     with SideEffect, nor removed when they have side effects.
//   - 64-bit values (I64) exist until the legalize64 pass splits them, the
//     dec64 way, into Int64Make(hi, lo) pairs of I32 values.
package ir
