package kernel

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// The rewriting helpers (insertAfter, invertBranches, withoutNop) move
// instructions: jumps and local calls, both relative to the next slot,
// must still reach their targets. These tests need no kernel.

const callsProgram = `
	mov %r1, 2
	call local f
	ja +0
	add %r0, 1
	exit
f:
	jeq %r1, 2, two
	mov %r0, 10
	exit
two:
	mov %r0, 20
	exit`

func mustAsm(t *testing.T, src string) *bpf.Program {
	t.Helper()
	p, err := bpf.ParseAsm(src)
	require.NoError(t, err)
	return p
}

func TestRewritesRelocateLocalCalls(t *testing.T) {
	p := mustAsm(t, callsProgram)
	nopAfterAll := func(_ int, in bpf.Insn) []bpf.Insn {
		if in.IsExit() || in.IsJA() {
			return nil
		}
		return []bpf.Insn{nop}
	}
	padded, err := insertAfter(p, nopAfterAll)
	require.NoError(t, err)
	require.Equal(t, `mov %r1, 2
ja L2
L2:
call local L8
ja L4
L4:
ja L5
L5:
add %r0, 1
ja L7
L7:
exit
L8:
jeq %r1, 2, L13
ja L10
L10:
mov %r0, 10
ja L12
L12:
exit
L13:
mov %r0, 20
ja L15
L15:
exit
`, bpf.Disassemble(padded), "the call enters f's first instruction, not the nop before it")

	inverted, err := invertBranches(p)
	require.NoError(t, err)
	require.Equal(t, `mov %r1, 2
call local L5
ja L3
L3:
add %r0, 1
exit
L5:
jne %r1, 2, L7
ja L9
L7:
mov %r0, 10
exit
L9:
mov %r0, 20
exit
`, bpf.Disassemble(inverted))

	shorter, err := bpf.NewProgram(p.Name, withoutNop(p.Insns, 2))
	require.NoError(t, err)
	require.Equal(t, "mov %r1, 2\ncall local L4\nadd %r0, 1\nexit\nL4:\njeq %r1, 2, L7\nmov %r0, 10\nexit\nL7:\nmov %r0, 20\nexit\n", bpf.Disassemble(shorter))

	for _, q := range []*bpf.Program{padded, inverted, shorter} {
		got, err := runInterp(q, make([]byte, packetSize), 1000)
		require.NoError(t, err)
		require.Equal(t, uint32(21), got.r0, bpf.Disassemble(q))
	}
}

// Every rewrite of a kernel-safe program with subprograms computes what
// the program computes.
func TestRewritesKeepProgramsWithCalls(t *testing.T) {
	o := kernelOptions // with Calls
	steps := progen.StepBound(o)
	for seed := range uint64(150) {
		body := progen.Generate(rand.New(rand.NewPCG(seed, seedTag)), o)
		require.True(t, slices.ContainsFunc(body.Insns, bpf.Insn.IsLocalCall))
		packet := randomPacket(seed)
		want, err := runInterp(body, packet, steps)
		require.NoError(t, err)

		var variants []*bpf.Program
		inverted, err := invertBranches(body)
		require.NoError(t, err)
		variants = append(variants, inverted)
		for _, every := range []int{1, 2, 3} {
			padded, err := insertAfter(body, func(i int, in bpf.Insn) []bpf.Insn {
				if i%every != 0 || in.IsExit() || in.IsJA() {
					return nil
				}
				return []bpf.Insn{nop}
			})
			require.NoError(t, err)
			variants = append(variants, padded)
			// And the nops deleted again, one at a time.
			insns := padded.Insns
			for i := 0; i < len(insns); {
				if isNop(insns[i]) {
					q, err := bpf.NewProgram(body.Name, withoutNop(insns, i))
					require.NoError(t, err)
					insns = q.Insns
					continue
				}
				i++
			}
			stripped, err := bpf.NewProgram(body.Name, insns)
			require.NoError(t, err)
			variants = append(variants, stripped)
		}
		for _, v := range variants {
			got, err := runInterp(v, packet, 2*steps)
			require.NoError(t, err, "seed %d:\n%s", seed, bpf.Disassemble(v))
			require.True(t, want.equal(got), "seed %d: %v, want %v\n%s", seed, got, want, bpf.Disassemble(v))
		}
	}
}

func TestStackInitSlotsCoverSubprograms(t *testing.T) {
	p := mustAsm(t, `
		mov %r6, 1
		stdw [%r10-8], 0
		stxdw [%r10-16], %r6
		mov %r1, %r10
		add %r1, -8
		call local f
		stdw [%r10-24], 0
		exit
	f:
		mov %r0, 0
		mov %r7, %r1
		lddw %r8, 0x123456789
		stdw [%r10-8], 1
		stxdw [%r10-16], %r8
		stdw [%r1-8], 0
		exit`)
	// Slots: the entry's stores at 1 and 2, f's at 12 and 13 (f starts at
	// slot 9; its lddw takes two); not the later stores.
	require.Equal(t, map[int]bool{1: true, 2: true, 12: true, 13: true}, stackInitSlots(p))
}

func TestMinimizeKeepsCallsValid(t *testing.T) {
	p := mustAsm(t, callsProgram)
	// Fails while r0 is 20, which only f gives, and while the functions
	// are whole (what the verifier would check: no falling into f).
	fails := func(q *bpf.Program) bool {
		if _, err := bpf.Lift(q, "prog", bpf.LiftOptions{}); err != nil {
			return false
		}
		got, err := runInterp(q, make([]byte, packetSize), 1000)
		return err == nil && got.r0 == 20
	}
	q := minimize(p, fails)
	require.True(t, fails(q))
	require.Equal(t, "call local L2\nexit\nL2:\nmov %r0, 20\nexit\n", bpf.Disassemble(q))
}
