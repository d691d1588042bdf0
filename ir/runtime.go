package ir

import "fmt"

// Memory is the byte-addressed 32-bit memory an interpreter runs against.
// Values are little- or big-endian as the memory decides.
type Memory interface {
	Load(addr uint32, size int) (uint64, error)
	Store(addr uint32, size int, val uint64) error
}

// RuntimeFunc is a C function that generated code may call (OpCallRuntime).
// Params and Result are C-level types: I32 for int and pointers, I64 for
// 64-bit integers. After legalize64, each I64 parameter is passed as two i32
// arguments (low word first) and an I64 result has type Pair.
type RuntimeFunc struct {
	Name   string
	Params []Type
	Result Type
	// Eval runs the function for interpreters. Arguments are given per C
	// parameter (I64 parameters whole).
	Eval func(m Memory, args []uint64) (uint64, error)
}

// MemOrderSeqCst is __ATOMIC_SEQ_CST, the memory order passed to libatomic.
const MemOrderSeqCst = 5

var runtimeFuncs = map[string]*RuntimeFunc{}

func addRuntime(f *RuntimeFunc) { runtimeFuncs[f.Name] = f }

// CallSignature is the C signature of a call value: the runtime table's
// entry for CallRuntime; for Call (BPF helpers, subprograms), one I64
// parameter per 64-bit argument and an I64 result, with no Eval (an
// interpreter resolves the callee through its configuration).
func CallSignature(v *Value) (*RuntimeFunc, bool) {
	if v.Op != OpCall {
		return LookupRuntime(v.Sym)
	}
	n := 0
	for _, a := range v.Args {
		if a.Type == I64 {
			n += 2
		} else {
			n++
		}
	}
	params := make([]Type, n/2)
	for i := range params {
		params[i] = I64
	}
	return &RuntimeFunc{Name: v.Sym, Params: params, Result: I64}, n%2 == 0
}

// LookupRuntime finds a runtime function by symbol name.
func LookupRuntime(name string) (*RuntimeFunc, bool) {
	f, ok := runtimeFuncs[name]
	return f, ok
}

func init() {
	// libgcc's 64-bit division. Callers guarantee a non-zero divisor and,
	// for the signed ones, no INT64_MIN / -1 overflow (BPF's rules for those
	// cases are applied around the call by legalize64).
	div := func(name string, op func(a, b uint64) uint64) {
		addRuntime(&RuntimeFunc{Name: name, Params: []Type{I64, I64}, Result: I64,
			Eval: func(_ Memory, a []uint64) (uint64, error) {
				if a[1] == 0 {
					return 0, fmt.Errorf("%s: division by zero reached the runtime", name)
				}
				if int64(a[1]) == -1 && int64(a[0]) == -1<<63 && (name == "__divdi3" || name == "__moddi3") {
					return 0, fmt.Errorf("%s: INT64_MIN / -1 reached the runtime", name)
				}
				return op(a[0], a[1]), nil
			}})
	}
	div("__udivdi3", func(a, b uint64) uint64 { return a / b })
	div("__umoddi3", func(a, b uint64) uint64 { return a % b })
	div("__divdi3", func(a, b uint64) uint64 { return uint64(int64(a) / int64(b)) })
	div("__moddi3", func(a, b uint64) uint64 { return uint64(int64(a) % int64(b)) })

	// libatomic's 8-byte operations (MIPS32 has no 64-bit LL/SC; GCC calls
	// these too). The last parameter is the memory order.
	rmw := func(name string, op func(old, v uint64) uint64) {
		addRuntime(&RuntimeFunc{Name: name, Params: []Type{I32, I64, I32}, Result: I64,
			Eval: func(m Memory, a []uint64) (uint64, error) {
				old, err := m.Load(uint32(a[0]), 8)
				if err != nil {
					return 0, err
				}
				return old, m.Store(uint32(a[0]), 8, op(old, a[1]))
			}})
	}
	rmw("__atomic_fetch_add_8", func(o, v uint64) uint64 { return o + v })
	rmw("__atomic_fetch_or_8", func(o, v uint64) uint64 { return o | v })
	rmw("__atomic_fetch_and_8", func(o, v uint64) uint64 { return o & v })
	rmw("__atomic_fetch_xor_8", func(o, v uint64) uint64 { return o ^ v })
	rmw("__atomic_exchange_8", func(_, v uint64) uint64 { return v })
	// bool __atomic_compare_exchange_8(u64 *mem, u64 *expected, u64 desired, int success, int failure):
	// on failure the current value is written to *expected.
	addRuntime(&RuntimeFunc{Name: "__atomic_compare_exchange_8", Params: []Type{I32, I32, I64, I32, I32}, Result: I32,
		Eval: func(m Memory, a []uint64) (uint64, error) {
			cur, err := m.Load(uint32(a[0]), 8)
			if err != nil {
				return 0, err
			}
			exp, err := m.Load(uint32(a[1]), 8)
			if err != nil {
				return 0, err
			}
			if cur == exp {
				return 1, m.Store(uint32(a[0]), 8, a[2])
			}
			return 0, m.Store(uint32(a[1]), 8, cur)
		}})
}
