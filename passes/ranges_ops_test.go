package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Soundness of the interval domain (ranges_ops.go). The interval
// functions take the width as a parameter, so at width 4 every pair of
// intervals and every pair of values in them can be tried against the
// ops' meaning (written again here from ir/op.go, at any width); at the
// real widths, boundary-heavy intervals are sampled and the concrete
// result comes from ir.Interpret, the IR's own oracle.

const smallW = 4

// smallOps are the ops' meanings at width w, from ir/op.go, keyed by the
// 64-bit op whose transfer function (binaryIntervals) they check.
var smallOps = map[ir.Op]func(a, b uint64, w uint) uint64{
	ir.OpAdd64: func(a, b uint64, w uint) uint64 { return (a + b) & widthMask(w) },
	ir.OpSub64: func(a, b uint64, w uint) uint64 { return (a - b) & widthMask(w) },
	ir.OpMul64: func(a, b uint64, w uint) uint64 { return (a * b) & widthMask(w) },
	ir.OpDivU64: func(a, b uint64, w uint) uint64 {
		if b == 0 {
			return 0
		}
		return a / b
	},
	ir.OpModU64: func(a, b uint64, w uint) uint64 {
		if b == 0 {
			return a
		}
		return a % b
	},
	ir.OpDivS64: func(a, b uint64, w uint) uint64 {
		sa, sb := signedAt(a, w), signedAt(b, w)
		switch {
		case sb == 0:
			return 0
		case sb == -1: // INT_MIN / -1 wraps to INT_MIN
			return uint64(-sa) & widthMask(w)
		}
		return uint64(sa/sb) & widthMask(w)
	},
	ir.OpModS64: func(a, b uint64, w uint) uint64 {
		sa, sb := signedAt(a, w), signedAt(b, w)
		switch {
		case sb == 0:
			return a
		case sb == -1:
			return 0
		}
		return uint64(sa%sb) & widthMask(w)
	},
	ir.OpAnd64:  func(a, b uint64, w uint) uint64 { return a & b },
	ir.OpOr64:   func(a, b uint64, w uint) uint64 { return a | b },
	ir.OpXor64:  func(a, b uint64, w uint) uint64 { return a ^ b },
	ir.OpShl64:  func(a, n uint64, w uint) uint64 { return (a << (n & uint64(w-1))) & widthMask(w) },
	ir.OpShrU64: func(a, n uint64, w uint) uint64 { return a >> (n & uint64(w-1)) },
	ir.OpShrS64: func(a, n uint64, w uint) uint64 {
		return uint64(signedAt(a, w)>>(n&uint64(w-1))) & widthMask(w)
	},
	ir.OpNeg64: func(a, _ uint64, w uint) uint64 { return -a & widthMask(w) },
}

// signedAt reads a w-bit value as signed.
func signedAt(a uint64, w uint) int64 { return int64(a<<(64-w)) >> (64 - w) }

// holds is the relation's meaning at width w.
func holds(a, b uint64, r cmpRel, w uint) bool {
	sa, sb := signedAt(a, w), signedAt(b, w)
	return [...]bool{a == b, a != b, a < b, a <= b, a > b, a >= b, sa < sb, sa <= sb, sa > sb, sa >= sb}[r]
}

// allIntervals lists every non-empty interval at width w.
func allIntervals(w uint) []interval {
	var out []interval
	for lo := uint64(0); lo <= widthMask(w); lo++ {
		for hi := lo; hi <= widthMask(w); hi++ {
			out = append(out, interval{lo, hi})
		}
	}
	return out
}

func TestIntervalOpsExhaustive(t *testing.T) {
	all := allIntervals(smallW)
	for op := range binaryIntervals {
		if _, ok := smallOps[op]; !ok && op.Info().Result == ir.I64 {
			t.Errorf("%s has a transfer function but no meaning in smallOps to check it against", op)
		}
	}
	for op, concrete := range smallOps {
		abstract := binaryIntervals[op]
		if op == ir.OpNeg64 {
			abstract = func(a, _ interval, w uint) interval { return negInterval(a, w) }
		}
		t.Run(op.String(), func(t *testing.T) {
			for _, a := range all {
				for _, b := range all {
					r := abstract(a, b, smallW)
					for x := a.lo; x <= a.hi; x++ {
						for y := b.lo; y <= b.hi; y++ {
							if c := concrete(x, y, smallW); !r.contains(c) {
								t.Fatalf("%s %v, %v = %v misses %d, %d -> %d", op, a, b, r, x, y, c)
							}
						}
					}
				}
			}
		})
	}
}

func TestIntervalRelationsExhaustive(t *testing.T) {
	all := allIntervals(smallW)
	for r := relEq; r <= relGeS; r++ {
		require.Equal(t, r, r.negate().negate())
		require.Equal(t, r, r.swap().swap())
		for _, a := range all {
			for _, b := range all {
				always, never := decideInterval(a, b, r, smallW)
				narrowed := refineInterval(a, b, r, smallW)
				for x := a.lo; x <= a.hi; x++ {
					for y := b.lo; y <= b.hi; y++ {
						h := holds(x, y, r, smallW)
						if h == holds(x, y, r.negate(), smallW) || h != holds(y, x, r.swap(), smallW) {
							t.Fatalf("relation %d: negate or swap is wrong on %d, %d", r, x, y)
						}
						if h && never || !h && always {
							t.Fatalf("relation %d on %v, %v: always=%v never=%v, but %d, %d gives %v", r, a, b, always, never, x, y, h)
						}
						if h && !narrowed.contains(x) {
							t.Fatalf("relation %d: refining %v by %v gives %v, which misses %d (with %d)", r, a, b, narrowed, x, y)
						}
					}
				}
			}
		}
	}
}

func TestIntervalWidthChanges(t *testing.T) {
	for _, a := range allIntervals(2 * smallW) {
		tr := truncInterval(a, smallW)
		for x := a.lo; x <= a.hi; x++ {
			if !tr.contains(x & widthMask(smallW)) {
				t.Fatalf("trunc %v = %v misses %d", a, tr, x)
			}
		}
	}
	for _, a := range allIntervals(smallW) {
		z, s := extendInterval(a, smallW, 2*smallW, false), extendInterval(a, smallW, 2*smallW, true)
		for x := a.lo; x <= a.hi; x++ {
			sx := uint64(signedAt(x, smallW)) & widthMask(2*smallW)
			if !z.contains(x) || !s.contains(sx) {
				t.Fatalf("extending %v to %v (zero) and %v (sign) misses %d", a, z, s, x)
			}
		}
	}
}

// TestStrideRange runs every small loop "x = I; loop { n = x + step;
// exit if n == y (or x == y before); x = n }" and checks that whenever
// strideRange claims a range, every x the loop takes lies in it — and
// that it does claim one for the loops the pass relies on.
func TestStrideRange(t *testing.T) {
	const w = 5
	m := widthMask(w)
	claimed := 0
	for _, bound := range allIntervals(w) {
		if bound.hi-bound.lo > 3 {
			continue
		}
		for start := uint64(0); start <= m; start++ {
			for step := uint64(1); step <= m; step++ {
				for _, onNext := range []bool{true, false} {
					r, ok := strideRange([]uint64{start}, bound, step, w, onNext)
					if !ok {
						continue
					}
					claimed++
					for y := bound.lo; y <= bound.hi; y++ {
						x := start
						for range 2 * (m + 1) {
							if !r.contains(x) {
								t.Fatalf("start %d step %d bound %v (y=%d) onNext=%v: claimed %v, x reaches %d", start, step, bound, y, onNext, r, x)
							}
							n := (x + step) & m
							if (onNext && n == y) || (!onNext && x == y) {
								break
							}
							x = n
						}
					}
				}
			}
		}
	}
	require.Greater(t, claimed, 1000, "strideRange proves hardly anything")
	r, ok := strideRange([]uint64{0}, singleInterval(1024), 2, 64, true) // icmp_echo's loop
	require.True(t, ok)
	require.Equal(t, interval{0, 1022}, r)
	_, ok = strideRange([]uint64{0}, singleInterval(1023), 2, 64, true) // steps over the bound
	require.False(t, ok)
	r, ok = strideRange([]uint64{0, 3}, interval{5, 9}, 1, 64, false)
	require.True(t, ok)
	require.Equal(t, interval{0, 9}, r)
}

// transferCases are the ops transferRange handles, with the types of
// their operands.
var transferCases = []struct {
	op   ir.Op
	args []ir.Type
}{
	{ir.OpAdd32, i32Pair}, {ir.OpSub32, i32Pair}, {ir.OpMul32, i32Pair}, {ir.OpMulHiU32, i32Pair},
	{ir.OpDivU32, i32Pair}, {ir.OpModU32, i32Pair}, {ir.OpDivS32, i32Pair}, {ir.OpModS32, i32Pair},
	{ir.OpAnd32, i32Pair}, {ir.OpOr32, i32Pair}, {ir.OpXor32, i32Pair},
	{ir.OpShl32, i32Pair}, {ir.OpShrU32, i32Pair}, {ir.OpShrS32, i32Pair},
	{ir.OpNeg32, []ir.Type{ir.I32}}, {ir.OpBswap16, []ir.Type{ir.I32}},
	{ir.OpZeroExt8to32, []ir.Type{ir.I32}}, {ir.OpZeroExt16to32, []ir.Type{ir.I32}},
	{ir.OpSignExt8to32, []ir.Type{ir.I32}}, {ir.OpSignExt16to32, []ir.Type{ir.I32}},
	{ir.OpSelect32, []ir.Type{ir.I32, ir.I32, ir.I32}},
	{ir.OpEq32, i32Pair}, {ir.OpNe32, i32Pair}, {ir.OpLtU32, i32Pair}, {ir.OpLeU32, i32Pair}, {ir.OpLtS32, i32Pair}, {ir.OpLeS32, i32Pair},
	{ir.OpAdd64, i64Pair}, {ir.OpSub64, i64Pair}, {ir.OpMul64, i64Pair},
	{ir.OpDivU64, i64Pair}, {ir.OpModU64, i64Pair}, {ir.OpDivS64, i64Pair}, {ir.OpModS64, i64Pair},
	{ir.OpAnd64, i64Pair}, {ir.OpOr64, i64Pair}, {ir.OpXor64, i64Pair},
	{ir.OpShl64, []ir.Type{ir.I64, ir.I32}}, {ir.OpShrU64, []ir.Type{ir.I64, ir.I32}}, {ir.OpShrS64, []ir.Type{ir.I64, ir.I32}},
	{ir.OpNeg64, []ir.Type{ir.I64}},
	{ir.OpEq64, i64Pair}, {ir.OpNe64, i64Pair}, {ir.OpLtU64, i64Pair}, {ir.OpLeU64, i64Pair}, {ir.OpLtS64, i64Pair}, {ir.OpLeS64, i64Pair},
	{ir.OpZeroExt32to64, []ir.Type{ir.I32}}, {ir.OpSignExt32to64, []ir.Type{ir.I32}},
	{ir.OpInt64Make, i32Pair}, {ir.OpInt64Lo, []ir.Type{ir.I64}}, {ir.OpInt64Hi, []ir.Type{ir.I64}},
}

var (
	i32Pair = []ir.Type{ir.I32, ir.I32}
	i64Pair = []ir.Type{ir.I64, ir.I64}
)

// randomInterval is an interval around boundary values of width w.
func randomInterval(r *rand.Rand, w uint) interval {
	m := widthMask(w)
	point := func() uint64 {
		if r.IntN(3) == 0 {
			return r.Uint64() & m
		}
		return (randomWord64(r) + uint64(r.IntN(7)) - 3) & m
	}
	a := point()
	switch r.IntN(4) {
	case 0:
		return singleInterval(a)
	case 1:
		return interval{a, a + min(m-a, uint64(r.IntN(40)))}
	}
	b := point()
	return interval{min(a, b), max(a, b)}
}

// sampleIn picks a value of a, often an end.
func sampleIn(r *rand.Rand, a interval) uint64 {
	switch r.IntN(4) {
	case 0:
		return a.lo
	case 1:
		return a.hi
	}
	span := a.hi - a.lo
	if span == ^uint64(0) {
		return r.Uint64()
	}
	return a.lo + r.Uint64N(span+1)
}

// opFunc is a function returning op applied to its argument words.
func opFunc(op ir.Op, types []ir.Type) *ir.Func {
	f := ir.NewFunc("op")
	b := f.NewBlock(ir.BlockRet)
	word := 0
	arg := func() *ir.Value {
		a := b.NewValue(ir.OpArg, ir.I32)
		a.AuxInt = int64(word)
		word++
		return a
	}
	var args []*ir.Value
	for _, t := range types {
		if t == ir.I64 {
			lo, hi := arg(), arg()
			args = append(args, b.NewValue(ir.OpInt64Make, ir.I64, hi, lo))
		} else {
			args = append(args, arg())
		}
	}
	v := b.NewValue(op, op.Info().Result, args...)
	if v.Type == ir.I32 {
		v = b.NewValue(ir.OpZeroExt32to64, ir.I64, v)
	}
	b.SetControls(v)
	return f
}

func TestTransferRangeSampled(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for _, tc := range transferCases {
		t.Run(tc.op.String(), func(t *testing.T) {
			f := opFunc(tc.op, tc.args)
			w := uint(32)
			if tc.op.Info().Result == ir.I64 {
				w = 64
			}
			for range 300 {
				ins := make([]interval, len(tc.args))
				for i, ty := range tc.args {
					ins[i] = randomInterval(r, map[ir.Type]uint{ir.I32: 32, ir.I64: 64}[ty])
				}
				v := f.Blocks[0].Values[len(f.Blocks[0].Values)-1]
				if v.Op == ir.OpZeroExt32to64 && tc.op != ir.OpZeroExt32to64 {
					v = v.Args[0]
				}
				res := transferRange(v, ins, w)
				for range 20 {
					var words []uint32
					var xs []uint64
					for i, ty := range tc.args {
						x := sampleIn(r, ins[i])
						xs = append(xs, x)
						words = append(words, uint32(x))
						if ty == ir.I64 {
							words = append(words, uint32(x>>32))
						}
					}
					got, err := ir.Interpret(f, ir.InterpConfig{Args: words, MaxSteps: 100})
					require.NoError(t, err)
					if !res.contains(got) {
						t.Fatalf("%s on %v = %v misses %s = %#x", tc.op, ins, res, fmt.Sprintf("%#x", xs), got)
					}
				}
			}
		})
	}
}
