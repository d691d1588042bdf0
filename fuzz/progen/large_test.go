package progen

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

func TestGenerateLarge(t *testing.T) {
	o := Options{MemSize: 128, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true}
	for _, n := range []int{1, 500, 20_000} {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		p := GenerateLarge(r, n, o)
		require.GreaterOrEqual(t, len(p.Insns), n)
		require.Less(t, len(p.Insns), n+2*PrologueEpilogueMax+maxItemCost*4, "size overshoot")

		// The only exit is the last instruction, so every run reaches the
		// end of every section.
		for i, in := range p.Insns[:len(p.Insns)-1] {
			require.False(t, in.IsExit(), "exit at %d of %d", i, len(p.Insns))
		}
		require.True(t, p.Insns[len(p.Insns)-1].IsExit())

		mem := make([]byte, o.MemSize)
		_, err := bpf.Interpret(p, bpf.RunConfig{Mem: mem, MaxSteps: LargeStepBound(n)})
		require.NoError(t, err, "n=%d", n)
	}
}

// TestGenerateLargeShape checks that the sections are real code: loops and
// conditional jumps all the way through, memory and stack accesses.
func TestGenerateLargeShape(t *testing.T) {
	const n = 20_000
	o := Options{MemSize: 128, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true}
	p := GenerateLarge(rand.New(rand.NewPCG(7, 7)), n, o)
	var backward, conds, packet, stack int
	quarter := make([]int, 4) // conditional jumps per quarter of the program
	for i, in := range p.Insns {
		if in.IsCondJump() {
			conds++
			quarter[4*i/len(p.Insns)]++
		}
		if (in.Class() == bpf.ClassJMP || in.Class() == bpf.ClassJMP32) && in.Off < 0 {
			backward++
		}
		switch c := in.Class(); {
		case c == bpf.ClassLDX && in.Src == bpf.R1, (c == bpf.ClassST || c == bpf.ClassSTX) && in.Dst == bpf.R1:
			packet++
		case c == bpf.ClassLDX && in.Src == bpf.R10, (c == bpf.ClassST || c == bpf.ClassSTX) && in.Dst == bpf.R10:
			stack++
		}
	}
	require.Greater(t, backward, n/1000, "backward jumps (loops)")
	for q, c := range quarter {
		require.Greater(t, c, n/200, "conditional jumps in quarter %d", q)
	}
	require.Greater(t, packet, n/50, "packet accesses")
	require.Greater(t, stack, n/50, "stack accesses")
}
