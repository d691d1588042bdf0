package progen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/ir"
)

// memShift is how far relocated moves the memory: past a page, and by a
// multiple of 8 so that atomics stay aligned.
const memShift = 4096 + 8

// relocated is p run one frame deeper (its r10 512 bytes lower) with its
// memory memShift bytes further on: a wrapper entry moves r1, restores r2
// to the memory length and calls p as a subprogram.
func relocated(t *testing.T, p *bpf.Program, memSize int) *bpf.Program {
	t.Helper()
	wrapper := []bpf.Insn{
		{Op: bpf.ClassALU64 | bpf.AluADD | bpf.SrcK, Dst: bpf.R1, Imm: memShift},
		{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: bpf.R2, Imm: int32(memSize)},
		{Op: bpf.ClassJMP | bpf.JmpCALL, Src: bpf.CallLocal, Imm: 1},
		{Op: bpf.ClassJMP | bpf.JmpEXIT},
	}
	q, err := bpf.NewProgram(p.Name, append(wrapper, slices.Clone(p.Insns)...))
	require.NoError(t, err)
	return q
}

// Generated programs never let a pointer reach r0 or memory: every engine
// places memory and stacks elsewhere. The same program with its memory
// and stack moved must give the same r0 and memory.
func TestResultsDoNotDependOnAddresses(t *testing.T) {
	progs, opts := corpus()
	for i, p := range progs {
		o := opts[i]
		if i%3 != 0 && !o.Calls {
			continue // a sample of the call-free programs, all the others
		}
		mem := memFor(i, o.MemSize)
		want, err := bpf.Interpret(p, bpf.RunConfig{Mem: mem, MaxSteps: StepBound(o)})
		require.NoError(t, err)
		moved := make([]byte, memShift+o.MemSize)
		copy(moved[memShift:], memFor(i, o.MemSize))
		got, err := bpf.Interpret(relocated(t, p, o.MemSize), bpf.RunConfig{Mem: moved, MaxSteps: StepBound(o) + 4})
		require.NoError(t, err, "program %d relocated:\n%s", i, bpf.Disassemble(p))
		require.Equal(t, want, got, "program %d (options %+v): r0 depends on where memory and stack are\n%s", i, o, bpf.Disassemble(p))
		require.Equal(t, mem, moved[memShift:], "program %d (options %+v): memory depends on where memory and stack are\n%s", i, o, bpf.Disassemble(p))
	}
}

// relocated must be able to catch a leak.
func TestRelocatedCatchesPointerLeaks(t *testing.T) {
	for _, src := range []string{
		"mov %r0, %r10\nexit",
		"mov %r0, %r1\nexit",
		"mov %r3, %r10\nstxdw [%r1], %r3\nmov %r0, 0\nexit",
		"call local f\nexit\nf:\nmov %r0, %r10\nrsh %r0, 8\nexit",
	} {
		p, err := bpf.ParseAsm(src)
		require.NoError(t, err)
		mem := make([]byte, 8)
		want, err := bpf.Interpret(p, bpf.RunConfig{Mem: mem})
		require.NoError(t, err)
		moved := make([]byte, memShift+8)
		got, err := bpf.Interpret(relocated(t, p, 8), bpf.RunConfig{Mem: moved})
		require.NoError(t, err)
		require.False(t, want == got && bytes.Equal(mem, moved[memShift:]), "leak not seen:\n%s", src)
	}
}

// The discipline check rejects what a generator bug could produce.
func TestCheckKindsRejects(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"mov %r0, %r10\nexit", "reads r0 as a value, but it holds a stack pointer"},
		{"mov %r0, 1\nadd %r0, %r1\nexit", "reads r1 as a value, but it holds a memory pointer"},
		{"mov %r0, %r6\nexit", "copies r6, which holds nothing"},
		{"stxdw [%r1], %r10\nmov %r0, 0\nexit", "stores r10, which holds a stack pointer"},
		{"ldxdw %r3, [%r2]\nmov %r0, 0\nexit", "uses r2 as a memory base"},
		{"jeq %r1, 0, +0\nmov %r0, 0\nexit", "reads r1 as a value"},
		{"stxdw [%r10-8], %r1\nldxw %r0, [%r10-8]\nexit", "touches the spilled pointer at r10-8"},
		{"mov %r0, 0\njeq %r0, 0, +1\nstxdw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit", "touches the spilled pointer"},
		{"mov %r0, 0\njeq %r0, 0, +1\nmov %r3, 1\nmov %r0, %r3\nexit", "copies r3, which holds nothing"},
		{"mov %r0, 0\ncall local f\nmov %r0, %r2\nexit\nf:\nmov %r0, 0\nexit", "copies r2, which holds nothing"},
		{"mov %r0, 0\ncall local f\nexit\nf:\nmov %r0, %r6\nexit", "copies r6, which holds nothing"},
		{"mov %r0, 0\ncall local f\nexit\nf:\ncall local f\nexit", "only later functions may be called"},
		{"mov %r2, %r10\ncall local f\nmov %r2, 1\ncall local f\nexit\nf:\nldxb %r0, [%r2]\nexit", "uses r2 as a memory base, but it holds nothing"},
		{"mov %r0, 0\ncall local f\njeq %r0, 0, f\nexit\nf:\nmov %r0, 0\nexit", "leaves its function"},
	} {
		p, err := bpf.ParseAsm(c.src)
		require.NoError(t, err, c.src)
		_, err = checkKinds(p, Options{MemSize: 8, Calls: true})
		require.ErrorContains(t, err, c.want, c.src)
	}
	p, err := bpf.ParseAsm("mov %r3, %r1\nadd %r3, 4\ncall local f\nexit\nf:\nmov %r6, %r3\nmov %r0, 0\ncall local g\nldxb %r0, [%r6]\nexit\ng:\nmov %r0, 1\nexit")
	require.NoError(t, err)
	shape, err := checkKinds(p, Options{MemSize: 8, Calls: true})
	require.NoError(t, err)
	require.Equal(t, 3, shape.depth())
	require.True(t, shape.reads[1][bpf.R3])
	require.Equal(t, kMemPtr, shape.calls[0].args[bpf.R3])
}

// What a corpus of programs with calls must show, by the discipline check
// and by the lifter (which derives subprogram signatures by itself).
func TestCallCoverage(t *testing.T) {
	progs, opts := corpus()
	seen := map[string]int{}
	for i, p := range progs {
		o := opts[i]
		if !o.Calls {
			continue
		}
		shape, err := checkKinds(p, o)
		require.NoError(t, err)
		seen[fmt.Sprintf("%d subprograms", len(shape.starts)-1)]++
		seen[fmt.Sprintf("%d frames deep", shape.depth())]++
		if shape.spills > 0 && shape.reloads > 0 {
			seen["pointer spilled and reloaded"]++
		}
		if shape.savedInCalleeSaved > 0 {
			seen["pointer kept in r6..r9"]++
		}
		for _, c := range shape.calls {
			if o.KernelSafe {
				seen["kernel-safe call"]++
			}
			read := 0
			for r := bpf.R1; r <= bpf.R5; r++ {
				if shape.reads[c.callee][r] {
					read++
					seen["argument: "+c.args[r].String()]++
				}
			}
			seen[fmt.Sprintf("call reading %d arguments", read)]++
			if callInLoop(p, c.slot) {
				seen["call in a loop"]++
			}
			if callInBranch(p, c.slot) {
				seen["call in a conditional branch"]++
			}
		}
		funcs, err := bpf.Lift(p, "prog", bpf.LiftOptions{})
		require.NoError(t, err, "program %d:\n%s", i, bpf.Disassemble(p))
		for _, f := range funcs[1:] {
			for _, b := range f.Blocks {
				for _, v := range b.Values {
					if v.Op == ir.OpArg && v.Align > 1 {
						seen[fmt.Sprintf("subprogram Arg align=%d", v.Align)]++
					}
				}
			}
		}
	}
	want := []string{
		"1 subprograms", "2 subprograms", "3 subprograms", "4 subprograms",
		"2 frames deep", "3 frames deep", "4 frames deep", "5 frames deep",
		"call reading 0 arguments", "call reading 1 arguments", "call reading 2 arguments",
		"call reading 3 arguments", "call reading 4 arguments", "call reading 5 arguments",
		"argument: a value", "argument: a stack pointer", "argument: a memory pointer",
		"call in a loop", "call in a conditional branch", "kernel-safe call",
		"pointer spilled and reloaded", "pointer kept in r6..r9",
		"subprogram Arg align=2", "subprogram Arg align=4", "subprogram Arg align=8",
	}
	var missing []string
	for _, w := range want {
		if seen[w] == 0 {
			missing = append(missing, w)
		}
	}
	require.Empty(t, missing, "never generated; seen: %v", seen)
	t.Logf("%v", seen)
}

// callInLoop reports that the instruction at slot lies between a backward
// jump and its target.
func callInLoop(p *bpf.Program, slot int) bool {
	return slices.ContainsFunc(p.Insns, func(in bpf.Insn) bool {
		return (in.IsJA() || in.IsCondJump()) && in.JumpTarget() <= slot && slot < in.Slot
	})
}

// callInBranch reports that a forward conditional jump skips the
// instruction at slot.
func callInBranch(p *bpf.Program, slot int) bool {
	return slices.ContainsFunc(p.Insns, func(in bpf.Insn) bool {
		return in.IsCondJump() && in.Slot < slot && slot < in.JumpTarget()
	})
}

// callOptions are the option sets with Calls.
func callOptions() []Options {
	var sets []Options
	for _, o := range optionSets {
		if o.Calls {
			sets = append(sets, o)
		}
	}
	return sets
}

// Subprograms have their own stacks; under KernelSafe all frames fit the
// verifier's 512 bytes together (rounded as it counts them), elsewhere
// each frame fits 512 bytes.
func TestCallStacksFit(t *testing.T) {
	sets := callOptions()
	for seed := range uint64(3000) {
		o := sets[int(seed)%len(sets)]
		p := Generate(rand.New(rand.NewPCG(seed, 3)), o)
		shape, err := checkKinds(p, o)
		require.NoError(t, err)
		total := 0
		for k, start := range shape.starts {
			end := len(p.SlotIndex)
			if k+1 < len(shape.starts) {
				end = shape.starts[k+1]
			}
			deepest := 0
			for _, in := range p.Insns[p.IndexOfSlot(start):] {
				if in.Slot >= end {
					break
				}
				base := in.Dst
				if in.Class() == bpf.ClassLDX {
					base = in.Src
				}
				isMem := in.Class() == bpf.ClassLDX || in.Class() == bpf.ClassST || in.Class() == bpf.ClassSTX
				if isMem && base == bpf.R10 {
					deepest = max(deepest, -int(in.Off))
				}
			}
			require.LessOrEqual(t, deepest, bpf.StackSize, "seed %d function %d", seed, k)
			total += (deepest + kernelFrameRound - 1) / kernelFrameRound * kernelFrameRound
		}
		if o.KernelSafe {
			require.LessOrEqual(t, total, bpf.StackSize, "seed %d: frames take %d bytes together\n%s", seed, total, bpf.Disassemble(p))
		}
	}
}

// Calls stay out of loops under KernelSafe (the verifier would walk the
// callee once per iteration).
func TestKernelSafeCallsOutsideLoops(t *testing.T) {
	i := slices.IndexFunc(optionSets, func(o Options) bool { return o.KernelSafe && o.Calls })
	require.GreaterOrEqual(t, i, 0)
	o := optionSets[i]
	calls := 0
	for seed := range uint64(2000) {
		p := Generate(rand.New(rand.NewPCG(seed, 4)), o)
		for _, in := range p.Insns {
			if in.IsLocalCall() {
				calls++
				require.False(t, callInLoop(p, in.Slot), "seed %d: call at slot %d in a loop\n%s", seed, in.Slot, bpf.Disassemble(p))
			}
		}
	}
	require.Positive(t, calls)
}
