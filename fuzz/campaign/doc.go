// Package campaign is the library behind bpfopt's fuzz campaigns: it hunts
// miscompiles by running one eBPF program through every oracle the project
// has and reporting the first place they disagree.
//
//   - CheckProgram runs the program in the reference interpreter (the
//     oracle), then in the IR interpreter after lifting and after every
//     middle-end pass, one pass at a time with ir.Verify in between, and
//     finally as compiled MIPS code on a machine-code engine (the
//     in-process simulator, or qemu-user). A program with subprograms is
//     one module throughout: every function lifted, each pass run on all
//     of them, the module run by ir.InterpretModule and compiled by
//     mips32.CompileModule. r0 and the final memory must agree
//     everywhere; a Finding names the first stage (or pass) that
//     diverged, with the program, its input memory and both results.
//   - CheckDeterminism compiles a program twice and requires identical IR
//     after every pass and identical machine code.
//   - ProgramFromInput maps fuzzer bytes to a valid program and its input
//     memory (through fuzz/progen), the one input format that the native Go
//     fuzz targets (campaign's _test.go files) and the go-fuzz harnesses
//     (fuzz/gofuzz) share.
//   - Reduce shrinks a failing program and its memory by delta debugging,
//     keeping jump and `call local` offsets valid and the program inside
//     the contract (wellformed.go), and WriteRegressionTest stores the
//     result as a conformance-format .data file that TestRegressions
//     replays on every test run.
//
// docs/fuzzing.md explains how to run a campaign and read a finding.
//
// Import rule: this package sits above the whole compiler (it may import
// frontend, ir, passes, backend and their engines); nothing in the
// compiler may import it.
package campaign
