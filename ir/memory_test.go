package ir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegionMemoryEndianness(t *testing.T) {
	data := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
	le := &RegionMemory{Regions: []*Region{{Base: 0x100, Data: data}}}
	be := &RegionMemory{BigEndian: true, Regions: le.Regions}
	for _, tc := range []struct {
		addr           uint32
		size           int
		wantLE, wantBE uint64
	}{
		{0x100, 1, 0x01, 0x01},
		{0x107, 1, 0x08, 0x08},
		{0x100, 2, 0x0201, 0x0102},
		{0x105, 2, 0x0706, 0x0607},
		{0x100, 4, 0x04030201, 0x01020304},
		{0x103, 4, 0x07060504, 0x04050607},
		{0x100, 8, 0x0807060504030201, 0x0102030405060708},
	} {
		got, err := le.Load(tc.addr, tc.size)
		require.NoError(t, err)
		assert.Equal(t, tc.wantLE, got, "LE %#x/%d", tc.addr, tc.size)
		got, err = be.Load(tc.addr, tc.size)
		require.NoError(t, err)
		assert.Equal(t, tc.wantBE, got, "BE %#x/%d", tc.addr, tc.size)
	}
}

func TestRegionMemoryStore(t *testing.T) {
	r := &Region{Base: 0x1000, Data: make([]byte, 8)}
	m := &RegionMemory{Regions: []*Region{r}}
	require.NoError(t, m.Store(0x1000, 8, 0x1122334455667788))
	assert.Equal(t, []byte{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, r.Data)
	// Only the low size bytes of the value are stored.
	require.NoError(t, m.Store(0x1001, 2, 0xaaaabbcc))
	require.NoError(t, m.Store(0x1004, 1, 0xffdd))
	assert.Equal(t, []byte{0x88, 0xcc, 0xbb, 0x55, 0xdd, 0x33, 0x22, 0x11}, r.Data)

	m.BigEndian = true
	require.NoError(t, m.Store(0x1000, 4, 0x01020304))
	assert.Equal(t, []byte{0x01, 0x02, 0x03, 0x04, 0xdd, 0x33, 0x22, 0x11}, r.Data)
	got, err := m.Load(0x1000, 4)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x01020304), got)
}

func TestRegionMemoryFaults(t *testing.T) {
	m := &RegionMemory{Regions: []*Region{
		{Base: 0x100, Data: make([]byte, 16), Name: "a"},
		{Base: 0x110, Data: make([]byte, 16), Name: "b"}, // adjacent to a
		{Base: 0xfffffff8, Data: make([]byte, 8), Name: "top"},
	}}
	for _, tc := range []struct {
		addr uint32
		size int
		want string
	}{
		{0x0, 4, "memory fault: 4-byte access at 0x0 is not inside any region"},
		{0xfc, 8, "8-byte access at 0xfc is not inside any region"},
		{0x10e, 4, `memory fault: 4-byte access at 0x10e runs past the end of region "a" [0x100, 0x110)`},
		{0x11d, 4, `runs past the end of region "b"`},
		{0xfffffffc, 8, `runs past the end of region "top" [0xfffffff8, 0x100000000)`},
		{0x100, 3, "memory access of unsupported size 3 at 0x100"},
		{0x100, 0, "unsupported size 0"},
	} {
		_, err := m.Load(tc.addr, tc.size)
		if assert.Error(t, err, "load %#x/%d", tc.addr, tc.size) {
			assert.Contains(t, err.Error(), tc.want)
		}
		err = m.Store(tc.addr, tc.size, 0)
		if assert.Error(t, err, "store %#x/%d", tc.addr, tc.size) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	// The last bytes of each region, and of the address space, are fine.
	for _, a := range []uint32{0x10c, 0x11c, 0xfffffffc} {
		require.NoError(t, m.Store(a, 4, 0xdeadbeef))
		got, err := m.Load(a, 4)
		require.NoError(t, err)
		assert.Equal(t, uint64(0xdeadbeef), got)
	}
}
