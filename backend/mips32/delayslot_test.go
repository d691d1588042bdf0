package mips32

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// rewriteCase is a code rewrite's input and expected output (nil:
// unchanged).
type rewriteCase struct {
	name string
	in   []Inst
	want []Inst
}

// checkRewrites runs rewrite on a copy of each case's input.
func checkRewrites(t *testing.T, cases []rewriteCase, rewrite func([]Inst) []Inst) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if want == nil {
				want = c.in
			}
			require.Equal(t, want, rewrite(append([]Inst(nil), c.in...)))
		})
	}
}

// seq concatenates instruction sequences.
func seq(parts ...[]Inst) []Inst {
	var out []Inst
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// The candidate just before the branch (a label before it ends the run).
func TestFillDelaySlots(t *testing.T) {
	nop := Inst{Op: NOP}
	cases := []struct {
		name  string
		cand  Inst
		br    Inst
		moved bool
	}{
		{"independent", Inst{Op: ADDU, Rd: V0, Rs: A0, Rt: A1}, Inst{Op: BNE, Rs: A2, Rt: ZERO, Target: 1}, true},
		{"branch reads the result", Inst{Op: ADDU, Rd: A2, Rs: A0, Rt: A1}, Inst{Op: BNE, Rs: A2, Rt: ZERO, Target: 1}, false},
		{"call target computation", Inst{Op: ADDIU, Rt: T9, Rs: T9}, Inst{Op: JALR, Rd: RA, Rs: T9}, false},
		{"argument set-up before a call", Inst{Op: MOVE, Rd: A0, Rs: S0}, Inst{Op: JALR, Rd: RA, Rs: T9}, true},
		{"reads ra before a call", Inst{Op: MOVE, Rd: S0, Rs: RA}, Inst{Op: BAL, Target: 1}, false},
		{"store-conditional", Inst{Op: SC, Rt: T0, Rs: A0}, Inst{Op: BEQ, Rs: T1, Rt: ZERO, Target: 1}, false},
		{"label", Inst{Op: LABEL, Target: 3}, Inst{Op: B, Target: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []Inst{{Op: LABEL, Target: 9}, c.cand, c.br, nop}
			out := fillDelaySlots(in)
			if c.moved {
				require.Equal(t, []Inst{in[0], c.br, c.cand}, out)
			} else {
				require.Equal(t, in, out)
			}
		})
	}
	// An instruction in another branch's delay slot stays there.
	in := []Inst{{Op: B, Target: 1}, {Op: ADDU, Rd: V0, Rs: A0, Rt: A1}, {Op: B, Target: 2}, nop}
	require.Equal(t, in, fillDelaySlots(in))
}

// Looking further back: the instruction moves past the ones between it
// and the branch only when nothing depends on the order.
func TestFillDelaySlotsLooksBack(t *testing.T) {
	nop := Inst{Op: NOP}
	addu := Inst{Op: ADDU, Rd: V0, Rs: A0, Rt: A1}
	sltu := Inst{Op: SLTU, Rd: T0, Rs: A2, Rt: A3}
	bne := Inst{Op: BNE, Rs: T0, Rt: ZERO, Target: 1}
	cases := []rewriteCase{
		{"past the compare", []Inst{addu, sltu, bne, nop}, []Inst{sltu, bne, addu}},
		{"not past a reader of its result",
			[]Inst{addu, {Op: SLTU, Rd: T0, Rs: V0, Rt: A3}, bne, nop}, nil},
		{"not past a writer of its operand",
			[]Inst{addu, {Op: SLTU, Rd: A0, Rs: A2, Rt: A3}, {Op: BNE, Rs: A0, Rt: ZERO, Target: 1}, nop}, nil},
		{"not a store past a load",
			[]Inst{{Op: SW, Rt: V0, Rs: A0}, {Op: LW, Rt: T0, Rs: A1, Imm: 4}, bne, nop}, nil},
		{"not a multiply past mflo",
			[]Inst{{Op: MULT, Rs: A0, Rt: A1}, {Op: MFLO, Rd: T0}, bne, nop}, nil},
		{"not across a label",
			[]Inst{addu, {Op: LABEL, Target: 5}, sltu, bne, nop}, nil},
		{"the nearest that fits",
			[]Inst{addu, {Op: ADDU, Rd: V1, Rs: A0, Rt: A1}, sltu, bne, nop},
			[]Inst{addu, sltu, bne, {Op: ADDU, Rd: V1, Rs: A0, Rt: A1}}},
	}
	checkRewrites(t, cases, fillDelaySlots)
}

// Filling from the fall-through path: only what is dead where the branch
// goes, cannot trap, and is reached through this branch alone.
func TestFillFromFallThrough(t *testing.T) {
	nop := Inst{Op: NOP}
	bne := Inst{Op: BNE, Rs: A0, Rt: ZERO, Target: 1}
	li5 := Inst{Op: ADDIU, Rt: T0, Rs: ZERO, Imm: 5}
	ret := []Inst{{Op: JR, Rs: RA}, nop}
	target := func(reads Reg) []Inst {
		return append([]Inst{{Op: LABEL, Target: 1}, {Op: ADDU, Rd: V0, Rs: reads, Rt: ZERO}}, ret...)
	}
	cases := []rewriteCase{
		{"dead at the target",
			seq([]Inst{bne, nop, li5, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1)),
			seq([]Inst{bne, li5, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1))},
		{"live at the target",
			seq([]Inst{bne, nop, li5, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(T0)), nil},
		{"a load may trap",
			seq([]Inst{bne, nop, {Op: LW, Rt: T0, Rs: A1}, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1)), nil},
		{"behind an unnamed label",
			seq([]Inst{bne, nop, {Op: LABEL, Target: 2}, li5, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1)),
			seq([]Inst{bne, li5, {Op: LABEL, Target: 2}, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1))},
		{"behind a label another branch names",
			seq([]Inst{bne, nop, {Op: LABEL, Target: 2}, li5, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1),
				[]Inst{{Op: B, Target: 2}, nop}), nil},
		{"up past an independent load",
			seq([]Inst{bne, nop, {Op: LW, Rt: T1, Rs: A1}, li5, {Op: ADDU, Rd: V0, Rs: T0, Rt: T1}}, ret, target(A1)),
			seq([]Inst{bne, li5, {Op: LW, Rt: T1, Rs: A1}, {Op: ADDU, Rd: V0, Rs: T0, Rt: T1}}, ret, target(A1))},
		{"not up past what it depends on",
			seq([]Inst{bne, nop, {Op: LW, Rt: T1, Rs: A1}, {Op: ADDIU, Rt: T0, Rs: T1, Imm: 1}, {Op: MOVE, Rd: V0, Rs: T0}}, ret, target(A1)), nil},
	}
	checkRewrites(t, cases, func(in []Inst) []Inst { return fillFallThroughSlots(in, liveAtLabels(in)) })
}

// Liveness of the physical registers in final code: through branches,
// delay slots, calls and returns.
func TestLiveAtLabels(t *testing.T) {
	nop := Inst{Op: NOP}
	code := []Inst{
		{Op: LABEL, Target: 0},
		{Op: BEQ, Rs: A0, Rt: ZERO, Target: 2}, {Op: ADDIU, Rt: T1, Rs: ZERO, Imm: 1}, // t1 set in the slot
		{Op: LABEL, Target: 1},
		{Op: JALR, Rd: RA, Rs: T9}, {Op: MOVE, Rd: A0, Rs: T2}, // a call: t2 read, t0 clobbered
		{Op: ADDU, Rd: V0, Rs: V0, Rt: S0},
		{Op: LABEL, Target: 2},
		{Op: ADDU, Rd: V0, Rs: T1, Rt: T0},
		{Op: JR, Rs: RA}, nop,
	}
	live := liveAtLabels(code)
	require.Equal(t, returnUses&^maskOf(V0)|maskOf(T1, T0), live[2])
	require.Zero(t, live[2]&maskOf(A0, A1, A2, A3), "a return reads no argument register")
	require.NotZero(t, live[1]&maskOf(T2, T9, S0), "a call reads t9 and its arguments; s0 is read after it")
	require.Zero(t, live[1]&maskOf(T0), "t0 dies at the call")
	require.Zero(t, live[0]&maskOf(T1), "t1 is set in the delay slot before both paths")
	require.NotZero(t, live[0]&maskOf(A0, T0), "a0 is read by the branch, t0 at label 2")

	tail := []Inst{{Op: LABEL, Target: 0}, {Op: JR, Rs: T9}, nop}
	require.Equal(t, exitUses, liveAtLabels(tail)[0], "a tail call passes a0..a3 on")
}
