package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// regCase is a snippet that leaves its results in v0 and v1; the expected
// values are worked out by hand. The body runs as "f: body; jr $ra; nop".
type regCase struct {
	name   string
	body   string
	v0, v1 uint32
	r2     bool // uses Release 2 instructions
}

func (c regCase) src() string { return "f:\n" + c.body + "\n\tjr $ra\n\tnop\n" }

var aluCases = []regCase{
	{"addu wraps", `
	li $t0, 0xffffffff
	li $t1, 1
	addu $v0, $t0, $t1
	addu $v1, $t0, $t0`, 0, 0xfffffffe, false},
	{"subu wraps", `
	li $t0, 5
	li $t1, 3
	subu $v0, $zero, $t1
	subu $v1, $t0, $t1`, 0xfffffffd, 2, false},
	{"add sub without overflow", `
	li $t0, 0x7ffffffe
	li $t1, 1
	add $v0, $t0, $t1
	li $t2, -0x7fffffff
	sub $v1, $t2, $t1`, 0x7fffffff, 0x80000000, false},
	{"addi addiu", `
	addi $v0, $zero, -5
	li $t0, 0x7fffffff
	addiu $v1, $t0, 1`, 0xfffffffb, 0x80000000, false},
	{"and or", `
	li $t0, 0xff00ff00
	li $t1, 0x0ff00ff0
	and $v0, $t0, $t1
	or $v1, $t0, $t1`, 0x0f000f00, 0xfff0fff0, false},
	{"xor nor", `
	li $t0, 0xff00ff00
	li $t1, 0x0ff00ff0
	xor $v0, $t0, $t1
	nor $v1, $t0, $t1`, 0xf0f0f0f0, 0x000f000f, false},
	{"slt sltu", `
	li $t0, -1
	li $t1, 1
	slt $v0, $t0, $t1
	sltu $v1, $t0, $t1`, 1, 0, false},
	{"slti sltiu sign-extend", `
	li $t0, -1
	slti $v0, $t0, 0
	li $t1, 5
	sltiu $v1, $t1, -1`, 1, 1, false},
	{"sltiu compares unsigned", `
	li $t0, -1
	sltiu $v0, $t0, 1
	sltiu $v1, $zero, 1`, 0, 1, false},
	{"andi ori zero-extend", `
	li $t0, 0xffffffff
	andi $v0, $t0, 0x8000
	ori $v1, $zero, 0x8001`, 0x8000, 0x8001, false},
	{"xori lui", `
	li $t0, 0xffffffff
	xori $v0, $t0, 0xffff
	lui $v1, 0x8001`, 0xffff0000, 0x80010000, false},
	{"sll srl", `
	li $t0, 0x80000001
	sll $v0, $t0, 4
	srl $v1, $t0, 4`, 0x00000010, 0x08000000, false},
	{"sra", `
	li $t0, 0x80000001
	sra $v0, $t0, 4
	sra $v1, $t0, 31`, 0xf8000000, 0xffffffff, false},
	{"srl 31 sll 0", `
	li $t0, 0x80000001
	srl $v0, $t0, 31
	sll $v1, $t0, 0`, 1, 0x80000001, false},
	{"sllv srav mask the amount", `
	li $t0, 0x80000001
	li $t1, 33
	sllv $v0, $t0, $t1
	li $t2, 0x80000000
	srav $v1, $t2, $t1`, 0x00000002, 0xc0000000, false},
	{"srlv", `
	li $t0, 0x80000000
	li $t1, 63
	srlv $v0, $t0, $t1
	li $t1, 32
	srlv $v1, $t0, $t1`, 1, 0x80000000, false},
	{"rotr rotrv", `
	li $t0, 0x12345678
	rotr $v0, $t0, 8
	li $t1, 36
	rotrv $v1, $t0, $t1`, 0x78123456, 0x81234567, true},
	{"rotr 0", `
	li $t0, 0x12345678
	rotr $v0, $t0, 0
	rotr $v1, $t0, 31`, 0x12345678, 0x2468acf0, true},
	{"movn movz", `
	li $t0, 7
	li $v0, 1
	li $v1, 2
	movn $v0, $t0, $zero
	movz $v1, $t0, $zero`, 1, 7, false},
	{"movn movz other way", `
	li $t0, 7
	li $t1, 3
	li $v0, 1
	li $v1, 2
	movn $v0, $t0, $t1
	movz $v1, $t0, $t1`, 7, 2, false},
	{"clz", `
	li $t0, 0x00010000
	clz $v0, $t0
	clz $v1, $zero`, 15, 32, false},
	{"clo", `
	li $t0, 0xfff00000
	clo $v0, $t0
	li $t1, -1
	clo $v1, $t1`, 12, 32, false},
	{"seb seh", `
	li $t0, 0x12345680
	seb $v0, $t0
	li $t1, 0x12348001
	seh $v1, $t1`, 0xffffff80, 0xffff8001, true},
	{"seb seh positive, wsbh", `
	li $t0, 0x1234567f
	seb $v0, $t0
	li $t1, 0x11223344
	wsbh $v1, $t1`, 0x7f, 0x22114433, true},
	{"ext", `
	li $t0, 0xabcd1234
	ext $v0, $t0, 4, 8
	ext $v1, $t0, 0, 32`, 0x23, 0xabcd1234, true},
	{"ext top bits", `
	li $t0, 0xabcd1234
	ext $v0, $t0, 28, 4
	ext $v1, $t0, 31, 1`, 0xa, 1, true},
	{"ins", `
	li $v0, 0xffffffff
	li $t0, 0x5
	ins $v0, $t0, 8, 4
	move $v1, $zero
	li $t1, 0xab
	ins $v1, $t1, 28, 4`, 0xfffff5ff, 0xb0000000, true},
	{"ins whole word", `
	li $v0, 0x11111111
	li $t0, 0x89abcdef
	ins $v0, $t0, 0, 32
	li $v1, 0xffffffff
	ins $v1, $zero, 31, 1`, 0x89abcdef, 0x7fffffff, true},
	{"mult", `
	li $t0, -2
	li $t1, 3
	mult $t0, $t1
	mfhi $v1
	mflo $v0`, 0xfffffffa, 0xffffffff, false},
	{"multu", `
	li $t0, 0xffffffff
	multu $t0, $t0
	mfhi $v1
	mflo $v0`, 1, 0xfffffffe, false},
	{"mult large", `
	li $t0, 0x7fffffff
	li $t1, 0x80000000
	mult $t0, $t1
	mfhi $v1
	mflo $v0`, 0x80000000, 0xc0000000, false},
	{"div truncates toward zero", `
	li $t0, -7
	li $t1, 2
	div $zero, $t0, $t1
	mfhi $v1
	mflo $v0`, 0xfffffffd, 0xffffffff, false},
	{"divu", `
	li $t0, 0xfffffff9
	li $t1, 2
	divu $zero, $t0, $t1
	mfhi $v1
	mflo $v0`, 0x7ffffffc, 1, false},
	{"div by zero (qemu: LO = dividend, HI = 0)", `
	li $t0, -7
	mthi $t0
	div $zero, $t0, $zero
	mfhi $v1
	mflo $v0`, 0xfffffff9, 0, false},
	{"divu by zero", `
	li $t0, 7
	mthi $t0
	divu $zero, $t0, $zero
	mfhi $v1
	mflo $v0`, 7, 0, false},
	{"div INT_MIN by -1", `
	li $t0, 0x80000000
	li $t1, -1
	div $zero, $t0, $t1
	mfhi $v1
	mflo $v0`, 0x80000000, 0, false},
	{"mul", `
	li $t0, 0x10000
	li $t1, 0x10001
	mul $v0, $t0, $t1
	li $t2, -3
	li $t3, 5
	mul $v1, $t2, $t3`, 0x00010000, 0xfffffff1, false},
	{"madd", `
	mthi $zero
	li $t0, 10
	mtlo $t0
	li $t1, -3
	li $t2, 4
	madd $t1, $t2
	mfhi $v1
	mflo $v0`, 0xfffffffe, 0xffffffff, false},
	{"maddu carries into HI", `
	mthi $zero
	li $t0, 0xffffffff
	mtlo $t0
	li $t1, 1
	maddu $t1, $t1
	mfhi $v1
	mflo $v0`, 0, 1, false},
	{"msub", `
	mthi $zero
	mtlo $zero
	li $t1, 2
	li $t2, 3
	msub $t1, $t2
	mfhi $v1
	mflo $v0`, 0xfffffffa, 0xffffffff, false},
	{"msubu borrows from HI", `
	li $t0, 1
	mthi $t0
	mtlo $zero
	msubu $t0, $t0
	mfhi $v1
	mflo $v0`, 0xffffffff, 0, false},
	{"mthi mtlo", `
	li $t0, 0x1234
	li $t1, 0x5678
	mthi $t0
	mtlo $t1
	mflo $v0
	mfhi $v1`, 0x5678, 0x1234, false},
	{"writes to $zero are discarded", `
	addiu $zero, $zero, 5
	lui $zero, 0x1234
	move $v0, $zero
	addiu $v1, $zero, 1`, 0, 1, false},
	{"sync pref ssnop ehb are no-ops", `
	li $v0, 3
	sync
	pref 0, 0($zero)
	ssnop
	ehb
	li $v1, 4`, 3, 4, true},
	{"teq tne that do not fire", `
	li $t0, 1
	teq $t0, $zero
	tne $t0, $t0
	tge $zero, $t0
	tgeu $zero, $t0
	tlt $t0, $zero
	tltu $t0, $zero
	teqi $t0, 2
	tnei $t0, 1
	tgei $t0, 2
	tgeiu $t0, 2
	tlti $t0, 1
	tltiu $t0, 1
	li $v0, 9
	li $v1, 10`, 9, 10, false},
}

// allTargets are the targets the simulator runs: R2 in both byte orders
// and R1.
var allTargets = []mips32.Target{r2el, r2eb, r1el}

func TestALU(t *testing.T) {
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			runRegCases(t, target, aluCases)
		})
	}
}

// runRegCases runs the cases that target supports and checks v0 and v1.
func runRegCases(t *testing.T, target mips32.Target, cases []regCase) {
	t.Helper()
	var run []regCase
	var srcs []string
	for _, c := range cases {
		if !c.r2 || target.HasR2() {
			run = append(run, c)
			srcs = append(srcs, c.src())
		}
	}
	obj, entries := assembleBatch(t, target, srcs)
	m := newMachine(t, Options{Target: target})
	for i, c := range run {
		res, err := m.Run(obj.Code, obj.Relocs, entries[i], nil)
		require.NoError(t, err)
		if !assert.Nil(t, res.Fault, c.name) {
			continue
		}
		assert.Equal(t, r0Of(target, c.v0, c.v1), res.R0, "%s: got v0/v1 = %#x", c.name, res.R0)
	}
}
