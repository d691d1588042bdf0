package campaign

import (
	"bytes"
	"slices"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// The reducer: delta debugging (Zeller and Hildebrandt, "Simplifying and
// Isolating Failure-Inducing Input", TSE 2002) over a program's
// instructions and its memory bytes. Removing instructions from eBPF code
// must keep it valid: a removed instruction's jumps-in and calls-in are
// retargeted to the next instruction kept (where control would have gone
// next had the instruction been a no-op), every jump and `call local`
// offset is recomputed for the new layout, and the candidate must pass
// bpf.NewProgram and wellFormed (no jump between functions, no recursion,
// no read of a register a call left undefined). A candidate is kept only
// when it is valid and still fails. Each round first tries to drop whole
// subprograms with every call to them, then removes instructions, then
// simplifies single instructions (constants to 0 or 1, conditional jumps
// to unconditional ones, lddw to mov) and zeroes memory bytes the same
// way; rounds repeat until one changes nothing.

// Reduce returns the smallest program and memory it finds for which
// stillFails holds, starting from p and mem (for which it must hold; if
// it does not, p and mem come back unchanged). The memory keeps its
// length: programs address it at fixed offsets.
func Reduce(p *bpf.Program, mem []byte, stillFails func(*bpf.Program, []byte) bool) (*bpf.Program, []byte) {
	mem = bytes.Clone(mem)
	if !stillFails(p, mem) {
		return p, mem
	}
	for {
		text, oldMem := bpf.Disassemble(p), bytes.Clone(mem)
		p = dropSubprograms(p, mem, stillFails)
		p = reduceInsns(p, mem, stillFails)
		p = simplifyInsns(p, mem, stillFails)
		mem = reduceMem(p, mem, stillFails)
		if bpf.Disassemble(p) == text && bytes.Equal(mem, oldMem) {
			return p, mem
		}
	}
}

// dropSubprograms tries, last subprogram first, to remove a subprogram
// together with every call to it (the code that sets up its arguments
// stays for reduceInsns): ddmin alone rarely removes a callee and its
// distant call sites in the same step.
func dropSubprograms(p *bpf.Program, mem []byte, stillFails func(*bpf.Program, []byte) bool) *bpf.Program {
	starts, err := functionStarts(p)
	if err != nil {
		return p
	}
	for fi := len(starts) - 1; fi >= 1; fi-- {
		// A drop removes call sites in earlier functions too: find the
		// function's place in the current program.
		cur, err := functionStarts(p)
		if err != nil || fi >= len(cur) {
			continue
		}
		start, end := cur[fi], len(p.Insns)
		if fi+1 < len(cur) {
			end = cur[fi+1]
		}
		keep := make([]bool, len(p.Insns))
		for k, in := range p.Insns {
			call := in.IsLocalCall() && p.IndexOfSlot(in.CallTarget()) == start
			keep[k] = !call && (k < start || k >= end)
		}
		if q, ok := removeInsns(p, keep); ok && stillFails(q, mem) {
			p = q
		}
	}
	return p
}

// reduceInsns removes instructions by ddmin.
func reduceInsns(p *bpf.Program, mem []byte, stillFails func(*bpf.Program, []byte) bool) *bpf.Program {
	keep := ddmin(len(p.Insns), func(keep []bool) bool {
		q, ok := removeInsns(p, keep)
		return ok && stillFails(q, mem)
	})
	q, ok := removeInsns(p, keep)
	if !ok {
		return p // unreachable: ddmin only returns sets that passed
	}
	return q
}

// reduceMem zeroes memory bytes by ddmin.
func reduceMem(p *bpf.Program, mem []byte, stillFails func(*bpf.Program, []byte) bool) []byte {
	var nonzero []int
	for i, b := range mem {
		if b != 0 {
			nonzero = append(nonzero, i)
		}
	}
	zeroed := func(keep []bool) []byte {
		m := bytes.Clone(mem)
		for k, i := range nonzero {
			if !keep[k] {
				m[i] = 0
			}
		}
		return m
	}
	keep := ddmin(len(nonzero), func(keep []bool) bool { return stillFails(p, zeroed(keep)) })
	return zeroed(keep)
}

// ddmin returns a subset of n items (true = kept) for which test holds,
// 1-minimal: removing any single kept item makes test fail. test(all)
// must hold. It removes chunks of the kept items, halving the chunk size
// whenever no chunk can go.
func ddmin(n int, test func(keep []bool) bool) []bool {
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	gran := 2
	for {
		var items []int
		for i, k := range keep {
			if k {
				items = append(items, i)
			}
		}
		if len(items) == 0 {
			return keep
		}
		gran = min(gran, len(items))
		chunk := (len(items) + gran - 1) / gran
		progress := false
		for start := 0; start < len(items); {
			end := min(start+chunk, len(items))
			cand := slices.Clone(keep)
			for _, i := range items[start:end] {
				cand[i] = false
			}
			if test(cand) {
				keep = cand
				items = slices.Delete(items, start, end)
				progress = true
			} else {
				start = end
			}
		}
		if !progress {
			if chunk == 1 {
				return keep
			}
			gran *= 2
		}
	}
}

// removeInsns builds the program of p's instructions that keep marks
// (relayout without replacements).
func removeInsns(p *bpf.Program, keep []bool) (*bpf.Program, bool) {
	return relayout(p, keep, -1, bpf.Insn{})
}

// relayout builds the program of p's instructions that keep marks, with
// instruction at index repl (-1: none) replaced by with, jumps and local
// calls into removed instructions retargeted to the next kept one, and
// every offset recomputed for the new layout (a replacement may change the
// number of slots: lddw to mov). ok is false when the result is not a
// valid, well-formed program (a jump would leave the program or its
// function, the last instruction is not an exit or jump, ...).
func relayout(p *bpf.Program, keep []bool, repl int, with bpf.Insn) (*bpf.Program, bool) {
	n := len(p.Insns)
	// next[i] is the first kept index at or after i; n when none.
	next := make([]int, n+1)
	next[n] = n
	for i := n - 1; i >= 0; i-- {
		next[i] = next[i+1]
		if keep[i] {
			next[i] = i
		}
	}
	// newSlot[i] is kept instruction i's slot in the new layout.
	newSlot := make([]int, n)
	slot := 0
	var out []bpf.Insn
	var from []int // out[k] is p.Insns[from[k]]
	for i, in := range p.Insns {
		if !keep[i] {
			continue
		}
		if i == repl {
			in = with
		}
		newSlot[i] = slot
		slot += in.SlotCount()
		out = append(out, in)
		from = append(from, i)
	}
	if len(out) == 0 {
		return nil, false
	}
	for k, i := range from {
		orig := p.Insns[i]
		var target int
		switch {
		case orig.IsJA() || orig.IsCondJump():
			target = orig.JumpTarget()
		case orig.IsLocalCall():
			target = orig.CallTarget()
		default:
			continue
		}
		ti := p.IndexOfSlot(target)
		if ti < 0 || ti >= n || next[ti] == n {
			return nil, false
		}
		if !setOffset(&out[k], newSlot[next[ti]]-(newSlot[i]+1)) {
			return nil, false
		}
	}
	q, err := bpf.NewProgram(p.Name, out)
	if err != nil || wellFormed(q) != nil {
		return nil, false
	}
	return q, true
}

// setOffset stores a jump or call offset in the field its form uses.
func setOffset(in *bpf.Insn, off int) bool {
	switch {
	case in.IsLocalCall(), in.Class() == bpf.ClassJMP32 && in.Code() == bpf.JmpJA:
		in.Imm = int32(off)
		return int(in.Imm) == off
	default:
		in.Off = int16(off)
		return int(in.Off) == off
	}
}

// simplifyInsns tries, one instruction at a time, simpler forms: lddw of
// a small constant as mov, constants 0 and 1, and a conditional jump made
// unconditional.
func simplifyInsns(p *bpf.Program, mem []byte, stillFails func(*bpf.Program, []byte) bool) *bpf.Program {
	for i := 0; i < len(p.Insns); i++ {
		all := make([]bool, len(p.Insns))
		for k := range all {
			all[k] = true
		}
		for _, cand := range simpler(p.Insns[i]) {
			if q, ok := relayout(p, all, i, cand); ok && stillFails(q, mem) {
				p = q
				break
			}
		}
	}
	return p
}

// simpler lists simpler forms of in, simplest first.
func simpler(in bpf.Insn) []bpf.Insn {
	var out []bpf.Insn
	switch {
	case in.IsLdImm64() && in.Src == 0:
		if v := int64(in.Imm64); v == int64(int32(v)) {
			// One slot instead of two: mov sign-extends the same value.
			out = append(out, bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: in.Dst, Imm: int32(v), Line: in.Line})
		}
		for _, v := range []uint64{0, 1} {
			if in.Imm64 != v {
				c := in
				c.Imm64, c.Imm = v, int32(v)
				out = append(out, c)
			}
		}
	case in.IsCondJump():
		c := in
		c.Op, c.Src, c.Imm = bpf.ClassJMP|bpf.JmpJA, 0, 0
		c.Dst = 0
		out = append(out, c)
	case in.Class() == bpf.ClassALU || in.Class() == bpf.ClassALU64 || in.Class() == bpf.ClassST:
		if in.Source() != bpf.SrcK && in.Class() != bpf.ClassST {
			break
		}
		for _, v := range []int32{0, 1} {
			if in.Imm != v {
				c := in
				c.Imm = v
				out = append(out, c)
			}
		}
	}
	return out
}
