package ir

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunTestdata runs every "; run:" line of testdata/*.ir.
func TestRunTestdata(t *testing.T) {
	runs := 0
	for _, tf := range loadTestFuncs(t) {
		for _, r := range tf.runs {
			runs++
			name := fmt.Sprintf("%s:%d/%s", tf.file, r.line, tf.f.Name)
			got, err := Interpret(tf.f, newTestEnv(tf.f, r.args, r.be))
			if r.wantErr != "" {
				if assert.Error(t, err, name) {
					assert.Contains(t, err.Error(), r.wantErr, name)
				}
				continue
			}
			if assert.NoError(t, err, name) {
				assert.Equal(t, fmt.Sprintf("%#x", r.want), fmt.Sprintf("%#x", got), name)
			}
		}
	}
	assert.Greater(t, runs, 200, "the run lines were not found")
}

func TestInterpStepLimit(t *testing.T) {
	f, err := Parse(`func spin {
b0:
    Jump b1
b1: <- b0, b1
    Jump b1
}`)
	require.NoError(t, err)
	_, err = Interpret(f, InterpConfig{MaxSteps: 1000})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step limit 1000 exceeded in b1")
}

func TestInterpStepLimitCountsValues(t *testing.T) {
	// sum_to(10) runs 11 loop tests; a budget far below its value count stops it.
	f := findTestFunc(t, "sum_to")
	cfg := newTestEnv(f, []uint32{10}, false)
	cfg.MaxSteps = 20
	_, err := Interpret(f, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step limit 20")
	cfg.MaxSteps = 1000
	got, err := Interpret(f, cfg)
	require.NoError(t, err)
	assert.Equal(t, uint64(55), got)
}

func findTestFunc(t *testing.T, name string) *Func {
	t.Helper()
	for _, tf := range loadTestFuncs(t) {
		if tf.f.Name == name {
			return tf.f
		}
	}
	t.Fatalf("no test function %s", name)
	return nil
}

func TestInterpErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown runtime function", `func f {
b0:
    v0:i32 = Const32 [1]
    v1:i32 = CallRuntime {no_such_fn} v0
    Ret v1, v0
}`, `unknown runtime function "no_such_fn"`},
		{"runtime arity", `func f {
b0:
    v0:i32 = Const32 [1]
    v1:i64 = CallRuntime {__udivdi3} v0
    Ret v1
}`, "too few arguments for __udivdi3"},
		{"phis in entry", `func f {
b0:
    v0:i32 = Phi
    Ret v0, v0
}`, "entry block b0 has phis"},
		{"no memory", `func f {
b0:
    v0:i32 = Const32 [16]
    v1:i32 = Load8 [0] v0
    Ret v1, v1
}`, "b0: v1:i32 = Load8 [0] v0: memory fault: 1-byte access at 0x10 is not inside any region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.src)
			require.NoError(t, err)
			_, err = Interpret(f, InterpConfig{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Malformed structure that the verifier would reject must give errors, not
// panics, because fuzzers feed the interpreter whatever a pass produced.
func TestInterpMalformed(t *testing.T) {
	good := func() *Func {
		f, err := Parse(`func f {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Add32 v0, v0
    If v1 -> b1, b2
b1: <- b0
    Jump b2
b2: <- b0, b1
    v2:i32 = Phi v0, v1
    Ret v2, v0
}`)
		require.NoError(t, err)
		return f
	}
	for _, tc := range []struct {
		name   string
		break_ func(f *Func)
		want   string
	}{
		{"missing arg", func(f *Func) { f.Blocks[0].Values[1].Args = f.Blocks[0].Values[1].Args[:1] }, "Add32 takes 2 arguments, has 1"},
		{"nil arg", func(f *Func) { f.Blocks[0].Values[1].Args[1] = nil }, "outside the function"},
		{"phi arity", func(f *Func) { f.Blocks[2].Values[0].Args = f.Blocks[2].Values[0].Args[:1] }, "phi v2 has 1 arguments for 2 predecessors"},
		{"edge without pred", func(f *Func) { f.Blocks[2].Preds = f.Blocks[2].Preds[:1] }, "missing from its predecessor list"},
		{"foreign successor", func(f *Func) { f.Blocks[1].Succs[0] = &Block{ID: 9} }, "not a block of this function"},
		{"no controls", func(f *Func) { f.Blocks[2].Controls = nil }, "Ret with 0 controls"},
		{"bad kind", func(f *Func) { f.Blocks[1].Kind = BlockInvalid }, "invalid block kind"},
		{"id out of range", func(f *Func) { f.Blocks[0].Values[1].ID = 1000 }, "outside the function"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			got, err := Interpret(f, InterpConfig{Args: []uint32{3}})
			require.NoError(t, err)
			require.Equal(t, uint64(3)<<32|6, got)
			tc.break_(f)
			_, err = Interpret(f, InterpConfig{Args: []uint32{3}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The same computation before and after legalization gives the same result.
func TestInterpStagesAgree(t *testing.T) {
	whole := findTestFunc(t, "sum_to64")
	split := findTestFunc(t, "sum_to64_split")
	for _, n := range []uint32{0, 1, 2, 1000, 92682, 92683, 200000} {
		a, err := Interpret(whole, InterpConfig{Args: []uint32{n}})
		require.NoError(t, err)
		b, err := Interpret(split, InterpConfig{Args: []uint32{n}})
		require.NoError(t, err)
		assert.Equal(t, uint64(n)*(uint64(n)+1)/2, a, "n=%d", n)
		assert.Equal(t, a, b, "n=%d", n)
	}
}

func BenchmarkInterpLoop(b *testing.B) {
	f, err := Parse(`func f {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Const32 [0]
    v2:i32 = Const32 [1]
    Jump b1
b1: <- b0, b2
    v3:i32 = Phi v1, v6
    v4:i32 = Phi v2, v7
    v5:i32 = LeU32 v4, v0
    If v5 -> b2, b3
b2: <- b1
    v6:i32 = Add32 v3, v4
    v7:i32 = Add32 v4, v2
    Jump b1
b3: <- b1
    Ret v3, v1
}`)
	require.NoError(b, err)
	for b.Loop() {
		if _, err := Interpret(f, InterpConfig{Args: []uint32{10000}}); err != nil {
			b.Fatal(err)
		}
	}
}

// junkMemory returns all-ones whatever the size: loads must keep only their
// size's bytes.
type junkMemory struct{ stored []uint64 }

func (m *junkMemory) Load(addr uint32, size int) (uint64, error) { return ^uint64(0), nil }
func (m *junkMemory) Store(addr uint32, size int, val uint64) error {
	m.stored = append(m.stored, val)
	return nil
}

func TestInterpMasksMemoryValues(t *testing.T) {
	f, err := Parse(`func f {
b0:
    v0:i32 = Const32 [0]
    v1:i32 = Load8 [0] v0
    v2:i32 = Load16 [0] v0
    v3:i32 = Add32 v1, v2
    v4:i32 = Const32 [0x1ff]
    v5 = Store8 [0] v0, v4
    v6:i32 = AtomicAdd32 [0] v0, v4
    Ret v3, v6
}`)
	require.NoError(t, err)
	mem := &junkMemory{}
	got, err := Interpret(f, InterpConfig{Mem: mem})
	require.NoError(t, err)
	assert.Equal(t, uint64(0xffffffff)<<32|(0xff+0xffff), got)
	assert.Equal(t, []uint64{0xff, 0x1fe}, mem.stored) // Store8 keeps the low byte; 0xffffffff + 0x1ff wraps
}
