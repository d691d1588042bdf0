package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The reference interpreter: RFC 9669 semantics, executed one instruction at
// a time with no cleverness, because every other stage of the compiler is
// checked against it.
//
// Memory model. Addresses are 64-bit. The input memory (RunConfig.Mem) lives
// at MemBase; at entry r1 = MemBase (0 when the memory is empty, as uBPF, the
// suite's reference runtime, passes NULL) and r2 = len(Mem). The stack is a
// separate region ending at StackTop: the entry frame's r10 is StackTop, and
// each local call gets the next StackSize bytes below. A frame may access its
// own stack and its callers' (pointers to a caller's stack may be passed
// down), nothing below. With RunConfig.Object, its data sections and map
// values are regions from DataBase up (interp_maps.go). Every other address
// is an error naming the instruction and the address. Loads and stores
// need no alignment.
//
// Calls. A helper call (src 0) runs RunConfig.Helpers[imm] with r1..r5 and
// puts its result in r0; callx (`call %rN`) calls the helper whose ID is in
// the register. A local call (src 1) saves r6..r9 and r10, gives the callee
// a fresh stack frame (r10 -= StackSize) and the caller's r1..r5, and the
// callee's exit returns r0 to the instruction after the call with r6..r9
// and r10 restored; r1..r5 hold whatever the callee left (programs must
// treat them as clobbered). At most MaxCallDepth frames exist at once.

// Addresses of the interpreter's memory regions.
const (
	MemBase  uint64 = 0x1000_0000 // address of RunConfig.Mem[0]
	StackTop uint64 = 0x2000_0000 // r10 of the entry frame; frames grow down
)

// MaxCallDepth is the number of frames (the entry program plus nested local
// calls) that may exist at once, as in Linux (MAX_CALL_FRAMES).
const MaxCallDepth = 8

// DefaultMaxSteps bounds execution when RunConfig.MaxSteps is 0.
const DefaultMaxSteps = 1 << 24

// Helper is a helper function: it gets r1..r5 and returns r0. Returning an
// error wrapping ErrStop ends the program successfully with r0 set to the
// returned value; any other error aborts it.
type Helper func(vm *VM, args [5]uint64) (uint64, error)

// ErrStop, returned by a helper, ends the program (uBPF's "unwind").
var ErrStop = errors.New("helper stopped the program")

// RunConfig describes one run.
type RunConfig struct {
	Mem       []byte           // input memory, modified in place
	Helpers   map[int32]Helper // helper table by ID
	MaxSteps  int              // instruction limit, DefaultMaxSteps when 0
	ByteOrder binary.ByteOrder // byte order of memory and of to-le/to-be; little-endian when nil
	// Object gives lddw with pseudo sources their maps and data sections,
	// and tail calls their programs (interp_maps.go, interp_kernel.go).
	Object *Object
}

// VM is the state of a running program, given to helpers.
type VM struct {
	prog   *Program
	cfg    RunConfig
	order  binary.ByteOrder
	little bool
	regs   [NumRegs]uint64
	stack  []byte // MaxCallDepth frames; stack[len-1] is at StackTop-1
	frames []frame
	cur    Insn // the instruction being executed, for errors
	// objects is the memory of RunConfig.Object, nil without one.
	objects *objectMemory
	kernel  kernelState // the kernel helpers' per-run state
}

// frame is what a local call saves.
type frame struct {
	ret   int       // index in Insns to return to
	saved [5]uint64 // r6..r9, r10
}

// Interpret runs p and returns r0 at exit.
func Interpret(p *Program, cfg RunConfig) (uint64, error) {
	if err := p.Validate(); err != nil { // a hand-built Program may be invalid
		return 0, err
	}
	vm := &VM{prog: p, cfg: cfg, order: cfg.ByteOrder, stack: make([]byte, MaxCallDepth*StackSize), kernel: newKernelState()}
	if cfg.Object != nil {
		vm.objects = newObjectMemory(cfg.Object)
	}
	if vm.order == nil {
		vm.order = binary.LittleEndian
	}
	vm.little = isLittle(vm.order)
	if len(cfg.Mem) > 0 {
		vm.regs[R1] = MemBase
	}
	vm.regs[R2] = uint64(len(cfg.Mem))
	vm.regs[R10] = StackTop
	return vm.run()
}

// Order is the byte order of memory.
func (vm *VM) Order() binary.ByteOrder { return vm.order }

// Bytes returns the n bytes at addr (a slice of the live memory), or an
// error when they are not all inside one region.
func (vm *VM) Bytes(addr, n uint64) ([]byte, error) {
	if b := vm.region(addr, n); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("%d bytes at 0x%x are outside memory", n, addr)
}

// CString returns the NUL-terminated string at addr (without the NUL).
func (vm *VM) CString(addr uint64) ([]byte, error) {
	for n := uint64(0); ; n++ {
		b, err := vm.Bytes(addr+n, 1)
		if err != nil {
			return nil, fmt.Errorf("unterminated string at 0x%x", addr)
		}
		if b[0] == 0 {
			return vm.Bytes(addr, n)
		}
	}
}

// region maps [addr, addr+n) to live memory, or nil.
func (vm *VM) region(addr, n uint64) []byte {
	if n == 0 {
		return nil
	}
	if b := within(vm.cfg.Mem, MemBase, addr, n); b != nil {
		return b
	}
	// The active stack: the current frame and its callers'.
	active := uint64(len(vm.frames)+1) * StackSize
	if b := within(vm.stack[uint64(len(vm.stack))-active:], StackTop-active, addr, n); b != nil {
		return b
	}
	return vm.objectRegion(addr, n)
}

// within returns mem[addr-base:][:n] when it lies inside mem at base.
func within(mem []byte, base, addr, n uint64) []byte {
	size := uint64(len(mem))
	if addr < base || addr-base > size || n > size-(addr-base) {
		return nil
	}
	off := addr - base
	return mem[off : off+n]
}

func (vm *VM) fail(format string, args ...any) error {
	return errAt(vm.cur, format, args...)
}

// load reads size bytes at addr, zero-extended.
func (vm *VM) load(addr uint64, size int) (uint64, error) {
	b := vm.region(addr, uint64(size))
	if b == nil {
		return 0, vm.fail("load of %d bytes at 0x%x is outside memory", size, addr)
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(vm.order.Uint16(b)), nil
	case 4:
		return uint64(vm.order.Uint32(b)), nil
	}
	return vm.order.Uint64(b), nil
}

// store writes the low size bytes of v at addr.
func (vm *VM) store(addr uint64, size int, v uint64) error {
	b := vm.region(addr, uint64(size))
	if b == nil {
		return vm.fail("store of %d bytes at 0x%x is outside memory", size, addr)
	}
	switch size {
	case 1:
		b[0] = byte(v)
	case 2:
		vm.order.PutUint16(b, uint16(v))
	case 4:
		vm.order.PutUint32(b, uint32(v))
	default:
		vm.order.PutUint64(b, v)
	}
	return nil
}

// run is the fetch-execute loop.
func (vm *VM) run() (uint64, error) {
	limit := vm.cfg.MaxSteps
	if limit <= 0 {
		limit = DefaultMaxSteps
	}
	regs := &vm.regs
	for pc, steps := 0, 0; ; steps++ {
		p := vm.prog // a tail call changes it
		if pc < 0 || pc >= len(p.Insns) {
			return 0, &Error{Slot: -1, Msg: fmt.Sprintf("execution left the program (instruction index %d)", pc)}
		}
		in := p.Insns[pc]
		vm.cur = in
		if steps >= limit {
			return 0, vm.fail("step limit of %d instructions exceeded", limit)
		}
		next := pc + 1
		switch in.Class() {
		case ClassALU64:
			src := uint64(int64(in.Imm))
			if in.Source() == SrcX {
				src = regs[in.Src]
			}
			regs[in.Dst] = vm.alu64(in, regs[in.Dst], src)
		case ClassALU:
			src := uint32(in.Imm)
			if in.Source() == SrcX {
				src = uint32(regs[in.Src])
			}
			regs[in.Dst] = vm.alu32(in, regs[in.Dst], src)
		case ClassJMP, ClassJMP32:
			var done bool
			var err error
			if next, done, err = vm.jump(in, pc); err != nil {
				return 0, err
			} else if done {
				return regs[R0], nil
			}
		case ClassLD:
			if in.Mode() != ModeIMM {
				return 0, vm.fail("legacy packet access (opcode 0x%02x) is not supported", in.Op)
			}
			if in.Src != 0 {
				v, err := vm.pseudoLoad(in)
				if err != nil {
					return 0, err
				}
				regs[in.Dst] = v
				break
			}
			regs[in.Dst] = in.Imm64
		case ClassLDX:
			v, err := vm.load(regs[in.Src]+uint64(int64(in.Off)), SizeBytes(in.Size()))
			if err != nil {
				return 0, err
			}
			if in.Mode() == ModeMEMSX {
				v = signExtend(v, SizeBytes(in.Size()))
			}
			regs[in.Dst] = v
		case ClassST:
			if err := vm.store(regs[in.Dst]+uint64(int64(in.Off)), SizeBytes(in.Size()), uint64(int64(in.Imm))); err != nil {
				return 0, err
			}
		case ClassSTX:
			addr := regs[in.Dst] + uint64(int64(in.Off))
			if in.Mode() == ModeATOMIC {
				if err := vm.atomic(in, addr); err != nil {
					return 0, err
				}
				break
			}
			if err := vm.store(addr, SizeBytes(in.Size()), regs[in.Src]); err != nil {
				return 0, err
			}
		}
		pc = next
	}
}

// signExtend sign-extends the low size bytes of v.
func signExtend(v uint64, size int) uint64 {
	shift := uint(64 - 8*size)
	return uint64(int64(v<<shift) >> shift)
}

// atomic executes STX ATOMIC at addr.
func (vm *VM) atomic(in Insn, addr uint64) error {
	size := SizeBytes(in.Size())
	old, err := vm.load(addr, size) // zero-extended, as FETCH and CMPXCHG return it
	if err != nil {
		return err
	}
	src := vm.regs[in.Src]
	var val uint64
	switch in.Imm &^ AtomicFetch {
	case AtomicADD:
		val = old + src
	case AtomicOR:
		val = old | src
	case AtomicAND:
		val = old & src
	case AtomicXOR:
		val = old ^ src
	case AtomicXCHG &^ AtomicFetch:
		val = src
	case AtomicCMPXCHG &^ AtomicFetch:
		expect := vm.regs[R0]
		if size == 4 {
			expect = uint64(uint32(expect))
		}
		vm.regs[R0] = old
		if old != expect {
			return nil
		}
		return vm.store(addr, size, src)
	default:
		return vm.fail("unknown atomic operation 0x%x", uint32(in.Imm))
	}
	if err := vm.store(addr, size, val); err != nil {
		return err
	}
	if in.Imm&AtomicFetch != 0 {
		vm.regs[in.Src] = old
	}
	return nil
}

// jump executes a JMP/JMP32-class instruction at index pc and returns the
// next index, or done when the program exits.
func (vm *VM) jump(in Insn, pc int) (next int, done bool, err error) {
	p, regs := vm.prog, &vm.regs
	switch in.Code() {
	case JmpEXIT:
		if len(vm.frames) == 0 {
			return 0, true, nil
		}
		f := vm.frames[len(vm.frames)-1]
		vm.frames = vm.frames[:len(vm.frames)-1]
		copy(regs[R6:], f.saved[:])
		return f.ret, false, nil
	case JmpCALL:
		return vm.call(in, pc)
	case JmpJA:
		return p.IndexOfSlot(in.JumpTarget()), false, nil
	}
	a, b := regs[in.Dst], uint64(int64(in.Imm))
	if in.Source() == SrcX {
		b = regs[in.Src]
	}
	if condition(in.Code(), a, b, in.Class() == ClassJMP32) {
		return p.IndexOfSlot(in.JumpTarget()), false, nil
	}
	return pc + 1, false, nil
}

// condition evaluates a conditional jump; 32-bit jumps compare the low
// halves (signed compares as int32).
func condition(code uint8, a, b uint64, is32 bool) bool {
	sa, sb := int64(a), int64(b)
	if is32 {
		a, b = uint64(uint32(a)), uint64(uint32(b))
		sa, sb = int64(int32(a)), int64(int32(b))
	}
	switch code {
	case JmpJEQ:
		return a == b
	case JmpJNE:
		return a != b
	case JmpJGT:
		return a > b
	case JmpJGE:
		return a >= b
	case JmpJLT:
		return a < b
	case JmpJLE:
		return a <= b
	case JmpJSET:
		return a&b != 0
	case JmpJSGT:
		return sa > sb
	case JmpJSGE:
		return sa >= sb
	case JmpJSLT:
		return sa < sb
	case JmpJSLE:
		return sa <= sb
	}
	panic(fmt.Sprintf("bpf: condition: jump code 0x%02x", code)) // Validate rejects it
}

// call executes a helper call, callx or local call.
func (vm *VM) call(in Insn, pc int) (int, bool, error) {
	regs := &vm.regs
	if in.Source() == SrcK && in.Src == CallLocal {
		if len(vm.frames)+1 >= MaxCallDepth {
			return 0, false, vm.fail("call depth exceeds %d frames", MaxCallDepth)
		}
		var f frame
		f.ret = pc + 1
		copy(f.saved[:], regs[R6:])
		vm.frames = append(vm.frames, f)
		regs[R10] -= StackSize
		return vm.prog.IndexOfSlot(in.CallTarget()), false, nil
	}
	id := in.Imm
	switch {
	case in.Source() == SrcX:
		v := regs[in.Dst]
		if v > math.MaxInt32 {
			return 0, false, vm.fail("callx: r%d = 0x%x is not a helper ID", in.Dst, v)
		}
		id = int32(v)
	case in.Src == CallKfunc:
		return 0, false, vm.fail("kfunc calls (BTF ID %d) are not supported", in.Imm)
	}
	h := vm.cfg.Helpers[id]
	if h == nil {
		return 0, false, vm.fail("call to unknown helper %d", id)
	}
	r, err := h(vm, [5]uint64{regs[R1], regs[R2], regs[R3], regs[R4], regs[R5]})
	if errors.Is(err, ErrStop) {
		regs[R0] = r
		return 0, true, nil
	}
	if vm.enterTailCall(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, vm.fail("helper %d: %v", id, err)
	}
	regs[R0] = r
	return pc + 1, false, nil
}
