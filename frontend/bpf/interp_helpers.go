package bpf

import "github.com/bpfopt/bpfopt/internal/bpfrt"

// Helper IDs of the conformance suite's runtime. bpf_conformance itself
// defines no helpers: the plugin under test supplies them, and the suite's
// programs are written for uBPF's plugin (ubpf_plugin/test_helpers.h), whose
// table these are. The suite's files call only HelperUnwind (call_unwind_fail,
// callx); the others are here so that programs written for the same runtime
// run too.
const (
	HelperGatherBytes = bpfrt.GatherBytes // r0 = r1..r5 low bytes packed: a<<32 | b<<24 | c<<16 | d<<8 | e
	HelperMemfrob     = bpfrt.Memfrob     // xor the r2 bytes at r1 with 42; r0 = 0
	HelperNoOp        = bpfrt.NoOp        // r0 = 0
	HelperSqrti       = bpfrt.Sqrti       // r0 = floor(sqrt(r1)), computed in float64 as the C original does
	HelperStrcmpExt   = bpfrt.StrcmpExt   // r0 = strcmp(r1, r2) as a sign-extended int (byte difference)
	HelperUnwind      = bpfrt.Unwind      // r0 = r1; when r1 == 0 the program stops at once with r0 = 0
)

// ConformanceHelpers returns the helper table of the conformance suite's
// runtime (see the Helper* constants; package internal/bpfrt implements
// them).
func ConformanceHelpers() map[int32]Helper { return runtimeHelpers(bpfrt.ConformanceHelpers) }
