package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// bounds on random chains of pointer checks, brought to the shape the
// -O2 pipeline gives them (legalize64, simplify, deadcode, cse), alone and
// followed by the passes that fold what it decides.
func TestBoundsDifferential(t *testing.T) {
	src := diffSource{kind: "checks", setup: []string{"legalize64", "simplify", "deadcode", "cse"},
		gen: genChecks, args: genCheckArgs}
	runDifferential(t, diffSpec{seed: 8, funcs: 200, runs: 8, sources: []diffSource{src},
		variants: []diffVariant{passList("bounds"), passList("bounds", "simplify", "deadcode", "cfg")}})

	// The generator must give the pass something to decide.
	r := rand.New(rand.NewPCG(9, 9))
	decided := 0
	for i := range 100 {
		f := genChecks(r, fmt.Sprint("count", i))
		_, err := Run(f, 0, &Config{Passes: src.setup, VerifyEach: true})
		require.NoError(t, err)
		st, err := boundsPass(f, &Config{})
		require.NoError(t, err)
		decided += st["checks decided"]
	}
	t.Logf("100 functions: %d checks decided", decided)
	require.Greater(t, decided, 50)
}

// genCheckArgs: data near the ends of the address space and lengths
// around the offsets the checks use.
func genCheckArgs(r *rand.Rand) []uint32 {
	args := genArgs(r)
	data := []uint32{0x1000, 0, 0xffffffe0, 0xfffffff0, 0xffffffff, 0x7ffffff8, r.Uint32()}
	args[0] = data[r.IntN(len(data))]
	args[1] = uint32(r.IntN(48))
	if r.IntN(5) == 0 {
		args[1] = r.Uint32()
	}
	return args
}

// checkOffsets are the N of "data + N": the usual header sizes, 0, and
// constants whose sums wrap or have a high word.
var checkOffsets = []uint64{0, 1, 8, 14, 14, 20, 34, 34, 42, 0xffffffff, 0x100000005, 0xfffffffffffffffc}

// genChecks makes a function of 64-bit pointer checks in the style of a
// packet parser: each check compares data + N (or data_end) with another,
// one way or the other, strict or not; its failing side returns, its
// passing side goes on; some checks sit in a diamond, so that their facts
// must not outlive the join. The pointers are mostly data = ctx + 32 with
// ctx a 32-bit argument, sometimes a full 64-bit argument (whose sums may
// wrap), sometimes 32-bit compares of 32-bit sums.
func genChecks(r *rand.Rand, name string) *ir.Func {
	f := ir.NewFunc(name)
	b := f.NewBlock(ir.BlockRet)
	args := make([]*ir.Value, genArgWords)
	for i := range args {
		args[i] = b.NewValue(ir.OpArg, ir.I32)
		args[i].AuxInt = int64(i)
	}
	var base *ir.Value
	if r.IntN(4) == 0 {
		base = b.NewValue(ir.OpInt64Make, ir.I64, args[2], args[0]) // may wrap
	} else {
		base = b.NewValue(ir.OpZeroExt32to64, ir.I64, args[0])
	}
	data := b.NewValue(ir.OpAdd64, ir.I64, base, const64In(b, 32))
	end := b.NewValue(ir.OpAdd64, ir.I64, data, b.NewValue(ir.OpZeroExt32to64, ir.I64, args[1]))
	ptrs := []*ir.Value{data}
	acc := args[3]
	offset := func(b *ir.Block) *ir.Value { return const64In(b, checkOffsets[r.IntN(len(checkOffsets))]) }
	for n := 2 + r.IntN(8); n > 0; n-- {
		q := b.NewValue(ir.OpAdd64, ir.I64, ptrs[r.IntN(len(ptrs))], offset(b))
		if r.IntN(3) == 0 {
			ptrs = append(ptrs, q)
		}
		var cond *ir.Value
		if r.IntN(6) == 0 { // 32-bit pointers
			lo := func(x *ir.Value) *ir.Value { return b.NewValue(ir.OpInt64Lo, ir.I32, x) }
			op := []ir.Op{ir.OpLeU32, ir.OpLtU32}[r.IntN(2)]
			cond = b.NewValue(op, ir.I32, lo(q), lo(end))
		} else {
			op := []ir.Op{ir.OpLeU64, ir.OpLtU64}[r.IntN(2)]
			x, y := q, end
			if r.IntN(2) == 0 {
				x, y = y, x
			}
			cond = b.NewValue(op, ir.I32, x, y)
		}
		// Record the outcome so that a wrong decision shows in the result.
		acc = b.NewValue(ir.OpAdd32, ir.I32, b.NewValue(ir.OpShl32, ir.I32, acc, const32In(b, 1)), cond)
		fail := f.NewBlock(ir.BlockRet)
		fail.SetControls(fail.NewValue(ir.OpZeroExt32to64, ir.I64, acc))
		next := f.NewBlock(ir.BlockJump)
		b.Kind = ir.BlockIf
		b.SetControls(cond)
		if r.IntN(2) == 0 {
			b.AddEdgeTo(next)
			b.AddEdgeTo(fail)
		} else {
			b.AddEdgeTo(fail)
			b.AddEdgeTo(next)
		}
		b = next
		if r.IntN(4) == 0 { // a diamond: a check on one side only
			side, join := f.NewBlock(ir.BlockIf), f.NewBlock(ir.BlockJump)
			b.Kind = ir.BlockIf
			b.SetControls(b.NewValue(ir.OpAnd32, ir.I32, args[8+r.IntN(4)], const32In(b, 1)))
			side.SetControls(side.NewValue(ir.OpLeU64, ir.I32, side.NewValue(ir.OpAdd64, ir.I64, data, offset(side)), end))
			bail := f.NewBlock(ir.BlockRet)
			bail.SetControls(const64In(bail, 0x7777))
			b.AddEdgeTo(side)
			sideFirst := r.IntN(2) == 0 // the join's first predecessor: the checked side or not
			if sideFirst {
				side.AddEdgeTo(join)
			}
			b.AddEdgeTo(join)
			if !sideFirst {
				side.AddEdgeTo(join)
			}
			side.AddEdgeTo(bail)
			b = join
		}
	}
	b.Kind = ir.BlockRet
	b.SetControls(b.NewValue(ir.OpInt64Make, ir.I64, const32In(b, 0x5eed), acc))
	return f
}

func const32In(b *ir.Block, c uint32) *ir.Value {
	v := b.NewValue(ir.OpConst32, ir.I32)
	v.AuxInt = int64(int32(c))
	return v
}

func const64In(b *ir.Block, c uint64) *ir.Value {
	v := b.NewValue(ir.OpConst64, ir.I64)
	v.AuxInt = int64(c)
	return v
}
