package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
)

var (
	r2 = mips32.Target{Rev: mips32.R2}
	r1 = mips32.Target{Rev: mips32.R1}
)

// bothRevisions runs f for R2 (under 24Kf) and R1 (under 4Kc, an FPU-less
// Release 1 CPU), assembling for the matching -march.
func bothRevisions(t *testing.T, f func(t *testing.T, e *Engine, march string)) {
	for _, target := range []mips32.Target{r2, r1} {
		t.Run(target.String(), func(t *testing.T) {
			f(t, requireEngine(t, target), target.March())
		})
	}
}

func runSnippet(t *testing.T, e *Engine, march, src, entry string, mem []byte) *Result {
	t.Helper()
	obj := mipstest.Assemble(t, e.Options().Target, march, src)
	off, ok := obj.Labels[entry]
	require.True(t, ok, "no label %q", entry)
	res, err := e.Run(obj.Code, obj.Relocs, off, mem)
	require.NoError(t, err)
	return res
}

func requireReturned(t *testing.T, res *Result) {
	t.Helper()
	if res.Fault != nil {
		t.Fatalf("unexpected fault: %v", res.Fault)
	}
}

// TestReturn64 checks the O32 return convention on little-endian: v0 is the
// low word, v1 the high word; and the arguments: a0 = the block, a1 = its length.
func TestReturn64(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		res := runSnippet(t, e, march, `
f:	lw $v0, 0($a0)
	jr $ra
	move $v1, $a1
`, "f", []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99})
		requireReturned(t, res)
		assert.Equal(t, uint64(9)<<32|0x44332211, res.R0)
	})
}

// TestContextPointer: the block is 8-byte aligned and ends at the guard
// page; an empty block still gets a valid, aligned, non-null pointer.
func TestContextPointer(t *testing.T) {
	e := requireEngine(t, r2)
	const src = `
f:	move $v0, $a0
	jr $ra
	move $v1, $a1
`
	for _, n := range []int{0, 1, 5, 8, 13, 4096} {
		res := runSnippet(t, e, "mips32r2", src, "f", make([]byte, n))
		requireReturned(t, res)
		ctx := uint32(res.R0)
		assert.Equal(t, uint32(n), uint32(res.R0>>32), "len")
		assert.Equal(t, res.MemAddr, ctx, "MemAddr")
		assert.NotZero(t, ctx)
		assert.Zero(t, ctx%8, "ctx %#x not 8-byte aligned", ctx)
	}
	// Reading through the pointer of an empty block, or past the end of a
	// block, faults.
	for _, n := range []int{0, 8} {
		res := runSnippet(t, e, "mips32r2", fmt.Sprintf("f:\tjr $ra\n\tlw $v0, %d($a0)\n", n), "f", make([]byte, n))
		require.NotNil(t, res.Fault, "len %d", n)
		assert.Equal(t, "SIGSEGV", res.Fault.Signal)
		assert.Equal(t, res.MemAddr+uint32(n), res.Fault.Addr)
	}
}

func TestMemoryWrite(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		res := runSnippet(t, e, march, `
f:	li $t0, 0x12345678
	sw $t0, 0($a0)
	lbu $t1, 4($a0)
	addiu $t1, $t1, 1
	sb $t1, 5($a0)
	sh $zero, 6($a0)
	move $v0, $zero
	jr $ra
	move $v1, $zero
`, "f", []byte{1, 2, 3, 4, 0xfe, 6, 7, 8, 9, 10})
		requireReturned(t, res)
		assert.Equal(t, []byte{0x78, 0x56, 0x34, 0x12, 0xfe, 0xff, 0, 0, 9, 10}, res.Mem)
		assert.Zero(t, res.R0)
	})
}

func TestDivisionRoutines(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		for _, c := range mipstest.DivCases() {
			res := runSnippet(t, e, march, mipstest.CallSnippet(c.Sym), "f", le64(c.A, c.B))
			requireReturned(t, res)
			assert.Equal(t, c.Want, res.R0, "%s(%#x, %#x)", c.Sym, c.A, c.B)
		}
	})
}

func TestAtomicRoutines(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		for _, c := range mipstest.AtomicCases() {
			res := runSnippet(t, e, march, mipstest.AtomicSnippet(c.Sym), "f", le64(c.Old, c.Arg))
			requireReturned(t, res)
			assert.Equal(t, c.Old, res.R0, "%s returns the old value", c.Sym)
			assert.Equal(t, le64(c.Want, c.Arg), res.Mem, c.Sym)
		}
	})
}

// TestCompareExchange: mipstest.CmpxchgSnippet.
func TestCompareExchange(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		res := runSnippet(t, e, march, mipstest.CmpxchgSnippet, "f", le64(0x1111_2222_3333_4444, 0x1111_2222_3333_4444, 0xaaaa_bbbb_cccc_dddd))
		requireReturned(t, res)
		assert.Equal(t, uint64(1), res.R0, "equal: exchanged")
		assert.Equal(t, le64(0xaaaa_bbbb_cccc_dddd, 0x1111_2222_3333_4444, 0xaaaa_bbbb_cccc_dddd), res.Mem)

		res = runSnippet(t, e, march, mipstest.CmpxchgSnippet, "f", le64(5, 6, 7))
		requireReturned(t, res)
		assert.Equal(t, uint64(0), res.R0, "different: not exchanged")
		assert.Equal(t, le64(5, 5, 7), res.Mem, "expected receives the current value")
	})
}

func TestSymbols(t *testing.T) {
	e := requireEngine(t, r2)
	syms := e.Symbols()
	for _, name := range []string{"__udivdi3", "__umoddi3", "__divdi3", "__moddi3",
		"__atomic_fetch_add_8", "__atomic_fetch_or_8", "__atomic_fetch_and_8",
		"__atomic_fetch_xor_8", "__atomic_exchange_8", "__atomic_compare_exchange_8"} {
		assert.NotZero(t, syms[name], name)
		assert.Zero(t, syms[name]%4, name)
	}
	syms["__udivdi3"] = 0
	assert.NotZero(t, e.Symbols()["__udivdi3"], "Symbols returns a copy")
}

func TestUnknownSymbol(t *testing.T) {
	e := requireEngine(t, r2)
	obj := mipstest.Assemble(t, r2, "mips32r2", "f:\tlui $t9, %hi(bpf_nope)\n\taddiu $t9, $t9, %lo(bpf_nope)\n\tjr $ra\n\tnop\n")
	_, err := e.Run(obj.Code, obj.Relocs, 0, nil)
	require.ErrorContains(t, err, `relocation 0 (R_MIPS_HI16) at code offset 0x0: unknown symbol "bpf_nope" (the runner offers __atomic_compare_exchange_8, `)
}

func TestBadRequests(t *testing.T) {
	e := requireEngine(t, r2)
	nop4 := make([]byte, 4)
	for _, tc := range []struct {
		code  []byte
		entry uint32
		mem   []byte
		want  string
	}{
		{nil, 0, nil, "code size 0 is not a positive multiple of 4"},
		{make([]byte, 6), 0, nil, "code size 6 is not a positive multiple of 4"},
		{nop4, 4, nil, "entry offset 0x4 is not an instruction of the 4-byte code"},
		{make([]byte, 8), 2, nil, "entry offset 0x2 is not an instruction of the 8-byte code"},
		{make([]byte, 64<<20), 0, nil, "exceeds the runner's"},
		{nop4, 0, make([]byte, 17<<20), "memory block of 17825792 bytes exceeds the runner's 16777216-byte limit"},
	} {
		_, err := e.Run(tc.code, nil, tc.entry, tc.mem)
		require.ErrorContains(t, err, tc.want)
	}
}

// checkFault runs src and checks the fault, then checks that the engine
// still runs programs.
func checkFault(t *testing.T, e *Engine, march, src string, mem []byte, check func(f *Fault, obj *mipstest.Object, res *Result)) {
	t.Helper()
	obj := mipstest.Assemble(t, e.Options().Target, march, src)
	res, err := e.Run(obj.Code, obj.Relocs, obj.Labels["f"], mem)
	require.NoError(t, err)
	require.NotNil(t, res.Fault, "expected a fault")
	check(res.Fault, obj, res)

	ok := runSnippet(t, e, "mips32", "f:\tli $v0, 42\n\tjr $ra\n\tli $v1, 7\n", "f", nil)
	requireReturned(t, ok)
	assert.Equal(t, uint64(7)<<32|42, ok.R0, "engine usable after the fault")
}

func TestFaults(t *testing.T) {
	e := requireEngine(t, r2)
	t.Run("SIGSEGV", func(t *testing.T) {
		checkFault(t, e, "mips32r2", "f:\tnop\n\tlw $v0, 0($zero)\n\tjr $ra\n\tnop\n", nil, func(f *Fault, _ *mipstest.Object, _ *Result) {
			assert.Equal(t, "SIGSEGV", f.Signal)
			assert.Equal(t, uint32(4), f.PC)
			assert.True(t, f.InCode)
			assert.Equal(t, uint32(0), f.Addr)
			assert.False(t, f.Timeout)
			assert.Equal(t, "segmentation fault (SIGSEGV) at code offset 0x4, address 0x00000000", f.Error())
		})
	})
	t.Run("SIGBUS", func(t *testing.T) {
		checkFault(t, e, "mips32r2", "f:\tnop\n\tnop\n\tlw $v0, 1($a0)\n\tjr $ra\n\tnop\n", make([]byte, 8), func(f *Fault, _ *mipstest.Object, res *Result) {
			assert.Equal(t, "SIGBUS", f.Signal)
			assert.True(t, f.InCode)
			assert.Equal(t, uint32(8), f.PC)
			assert.Equal(t, res.MemAddr+1, f.Addr)
			assert.Equal(t, fmt.Sprintf("address error (SIGBUS) at code offset 0x8, address 0x%08x", res.MemAddr+1), f.Error())
		})
	})
	t.Run("SIGILL", func(t *testing.T) {
		// daddu v0, a0, a1: a MIPS64 instruction, reserved on MIPS32.
		checkFault(t, e, "mips32r2", "f:\tnop\n\t.word 0x0085102d\n\tjr $ra\n\tnop\n", nil, func(f *Fault, _ *mipstest.Object, _ *Result) {
			assert.Equal(t, "SIGILL", f.Signal)
			assert.Equal(t, uint32(4), f.PC)
			assert.True(t, f.InCode)
			assert.Equal(t, "reserved instruction (SIGILL) at code offset 0x4", f.Error())
		})
	})
	t.Run("SIGTRAP", func(t *testing.T) {
		checkFault(t, e, "mips32r2", "f:\tbreak\n\tjr $ra\n\tnop\n", nil, func(f *Fault, _ *mipstest.Object, _ *Result) {
			assert.Equal(t, "SIGTRAP", f.Signal)
			assert.Equal(t, uint32(0), f.PC)
			assert.True(t, f.InCode)
		})
	})
	t.Run("ran off the end", func(t *testing.T) {
		checkFault(t, e, "mips32r2", "f:\tnop\n\tnop\n", nil, func(f *Fault, obj *mipstest.Object, _ *Result) {
			n := len(obj.Code) // GNU as pads .text to 16 bytes
			assert.Equal(t, "SIGTRAP", f.Signal)
			assert.Equal(t, uint32(n), f.PC)
			assert.True(t, f.InCode)
			assert.Equal(t, fmt.Sprintf("trap (SIGTRAP) at code offset %#x, past the end of the %d-byte code (the function ran off its end)", n, n), f.Error())
		})
	})
	t.Run("fault with a broken stack pointer", func(t *testing.T) {
		checkFault(t, e, "mips32r2", "f:\tmove $sp, $zero\n\tlw $v0, 0($zero)\n\tjr $ra\n\tnop\n", nil, func(f *Fault, _ *mipstest.Object, _ *Result) {
			assert.Equal(t, "SIGSEGV", f.Signal)
			assert.Equal(t, uint32(4), f.PC)
		})
	})
	t.Run("fault in a delay slot", func(t *testing.T) {
		checkFault(t, e, "mips32r2", "f:\tnop\n\tjr $ra\n\tlw $v0, 0($zero)\n", nil, func(f *Fault, _ *mipstest.Object, _ *Result) {
			assert.Equal(t, "SIGSEGV", f.Signal)
			assert.Equal(t, uint32(4), f.PC, "qemu reports the branch")
		})
	})
	t.Run("division by zero in __udivdi3", func(t *testing.T) {
		checkFault(t, e, "mips32r2", mipstest.CallSnippet("__udivdi3"), le64(1, 0), func(f *Fault, _ *mipstest.Object, _ *Result) {
			assert.False(t, f.InCode)
			// libgcc traps with "teq divisor, $zero, 7"; Linux turns code 7
			// (BRK_DIVZERO) into SIGFPE, qemu-user 7.2 reports SIGTRAP.
			assert.Contains(t, []string{"SIGTRAP", "SIGFPE"}, f.Signal)
			assert.Contains(t, f.Error(), "(outside the code)")
		})
	})
}

// TestR2InstructionOnR1CPU: the R1 engine runs on 4Kc, where an R2
// instruction is reserved; the R2 engine runs it.
func TestR2InstructionOnR1CPU(t *testing.T) {
	const src = "f:\tseb $v0, $a1\n\tjr $ra\n\tmove $v1, $zero\n"
	res := runSnippet(t, requireEngine(t, r2), "mips32r2", src, "f", make([]byte, 0x80))
	requireReturned(t, res)
	assert.Equal(t, uint64(0xffffff80), res.R0)

	e1 := requireEngine(t, r1)
	assert.Equal(t, "4Kc", e1.Options().CPU)
	res = runSnippet(t, e1, "mips32r2", src, "f", make([]byte, 0x80))
	require.NotNil(t, res.Fault)
	assert.Equal(t, "SIGILL", res.Fault.Signal)
}

func TestABIViolation(t *testing.T) {
	e := requireEngine(t, r2)
	res := runSnippet(t, e, "mips32r2", "f:\tli $s3, 7\n\tli $v0, 1\n\tjr $ra\n\tmove $v1, $zero\n", "f", nil)
	require.NotNil(t, res.Fault)
	assert.Equal(t, uint64(1), res.R0, "the result is still reported")
	assert.Equal(t, "the function broke the O32 calling convention: s3 not preserved (0xca135afe before the call, 0x00000007 after)", res.Fault.Error())

	res = runSnippet(t, e, "mips32r2", "f:\tjr $ra\n\taddiu $sp, $sp, -8\n", "f", nil)
	require.NotNil(t, res.Fault)
	assert.Regexp(t, `^the function broke the O32 calling convention: sp not preserved \(0x[0-9a-f]{8} before the call, 0x[0-9a-f]{8} after\)$`, res.Fault.Error())

	// Saving and restoring is fine.
	res = runSnippet(t, e, "mips32r2", `
f:	addiu $sp, $sp, -8
	sw $s0, 0($sp)
	sw $fp, 4($sp)
	li $s0, 1
	li $fp, 2
	lw $s0, 0($sp)
	lw $fp, 4($sp)
	jr $ra
	addiu $sp, $sp, 8
`, "f", nil)
	requireReturned(t, res)
}

func TestTimeout(t *testing.T) {
	e := startEngine(t, Options{Target: r2, Timeout: 200 * time.Millisecond, Procs: 1})
	start := time.Now()
	res := runSnippet(t, e, "mips32r2", "f:\tb f\n\tnop\n", "f", make([]byte, 8))
	require.NotNil(t, res.Fault)
	assert.True(t, res.Fault.Timeout)
	assert.Equal(t, "timed out after 200ms", res.Fault.Error())
	assert.Less(t, time.Since(start), 3*time.Second)

	res = runSnippet(t, e, "mips32r2", "f:\tli $v0, 5\n\tjr $ra\n\tmove $v1, $zero\n", "f", nil)
	requireReturned(t, res)
	assert.Equal(t, uint64(5), res.R0, "engine usable after a time-out")
}

// TestConcurrentRuns runs from several goroutines on a pool of processes.
func TestConcurrentRuns(t *testing.T) {
	e := startEngine(t, Options{Target: r2, Procs: 3})
	obj := mipstest.Assemble(t, r2, "mips32r2", "f:\tlw $v0, 0($a0)\n\tlw $v1, 4($a0)\n\tsw $zero, 0($a0)\n\tjr $ra\n\tnop\n")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				want := uint64(g)<<40 | uint64(i)
				res, err := e.Run(obj.Code, obj.Relocs, 0, le64(want))
				if err == nil && (res.Fault != nil || res.R0 != want || binary.LittleEndian.Uint32(res.Mem) != 0) {
					err = fmt.Errorf("goroutine %d run %d: got %+v, want R0 %#x", g, i, res, want)
				}
				if err != nil {
					errs <- err
					return
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

// TestThroughput measures runs per second in one process.
func TestThroughput(t *testing.T) {
	e := startEngine(t, Options{Target: r2, Procs: 1})
	obj := mipstest.Assemble(t, r2, "mips32r2", mipstest.CallSnippet("__udivdi3"))
	mem := le64(1000000007, 10)
	const n = 1000
	start := time.Now()
	for range n {
		res, err := e.Run(obj.Code, obj.Relocs, obj.Labels["f"], mem)
		require.NoError(t, err)
		require.Nil(t, res.Fault)
		require.Equal(t, uint64(100000000), res.R0)
	}
	rate := float64(n) / time.Since(start).Seconds()
	t.Logf("%d runs in %v: %.0f runs/s (one process)", n, time.Since(start).Round(time.Millisecond), rate)
	assert.Greater(t, rate, 100.0)
}

// TestMillionInstructions runs a straight-line program of 2^20 instructions.
func TestMillionInstructions(t *testing.T) {
	e := requireEngine(t, r2)
	// GNU as pads .text to 16 bytes: keep the instructions only.
	addiu := mipstest.Assemble(t, r2, "mips32r2", "addiu $v0, $v0, 1").Code[:4]
	ret := mipstest.Assemble(t, r2, "mips32r2", "jr $ra\nmove $v1, $zero").Code[:8]
	const n = 1 << 20
	code := make([]byte, 0, 4*n)
	code = append(code, mipstest.Assemble(t, r2, "mips32r2", "move $v0, $zero").Code[:4]...)
	for len(code) < 4*(n-2) {
		code = append(code, addiu...)
	}
	code = append(code, ret...)
	start := time.Now()
	res, err := e.Run(code, nil, 0, nil)
	require.NoError(t, err)
	requireReturned(t, res)
	assert.Equal(t, uint64(n-3), res.R0)
	t.Logf("%d-instruction program ran in %v", n, time.Since(start).Round(time.Millisecond))
}

func TestMissingToolError(t *testing.T) {
	_, err := lookTool("mipsel-nonexistent-gcc", "gcc-mipsel-linux-gnu")
	require.ErrorIs(t, err, ErrMissingTool)
	assert.Contains(t, err.Error(), "mipsel-nonexistent-gcc not found in PATH (install the Debian package gcc-mipsel-linux-gnu)")
}

func TestBadCPU(t *testing.T) {
	requireEngine(t, r2) // tools present
	_, err := Start(Options{Target: r2, CPU: "NoSuchCPU"})
	require.Error(t, err)
	t.Log(err)
	assert.True(t, strings.Contains(err.Error(), "NoSuchCPU"), err.Error())
}

func TestUnsupportedTarget(t *testing.T) {
	_, err := Start(Options{Target: mips32.Target{Rev: mips32.R6}})
	require.EqualError(t, err, "qemu engine: target mips32r6el is not supported (only MIPS32 R1 and R2)")
}

// TestHungRunnerIsKilled: a program that blocks SIGALRM escapes the
// runner's own time-out; the engine kills qemu at its deadline, reports a
// time-out, and starts a fresh process for the next run.
func TestHungRunnerIsKilled(t *testing.T) {
	e := startEngine(t, Options{Target: r2, Timeout: 100 * time.Millisecond, Procs: 1})
	e.grace = 300 * time.Millisecond
	res := runSnippet(t, e, "mips32r2", `
f:	addiu $sp, $sp, -16
	li $t0, 0x2000        # SIGALRM (14) is bit 13
	sw $t0, 0($sp)
	sw $zero, 4($sp)
	sw $zero, 8($sp)
	sw $zero, 12($sp)
	li $v0, 4195          # rt_sigprocmask
	li $a0, 1             # SIG_BLOCK
	move $a1, $sp
	move $a2, $zero
	li $a3, 16
	syscall
1:	b 1b
	nop
`, "f", nil)
	require.NotNil(t, res.Fault)
	assert.True(t, res.Fault.Timeout)
	assert.Equal(t, "timed out: the runner did not answer within the 100ms limit (plus grace) and was killed", res.Fault.Error())

	res = runSnippet(t, e, "mips32r2", "f:\tli $v0, 3\n\tjr $ra\n\tmove $v1, $zero\n", "f", nil)
	requireReturned(t, res)
	assert.Equal(t, uint64(3), res.R0, "a fresh process runs the next program")
}

// TestRunnerCrash: a program that overwrites the runner's saved registers
// above its own frame crashes the runner after returning; Run reports an
// engine error naming the cause, and the next run gets a fresh process.
func TestRunnerCrash(t *testing.T) {
	e := startEngine(t, Options{Target: r2, Procs: 1})
	obj := mipstest.Assemble(t, r2, "mips32r2", "f:\tsw $zero, 44($sp)\n\tjr $ra\n\tnop\n") // the trampoline's saved ra
	_, err := e.Run(obj.Code, obj.Relocs, 0, nil)
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "bpfopt runner: SIGSEGV in the runner itself at pc 0x00000000 (not in the program)")

	res := runSnippet(t, e, "mips32r2", "f:\tli $v0, 4\n\tjr $ra\n\tmove $v1, $zero\n", "f", nil)
	requireReturned(t, res)
	assert.Equal(t, uint64(4), res.R0)
}

// TestBigEndian runs on qemu-mips when the big-endian cross compiler is
// installed (the project requires only the little-endian tools so far), and
// otherwise checks that Start names the package to install. Under O32
// big-endian a 64-bit result is returned with v0 = high word, v1 = low.
func TestBigEndian(t *testing.T) {
	be := mips32.Target{Rev: mips32.R2, BigEndian: true}
	e, err := Start(Options{Target: be, Procs: 1})
	if errors.Is(err, ErrMissingTool) {
		assert.Contains(t, err.Error(), "install the Debian package")
		t.Logf("big-endian engine unavailable: %v", err)
		return
	}
	require.NoError(t, err)
	defer e.Close()
	res := runSnippet(t, e, "mips32r2", "f:\tlw $v0, 0($a0)\n\tjr $ra\n\tmove $v1, $a1\n", "f", []byte{0x11, 0x22, 0x33, 0x44})
	requireReturned(t, res)
	assert.Equal(t, uint64(0x11223344)<<32|4, res.R0)
}

// BenchmarkRun measures runs of a small program calling __udivdi3 on a pool
// of GOMAXPROCS processes (go test -bench Run -cpu 1,2,4).
func BenchmarkRun(b *testing.B) {
	e := startEngine(b, Options{Target: r2})
	obj := mipstest.Assemble(b, r2, "mips32r2", mipstest.CallSnippet("__udivdi3"))
	mem := le64(1000000007, 10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := e.Run(obj.Code, obj.Relocs, obj.Labels["f"], mem)
			if err != nil || res.Fault != nil || res.R0 != 100000000 {
				b.Errorf("run: %v %+v", err, res)
				return
			}
		}
	})
}
