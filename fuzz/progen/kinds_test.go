package progen

import (
	"fmt"
	"slices"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// An independent check of the generator's register discipline, by data
// flow over each function's control-flow graph: every register read holds
// a value (or, as a memory base or a copied argument, a pointer) on every
// path; pointers are never operands of arithmetic other than adding a
// constant, never compared, stored only as 8-byte spills to the own stack
// and reloaded whole, and never returned; calls go to later functions
// only; jumps stay in their function. It knows nothing of how the
// generator plans, only what the instructions do.

// kind is what a register or a spill slot holds.
type kind uint8

const (
	kUndef    kind = iota // registers: not written on some path; slots: no pointer
	kValue                // any value
	kStackPtr             // a pointer into a stack frame
	kMemPtr               // a pointer into the memory at r1
	kPoison               // slots: a pointer on some paths only
)

func (k kind) isPtr() bool { return k == kStackPtr || k == kMemPtr }

func (k kind) String() string {
	return [...]string{"nothing", "a value", "a stack pointer", "a memory pointer", "a pointer on some paths"}[k]
}

// kindState is what is known before one instruction.
type kindState struct {
	regs [bpf.NumRegs]kind
	// entry: the register still holds what the function was entered with.
	entry [bpf.NumRegs]bool
	// spill[i] is the slot [r10-8(i+1), r10-8i).
	spill [bpf.StackSize / 8]kind
}

func (s *kindState) meet(o *kindState) {
	for r := range s.regs {
		if s.regs[r] != o.regs[r] {
			s.regs[r] = kUndef
		}
		s.entry[r] = s.entry[r] && o.entry[r]
	}
	for i := range s.spill {
		if s.spill[i] != o.spill[i] {
			s.spill[i] = kPoison
		}
	}
}

// callInfo is one call instruction as the check saw it.
type callInfo struct {
	caller, callee int // function indexes
	slot           int
	args           [bpf.R5 + 1]kind // r1..r5 at the call
}

// programShape is what the check learnt about a program's functions.
type programShape struct {
	starts []int // first slot of each function, the entry first
	calls  []callInfo
	// reads[k][r]: function k may read r (one of r1..r5) before writing
	// it: r is one of its parameters.
	reads [][bpf.R5 + 1]bool
	// spills and reloads of pointers, copies of a pointer into r6..r9.
	spills, reloads, savedInCalleeSaved int
}

// depth is the number of frames of the deepest call chain.
func (s *programShape) depth() int {
	frames := make([]int, len(s.starts))
	deepest := 1
	for k := range frames {
		frames[k] = max(frames[k], 1)
		for _, c := range s.calls {
			if c.caller == k {
				frames[c.callee] = max(frames[c.callee], frames[k]+1)
				deepest = max(deepest, frames[k]+1)
			}
		}
	}
	return deepest
}

// checkKinds runs the check over p, generated with o.
func checkKinds(p *bpf.Program, o Options) (*programShape, error) {
	shape := &programShape{starts: []int{0}}
	for _, in := range p.Insns {
		if in.IsLocalCall() && !slices.Contains(shape.starts, in.CallTarget()) {
			shape.starts = append(shape.starts, in.CallTarget())
		}
	}
	slices.Sort(shape.starts)
	shape.reads = make([][bpf.R5 + 1]bool, len(shape.starts))
	entries := make([]*kindState, len(shape.starts))
	entries[0] = &kindState{}
	entries[0].regs[bpf.R2] = kValue // the memory length
	if o.MemSize > 0 {
		entries[0].regs[bpf.R1] = kMemPtr
	}
	entries[0].regs[bpf.R10] = kStackPtr
	for k, start := range shape.starts {
		end := len(p.SlotIndex)
		if k+1 < len(shape.starts) {
			end = shape.starts[k+1]
		}
		if entries[k] == nil {
			return nil, fmt.Errorf("function at slot %d is never called", start)
		}
		if err := checkFunction(p, shape, k, start, end, entries); err != nil {
			return nil, err
		}
	}
	return shape, nil
}

// checkFunction finds the state before each instruction of function k
// (slots [start, end)) by iterating to a fixed point, then checks every
// instruction in its final state and passes argument kinds on to callees.
func checkFunction(p *bpf.Program, shape *programShape, k, start, end int, entries []*kindState) error {
	first, last := p.IndexOfSlot(start), p.IndexOfSlot(end-1)
	if last < 0 {
		last = p.IndexOfSlot(end - 2) // ends with lddw
	}
	states := make([]*kindState, last+1)
	states[first] = entries[k]
	work := []int{first}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		out := *states[i]
		_ = stepKinds(p.Insns[i], &out, nil)
		for _, next := range successors(p, i) {
			if next < first || next > last {
				continue // reported below
			}
			if states[next] == nil {
				st := out
				states[next] = &st
				work = append(work, next)
				continue
			}
			before := *states[next]
			states[next].meet(&out)
			if *states[next] != before {
				work = append(work, next)
			}
		}
	}
	for i := first; i <= last; i++ {
		in := p.Insns[i]
		fail := func(format string, args ...any) error {
			return fmt.Errorf("instruction at slot %d (%s): %s", in.Slot, bpf.FormatInsn(in), fmt.Sprintf(format, args...))
		}
		for _, next := range successors(p, i) {
			if next < first || next > last {
				return fail("leaves its function (slots %d..%d)", start, end-1)
			}
		}
		if states[i] == nil {
			continue // unreachable
		}
		s := *states[i]
		if in.IsLocalCall() {
			callee := slices.Index(shape.starts, in.CallTarget())
			if callee <= k {
				return fail("calls function %d from function %d: only later functions may be called", callee, k)
			}
			c := callInfo{caller: k, callee: callee, slot: in.Slot}
			copy(c.args[:], s.regs[:bpf.R5+1])
			shape.calls = append(shape.calls, c)
			e := &kindState{}
			copy(e.regs[:bpf.R5+1], s.regs[:bpf.R5+1])
			e.regs[bpf.R0] = kUndef
			e.regs[bpf.R10] = kStackPtr
			for r := bpf.R1; r <= bpf.R5; r++ {
				e.entry[r] = true
			}
			if entries[callee] == nil {
				entries[callee] = e
			} else {
				entries[callee].meet(e)
			}
		}
		if err := stepKinds(in, &s, shape.reads[k][:]); err != nil {
			return fail("%v", err)
		}
		if in.Op == bpf.ClassSTX|bpf.ModeMEM|bpf.SizeDW && states[i].regs[in.Src].isPtr() {
			shape.spills++
		}
		if in.Op == bpf.ClassLDX|bpf.ModeMEM|bpf.SizeDW && s.regs[in.Dst].isPtr() {
			shape.reloads++
		}
		if in.Op == bpf.ClassALU64|bpf.AluMOV|bpf.SrcX && in.Dst >= bpf.R6 && in.Dst <= bpf.R9 && s.regs[in.Dst].isPtr() {
			shape.savedInCalleeSaved++
		}
	}
	return nil
}

// successors are the indexes of the instructions that may run after
// instruction i.
func successors(p *bpf.Program, i int) []int {
	in := p.Insns[i]
	var next []int
	if !in.IsExit() && !in.IsJA() {
		next = append(next, i+1)
	}
	if in.IsJA() || in.IsCondJump() {
		next = append(next, p.IndexOfSlot(in.JumpTarget()))
	}
	return next
}

// stepKinds applies in to s. A violation is an error; reads, when not nil,
// records which of r1..r5 are read while holding their entry values.
func stepKinds(in bpf.Insn, s *kindState, reads []bool) error {
	use := func(r uint8) kind {
		if s.entry[r] && reads != nil && r >= bpf.R1 && r <= bpf.R5 {
			reads[r] = true
		}
		return s.regs[r]
	}
	value := func(r uint8) error {
		if k := use(r); k != kValue {
			return fmt.Errorf("reads r%d as a value, but it holds %s", r, k)
		}
		return nil
	}
	pointer := func(r uint8) (kind, error) {
		k := use(r)
		if !k.isPtr() {
			return k, fmt.Errorf("uses r%d as a memory base, but it holds %s", r, k)
		}
		return k, nil
	}
	write := func(r uint8, k kind) error {
		if r == bpf.R10 {
			return fmt.Errorf("writes r10")
		}
		s.regs[r], s.entry[r] = k, false
		return nil
	}
	// spillSlot checks an access of size bytes at r10+off against the
	// spilled pointers: -1 if it touches none, the slot if it is exactly
	// one, an error if it touches one partly.
	spillSlot := func(base uint8, off int16, size int) (int, error) {
		if base != bpf.R10 || off >= 0 || int(off) < -bpf.StackSize {
			return -1, nil
		}
		lo, hi := (-int(off)-size)/8, (-int(off)-1)/8
		for i := max(lo, 0); i <= hi && i < len(s.spill); i++ {
			if s.spill[i] == kUndef {
				continue
			}
			if size == 8 && int(off) == -8*(i+1) && s.spill[i] != kPoison {
				return i, nil
			}
			return -1, fmt.Errorf("touches the spilled pointer at r10%d", -8*(i+1))
		}
		if size == 8 && int(off)%8 == 0 {
			return (-int(off))/8 - 1, nil
		}
		return -1, nil
	}
	switch in.Class() {
	case bpf.ClassALU, bpf.ClassALU64:
		wide := in.Class() == bpf.ClassALU64
		switch code := in.Code(); {
		case code == bpf.AluMOV && in.Source() == bpf.SrcX && wide && in.Off == 0:
			k := use(in.Src)
			if k == kUndef {
				return fmt.Errorf("copies r%d, which holds nothing", in.Src)
			}
			return write(in.Dst, k)
		case (code == bpf.AluADD || code == bpf.AluSUB) && in.Source() == bpf.SrcK && wide && s.regs[in.Dst].isPtr():
			return write(in.Dst, use(in.Dst)) // a pointer moved by a constant
		case code == bpf.AluMOV && in.Source() == bpf.SrcK:
		case code == bpf.AluMOV, code == bpf.AluEND && in.Source() == bpf.SrcX:
			// mov, movsx and to-be read the one register they name
			r := in.Src
			if code == bpf.AluEND {
				r = in.Dst
			}
			if err := value(r); err != nil {
				return err
			}
		default:
			if err := value(in.Dst); err != nil {
				return err
			}
			if in.Source() == bpf.SrcX && code != bpf.AluEND && code != bpf.AluNEG {
				if err := value(in.Src); err != nil {
					return err
				}
			}
		}
		return write(in.Dst, kValue)
	case bpf.ClassLD:
		return write(in.Dst, kValue)
	case bpf.ClassLDX:
		if _, err := pointer(in.Src); err != nil {
			return err
		}
		slot, err := spillSlot(in.Src, in.Off, bpf.SizeBytes(in.Size()))
		if err != nil {
			return err
		}
		if slot >= 0 && s.spill[slot].isPtr() {
			return write(in.Dst, s.spill[slot])
		}
		return write(in.Dst, kValue)
	case bpf.ClassST:
		if _, err := pointer(in.Dst); err != nil {
			return err
		}
		slot, err := spillSlot(in.Dst, in.Off, bpf.SizeBytes(in.Size()))
		if slot >= 0 {
			s.spill[slot] = kUndef
		}
		return err
	case bpf.ClassSTX:
		if _, err := pointer(in.Dst); err != nil {
			return err
		}
		slot, err := spillSlot(in.Dst, in.Off, bpf.SizeBytes(in.Size()))
		if err != nil {
			return err
		}
		if in.Mode() == bpf.ModeATOMIC {
			if slot >= 0 && s.spill[slot] != kUndef {
				return fmt.Errorf("atomic on a spilled pointer")
			}
			if err := value(in.Src); err != nil {
				return err
			}
			switch {
			case in.Imm == bpf.AtomicCMPXCHG:
				if err := value(bpf.R0); err != nil {
					return err
				}
				return write(bpf.R0, kValue)
			case in.Imm&bpf.AtomicFetch != 0:
				return write(in.Src, kValue)
			}
			return nil
		}
		k := use(in.Src)
		switch {
		case k == kValue:
			if slot >= 0 {
				s.spill[slot] = kUndef
			}
		case k.isPtr() && slot >= 0:
			s.spill[slot] = k
		default:
			return fmt.Errorf("stores r%d, which holds %s", in.Src, k)
		}
		return nil
	case bpf.ClassJMP, bpf.ClassJMP32:
		switch {
		case in.IsJA():
		case in.IsExit():
			return value(bpf.R0)
		case in.IsLocalCall():
			for r := bpf.R1; r <= bpf.R5; r++ {
				s.regs[r], s.entry[r] = kUndef, false // passed on, then undefined
			}
			return write(bpf.R0, kValue)
		case in.IsCall():
			return fmt.Errorf("calls something other than a subprogram")
		default:
			if err := value(in.Dst); err != nil {
				return err
			}
			if in.Source() == bpf.SrcX {
				return value(in.Src)
			}
		}
	}
	return nil
}
