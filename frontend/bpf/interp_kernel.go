package bpf

import (
	"errors"
	"fmt"

	"github.com/bpfopt/bpfopt/internal/bpfrt"
)

// The kernel helper set of the reference interpreter: Linux's helper IDs
// with the deterministic behaviour of bpfopt's runtime (the qemu runner's
// bpf_helper_N, backend/mips32/qemu/runner/helpers.c), so that a run here
// and a run of the compiled code agree exactly. Their state (the clock,
// the random generator, the tail-call count) is reset for every run.
//
//	1  map_lookup_elem(map, key)              package internal/bpfrt, maps.go
//	2  map_update_elem(map, key, value, flags)
//	3  map_delete_elem(map, key)
//	5  ktime_get_ns()          the n-th call of a run returns n * 1000
//	7  get_prandom_u32()       xorshift32 from 2463534242: x ^= x << 13;
//	                           x ^= x >> 17; x ^= x << 5; r0 = x
//	8  get_smp_processor_id()  0
//	12 tail_call(ctx, prog_array, index)
//
// Tail calls. When slot index (as a u32) of the program array holds a
// program (a map of another type holds none) and fewer than MaxTailCalls tail calls happened in this run,
// the current program is abandoned and the slot's program starts with r1
// = ctx, r2 = the run's len, r10 = StackTop and the other registers 0, as
// a program entered from outside. Otherwise the helper returns with r0
// unchanged (as in Linux) and the program goes on. A slot's program is
// looked up by name in RunConfig.Object.Programs. Tail calls from a local
// call's frame are rejected, as the compiler rejects them.

// Kernel helper IDs the interpreter implements (Linux's numbering; a test
// checks them against the names in helpers.go).
const (
	KernelMapLookupElem     = bpfrt.MapLookupElem
	KernelMapUpdateElem     = bpfrt.MapUpdateElem
	KernelMapDeleteElem     = bpfrt.MapDeleteElem
	KernelKtimeGetNs        = bpfrt.KtimeGetNs
	KernelGetPrandomU32     = bpfrt.GetPrandomU32
	KernelGetSmpProcessorID = bpfrt.GetSmpProcessorID
	KernelTailCall          = bpfrt.TailCall
)

// PrandomSeed is the state of get_prandom_u32's generator at the start of
// every run.
const PrandomSeed = bpfrt.PrandomSeed

// kernelState is the kernel helpers' per-run state.
type kernelState struct {
	bpfrt.Kernel
	tailCalls int
}

func newKernelState() kernelState { return kernelState{Kernel: bpfrt.NewKernel()} }

// KernelHelpers returns the kernel helper set (see the Kernel* constants;
// all but the tail call are package internal/bpfrt's). Map helpers and
// tail calls need RunConfig.Object.
func KernelHelpers() map[int32]Helper {
	t := runtimeHelpers(bpfrt.KernelHelpers)
	t[KernelTailCall] = tailCallHelper
	return t
}

// tailCall, returned by the tail-call helper, makes the VM switch to prog.
type tailCall struct {
	prog *Program
	ctx  uint64
}

func (*tailCall) Error() string { return "tail call" }

func tailCallHelper(vm *VM, a [5]uint64) (uint64, error) {
	if len(vm.frames) > 0 {
		return 0, fmt.Errorf("tail calls from subprograms are not supported")
	}
	m := vm.handleMap(a[1])
	if m == nil {
		return 0, fmt.Errorf("0x%x is not a map", a[1])
	}
	if m.spec.Type == MapTypeProgArray {
		if err := vm.objects.open(m); err != nil {
			return 0, err
		}
	}
	slot, err := m.m.TailTarget(a[2])
	if err != nil {
		return 0, err
	}
	if slot == 0 || vm.kernel.tailCalls >= MaxTailCalls {
		return vm.regs[R0], nil // the runtime finds no target: r0 unchanged
	}
	name := vm.objects.progNames[slot-1]
	prog := vm.objects.progs[name]
	if prog == nil {
		return 0, fmt.Errorf("map %s: slot %d names program %q, which the object does not have", m.spec.Symbol, uint32(a[2]), name)
	}
	if err := prog.Validate(); err != nil {
		return 0, fmt.Errorf("tail call target %s: %w", name, err)
	}
	return 0, &tailCall{prog: prog, ctx: a[0]}
}

// enterTailCall starts the target of a tail call (see the file comment)
// and reports whether err was one.
func (vm *VM) enterTailCall(err error) bool {
	var tc *tailCall
	if !errors.As(err, &tc) {
		return false
	}
	vm.kernel.tailCalls++
	vm.prog = tc.prog
	vm.regs = [NumRegs]uint64{}
	vm.regs[R1] = tc.ctx
	vm.regs[R2] = uint64(len(vm.cfg.Mem))
	vm.regs[R10] = StackTop
	return true
}
