package sim

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The statistics and cycle counts below are worked out by hand from the
// cycle model in doc.go; the comments show the arithmetic.
func TestStats(t *testing.T) {
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			t.Run("loop", func(t *testing.T) {
				res, _ := runSim(t, target, `
f:	li $t0, 3
1:	addiu $t0, $t0, -1
	bnez $t0, 1b
	nop
	jr $ra
	move $v0, $t0
`, nil)
				requireReturned(t, res)
				// 1 + 3 iterations of 3 + jr and its slot = 12 instructions;
				// 3 taken (bnez twice, jr) add a cycle each; no stalls.
				assert.Equal(t, Stats{Insns: 12, Cycles: 15, Branches: 4, TakenBranches: 3}, res.Stats)
			})
			t.Run("load-use and multiply stalls", func(t *testing.T) {
				res, _ := runSim(t, target, `
f:	lw $t0, 0($a0)
	addu $v0, $t0, $t0
	lw $t1, 4($a0)
	nop
	addu $v1, $t1, $zero
	mult $t0, $t1
	mflo $t2
	mul $t3, $t2, $t2
	addu $t3, $t3, $zero
	sw $t3, 8($a0)
	jr $ra
	nop
`, make([]byte, 12))
				requireReturned(t, res)
				// Issue cycles: lw 0 (t0 ready at 2); addu waits to 2 (stall
				// 1); lw 3 (t1 ready at 5); nop 4; addu 5 (no stall); mult 6
				// (HI/LO ready at 10); mflo waits to 10 (stall 3, t2 ready at
				// 11); mul 11 (t3 ready at 15); addu waits to 15 (stall 3);
				// sw 16; jr 17 (+1 taken); nop 19. Total 20 cycles, 7 stalls.
				assert.Equal(t, Stats{Insns: 12, Cycles: 20, Stalls: 7, Loads: 2, Stores: 1, Branches: 1, TakenBranches: 1}, res.Stats)
			})
			t.Run("annulled slot and a runtime call", func(t *testing.T) {
				res, _ := runSim(t, target, `
f:	addiu $sp, $sp, -24
	sw $ra, 20($sp)
	bnel $zero, $zero, 1f
	nop
1:	lui $t9, %hi(__udivdi3)
	addiu $t9, $t9, %lo(__udivdi3)
	li $a0, 10
	li $a1, 0
	li $a2, 3
	jalr $t9
	li $a3, 0
	lw $ra, 20($sp)
	jr $ra
	addiu $sp, $sp, 24
`, nil)
				requireReturned(t, res)
				// 13 instructions (the annulled nop is not one) + 1 for the
				// annulled slot + 2 taken (jalr, jr) + 80 for __udivdi3 + 1
				// load-use stall (lw ra; jr ra) = 97.
				assert.Equal(t, Stats{Insns: 13, Cycles: 97, Stalls: 1, Loads: 1, Stores: 1, Branches: 3, TakenBranches: 2,
					Annulled: 1, Calls: 1, RuntimeCalls: 1}, res.Stats)
			})
			t.Run("divide latency", func(t *testing.T) {
				res, _ := runSim(t, target, `
f:	li $t0, 100
	li $t1, 7
	divu $zero, $t0, $t1
	mfhi $v1
	jr $ra
	mflo $v0
`, nil)
				requireReturned(t, res)
				// li 0, li 1, divu 2 (HI/LO ready at 37), mfhi waits to 37
				// (stall 34), jr 38 (+1 taken), mflo 40: 41 cycles.
				assert.Equal(t, Stats{Insns: 6, Cycles: 41, Stalls: 34, Branches: 1, TakenBranches: 1}, res.Stats)
				assert.Equal(t, r0Of(target, 14, 2), res.R0)
			})
		})
	}
}

// TestConcurrentRuns: one Machine serves parallel runs of different
// programs (run with -race).
func TestConcurrentRuns(t *testing.T) {
	m := newMachine(t, Options{Target: r2el})
	a := assemble(t, r2el, strings.Replace(aluLoop, "1000000", "1000", 1))
	b := assemble(t, r2el, "f:\tlw $v0, 0($a0)\n\taddiu $sp, $sp, -8\n\tsw $v0, 0($sp)\n\tlw $v1, 0($sp)\n\tjr $ra\n\taddiu $sp, $sp, 8\n")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				obj, mem := a, []byte(nil)
				if (g+i)%2 == 0 {
					obj, mem = b, []byte{byte(g), byte(i), 0, 0}
				}
				res, err := m.Run(obj.Code, obj.Relocs, 0, mem)
				switch {
				case err != nil:
					errs <- err
				case res.Fault != nil:
					errs <- res.Fault
				case obj == b && res.R0 != uint64(i)<<40|uint64(g)<<32|uint64(i)<<8|uint64(g):
					errs <- fmt.Errorf("goroutine %d run %d: r0 = %#x", g, i, res.R0)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
