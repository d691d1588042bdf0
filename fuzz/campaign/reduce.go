package campaign

import (
	"bytes"
	"slices"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// The reducer: delta debugging (Zeller and Hildebrandt, "Simplifying and
// Isolating Failure-Inducing Input", TSE 2002) over a program's
// instructions and its memory bytes. Removing instructions from eBPF code
// must keep it valid: a removed instruction's jumps-in are retargeted to
// the next instruction kept (where control would have gone next had the
// instruction been a no-op), every offset is recomputed for the new
// layout, and the candidate must pass bpf.NewProgram. A candidate is kept
// only when it is valid and still fails. After the removals, single
// instructions are simplified (constants to 0 or 1, conditional jumps to
// unconditional ones) and memory bytes are zeroed the same way.

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
		size := len(p.Insns)
		p = reduceInsns(p, mem, stillFails)
		p = simplifyInsns(p, mem, stillFails)
		mem = reduceMem(p, mem, stillFails)
		if len(p.Insns) >= size {
			return p, mem
		}
	}
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

// removeInsns builds the program of p's instructions that keep marks, with
// jumps and local calls into removed instructions retargeted to the next
// kept one, and validates it. ok is false when no valid program results
// (a jump would leave the program, or the last instruction is not an exit
// or jump).
func removeInsns(p *bpf.Program, keep []bool) (*bpf.Program, bool) {
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
	for i, in := range p.Insns {
		if keep[i] {
			newSlot[i] = slot
			slot += in.SlotCount()
			out = append(out, in)
		}
	}
	if len(out) == 0 {
		return nil, false
	}
	k := 0
	for i, in := range p.Insns {
		if !keep[i] {
			continue
		}
		var target int
		switch {
		case in.IsJA() || in.IsCondJump():
			target = in.JumpTarget()
		case in.IsLocalCall():
			target = in.CallTarget()
		default:
			k++
			continue
		}
		ti := p.IndexOfSlot(target)
		if ti < 0 || ti >= n || next[ti] == n {
			return nil, false
		}
		off := newSlot[next[ti]] - (newSlot[i] + 1)
		if !setOffset(&out[k], off) {
			return nil, false
		}
		k++
	}
	q, err := bpf.NewProgram(p.Name, out)
	if err != nil {
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
		for _, cand := range simpler(p.Insns[i]) {
			insns := slices.Clone(p.Insns)
			insns[i] = cand
			q, err := bpf.NewProgram(p.Name, insns)
			if err == nil && stillFails(q, mem) {
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
