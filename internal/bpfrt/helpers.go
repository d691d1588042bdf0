package bpfrt

import (
	"errors"
	"fmt"
	"math"
)

// Env is what a helper runs against: the run's memory, the kernel
// helpers' per-run state, and the host's maps.
type Env interface {
	Memory
	// Kernel is the run's kernel helper state.
	Kernel() *Kernel
	// Map returns the open map that a helper's map argument designates (a
	// handle, an address: the host's choice), or an error naming it.
	Map(arg uint64) (*Map, error)
}

// Helper is one helper function.
type Helper struct {
	ID int32
	// Name is how the runtime's messages name it ("map_lookup_elem").
	Name string
	// Args is how many argument registers (r1...) it reads.
	Args int
	Func func(env Env, r [5]uint64) (uint64, error)
}

// ErrStop, returned by a helper, ends the program at once with the r0 the
// helper returned (uBPF's unwind).
var ErrStop = errors.New("helper stopped the program")

// Linux's helper IDs of the kernel helpers the runtime implements.
const (
	MapLookupElem     = 1
	MapUpdateElem     = 2
	MapDeleteElem     = 3
	KtimeGetNs        = 5
	GetPrandomU32     = 7
	GetSmpProcessorID = 8
	// TailCall is bpf_tail_call. It is no function: the interpreter switches
	// programs, compiled code asks the runtime for the slot's entry
	// (TailTarget) and jumps there itself.
	TailCall = 12
)

// PrandomSeed is the state of get_prandom_u32's generator at the start of
// every run.
const PrandomSeed uint32 = 2463534242

// Kernel is the kernel helpers' per-run state.
type Kernel struct {
	ktime   uint64
	prandom uint32
}

// NewKernel is the state at the start of a run.
func NewKernel() Kernel { return Kernel{prandom: PrandomSeed} }

// KernelHelpers is the kernel helper set, in ID order (TailCall aside):
//
//	1 map_lookup_elem(map, key)                Map.Lookup
//	2 map_update_elem(map, key, value, flags)  Map.Update
//	3 map_delete_elem(map, key)                Map.Delete
//	5 ktime_get_ns()          the n-th call of a run returns n * 1000
//	7 get_prandom_u32()       xorshift32 from PrandomSeed: x ^= x << 13;
//	                          x ^= x >> 17; x ^= x << 5; r0 = x
//	8 get_smp_processor_id()  0
var KernelHelpers = []Helper{
	{MapLookupElem, "map_lookup_elem", 2, func(env Env, r [5]uint64) (uint64, error) {
		m, err := env.Map(r[0])
		if err != nil {
			return 0, err
		}
		return m.Lookup(env, r[1])
	}},
	{MapUpdateElem, "map_update_elem", 4, func(env Env, r [5]uint64) (uint64, error) {
		m, err := env.Map(r[0])
		if err != nil {
			return 0, err
		}
		return m.Update(env, r[1], r[2], r[3])
	}},
	{MapDeleteElem, "map_delete_elem", 2, func(env Env, r [5]uint64) (uint64, error) {
		m, err := env.Map(r[0])
		if err != nil {
			return 0, err
		}
		return m.Delete(env, r[1])
	}},
	{KtimeGetNs, "ktime_get_ns", 0, func(env Env, _ [5]uint64) (uint64, error) {
		k := env.Kernel()
		k.ktime += 1000
		return k.ktime, nil
	}},
	{GetPrandomU32, "get_prandom_u32", 0, func(env Env, _ [5]uint64) (uint64, error) {
		k := env.Kernel()
		x := k.prandom
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		k.prandom = x
		return uint64(x), nil
	}},
	{GetSmpProcessorID, "get_smp_processor_id", 0, func(Env, [5]uint64) (uint64, error) { return 0, nil }},
}

// Helper IDs of the conformance suite's runtime. bpf_conformance itself
// defines no helpers: the plugin under test supplies them, and the suite's
// programs are written for uBPF's plugin (ubpf_plugin/test_helpers.h),
// whose table this is.
const (
	GatherBytes = 0
	Memfrob     = 1
	NoOp        = 2
	Sqrti       = 3
	StrcmpExt   = 4
	Unwind      = 5
)

// ConformanceHelpers is the conformance suite's helper set, in ID order:
//
//	0 gather_bytes  r0 = (r1&0xff)<<32 | (r2&0xff)<<24 | (r3&0xff)<<16
//	                     | (r4&0xff)<<8 | (r5&0xff)
//	1 memfrob       xor the r2 bytes at r1 with 42 (none when r2 = 0); r0 = 0
//	2 no_op         r0 = 0
//	3 sqrti         r0 = (uint64_t)sqrt((double)r1)
//	4 strcmp_ext    r0 = c1 - c2 sign-extended, for the first bytes (unsigned)
//	                where the strings at r1 and r2 differ, 0 when equal; both
//	                strings are scanned to their NUL first
//	5 unwind        r0 = r1; when r1 = 0 the program stops with r0 = 0 (ErrStop)
var ConformanceHelpers = []Helper{
	{GatherBytes, "gather_bytes", 5, func(_ Env, r [5]uint64) (uint64, error) {
		return (r[0]&0xff)<<32 | (r[1]&0xff)<<24 | (r[2]&0xff)<<16 | (r[3]&0xff)<<8 | r[4]&0xff, nil
	}},
	{Memfrob, "memfrob", 2, func(env Env, r [5]uint64) (uint64, error) { return 0, memfrob(env, r[0], r[1]) }},
	{NoOp, "no_op", 0, func(Env, [5]uint64) (uint64, error) { return 0, nil }},
	// math.Sqrt rounds correctly, as C's sqrt does, and the conversions
	// round (to float64) and truncate (back) as C's casts do.
	{Sqrti, "sqrti", 1, func(_ Env, r [5]uint64) (uint64, error) { return uint64(math.Sqrt(float64(r[0]))), nil }},
	{StrcmpExt, "strcmp_ext", 2, func(env Env, r [5]uint64) (uint64, error) { return strcmpExt(env, r[0], r[1]) }},
	{Unwind, "unwind", 1, func(_ Env, r [5]uint64) (uint64, error) {
		if r[0] == 0 {
			return 0, ErrStop
		}
		return r[0], nil
	}},
}

// memfrob xors the n bytes at p with 42. Like the C original it goes byte
// by byte, so that a range that runs into unmapped memory is changed up to
// there; the error is the whole range's.
func memfrob(mem Memory, p, n uint64) error {
	if n == 0 {
		return nil
	}
	b, err := mem.Bytes(p, n)
	if err == nil {
		for i := range b {
			b[i] ^= 42
		}
		return nil
	}
	for i := uint64(0); i < n; i++ {
		c, cerr := mem.Bytes(p+i, 1)
		if cerr != nil {
			break
		}
		c[0] ^= 42
	}
	return err
}

func strcmpExt(mem Memory, a, b uint64) (uint64, error) {
	s1, err := CString(mem, a)
	if err != nil {
		return 0, err
	}
	s2, err := CString(mem, b)
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
}

// CString returns the NUL-terminated string at addr, without the NUL.
func CString(mem Memory, addr uint64) ([]byte, error) {
	for n := uint64(0); ; n++ {
		b, err := mem.Bytes(addr+n, 1)
		if err != nil && n == 0 {
			return nil, err // no string at all
		}
		if err != nil {
			return nil, fmt.Errorf("unterminated string at 0x%x", addr)
		}
		if b[0] == 0 {
			if n == 0 {
				return nil, nil
			}
			return mem.Bytes(addr, n)
		}
	}
}

// Table returns helpers by ID.
func Table(helpers []Helper) map[int32]Helper {
	t := make(map[int32]Helper, len(helpers))
	for _, h := range helpers {
		t[h.ID] = h
	}
	return t
}
