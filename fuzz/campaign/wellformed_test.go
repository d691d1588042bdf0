package campaign

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

func TestWellFormedAccepts(t *testing.T) {
	for _, src := range []string{
		// Call-free: the entry starts with every register written.
		"add %r0, %r7\nexit",
		// The callee reads r1 and r2, which every call site writes, and
		// r10; after the call the caller rewrites r1 before reading it.
		`mov %r1, 1
		mov %r2, 2
		call local f
		mov %r1, 5
		mov %r2, 3
		call local f
		mov %r1, %r0
		add %r0, %r1
		exit
	f:
		mov %r0, %r1
		add %r0, %r2
		stxdw [%r10-8], %r0
		exit`,
		// Dead code after an exit reads nothing that counts.
		"mov %r0, 0\ncall local f\nexit\nf:\nmov %r0, 1\nexit\nadd %r0, %r3\nexit",
		// A loop in a subprogram; r6 written before it.
		"call local f\nexit\nf:\nmov %r6, 3\nmov %r0, 0\nloop:\nadd %r0, %r6\nsub %r6, 1\njne %r6, 0, loop\nexit",
	} {
		require.NoError(t, wellFormed(mustAsm(t, src)), src)
	}
}

func TestWellFormedRejects(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"mov %r1, 1\ncall local f\nmov %r0, %r1\nexit\nf:\nmov %r0, 0\nexit", "instruction 2 (mov %r0, %r1) reads r1, which is not written on every path"},
		{"call local f\nexit\nf:\nadd %r0, 1\nexit", "reads r0"},
		{"call local f\nexit\nf:\nmov %r0, %r6\nexit", "reads r6"},
		// One of two call sites leaves r3 unwritten (after the first call).
		{"mov %r3, 1\ncall local f\ncall local f\nexit\nf:\nmov %r0, %r3\nexit", "instruction 4 (mov %r0, %r3) reads r3"},
		// After the first call, r2 is written on one path to the second only.
		{"call local f\njeq %r0, 0, skip\nmov %r2, 1\nskip:\ncall local f\nexit\nf:\nmov %r0, %r2\nexit", "instruction 5 (mov %r0, %r2) reads r2"},
		// cmpxchg reads r0; a fetch writes its source.
		{"call local f\nexit\nf:\nmov %r1, 0\nlock cmpxchg [%r10-8], %r1\nexit", "reads r0"},
		{"call local f\njeq %r0, 0, g\nexit\nf:\nmov %r0, 0\ng:\nexit", "jumps out of its function"},
		{"call local f\ncall local g\nexit\nf:\nmov %r0, 0\ng:\nmov %r0, 1\nexit", "instruction 3 (mov %r0, 0) falls through into the next function"},
		{"call local f\nexit\nf:\nmov %r0, 0\ncall local f\nexit", "recursive"},
	} {
		require.ErrorContains(t, wellFormed(mustAsm(t, c.src)), c.want, c.src)
	}
	// Calls deeper than eight frames.
	src := ""
	for i := range 9 {
		src += "mov %r0, 0\ncall local f" + string(rune('a'+i)) + "\nexit\nf" + string(rune('a'+i)) + ":\n"
	}
	src += "mov %r0, 0\nexit"
	require.ErrorContains(t, wellFormed(mustAsm(t, src)), "call chains reach 10 frames, more than 8")
	// A call to the entry.
	p := mustAsm(t, "entry:\nmov %r0, 0\nexit\nmov %r0, 0\ncall local entry\nexit")
	require.ErrorContains(t, wellFormed(p), "calls the entry")
}

// The generator's programs are inside the contract, or the reducer could
// not remove a single instruction from them.
func TestGeneratedProgramsAreWellFormed(t *testing.T) {
	for i := range 300 {
		o := genOptions
		o.Calls = i%4 != 0
		o.KernelSafe = i%3 == 0
		o.Loops = i%5 != 0
		p := progen.Generate(rand.New(rand.NewPCG(uint64(i), 0x3e11)), o)
		require.NoError(t, wellFormed(p), "program %d (%+v):\n%s", i, o, bpf.Disassemble(p))
	}
}
