package sim

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/ir"
)

// Options configure a Machine.
type Options struct {
	Target mips32.Target
	// MaxSteps bounds the instructions one run executes; by default
	// DefaultMaxSteps. Reaching it is a StepLimit fault.
	MaxSteps int64
	// StackSize is the stack region's size in bytes, a multiple of 8; by
	// default DefaultStackSize.
	StackSize int
	// Externs are routines served besides the runtime functions of package
	// ir (libgcc's and libatomic's), by symbol: BPF helpers, for example.
	// They take precedence over ir's. Each needs an Eval; Params are I32
	// or I64, Result I32, I64 or TypeVoid. An Eval that returns a *Stop
	// (possibly wrapped) ends the run as if the function had returned. Its
	// ir.Memory is an *Env.
	Externs map[string]*ir.RuntimeFunc
	// NewRunState makes the Externs' state for one run (Env.RunState).
	NewRunState func() any
	// HeapSize bounds the runtime heap the Externs allocate from
	// (Env.Alloc), in bytes; by default DefaultHeapSize.
	HeapSize int
}

// DefaultMaxSteps bounds a run when Options.MaxSteps is 0.
const DefaultMaxSteps = 1 << 28

// Stop, returned by an extern's Eval, ends the run at once as if the
// function had returned R0 (uBPF's "unwind" helper does this). The
// callee-saved registers are not checked then.
type Stop struct{ R0 uint64 }

func (s *Stop) Error() string { return fmt.Sprintf("program stopped with r0 = %#x", s.R0) }

// Machine runs MIPS32 functions. It is safe for concurrent use: each Run
// has its own registers and memory.
type Machine struct {
	opts     Options
	dec      decoder
	pristine []byte    // a fresh stack's contents
	cpus     sync.Pool // of *cpu, their stacks as pristine

	mu   sync.Mutex
	last *program // the last program decoded, reused when the code repeats
}

// New checks opts and returns a Machine.
func New(opts Options) (*Machine, error) {
	dec, err := newDecoder(opts.Target)
	if err != nil {
		return nil, err
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.StackSize == 0 {
		opts.StackSize = DefaultStackSize
	}
	if opts.HeapSize == 0 {
		opts.HeapSize = DefaultHeapSize
	}
	if opts.HeapSize < 0 || opts.HeapSize > MaxHeapSize {
		return nil, fmt.Errorf("sim: heap size %d is not between 0 and %d", opts.HeapSize, MaxHeapSize)
	}
	if opts.StackSize < mips32.HomeAreaSize || opts.StackSize%mips32.StackAlign != 0 || opts.StackSize > MaxStackSize {
		return nil, fmt.Errorf("sim: stack size %d is not a multiple of %d between %d and %d", opts.StackSize, mips32.StackAlign, mips32.HomeAreaSize, MaxStackSize)
	}
	for name, f := range opts.Externs {
		if err := checkSignature(name, f); err != nil {
			return nil, err
		}
	}
	m := &Machine{opts: opts, dec: dec, pristine: make([]byte, opts.StackSize)}
	// Uninitialized stack words read as a recognizable, address-dependent
	// pattern: code that uses one gets garbage, not a lucky zero.
	order := opts.Target.ByteOrder()
	for i := 0; i < len(m.pristine); i += 4 {
		order.PutUint32(m.pristine[i:], 0x57ac0000^uint32(i))
	}
	return m, nil
}

func checkSignature(name string, f *ir.RuntimeFunc) error {
	if f == nil || f.Eval == nil {
		return fmt.Errorf("sim: extern %q has no Eval", name)
	}
	for i, p := range f.Params {
		if p != ir.I32 && p != ir.I64 {
			return fmt.Errorf("sim: extern %q: parameter %d has type %s (want i32 or i64)", name, i, p)
		}
	}
	switch f.Result {
	case ir.I32, ir.I64, ir.TypeVoid:
		return nil
	}
	return fmt.Errorf("sim: extern %q: result type %s (want i32, i64 or void)", name, f.Result)
}

// Options returns the machine's options with defaults filled in.
func (m *Machine) Options() Options { return m.opts }

// Result is the outcome of a run.
type Result struct {
	// R0 is the function's 64-bit return value (v0/v1 under O32: v0 is the
	// low word on little-endian, the high word on big-endian), valid when
	// Fault is nil or an ABI violation at the final return.
	R0 uint64
	// Mem is the memory block after the run (also after a fault).
	Mem []byte
	// MemAddr is the address of the memory block: the first argument.
	MemAddr uint32
	// Fault is nil when the function returned normally.
	Fault *Fault
	Stats Stats
}

// Stats counts what a run did, up to a fault. Cycles follow the model in
// the package documentation.
type Stats struct {
	Insns  int64 // instructions executed (annulled delay slots excluded)
	Cycles int64 // estimated cycles, stalls and runtime routines included
	Stalls int64 // cycles spent waiting for a load, multiply or divide result
	Loads  int64 // load instructions, ll included
	Stores int64 // store instructions, sc included
	// Branches counts branches and jumps, calls and returns included;
	// TakenBranches those that transferred control.
	Branches, TakenBranches int64
	Annulled                int64 // delay slots of untaken branch-likely instructions
	Calls                   int64 // linking branches and jumps: jal, jalr, bal, bgezal, ...
	RuntimeCalls            int64 // calls of runtime routines, served in Go
}

// program is a linked, decoded module.
type program struct {
	mod    Module   // as given to RunModule (copied): the cache key
	syms   []symbol // the runtime routines relocs refer to
	linked []byte
	data   []byte // linked[CodeSize:]: every run starts from a copy
	insts  []inst
	bad    map[uint32]*badInst // by instruction index
}

// symbol is a runtime routine a run's code refers to.
type symbol struct {
	name string
	fn   *ir.RuntimeFunc
	addr uint32
	cost int64 // cycles, see runtimeCost
}

// Run links code at CodeBase (applying relocs against the runtime
// routines, see Symbols), calls uint64 fn(void *ctx, uint32 len) at byte
// offset entry with ctx pointing to an 8-byte-aligned copy of mem and len =
// len(mem), and returns the result, the final memory and statistics. An
// error means bad input; a program's own faults are in Result.Fault.
func (m *Machine) Run(code []byte, relocs []mips32.Reloc, entry uint32, mem []byte) (*Result, error) {
	if len(code) == 0 || len(code)%4 != 0 {
		return nil, fmt.Errorf("sim: code size %d is not a positive multiple of 4", len(code))
	}
	return m.RunModule(&Module{Image: code, CodeSize: uint32(len(code)), Relocs: relocs}, entry, mem)
}

// Module is code with the data it refers to, laid out as the qemu engine's
// RunModule lays a module's image out (backend/mips32.Module.Image): the
// code at CodeBase, fetch only, then the data, mapped for loads and
// stores. Every run starts from the data as linked.
type Module struct {
	// Image is the code, Image[:CodeSize], then the data.
	Image    []byte
	CodeSize uint32
	// Relocs are the relocations anywhere in the image (R_MIPS_32 words of
	// the data included). A symbol resolves to the module's own (Symbols)
	// first, then to a runtime routine.
	Relocs []mips32.Reloc
	// Symbols are the module's symbols, as offsets into Image.
	Symbols map[string]uint32
}

// RunModule is Run for a module with data: it links the module at
// CodeBase, runs the function at byte offset entry of its code and
// returns what Run returns.
func (m *Machine) RunModule(mod *Module, entry uint32, mem []byte) (res *Result, err error) {
	defer func() {
		// The loop is written not to panic (uint8 register numbers index
		// 256-entry arrays); this is the last line of "errors, never
		// panics", also for an extern's Eval.
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("sim: internal error: %v", r)
		}
	}()
	if err := mod.check(); err != nil {
		return nil, err
	}
	if entry%4 != 0 || entry >= mod.CodeSize {
		return nil, fmt.Errorf("sim: entry offset %#x is not an instruction of the %d-byte code", entry, mod.CodeSize)
	}
	if len(mem) > MaxMemSize {
		return nil, fmt.Errorf("sim: memory block of %d bytes exceeds the %d-byte limit", len(mem), MaxMemSize)
	}
	prog, err := m.program(mod)
	if err != nil {
		return nil, err
	}

	c, _ := m.cpus.Get().(*cpu)
	if c == nil {
		c = &cpu{m: m, mem: memory{be: m.opts.Target.BigEndian, stack: slices.Clone(m.pristine)}}
		c.mem.stackBase = StackTop - uint32(len(c.mem.stack))
	}
	memAddr := MemEnd - uint32((len(mem)+7)&^7)
	c.prog = prog
	c.mem.dataBase = memAddr
	c.mem.data = append(make([]byte, 0, len(mem)), mem...)
	c.mem.dirty = uint32(len(c.mem.stack))
	c.mem.modBase = CodeBase + prog.mod.CodeSize
	c.mem.mod = append(c.mem.mod[:0], prog.data...)
	c.mem.heap = c.mem.heap[:0]
	c.start(CodeBase+entry, memAddr, uint32(len(mem)))
	c.run()
	res = &Result{Mem: c.mem.data, MemAddr: memAddr, Fault: c.fault, Stats: c.stats}
	if c.returned {
		res.R0 = c.r0
	}

	// Refill what the run wrote before the stack goes back to the pool.
	copy(c.mem.stack[c.mem.dirty:], m.pristine[c.mem.dirty:])
	c.prog, c.mem.data, c.fault, c.runState = nil, nil, nil, nil
	m.cpus.Put(c)
	return res, nil
}

// check rejects a module the machine cannot load.
func (mod *Module) check() error {
	if mod.CodeSize == 0 || mod.CodeSize%4 != 0 || uint64(mod.CodeSize) > uint64(len(mod.Image)) {
		return fmt.Errorf("sim: code size %d is not a positive multiple of 4 within the %d-byte image", mod.CodeSize, len(mod.Image))
	}
	if len(mod.Image) > MaxCodeSize {
		return fmt.Errorf("sim: module of %d bytes exceeds the %d-byte code region", len(mod.Image), MaxCodeSize)
	}
	for name, off := range mod.Symbols {
		if uint64(off) > uint64(len(mod.Image)) {
			return fmt.Errorf("sim: module symbol %q at offset %#x lies outside the %d-byte module", name, off, len(mod.Image))
		}
	}
	return nil
}

// symbols resolves the symbols relocs name that local does not define,
// giving each a slot in the runtime page in the order of their names.
func (m *Machine) symbols(relocs []mips32.Reloc, local map[string]uint32) ([]symbol, error) {
	var names []string
	for _, r := range relocs {
		if _, ok := local[r.Sym]; !ok {
			names = append(names, r.Sym)
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	syms := make([]symbol, 0, len(names))
	for i, name := range names {
		fn := m.lookup(name)
		if fn == nil {
			for j, r := range relocs {
				if r.Sym == name {
					return nil, fmt.Errorf("sim: relocation %d (%s) at offset %#x: unknown symbol %q (the simulator serves the module's symbols, the runtime functions of package ir and Options.Externs)", j, r.Type, r.Offset, name)
				}
			}
		}
		syms = append(syms, symbol{name: name, fn: fn, addr: RuntimeBase + uint32(i)*runtimeStride, cost: runtimeCost(name)})
	}
	return syms, nil
}

func (m *Machine) lookup(name string) *ir.RuntimeFunc {
	if f, ok := m.opts.Externs[name]; ok {
		return f
	}
	if f, ok := ir.LookupRuntime(name); ok && f.Eval != nil {
		return f
	}
	return nil
}

// Symbols returns the addresses the runtime routines get in a run of code
// with relocs: the routines relocs name, in the order of their names.
func (m *Machine) Symbols(relocs []mips32.Reloc) (map[string]uint32, error) {
	syms, err := m.symbols(relocs, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint32, len(syms))
	for _, s := range syms {
		out[s.name] = s.addr
	}
	return out, nil
}

// program links and decodes a module, or reuses the last program when
// the module repeats (as in a benchmark or a fuzz campaign's re-runs).
func (m *Machine) program(mod *Module) (*program, error) {
	m.mu.Lock()
	last := m.last
	m.mu.Unlock()
	if last != nil && last.mod.CodeSize == mod.CodeSize && bytes.Equal(last.mod.Image, mod.Image) &&
		slices.Equal(last.mod.Relocs, mod.Relocs) && maps.Equal(last.mod.Symbols, mod.Symbols) {
		return last, nil
	}
	syms, err := m.symbols(mod.Relocs, mod.Symbols)
	if err != nil {
		return nil, err
	}
	addr := make(map[string]uint32, len(syms)+len(mod.Symbols))
	for _, s := range syms {
		addr[s.name] = s.addr
	}
	for name, off := range mod.Symbols {
		addr[name] = CodeBase + off
	}
	order := m.opts.Target.ByteOrder()
	resolve := func(sym string) (uint32, bool) { a, ok := addr[sym]; return a, ok }
	linked, err := mips32.Link(mod.Image, mod.Relocs, resolve, order)
	if err != nil {
		return nil, fmt.Errorf("sim: %v", err)
	}
	p := &program{
		mod:  Module{Image: slices.Clone(mod.Image), CodeSize: mod.CodeSize, Relocs: slices.Clone(mod.Relocs), Symbols: maps.Clone(mod.Symbols)},
		syms: syms, linked: linked, data: linked[mod.CodeSize:], insts: make([]inst, mod.CodeSize/4),
	}
	for i := range p.insts {
		var b *badInst
		p.insts[i], b = m.dec.decode(order.Uint32(linked[4*i:]), CodeBase+uint32(4*i))
		if b != nil {
			if p.bad == nil {
				p.bad = map[uint32]*badInst{}
			}
			p.bad[uint32(i)] = b
		}
	}
	m.mu.Lock()
	m.last = p
	m.mu.Unlock()
	return p, nil
}
