package ir

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// moduleEnv is a 4-frame stack of 512 bytes each, frame d's top at
// 0x8000 - 512*d, and a locals region of 64 bytes per frame.
func moduleEnv(bigEndian bool) ModuleConfig {
	const stackTop, frameSize, localBase = 0x8000, 512, 0x9000
	return ModuleConfig{
		Mem: &RegionMemory{BigEndian: bigEndian, Regions: []*Region{
			{Base: stackTop - 4*frameSize, Data: make([]byte, 4*frameSize), Name: "stack"},
			{Base: localBase, Data: make([]byte, 4*64), Name: "locals"},
		}},
		Frame:     func(d int) (uint32, uint32) { return stackTop - uint32(d)*frameSize, localBase + uint32(d)*64 },
		MaxDepth:  4,
		BigEndian: bigEndian,
	}
}

func mustParseAll(t *testing.T, src string) []*Func {
	t.Helper()
	funcs, err := ParseAll(src)
	require.NoError(t, err)
	for _, f := range funcs {
		require.NoError(t, Verify(f, VerifyOptions{}))
	}
	return funcs
}

// The entry stores its Arg [0] in its frame and passes the slot's address
// and the 64-bit constant 0x500000003 to sub, which adds the stored word,
// the constant's high word times 16 and its low word, and stores 1 in its
// own frame: 7 + 0x50 + 3 = 0x5a. The slot's address is 8-aligned, as the
// callee's Arg [0] promises.
const moduleSrc = `
func entry {
b0:
    v0:i32 = Arg [0]
    v1:i32 = FramePtr
    v2 = Store32 [-8] v1, v0
    v3:i32 = Const32 [-8]
    v4:i32 = Add32 v1, v3
    v5:i32 = Const32 [0]
    v6:i64 = Int64Make v5, v4
    v7:i64 = Const64 [0x500000003]
    v8:i64 = Call {sub} v6, v7
    v9:i32 = Load32 [-8] v1
    v10:i64 = Int64Make v5, v9
    v11:i64 = Add64 v8, v10
    Ret v11
}

func sub {
b0:
    v0:i32 = Arg [0] align=8
    v1:i32 = Arg [1]
    v2:i32 = Arg [2]
    v3:i32 = Arg [3]
    v4:i32 = Load32 [0] v0
    v5:i32 = Const32 [4]
    v6:i32 = Shl32 v3, v5
    v7:i32 = Add32 v4, v6
    v8:i32 = Add32 v7, v2
    v9:i32 = FramePtr
    v10:i32 = Const32 [1]
    v11 = Store32 [-8] v9, v10
    v12:i32 = Const32 [0]
    v13:i64 = Int64Make v12, v8
    Ret v13
}
`

func TestInterpretModuleCallsInFramesOfTheirOwn(t *testing.T) {
	funcs := mustParseAll(t, moduleSrc)
	cfg := moduleEnv(false)
	cfg.Args = []uint32{7}
	got, err := InterpretModule(funcs, cfg)
	require.NoError(t, err)
	require.Equal(t, uint64(0x5a+7), got, "sub's result plus the entry's slot, which sub's store did not touch")

}

func TestInterpretModuleSplitsArgumentsInMemoryOrder(t *testing.T) {
	// sub returns 16 * Arg [0] + Arg [1] for the argument 0x500000003:
	// words (3, 5) little-endian, (5, 3) big-endian.
	funcs := mustParseAll(t, `
func main {
b0:
    v0:i64 = Const64 [0x500000003]
    v1:i64 = Call {sub} v0
    Ret v1
}

func sub {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Const32 [4]
    v3:i32 = Shl32 v0, v2
    v4:i32 = Add32 v3, v1
    v5:i32 = Const32 [0]
    v6:i64 = Int64Make v5, v4
    Ret v6
}`)
	got, err := InterpretModule(funcs, moduleEnv(false))
	require.NoError(t, err)
	require.Equal(t, uint64(3*16+5), got)
	got, err = InterpretModule(funcs, moduleEnv(true))
	require.NoError(t, err)
	require.Equal(t, uint64(5*16+3), got)
}

func TestInterpretModuleChecksArgAlignment(t *testing.T) {
	funcs := mustParseAll(t, moduleSrc)
	// Pass FramePtr-12 instead of FramePtr-8: 4-aligned, not 8.
	funcs[0].Blocks[0].Values[3].AuxInt = -12
	cfg := moduleEnv(false)
	cfg.Args = []uint32{7}
	_, err := InterpretModule(funcs, cfg)
	require.ErrorContains(t, err, "interpret sub: Arg [0] align=8 gets 0x7ff4")
}

func TestInterpretModuleBounds(t *testing.T) {
	// rec calls itself: the depth bound stops it.
	rec := mustParseAll(t, `
func rec {
b0:
    v0:i64 = Const64 [1]
    v1:i64 = Call {rec} v0
    Ret v1
}`)
	_, err := InterpretModule(rec, moduleEnv(false))
	require.ErrorContains(t, err, "call of rec: more than 4 frames")

	// loop runs 10 iterations (about 40 steps); main calls it three
	// times. 100 steps suffice for one call, not for the run.
	funcs := mustParseAll(t, `
func main {
b0:
    v0:i64 = Call {loop}
    v1:i64 = Call {loop}
    v2:i64 = Call {loop}
    Ret v2
}

func loop {
b0:
    v0:i32 = Const32 [0]
    v1:i32 = Const32 [1]
    v2:i32 = Const32 [10]
    Jump b1
b1: <- b0, b1
    v3:i32 = Phi v0, v4
    v4:i32 = Add32 v3, v1
    v5:i32 = LtU32 v4, v2
    If v5 -> b1, b2
b2: <- b1
    v6:i64 = Int64Make v0, v4
    Ret v6
}`)
	cfg := moduleEnv(false)
	cfg.MaxSteps = 100
	got, err := InterpretModule(funcs[1:], cfg)
	require.NoError(t, err)
	require.Equal(t, uint64(10), got)
	_, err = InterpretModule(funcs, cfg)
	require.ErrorContains(t, err, "step limit 100 exceeded")
}

func TestInterpretModuleExternalCalls(t *testing.T) {
	funcs := mustParseAll(t, `
func main {
b0:
    v0:i64 = Const64 [3]
    v1:i64 = Call {helper} v0
    Ret v1
}`)
	_, err := InterpretModule(funcs, moduleEnv(false))
	require.ErrorContains(t, err, "call of helper: not a function of the module")
	cfg := moduleEnv(false)
	cfg.Call = func(sym string, args []uint64) (uint64, error) { return args[0] * 11, nil }
	got, err := InterpretModule(funcs, cfg)
	require.NoError(t, err)
	require.Equal(t, uint64(33), got)

	_, err = InterpretModule(nil, cfg)
	require.ErrorContains(t, err, "no functions")
	_, err = InterpretModule(append(funcs, funcs[0]), cfg)
	require.ErrorContains(t, err, "main defined twice")
}
