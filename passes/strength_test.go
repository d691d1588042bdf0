package passes

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// strengthDivisors are the constants of TestStrengthAgainstGo: small
// ones, powers of two and their neighbours, the divisors whose magic
// numbers need the 33-bit fixup (7, 641, ...), huge ones and negative ones.
func strengthDivisors(r *rand.Rand) []uint32 {
	var ds []uint32
	for d := uint32(2); d <= 130; d++ {
		ds = append(ds, d, -d)
	}
	for k := 7; k < 32; k++ {
		p := uint32(1) << k
		ds = append(ds, p, p-1, p+1, -p, -(p - 1), -(p + 1), p|p>>1, p|p>>2)
	}
	ds = append(ds, 641, 6700417, 1000000007, 0x7fffffff, 0x80000001, 0xfffffffe, 0xfffffffd,
		0xffff0001, 0x10001, 0x55555555, 0xaaaaaaab, 60, 1000, 86400, 3600)
	for range 60 {
		ds = append(ds, r.Uint32()|2, r.Uint32()>>r.IntN(32)|3)
	}
	return ds
}

// strengthMasks narrow the dividends, so that known bits give the magic
// numbers fewer bits to cover.
var strengthMasks = []uint32{0xffffffff, 0xff, 0xffff, 0x7fffffff, 0xfff, 0x1ffff}

// bpfOp32 is the op on Go integers with BPF's rules, the oracle of
// TestStrengthAgainstGo (written apart from the interpreter and fold32).
func bpfOp32(op ir.Op, x, d uint32) uint32 {
	switch op {
	case ir.OpMul32:
		return x * d
	case ir.OpMulHiU32:
		return uint32(uint64(x) * uint64(d) >> 32)
	case ir.OpDivU32:
		return x / d
	case ir.OpModU32:
		return x % d
	case ir.OpDivS32:
		if int32(d) == -1 {
			return -x
		}
		return uint32(int32(x) / int32(d))
	case ir.OpModS32:
		if int32(d) == -1 {
			return 0
		}
		return uint32(int32(x) % int32(d))
	}
	panic(op)
}

// TestStrengthAgainstGo rewrites op(x & mask, d) for every op, divisor
// and mask and compares the result under the interpreter with Go's
// arithmetic on boundary and random dividends.
func TestStrengthAgainstGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 33))
	divisors := strengthDivisors(r)
	inputs := []uint32{0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0xffff, 0x10000, 0x7ffffffe, 0x7fffffff,
		0x80000000, 0x80000001, 0xfffffffe, 0xffffffff}
	ops := []ir.Op{ir.OpDivU32, ir.OpModU32, ir.OpDivS32, ir.OpModS32, ir.OpMul32, ir.OpMulHiU32}
	randomInputs := 40
	if testing.Short() {
		randomInputs = 8
	}
	reduced := map[ir.Op]int{}
	runs := 0
	for _, op := range ops {
		for _, d := range divisors {
			f := strengthFixture(op, d)
			st, err := strengthPass(f, &Config{})
			require.NoError(t, err)
			require.NoError(t, ir.Verify(f, ir.VerifyOptions{NoI64: true}), "%s by %#x:\n%s", op, d, f)
			reduced[op] += st["divisions reduced"] + st["multiplies reduced"]
			xs := append([]uint32{}, inputs...)
			for _, s := range []uint32{d, d - 1, d + 1, 2 * d, 2*d - 1, 3*d + 1, -d} {
				xs = append(xs, s, s|0x80000000)
			}
			for range randomInputs {
				xs = append(xs, r.Uint32(), r.Uint32()>>r.IntN(32))
			}
			for _, x := range xs {
				mem := genMemory(0, false)
				_, err := ir.Interpret(f, genInterp([]uint32{x}, mem))
				require.NoError(t, err)
				out := mem.Regions[1].Data
				for i, m := range strengthMasks {
					got := binary.LittleEndian.Uint32(out[4*i:])
					if want := bpfOp32(op, x&m, d); got != want {
						t.Fatalf("%s(%#x, %#x) = %#x, want %#x, after\n%s", op, x&m, d, got, want, f)
					}
				}
				runs++
			}
		}
	}
	t.Logf("%d divisors, %d runs; rewritten: %v", len(divisors), runs, reduced)
	for _, op := range []ir.Op{ir.OpDivU32, ir.OpModU32, ir.OpDivS32, ir.OpModS32} {
		// Every (op, d, mask) but powers of two (unsigned, left to simplify).
		require.Greater(t, reduced[op], len(divisors)*len(strengthMasks)*8/10, op)
	}
	require.Positive(t, reduced[ir.OpMul32])
	require.Positive(t, reduced[ir.OpMulHiU32])
}

// strengthFixture stores op(Arg0 & m, d) to out word i for each mask m.
func strengthFixture(op ir.Op, d uint32) *ir.Func {
	f := ir.NewFunc(fmt.Sprintf("%s_%#x", op, d))
	b := f.NewBlock(ir.BlockRet)
	k := func(c uint32) *ir.Value {
		v := b.NewValue(ir.OpConst32, ir.I32)
		v.AuxInt = int64(int32(c))
		return v
	}
	x := b.NewValue(ir.OpArg, ir.I32)
	var last *ir.Value
	for i, m := range strengthMasks {
		xm := x
		if m != ^uint32(0) {
			xm = b.NewValue(ir.OpAnd32, ir.I32, x, k(m))
		}
		last = b.NewValue(op, ir.I32, xm, k(d))
		st := b.NewValue(ir.OpStore32, ir.TypeVoid, k(genOutBase), last)
		st.AuxInt = int64(4 * i)
	}
	b.SetControls(last, last)
	return f
}

// TestMulPlan checks the shift-and-add plans against multiplication and
// their costs for a few constants by hand.
func TestMulPlan(t *testing.T) {
	for _, c := range []struct {
		c   uint32
		ops int // 0: no plan
	}{
		{2, 1}, {8, 1}, {0x80000000, 1}, {3, 2}, {5, 2}, {7, 2}, {9, 2}, {0xfffffff8, 2}, {0xfffffffd, 2},
		{0xfffffff9, 2}, {10, 3}, {12, 3}, {14, 3}, {0xfffffff6, 4}, {11, 0}, {0, 0}, {1, 0}, {0xffffffff, 1},
		{0x00ff00ff, 0}, {0x10001, 2}, {0xfffeffff, 3},
	} {
		p, ok := mulPlan(c.c)
		if c.ops == 0 {
			require.False(t, ok, "%#x", c.c)
			continue
		}
		require.True(t, ok, "%#x", c.c)
		require.Equal(t, c.ops, p.ops, "%#x: %+v", c.c, p)
		for _, x := range []uint32{0, 1, 3, 0x12345678, 0x80000000, 0xffffffff} {
			y := x
			switch p.kind {
			case mulAdd:
				y = x<<p.a + x
			case mulSub:
				y = x<<p.a - x
			case mulRSub:
				y = x - x<<p.a
			}
			y <<= p.post
			if p.neg {
				y = -y
			}
			require.Equal(t, x*c.c, y, "%#x * %#x by %+v", x, c.c, p)
		}
	}
}

// TestSignedMagic compares Hacker's Delight's table (10-1) for a few
// divisors.
func TestSignedMagic(t *testing.T) {
	for _, c := range []struct {
		d int32
		m uint32
		s int
	}{
		{3, 0x55555556, 0}, {5, 0x66666667, 1}, {6, 0x2aaaaaab, 0}, {7, 0x92492493, 2},
		{-3, 0x55555555, 1}, {-5, 0x99999999, 1}, {-7, 0x6db6db6d, 2}, {625, 0x68db8bad, 8},
	} {
		m, s := signedMagic(c.d)
		require.Equal(t, c.m, uint32(m), "d=%d", c.d)
		require.Equal(t, c.s, s, "d=%d", c.d)
	}
}

// strength on random functions (difftest_test.go), alone and followed by
// the passes that clean up after it.
func TestStrengthDifferential(t *testing.T) {
	runDifferential(t, diffSpec{seed: 77, funcs: 150, runs: 6, sources: []diffSource{srcI32, srcLegalized, srcShapes},
		variants: []diffVariant{passList("strength"), passList("strength", "simplify", "deadcode")}})
}
