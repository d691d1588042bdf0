package bpf

import (
	"errors"
	"fmt"
	"sort"

	"github.com/bpfopt/bpfopt/internal/bpfrt"
)

// Maps and data sections in the reference interpreter, mirroring bpfopt's
// runtime (backend/mips32/qemu/runner/maps.c) result for result, so that
// the two can be compared run for run; where the runtime follows Linux,
// so does this. What the map helpers do (results, errno values, flags,
// element reuse, geometry rules) is package internal/bpfrt's, shared with
// the simulator's runtime; this file gives bpfrt the interpreter's memory:
// handles, regions and the placement of map storage.
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
	// data and addr are a section's bytes and their address.
	data []byte
	addr uint64
	// m is a map's state (nil for a section); its storage is interpStorage.
	m *bpfrt.Map
}

// objectMemory is the state of an Object during one run.
type objectMemory struct {
	maps     []*runMap
	bySymbol map[string]*runMap
	regions  []dataRegion // sorted by base
	next     uint64       // next free address
	progs    map[string]*Program
	// progNames are the programs program arrays hold: slot value i+1 is
	// progNames[i] (bpfrt keeps slots as numbers, 0 = empty).
	progNames []string
}

// maxMapStorage bounds the bytes of one map's storage the interpreter
// allocates.
const maxMapStorage = 1 << 28

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
		} else {
			m.m = bpfrt.NewMap(mapDef(spec), &interpStorage{om: om, spec: spec})
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

func mapDef(spec *MapSpec) bpfrt.Def {
	return bpfrt.Def{Type: spec.Type, KeySize: spec.KeySize, ValueSize: spec.ValueSize, MaxEntries: spec.MaxEntries}
}

// open sets m's storage up at its first use (see the file comment).
func (om *objectMemory) open(m *runMap) error {
	if err := m.m.Open(); err != nil {
		return fmt.Errorf("map %s: %w", m.spec.Symbol, err)
	}
	return nil
}

// interpStorage places a map's storage in the interpreter's regions: an
// array's values in one region, each hash element's value in its own.
type interpStorage struct {
	om    *objectMemory
	spec  *MapSpec
	elems []uint64 // hash element i's value address
}

func (s *interpStorage) Open() (uint64, map[uint32]uint64, error) {
	spec := s.spec
	switch spec.Type {
	case MapTypeArray:
		stride := mapDef(spec).ValueStride()
		if stride*uint64(spec.MaxEntries) > maxMapStorage {
			return 0, nil, fmt.Errorf("%d values of %d bytes are too large for the interpreter", spec.MaxEntries, spec.ValueSize)
		}
		data := make([]byte, stride*uint64(spec.MaxEntries))
		for k, v := range spec.Values {
			if k >= spec.MaxEntries || uint32(len(v)) > spec.ValueSize {
				return 0, nil, fmt.Errorf("initial value for index %d does not fit", k)
			}
			copy(data[uint64(k)*stride:], v)
		}
		return s.om.alloc(data), nil, nil
	case MapTypeProgArray:
		slots := map[uint32]uint64{}
		for k, name := range spec.Programs {
			if k >= spec.MaxEntries {
				return 0, nil, fmt.Errorf("initial slot %d beyond max_entries %d", k, spec.MaxEntries)
			}
			slots[k] = s.om.progSlot(name)
		}
		return 0, slots, nil
	}
	return 0, nil, nil
}

// HashValue gives each element a region of exactly value_size bytes, at
// its first use; a reused element keeps its region.
func (s *interpStorage) HashValue(i uint32) (uint64, error) {
	if int(i) < len(s.elems) {
		return s.elems[i], nil
	}
	addr := s.om.alloc(make([]byte, s.spec.ValueSize))
	s.elems = append(s.elems, addr)
	return addr, nil
}

// ProgSlot refuses: the value would be a program, which a program cannot
// name to the interpreter.
func (s *interpStorage) ProgSlot(bpfrt.Memory, uint64) (uint64, error) {
	return 0, fmt.Errorf("map %s: setting a program array slot from a program is not supported", s.spec.Symbol)
}

// progSlot is the slot value that stands for the program called name.
func (om *objectMemory) progSlot(name string) uint64 {
	for i, n := range om.progNames {
		if n == name {
			return uint64(i) + 1
		}
	}
	om.progNames = append(om.progNames, name)
	return uint64(len(om.progNames))
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
func (vm *VM) openMap(h uint64) (*bpfrt.Map, error) {
	m := vm.handleMap(h)
	if m == nil {
		return nil, fmt.Errorf("0x%x is not a map", h)
	}
	return m.m, vm.objects.open(m)
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
		base := m.addr
		if !m.spec.Section {
			if m.spec.Type != MapTypeArray {
				return 0, vm.fail("lddw takes a value address of map %q, which is not an array or a data section", ref)
			}
			if err := vm.objects.open(m); err != nil {
				return 0, vm.fail("%v", err)
			}
			base = m.m.Values()
		}
		return base + uint64(int64(int32(in.Imm64>>32))), nil
	}
	return 0, vm.fail("lddw with pseudo source %s (%d) is not supported", pseudoNames[in.Src], in.Src)
}

// helperEnv is the interpreter as bpfrt's helpers see it.
type helperEnv struct{ *VM }

func (e helperEnv) Kernel() *bpfrt.Kernel                 { return &e.kernel.Kernel }
func (e helperEnv) Map(handle uint64) (*bpfrt.Map, error) { return e.openMap(handle) }

// runtimeHelpers adapts bpfrt's helpers to the interpreter's table.
func runtimeHelpers(hs []bpfrt.Helper) map[int32]Helper {
	t := make(map[int32]Helper, len(hs))
	for _, h := range hs {
		t[h.ID] = func(vm *VM, a [5]uint64) (uint64, error) {
			r, err := h.Func(helperEnv{vm}, a)
			if errors.Is(err, bpfrt.ErrStop) {
				return r, ErrStop
			}
			return r, err
		}
	}
	return t
}
