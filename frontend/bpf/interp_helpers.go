package bpf

import "math"

// Helper IDs of the conformance suite's runtime. bpf_conformance itself
// defines no helpers: the plugin under test supplies them, and the suite's
// programs are written for uBPF's plugin (ubpf_plugin/test_helpers.h), whose
// table these are. The suite's files call only HelperUnwind (call_unwind_fail,
// callx); the others are here so that programs written for the same runtime
// run too.
const (
	HelperGatherBytes = 0 // r0 = r1..r5 low bytes packed: a<<32 | b<<24 | c<<16 | d<<8 | e
	HelperMemfrob     = 1 // xor the r2 bytes at r1 with 42; r0 = 0
	HelperNoOp        = 2 // r0 = 0
	HelperSqrti       = 3 // r0 = floor(sqrt(r1)), computed in float64 as the C original does
	HelperStrcmpExt   = 4 // r0 = strcmp(r1, r2) as a sign-extended int (byte difference)
	HelperUnwind      = 5 // r0 = r1; when r1 == 0 the program stops at once with r0 = 0
)

// ConformanceHelpers returns the helper table of the conformance suite's
// runtime (see the Helper* constants).
func ConformanceHelpers() map[int32]Helper {
	return map[int32]Helper{
		HelperGatherBytes: func(_ *VM, a [5]uint64) (uint64, error) {
			return (a[0]&0xff)<<32 | (a[1]&0xff)<<24 | (a[2]&0xff)<<16 | (a[3]&0xff)<<8 | a[4]&0xff, nil
		},
		HelperMemfrob: func(vm *VM, a [5]uint64) (uint64, error) {
			if a[1] == 0 {
				return 0, nil
			}
			b, err := vm.Bytes(a[0], a[1])
			if err != nil {
				return 0, err
			}
			for i := range b {
				b[i] ^= 42
			}
			return 0, nil
		},
		HelperNoOp: func(*VM, [5]uint64) (uint64, error) { return 0, nil },
		HelperSqrti: func(_ *VM, a [5]uint64) (uint64, error) {
			return uint64(math.Sqrt(float64(a[0]))), nil
		},
		HelperStrcmpExt: func(vm *VM, a [5]uint64) (uint64, error) {
			s1, err := vm.CString(a[0])
			if err != nil {
				return 0, err
			}
			s2, err := vm.CString(a[1])
			if err != nil {
				return 0, err
			}
			for i := 0; ; i++ {
				var c1, c2 byte
				if i < len(s1) {
					c1 = s1[i]
				}
				if i < len(s2) {
					c2 = s2[i]
				}
				if c1 != c2 || c1 == 0 {
					return uint64(int64(c1) - int64(c2)), nil
				}
			}
		},
		HelperUnwind: func(_ *VM, a [5]uint64) (uint64, error) {
			if a[0] == 0 {
				return 0, ErrStop
			}
			return a[0], nil
		},
	}
}
