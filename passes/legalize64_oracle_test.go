package passes

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Each legalize64 rule checked against plain Go arithmetic, so that the IR
// interpreter is not the only oracle: every op is run on a grid of
// boundary values (and random ones) in a one-op function, before and after
// the pass, and both results must equal what Go computes with BPF's rules
// written out below.

// boundary64 are the 64-bit operands where carries, borrows, signs and
// word boundaries go wrong.
var boundary64 = []uint64{
	0, 1, 2, 3, 10, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, 1<<32 + 1,
	0x1_ffffffff, 0xffffffff_00000000, 0x7fffffff_ffffffff, 0x80000000_00000000,
	0x80000000_00000001, 0xffffffff_fffffffe, 0xffffffff_ffffffff, 0x12345678_9abcdef0,
	0xffffffff_80000000, 0x00000000_80000001, 0xfffffffd, 0xffffffff_fffffffd,
}

// boundaryShifts are shift amounts around the word size and the 0..63 mask.
var boundaryShifts = []uint32{0, 1, 5, 31, 32, 33, 40, 63, 64, 65, 95, 96, 127, 0x7fffffff, 0x80000020, 0xffffffff}

// operands returns the boundary grid plus n random values with a bias to
// small and word-aligned patterns.
func operands(r *rand.Rand, n int) []uint64 {
	out := append([]uint64(nil), boundary64...)
	for range n {
		out = append(out, randomWord64(r))
	}
	return out
}

func randomWord64(r *rand.Rand) uint64 {
	switch r.IntN(6) {
	case 0:
		return boundary64[r.IntN(len(boundary64))]
	case 1:
		return uint64(r.Uint32()) // high word 0
	case 2:
		return uint64(int64(int32(r.Uint32()))) // sign-extended
	case 3:
		return boundary64[r.IntN(len(boundary64))] + uint64(r.IntN(5)) - 2
	default:
		return r.Uint64()
	}
}

func words(x uint64) (lo, hi uint32) { return uint32(x), uint32(x >> 32) }

// goBinary64 gives BPF's meaning of each binary i64 op in Go.
var goBinary64 = map[ir.Op]func(a, b uint64) uint64{
	ir.OpAdd64: func(a, b uint64) uint64 { return a + b },
	ir.OpSub64: func(a, b uint64) uint64 { return a - b },
	ir.OpMul64: func(a, b uint64) uint64 { return a * b },
	ir.OpAnd64: func(a, b uint64) uint64 { return a & b },
	ir.OpOr64:  func(a, b uint64) uint64 { return a | b },
	ir.OpXor64: func(a, b uint64) uint64 { return a ^ b },
	ir.OpDivU64: func(a, b uint64) uint64 {
		if b == 0 {
			return 0
		}
		return a / b
	},
	ir.OpModU64: func(a, b uint64) uint64 {
		if b == 0 {
			return a
		}
		return a % b
	},
	ir.OpDivS64: func(a, b uint64) uint64 {
		switch {
		case b == 0:
			return 0
		case int64(b) == -1:
			return -a // wraps: INT64_MIN / -1 = INT64_MIN
		}
		return uint64(int64(a) / int64(b))
	},
	ir.OpModS64: func(a, b uint64) uint64 {
		switch {
		case b == 0:
			return a
		case int64(b) == -1:
			return 0
		}
		return uint64(int64(a) % int64(b))
	},
	ir.OpEq64:  func(a, b uint64) uint64 { return b2u(a == b) },
	ir.OpNe64:  func(a, b uint64) uint64 { return b2u(a != b) },
	ir.OpLtU64: func(a, b uint64) uint64 { return b2u(a < b) },
	ir.OpLeU64: func(a, b uint64) uint64 { return b2u(a <= b) },
	ir.OpLtS64: func(a, b uint64) uint64 { return b2u(int64(a) < int64(b)) },
	ir.OpLeS64: func(a, b uint64) uint64 { return b2u(int64(a) <= int64(b)) },
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

var goShift64 = map[ir.Op]func(a uint64, n uint32) uint64{
	ir.OpShl64:  func(a uint64, n uint32) uint64 { return a << (n & 63) },
	ir.OpShrU64: func(a uint64, n uint32) uint64 { return a >> (n & 63) },
	ir.OpShrS64: func(a uint64, n uint32) uint64 { return uint64(int64(a) >> (n & 63)) },
}

var goUnary64 = map[ir.Op]func(a uint64) uint64{
	ir.OpNeg64:   func(a uint64) uint64 { return -a },
	ir.OpBswap64: bits.ReverseBytes64,
	ir.OpCopy:    func(a uint64) uint64 { return a },
}

// beforeAfter parses src, and returns it as is and legalized (verified).
func beforeAfter(t *testing.T, src string, bigEndian bool) (before, after *ir.Func) {
	t.Helper()
	before, err := ir.Parse(src)
	require.NoError(t, err, src)
	require.NoError(t, ir.Verify(before, ir.VerifyOptions{}), src)
	after, err = ir.Parse(src)
	require.NoError(t, err)
	_, err = Run(after, 0, &Config{Passes: []string{"legalize64"}, VerifyEach: true, BigEndian: bigEndian})
	require.NoError(t, err, src)
	return before, after
}

// checkRun interprets before and after on args and compares both with want.
func checkRun(t *testing.T, before, after *ir.Func, args []uint32, want uint64, what string) bool {
	t.Helper()
	for _, f := range []*ir.Func{before, after} {
		got, err := ir.Interpret(f, ir.InterpConfig{Args: args})
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return false
		}
		if got != want {
			stage := "before"
			if f == after {
				stage = "after"
			}
			t.Errorf("%s: %s legalize64 got %#x, Go says %#x\n%s", what, stage, got, want, f)
			return false
		}
	}
	return true
}

func TestLegalize64AgainstGoBinaryOps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := operands(r, 18)
	for op, ref := range goBinary64 {
		res := "v7"
		if op.Info().Result == ir.I32 {
			res = "v8"
		}
		src := fmt.Sprintf(`func %s {
b0:
    v1:i32 = Arg [0]
    v2:i32 = Arg [1]
    v3:i32 = Arg [2]
    v4:i32 = Arg [3]
    v5:i64 = Int64Make v2, v1
    v6:i64 = Int64Make v4, v3
    v7:%s = %s v5, v6
    v8:i64 = ZeroExt32to64 v7
    Ret %s
}`, op, op.Info().Result, op, res)
		if op.Info().Result == ir.I64 {
			src = fmt.Sprintf("func %s {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i32 = Arg [2]\n    v4:i32 = Arg [3]\n"+
				"    v5:i64 = Int64Make v2, v1\n    v6:i64 = Int64Make v4, v3\n    v7:i64 = %s v5, v6\n    Ret v7\n}", op, op)
		}
		before, after := beforeAfter(t, src, false)
		n := 0
		for _, a := range vals {
			for _, b := range vals {
				al, ah := words(a)
				bl, bh := words(b)
				if !checkRun(t, before, after, []uint32{al, ah, bl, bh}, ref(a, b), fmt.Sprintf("%s(%#x, %#x)", op, a, b)) {
					t.FailNow()
				}
				n++
			}
		}
		t.Logf("%s: %d operand pairs", op, n)
	}
}

func TestLegalize64AgainstGoShifts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := operands(r, 10)
	amounts := append([]uint32(nil), boundaryShifts...)
	for range 8 {
		amounts = append(amounts, r.Uint32())
	}
	for op, ref := range goShift64 {
		// Variable amount.
		src := fmt.Sprintf("func %s {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i32 = Arg [2]\n"+
			"    v4:i64 = Int64Make v2, v1\n    v5:i64 = %s v4, v3\n    Ret v5\n}", op, op)
		before, after := beforeAfter(t, src, false)
		for _, a := range vals {
			for _, n := range amounts {
				al, ah := words(a)
				if !checkRun(t, before, after, []uint32{al, ah, n}, ref(a, n), fmt.Sprintf("%s(%#x, %d)", op, a, n)) {
					t.FailNow()
				}
			}
		}
		// Every constant amount 0..130 (masked to 0..63) and the boundaries.
		consts := append([]uint32(nil), boundaryShifts...)
		for k := range uint32(131) {
			consts = append(consts, k)
		}
		for _, k := range consts {
			src := fmt.Sprintf("func %s_%d {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i32 = Const32 [%d]\n"+
				"    v4:i64 = Int64Make v2, v1\n    v5:i64 = %s v4, v3\n    Ret v5\n}", op, k, int32(k), op)
			before, after := beforeAfter(t, src, false)
			for _, a := range vals {
				al, ah := words(a)
				if !checkRun(t, before, after, []uint32{al, ah}, ref(a, k), fmt.Sprintf("%s(%#x, const %d)", op, a, k)) {
					t.FailNow()
				}
			}
		}
	}
}

func TestLegalize64AgainstGoUnaryAndConversions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vals := operands(r, 40)
	for op, ref := range goUnary64 {
		src := fmt.Sprintf("func %s {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n"+
			"    v3:i64 = Int64Make v2, v1\n    v4:i64 = %s v3\n    Ret v4\n}", op, op)
		before, after := beforeAfter(t, src, false)
		for _, a := range vals {
			al, ah := words(a)
			if !checkRun(t, before, after, []uint32{al, ah}, ref(a), fmt.Sprintf("%s(%#x)", op, a)) {
				t.FailNow()
			}
		}
	}
	conv := map[string]func(x uint32) uint64{
		"ZeroExt32to64": func(x uint32) uint64 { return uint64(x) },
		"SignExt32to64": func(x uint32) uint64 { return uint64(int64(int32(x))) },
	}
	for name, ref := range conv {
		src := fmt.Sprintf("func %s {\nb0:\n    v1:i32 = Arg [0]\n    v2:i64 = %s v1\n    Ret v2\n}", name, name)
		before, after := beforeAfter(t, src, false)
		for _, a := range vals {
			x := uint32(a)
			if !checkRun(t, before, after, []uint32{x}, ref(x), fmt.Sprintf("%s(%#x)", name, x)) {
				t.FailNow()
			}
		}
	}
	// Int64Hi / Int64Lo swap the words back through a Make.
	src := "func halves {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i64 = Int64Make v2, v1\n" +
		"    v4:i32 = Int64Hi v3\n    v5:i32 = Int64Lo v3\n    v6:i64 = Int64Make v5, v4\n    Ret v6\n}"
	before, after := beforeAfter(t, src, false)
	for _, a := range vals {
		al, ah := words(a)
		if !checkRun(t, before, after, []uint32{al, ah}, bits.RotateLeft64(a, 32), fmt.Sprintf("halves(%#x)", a)) {
			t.FailNow()
		}
	}
	for _, c := range append(vals, math.MaxUint64) {
		src := fmt.Sprintf("func c {\nb0:\n    v1:i64 = Const64 [%d]\n    Ret v1\n}", int64(c))
		before, after := beforeAfter(t, src, false)
		require.True(t, checkRun(t, before, after, nil, c, fmt.Sprintf("Const64 %#x", c)))
	}
}

// memFixture is a data region with random bytes at memBase and a locals
// region for the compare-exchange slot.
const (
	memBase   = 0x10000
	localBase = 0x30000
)

func memFixture(r *rand.Rand, bigEndian bool) *ir.RegionMemory {
	data := make([]byte, 64)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: memBase, Data: data, Name: "data"},
		{Base: localBase, Data: make([]byte, 16), Name: "locals"},
	}}
}

func cloneMem(m *ir.RegionMemory) *ir.RegionMemory {
	c := &ir.RegionMemory{BigEndian: m.BigEndian}
	for _, r := range m.Regions {
		c.Regions = append(c.Regions, &ir.Region{Base: r.Base, Data: append([]byte(nil), r.Data...), Name: r.Name})
	}
	return c
}

// TestLegalize64AgainstGoMemory checks Load64, Store64 and every 64-bit
// atomic on both byte orders against encoding/binary and Go arithmetic:
// the result and the memory afterwards.
func TestLegalize64AgainstGoMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rmw := map[ir.Op]func(old, v uint64) uint64{
		ir.OpAtomicAdd64:  func(o, v uint64) uint64 { return o + v },
		ir.OpAtomicOr64:   func(o, v uint64) uint64 { return o | v },
		ir.OpAtomicAnd64:  func(o, v uint64) uint64 { return o & v },
		ir.OpAtomicXor64:  func(o, v uint64) uint64 { return o ^ v },
		ir.OpAtomicXchg64: func(_, v uint64) uint64 { return v },
	}
	type memCase struct {
		src string
		// want returns the result and updates data (the "data" region's
		// bytes) the way the function should; x is the 64-bit argument.
		want func(data []byte, order binary.ByteOrder, x uint64) uint64
	}
	var cases []memCase
	const off = 16
	for _, o := range []int{0, 8, 12, 3} { // aligned, 4-aligned, unaligned
		align := 8
		switch {
		case o%8 == 0:
		case o%4 == 0:
			align = 4
		default:
			align = 1
		}
		cases = append(cases, memCase{
			src: fmt.Sprintf("func load {\nb0:\n    v1:i32 = Const32 [%d]\n    v2:i64 = Load64 [%d] v1 align=%d\n    Ret v2\n}", memBase, o, align),
			want: func(data []byte, order binary.ByteOrder, _ uint64) uint64 {
				return order.Uint64(data[o:])
			}}, memCase{
			src: fmt.Sprintf("func store {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i64 = Int64Make v2, v1\n"+
				"    v4:i32 = Const32 [%d]\n    v5 = Store64 [%d] v4, v3 align=%d\n    v6:i64 = Load64 [%d] v4\n    Ret v6\n}", memBase+8, o, align, o),
			want: func(data []byte, order binary.ByteOrder, x uint64) uint64 {
				order.PutUint64(data[8+o:], x)
				return x
			}})
	}
	for op, ref := range rmw {
		cases = append(cases, memCase{
			src: fmt.Sprintf("func %s {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i64 = Int64Make v2, v1\n"+
				"    v4:i32 = Const32 [%d]\n    v5:i64 = %s [%d] v4, v3\n    Ret v5\n}", op, memBase, op, off),
			want: func(data []byte, order binary.ByteOrder, x uint64) uint64 {
				old := order.Uint64(data[off:])
				order.PutUint64(data[off:], ref(old, x))
				return old
			}})
	}
	// Compare-exchange: expected value from the arguments, new value a
	// constant; run once with the current value (success) and once without.
	const newVal = 0x0badc0de_12345678
	cases = append(cases, memCase{
		src: fmt.Sprintf("func cmpxchg {\nb0:\n    v1:i32 = Arg [0]\n    v2:i32 = Arg [1]\n    v3:i64 = Int64Make v2, v1\n"+
			"    v4:i32 = Const32 [%d]\n    v5:i64 = Const64 [%d]\n    v6:i64 = AtomicCmpXchg64 [%d] v4, v3, v5\n    Ret v6\n}", memBase, newVal, off),
		want: func(data []byte, order binary.ByteOrder, x uint64) uint64 {
			old := order.Uint64(data[off:])
			if old == x {
				order.PutUint64(data[off:], newVal)
			}
			return old
		}})

	for _, bigEndian := range []bool{false, true} {
		var order binary.ByteOrder = binary.LittleEndian
		if bigEndian {
			order = binary.BigEndian
		}
		for _, c := range cases {
			before, after := beforeAfter(t, c.src, bigEndian)
			for i := range 200 {
				mem := memFixture(r, bigEndian)
				x := randomWord64(r)
				if i%2 == 0 { // make the compare-exchange succeed half the time
					x = order.Uint64(mem.Regions[0].Data[off:])
				}
				wantData := append([]byte(nil), mem.Regions[0].Data...)
				want := c.want(wantData, order, x)
				xl, xh := words(x)
				for _, f := range []*ir.Func{before, after} {
					m := cloneMem(mem)
					got, err := ir.Interpret(f, ir.InterpConfig{Args: []uint32{xl, xh}, Mem: m, LocalBase: localBase})
					require.NoError(t, err, "%s", f)
					require.Equal(t, want, got, "bigEndian=%v x=%#x\n%s", bigEndian, x, f)
					require.Equal(t, wantData, m.Regions[0].Data, "memory, bigEndian=%v x=%#x\n%s", bigEndian, x, f)
				}
			}
		}
	}
}
