package bpfrt

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The helpers with values from their definitions (helpers.c); the first
// xorshift32 output from 2463534242 is 723471715 (Marsaglia's paper).

type testEnv struct {
	*flat
	kernel Kernel
}

func (e *testEnv) Kernel() *Kernel              { return &e.kernel }
func (e *testEnv) Map(arg uint64) (*Map, error) { return nil, errors.New("no maps here") }
func newEnv(mem []byte) *testEnv                { return &testEnv{flat: &flat{mem: mem}, kernel: NewKernel()} }
func call(t *testing.T, hs []Helper, id int32, env Env, r ...uint64) (uint64, error) {
	t.Helper()
	h, ok := Table(hs)[id]
	require.True(t, ok, "helper %d", id)
	var regs [5]uint64
	copy(regs[:], r)
	return h.Func(env, regs)
}

func TestKernelHelpers(t *testing.T) {
	env := newEnv(nil)
	for _, want := range []uint64{1000, 2000, 3000} {
		got, err := call(t, KernelHelpers, KtimeGetNs, env)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	got, _ := call(t, KernelHelpers, GetPrandomU32, env)
	assert.Equal(t, uint64(723471715), got)
	got, _ = call(t, KernelHelpers, GetSmpProcessorID, env, 9)
	assert.Zero(t, got)
	_, err := call(t, KernelHelpers, MapLookupElem, env, 1, 2)
	assert.EqualError(t, err, "no maps here", "a map helper asks the host for its map")
	assert.Equal(t, []int{2, 4, 2, 0, 0, 0}, []int{KernelHelpers[0].Args, KernelHelpers[1].Args, KernelHelpers[2].Args,
		KernelHelpers[3].Args, KernelHelpers[4].Args, KernelHelpers[5].Args})
}

func TestConformanceHelpers(t *testing.T) {
	env := newEnv([]byte("abc\x00abd\x00\x01\x02\x03zz"))
	got, _ := call(t, ConformanceHelpers, GatherBytes, env, 0x1101, 0x22, 0x33, 0x44, 0x55)
	assert.Equal(t, uint64(0x0122334455), got)
	for _, c := range []struct{ a, b, want uint64 }{
		{0x1000, 0x1004, uint64(1<<64 - 1)}, {0x1004, 0x1000, 1}, {0x1000, 0x1000, 0}, {0x1003, 0x1000, uint64(1<<64 - 'a')},
	} {
		got, err := call(t, ConformanceHelpers, StrcmpExt, env, c.a, c.b)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "strcmp_ext(%#x, %#x)", c.a, c.b)
	}
	_, err := call(t, ConformanceHelpers, StrcmpExt, env, 0x100b, 0x1000)
	assert.EqualError(t, err, "unterminated string at 0x100b")
	_, err = call(t, ConformanceHelpers, StrcmpExt, env, 0x1000, 0x3000)
	assert.EqualError(t, err, "1 bytes at 0x3000 are unmapped", "no string at all")

	// (double)(2^53+1) = 2^53, whose root is 94906265.62...; (double)(2^64-1) = 2^64.
	for x, want := range map[uint64]uint64{0: 0, 15: 3, 16: 4, 1<<40 + 12345: 1 << 20, 1<<53 + 1: 94906265, 1<<64 - 1: 1 << 32} {
		got, _ := call(t, ConformanceHelpers, Sqrti, env, x)
		assert.Equal(t, want, got, "sqrti(%d)", x)
	}

	_, err = call(t, ConformanceHelpers, Memfrob, env, 0x1008, 3)
	require.NoError(t, err)
	assert.Equal(t, []byte{1 ^ 42, 2 ^ 42, 3 ^ 42, 'z', 'z'}, env.mem[8:])
	_, err = call(t, ConformanceHelpers, Memfrob, env, 0x100b, 5)
	assert.EqualError(t, err, "5 bytes at 0x100b are unmapped")
	assert.Equal(t, []byte{'z' ^ 42, 'z' ^ 42}, env.mem[11:], "changed up to the unmapped byte, as C does")
	_, err = call(t, ConformanceHelpers, Memfrob, env, 0x3000, 0)
	assert.NoError(t, err, "nothing to do, whatever the pointer")

	got, err = call(t, ConformanceHelpers, Unwind, env, 7)
	assert.NoError(t, err)
	assert.Equal(t, uint64(7), got)
	_, err = call(t, ConformanceHelpers, Unwind, env, 0)
	assert.ErrorIs(t, err, ErrStop)
}
