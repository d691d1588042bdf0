// Package bpfrt is the semantics of bpfopt's BPF runtime, in Go: the maps
// behind the map helpers (array, hash, program array), the kernel helpers
// with their deterministic per-run state (ktime, prandom), and the
// conformance suite's helpers (uBPF's numbering).
//
// bpfopt's C runtime (backend/mips32/qemu/runner: helpers.c, maps.c) serves
// the same helpers to compiled code under qemu and is the reference for
// MIPS execution. In Go the semantics exist once, here, for two hosts:
//
//   - the reference interpreter (frontend/bpf), whose maps are known by
//     handles and whose values each get a region of their own, so that
//     running off one is an error;
//   - the simulator's runtime (backend/mips32/sim/runner), whose maps are
//     struct bpf_map objects in the module's data and whose storage lies in
//     the simulated heap exactly where the C runtime puts it, so that
//     pointers agree with qemu's.
//
// A host supplies the memory helpers read and write (Memory), the maps its
// map arguments designate (Env.Map), and the placement of each map's
// storage (Storage); the results, errno values, flag rules, element reuse
// and geometry checks are this package's.
//
// Import rule: it imports nothing of bpfopt. It knows what the helpers do,
// not how programs are encoded, compiled or run.
package bpfrt

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Memory is a run's memory as the helpers see it.
type Memory interface {
	// Bytes returns the n bytes at addr as a slice of the live memory, or
	// an error when they are not all mapped.
	Bytes(addr, n uint64) ([]byte, error)
	// Order is the byte order of the memory's words.
	Order() binary.ByteOrder
}

// Map types the runtime implements (Linux's BPF_MAP_TYPE_*).
const (
	MapHash      = 1
	MapArray     = 2
	MapProgArray = 3
)

// Flags of bpf_map_update_elem.
const (
	UpdateAny     = 0 // BPF_ANY: create or replace
	UpdateNoExist = 1 // BPF_NOEXIST: create only
	UpdateExist   = 2 // BPF_EXIST: replace only
)

// Errno values the map helpers return, negated (Linux's errno-base
// numbering, the same on every architecture).
const (
	ENOENT = 2
	E2BIG  = 7
	EEXIST = 17
	EINVAL = 22
)

// MaxHashKeySize is Linux's limit for hash keys (MAX_BPF_STACK).
const MaxHashKeySize = 512

// Def is a map's geometry, as the ELF object defines it.
type Def struct {
	Type, KeySize, ValueSize, MaxEntries uint32
}

// ValueStride is the distance between an array's values: the value size
// rounded up to 8, as Linux lays them out.
func (d Def) ValueStride() uint64 { return (uint64(d.ValueSize) + 7) &^ 7 }

// Check applies the runtime's geometry rules: array key_size 4 and
// value_size >= 1; hash key_size 1..512 and value_size >= 1; program array
// key_size and value_size 4; max_entries >= 1; no other type.
func (d Def) Check() error {
	var kind string
	var key, value uint32 // required sizes, 0 for a range
	switch d.Type {
	case MapArray:
		kind, key = "array", 4
	case MapHash:
		kind = "hash"
	case MapProgArray:
		kind, key, value = "prog array", 4, 4
	default:
		return fmt.Errorf("unsupported type %d (the runtime has 1 hash, 2 array, 3 prog array)", d.Type)
	}
	switch {
	case d.MaxEntries == 0:
		return fmt.Errorf("%s max_entries 0 (must be at least 1)", kind)
	case key != 0 && d.KeySize != key:
		return fmt.Errorf("%s key_size %d (must be %d)", kind, d.KeySize, key)
	case key == 0 && (d.KeySize == 0 || d.KeySize > MaxHashKeySize):
		return fmt.Errorf("%s key_size %d (must be 1..%d)", kind, d.KeySize, MaxHashKeySize)
	case value != 0 && d.ValueSize != value:
		return fmt.Errorf("%s value_size %d (must be %d)", kind, d.ValueSize, value)
	case d.ValueSize == 0:
		return fmt.Errorf("%s value_size 0 (must be at least 1)", kind)
	}
	return nil
}

// Storage places one map's storage in its host's memory.
type Storage interface {
	// Open sets the storage up at the map's first use, once its geometry
	// passed Check. For an array it returns the address of value 0 (the
	// values lie ValueStride apart and hold the initial contents); for a
	// program array, what the slots hold initially (absent or 0 = empty).
	Open() (values uint64, slots map[uint32]uint64, err error)
	// HashValue returns the address of hash element i's value, ready to be
	// written: elements are numbered from 0 in the order they are first
	// used, and a deleted element's number is reused (the last deleted
	// first). It is called at every insertion.
	HashValue(i uint32) (uint64, error)
	// ProgSlot returns what a program array's slot holds after
	// bpf_map_update_elem with the value at addr.
	ProgSlot(mem Memory, addr uint64) (uint64, error)
}

// Map is the run-time state of one map.
type Map struct {
	def   Def
	store Storage
	open  bool

	values uint64            // array: the address of value 0
	slots  map[uint32]uint64 // program array: what each slot holds, absent = empty
	// hash holds a hash map's elements by key bytes; free the numbers of
	// deleted elements, the last deleted last; fresh the next number never
	// used.
	hash  map[string]hashElem
	free  []uint32
	fresh uint32
}

type hashElem struct {
	num  uint32
	addr uint64
}

// NewMap returns a map of geometry def whose storage store places; it is
// set up at its first use.
func NewMap(def Def, store Storage) *Map { return &Map{def: def, store: store} }

// Def is the map's geometry.
func (m *Map) Def() Def { return m.def }

// Open checks the map's geometry and sets its storage up, once.
func (m *Map) Open() error {
	if m.open {
		return nil
	}
	if err := m.def.Check(); err != nil {
		return err
	}
	values, slots, err := m.store.Open()
	if err != nil {
		return err
	}
	m.values = values
	if m.def.Type == MapProgArray {
		m.slots = map[uint32]uint64{}
		for i, v := range slots {
			if v != 0 && i < m.def.MaxEntries {
				m.slots[i] = v
			}
		}
	}
	if m.def.Type == MapHash {
		m.hash = map[string]hashElem{}
	}
	m.open = true
	return nil
}

// Values is the address of an open array's value 0.
func (m *Map) Values() uint64 { return m.values }

// index reads an array or program array key: a u32, possibly unaligned.
func index(mem Memory, addr uint64) (uint32, error) {
	k, err := mem.Bytes(addr, 4)
	if err != nil {
		return 0, err
	}
	return mem.Order().Uint32(k), nil
}

func negErrno(e int64) uint64 { return uint64(-e) }

// Lookup is bpf_map_lookup_elem(map, key): the address of the value, or 0
// when there is none (always for a program array: Linux does not let
// programs look them up).
func (m *Map) Lookup(mem Memory, key uint64) (uint64, error) {
	if err := m.Open(); err != nil {
		return 0, err
	}
	switch m.def.Type {
	case MapArray:
		i, err := index(mem, key)
		if err != nil || i >= m.def.MaxEntries {
			return 0, err
		}
		return m.values + uint64(i)*m.def.ValueStride(), nil
	case MapHash:
		k, err := mem.Bytes(key, uint64(m.def.KeySize))
		if err != nil {
			return 0, err
		}
		if e, ok := m.hash[string(k)]; ok {
			return e.addr, nil
		}
	}
	return 0, nil
}

// Update is bpf_map_update_elem(map, key, value, flags): 0 or a negative
// errno. An array's elements all exist (BPF_NOEXIST fails); a hash map
// replaces a present value in place, so that earlier lookups see it; a
// program array takes only BPF_ANY.
func (m *Map) Update(mem Memory, key, value, flags uint64) (uint64, error) {
	if err := m.Open(); err != nil {
		return 0, err
	}
	if m.def.Type == MapProgArray && flags != UpdateAny || flags > UpdateExist {
		return negErrno(EINVAL), nil
	}
	if m.def.Type == MapHash {
		return m.hashUpdate(mem, key, value, flags)
	}
	i, err := index(mem, key)
	switch {
	case err != nil:
		return 0, err
	case i >= m.def.MaxEntries:
		return negErrno(E2BIG), nil
	case m.def.Type == MapProgArray:
		slot, err := m.store.ProgSlot(mem, value)
		if err != nil {
			return 0, err
		}
		if slot == 0 {
			delete(m.slots, i)
		} else {
			m.slots[i] = slot
		}
		return 0, nil
	case flags == UpdateNoExist:
		return negErrno(EEXIST), nil
	}
	return 0, m.copyValue(mem, m.values+uint64(i)*m.def.ValueStride(), value)
}

// copyValue copies the value at src to dst.
func (m *Map) copyValue(mem Memory, dst, src uint64) error {
	n := uint64(m.def.ValueSize)
	v, err := mem.Bytes(src, n)
	if err != nil {
		return err
	}
	v = bytes.Clone(v) // the two may overlap, and dst may not be mapped yet
	d, err := mem.Bytes(dst, n)
	if err != nil {
		return err
	}
	copy(d, v)
	return nil
}

func (m *Map) hashUpdate(mem Memory, keyAddr, value, flags uint64) (uint64, error) {
	k, err := mem.Bytes(keyAddr, uint64(m.def.KeySize))
	if err != nil {
		return 0, err
	}
	key := string(k)
	e, present := m.hash[key]
	switch {
	case present && flags == UpdateNoExist:
		return negErrno(EEXIST), nil
	case present:
		return 0, m.copyValue(mem, e.addr, value)
	case flags == UpdateExist:
		return negErrno(ENOENT), nil
	case len(m.free) == 0 && m.fresh >= m.def.MaxEntries:
		return negErrno(E2BIG), nil
	}
	v, err := mem.Bytes(value, uint64(m.def.ValueSize))
	if err != nil {
		return 0, err
	}
	v = bytes.Clone(v)
	if n := len(m.free); n > 0 {
		e.num, m.free = m.free[n-1], m.free[:n-1]
	} else {
		e.num = m.fresh
		m.fresh++
	}
	if e.addr, err = m.store.HashValue(e.num); err != nil {
		return 0, err
	}
	d, err := mem.Bytes(e.addr, uint64(m.def.ValueSize))
	if err != nil {
		return 0, err
	}
	copy(d, v)
	m.hash[key] = e
	return 0, nil
}

// Delete is bpf_map_delete_elem(map, key): 0 or a negative errno. Array
// elements cannot be deleted (-EINVAL).
func (m *Map) Delete(mem Memory, key uint64) (uint64, error) {
	if err := m.Open(); err != nil {
		return 0, err
	}
	switch m.def.Type {
	case MapHash:
		k, err := mem.Bytes(key, uint64(m.def.KeySize))
		if err != nil {
			return 0, err
		}
		e, ok := m.hash[string(k)]
		if !ok {
			return negErrno(ENOENT), nil
		}
		delete(m.hash, string(k))
		m.free = append(m.free, e.num)
		return 0, nil
	case MapProgArray:
		i, err := index(mem, key)
		switch {
		case err != nil:
			return 0, err
		case i >= m.def.MaxEntries:
			return negErrno(E2BIG), nil
		case m.slots[i] == 0:
			return negErrno(ENOENT), nil
		}
		delete(m.slots, i)
		return 0, nil
	}
	return negErrno(EINVAL), nil
}

// TailTarget is what a tail call through the map finds in slot index
// (truncated to a u32, as Linux does): the slot's contents, or 0 for an
// index out of range, an empty slot, or a map that is not a program array.
func (m *Map) TailTarget(index uint64) (uint64, error) {
	if m.def.Type != MapProgArray {
		return 0, nil
	}
	if err := m.Open(); err != nil {
		return 0, err
	}
	if i := uint32(index); i < m.def.MaxEntries {
		return m.slots[i], nil
	}
	return 0, nil
}
