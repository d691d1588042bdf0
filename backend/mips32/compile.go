// Package mips32 is bpfopt's backend for 32-bit MIPS under the O32 ABI:
// instruction selection, linear-scan register allocation, frames and
// calls, encoding, GNU assembly and ELF32 output.
//
// Import rule: only this package (and its subpackages) knows MIPS. It
// imports ir and ssa, never frontend or passes.
package mips32

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
)

// Function is one compiled function.
type Function struct {
	Name string
	*Assembled
	Stats Stats
}

// Stats are counts a user of -stats or a benchmark wants.
type Stats struct {
	VirtualRegs     int
	SpilledRegs     int
	SpillSlots      int
	FrameSize       int
	CalleeSavedUsed int
}

// Options configures the backend.
type Options struct {
	Target Target
	// CheckAllocation replays the allocated code against the selected
	// code (regalloc_check.go); tests and fuzzing turn it on.
	CheckAllocation bool
}

// Compile translates a legalized IR function (no i64 values, critical
// edges split) into machine code.
func Compile(f *ir.Func, opts Options) (*Function, error) {
	t := opts.Target
	m, err := lower(f, t)
	if err != nil {
		return nil, err
	}
	a, err := allocate(m)
	if err != nil {
		return nil, err
	}
	if opts.CheckAllocation {
		if err := checkAllocation(m, a.numSlots); err != nil {
			return nil, err
		}
	}
	fr, err := layoutFrame(m, a.numSlots, a.usedCalleeSaved)
	if err != nil {
		return nil, err
	}
	insts := fr.prologue()
	for _, b := range m.blocks {
		insts = append(insts, Inst{Op: LABEL, Target: b.label})
		for k := range b.insts {
			in := b.insts[k]
			if in.Op == MOVE && in.Rd == in.Rs && (k == 0 || !b.insts[k-1].Op.HasDelaySlot()) {
				continue // coalesced by the allocator
			}
			fr.resolve(&in)
			insts = append(insts, in)
		}
		if b.ret {
			insts = append(insts, fr.epilogue()...)
		}
	}
	for i := range insts {
		if err := checkAllocated(&insts[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	asm, err := Assemble(insts, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	st := Stats{VirtualRegs: int(m.nextV - FirstVirtual), SpillSlots: a.numSlots, FrameSize: fr.size,
		CalleeSavedUsed: len(a.usedCalleeSaved)}
	for _, it := range a.intervals {
		if it.spilled {
			st.SpilledRegs++
		}
	}
	return &Function{Name: f.Name, Assembled: asm, Stats: st}, nil
}

// checkAllocated is the allocator's post-condition: no virtual register and
// no backend-private marker survives.
func checkAllocated(in *Inst) error {
	uses, defs := operands(in, nil, nil)
	for _, r := range append(uses, defs...) {
		if r.IsVirtual() {
			return fmt.Errorf("virtual register %s left in %s after allocation", *r, in.Op)
		}
	}
	if in.Reloc >= relocFrameTop {
		return fmt.Errorf("unresolved frame marker in %s", in.Op)
	}
	return nil
}
