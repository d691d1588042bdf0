// Package runner is the sim engine's BPF runtime: the Go twin of the qemu
// engine's C runner (backend/mips32/qemu/runner: helpers.c, maps.c), which
// stays the reference for MIPS execution. It serves compiled code the same
// symbols as externs of a sim.Machine:
//
//	bpf_helper_N, bpf_callx    Linux's helpers 1, 2, 3 (maps), 5 (ktime),
//	                           7 (prandom), 8 (processor id)
//	bpf_tail_call_target       a program array's slot, for a tail call
//	ubpf_helper_N, ubpf_callx  the conformance suite's helpers 0..5
//
// with the same struct bpf_map objects in the module's data (docs/abi.md),
// their storage laid out in the simulated heap (sim.HeapBase, the qemu
// runner's heap address) exactly as maps.c lays it out, and the same error
// messages, so that a run on either engine gives the same results,
// pointers included. What the helpers do (results, errno values, flags,
// element reuse, geometry rules) is package internal/bpfrt's, which the
// reference interpreter shares.
//
// Differences from the C runner, all on programs that misuse the runtime:
// a map object's geometry is read once, at its first use in a run (C
// rereads it at every call); the hash tables' indexes are kept in Go, so
// that nodes hold only their values (C's node headers and keys are not
// written) and a program scribbling over the heap cannot corrupt them;
// and a helper that reads memory checks a range before it writes any of
// it (C's memcpy faults halfway).
//
// Import rule: like package sim, it imports backend/mips32 for types only,
// never frontend or passes; it knows BPF helpers by ID and name, as the C
// runner does, not instruction encodings.
package runner

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/internal/bpfrt"
	"github.com/bpfopt/bpfopt/ir"
)

// The struct bpf_map layout (docs/abi.md): eight u32 words, the map
// objects the compiler emits in a module's data (cmd/bpfopt/pipeline) and
// both runtimes read: this package and the C runner's maps.c, whose
// struct the tests check against these constants.
const (
	MapObjectSize     = 32 // bytes, 4-byte aligned
	MapWordType       = 0  // BPF_MAP_TYPE_*
	MapWordKeySize    = 1
	MapWordValueSize  = 2
	MapWordMaxEntries = 3
	MapWordFlags      = 4 // map_flags from the ELF, unused
	MapWordInitial    = 5 // address of the initial contents, or 0
	MapWordState      = 6 // the runtime's, 0 until first use
	MapWordReserved   = 7
)

// TailCallTargetSymbol is the routine a compiled tail call asks for the
// entry address in a program array's slot.
const TailCallTargetSymbol = "bpf_tail_call_target"

// Configure returns opts with the runtime installed: its symbols among the
// Externs (an extern opts already has keeps its name) and its per-run
// state as NewRunState.
func Configure(opts sim.Options) sim.Options {
	externs := make(map[string]*ir.RuntimeFunc, len(symbols)+len(opts.Externs))
	for name, f := range symbols {
		externs[name] = f
	}
	for name, f := range opts.Externs {
		externs[name] = f
	}
	opts.Externs = externs
	opts.NewRunState = newRunState
	return opts
}

// runState is the runtime's state in one run: the kernel helpers' and the
// maps', by the address of their struct bpf_map.
type runState struct {
	kernel bpfrt.Kernel
	maps   map[uint32]*bpfrt.Map
	cur    *call // the call being served, for the maps' storage
}

func newRunState() any {
	return &runState{kernel: bpfrt.NewKernel(), maps: map[uint32]*bpfrt.Map{}}
}

// call is one call of a runtime routine: the bpfrt.Env the helpers run
// against.
type call struct {
	env   *sim.Env
	state *runState
	order binary.ByteOrder
}

func newCall(m ir.Memory) (*call, error) {
	env, ok := m.(*sim.Env)
	if !ok {
		return nil, errors.New("the BPF runtime runs on the simulator only")
	}
	state, ok := env.RunState().(*runState)
	if !ok {
		return nil, errors.New("the BPF runtime has no per-run state (build the machine's options with runner.Configure)")
	}
	c := &call{env: env, state: state, order: binary.LittleEndian}
	if env.BigEndian() {
		c.order = binary.BigEndian
	}
	state.cur = c
	return c, nil
}

// Bytes is the run's memory at a BPF pointer: a 32-bit address,
// zero-extended (as the C runner's check_pointer requires).
func (c *call) Bytes(addr, n uint64) ([]byte, error) {
	if addr>>32 != 0 {
		return nil, fmt.Errorf("pointer %s is not a 32-bit address", cNumber(addr))
	}
	if n >= 1<<32 || n > 1<<32-addr {
		return nil, fmt.Errorf("%s bytes at 0x%08x run past the end of the address space", cNumber(n), addr)
	}
	return c.env.Bytes(uint32(addr), uint32(n))
}

func (c *call) Order() binary.ByteOrder { return c.order }

func (c *call) Kernel() *bpfrt.Kernel { return &c.state.kernel }

// word reads the u32 at addr.
func (c *call) word(addr uint32) (uint32, error) {
	b, err := c.env.Bytes(addr, 4)
	if err != nil {
		return 0, err
	}
	return c.order.Uint32(b), nil
}

// Map is maps.c's open_map: the map object at the address arg, set up at
// its first use in the run.
func (c *call) Map(arg uint64) (*bpfrt.Map, error) {
	if arg>>32 != 0 {
		return nil, fmt.Errorf("pointer %s is not a 32-bit address", cNumber(arg))
	}
	addr := uint32(arg)
	if addr%4 != 0 {
		return nil, fmt.Errorf("map pointer 0x%08x is not 4-byte aligned", addr)
	}
	if m := c.state.maps[addr]; m != nil {
		return m, nil
	}
	obj, err := c.env.Bytes(addr, MapObjectSize)
	if err != nil {
		return nil, err
	}
	w := func(i int) uint32 { return c.order.Uint32(obj[4*i:]) }
	if state := w(MapWordState); state != 0 {
		return nil, fmt.Errorf("map at 0x%08x: state word 0x%08x is not the runtime's (map objects start with state 0)", addr, state)
	}
	def := bpfrt.Def{Type: w(MapWordType), KeySize: w(MapWordKeySize), ValueSize: w(MapWordValueSize), MaxEntries: w(MapWordMaxEntries)}
	store := &heapStorage{run: c.state, initial: w(MapWordInitial), def: def}
	m := bpfrt.NewMap(def, store)
	if err := m.Open(); err != nil {
		return nil, fmt.Errorf("map at 0x%08x: %w", addr, err)
	}
	// As maps.c does, the object's state word points to the storage.
	if obj, err = c.env.Bytes(addr, MapObjectSize); err != nil {
		return nil, err
	}
	c.order.PutUint32(obj[4*MapWordState:], store.state)
	c.state.maps[addr] = m
	return m, nil
}

// tailCallTarget is maps.c's bpf_tail_call_target(map, index): the entry
// address in the slot, or 0. An aligned map that is not a program array
// has no targets, whatever else is wrong with it.
func (c *call) tailCallTarget(mapArg, index uint64) (uint64, error) {
	if mapArg>>32 == 0 && mapArg%4 == 0 && c.state.maps[uint32(mapArg)] == nil {
		typ, err := c.word(uint32(mapArg))
		if err != nil {
			return 0, err
		}
		if typ != bpfrt.MapProgArray {
			return 0, nil
		}
	}
	m, err := c.Map(mapArg)
	if err != nil {
		return 0, err
	}
	return m.TailTarget(index)
}

// cNumber formats v as the C runner's fail_number does: decimal below
// 2^32, else hex.
func cNumber(v uint64) string {
	if v>>32 != 0 {
		return fmt.Sprintf("0x%x", v)
	}
	return fmt.Sprint(v)
}
