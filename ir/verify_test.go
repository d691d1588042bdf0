package ir

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyTestdata(t *testing.T) {
	for _, tf := range loadTestFuncs(t) {
		assert.NoError(t, Verify(tf.f, VerifyOptions{}), "%s: %s", tf.file, tf.f.Name)
		if tf.noI64 {
			assert.NoError(t, Verify(tf.f, VerifyOptions{NoI64: true}), "%s: %s", tf.file, tf.f.Name)
		}
		if strings.HasSuffix(tf.file, "ops64.ir") {
			assert.Error(t, Verify(tf.f, VerifyOptions{NoI64: true}), "%s: %s has i64 values", tf.file, tf.f.Name)
		}
	}
}

// A small valid function that the cases below break one way each.
const verifyBase = `func f locals=1 {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Add32 v0, v1
    v3:i64 = ZeroExt32to64 v2
    If v2 -> b1, b2
b1: <- b0
    v4:i32 = Load32 [8] v0 align=4
    Jump b3
b2: <- b0
    v5:i32 = Const32 [7]
    Jump b3
b3: <- b1, b2
    v6:i32 = Phi v4, v5
    v7:i64 = ZeroExt32to64 v6
    v8:i64 = Add64 v7, v3
    Ret v8
}
`

func TestVerifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    string // "" means verifyBase
		break_ func(f *Func)
		opts   VerifyOptions
		want   string
	}{
		// Blocks and edges.
		{name: "invalid kind", break_: func(f *Func) { f.Blocks[1].Kind = BlockInvalid }, want: "b1: invalid block kind Invalid"},
		{name: "jump with two successors", src: "func f {\nb0:\n    Jump b1, b2\nb1: <- b0\n    Jump b2\nb2: <- b0, b1\n    Ret\n}",
			want: "b0: Jump block has 2 successors, want 1"},
		{name: "if with one successor", break_: func(f *Func) { f.Blocks[0].Succs = f.Blocks[0].Succs[:1] }, want: "b0: If block has 1 successors, want 2"},
		{name: "ret with successor", src: "func f {\nb0:\n    v0:i64 = Const64 [0]\n    Ret v0 -> b1\nb1: <- b0\n    Ret v0\n}",
			want: "b0: Ret block has 1 successors, want 0"},
		{name: "if control i64", break_: func(f *Func) { f.Blocks[0].SetControls(f.Blocks[0].Values[3]) }, want: "b0: If block has controls (i64), want one i32"},
		{name: "if without control", break_: func(f *Func) { f.Blocks[0].SetControls() }, want: "b0: If block has controls (), want one i32"},
		{name: "jump with control", break_: func(f *Func) { f.Blocks[1].SetControls(f.Blocks[0].Values[0]) }, want: "b1: Jump block has controls (i32), want none"},
		{name: "ret one i32", break_: func(f *Func) { f.Blocks[3].SetControls(f.Blocks[3].Values[0]) }, want: "b3: Ret block has controls (i32), want one i64 or two i32 (lo, hi)"},
		{name: "ret i64 after legalize64", opts: VerifyOptions{NoI64: true}, src: "func f {\nb0:\n    v0:i64 = Const64 [1]\n    Ret v0\n}",
			want: "b0: v0:i64 = Const64 [1]: i64 value after legalize64 (Const64)"},
		{name: "nil control", break_: func(f *Func) { f.Blocks[0].Controls[0] = nil }, want: "b0: control 0 is nil"},
		{name: "likely out of range", break_: func(f *Func) { f.Blocks[0].Likely = 2 }, want: "b0: Likely=2 is not a successor index"},
		{name: "likely on jump", break_: func(f *Func) { f.Blocks[1].Likely = 1 }, want: "b1: Likely=1"},
		{name: "extra pred", break_: func(f *Func) { f.Blocks[3].Preds = append(f.Blocks[3].Preds, f.Blocks[0]) },
			want: "b3 lists b0 as a predecessor more often than b0 lists it as a successor"},
		{name: "missing pred", break_: func(f *Func) { f.Blocks[3].Preds = f.Blocks[3].Preds[:1] },
			want: "b2 lists b3 as a successor more often than b3 lists it as a predecessor"},
		{name: "succ multiplicity", break_: func(f *Func) { f.Blocks[0].Succs[1] = f.Blocks[1] },
			want: "b2 lists b0 as a predecessor more often than b0 lists it as a successor"},
		{name: "succ multiplicity, other side", break_: func(f *Func) {
			f.Blocks[0].Succs[1] = f.Blocks[1]
			f.Blocks[2].Preds = nil
		}, want: "b0 lists b1 as a successor more often than b1 lists it as a predecessor"},
		{name: "foreign successor", break_: func(f *Func) { f.Blocks[1].Succs[0] = &Block{ID: 3, Kind: BlockRet, Func: f} },
			want: "b1: successor is not a block of this function"},
		{name: "nil predecessor", break_: func(f *Func) { f.Blocks[1].Preds[0] = nil }, want: "b1: predecessor is not a block of this function"},
		{name: "entry with preds", src: "func f {\nb0: <- b1\n    Jump b1\nb1: <- b0\n    Jump b0\n}", want: "entry block b0 has predecessors"},
		{name: "block func", break_: func(f *Func) { f.Blocks[2].Func = NewFunc("g") }, want: "b2: Block.Func is not this function"},
		{name: "block id twice", break_: func(f *Func) { f.Blocks[2].ID = 1 }, want: "b1: block ID used twice"},
		{name: "block id out of range", break_: func(f *Func) { f.Blocks[2].ID = 4 }, want: "b4: ID outside [0, NumBlocks=4)"},
		{name: "nil block", break_: func(f *Func) { f.Blocks[2] = nil }, want: "Blocks[2] is nil"},
		{name: "no blocks", break_: func(f *Func) { f.Blocks = nil }, want: "function has no blocks"},
		{name: "unreachable", src: "func f {\nb0:\n    v0:i64 = Const64 [0]\n    Jump b1\nb1: <- b0, b2\n    Ret v0\nb2:\n    Jump b1\n}", want: "b2 is not reachable from the entry"},

		// Values: identity and placement.
		{name: "value id twice", break_: func(f *Func) { f.Blocks[2].Values[0].ID = 4 }, want: "b2: v4: value ID used twice"},
		{name: "value id out of range", break_: func(f *Func) { f.Blocks[2].Values[0].ID = 9 }, want: "b2: v9: ID outside [0, NumValues=9)"},
		{name: "nil value", break_: func(f *Func) { f.Blocks[2].Values[0] = nil }, want: "b2: Values[0] is nil"},
		{name: "value block", break_: func(f *Func) { f.Blocks[2].Values[0].Block = f.Blocks[1] }, want: "b2: v5: Value.Block is not the block holding it"},
		{name: "nil argument", break_: func(f *Func) { f.Blocks[0].Values[2].Args[1] = nil }, want: "b0: v2: argument 1 is nil or not a value of this function"},
		{name: "removed argument", break_: func(f *Func) {
			b := f.Blocks[2]
			b.Values = nil // v5 is gone but the phi still uses it
		}, want: "b3: v6: argument 1 is nil or not a value of this function"},
		{name: "removed control", break_: func(f *Func) { f.Blocks[0].Controls[0] = &Value{ID: 2, Type: I32} }, want: "b0: control 0 is not a value of this function"},
		{name: "phi after value", src: "func f {\nb0:\n    v0:i32 = Const32 [1]\n    Jump b1\nb1: <- b0\n    v1:i32 = Const32 [2]\n    v2:i32 = Phi v0\n    Ret v1, v2\n}",
			want: "b1: v2:i32 = Phi v0: phi after a non-phi value"},
		{name: "phi in entry", src: "func f {\nb0:\n    v0:i32 = Phi\n    Ret v0, v0\n}", want: "b0: v0:i32 = Phi: phi in a block without predecessors"},
		{name: "phi arity", src: "func f {\nb0:\n    v0:i32 = Const32 [1]\n    If v0 -> b1, b1\nb1: <- b0, b0\n    v2:i32 = Phi v0\n    Ret v2, v2\n}",
			want: "b1: v2:i32 = Phi v0: phi has 1 arguments, block has 2 predecessors"},

		// Ops, types and aux fields.
		{name: "invalid op", break_: func(f *Func) { f.Blocks[2].Values[0].Op = OpInvalid }, want: "b2: v5: invalid op 0"},
		{name: "op out of range", break_: func(f *Func) { f.Blocks[2].Values[0].Op = Op(NumOps) }, want: "invalid op"},
		{name: "arity", break_: func(f *Func) { v := f.Blocks[0].Values[2]; v.Args = v.Args[:1]; f.ComputeUses() },
			want: "b0: v2:i32 = Add32 v0: Add32 takes 2 arguments, has 1"},
		{name: "argument type", break_: func(f *Func) { f.Blocks[0].Values[2].SetArg(1, f.Blocks[0].Values[3]) },
			want: "verify f: b0: v2:i32 = Add32 v0, v3: argument 1 (v3) has type i64, want i32"},
		{name: "result type", break_: func(f *Func) { f.Blocks[0].Values[2].Type = I64 }, want: "b0: v2:i64 = Add32 v0, v1: type i64, want i32"},
		{name: "void result", break_: func(f *Func) { f.Blocks[2].Values[0].Type = TypeVoid }, want: "b2: v5 = Const32 [7]: type void, want i32"},
		{name: "store with type", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i32 = Store32 [0] v0, v0\n    Ret v0, v0\n}",
			want: "v1:i32 = Store32 [0] v0, v0: type i32, want void"},
		{name: "phi argument type", break_: func(f *Func) { f.Blocks[3].Values[0].SetArg(1, f.Blocks[0].Values[3]) },
			want: "b3: v6:i32 = Phi v4, v3: argument 1 (v3) has type i64, want i32"},
		{name: "phi void", break_: func(f *Func) { f.Blocks[3].Values[0].Type = TypeVoid }, want: "phi of type void, want i32 or i64"},
		{name: "copy type", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i64 = Copy v0\n    Ret v1\n}", want: "v1:i64 = Copy v0: copy of type i64 from a i32 value"},
		{name: "copy of void", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1 = Store32 [0] v0, v0\n    v2 = Copy v1\n    Ret v0, v0\n}",
			want: "v2 = Copy v1: argument 0 (v1) has type void, want any non-void type"},
		{name: "pair outside calls", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i32 = PairLo v0\n    Ret v0, v1\n}",
			want: "v1:i32 = PairLo v0: argument 0 (v0) has type i32, want pair"},
		{name: "auxint on add", break_: func(f *Func) { f.Blocks[0].Values[2].AuxInt = 3 }, want: "b0: v2:i32 = Add32 v0, v1: Add32 takes no AuxInt, has 3"},
		{name: "sym on load", break_: func(f *Func) { f.Blocks[1].Values[0].Sym = "x" }, want: `Load32 takes no Sym, has "x"`},
		{name: "align on add", break_: func(f *Func) { f.Blocks[0].Values[2].Align = 4 }, want: "Add32 takes no Align, has 4"},
		{name: "align not power of two", break_: func(f *Func) { f.Blocks[1].Values[0].Align = 6 }, want: "alignment 6 is not a power of two"},
		{name: "arg align not power of two", break_: func(f *Func) { f.Blocks[0].Values[0].Align = 12 }, want: "b0: v0:i32 = Arg [0] align=12: alignment 12 is not a power of two"},
		{name: "align on frame pointer", src: "func f {\nb0:\n    v0:i32 = FramePtr\n    Ret v0, v0\n}",
			break_: func(f *Func) { f.Blocks[0].Values[0].Align = 8 }, want: "FramePtr takes no Align, has 8"},
		{name: "offset too large", break_: func(f *Func) { f.Blocks[1].Values[0].AuxInt = 1 << 31 }, want: "offset 2147483648 does not fit in 32 bits"},
		{name: "negative arg index", break_: func(f *Func) { f.Blocks[0].Values[0].AuxInt = -1 }, want: "b0: v0:i32 = Arg [-1]: negative argument index"},
		{name: "local slot", src: "func f locals=2 {\nb0:\n    v0:i32 = LocalAddr [2]\n    Ret v0, v0\n}", want: "local slot 2 outside [0, locals=2)"},
		{name: "call without sym", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    Ret v0, v0\n}",
			break_: func(f *Func) { f.Blocks[0].Values[0].Reset(OpCallRuntime, I32) }, want: "CallRuntime needs a Sym"},
		{name: "unknown runtime", src: "func f {\nb0:\n    v0:i32 = CallRuntime {memcpy}\n    Ret v0, v0\n}", want: `unknown runtime function "memcpy"`},

		// A Call's memory effect names parameters it has, in an encoding KnownEffect makes.
		{name: "call effect beyond parameters", src: "func f {\nb0:\n    v0:i64 = Const64 [1]\n    v1:i64 = Call {h} v0, v0 reads=r1,r3 writes=none\n    Ret v1\n}",
			want: "the effect reads=r1,r3 writes=none names a parameter the call does not have (it has 2)"},
		{name: "split call effect beyond parameters", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:pair = Call {h} v0, v0 reads=none writes=r2\n    v2:i32 = PairLo v1\n    Ret v2, v2\n}",
			want: "names a parameter the call does not have (it has 1)"},
		{name: "call effect encoding", src: "func f {\nb0:\n    v0:i64 = Call {h}\n    Ret v0\n}",
			break_: func(f *Func) { f.Blocks[0].Values[0].AuxInt = 1 << 40 }, want: "AuxInt 0x10000000000 is not a call effect"},
		{name: "call effect without known bit", src: "func f {\nb0:\n    v0:i64 = Call {h}\n    Ret v0\n}",
			break_: func(f *Func) { f.Blocks[0].Values[0].AuxInt = 1 }, want: "AuxInt 0x1 is not a call effect"},
		{name: "call effect on a runtime call", src: "func f {\nb0:\n    v0:i64 = Const64 [1]\n    v1:i64 = CallRuntime {__udivdi3} v0, v0\n    Ret v1\n}",
			break_: func(f *Func) { f.Blocks[0].Values[1].SetCallEffect(KnownEffect(0, 0)) }, want: "CallRuntime takes no AuxInt, has 65536"},

		// Runtime calls, before and after legalize64.
		{name: "call arguments", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i64 = CallRuntime {__udivdi3} v0, v0\n    Ret v1\n}",
			want: "arguments (i32, i32) do not match __udivdi3's parameters (i64, i64) or, split, (i32, i32, i32, i32)"},
		{name: "call whole form after legalize64", opts: VerifyOptions{NoI64: true},
			src:  "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i32 = CallRuntime {__atomic_compare_exchange_8} v0, v0, v2, v0, v0\n    v2:i64 = Const64 [1]\n    Ret v1, v1\n}",
			want: "arguments (i32, i32, i64, i32, i32) do not match __atomic_compare_exchange_8's parameters (i32, i32, i32, i32, i32, i32)"},
		{name: "call split args with i64 result", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i64 = CallRuntime {__udivdi3} v0, v0, v0, v0\n    Ret v1\n}",
			want: "call of __udivdi3 has type i64, want pair"},
		{name: "call whole args with pair result", src: "func f {\nb0:\n    v0:i64 = Const64 [1]\n    v1:pair = CallRuntime {__udivdi3} v0, v0\n    v2:i32 = PairLo v1\n    Ret v2, v2\n}",
			want: "call of __udivdi3 has type pair, want i64"},
		{name: "call i32 result", src: "func f {\nb0:\n    v0:i32 = Arg [0]\n    v1:i64 = Const64 [1]\n    v2:i64 = CallRuntime {__atomic_compare_exchange_8} v0, v0, v1, v0, v0\n    Ret v2\n}",
			want: "call of __atomic_compare_exchange_8 has type i64, want i32"},

		// Use counts.
		{name: "uses", break_: func(f *Func) { f.Blocks[0].Values[1].Uses++ }, want: "b0: v1:i32 = Arg [1]: Uses=2, but it is used 1 times"},
		{name: "uses of control", break_: func(f *Func) { f.Blocks[0].Controls = []*Value{f.Blocks[0].Values[1]} }, want: "b0: v1:i32 = Arg [1]: Uses=1, but it is used 2 times"},

		// Dominance.
		{name: "use before def", src: "func f {\nb0:\n    v0:i32 = Add32 v1, v1\n    v1:i32 = Arg [0]\n    Ret v0, v0\n}",
			want: "b0: v0:i32 = Add32 v1, v1: argument 0 (v1, in b0) does not dominate this use"},
		{name: "self use", src: "func f {\nb0:\n    v0:i32 = Add32 v0, v0\n    Ret v0, v0\n}", want: "argument 0 (v0, in b0) does not dominate this use"},
		{name: "use from sibling", break_: func(f *Func) { f.Blocks[2].Values[0].Reset(OpCopy, I32, f.Blocks[1].Values[0]) },
			want: "b2: v5:i32 = Copy v4: argument 0 (v4, in b1) does not dominate this use"},
		{name: "phi argument from wrong side", break_: func(f *Func) {
			phi := f.Blocks[3].Values[0]
			a, b := phi.Args[0], phi.Args[1]
			phi.SetArg(0, b)
			phi.SetArg(1, a)
		}, want: "b3: v6:i32 = Phi v5, v4: argument 0 (v5, from b2) does not dominate the end of predecessor b1"},
		{name: "control from later block", break_: func(f *Func) {
			f.Blocks[1].Kind = BlockRet
			f.Blocks[1].Succs = nil
			f.Blocks[3].Preds = f.Blocks[3].Preds[1:]
			f.Blocks[3].Values[0].Args = f.Blocks[3].Values[0].Args[1:]
			f.Blocks[1].SetControls(f.Blocks[3].Values[2])
			f.ComputeUses()
		},
			want: "b1: control 0 (v8, in b3) does not dominate the end of the block"},

		// Phase invariants.
		{name: "i64 after legalize64", opts: VerifyOptions{NoI64: true}, break_: func(f *Func) { f.Blocks[3].SetControls(f.Blocks[3].Values[0], f.Blocks[3].Values[0]) },
			want: "b0: v3:i64 = ZeroExt32to64 v2: i64 value after legalize64 (ZeroExt32to64)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == "" {
				src = verifyBase
			}
			f, err := Parse(src)
			require.NoError(t, err)
			if tc.break_ != nil {
				tc.break_(f)
			}
			err = Verify(f, tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var ve *VerifyError
			require.True(t, errors.As(err, &ve))
			assert.Equal(t, "f", ve.Func)
		})
	}
}

func TestVerifyBaseIsValid(t *testing.T) {
	f, err := Parse(verifyBase)
	require.NoError(t, err)
	require.NoError(t, Verify(f, VerifyOptions{}))
}

// The error carries the printed function, like Go's check.go.
func TestVerifyErrorPrintsFunction(t *testing.T) {
	f, err := Parse(verifyBase)
	require.NoError(t, err)
	f.Blocks[0].Values[2].Type = I64
	err = Verify(f, VerifyOptions{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "verify f: b0: v2:i64 = Add32 v0, v1: type i64, want i32\nfunc f locals=1 {\nb0:\n"), err.Error())
	assert.Contains(t, err.Error(), "    Ret v8\n}\n")

	// A function too broken to print still yields an error, not a panic.
	f.Blocks[0].Values[2].Args[0] = nil
	err = Verify(f, VerifyOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(cannot be printed:")
}

// Mutators keep functions valid: values built through the API verify.
func TestVerifyBuiltFunction(t *testing.T) {
	f := NewFunc("built")
	b0 := f.NewBlock(BlockIf)
	b1 := f.NewBlock(BlockRet)
	b2 := f.NewBlock(BlockRet)
	a := b0.NewValue(OpArg, I32)
	b0.SetControls(a)
	b0.AddEdgeTo(b1)
	b0.AddEdgeTo(b2)
	c := b1.NewValue(OpConst32, I32)
	c.AuxInt = 1
	b1.SetControls(c, a)
	w := b2.NewValue(OpZeroExt32to64, I64, a)
	b2.SetControls(w)
	require.NoError(t, Verify(f, VerifyOptions{}))
	assert.Error(t, Verify(f, VerifyOptions{NoI64: true}))
}
