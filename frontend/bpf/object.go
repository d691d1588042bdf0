package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/cilium/ebpf"
)

// Object is everything of an ELF object that compiled code needs: its
// programs and the maps and data sections they refer to.
type Object struct {
	Programs []*Program // sorted by name
	Maps     []*MapSpec // sorted by symbol
}

// MapSpec is a map or a data section of an ELF object.
type MapSpec struct {
	// Symbol is the linker symbol code refers to (SymbolName of the ELF
	// name: ".rodata" becomes "__rodata").
	Symbol string
	// Section is true for .rodata, .data and .bss (and their .name
	// variants): the symbol addresses the section's bytes, Data.
	Section bool
	Data    []byte

	Type, KeySize, ValueSize, MaxEntries, Flags uint32
	// Values are the initial contents of an array map, by index.
	Values map[uint32][]byte
	// Programs are the initial contents of a program array: the name of
	// the program in each slot.
	Programs map[uint32]string
}

// Map types bpfopt's runtime knows (the kernel's numbering).
const (
	MapTypeHash      = 1
	MapTypeArray     = 2
	MapTypeProgArray = 3
)

// LoadELFObject reads an ELF object's programs, maps and data sections.
func LoadELFObject(r io.ReaderAt) (obj *Object, err error) {
	defer func() { // cilium may panic on malformed input
		if v := recover(); v != nil {
			obj, err = nil, fmt.Errorf("ELF: malformed object (%v)", v)
		}
	}()
	progs, err := LoadELF(r)
	if err != nil {
		return nil, err
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("ELF: %w", err)
	}
	obj = &Object{Programs: progs}
	for name, ms := range spec.Maps {
		m, err := convertMap(name, ms, spec.ByteOrder)
		if err != nil {
			return nil, fmt.Errorf("ELF map %q: %w", name, err)
		}
		obj.Maps = append(obj.Maps, m)
	}
	slices.SortFunc(obj.Maps, func(a, b *MapSpec) int {
		if a.Symbol < b.Symbol {
			return -1
		}
		if a.Symbol > b.Symbol {
			return 1
		}
		return 0
	})
	return obj, nil
}

func convertMap(name string, ms *ebpf.MapSpec, order binary.ByteOrder) (*MapSpec, error) {
	m := &MapSpec{Symbol: SymbolName(name), Type: uint32(ms.Type), KeySize: ms.KeySize,
		ValueSize: ms.ValueSize, MaxEntries: ms.MaxEntries, Flags: ms.Flags}
	if len(name) > 0 && name[0] == '.' {
		// cilium models a data section as a one-entry array whose value
		// is the section's bytes (zeros for .bss).
		m.Section = true
		m.Data = make([]byte, ms.ValueSize)
		if len(ms.Contents) > 0 {
			if b, ok := ms.Contents[0].Value.([]byte); ok {
				copy(m.Data, b)
			}
		}
		return m, nil
	}
	for _, kv := range ms.Contents {
		key, ok := mapIndex(kv.Key)
		if !ok {
			return nil, fmt.Errorf("initial contents with key %v: only integer keys are supported", kv.Key)
		}
		switch v := kv.Value.(type) {
		case string: // a program array slot naming a program
			if ms.Type != ebpf.ProgramArray {
				return nil, fmt.Errorf("initial contents naming %q in a map of type %v: maps of maps are not supported", v, ms.Type)
			}
			if m.Programs == nil {
				m.Programs = map[uint32]string{}
			}
			m.Programs[key] = v
		case []byte:
			if m.Values == nil {
				m.Values = map[uint32][]byte{}
			}
			m.Values[key] = v
		default:
			var buf bytes.Buffer
			if err := binary.Write(&buf, order, v); err != nil {
				return nil, fmt.Errorf("initial value %v of type %T is not supported", v, v)
			}
			if m.Values == nil {
				m.Values = map[uint32][]byte{}
			}
			m.Values[key] = buf.Bytes()
		}
	}
	return m, nil
}

func mapIndex(k any) (uint32, bool) {
	switch k := k.(type) {
	case uint32:
		return k, true
	case int32:
		return uint32(k), true
	case int:
		return uint32(k), true
	case uint64:
		return uint32(k), true
	}
	return 0, false
}
