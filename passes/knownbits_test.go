package passes

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Tests of the known-bits analysis: fold32 against the interpreter, each
// transfer function against random concrete values, hand-checked facts on
// small functions, and the whole analysis against traced runs of random
// functions (every computed value must match its facts).

// boundary32 are the operands most likely to expose a wrong rule.
var boundary32 = []uint32{
	0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xffffff00, 0xffff0000, 0x12345678,
}

// pureOps lists every op fold32 evaluates, with its argument count.
func pureOps() []ir.Op {
	var ops []ir.Op
	for op := ir.Op(1); int(op) < ir.NumOps; op++ {
		if isPure32(op) {
			ops = append(ops, op)
		}
	}
	return ops
}

// interpretOp runs "Ret op(args...), 0" in the interpreter.
func interpretOp(t *testing.T, op ir.Op, args []uint32) uint32 {
	f := ir.NewFunc("op")
	b := f.NewBlock(ir.BlockRet)
	var vs []*ir.Value
	for i := range op.Info().Args {
		a := b.NewValue(ir.OpArg, ir.I32)
		a.AuxInt = int64(i)
		vs = append(vs, a)
	}
	r := b.NewValue(op, ir.I32, vs...)
	zero := b.NewValue(ir.OpConst32, ir.I32)
	b.SetControls(r, zero)
	got, err := ir.Interpret(f, ir.InterpConfig{Args: args})
	require.NoError(t, err)
	return uint32(got)
}

func TestFold32MatchesInterpreter(t *testing.T) {
	ops := pureOps()
	require.Len(t, ops, int(ir.OpSignExt16to32-ir.OpAdd32)+1)
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() uint32 {
		if r.IntN(2) == 0 {
			return boundary32[r.IntN(len(boundary32))]
		}
		return r.Uint32()
	}
	checked := 0
	for _, op := range ops {
		n := len(op.Info().Args)
		var cases [][]uint32
		for _, a := range boundary32 { // every boundary pair, the third operand random
			for _, b := range boundary32 {
				cases = append(cases, []uint32{a, b, pick()}[:n])
			}
		}
		for range 300 {
			cases = append(cases, []uint32{pick(), pick(), pick()}[:n])
		}
		for _, args := range cases {
			var k [3]uint32
			copy(k[:], args)
			got, ok := fold32(op, k[0], k[1], k[2])
			require.True(t, ok, "%v", op)
			want := interpretOp(t, op, args)
			require.Equal(t, want, got, "fold32 %v %#x", op, args)
			checked++
		}
	}
	t.Logf("%d folds agree with ir.Interpret", checked)
	_, ok := fold32(ir.OpLoad32, 1, 2, 3)
	assert.False(t, ok, "fold32 only folds pure ops")
}

// randomFact returns a fact some random values satisfy and a sampler of
// such values: known bits from a random pattern, and, where the sign is
// unknown, leading bits forced equal to bit 31.
func randomFact(r *rand.Rand) (fact, func() uint32) {
	x := r.Uint32()
	var known uint32
	switch r.IntN(5) {
	case 0: // nothing known
	case 1: // everything known
		known = ^uint32(0)
	case 2: // high bits known (zero- or sign-extended values)
		known = highMask(r.IntN(33))
	case 3: // low bits known (aligned values)
		known = lowMask(r.IntN(33))
	default:
		known = r.Uint32() & r.Uint32()
	}
	if r.IntN(3) == 0 && known == highMask(bits.LeadingZeros32(^known)) { // a small value
		x &^= known
	}
	sign := 1
	if r.IntN(3) == 0 { // at most as many as x has
		lead := bits.LeadingZeros32(x)
		if x&signBit != 0 {
			lead = bits.LeadingZeros32(^x)
		}
		sign = 1 + r.IntN(lead)
	}
	f := norm(fact{zero: ^x & known, one: x & known, sign: uint8(sign)})
	sample := func() uint32 {
		y := r.Uint32()&^(f.zero|f.one) | f.one
		if y&signBit != 0 {
			y |= highMask(int(f.sign))
		} else {
			y &^= highMask(int(f.sign))
		}
		return y
	}
	return f, sample
}

// matches reports whether concrete value x satisfies fact f.
func matches(f fact, x uint32) bool {
	if x&f.zero != 0 || x&f.one != f.one {
		return false
	}
	top := highMask(int(f.sign))
	return x&top == 0 || x&top == top
}

func TestTransferSound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, op := range pureOps() {
		n := len(op.Info().Args)
		for range 3000 {
			var facts [3]fact
			var samplers [3]func() uint32
			for i := range n {
				facts[i], samplers[i] = randomFact(r)
			}
			same := n >= 2 && r.IntN(8) == 0
			if same {
				facts[1], samplers[1] = facts[0], nil
			}
			res := transfer32(op, facts[:n], same)
			require.Equal(t, uint32(0), res.zero&res.one, "%v of %+v gives a contradiction %+v", op, facts[:n], res)
			for range 20 {
				var k [3]uint32
				for i := range n {
					if samplers[i] == nil {
						k[i] = k[0]
						continue
					}
					k[i] = samplers[i]()
					require.True(t, matches(facts[i], k[i]), "sampler")
				}
				x, _ := fold32(op, k[0], k[1], k[2])
				if !matches(res, x) {
					t.Fatalf("%v %#x (facts %+v, same=%v) = %#x, which breaks the result fact %+v",
						op, k[:n], facts[:n], same, x, res)
				}
			}
		}
	}
}

func TestFactHelpers(t *testing.T) {
	b := constFact(0x80)
	assert.Equal(t, uint32(0x80), b.umax())
	assert.Equal(t, int32(0x80), b.smin())
	assert.Equal(t, uint8(24), b.sign)
	byteFact := boundFact(0xff)
	assert.Equal(t, uint32(0xffffff00), byteFact.zero)
	assert.Equal(t, uint8(24), byteFact.sign)
	neg := norm(fact{one: signBit, sign: 4})
	assert.Equal(t, uint32(0xf0000000), neg.one, "sign bits copy a known sign")
	assert.Equal(t, int32(-1), neg.smax())
	assert.Equal(t, int32(-0x10000000), neg.smin())
	unknownSign := fact{sign: 1}
	assert.Equal(t, int32(-1<<31), unknownSign.smin())
	assert.Equal(t, int32(1<<31-1), unknownSign.smax())
}

// Hand-derived facts of small functions.
func TestKnownBitsExamples(t *testing.T) {
	f := parseOrFail(t, `func k {
b0:
    v1:i32 = Arg [0]
    v2:i32 = Load8 [0] v1
    v3:i32 = Load16 [2] v1
    v4:i32 = Add32 v2, v3
    v5:i32 = Const32 [8]
    v6:i32 = Shl32 v2, v5
    v7:i32 = LtU32 v4, v5
    v8:i32 = LoadS8 [4] v1
    v9:i32 = Const32 [31]
    v10:i32 = ShrS32 v1, v9
    v11:i32 = Const32 [131072]
    v12:i32 = LtU32 v4, v11
    v13:i32 = Mul32 v2, v5
    v14:i32 = And32 v1, v9
    v15:i32 = Shl32 v3, v14
    Ret v4, v10
}
`)
	kb := KnownBits(f)
	v := valuesByID(f)
	zero := func(id int) uint32 { z, _ := kb.Known(v[id]); return z }
	// 0xff + 0xffff < 2^17
	assert.Equal(t, uint32(0xfffe0000), zero(4), "sum of a byte and a half")
	assert.Equal(t, uint32(0xffff00ff), zero(6), "byte << 8")
	assert.Equal(t, uint32(0xfffffffe), zero(7), "a compare is 0 or 1")
	assert.Equal(t, 25, kb.SignBits(v[8]), "LoadS8")
	assert.Equal(t, 32, kb.SignBits(v[10]), "x >>s 31")
	c, ok := kb.Constant(v[12])
	assert.True(t, ok && c == 1, "the sum is below 2^17")
	_, ok = kb.Constant(v[7])
	assert.False(t, ok, "the sum may or may not be below 8")
	assert.Equal(t, uint32(0xfffff807), zero(13), "byte * 8 <= 0x7f8, a multiple of 8")
	assert.Equal(t, uint32(0), zero(15), "a half shifted by 0..31 may be anything")
}

func valuesByID(f *ir.Func) map[int]*ir.Value {
	m := map[int]*ir.Value{}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			m[v.ID] = v
		}
	}
	return m
}

// TestKnownBitsLoopUsers checks the analysis's shortcuts (knownbits.go):
// propagating a change only to users in the value's outermost loop, and
// only to phis for a value its block's visit changed, must give exactly
// the facts of propagating to every user in a visited block, on random
// functions with loops, diamonds and legalized 64-bit code.
func TestKnownBitsLoopUsers(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 43))
	sources := []diffSource{srcI32, srcLegalized}
	compared := 0
	for i := range 300 {
		src := sources[i%len(sources)]
		f := src.gen(r, fmt.Sprintf("loops%d", i))
		if len(src.setup) > 0 {
			_, err := Run(f, 0, &Config{Passes: src.setup, VerifyEach: true})
			require.NoError(t, err)
		}
		short, all := knownBits(f, false), knownBits(f, true)
		require.Equal(t, all.execBlock, short.execBlock, "executable blocks of\n%s", f)
		for _, b := range f.Blocks {
			for _, v := range b.Values {
				require.Equal(t, all.reached[v.ID], short.reached[v.ID], "v%d reached, in\n%s", v.ID, f)
				require.Equal(t, all.fact(v), short.fact(v), "v%d's fact, in\n%s", v.ID, f)
				compared++
			}
		}
	}
	t.Logf("%d values compared", compared)
}
