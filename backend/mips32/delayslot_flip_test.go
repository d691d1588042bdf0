package mips32

import "testing"

// Reversing a conditional branch over the jump it falls into: the shapes
// that gain, and each condition that keeps the code as it is.
func TestFlipBranches(t *testing.T) {
	nop := Inst{Op: NOP}
	head := Inst{Op: LABEL, Target: 0}
	exit := Inst{Op: LABEL, Target: 1}
	body := Inst{Op: ADDU, Rd: V0, Rs: V0, Rt: T1}
	beq := Inst{Op: BEQ, Rs: T0, Rt: ZERO, Target: 1} // to the exit
	bne := Inst{Op: BNE, Rs: T0, Rt: ZERO, Target: 0} // reversed, to the head
	back := Inst{Op: B, Target: 0}
	move := Inst{Op: MOVE, Rd: T2, Rs: T3} // the back edge's phi move
	s1 := Inst{Op: ADDIU, Rt: T4, Rs: T4, Imm: 1}
	ret := []Inst{{Op: JR, Rs: RA}, nop}
	exitReads := func(r Reg) []Inst {
		return seq([]Inst{exit, {Op: ADDU, Rd: V0, Rs: V0, Rt: r}}, ret)
	}
	cases := []rewriteCase{
		{"the jump's slot moves into the branch's",
			seq([]Inst{head, body, beq, nop, back, move}, exitReads(A1)),
			seq([]Inst{head, body, bne, move}, exitReads(A1))},
		{"the branch keeps its slot when the jump's is empty",
			seq([]Inst{head, body, beq, s1, back, nop}, exitReads(A1)),
			seq([]Inst{head, body, bne, s1}, exitReads(A1))},
		{"both slots full: the branch's moves up",
			seq([]Inst{head, body, beq, s1, back, move}, exitReads(A1)),
			seq([]Inst{head, body, s1, bne, move}, exitReads(A1))},
		{"not when the branch reads what its slot writes",
			seq([]Inst{head, body, beq, {Op: ADDIU, Rt: T0, Rs: T0, Imm: 1}, back, move}, exitReads(A1)), nil},
		{"not when the jump's slot writes what the exit reads",
			seq([]Inst{head, body, beq, nop, back, move}, exitReads(T2)), nil},
		{"not when the jump's slot may trap",
			seq([]Inst{head, body, beq, nop, back, {Op: LW, Rt: T2, Rs: A0}}, exitReads(A1)), nil},
		{"behind an unnamed label",
			seq([]Inst{head, body, beq, nop, {Op: LABEL, Target: 2}, back, move}, exitReads(A1)),
			seq([]Inst{head, body, bne, move}, exitReads(A1))},
		{"not behind a label another branch names",
			seq([]Inst{head, body, beq, nop, {Op: LABEL, Target: 2}, back, move}, exitReads(A1),
				[]Inst{{Op: B, Target: 2}, nop}), nil},
		{"an exit that does not follow gets a jump, on a back edge",
			seq([]Inst{head, body, beq, nop, back, move, {Op: LABEL, Target: 3}}, ret, exitReads(A1)),
			seq([]Inst{head, body, bne, move, {Op: B, Target: 1}, nop, {Op: LABEL, Target: 3}}, ret, exitReads(A1))},
		{"not forward when the exit does not follow",
			seq([]Inst{beq, nop, {Op: B, Target: 0}, move, {Op: LABEL, Target: 3}}, ret, exitReads(A1), []Inst{head}, ret), nil},
		{"not forward when both slots are full",
			seq([]Inst{beq, s1, {Op: B, Target: 0}, move}, exitReads(A1), []Inst{head}, ret), nil},
		{"forward with the exit next",
			seq([]Inst{beq, nop, {Op: B, Target: 0}, move}, exitReads(A1), []Inst{head}, ret),
			seq([]Inst{bne, move}, exitReads(A1), []Inst{head}, ret)},
	}
	checkRewrites(t, cases, func(in []Inst) []Inst { return flipBranches(in, liveAtLabels(in)) })
}
