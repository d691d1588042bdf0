package kernel

import "github.com/bpfopt/bpfopt/frontend/bpf"

// Minimizing a disagreement: replace instructions by `ja +0` (which keeps
// every jump offset valid) while the program still fails, then delete the
// nops one by one with the jump offsets fixed. The stack initialisation of
// the prologue is kept: without it the kernel reads stale stack and the
// failure becomes random. Registers may lose their initialisation: the
// verifier refuses a read of an unset register, and r2 and r3 start equal
// in both runs (see xdpPrefix).

var nop = bpf.Insn{Op: bpf.ClassJMP | bpf.JmpJA}

func isNop(in bpf.Insn) bool { return in.Op == nop.Op && in.Off == 0 }

// stackInitSlots are the slots of the prologue's stack stores: the DW
// stores below r10 that follow the leading constant loads.
func stackInitSlots(insns []bpf.Insn) map[int]bool {
	i := 0
	for i < len(insns) && (insns[i].IsLdImm64() || insns[i].Op&^bpf.ClassALU64 == bpf.AluMOV|bpf.SrcK && (insns[i].Class() == bpf.ClassALU64 || insns[i].Class() == bpf.ClassALU)) {
		i++
	}
	slots := map[int]bool{}
	for ; i < len(insns); i++ {
		in := insns[i]
		if in.Class() != bpf.ClassST && in.Class() != bpf.ClassSTX || in.Dst != bpf.R10 || in.Op&0xf8 != bpf.ModeMEM|bpf.SizeDW {
			break
		}
		slots[in.Slot] = true
	}
	return slots
}

func minimize(p *bpf.Program, fails func(*bpf.Program) bool) *bpf.Program {
	insns := p.Insns
	keep := stackInitSlots(insns) // nops keep every slot in place
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

// withoutNop deletes the one-slot nop at index i, fixing the jumps that
// cross it.
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
		if j == i {
			continue
		}
		if in.IsJA() || in.IsCondJump() {
			off := moved(in.JumpTarget()) - (moved(in.Slot) + 1)
			if in.Class() == bpf.ClassJMP32 && in.Code() == bpf.JmpJA {
				in.Imm = int32(off)
			} else {
				in.Off = int16(off)
			}
		}
		out = append(out, in)
	}
	return out
}
