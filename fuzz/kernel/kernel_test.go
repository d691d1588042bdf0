package kernel

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// The number of programs compared; raise it for a longer campaign
// (go test ./fuzz/kernel -kernel.programs=100000), and move -kernel.seed
// for fresh programs.
var (
	numPrograms = flag.Int("kernel.programs", 2000, "random programs to compare with the kernel")
	firstSeed   = flag.Uint64("kernel.seed", 0, "seed of the first program")
)

const seedTag = 0x6b65726e656c // "kernel"

var kernelOptions = progen.Options{
	MemSize: packetSize, MaxInsns: 120,
	AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true,
	KernelSafe: true, Calls: true,
}

// randomPacket is the packet program seed runs on.
func randomPacket(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	packet := make([]byte, packetSize)
	for j := range packet {
		packet[j] = byte(r.Uint32())
	}
	return packet
}

func TestKernelCrossCheck(t *testing.T) {
	reason, err := bpfUnavailable()
	require.NoError(t, err)
	if reason != "" {
		t.Logf("kernel cross-check: bpf() not permitted here (%s)", reason)
		return
	}
	start := time.Now()
	steps := progen.StepBound(kernelOptions)
	var kernelBugs []uint64
	for n := range *numPrograms {
		seed := *firstSeed + uint64(n)
		body := progen.Generate(rand.New(rand.NewPCG(seed, seedTag)), kernelOptions)
		packet := randomPacket(seed)
		kernel, err := runKernel(body, packet)
		require.NoError(t, err, "program %d (-kernel.seed=%d -kernel.programs=1):\n%s", seed, seed, bpf.Disassemble(body))
		interp, err := runInterp(body, packet, steps)
		require.NoError(t, err, "interpreter on program %d:\n%s", seed, bpf.Disassemble(body))
		if !kernel.equal(interp) {
			if kernelContradictsItself(body, packet, interp, steps) {
				kernelBugs = append(kernelBugs, seed)
				continue
			}
			small := minimize(body, func(q *bpf.Program) bool {
				k, err1 := runKernel(q, packet)
				i, err2 := runInterp(q, packet, steps)
				return err1 == nil && err2 == nil && !k.equal(i)
			})
			k, _ := runKernel(small, packet)
			i, _ := runInterp(small, packet, steps)
			t.Fatalf("program %d (-kernel.seed=%d -kernel.programs=1): kernel and interpreter disagree\nkernel:      %v\ninterpreter: %v\npacket before: % x\n%s\nminimized:\nkernel:      %v\ninterpreter: %v\n%s",
				seed, seed, kernel, interp, packet, bpf.Disassemble(body), k, i, bpf.Disassemble(small))
		}
	}
	t.Logf("kernel cross-check: bpf() works; %d of %d random programs (seeds %d..%d) agreed with the kernel on r0 and the packet, in %v",
		*numPrograms-len(kernelBugs), *numPrograms, *firstSeed, *firstSeed+uint64(*numPrograms)-1, time.Since(start).Round(time.Millisecond))
	if len(kernelBugs) > 0 {
		t.Logf("kernel cross-check: on %d programs the kernel disagreed but agreed on an equivalent copy (branches inverted or nops inserted): verifier bugs like TestAtomicFetchPruning's; seeds %v",
			len(kernelBugs), kernelBugs)
	}
	require.LessOrEqual(t, len(kernelBugs), 1+*numPrograms/1000, "more than 1 in 1000 programs hit kernel bugs: suspect the harness")
}

// kernelContradictsItself reports that a copy of body which means the same
// by any semantics makes the kernel agree with the interpreter (want): the
// copy with its conditions inverted (the verifier then explores paths in
// the other order) or padded with nops (`ja +0`, which move the verifier's
// pruning checkpoints). The interpreter must give want on the copy too,
// which checks the rewriting. A kernel whose result changes with such
// rewriting decided a branch wrongly after pruning a live path (see
// TestAtomicFetchPruning); the interpreter is not at fault.
func kernelContradictsItself(body *bpf.Program, packet []byte, want outcome, maxSteps int) bool {
	variants := []func(*bpf.Program) (*bpf.Program, error){invertBranches}
	for _, every := range []int{1, 2, 3, 5} {
		variants = append(variants, func(p *bpf.Program) (*bpf.Program, error) {
			return insertAfter(p, func(i int, in bpf.Insn) []bpf.Insn {
				// After exit or ja a nop is unreachable, which the verifier refuses.
				if i%every != 0 || in.IsExit() || in.IsJA() {
					return nil
				}
				return []bpf.Insn{nop}
			})
		})
	}
	for _, rewrite := range variants {
		v, err := rewrite(body)
		if err != nil {
			continue
		}
		i, err1 := runInterp(v, packet, maxSteps)
		k, err2 := runKernel(v, packet)
		if err1 == nil && err2 == nil && i.equal(want) && k.equal(want) {
			return true
		}
	}
	return false
}

// negated maps each condition but JSET to its negation.
var negated = map[uint8]uint8{
	bpf.JmpJEQ: bpf.JmpJNE, bpf.JmpJNE: bpf.JmpJEQ,
	bpf.JmpJGT: bpf.JmpJLE, bpf.JmpJLE: bpf.JmpJGT,
	bpf.JmpJGE: bpf.JmpJLT, bpf.JmpJLT: bpf.JmpJGE,
	bpf.JmpJSGT: bpf.JmpJSLE, bpf.JmpJSLE: bpf.JmpJSGT,
	bpf.JmpJSGE: bpf.JmpJSLT, bpf.JmpJSLT: bpf.JmpJSGE,
}

// invertBranches rewrites each `if c goto T` (but jset) as
// `if !c goto +1; goto T`, relocating the other jumps and the local calls.
func invertBranches(p *bpf.Program) (*bpf.Program, error) {
	flips := func(in bpf.Insn) bool {
		_, ok := negated[in.Code()]
		return in.IsCondJump() && ok
	}
	shift := make([]int, len(p.SlotIndex)+1)
	total := 0
	for _, in := range p.Insns {
		for s := in.Slot; s < in.Slot+in.SlotCount(); s++ {
			shift[s] = total
		}
		if flips(in) {
			total++
		}
	}
	shift[len(p.SlotIndex)] = total
	moved := func(s int) int { return s + shift[s] }
	var out []bpf.Insn
	for _, in := range p.Insns {
		if !flips(in) {
			out = append(out, relocate(in, moved))
			continue
		}
		ja := bpf.Insn{Op: bpf.ClassJMP | bpf.JmpJA, Off: int16(moved(in.JumpTarget()) - (moved(in.Slot) + 2))}
		in.Op = in.Op&^0xf0 | negated[in.Code()]
		in.Off = 1
		out = append(out, in, ja)
	}
	return bpf.NewProgram(p.Name, out)
}
