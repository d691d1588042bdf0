package bpf

import (
	"fmt"
	"sort"
)

// Maps and data sections in the reference interpreter, mirroring bpfopt's
// runtime (backend/mips32/qemu/runner/maps.c) result for result, so that
// the two can be compared run for run; where the runtime follows Linux,
// so does this.
//
// Memory. With RunConfig.Object set, every run starts from the object's
// initial state (nothing carries over between runs). Each data section
// (.rodata, .data, .bss) gets a copy of its bytes; a map gets its storage
// at its first use: an array max_entries values at a stride of value_size
// rounded up to 8 (initial contents from MapSpec.Values), a hash map one
// value_size region per element, allocated when inserted. A deleted hash
// element's region goes to a free list and is reused by the next insert
// (the last deleted first), as the runtime reuses its nodes, so a pointer
// kept across a delete behaves alike. Regions are allocated
// upwards from DataBase and separated by unmapped gaps, so running off one
// is an error rather than a write into the next.
//
// Handles. A map is known to the program by its handle, MapHandleBase +
// 0x100*i for the i-th map of the object: what an lddw with pseudo source
// map_fd or map_idx loads, and what the map helpers take. Handles are not
// memory: a load or store through one is an error. An lddw with pseudo
// source map_value or map_idx_value loads the address of a section's
// bytes, or of an array map's first value (as in Linux), plus the offset
// in the upper half of its constant.
//
// Geometry. At a map's first use its sizes are checked as the runtime
// checks them (array: key_size 4, value_size >= 1; hash: key_size 1..512,
// value_size >= 1; prog array: key_size and value_size 4; max_entries >=
// 1); a bad map or a type other than these three is an error.

// Addresses of the regions a run with an Object adds.
const (
	MapHandleBase uint64 = 0x2800_0000 // handle of map i: MapHandleBase + 0x100*i
	DataBase      uint64 = 0x3000_0000 // sections and map values, allocated upwards
)

const (
	mapHandleStride = 0x100
	regionGap       = 0x100 // unmapped bytes after each data region
)

// dataRegion is a piece of interpreter-owned memory at base.
type dataRegion struct {
	base uint64
	data []byte
}

// runMap is the run-time state of one map or data section.
type runMap struct {
	spec   *MapSpec
	handle uint64
	open   bool // storage set up (at first use)
	// data is a section's bytes or an array map's values (stride
	// valueStride), at addr.
	data []byte
	addr uint64
	// hash holds a hash map's elements by key bytes; free the deleted
	// elements, the last deleted last.
	hash map[string]*hashElem
	free []*hashElem
	// progs is a program array's contents: a program name per slot.
	progs map[uint32]string
}

type hashElem struct {
	value []byte
	addr  uint64
}

// objectMemory is the state of an Object during one run.
type objectMemory struct {
	maps     []*runMap
	bySymbol map[string]*runMap
	regions  []dataRegion // sorted by base
	next     uint64       // next free address
	progs    map[string]*Program
}

// Limits of map geometry (the runtime's, from Linux).
const (
	maxHashKeySize = 512
	maxMapStorage  = 1 << 28 // bytes of one map's storage the interpreter allocates
)

// valueStride is the distance between an array map's values: the value
// size rounded up to 8, as in Linux.
func valueStride(m *MapSpec) uint64 { return (uint64(m.ValueSize) + 7) &^ 7 }

// newObjectMemory lays out obj's sections for a run; maps are set up at
// their first use.
func newObjectMemory(obj *Object) *objectMemory {
	om := &objectMemory{bySymbol: map[string]*runMap{}, next: DataBase, progs: map[string]*Program{}}
	for _, p := range obj.Programs {
		om.progs[p.Name] = p
	}
	for i, spec := range obj.Maps {
		m := &runMap{spec: spec, handle: MapHandleBase + mapHandleStride*uint64(i)}
		if spec.Section {
			m.data = append([]byte(nil), spec.Data...)
			m.addr = om.alloc(m.data)
			m.open = true
		}
		om.maps = append(om.maps, m)
		om.bySymbol[spec.Symbol] = m
	}
	return om
}

// alloc places b at the next free address and returns it.
func (om *objectMemory) alloc(b []byte) uint64 {
	addr := om.next
	om.regions = append(om.regions, dataRegion{base: addr, data: b})
	om.next = (addr + uint64(len(b)) + regionGap + 7) &^ 7
	return addr
}

// find returns [addr, addr+n) as live memory, or nil.
func (om *objectMemory) find(addr, n uint64) []byte {
	i := sort.Search(len(om.regions), func(i int) bool { return om.regions[i].base > addr }) - 1
	if i < 0 {
		return nil
	}
	r := om.regions[i]
	return within(r.data, r.base, addr, n)
}

// setUp checks a map's geometry and creates its storage (see the file
// comment).
func (om *objectMemory) setUp(m *runMap) error {
	if m.open {
		return nil
	}
	spec := m.spec
	var kind string
	var key, value uint32 // required sizes, 0 for a range
	switch spec.Type {
	case MapTypeArray:
		kind, key = "array", 4
	case MapTypeHash:
		kind = "hash"
	case MapTypeProgArray:
		kind, key, value = "prog array", 4, 4
	default:
		return fmt.Errorf("map %s: unsupported type %d (the runtime has 1 hash, 2 array, 3 prog array)", spec.Symbol, spec.Type)
	}
	switch {
	case spec.MaxEntries == 0:
		return fmt.Errorf("map %s: %s max_entries 0 (must be at least 1)", spec.Symbol, kind)
	case key != 0 && spec.KeySize != key:
		return fmt.Errorf("map %s: %s key_size %d (must be %d)", spec.Symbol, kind, spec.KeySize, key)
	case key == 0 && (spec.KeySize == 0 || spec.KeySize > maxHashKeySize):
		return fmt.Errorf("map %s: %s key_size %d (must be 1..%d)", spec.Symbol, kind, spec.KeySize, maxHashKeySize)
	case value != 0 && spec.ValueSize != value:
		return fmt.Errorf("map %s: %s value_size %d (must be %d)", spec.Symbol, kind, spec.ValueSize, value)
	case spec.ValueSize == 0:
		return fmt.Errorf("map %s: %s value_size 0 (must be at least 1)", spec.Symbol, kind)
	}
	switch spec.Type {
	case MapTypeArray:
		size := valueStride(spec) * uint64(spec.MaxEntries)
		if size > maxMapStorage {
			return fmt.Errorf("map %s: %d values of %d bytes are too large for the interpreter", spec.Symbol, spec.MaxEntries, spec.ValueSize)
		}
		m.data = make([]byte, size)
		for k, v := range spec.Values {
			if k >= spec.MaxEntries || uint32(len(v)) > spec.ValueSize {
				return fmt.Errorf("map %s: initial value for index %d does not fit", spec.Symbol, k)
			}
			copy(m.data[uint64(k)*valueStride(spec):], v)
		}
		m.addr = om.alloc(m.data)
	case MapTypeHash:
		m.hash = map[string]*hashElem{}
	case MapTypeProgArray:
		m.progs = map[uint32]string{}
		for k, name := range spec.Programs {
			if k >= spec.MaxEntries {
				return fmt.Errorf("map %s: initial slot %d beyond max_entries %d", spec.Symbol, k, spec.MaxEntries)
			}
			m.progs[k] = name
		}
	}
	m.open = true
	return nil
}

// objectRegion is region's fallback for the object's memory.
func (vm *VM) objectRegion(addr, n uint64) []byte {
	if vm.objects == nil {
		return nil
	}
	return vm.objects.find(addr, n)
}

// handleMap returns the map whose handle is h, or nil.
func (vm *VM) handleMap(h uint64) *runMap {
	if vm.objects != nil && h >= MapHandleBase && (h-MapHandleBase)%mapHandleStride == 0 {
		if i := (h - MapHandleBase) / mapHandleStride; i < uint64(len(vm.objects.maps)) {
			if m := vm.objects.maps[i]; !m.spec.Section {
				return m
			}
		}
	}
	return nil
}

// openMap returns the map whose handle is h, set up for use.
func (vm *VM) openMap(h uint64) (*runMap, error) {
	m := vm.handleMap(h)
	if m == nil {
		return nil, fmt.Errorf("0x%x is not a map", h)
	}
	return m, vm.objects.setUp(m)
}

// pseudoLoad is the value of an lddw with a pseudo source: a map's handle
// or the address of a map value.
func (vm *VM) pseudoLoad(in Insn) (uint64, error) {
	ref := vm.prog.Refs[in.Slot]
	if vm.objects == nil || ref == "" {
		return 0, vm.fail("lddw with pseudo source %s (%d) needs a loader; the interpreter runs plain constants only", pseudoNames[in.Src], in.Src)
	}
	m := vm.objects.bySymbol[SymbolName(ref)]
	if m == nil {
		return 0, vm.fail("lddw refers to %q, which the object does not define", ref)
	}
	switch in.Src {
	case PseudoMapFD, PseudoMapIdx:
		if m.spec.Section { // the runtime gives the section's address either way
			return m.addr, nil
		}
		return m.handle, nil
	case PseudoMapValue, PseudoMapIdxValue:
		if !m.spec.Section && m.spec.Type != MapTypeArray {
			return 0, vm.fail("lddw takes a value address of map %q, which is not an array or a data section", ref)
		}
		if err := vm.objects.setUp(m); err != nil {
			return 0, vm.fail("%v", err)
		}
		return m.addr + uint64(int64(int32(in.Imm64>>32))), nil
	}
	return 0, vm.fail("lddw with pseudo source %s (%d) is not supported", pseudoNames[in.Src], in.Src)
}

// Errno values the map helpers return, negated (Linux's numbering).
const (
	errnoENOENT = 2
	errnoE2BIG  = 7
	errnoEEXIST = 17
	errnoEINVAL = 22
)

// Update flags of bpf_map_update_elem.
const (
	mapUpdateAny     = 0 // BPF_ANY: create or replace
	mapUpdateNoExist = 1 // BPF_NOEXIST: create only
	mapUpdateExist   = 2 // BPF_EXIST: replace only
)

func negErrno(e int64) uint64 { return uint64(-e) }

// mapKey reads the key at addr for m.
func (vm *VM) mapKey(m *runMap, addr uint64) ([]byte, error) {
	return vm.Bytes(addr, uint64(m.spec.KeySize))
}

// index reads an array or prog array key: a u32.
func (vm *VM) index(addr uint64) (uint32, error) {
	k, err := vm.Bytes(addr, 4)
	if err != nil {
		return 0, err
	}
	return vm.order.Uint32(k), nil
}

// mapLookup is bpf_map_lookup_elem(map, key): the address of the value,
// or 0 when there is none (always for a prog array: Linux does not let
// programs look them up).
func mapLookup(vm *VM, a [5]uint64) (uint64, error) {
	m, err := vm.openMap(a[0])
	if err != nil {
		return 0, err
	}
	switch m.spec.Type {
	case MapTypeArray:
		i, err := vm.index(a[1])
		if err != nil || i >= m.spec.MaxEntries {
			return 0, err
		}
		return m.addr + uint64(i)*valueStride(m.spec), nil
	case MapTypeHash:
		k, err := vm.mapKey(m, a[1])
		if err != nil {
			return 0, err
		}
		if e := m.hash[string(k)]; e != nil {
			return e.addr, nil
		}
	}
	return 0, nil
}

// mapUpdate is bpf_map_update_elem(map, key, value, flags): 0 or a
// negative errno. A prog array slot cannot be set from here: its value
// would be a program, which the interpreter cannot name.
func mapUpdate(vm *VM, a [5]uint64) (uint64, error) {
	m, err := vm.openMap(a[0])
	if err != nil {
		return 0, err
	}
	flags := a[3]
	if m.spec.Type == MapTypeProgArray && flags != mapUpdateAny || flags > mapUpdateExist {
		return negErrno(errnoEINVAL), nil
	}
	if m.spec.Type == MapTypeHash {
		return vm.hashUpdate(m, a[1], a[2], flags)
	}
	i, err := vm.index(a[1])
	if err != nil {
		return 0, err
	}
	switch {
	case i >= m.spec.MaxEntries:
		return negErrno(errnoE2BIG), nil
	case m.spec.Type == MapTypeProgArray:
		return 0, fmt.Errorf("map %s: setting a program array slot from a program is not supported", m.spec.Symbol)
	case flags == mapUpdateNoExist: // every index of an array exists
		return negErrno(errnoEEXIST), nil
	}
	val, err := vm.Bytes(a[2], uint64(m.spec.ValueSize))
	if err != nil {
		return 0, err
	}
	copy(m.data[uint64(i)*valueStride(m.spec):], val)
	return 0, nil
}

func (vm *VM) hashUpdate(m *runMap, keyAddr, valAddr, flags uint64) (uint64, error) {
	key, err := vm.mapKey(m, keyAddr)
	if err != nil {
		return 0, err
	}
	val := func() ([]byte, error) { return vm.Bytes(valAddr, uint64(m.spec.ValueSize)) }
	e := m.hash[string(key)]
	switch {
	case e != nil && flags == mapUpdateNoExist:
		return negErrno(errnoEEXIST), nil
	case e != nil: // replaced in place: earlier lookups see the new value
		v, err := val()
		if err != nil {
			return 0, err
		}
		copy(e.value, v)
		return 0, nil
	case flags == mapUpdateExist:
		return negErrno(errnoENOENT), nil
	case len(m.free) == 0 && uint32(len(m.hash)) >= m.spec.MaxEntries:
		return negErrno(errnoE2BIG), nil
	}
	v, err := val()
	if err != nil {
		return 0, err
	}
	if n := len(m.free); n > 0 { // the last deleted element's memory
		e, m.free = m.free[n-1], m.free[:n-1]
	} else {
		e = &hashElem{value: make([]byte, m.spec.ValueSize)}
		e.addr = vm.objects.alloc(e.value)
	}
	copy(e.value, v)
	m.hash[string(key)] = e
	return 0, nil
}

// mapDelete is bpf_map_delete_elem(map, key): 0 or a negative errno.
func mapDelete(vm *VM, a [5]uint64) (uint64, error) {
	m, err := vm.openMap(a[0])
	if err != nil {
		return 0, err
	}
	switch m.spec.Type {
	case MapTypeHash:
		k, err := vm.mapKey(m, a[1])
		if err != nil {
			return 0, err
		}
		e := m.hash[string(k)]
		if e == nil {
			return negErrno(errnoENOENT), nil
		}
		delete(m.hash, string(k))
		m.free = append(m.free, e)
		return 0, nil
	case MapTypeProgArray:
		i, err := vm.index(a[1])
		if err != nil {
			return 0, err
		}
		if i >= m.spec.MaxEntries {
			return negErrno(errnoE2BIG), nil
		}
		if _, ok := m.progs[i]; !ok {
			return negErrno(errnoENOENT), nil
		}
		delete(m.progs, i)
		return 0, nil
	}
	return negErrno(errnoEINVAL), nil // array elements cannot be deleted
}
