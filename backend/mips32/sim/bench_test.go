package sim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The benchmarks report simulated instructions per second (insns/s): run
// with go test -bench . -run '^$' ./backend/mips32/sim/.

// aluLoop runs 1M iterations of 8 instructions.
const aluLoop = `
f:	li $t0, 1000000
	li $v0, 0
	li $v1, 12345
1:	addu $v0, $v0, $t0
	xor $v1, $v1, $v0
	sll $t1, $v1, 3
	srl $t2, $v1, 29
	or $v1, $t1, $t2
	addiu $t0, $t0, -1
	bnez $t0, 1b
	subu $v0, $v0, $t2
	jr $ra
	nop
`

// memLoop checksums a 4 KiB block 64 times with aligned and unaligned loads
// and a store per word.
const memLoop = `
f:	li $t5, 64
	li $v0, 0
2:	move $t0, $a0
	addiu $t1, $a0, 4092
1:	lw $t2, 0($t0)
	lbu $t3, 1($t0)
	lwl $t4, 5($t0)
	lwr $t4, 2($t0)
	addu $v0, $v0, $t2
	xor $v0, $v0, $t3
	addu $v0, $v0, $t4
	sw $v0, 0($t0)
	bne $t0, $t1, 1b
	addiu $t0, $t0, 4
	addiu $t5, $t5, -1
	bnez $t5, 2b
	nop
	jr $ra
	move $v1, $zero
`

func benchProgram(b *testing.B, src string, mem []byte) {
	obj := assemble(b, r2el, src)
	m := newMachine(b, Options{Target: r2el})
	var insns int64
	b.ResetTimer()
	for range b.N {
		res, err := m.Run(obj.Code, obj.Relocs, obj.Labels["f"], mem)
		require.NoError(b, err)
		require.Nil(b, res.Fault)
		insns += res.Stats.Insns
	}
	b.ReportMetric(float64(insns)/b.Elapsed().Seconds(), "insns/s")
	b.ReportMetric(float64(insns)/float64(b.N), "insns/run")
}

func BenchmarkALULoop(b *testing.B) { benchProgram(b, aluLoop, nil) }

func BenchmarkMemLoop(b *testing.B) { benchProgram(b, memLoop, make([]byte, 4100)) }

// BenchmarkSmallProgram measures the per-run cost that dominates fuzz
// campaigns: a 40-instruction straight-line program with a frame.
func BenchmarkSmallProgram(b *testing.B) {
	src := "f:\taddiu $sp, $sp, -16\n\tsw $s0, 8($sp)\n"
	for range 18 {
		src += "\tlw $t0, 0($a0)\n\taddu $v0, $v0, $t0\n"
	}
	src += "\tlw $s0, 8($sp)\n\tjr $ra\n\taddiu $sp, $sp, 16\n"
	benchProgram(b, src, make([]byte, 64))
}
