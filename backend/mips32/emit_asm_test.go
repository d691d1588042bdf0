package mips32

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInstString(t *testing.T) {
	for _, c := range []struct {
		in   Inst
		want string
	}{
		{Inst{Op: ADDU, Rd: V0, Rs: A0, Rt: A1}, "addu v0, a0, a1"},
		{Inst{Op: ADDU, Rd: FirstVirtual + 12, Rs: A0, Rt: FirstVirtual}, "addu %12, a0, %0"},
		{Inst{Op: ADDIU, Rt: SP, Rs: SP, Imm: -32}, "addiu sp, sp, -32"},
		{Inst{Op: ORI, Rt: V0, Rs: V0, Imm: 0xff00}, "ori v0, v0, 0xff00"},
		{Inst{Op: LUI, Rt: T9, Sym: "memcpy", Reloc: RelocHi16}, "lui t9, %hi(memcpy)"},
		{Inst{Op: ADDIU, Rt: T9, Rs: T9, Sym: "memcpy", Reloc: RelocLo16}, "addiu t9, t9, %lo(memcpy)"},
		{Inst{Op: LW, Rt: RA, Rs: SP, Imm: 20}, "lw ra, 20(sp)"},
		{Inst{Op: SB, Rt: ZERO, Rs: A0, Imm: -1}, "sb zero, -1(a0)"},
		{Inst{Op: LW, Rt: V0, Rs: AT, Sym: "g", Reloc: RelocLo16}, "lw v0, %lo(g)(at)"},
		{Inst{Op: SLL, Rd: V0, Rt: A0, Imm: 31}, "sll v0, a0, 31"},
		{Inst{Op: SRLV, Rd: V0, Rt: A0, Rs: A1}, "srlv v0, a0, a1"},
		{Inst{Op: EXT, Rt: V0, Rs: A0, Imm: 3, Imm2: 5}, "ext v0, a0, 3, 5"},
		{Inst{Op: DIVU, Rs: A0, Rt: A1}, "divu zero, a0, a1"},
		{Inst{Op: MULT, Rs: A0, Rt: A1}, "mult a0, a1"},
		{Inst{Op: MFLO, Rd: V1}, "mflo v1"},
		{Inst{Op: MOVN, Rd: V0, Rs: A0, Rt: A1}, "movn v0, a0, a1"},
		{Inst{Op: SEB, Rd: V0, Rt: A0}, "seb v0, a0"},
		{Inst{Op: BEQ, Rs: A0, Rt: ZERO, Target: 3}, "beq a0, zero, .L3"},
		{Inst{Op: BLTZ, Rs: A0, Target: 12}, "bltz a0, .L12"},
		{Inst{Op: B, Target: 1}, "b .L1"},
		{Inst{Op: BAL, Target: 2}, "bal .L2"},
		{Inst{Op: JALR, Rs: T9}, "jalr t9"},
		{Inst{Op: MOVE, Rd: S0, Rs: FP}, "move s0, fp"},
		{Inst{Op: LABEL, Target: 4}, ".L4:"},
		{Inst{Op: NOP}, "nop"},
	} {
		assert.Equal(t, c.want, c.in.String())
	}
}

func TestFormatAsmText(t *testing.T) {
	insts := []Inst{
		{Op: LABEL, Target: 0},
		{Op: ADDU, Rd: V0, Rs: A0, Rt: A1},
		{Op: BNE, Rs: V0, Rt: ZERO, Target: 0},
		{Op: SLTU, Rd: V1, Rs: V0, Rt: A0},
		{Op: JR, Rs: RA},
		{Op: NOP},
	}
	a, err := Assemble(insts, Target{Rev: R2})
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, FormatAsm(&b, "add64", a, Target{Rev: R2}))
	want := `	# add64: mips32r2el
	.abicalls
	.option	pic0
	.text
	.align	2
	.set	push
	.set	noreorder
	.set	noat
	.set	nomacro
	.globl	add64
	.type	add64, @function
	.ent	add64
add64:
.Ladd64.0:
	addu	$v0, $a0, $a1
	bne	$v0, $zero, .Ladd64.0
	sltu	$v1, $v0, $a0
	jr	$ra
	nop
	.end	add64
	.size	add64, .-add64
	.set	pop
`
	assert.Equal(t, want, b.String())
}

// TestFormatModuleAsm prints a module of two programs and a subprogram
// they both call: each function's labels carry its own name, and GNU as
// reproduces the module's bytes and relocations.
func TestFormatModuleAsm(t *testing.T) {
	tg := Target{Rev: R2}
	insts := []Inst{
		{Op: LABEL, Target: 0}, // prog_a
		{Op: BEQ, Rs: A0, Rt: ZERO, Target: 1},
		{Op: NOP},
		{Op: BAL, Target: 4},
		{Op: NOP},
		{Op: LABEL, Target: 1},
		{Op: JR, Rs: RA},
		{Op: NOP},
		{Op: LABEL, Target: 2}, // prog_b
		{Op: LABEL, Target: 3},
		{Op: BAL, Target: 4},
		{Op: ADDIU, Rt: A0, Rs: A0, Imm: -1},
		{Op: BNE, Rs: A0, Rt: ZERO, Target: 3},
		{Op: NOP},
		{Op: JR, Rs: RA},
		{Op: NOP},
		{Op: LABEL, Target: 4}, // sub
		{Op: LUI, Rt: V0, Sym: "table", Reloc: RelocHi16},
		{Op: LABEL, Target: 5},
		{Op: BLTZ, Rs: A1, Target: 5},
		{Op: ADDIU, Rt: V0, Rs: V0, Sym: "table", Reloc: RelocLo16},
		{Op: JR, Rs: RA},
		{Op: NOP},
	}
	a, err := Assemble(insts, tg)
	require.NoError(t, err)
	m := &Module{Assembled: a, Funcs: []Symbol{
		{Name: "prog_a", entryLabel: 0}, {Name: "prog_b", entryLabel: 2}, {Name: "sub", Local: true, entryLabel: 4},
	}}
	var b strings.Builder
	require.NoError(t, FormatModuleAsm(&b, m, tg))
	// After the preamble TestFormatAsmText checks:
	_, body, ok := strings.Cut(b.String(), "\t.set\tnomacro\n")
	require.True(t, ok, b.String())
	want := `	.globl	prog_a
	.type	prog_a, @function
	.ent	prog_a
prog_a:
.Lprog_a.0:
	beq	$a0, $zero, .Lprog_a.1
	nop
	bal	.Lsub.4
	nop
.Lprog_a.1:
	jr	$ra
	nop
	.end	prog_a
	.size	prog_a, .-prog_a
	.globl	prog_b
	.type	prog_b, @function
	.ent	prog_b
prog_b:
.Lprog_b.2:
.Lprog_b.3:
	bal	.Lsub.4
	addiu	$a0, $a0, -1
	bne	$a0, $zero, .Lprog_b.3
	nop
	jr	$ra
	nop
	.end	prog_b
	.size	prog_b, .-prog_b
	.local	sub
	.type	sub, @function
	.ent	sub
sub:
.Lsub.4:
	lui	$v0, %hi(table)
.Lsub.5:
	bltz	$a1, .Lsub.5
	addiu	$v0, $v0, %lo(table)
	jr	$ra
	nop
	.end	sub
	.size	sub, .-sub
	.set	pop
`
	assert.Equal(t, want, body)

	obj := gnuAssemble(t, b.String(), tg)
	assert.Equal(t, a.Code, textSection(t, obj)[:len(a.Code)])
	assert.Equal(t, a.Relocs, textRelocs(t, obj))

	require.EqualError(t, FormatModuleAsm(&b, &Module{Assembled: a}, tg), "module without functions")
}

func TestFormatAsmErrors(t *testing.T) {
	a, err := Assemble([]Inst{{Op: JR, Rs: RA}, {Op: NOP}}, Target{Rev: R2})
	require.NoError(t, err)
	for _, name := range []string{"", "1abc", "a b", "x$y", "f-g"} {
		assert.Error(t, FormatAsm(&strings.Builder{}, name, a, Target{Rev: R2}), "name %q", name)
	}
	bad := &Assembled{Insts: []Inst{{Op: ADDU, Rd: FirstVirtual, Rs: A0, Rt: A1}}}
	err = FormatAsm(&strings.Builder{}, "f", bad, Target{Rev: R2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "instruction 0: addu %0, a0, a1: virtual register %0")
	badSym := &Assembled{Insts: []Inst{{Op: LUI, Rt: V0, Sym: "a b", Reloc: RelocHi16}}}
	assert.Error(t, FormatAsm(&strings.Builder{}, "f", badSym, Target{Rev: R2}))
	assert.Equal(t, "invalid", Inst{Op: 9999}.String(), "String never panics")
	r2 := &Assembled{Insts: []Inst{{Op: ROTR, Rd: V0, Rt: A0, Imm: 1}}}
	assert.Error(t, FormatAsm(&strings.Builder{}, "f", r2, Target{Rev: R1}))
}

// variedFunc builds a function that uses every opcode the target has, with
// random registers and boundary immediates, symbolic immediates, short
// branches of every kind in both directions, and (when pad > 32767) long
// branches of every kind in both directions across pad random instructions.
func variedFunc(tg Target, pad int, seed uint64) []Inst {
	rng := rand.New(rand.NewPCG(seed, 7))
	reg := func() Reg { return Reg(rng.IntN(int(NumGPR))) }
	pick := func(vs ...int32) int32 { return vs[rng.IntN(len(vs))] }
	simm := func() int32 { return pick(-32768, -1, 0, 1, 255, 32767, int32(rng.IntN(65536))-32768) }
	uimm := func() int32 { return pick(0, 1, 0x7fff, 0x8000, 0xffff, int32(rng.IntN(65536))) }
	syms := []string{"ext_fn", "ext_global", "other_sym"}

	// plain returns a random non-branch instruction of opcode op.
	plain := func(op Opcode) Inst {
		in := Inst{Op: op}
		switch op.Info().Format {
		case FmtR3, FmtCondMove, FmtShiftV:
			in.Rd, in.Rs, in.Rt = reg(), reg(), reg()
		case FmtR2:
			in.Rd, in.Rt = reg(), reg()
		case FmtRI:
			in.Rt, in.Rs, in.Imm = reg(), reg(), simm()
			if encodings[op].unsignedImm {
				in.Imm = uimm()
			}
		case FmtLUI:
			in.Rt, in.Imm = reg(), uimm()
		case FmtShift:
			in.Rd, in.Rt, in.Imm = reg(), reg(), pick(0, 1, 16, 31, int32(rng.IntN(32)))
		case FmtMulDiv:
			in.Rs, in.Rt = reg(), reg()
		case FmtMoveHiLo:
			in.Rd = reg()
		case FmtLoad, FmtLoadMerge, FmtStore, FmtSC:
			in.Rt, in.Rs, in.Imm = reg(), reg(), simm()
		case FmtExt, FmtIns:
			in.Rt, in.Rs = reg(), reg()
			in.Imm = pick(0, 31, int32(rng.IntN(32)))
			in.Imm2 = 1 + int32(rng.IntN(int(32-in.Imm)))
		case FmtMove:
			in.Rd, in.Rs = reg(), reg()
		}
		return in
	}
	var plainOps []Opcode
	for op := Opcode(1); op < numOpcodes; op++ {
		if op.HasDelaySlot() || !op.Encodable() || (op.Info().R2 && !tg.HasR2()) {
			continue
		}
		plainOps = append(plainOps, op)
	}
	randomPlain := func() Inst { return plain(plainOps[rng.IntN(len(plainOps))]) }
	branch := func(op Opcode, target int) []Inst {
		in := Inst{Op: op, Target: target}
		switch op.Info().Format {
		case FmtBranch2:
			in.Rs, in.Rt = reg(), reg()
		case FmtBranch1:
			in.Rs = reg()
		}
		return []Inst{in, randomPlain()}
	}
	condBranches := []Opcode{BEQ, BNE, BLEZ, BGTZ, BLTZ, BGEZ}

	insts := []Inst{{Op: LABEL, Target: 100}}
	for _, op := range plainOps { // every opcode twice
		insts = append(insts, plain(op), plain(op))
	}
	for i, s := range syms {
		insts = append(insts,
			Inst{Op: LUI, Rt: AT, Sym: s, Reloc: RelocHi16},
			Inst{Op: ADDIU, Rt: T9, Rs: AT, Sym: s, Reloc: RelocLo16},
			Inst{Op: []Opcode{LW, SB, LHU}[i], Rt: V0, Rs: AT, Sym: s, Reloc: RelocLo16},
		)
	}
	// Short branches: backward to .L100, forward to .L101.
	for _, op := range append(condBranches, B, BAL) {
		insts = append(insts, branch(op, 100)...)
		insts = append(insts, branch(op, 101)...)
	}
	insts = append(insts, Inst{Op: JALR, Rs: T9}, randomPlain(), Inst{Op: JR, Rs: reg()}, randomPlain())
	insts = append(insts, Inst{Op: LABEL, Target: 101})
	// Long forward branches to .L102 across the padding.
	for _, op := range append(condBranches, B) {
		insts = append(insts, branch(op, 102)...)
	}
	for range pad {
		insts = append(insts, randomPlain())
	}
	insts = append(insts, Inst{Op: LABEL, Target: 102})
	// Long backward branches to .L100 and .L101.
	for _, op := range append(condBranches, B) {
		insts = append(insts, branch(op, 100)...)
		insts = append(insts, branch(op, 101)...)
	}
	return append(insts, Inst{Op: JR, Rs: RA}, Inst{Op: NOP})
}

// TestFormatAsmMatchesGNU assembles our printed functions with GNU as and
// compares the bytes and relocations with Assemble's, for every target.
func TestFormatAsmMatchesGNU(t *testing.T) {
	requireTools(t, "mipsel-linux-gnu-as", "mipsel-linux-gnu-objcopy", "mipsel-linux-gnu-readelf")
	for _, tg := range []Target{{Rev: R2}, {Rev: R2, BigEndian: true}, {Rev: R1}, {Rev: R1, BigEndian: true}} {
		t.Run(tg.String(), func(t *testing.T) {
			var src strings.Builder
			var code []byte
			var relocs []Reloc
			for i, f := range []testFunc{
				{"varied_short", variedFunc(tg, 100, 1)},
				{"varied_long", variedFunc(tg, 40000, 2)},
				{"long_branches", longBranchFunc(40000)},
			} {
				a, err := Assemble(f.insts, tg)
				require.NoError(t, err, f.name)
				if i == 0 {
					require.Len(t, a.Insts, len(f.insts), "varied_short has no long branch")
				} else {
					require.Greater(t, len(a.Insts), len(f.insts), "%s has long branches", f.name)
				}
				require.NoError(t, FormatAsm(&src, f.name, a, tg))
				for _, r := range a.Relocs {
					r.Offset += uint32(len(code))
					relocs = append(relocs, r)
				}
				code = append(code, a.Code...)
			}
			obj := gnuAssemble(t, src.String(), tg)
			got := textSection(t, obj)
			// GNU as pads .text to its 16-byte alignment.
			require.Equal(t, int(alignUp(uint32(len(code)), 16)), len(got), ".text size")
			assert.Equal(t, make([]byte, len(got)-len(code)), got[len(code):], "padding")
			for i := 0; i < len(code); i += 4 {
				if !assert.Equal(t, code[i:i+4], got[i:i+4], "word at offset %#x", i) {
					break
				}
			}
			assert.Equal(t, relocs, textRelocs(t, obj))
		})
	}
}
