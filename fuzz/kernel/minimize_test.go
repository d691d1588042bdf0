package kernel

import "github.com/bpfopt/bpfopt/frontend/bpf"

// Minimizing a disagreement: replace instructions by `ja +0` (which keeps
// every jump and call offset valid) while the program still fails, then
// delete the nops one by one with the jump and call offsets fixed. The
// stack initialisation of each function's prologue is kept: without it
// the kernel reads stale stack and the failure becomes random. Registers
// may lose their initialisation: the verifier refuses a read of an unset
// register, and r2 and r3 start equal in both runs (see xdpPrefix).

var nop = bpf.Insn{Op: bpf.ClassJMP | bpf.JmpJA}

func isNop(in bpf.Insn) bool { return in.Op == nop.Op && in.Off == 0 }

// stackInitSlots are the slots of the prologues' stack stores, in the
// entry and in every subprogram: the DW stores below r10 that follow the
// function's leading constant loads (and a subprogram's copies of its
// pointer arguments to callee-saved registers).
func stackInitSlots(p *bpf.Program) map[int]bool {
	slots := map[int]bool{}
	starts := []int{0}
	for _, in := range p.Insns {
		if in.IsLocalCall() {
			if t := p.IndexOfSlot(in.CallTarget()); t > 0 {
				starts = append(starts, t)
			}
		}
	}
	insns := p.Insns
	for _, i := range starts {
		for i < len(insns) && (insns[i].IsLdImm64() || isMov(insns[i])) {
			i++
		}
		for ; i < len(insns); i++ {
			in := insns[i]
			if in.Class() != bpf.ClassST && in.Class() != bpf.ClassSTX || in.Dst != bpf.R10 || in.Op&0xf8 != bpf.ModeMEM|bpf.SizeDW {
				break
			}
			slots[in.Slot] = true
		}
	}
	return slots
}

// isMov reports a mov of a constant or a register (either width).
func isMov(in bpf.Insn) bool {
	return (in.Class() == bpf.ClassALU64 || in.Class() == bpf.ClassALU) && in.Code() == bpf.AluMOV && in.Off == 0
}

func minimize(p *bpf.Program, fails func(*bpf.Program) bool) *bpf.Program {
	insns := p.Insns
	keep := stackInitSlots(p) // nops keep every slot in place
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(insns)-1; i++ {
			if isNop(insns[i]) || keep[insns[i].Slot] {
				continue
			}
			repl := []bpf.Insn{nop}
			if insns[i].IsLdImm64() {
				repl = append(repl, nop)
			}
			trial := append(append(append([]bpf.Insn{}, insns[:i]...), repl...), insns[i+1:]...)
			if q, err := bpf.NewProgram(p.Name, trial); err == nil && fails(q) {
				insns, changed = q.Insns, true
			}
		}
	}
	for i := 0; i < len(insns); {
		if !isNop(insns[i]) {
			i++
			continue
		}
		if q, err := bpf.NewProgram(p.Name, withoutNop(insns, i)); err == nil && fails(q) {
			insns = q.Insns
		} else {
			i++
		}
	}
	q, err := bpf.NewProgram(p.Name, insns)
	if err != nil {
		return p
	}
	return q
}

// withoutNop deletes the one-slot nop at index i, fixing the jumps and
// local calls that cross it.
func withoutNop(insns []bpf.Insn, i int) []bpf.Insn {
	s := insns[i].Slot
	moved := func(t int) int {
		if t > s {
			return t - 1
		}
		return t
	}
	var out []bpf.Insn
	for j, in := range insns {
		if j != i {
			out = append(out, relocate(in, moved))
		}
	}
	return out
}
