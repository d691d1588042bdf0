// Package passes holds bpfopt's IR-to-IR passes and the pipeline that runs
// them: legalize64 (split every 64-bit value into two 32-bit halves, the
// dec64 way), the optimizations, and splitcrit (split critical edges, which
// the backend needs to place phi moves).
//
// pipeline.go is the one place that lists the passes, their order, the
// optimization level each belongs to, and the ordering constraints between
// them (checked at start-up). Each pass has its own file with an opening
// comment saying what it does and why, and its filetests in testdata/.
//
// Import rule: passes works on package ir (and its analyses in package ssa)
// only. It knows nothing of eBPF encodings and nothing of MIPS: whatever a
// pass needs to know about the target comes through Config (e.g. BigEndian).
package passes
