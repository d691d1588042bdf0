package runner

import (
	"fmt"

	"github.com/bpfopt/bpfopt/internal/bpfrt"
)

// heapStorage lays a map's storage out in the simulated heap as maps.c
// does on MIPS32, allocation for allocation, so that value addresses agree
// with the qemu runner's:
//
//	array       max_entries values at a stride of value_size rounded up
//	            to 8, the initial contents copied in value by value
//	prog array  max_entries u32 slots, the initial contents copied in
//	hash        struct hash (28 bytes, padded to 32), the buckets (a power
//	            of two at least max_entries, 4 bytes each, padded to 8),
//	            then max_entries nodes of 8 + round8(key_size) +
//	            round8(value_size) bytes: { next, hash, key, value }
type heapStorage struct {
	run     *runState
	initial uint32 // the address of the initial contents, or 0
	def     bpfrt.Def
	state   uint32 // what the object's state word gets: the storage's address
	// A hash map's nodes and the offset of a value in a node.
	nodes, nodeSize, valueOffset uint64
}

// sizeofHash is sizeof(struct hash) of maps.c on MIPS32, rounded up to 8;
// sizeofNode is sizeof(struct node) (next, hash; the key follows).
const (
	sizeofHash = 32
	sizeofNode = 8
)

func round8(n uint64) uint64 { return (n + 7) &^ 7 }

// alloc is maps.c's heap_alloc.
func (s *heapStorage) alloc(size uint64) (uint32, error) {
	env := s.run.cur.env
	size = round8(size)
	addr, ok := env.Alloc(size)
	if !ok {
		return 0, fmt.Errorf("its storage needs %s bytes, the runtime heap has %d left", cNumber(size), env.HeapFree())
	}
	return addr, nil
}

func (s *heapStorage) Open() (uint64, map[uint32]uint64, error) {
	c, m := s.run.cur, s.def
	switch m.Type {
	case bpfrt.MapArray:
		stride := m.ValueStride()
		base, err := s.alloc(stride * uint64(m.MaxEntries))
		if err != nil {
			return 0, nil, err
		}
		s.state = base
		if s.initial != 0 {
			init, err := c.Bytes(uint64(s.initial), uint64(m.MaxEntries)*uint64(m.ValueSize))
			if err != nil {
				return 0, nil, err
			}
			values, err := c.Bytes(uint64(base), stride*uint64(m.MaxEntries))
			if err != nil {
				return 0, nil, err
			}
			for i := uint64(0); i < uint64(m.MaxEntries); i++ {
				copy(values[i*stride:], init[i*uint64(m.ValueSize):(i+1)*uint64(m.ValueSize)])
			}
		}
		return uint64(base), nil, nil
	case bpfrt.MapProgArray:
		base, err := s.alloc(4 * uint64(m.MaxEntries))
		if err != nil {
			return 0, nil, err
		}
		s.state = base
		slots := map[uint32]uint64{}
		if s.initial != 0 {
			init, err := c.Bytes(uint64(s.initial), 4*uint64(m.MaxEntries))
			if err != nil {
				return 0, nil, err
			}
			heap, err := c.Bytes(uint64(base), 4*uint64(m.MaxEntries))
			if err != nil {
				return 0, nil, err
			}
			copy(heap, init)
			for i := range m.MaxEntries {
				slots[i] = uint64(c.order.Uint32(init[4*i:]))
			}
		}
		return 0, slots, nil
	case bpfrt.MapHash:
		buckets := uint64(1)
		for buckets < uint64(m.MaxEntries) {
			buckets <<= 1
		}
		keySpace := round8(uint64(m.KeySize))
		s.nodeSize = sizeofNode + keySpace + round8(uint64(m.ValueSize))
		s.valueOffset = sizeofNode + keySpace
		base, err := s.alloc(sizeofHash + round8(4*buckets) + s.nodeSize*uint64(m.MaxEntries))
		if err != nil {
			return 0, nil, err
		}
		s.state = base
		s.nodes = uint64(base) + sizeofHash + round8(4*buckets)
		return 0, nil, nil
	}
	return 0, nil, fmt.Errorf("map type %d has no storage", m.Type) // bpfrt.Def.Check rejects it first
}

// HashValue is node i's value. A reused node's value is zeroed first, as
// maps.c clears a node it takes from the free list (a fresh one is zero).
func (s *heapStorage) HashValue(i uint32) (uint64, error) {
	addr := s.nodes + uint64(i)*s.nodeSize + s.valueOffset
	b, err := s.run.cur.Bytes(addr, round8(uint64(s.def.ValueSize)))
	if err != nil {
		return 0, err
	}
	clear(b)
	return addr, nil
}

// ProgSlot is the u32 entry address at addr.
func (s *heapStorage) ProgSlot(mem bpfrt.Memory, addr uint64) (uint64, error) {
	b, err := mem.Bytes(addr, 4)
	if err != nil {
		return 0, err
	}
	return uint64(mem.Order().Uint32(b)), nil
}
