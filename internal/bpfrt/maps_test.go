package bpfrt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The map semantics against a flat test memory; expected values are worked
// out by hand from Linux's rules (kernel/bpf/arraymap.c, hashtab.c) as
// maps.c documents them.

// flat is a little-endian memory [0x1000, 0x1000+len) plus storage that
// testStorage hands out from 0x8000 on.
type flat struct {
	mem     []byte
	storage []byte
}

func (f *flat) Bytes(addr, n uint64) ([]byte, error) {
	switch {
	case addr >= 0x1000 && addr+n <= 0x1000+uint64(len(f.mem)):
		return f.mem[addr-0x1000 : addr-0x1000+n], nil
	case addr >= 0x8000 && addr+n <= 0x8000+uint64(len(f.storage)):
		return f.storage[addr-0x8000 : addr-0x8000+n], nil
	}
	return nil, fmt.Errorf("%d bytes at %#x are unmapped", n, addr)
}

func (f *flat) Order() binary.ByteOrder { return binary.LittleEndian }

// testStorage puts every array at the start of the storage and gives hash
// element i the 16 bytes at 0x8000+16i.
type testStorage struct {
	f     *flat
	def   Def
	slots map[uint32]uint64
	calls []uint32 // the elements HashValue was asked for
}

func (s *testStorage) Open() (uint64, map[uint32]uint64, error) {
	if s.def.Type == MapArray {
		s.f.storage = make([]byte, s.def.ValueStride()*uint64(s.def.MaxEntries))
	} else {
		s.f.storage = make([]byte, 16*s.def.MaxEntries)
	}
	return 0x8000, s.slots, nil
}

func (s *testStorage) HashValue(i uint32) (uint64, error) {
	s.calls = append(s.calls, i)
	return 0x8000 + 16*uint64(i), nil
}

func (s *testStorage) ProgSlot(mem Memory, addr uint64) (uint64, error) {
	b, err := mem.Bytes(addr, 4)
	if err != nil {
		return 0, err
	}
	return uint64(mem.Order().Uint32(b)) | 1<<40, nil // marked, to see it went through here
}

func newTestMap(def Def, mem []byte, initial ...uint64) (*Map, *flat, *testStorage) {
	f := &flat{mem: mem}
	slots := map[uint32]uint64{}
	for i, v := range initial {
		slots[uint32(i)] = v
	}
	s := &testStorage{f: f, def: def, slots: slots}
	return NewMap(def, s), f, s
}

func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func neg(e int64) uint64 { return uint64(-e) }

func TestDefCheck(t *testing.T) {
	for _, c := range []struct {
		def  Def
		want string
	}{
		{Def{MapArray, 4, 1, 1}, ""},
		{Def{MapHash, 512, 1, 1}, ""},
		{Def{MapProgArray, 4, 4, 1}, ""},
		{Def{6, 4, 8, 4}, "unsupported type 6 (the runtime has 1 hash, 2 array, 3 prog array)"},
		{Def{MapArray, 4, 4, 0}, "array max_entries 0 (must be at least 1)"},
		{Def{MapArray, 8, 4, 2}, "array key_size 8 (must be 4)"},
		{Def{MapHash, 0, 4, 2}, "hash key_size 0 (must be 1..512)"},
		{Def{MapHash, 513, 4, 2}, "hash key_size 513 (must be 1..512)"},
		{Def{MapHash, 4, 0, 2}, "hash value_size 0 (must be at least 1)"},
		{Def{MapProgArray, 4, 8, 2}, "prog array value_size 8 (must be 4)"},
	} {
		err := c.def.Check()
		if c.want == "" {
			assert.NoError(t, err, "%+v", c.def)
		} else {
			assert.EqualError(t, err, c.want, "%+v", c.def)
		}
	}
	assert.Equal(t, uint64(16), Def{ValueSize: 12}.ValueStride())
	assert.Equal(t, uint64(8), Def{ValueSize: 8}.ValueStride())
}

func TestArray(t *testing.T) {
	// Keys 0, 2, 3 at 0x1000.., a 12-byte value at 0x100c.
	m, f, _ := newTestMap(Def{MapArray, 4, 12, 3}, append(le32(0, 2, 3), "abcdefghijkl"...))
	r, err := m.Lookup(f, 0x1004)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x8000+2*16), r, "values 16 bytes apart")
	r, err = m.Lookup(f, 0x1008)
	require.NoError(t, err)
	assert.Zero(t, r, "index 3 is out of range")
	for flags, want := range map[uint64]uint64{UpdateAny: 0, UpdateNoExist: neg(EEXIST), UpdateExist: 0, 3: neg(EINVAL)} {
		r, err = m.Update(f, 0x1004, 0x100c, flags)
		require.NoError(t, err)
		assert.Equal(t, want, r, "flags %d", flags)
	}
	r, _ = m.Update(f, 0x1008, 0x100c, UpdateAny)
	assert.Equal(t, neg(E2BIG), r)
	assert.Equal(t, []byte("abcdefghijkl\x00\x00\x00\x00"), f.storage[32:48])
	r, _ = m.Delete(f, 0x1000)
	assert.Equal(t, neg(EINVAL), r, "array elements cannot be deleted")
	_, err = m.Lookup(f, 0x2000)
	assert.ErrorContains(t, err, "unmapped", "a bad key pointer is an error")
	target, err := m.TailTarget(0)
	require.NoError(t, err)
	assert.Zero(t, target, "not a program array")
}

func TestHash(t *testing.T) {
	// Keys "k0".."k3" at 0x1000+2i, a 4-byte value at 0x1008.
	m, f, s := newTestMap(Def{MapHash, 2, 4, 2}, append([]byte("k0k1k2k3"), 9, 8, 7, 6))
	key := func(i uint64) uint64 { return 0x1000 + 2*i }
	const val = 0x1008
	steps := []struct {
		op   string
		key  uint64
		arg  uint64 // flags
		want uint64
	}{
		{"update", 0, UpdateExist, neg(ENOENT)},
		{"update", 0, UpdateAny, 0}, // element 0
		{"update", 0, UpdateNoExist, neg(EEXIST)},
		{"update", 1, UpdateNoExist, 0},      // element 1
		{"update", 2, UpdateAny, neg(E2BIG)}, // full
		{"update", 1, UpdateExist, 0},        // present: in place, no new element
		{"lookup", 1, 0, 0x8010},
		{"delete", 2, 0, neg(ENOENT)},
		{"delete", 0, 0, 0}, // frees element 0
		{"delete", 1, 0, 0}, // frees element 1
		{"lookup", 0, 0, 0},
		{"update", 3, UpdateAny, 0}, // takes element 1, the last freed
		{"lookup", 3, 0, 0x8010},
		{"update", 2, UpdateAny, 0}, // takes element 0
		{"lookup", 2, 0, 0x8000},
		{"update", 0, UpdateAny, neg(E2BIG)},
		{"update", 0, 4, neg(EINVAL)},
	}
	for i, st := range steps {
		var r uint64
		var err error
		switch st.op {
		case "update":
			r, err = m.Update(f, key(st.key), val, st.arg)
		case "lookup":
			r, err = m.Lookup(f, key(st.key))
		case "delete":
			r, err = m.Delete(f, key(st.key))
		}
		require.NoError(t, err, "step %d", i)
		assert.Equal(t, st.want, r, "step %d: %s k%d", i, st.op, st.key)
	}
	assert.Equal(t, []uint32{0, 1, 1, 0}, s.calls, "elements in order of first use, the last freed reused first")
	assert.Equal(t, []byte{9, 8, 7, 6}, f.storage[0:4])
}

func TestProgArray(t *testing.T) {
	m, f, _ := newTestMap(Def{MapProgArray, 4, 4, 3}, le32(0, 1, 2, 7, 0xabc), 0x111, 0, 0x333)
	for index, want := range map[uint64]uint64{0: 0x111, 1: 0, 2: 0x333, 3: 0, 1<<32 | 2: 0x333} {
		got, err := m.TailTarget(index)
		require.NoError(t, err)
		assert.Equal(t, want, got, "slot %#x", index)
	}
	r, _ := m.Lookup(f, 0x1000)
	assert.Zero(t, r, "no lookups in program arrays")
	r, _ = m.Update(f, 0x1004, 0x1010, UpdateNoExist)
	assert.Equal(t, neg(EINVAL), r, "only BPF_ANY")
	r, _ = m.Update(f, 0x100c, 0x1010, UpdateAny)
	assert.Equal(t, neg(E2BIG), r)
	r, err := m.Update(f, 0x1004, 0x1010, UpdateAny)
	require.NoError(t, err)
	assert.Zero(t, r)
	got, _ := m.TailTarget(1)
	assert.Equal(t, uint64(0xabc|1<<40), got, "the slot holds what Storage.ProgSlot made of the value")
	for key, want := range map[uint64]uint64{0x1000: 0, 0x100c: neg(E2BIG)} {
		r, _ = m.Delete(f, key)
		assert.Equal(t, want, r)
	}
	r, _ = m.Delete(f, 0x1000)
	assert.Equal(t, neg(ENOENT), r, "slot 0 is empty now")

	// The slots are sparse: a program array of 2^32-1 entries costs nothing.
	huge := NewMap(Def{MapProgArray, 4, 4, 1<<32 - 1}, &testStorage{f: &flat{}, def: Def{MapProgArray, 4, 4, 0}})
	got, err = huge.TailTarget(1<<32 - 2)
	require.NoError(t, err)
	assert.Zero(t, got)
}

type badStorage struct{ testStorage }

func (badStorage) Open() (uint64, map[uint32]uint64, error) { return 0, nil, errors.New("no room") }

func TestOpenErrors(t *testing.T) {
	m := NewMap(Def{MapArray, 8, 4, 1}, &badStorage{})
	_, err := m.Lookup(&flat{}, 0)
	assert.EqualError(t, err, "array key_size 8 (must be 4)", "geometry first")
	m = NewMap(Def{MapArray, 4, 4, 1}, &badStorage{})
	_, err = m.Update(&flat{}, 0, 0, 0)
	assert.EqualError(t, err, "no room")
	_, err = NewMap(Def{MapProgArray, 4, 8, 1}, &badStorage{}).TailTarget(0)
	assert.EqualError(t, err, "prog array value_size 8 (must be 4)")
}
