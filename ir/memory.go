package ir

import (
	"encoding/binary"
	"fmt"
)

// Region is a block of addressable bytes at Base.
type Region struct {
	Base uint32
	Data []byte
	Name string // for error messages ("stack", "ctx", ...)
}

// RegionMemory is a Memory made of disjoint regions; any access not wholly
// inside one region faults. It is what the interpreter runs against in
// tests and fuzzers, standing in for the target's address space.
type RegionMemory struct {
	Regions   []*Region
	BigEndian bool
}

var _ Memory = (*RegionMemory)(nil)

// bytesAt finds the size bytes at addr.
func (m *RegionMemory) bytesAt(addr uint32, size int) ([]byte, error) {
	switch size {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("memory access of unsupported size %d at %#x", size, addr)
	}
	for _, r := range m.Regions {
		// Compare in 64 bits: a region may end at 1<<32.
		off := uint64(addr) - uint64(r.Base)
		if addr >= r.Base && off+uint64(size) <= uint64(len(r.Data)) {
			return r.Data[off : off+uint64(size)], nil
		}
	}
	for _, r := range m.Regions {
		if addr >= r.Base && uint64(addr)-uint64(r.Base) < uint64(len(r.Data)) {
			return nil, fmt.Errorf("memory fault: %d-byte access at %#x runs past the end of region %q [%#x, %#x)",
				size, addr, r.Name, r.Base, uint64(r.Base)+uint64(len(r.Data)))
		}
	}
	return nil, fmt.Errorf("memory fault: %d-byte access at %#x is not inside any region", size, addr)
}

func (m *RegionMemory) order() binary.ByteOrder {
	if m.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Load reads size bytes at addr, zero-extended.
func (m *RegionMemory) Load(addr uint32, size int) (uint64, error) {
	b, err := m.bytesAt(addr, size)
	if err != nil {
		return 0, err
	}
	o := m.order()
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(o.Uint16(b)), nil
	case 4:
		return uint64(o.Uint32(b)), nil
	}
	return o.Uint64(b), nil
}

// Store writes the low size bytes of val at addr.
func (m *RegionMemory) Store(addr uint32, size int, val uint64) error {
	b, err := m.bytesAt(addr, size)
	if err != nil {
		return err
	}
	o := m.order()
	switch size {
	case 1:
		b[0] = byte(val)
	case 2:
		o.PutUint16(b, uint16(val))
	case 4:
		o.PutUint32(b, uint32(val))
	default:
		o.PutUint64(b, val)
	}
	return nil
}
