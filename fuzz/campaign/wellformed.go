package campaign

import (
	"fmt"
	"slices"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// The reducer's contract for programs with subprograms. Removing or
// changing instructions can leave a program that the reference interpreter
// runs but that means nothing to the compiler, and then a "finding" on it
// is no compiler bug: a jump into another function, a function falling
// through into the next, recursion, or a read of a register that holds
// nothing defined — a callee's r0 and r6..r9 at entry, r1..r5 after a call
// (RFC 9669 leaves them to the callee; the reference interpreter passes
// whatever is there, the lifter 0). wellFormed rejects those, so that a
// reduction keeps only candidates whose every stage has one meaning.
//
// The analysis is independent of the lifter's (frontend/bpf/lift_args.go),
// so that a lifter bug in passing arguments still shows as a divergence
// instead of being ruled out: a subprogram's r1..r5 count as written when
// every call site that runs has written them.

// regSet is a set of BPF registers, bit r for register r.
type regSet uint16

func regBit(r uint8) regSet { return 1 << r }

const (
	allRegs  regSet = 1<<bpf.NumRegs - 1
	argRegs  regSet = 0b11_1110 // r1..r5
	frameReg regSet = 1 << bpf.R10
)

// wellFormed returns why p is outside the contract above, or nil.
func wellFormed(p *bpf.Program) error {
	starts, err := functionStarts(p)
	if err != nil {
		return err
	}
	owner := func(k int) int {
		i, found := slices.BinarySearch(starts, k)
		if !found {
			i--
		}
		return i
	}
	for fi, s := range starts {
		end := len(p.Insns)
		if fi+1 < len(starts) {
			end = starts[fi+1]
		}
		for k := s; k < end; k++ {
			in := p.Insns[k]
			if in.IsJA() || in.IsCondJump() {
				if t := p.IndexOfSlot(in.JumpTarget()); t < s || t >= end {
					return fmt.Errorf("instruction %d (%s) jumps out of its function", k, bpf.FormatInsn(in))
				}
			}
		}
		if last := p.Insns[end-1]; !last.IsExit() && !last.IsJA() {
			return fmt.Errorf("instruction %d (%s) falls through into the next function", end-1, bpf.FormatInsn(last))
		}
	}
	if err := checkCallGraph(p, starts, owner); err != nil {
		return err
	}
	return checkDefinedReads(p, starts, owner)
}

// functionStarts returns the Insns indices where functions start: 0 and
// every local call's target, sorted.
func functionStarts(p *bpf.Program) ([]int, error) {
	starts := []int{0}
	for k, in := range p.Insns {
		if !in.IsLocalCall() {
			continue
		}
		t := p.IndexOfSlot(in.CallTarget())
		if t < 0 {
			return nil, fmt.Errorf("instruction %d (%s) calls slot %d, not the start of an instruction", k, bpf.FormatInsn(in), in.CallTarget())
		}
		if t == 0 {
			return nil, fmt.Errorf("instruction %d (%s) calls the entry", k, bpf.FormatInsn(in))
		}
		starts = append(starts, t)
	}
	slices.Sort(starts)
	return slices.Compact(starts), nil
}

// checkCallGraph rejects recursion and call chains deeper than BPF's
// MaxCallDepth frames.
func checkCallGraph(p *bpf.Program, starts []int, owner func(int) int) error {
	callees := make([][]int, len(starts))
	for k, in := range p.Insns {
		if in.IsLocalCall() {
			f := owner(k)
			callees[f] = append(callees[f], owner(p.IndexOfSlot(in.CallTarget())))
		}
	}
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(starts))
	depth := make([]int, len(starts)) // frames of the deepest chain from each function
	var visit func(f int) error
	visit = func(f int) error {
		state[f], depth[f] = active, 1
		for _, c := range callees[f] {
			switch state[c] {
			case active:
				return fmt.Errorf("the function at instruction %d is recursive", starts[c])
			case unvisited:
				if err := visit(c); err != nil {
					return err
				}
			}
			depth[f] = max(depth[f], 1+depth[c])
		}
		state[f] = done
		return nil
	}
	for f := range starts {
		if state[f] == unvisited {
			if err := visit(f); err != nil {
				return err
			}
		}
	}
	if depth[0] > bpf.MaxCallDepth {
		return fmt.Errorf("call chains reach %d frames, more than %d", depth[0], bpf.MaxCallDepth)
	}
	return nil
}

// checkDefinedReads requires every register an instruction reads to be
// written on every path to it: forward must-be-written sets per
// instruction, where the entry starts with everything written (both the
// reference interpreter and the lifter start from r1 = ctx, r2 = length,
// 0 elsewhere) and a subprogram with r10 and the r1..r5 that all its
// reached call sites have written, iterated to a fixed point over the
// call graph.
func checkDefinedReads(p *bpf.Program, starts []int, owner func(int) int) error {
	n := len(p.Insns)
	entry := make([]regSet, len(starts))
	for f := range entry {
		entry[f] = allRegs
	}
	var in []regSet
	var reached []bool
	for {
		in, reached = make([]regSet, n), make([]bool, n)
		for f, s := range starts {
			end := n
			if f+1 < len(starts) {
				end = starts[f+1]
			}
			flowDefs(p, s, end, entry[f], in, reached)
		}
		next := make([]regSet, len(starts))
		for f := range next {
			next[f] = allRegs
		}
		for k, ins := range p.Insns {
			if ins.IsLocalCall() && reached[k] {
				c := owner(p.IndexOfSlot(ins.CallTarget()))
				next[c] &= in[k]&argRegs | frameReg
			}
		}
		if slices.Equal(next, entry) {
			break
		}
		entry = next
	}
	for k, ins := range p.Insns {
		use, _, _ := regEffects(ins)
		if missing := use &^ in[k]; reached[k] && missing != 0 {
			r := 0
			for missing&1 == 0 {
				missing >>= 1
				r++
			}
			return fmt.Errorf("instruction %d (%s) reads r%d, which is not written on every path to it", k, bpf.FormatInsn(ins), r)
		}
	}
	return nil
}

// flowDefs fills in (the registers written before each instruction) and
// reached for the function Insns[s:end] entered with entryDefs.
func flowDefs(p *bpf.Program, s, end int, entryDefs regSet, in []regSet, reached []bool) {
	in[s], reached[s] = entryDefs, true
	for changed := true; changed; {
		changed = false
		for k := s; k < end; k++ {
			if !reached[k] {
				continue
			}
			ins := p.Insns[k]
			_, def, kill := regEffects(ins)
			out := in[k]&^kill | def
			flow := func(t int) {
				switch {
				case t < s || t >= end:
					// wellFormed rejects jumps out of the function first.
				case !reached[t]:
					in[t], reached[t], changed = out, true, true
				case in[t]&out != in[t]:
					in[t] &= out
					changed = true
				}
			}
			if ins.IsJA() || ins.IsCondJump() {
				flow(p.IndexOfSlot(ins.JumpTarget()))
			}
			if !ins.IsJA() && !ins.IsExit() {
				flow(k + 1)
			}
		}
	}
}

// regEffects returns the registers in reads, writes, and leaves undefined
// (kill, applied before def).
func regEffects(in bpf.Insn) (use, def, kill regSet) {
	dst, src := regBit(in.Dst), regBit(in.Src)
	switch in.Class() {
	case bpf.ClassALU, bpf.ClassALU64:
		switch in.Code() {
		case bpf.AluMOV:
			if in.Source() == bpf.SrcX {
				use = src
			}
		case bpf.AluNEG, bpf.AluEND: // END's source bit is the byte order
			use = dst
		default:
			use = dst
			if in.Source() == bpf.SrcX {
				use |= src
			}
		}
		return use, dst, 0
	case bpf.ClassLD:
		if in.IsLdImm64() {
			return 0, dst, 0
		}
		// Legacy packet loads: r6 is the context, IND adds src; they
		// write r0 and leave r1..r5 undefined, like a call.
		use = regBit(bpf.R6)
		if in.Mode() == bpf.ModeIND {
			use |= src
		}
		return use, regBit(bpf.R0), argRegs
	case bpf.ClassLDX:
		return src, dst, 0
	case bpf.ClassST:
		return dst, 0, 0
	case bpf.ClassSTX:
		use = dst | src
		if in.Mode() == bpf.ModeATOMIC {
			switch {
			case in.Imm == bpf.AtomicCMPXCHG:
				use |= regBit(bpf.R0)
				def = regBit(bpf.R0)
			case in.Imm&bpf.AtomicFetch != 0:
				def = src
			}
		}
		return use, def, 0
	}
	// JMP and JMP32.
	switch {
	case in.IsExit():
		return regBit(bpf.R0), 0, 0
	case in.IsJA():
		return 0, 0, 0
	case in.IsCall():
		if in.IsCallx() {
			use = dst
		}
		return use, regBit(bpf.R0), argRegs
	}
	use = dst
	if in.Source() == bpf.SrcX {
		use |= src
	}
	return use, 0, 0
}
