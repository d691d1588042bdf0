package mips32

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nopInsts(n int) []Inst {
	s := make([]Inst, n)
	for i := range s {
		s[i] = Inst{Op: NOP}
	}
	return s
}

func joinInsts(parts ...[]Inst) []Inst {
	var out []Inst
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestAssembleShortBranches checks label offsets and branch immediates
// against hand-computed values.
func TestAssembleShortBranches(t *testing.T) {
	insts := []Inst{
		{Op: LABEL, Target: 7},                 // 0
		{Op: ADDIU, Rt: V0, Rs: V0, Imm: 1},    // 0
		{Op: BNE, Rs: V0, Rt: A0, Target: 7},   // 4: to 0 → (0-8)/4 = -2
		{Op: NOP},                              // 8
		{Op: BEQ, Rs: A0, Rt: ZERO, Target: 9}, // 12: to 28 → (28-16)/4 = 3
		{Op: NOP},                              // 16
		{Op: B, Target: 9},                     // 20: to 28 → 1
		{Op: NOP},                              // 24
		{Op: LABEL, Target: 9},                 // 28
		{Op: BAL, Target: 9},                   // 28: to 28 → -1
		{Op: NOP},                              // 32
		{Op: JR, Rs: RA},                       // 36
		{Op: MOVE, Rd: V0, Rs: A0},             // 40
	}
	a, err := Assemble(insts, Target{Rev: R2})
	require.NoError(t, err)
	assert.Equal(t, map[int]uint32{7: 0, 9: 28}, a.LabelOffsets)
	assert.Len(t, a.Code, 44)
	assert.Equal(t, len(insts), len(a.Insts), "nothing to relax")
	imms := map[int]int32{}
	for i, in := range a.Insts {
		if isLabelBranch(in.Op) {
			imms[i] = in.Imm
		}
	}
	assert.Equal(t, map[int]int32{2: -2, 4: 3, 6: 1, 9: -1}, imms)
	// bne $v0, $a0, -2 and bal -1, as GNU as encodes them (testdata/encode.txt
	// gives the opcode bits).
	assert.Equal(t, []byte{0xfe, 0xff, 0x44, 0x14}, a.Code[4:8])
	assert.Equal(t, []byte{0xff, 0xff, 0x11, 0x04}, a.Code[28:32])
	assert.Empty(t, a.Relocs)
}

// TestAssembleEncodesFinalInsts checks the documented invariant: encoding
// the non-label Insts in order gives Code.
func TestAssembleEncodesFinalInsts(t *testing.T) {
	for _, tg := range []Target{{Rev: R2}, {Rev: R1, BigEndian: true}} {
		a, err := Assemble(longBranchFunc(40000), tg)
		require.NoError(t, err)
		var code []byte
		for _, in := range a.Insts {
			if in.Op == LABEL {
				continue
			}
			w, err := Encode(in, tg)
			require.NoError(t, err)
			code = appendOrder(tg).AppendUint32(code, w)
		}
		assert.Equal(t, a.Code, code)
	}
}

// instAddr is the byte offset of a.Insts[i].
func instAddr(a *Assembled, i int) uint32 {
	n := uint32(0)
	for _, in := range a.Insts[:i] {
		if in.Op != LABEL {
			n += 4
		}
	}
	return n
}

// longJumpShape is the expansion of a long branch after its delay slot.
var longJumpShape = []Opcode{MOVE, BAL, LUI, LABEL, ADDIU, ADDU, JR, MOVE}

// checkLongJumpAt checks the long jump starting at a.Insts[i] reaches label.
func checkLongJumpAt(t *testing.T, a *Assembled, i int, label int) {
	t.Helper()
	require.GreaterOrEqual(t, len(a.Insts), i+len(longJumpShape))
	for k, op := range longJumpShape {
		require.Equal(t, op, a.Insts[i+k].Op, "long jump instruction %d", k)
	}
	anchor := a.LabelOffsets[a.Insts[i+3].Target]
	hi, lo := a.Insts[i+2].Imm, a.Insts[i+4].Imm
	assert.Equal(t, a.LabelOffsets[label], anchor+uint32(hi)<<16+uint32(lo), "hi %#x lo %d", hi, lo)
	assert.Equal(t, Inst{Op: MOVE, Rd: T9, Rs: RA}, a.Insts[i])
	assert.Equal(t, Inst{Op: ADDU, Rd: AT, Rs: AT, Rt: RA}, a.Insts[i+5])
	assert.Equal(t, Inst{Op: JR, Rs: AT}, a.Insts[i+6])
	assert.Equal(t, Inst{Op: MOVE, Rd: RA, Rs: T9}, a.Insts[i+7])
}

// TestAssembleRangeBoundaries puts branches exactly at the edge of the
// 16-bit range and one word beyond.
func TestAssembleRangeBoundaries(t *testing.T) {
	tg := Target{Rev: R2}
	fwd := func(k int) []Inst { // beq at 0, label at 8+4k: offset k+1
		return joinInsts([]Inst{{Op: BEQ, Rs: A0, Rt: ZERO, Target: 1}, {Op: NOP}}, nopInsts(k), []Inst{{Op: LABEL, Target: 1}})
	}
	back := func(k int) []Inst { // label at 0, beq at 4k: offset -(k+1)
		return joinInsts([]Inst{{Op: LABEL, Target: 1}}, nopInsts(k), []Inst{{Op: BEQ, Rs: A0, Rt: ZERO, Target: 1}, {Op: NOP}})
	}
	a, err := Assemble(fwd(32766), tg)
	require.NoError(t, err)
	assert.Equal(t, BEQ, a.Insts[0].Op)
	assert.Equal(t, int32(32767), a.Insts[0].Imm)

	a, err = Assemble(fwd(32767), tg)
	require.NoError(t, err)
	assert.Equal(t, BNE, a.Insts[0].Op, "inverted")
	assert.Equal(t, int32(8), a.Insts[0].Imm, "skips its delay slot and the 7-instruction long jump")
	assert.Equal(t, NOP, a.Insts[1].Op, "delay slot kept")
	checkLongJumpAt(t, a, 2, 1)

	a, err = Assemble(back(32767), tg)
	require.NoError(t, err)
	assert.Equal(t, BEQ, a.Insts[32768].Op)
	assert.Equal(t, int32(-32768), a.Insts[32768].Imm)

	a, err = Assemble(back(32768), tg)
	require.NoError(t, err)
	assert.Equal(t, BNE, a.Insts[32769].Op)
	checkLongJumpAt(t, a, 32771, 1)
}

// TestAssembleCascade: relaxing one branch pushes another, which was just
// in range, out of range; the fixpoint must catch it.
func TestAssembleCascade(t *testing.T) {
	// A (beq → 1) spans 32761 words when everything is short; B, inside
	// A's span, jumps 40000 words ahead and must be relaxed, which
	// lengthens A's span by exactly the 7 words that put it out of range.
	insts := joinInsts(
		[]Inst{{Op: BEQ, Rs: A0, Rt: ZERO, Target: 1}, {Op: NOP}},
		[]Inst{{Op: BNE, Rs: A1, Rt: ZERO, Target: 2}, {Op: NOP}},
		nopInsts(32758),
		[]Inst{{Op: LABEL, Target: 1}},
		nopInsts(40000),
		[]Inst{{Op: LABEL, Target: 2}, {Op: JR, Rs: RA}, {Op: NOP}},
	)
	a, err := Assemble(insts, Target{Rev: R2})
	require.NoError(t, err)
	assert.Equal(t, BNE, a.Insts[0].Op, "A relaxed")
	checkLongJumpAt(t, a, 2, 1)
	assert.Equal(t, BEQ, a.Insts[11].Op, "B relaxed")
	checkLongJumpAt(t, a, 13, 2)
}

// TestAssembleLongBranches checks every branch kind relaxed forward and
// backward: inversion, delay slot placement and the jump distance.
func TestAssembleLongBranches(t *testing.T) {
	inv := map[Opcode]Opcode{BEQ: BNE, BNE: BEQ, BLEZ: BGTZ, BGTZ: BLEZ, BLTZ: BGEZ, BGEZ: BLTZ}
	delay := Inst{Op: ADDIU, Rt: S0, Rs: S0, Imm: 3}
	for _, op := range []Opcode{BEQ, BNE, BLEZ, BGTZ, BLTZ, BGEZ, B} {
		for _, forward := range []bool{true, false} {
			br := Inst{Op: op, Rs: A2, Rt: A3, Target: 4}
			if op.Info().Format != FmtBranch2 {
				br.Rt = 0
			}
			if op == B {
				br.Rs = 0
			}
			var insts []Inst
			if forward {
				insts = joinInsts([]Inst{{Op: MOVE, Rd: V0, Rs: A0}, br, delay}, nopInsts(40000), []Inst{{Op: LABEL, Target: 4}, {Op: JR, Rs: RA}, {Op: NOP}})
			} else {
				insts = joinInsts([]Inst{{Op: LABEL, Target: 4}}, nopInsts(40000), []Inst{{Op: MOVE, Rd: V0, Rs: A0}, br, delay, {Op: JR, Rs: RA}, {Op: NOP}})
			}
			a, err := Assemble(insts, Target{Rev: R2})
			require.NoError(t, err, "%v forward=%v", op, forward)
			i := 1
			if !forward {
				i = 40002
			}
			require.Equal(t, MOVE, a.Insts[i-1].Op)
			if op == B {
				assert.Equal(t, delay, a.Insts[i], "b: the delay instruction comes first")
				checkLongJumpAt(t, a, i+1, 4)
				continue
			}
			want := br
			want.Op, want.Target, want.Imm = inv[op], a.Insts[i+10].Target, 8
			assert.Equal(t, want, a.Insts[i], "%v inverted", op)
			assert.Equal(t, delay, a.Insts[i+1], "%v: delay instruction stays in the delay slot", op)
			checkLongJumpAt(t, a, i+2, 4)
			assert.Equal(t, LABEL, a.Insts[i+10].Op, "skip label after the long jump")
			assert.Equal(t, instAddr(a, i)+4+4*8, a.LabelOffsets[a.Insts[i+10].Target], "skip label address")
		}
	}
}

func TestAssembleRelocs(t *testing.T) {
	a, err := Assemble(callExtFunc(), Target{Rev: R2})
	require.NoError(t, err)
	assert.Equal(t, []Reloc{{Offset: 8, Type: RelocHi16, Sym: "ext_fn"}, {Offset: 12, Type: RelocLo16, Sym: "ext_fn"}}, a.Relocs)
	assert.Equal(t, []byte{0, 0, 0x19, 0x3c, 0, 0, 0x39, 0x27}, a.Code[8:16], "zero immediates under relocations")
}

func TestAssembleErrors(t *testing.T) {
	tg := Target{Rev: R2}
	cases := []struct {
		name  string
		insts []Inst
		want  string
	}{
		{"undefined label", []Inst{{Op: B, Target: 3}, {Op: NOP}}, "instruction 0 (b .L3): undefined label .L3"},
		{"duplicate label", []Inst{{Op: LABEL, Target: 1}, {Op: NOP}, {Op: LABEL, Target: 1}}, "instruction 2: label .L1 already defined at instruction 0"},
		{"branch in delay slot", []Inst{{Op: LABEL, Target: 1}, {Op: B, Target: 1}, {Op: JR, Rs: RA}, {Op: NOP}}, "instruction 1 (b .L1): branch jr ra in its delay slot"},
		{"label in delay slot", []Inst{{Op: LABEL, Target: 1}, {Op: B, Target: 1}, {Op: LABEL, Target: 2}, {Op: NOP}}, "label .L2 in its delay slot"},
		{"no delay slot", []Inst{{Op: NOP}, {Op: JR, Rs: RA}}, "instruction 1 (jr ra): missing delay slot"},
		{"bal out of range", joinInsts([]Inst{{Op: BAL, Target: 1}, {Op: NOP}}, nopInsts(40000), []Inst{{Op: LABEL, Target: 1}}), "out of bal's range"},
		{"encode error names the instruction", []Inst{{Op: NOP}, {Op: ADDIU, Rt: V0, Rs: V0, Imm: 1 << 20}}, "instruction 1: addiu v0, v0, 1048576: immediate 1048576 out of range"},
		{"virtual register", []Inst{{Op: JR, Rs: FirstVirtual}, {Op: NOP}}, "instruction 0: jr %0: virtual register %0"},
		{"R2 on R1", []Inst{{Op: LABEL, Target: 1}, {Op: WSBH, Rd: V0, Rt: V0}}, "instruction 1: wsbh v0, v0: wsbh needs mips32r2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := tg
			if c.name == "R2 on R1" {
				target = Target{Rev: R1}
			}
			_, err := Assemble(c.insts, target)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
