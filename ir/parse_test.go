package ir

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every testdata function prints, parses back and prints identically.
func TestRoundTripTestdata(t *testing.T) {
	n := 0
	for path, src := range loadTestFiles(t) {
		fs, err := ParseAll(src)
		require.NoError(t, err, path)
		for _, f := range fs {
			n++
			text := f.String()
			g, err := Parse(text)
			require.NoError(t, err, "%s: %s", path, f.Name)
			assert.Equal(t, text, g.String(), "%s: %s", path, f.Name)
			assert.Equal(t, f.NumValues(), g.NumValues())
			assert.Equal(t, f.NumBlocks(), g.NumBlocks())
		}
	}
	assert.Greater(t, n, 50)
}

// The testdata together use every op.
func TestTestdataCoversEveryOp(t *testing.T) {
	seen := make([]bool, NumOps)
	for _, src := range loadTestFiles(t) {
		fs, err := ParseAll(src)
		require.NoError(t, err)
		for _, f := range fs {
			for _, b := range f.Blocks {
				for _, v := range b.Values {
					seen[v.Op] = true
				}
			}
		}
	}
	for op := Op(1); op < Op(NumOps); op++ {
		assert.True(t, seen[op], "no testdata function uses %v", op)
	}
}

// The corners of syntax.ir in canonical form, written out by hand.
func TestParseCanonicalForm(t *testing.T) {
	fs, err := ParseAll(loadTestFiles(t)["testdata/syntax.ir"])
	require.NoError(t, err)
	require.Len(t, fs, 2)
	f := fs[0]
	assert.Equal(t, `func odd_ids locals=3 {
b7:
    v40:i32 = Arg [1]
    v41:i32 = Arg [0] align=4
    v3:i32 = LocalAddr [2]
    v12 = Store16 [-16] v3, v40 align=2
    v13:i32 = Load32 [2147483647] v3 align=8
    v99:i64 = Const64 [-1]
    v100:i64 = Const64 [-9223372036854775808]
    v101:i64 = Add64 v99, v100
    v5:i32 = Eq32 v13, v41
    If v5 -> b2, b9 likely=1
b9: <- b7, b2
    v50:i32 = Phi v40, v51
    v52:i64 = Phi v99, v101
    Jump b2
b2: <- b7, b9
    v51:i32 = Phi v13, v50
    v53:i32 = Const32 [-2147483648]
    v54:i32 = LtS32 v51, v53
    If v54 -> b9, b4
b4: <- b2
    Ret v101
}
`, f.String())
	assert.Equal(t, 102, f.NumValues())
	assert.Equal(t, 10, f.NumBlocks())
	assert.Equal(t, 3, f.NumLocals)

	// Pointers and use counts are wired up.
	b9 := f.Blocks[1]
	phi := b9.Values[0]
	assert.Same(t, f.Blocks[0], b9.Preds[0])
	assert.Same(t, f.Blocks[2], b9.Preds[1])
	assert.Same(t, f.Blocks[2].Values[0], phi.Args[1]) // the forward reference
	assert.Same(t, b9, phi.Block)
	assert.Same(t, f, b9.Func)
	assert.Equal(t, 1, phi.Uses) // v51
	v40 := f.Blocks[0].Values[0]
	assert.Equal(t, 2, v40.Uses) // Store16, Phi
	assert.Equal(t, 1, f.Blocks[0].Likely)
	assert.Equal(t, -1, f.Blocks[2].Likely)
	assert.Equal(t, uint8(4), f.Blocks[0].Values[1].Align) // the Arg's
	assert.Equal(t, uint8(8), f.Blocks[0].Values[4].Align)

	// New values and blocks get IDs above every parsed one.
	v := f.Blocks[0].NewValue(OpConst32, I32)
	assert.Equal(t, 102, v.ID)
	assert.Equal(t, 10, f.NewBlock(BlockRet).ID)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"func f {\nb0:\n    v0:i32 = Ad32 v0, v0\n    Ret v0, v0\n}", `line 3: unknown op "Ad32"`},
		{"func f {\nb0:\n    v0:i32 = Add32 v0, v7\n    Ret v0, v0\n}", "line 3: undefined value v7"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    Ret v0, v9\n}", "line 4: undefined value v9"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Add32 v0\n    Ret v0, v0\n}", "line 4: Add32 takes 2 argument(s), v1 has 1"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v0:i32 = Const32 [2]\n    Ret v0, v0\n}", "line 4: value v0 is already defined at line 3"},
		{"func f {\nb0:\n    Jump b1\nb1: <- b0\n    Jump b0\nb1:\n    Ret\n}", "line 6: block b1 is already defined at line 4"},
		{"func f {\nb0:\n    Jump b5\n}", "line 3: undefined block b5"},
		{"func f {\nb0:\n    Jump b1\nb1: <- b3\n    Ret\n}", "line 4: undefined block b3"},
		{"func f {\nb0:\n    Jump b1\nb1:\n    Ret\n}", "line 4: b1 lists predecessors (none) but the terminators jumping to it are in b0"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    If v0 -> b1, b1\nb1: <- b0\n    Ret\n}", "line 5: b1 lists predecessors b0 but the terminators jumping to it are in b0, b0"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\nb1:\n    Ret\n}", "line 4: block b0 has no terminator"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n}", "line 4: block b0 has no terminator"},
		{"func f {\nb0:\n    Ret\n    v0:i32 = Const32 [1]\n}", "line 4: block b0 continues after its terminator"},
		{"func f {\n    v0:i32 = Const32 [1]\n}", `line 2: expected a block label like "b0:"`},
		{"func f {\nb0:\n    v0:i33 = Const32 [1]\n    Ret\n}", `line 3: unknown type "i33"`},
		{"func f {\nb0:\n    v0:i32 = Const32\n    Ret\n}", "line 3: Const32 needs an [aux] field"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Add32 [4] v0, v0\n    Ret\n}", "line 4: Add32 takes no [aux]"},
		{"func f {\nb0:\n    v0:i32 = Const32 [0x1g]\n    Ret\n}", "line 3: Const32: bad constant [0x1g]"},
		{"func f {\nb0:\n    v0:i32 = Const32 [0x100000000]\n    Ret\n}", "line 3: Const32 constant 0x100000000 does not fit in 32 bits"},
		{"func f {\nb0:\n    v0:i32 = Const32 [-0x80000001]\n    Ret\n}", "does not fit in 32 bits"},
		{"func f {\nb0:\n    v0:i64 = CallRuntime v1\n    Ret\n}", "line 3: CallRuntime needs a {sym} field"},
		{"func f {\nb0:\n    v0:i64 = CallRuntime {} v1\n    Ret\n}", "line 3: empty {sym}"},
		{"func f {\nb0:\n    v0:i32 = Const32 {x}\n    Ret\n}", "line 3: Const32 takes no {sym}"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Load32 [0] v0 align=x\n    Ret\n}", `line 4: bad alignment "x"`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Add32 v0, v0 align=4\n    Ret\n}", `line 4: unexpected "align" after the arguments of v1`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1] align=4\n    Ret\n}", `line 3: unexpected "align" after the arguments of v0`},
		{"func f {\nb0:\n    v0:i64 = Call {h} reads=none\n    Ret v0\n}", "line 3: v0: a call effect needs both reads= and writes="},
		{"func f {\nb0:\n    v0:i64 = Call {h} reads=r6 writes=none\n    Ret v0\n}", `line 3: v0: reads=: "r6" is not a parameter register r1..r5`},
		{"func f {\nb0:\n    v0:i64 = Call {h} reads=r1,r1 writes=none\n    Ret v0\n}", "line 3: v0: reads=: r1 listed twice"},
		{"func f {\nb0:\n    v0:i64 = Call {h} reads=r1, writes=none\n    Ret v0\n}", `line 3: v0: reads=: "writes" is not a parameter register`},
		{"func f {\nb0:\n    v0:i64 = Call {h} reads=none writes=none reads=none\n    Ret v0\n}", `line 3: unexpected "reads" after the arguments of v0`},
		{"func f {\nb0:\n    v0:i64 = CallRuntime {h} reads=none writes=none\n    Ret v0\n}", `line 3: unexpected "reads" after the arguments of v0`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Load32 [0] v0 align=4 align=4\n    Ret\n}", `line 4: unexpected "align" after the arguments of v1`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Add32 v0, \n    Ret\n}", `line 4: arguments of v1: list ends with ","`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    v1:i32 = Add32 v0, b1\n    Ret\n}", `line 4: arguments of v1: expected v<number> after ","`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1\n    Ret\n}", `line 3: unclosed '['`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1] #\n    Ret\n}", `line 3: unexpected character '#'`},
		{"func f {\nb0:\n    v0 Const32 [1]\n    Ret\n}", `line 3: expected "=" after v0`},
		{"func f {\nb0:\n    v0:i32 =\n    Ret\n}", `line 3: missing op after "="`},
		{"func f {\nb0:\n    Goto b1\n}", `line 3: expected a value or a terminator (Jump, If, Ret), found "Goto"`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    If v0 b1, b2\n}", `line 4: expected "->" before the successors, found "b1"`},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    If v0 -> b1, b2 likely=2\n}", "line 4: likely=2 is not a successor index"},
		{"func f {\nb0:\n    v0:i32 = Const32 [1]\n    If v0 -> b1, b2 unlikely\n}", `line 4: unexpected "unlikely" in terminator`},
		{"func f {\nb0: b1\n    Ret\n}", `line 2: expected "<-" after the block label, found "b1"`},
		{"func f {\nb0: <-\n    Ret\n}", "line 2: malformed predecessor list"},
		{"func f {\nb0:\n    Ret\n", "line 1: function f has no closing \"}\""},
		{"func f {\n}", "line 1: function f has no blocks"},
		{"func f\nb0:\n", `line 1: function header must end with "{"`},
		{"func {\n", "line 1: function header has no name"},
		{"func f locals=x {\n", `line 1: bad locals count "x"`},
		{"func f stack=8 {\n", `line 1: unknown function attribute "stack=8"`},
		{"\n; fine\nb0:\n", `line 3: expected "func NAME {", found "b0:"`},
		{"func f {\nb0:\n    Ret\n}\nfunc g {\nb0:\n    Ret\n}", "expected one function, found 2"},
		{"", "expected one function, found 0"},
	} {
		_, err := Parse(tc.src)
		if assert.Error(t, err, tc.src) {
			assert.Contains(t, err.Error(), tc.want, tc.src)
		}
	}
}

func TestParseErrorType(t *testing.T) {
	_, err := Parse("func f {\nb0:\n    v0:i32 = Nope\n    Ret\n}")
	var pe *ParseError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, 3, pe.Line)
	assert.Equal(t, `unknown op "Nope"`, pe.Msg)
}

func TestParseKeepsSignedConstants(t *testing.T) {
	f, err := Parse(`func f {
b0:
    v0:i32 = Const32 [0xffffffff]
    v1:i32 = Const32 [-1]
    v2:i64 = Const64 [0x8000000000000000]
    v3:i32 = Load8 [-0x7fffffff] v0
    Ret v2
}`)
	require.NoError(t, err)
	vs := f.Blocks[0].Values
	assert.Equal(t, int64(-1), vs[0].AuxInt, "Const32 is stored sign-extended, as the printer shows it")
	assert.Equal(t, int64(-1), vs[1].AuxInt)
	assert.Equal(t, int64(-1<<63), vs[2].AuxInt)
	assert.Equal(t, int64(-0x7fffffff), vs[3].AuxInt)
}
