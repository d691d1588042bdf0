package mips32

import "testing"

// Filling from the target: the target's first instruction, when it may
// also run on the fall-through path (after a jump: when it fits a slot),
// with the branch pointed past it.
func TestFillFromTarget(t *testing.T) {
	nop := Inst{Op: NOP}
	ret := []Inst{{Op: JR, Rs: RA}, nop}
	li := Inst{Op: ADDIU, Rt: V0, Rs: ZERO, Imm: 1}
	bne := func(target int) Inst { return Inst{Op: BNE, Rs: A0, Rt: ZERO, Target: target} }
	target := func(first Inst) []Inst { return seq([]Inst{{Op: LABEL, Target: 1}, first}, ret) }
	fall := func(reads Reg) []Inst {
		return seq([]Inst{{Op: LABEL, Target: 0}, {Op: ADDU, Rd: V0, Rs: reads, Rt: ZERO}}, ret)
	}
	cases := []rewriteCase{
		{"an early return's value",
			seq([]Inst{bne(1), nop}, fall(A1), target(li)),
			seq([]Inst{bne(2), li}, fall(A1), []Inst{{Op: LABEL, Target: 1}, li, {Op: LABEL, Target: 2}}, ret)},
		{"not what the fall-through path reads",
			seq([]Inst{bne(1), nop, {Op: ADDU, Rd: T0, Rs: V0, Rt: ZERO}}, fall(T0), target(li)), nil},
		{"not a load",
			seq([]Inst{bne(1), nop}, fall(A1), target(Inst{Op: LW, Rt: V0, Rs: A1})), nil},
		{"two branches share the label",
			seq([]Inst{bne(1), nop, bne(1), nop}, fall(A1), target(li)),
			seq([]Inst{bne(2), li, bne(2), li}, fall(A1), []Inst{{Op: LABEL, Target: 1}, li, {Op: LABEL, Target: 2}}, ret)},
		{"after a jump, a load too",
			seq([]Inst{{Op: B, Target: 1}, nop}, fall(A1), target(Inst{Op: LW, Rt: V0, Rs: A1})),
			seq([]Inst{{Op: B, Target: 2}, {Op: LW, Rt: V0, Rs: A1}}, fall(A1),
				[]Inst{{Op: LABEL, Target: 1}, {Op: LW, Rt: V0, Rs: A1}, {Op: LABEL, Target: 2}}, ret)},
		{"not a filled slot",
			seq([]Inst{bne(1), {Op: ADDU, Rd: T1, Rs: A1, Rt: A2}}, fall(A1), target(li)), nil},
	}
	checkRewrites(t, cases, fillFromTarget)
}
