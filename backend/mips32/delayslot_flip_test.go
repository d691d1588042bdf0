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
	move2 := Inst{Op: MOVE, Rd: T5, Rs: T6}
	move3 := Inst{Op: MOVE, Rd: T7, Rs: T8}
	s1 := Inst{Op: ADDIU, Rt: T4, Rs: T4, Imm: 1}
	bump := Inst{Op: ADDIU, Rt: T0, Rs: T0, Imm: 1} // writes what the branch reads
	var manyCopies []Inst
	for k := 0; k <= maxLatchCopies; k++ {
		manyCopies = append(manyCopies, Inst{Op: MOVE, Rd: S0 + Reg(k), Rs: T3})
	}
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
		{"the slot that writes what the branch reads stays in the slot",
			seq([]Inst{head, body, beq, bump, back, move}, exitReads(A1)),
			seq([]Inst{head, body, move, bne, bump}, exitReads(A1))},
		{"not when the branch reads what its slot writes and the jump's slot reads it",
			seq([]Inst{head, body, beq, bump, back, {Op: MOVE, Rd: T2, Rs: T0}}, exitReads(A1)), nil},
		{"copies between the slots move up before the reversed branch",
			seq([]Inst{head, body, beq, s1, {Op: LABEL, Target: 2}, move, move2, back, move3}, exitReads(A1)),
			seq([]Inst{head, body, s1, move, move2, bne, move3}, exitReads(A1))},
		{"the copy into the branch's operand takes the slot",
			seq([]Inst{head, body, beq, s1, {Op: MOVE, Rd: T0, Rs: T3}, back, move3}, exitReads(A1)),
			seq([]Inst{head, body, s1, move3, bne, {Op: MOVE, Rd: T0, Rs: T3}}, exitReads(A1))},
		{"not when a copy writes what the exit reads",
			seq([]Inst{head, body, beq, s1, move, back, move3}, exitReads(T2)), nil},
		{"not when a copy may trap",
			seq([]Inst{head, body, beq, s1, {Op: LW, Rt: T2, Rs: A0}, back, move3}, exitReads(A1)), nil},
		{"not forward with copies",
			seq([]Inst{beq, nop, move, {Op: B, Target: 0}, move3}, exitReads(A1), []Inst{head}, ret), nil},
		{"not with more copies than maxLatchCopies",
			seq([]Inst{head, body, beq, nop}, manyCopies, []Inst{back, nop}, exitReads(A1)), nil},
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

// A latch whose first copy overwrites the branch's condition register t0
// and whose second reads what the first overwrites: no order of the two
// leaves t0 alone before the branch, so the condition moves to a free
// register (a0: v0 and v1 are live at the return, the first caller-saved
// one nothing touches).
func TestFlipBranchesRetargetsCondition(t *testing.T) {
	nop := Inst{Op: NOP}
	head := Inst{Op: LABEL, Target: 0}
	exit := Inst{Op: LABEL, Target: 1}
	cond := Inst{Op: SLTU, Rd: T0, Rs: T1, Rt: T2}
	beq := Inst{Op: BEQ, Rs: T0, Rt: ZERO, Target: 1}
	back := Inst{Op: B, Target: 0}
	prev2 := Inst{Op: MOVE, Rd: T0, Rs: T3} // the copy into t0
	prev := Inst{Op: MOVE, Rd: T3, Rs: T4}  // reads what prev2 writes over
	exitReads := func(r Reg) []Inst {
		return []Inst{exit, {Op: ADDU, Rd: V1, Rs: V1, Rt: r}, {Op: JR, Rs: RA}, nop}
	}
	cases := []rewriteCase{
		{"the condition goes to a free register",
			seq([]Inst{head, cond, beq, prev2, back, prev}, exitReads(A1)),
			seq([]Inst{head, {Op: SLTU, Rd: A0, Rs: T1, Rt: T2}, prev2, {Op: BNE, Rs: A0, Rt: ZERO, Target: 0}, prev}, exitReads(A1))},
		{"a free register is one the loop does not touch",
			seq([]Inst{head, {Op: ADDU, Rd: T7, Rs: T7, Rt: A0}, cond, beq, prev2, back, prev}, exitReads(A1)),
			seq([]Inst{head, {Op: ADDU, Rd: T7, Rs: T7, Rt: A0}, {Op: SLTU, Rd: A2, Rs: T1, Rt: T2}, prev2,
				{Op: BNE, Rs: A2, Rt: ZERO, Target: 0}, prev}, exitReads(A1))},
		{"not when the exit reads the condition register",
			seq([]Inst{head, cond, beq, prev2, back, prev}, exitReads(T0)), nil},
		{"not when a copy reads the condition",
			seq([]Inst{head, cond, beq, {Op: ADDU, Rd: T0, Rs: T0, Rt: T3}, back, prev}, exitReads(A1)), nil},
		{"not when the condition is not computed in the latch's own run",
			seq([]Inst{cond, head, beq, prev2, back, prev}, exitReads(A1)), nil},
		{"not forward",
			seq([]Inst{cond, beq, prev2, {Op: B, Target: 0}, prev}, exitReads(A1), []Inst{head, {Op: JR, Rs: RA}, nop}), nil},
	}
	checkRewrites(t, cases, func(in []Inst) []Inst { return flipBranches(in, liveAtLabels(in)) })
}
