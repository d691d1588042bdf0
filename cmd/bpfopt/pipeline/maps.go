package pipeline

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim/runner"
	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// Map objects in a module's data are struct bpf_map, the runtime ABI that
// the run engines' helpers implement (backend/mips32/qemu/runner, and
// backend/mips32/sim/runner, whose MapWord constants give the layout) and
// that docs/abi.md documents. Initial contents: an array's
// max_entries*value_size bytes; a program array's max_entries u32 entry
// addresses (0 = empty slot).

// emitMaps adds every map and data section of the object to the module's
// data: a section's bytes under its (local) symbol, a map as a global
// bpf_map object with its initial contents in a local "<map>__init".
func emitMaps(mod *mips32.Module, maps []*bpf.MapSpec, t mips32.Target) error {
	order := t.ByteOrder()
	for _, m := range maps {
		if m.Section {
			mod.AddData(m.Symbol, m.Data, 8, true)
			continue
		}
		obj := make([]byte, runner.MapObjectSize)
		for word, v := range map[int]uint32{
			runner.MapWordType:       m.Type,
			runner.MapWordKeySize:    m.KeySize,
			runner.MapWordValueSize:  m.ValueSize,
			runner.MapWordMaxEntries: m.MaxEntries,
			runner.MapWordFlags:      m.Flags,
		} {
			order.PutUint32(obj[4*word:], v)
		}
		off := mod.AddData(m.Symbol, obj, 8, false)
		init, relocs, err := initialContents(m, order)
		if err != nil {
			return fmt.Errorf("map %s: %w", m.Symbol, err)
		}
		if init == nil {
			continue
		}
		initSym := m.Symbol + "__init"
		initOff := mod.AddData(initSym, init, 8, true)
		mod.AddDataReloc(off+4*runner.MapWordInitial, initSym)
		for slot, prog := range relocs {
			if _, ok := mod.Entry(prog); !ok {
				return fmt.Errorf("map %s: slot %d names program %q, which is not compiled", m.Symbol, slot, prog)
			}
			mod.AddDataReloc(initOff+4*slot, prog)
		}
	}
	return nil
}

// initialContents returns a map's initial contents block and, for a
// program array, the program named in each slot (relocated to its entry).
func initialContents(m *bpf.MapSpec, order binary.ByteOrder) ([]byte, map[uint32]string, error) {
	switch {
	case len(m.Programs) > 0:
		if m.Type != bpf.MapTypeProgArray {
			return nil, nil, fmt.Errorf("programs as initial contents of a map of type %d", m.Type)
		}
		block := make([]byte, 4*m.MaxEntries)
		for slot := range m.Programs {
			if slot >= m.MaxEntries {
				return nil, nil, fmt.Errorf("initial slot %d beyond max_entries %d", slot, m.MaxEntries)
			}
		}
		return block, m.Programs, nil
	case len(m.Values) > 0:
		if m.Type != bpf.MapTypeArray {
			return nil, nil, fmt.Errorf("initial contents for a map of type %d are not supported", m.Type)
		}
		block := make([]byte, m.ValueSize*m.MaxEntries)
		for i, v := range m.Values {
			if i >= m.MaxEntries || uint32(len(v)) > m.ValueSize {
				return nil, nil, fmt.Errorf("initial value for index %d does not fit", i)
			}
			copy(block[i*m.ValueSize:], v)
		}
		return block, nil, nil
	}
	return nil, nil, nil
}
