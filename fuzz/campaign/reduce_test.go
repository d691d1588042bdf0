package campaign

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign/campaigntest"
	"github.com/bpfopt/bpfopt/fuzz/progen"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

func isMul64ByReg(in bpf.Insn) bool {
	return in.Op == bpf.ClassALU64|bpf.AluMUL|bpf.SrcX
}

// runsCleanly holds when the reference interpreter runs p to its exit:
// a reduction predicate must not accept programs that fault.
func runsCleanly(p *bpf.Program, mem []byte) bool {
	_, err := runReference(p, mem, false, 1<<16)
	return err == nil
}

func TestReduceSyntheticFailure(t *testing.T) {
	// The synthetic failure: "fails when the program contains a 64-bit mul
	// by a register" (and runs).
	stillFails := func(p *bpf.Program, mem []byte) bool {
		return slices.ContainsFunc(p.Insns, isMul64ByReg) && runsCleanly(p, mem)
	}
	found := 0
	for i := 0; found < 5 && i < 500; i++ {
		p, mem := generated(i)
		if !stillFails(p, mem) || len(p.Insns) < 60 {
			continue
		}
		found++
		q, qmem := Reduce(p, mem, stillFails)
		require.True(t, stillFails(q, qmem))
		require.NoError(t, q.Validate())
		require.LessOrEqual(t, len(q.Insns), 2, "from %d instructions to:\n%s", len(p.Insns), bpf.Disassemble(q))
		require.True(t, isMul64ByReg(q.Insns[0]))
		require.True(t, q.Insns[len(q.Insns)-1].IsExit())
		require.Equal(t, make([]byte, len(mem)), qmem, "no memory byte matters")
	}
	require.Equal(t, 5, found, "the generator makes programs with a 64-bit mul by a register")
}

func TestReduceKeepsJumpsValid(t *testing.T) {
	// Fails when the program has a conditional jump over a 32-bit add
	// whose target is an exit: the reducer must retarget the jumps of
	// everything it removes.
	stillFails := func(p *bpf.Program, mem []byte) bool {
		for _, in := range p.Insns {
			if in.IsCondJump() {
				if tgt := p.InsnAtSlot(in.JumpTarget()); tgt.IsExit() && tgt.Slot > in.Slot+1 {
					return runsCleanly(p, mem)
				}
			}
		}
		return false
	}
	for i := 0; i < 100; i++ {
		p, mem := generated(i)
		if !stillFails(p, mem) {
			continue
		}
		q, _ := Reduce(p, mem, stillFails)
		require.NoError(t, q.Validate())
		require.NoError(t, wellFormed(q))
		// The jump, what it jumps over and the exit; the jump may be dead
		// code after the entry's exit (the predicate does not run it).
		require.LessOrEqual(t, len(q.Insns), 4, "%s", bpf.Disassemble(q))
		return
	}
	t.Fatal("no generated program has a conditional exit")
}

func TestRemoveInsnsRetargetsJumps(t *testing.T) {
	p := mustAsm(t, `
		mov %r0, 1
		jeq %r0, 1, skip
		lddw %r0, 0x1122334455667788
		add %r0, 1
	skip:
		mov %r3, 2
		add %r0, %r3
		jne %r3, 0, back
		exit
	back:
		ja -3`)
	// Remove the lddw, the add after it and the jump target "mov %r3, 2".
	keep := []bool{true, true, false, false, false, true, true, true, true}
	q, ok := removeInsns(p, keep)
	require.True(t, ok)
	require.Equal(t, "mov %r0, 1\njeq %r0, 1, L2\nL2:\nadd %r0, %r3\nL3:\njne %r3, 0, L5\nexit\nL5:\nja L3\n", bpf.Disassemble(q),
		"the jeq to the removed mov lands on the next kept instruction; the backward ja still reaches the jne")

	// A jump whose target and everything after it are removed has nowhere
	// to go.
	keep = []bool{false, false, false, false, false, false, true, false, false}
	_, ok = removeInsns(p, keep)
	require.False(t, ok)
	// A program that no longer ends in exit or ja is invalid.
	keep = []bool{true, true, false, false, true, true, false, false, false}
	_, ok = removeInsns(p, keep)
	require.False(t, ok)
}

func TestRelayoutKeepsCallsValid(t *testing.T) {
	p := mustAsm(t, `
		mov %r1, 1
		call local f
		lddw %r6, 0x7
		call local g
		add %r0, %r6
		exit
	f:
		mov %r6, 2
		mov %r0, %r1
		exit
	g:
		mov %r0, 3
		exit`)
	// Remove f's first instruction: the call lands on the next one of f.
	keep := []bool{true, true, true, true, true, true, false, true, true, true, true}
	q, ok := removeInsns(p, keep)
	require.True(t, ok)
	require.Equal(t, "mov %r1, 1\ncall local L7\nlddw %r6, 0x7\ncall local L9\nadd %r0, %r6\nexit\nL7:\nmov %r0, %r1\nexit\nL9:\nmov %r0, 3\nexit\n", bpf.Disassemble(q))

	// lddw (two slots) becomes mov (one): the call after it and the one
	// before it still reach their functions.
	all := make([]bool, len(p.Insns))
	for i := range all {
		all[i] = true
	}
	q, ok = relayout(p, all, 2, bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: bpf.R6, Imm: 7})
	require.True(t, ok)
	require.Equal(t, "mov %r1, 1\ncall local L6\nmov %r6, 7\ncall local L9\nadd %r0, %r6\nexit\nL6:\nmov %r6, 2\nmov %r0, %r1\nexit\nL9:\nmov %r0, 3\nexit\n", bpf.Disassemble(q))
	r0, err := runReference(q, nil, false, 100)
	require.NoError(t, err)
	require.Equal(t, uint64(10), r0.R0)

	// Removing g's write of r0 makes its exit return what the caller
	// left there: not well-formed.
	keep = []bool{true, true, true, true, true, true, true, true, true, false, true}
	_, ok = removeInsns(p, keep)
	require.False(t, ok)
	// Removing f's exit makes it fall through into g.
	keep = []bool{true, true, true, true, true, true, true, true, false, true, true}
	_, ok = removeInsns(p, keep)
	require.False(t, ok)
}

func TestDropSubprograms(t *testing.T) {
	p := mustAsm(t, `
		mov %r0, 6
		call local f
		mov %r0, 6
		xor %r0, 3
		exit
	f:
		mov %r0, 1
		call local g
		exit
	g:
		mov %r0, 2
		exit`)
	// Fails when the entry xors and the program runs: neither subprogram
	// matters, and the first round drops both with their calls.
	stillFails := func(p *bpf.Program, mem []byte) bool {
		return slices.ContainsFunc(p.Insns, func(in bpf.Insn) bool { return in.Op == bpf.ClassALU64|bpf.AluXOR|bpf.SrcK }) && runsCleanly(p, mem)
	}
	q := dropSubprograms(p, nil, stillFails)
	require.Equal(t, "mov %r0, 6\nmov %r0, 6\nxor %r0, 3\nexit\n", bpf.Disassemble(q))
}

// firstFinding returns the first generated program on which cfg's check
// fails, its memory and the finding.
func firstFinding(t *testing.T, cfg *Config) (*bpf.Program, []byte, *Finding) {
	for i := range 50 {
		p, mem := generated(i)
		if f := CheckProgram(p, mem, cfg); f != nil {
			return p, mem, f
		}
	}
	t.Fatal("no generated program shows the planted bug")
	return nil, nil, nil
}

// TestReducePlantedMiscompileInSubprogram: a bug that shows only in
// subprograms reduces to a program that still calls one, with valid call
// offsets, and the reduced program still disagrees.
func TestReducePlantedMiscompileInSubprogram(t *testing.T) {
	cfg := &Config{Passes: campaigntest.WithPass(campaigntest.InSubprograms(campaigntest.XorToAdd)), MaxSteps: progen.StepBound(genOptions)}
	p, mem, f := firstFinding(t, cfg)
	require.Equal(t, "pass xor-to-add-in-subprograms", f.Where(), f.String())

	q, qmem := Reduce(p, mem, SameFailure(f, cfg))
	text := bpf.Disassemble(q)
	require.NoError(t, wellFormed(q))
	require.Contains(t, text, "call local", "the bug needs a subprogram:\n%s", text)
	require.Contains(t, text, "xor")
	// The entry's call and exit; the subprogram's r0, the xor, its exit
	// (and perhaps the xor's other operand).
	require.LessOrEqual(t, len(q.Insns), 6, "from %d instructions to:\n%s", len(p.Insns), text)
	g := CheckProgram(q, qmem, cfg)
	require.NotNil(t, g, "the reduced program still disagrees")
	require.Equal(t, f.Key(), g.Key())
	require.Nil(t, CheckProgram(q, qmem, nil), "and agrees without the planted bug")
	t.Logf("reduced %d to %d instructions:\n%s", len(p.Insns), len(q.Insns), text)
}

func TestReduceMemory(t *testing.T) {
	p := mustAsm(t, "ldxb %r0, [%r1+5]\nexit")
	mem := []byte{9, 9, 9, 9, 9, 7, 9, 9}
	stillFails := func(p *bpf.Program, mem []byte) bool {
		r0, err := runReference(p, mem, false, 100)
		return err == nil && r0.R0 == 7
	}
	q, qmem := Reduce(p, mem, stillFails)
	require.Equal(t, []byte{0, 0, 0, 0, 0, 7, 0, 0}, qmem)
	require.Len(t, q.Insns, 2)
	require.Equal(t, []byte{9, 9, 9, 9, 9, 7, 9, 9}, mem, "the caller's memory is not modified")
}

func TestReduceReturnsInputThatDoesNotFail(t *testing.T) {
	p := mustAsm(t, "mov %r0, 1\nexit")
	q, _ := Reduce(p, nil, func(*bpf.Program, []byte) bool { return false })
	require.Same(t, p, q)
}

// TestReducePlantedMiscompile is the whole workflow on a planted bug: a
// generated program shows it, Reduce with SameFailure shrinks it,
// WriteRegressionTest stores it, and the stored test reproduces it.
func TestReducePlantedMiscompile(t *testing.T) {
	cfg := &Config{Passes: campaigntest.WithPass(campaigntest.XorToAdd), MaxSteps: progen.StepBound(genOptions)}
	p, mem, f := firstFinding(t, cfg)
	require.Equal(t, "pass xor-to-add", f.Where(), f.String())

	q, qmem := Reduce(p, mem, SameFailure(f, cfg))
	require.LessOrEqual(t, len(q.Insns), 5, "from %d instructions to:\n%s", len(p.Insns), bpf.Disassemble(q))
	g := CheckProgram(q, qmem, cfg)
	require.NotNil(t, g)
	require.Equal(t, f.Key(), g.Key())
	t.Logf("reduced %d to %d instructions; report:\n%s", len(p.Insns), len(q.Insns), g.String())

	dir := t.TempDir()
	path, err := WriteRegressionTest(dir, "xor-to-add", q, qmem, g)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "xor-to-add.data"), path)
	_, err = WriteRegressionTest(dir, "xor-to-add", q, qmem, g)
	require.ErrorContains(t, err, "exists")

	ct, err := conformance.Parse(path)
	require.NoError(t, err, "the conformance reader reads it")
	require.Equal(t, g.Want.R0, ct.Result)
	require.Equal(t, qmem, ct.Mem)
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(text), "# Finding: pass xor-to-add")

	regs, err := LoadRegressions(dir)
	require.NoError(t, err)
	require.Len(t, regs, 1)
	require.Equal(t, bpf.Disassemble(q), bpf.Disassemble(regs[0].Program))
	h := CheckProgram(regs[0].Program, regs[0].Mem, cfg)
	require.NotNil(t, h, "the stored test reproduces the bug")
	require.Equal(t, f.Key(), h.Key())
	require.Nil(t, CheckProgram(regs[0].Program, regs[0].Mem, nil), "and passes without it")
}

func TestWriteRegressionTestRejects(t *testing.T) {
	p := mustAsm(t, "ldxdw %r0, [%r1+8]\nexit")
	_, err := WriteRegressionTest(t.TempDir(), "Bad Name", p, nil, nil)
	require.ErrorContains(t, err, "lower-case")
	_, err = WriteRegressionTest(t.TempDir(), "oob", p, make([]byte, 8), nil)
	require.ErrorContains(t, err, "reference interpreter fails")
}
