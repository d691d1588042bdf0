// Package progen generates random eBPF programs that are valid by
// construction, for differential testing and fuzzing: every program decodes,
// terminates, never faults and reads no register before writing it, so any
// disagreement between two executions of it is a bug in one of them.
//
// A program has three parts:
//
//   - a prologue that gives r0 and r2..r9 (r2 only under KernelSafe; it
//     otherwise holds the memory length) boundary or random constants and
//     fills a window of the stack below r10, because the compiled code's
//     stack starts out as garbage and the kernel's too;
//   - a body of structured items: arithmetic (with set-ups that force
//     division by zero, INT_MIN/-1 and over-wide shifts), byte swaps,
//     constants, loads and stores at fixed, often unaligned, offsets inside
//     [r1, r1+MemSize) and the stack window, naturally aligned atomics,
//     forward conditional jumps (if, if-else, skip, conditional exit) and
//     bounded loops whose counter register the body never writes;
//   - an epilogue that folds registers (and sometimes memory) into r0 so
//     that a wrong value anywhere changes the result, then exits.
//
// r1 and r10 are only ever used as base registers, never written or read as
// values. The memory at r1 must be 8-byte aligned (atomics are generated at
// naturally aligned offsets from it).
//
// With Options.Calls the program also has subprograms, built the same way
// and reached by `call local` (calls.go). Base registers are then a
// property of each function: a subprogram's pointer parameters are its
// bases, and the entry may keep the ctx pointer in a callee-saved register;
// pointers still never become values.
//
// Import rule: only frontend/bpf (for the instruction model).
package progen

import (
	"math/rand/v2"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// Options shape the generated programs.
type Options struct {
	// MemSize is the number of bytes at r1 the program may access (r2 holds
	// the length at entry). 0: the program uses only the stack.
	MemSize int
	// MaxInsns bounds the body (prologue and epilogue come on top, at most
	// PrologueEpilogueMax instructions). 0 means 64.
	MaxInsns int
	// AllowAtomics enables STX ATOMIC.
	AllowAtomics bool
	// AllowV4 enables the ISA v4 instructions: sdiv/smod, movsx, ldx memsx,
	// bswap and the 32-bit-offset JMP32 JA (gotol).
	AllowV4 bool
	// AllowDiv enables div and mod.
	AllowDiv bool
	// Loops enables bounded loops (backward jumps).
	Loops bool
	// KernelSafe restricts programs to what the Linux verifier accepts when
	// the body runs after a prefix that points r1 at MemSize bytes of
	// checked packet data (as fuzz/kernel does): stack accesses aligned,
	// atomics only on the stack, shift immediates below the width, no
	// constant zero divisor, no unreachable code, short unnested loops
	// without branches inside (the verifier walks every path of every
	// iteration), r2 initialised, and r0 folded to 32 bits before the
	// final exit (BPF_PROG_TEST_RUN returns 32 bits). Tuned for MaxInsns
	// up to a few hundred. With Calls, calls stay out of loops and the
	// frames of all functions fit the kernel's 512 bytes together.
	KernelSafe bool
	// Calls adds 1 to 4 subprograms (calls.go): each reads some of r1..r5
	// as arguments (values, or pointers into its caller's stack or the
	// memory at r1), has its own stack window and returns r0, and is
	// called from the entry or an earlier subprogram, so there is no
	// recursion and at most 5 frames. MaxInsns then bounds the bodies of
	// all functions together; each subprogram adds at most
	// SubprogramOverheadMax instructions.
	Calls bool
}

const (
	defaultMaxInsns = 64
	// maxBodyInsns keeps every jump offset within the 16-bit Off field.
	maxBodyInsns = 16000
	maxLoopDepth = 2
	maxLoopIter  = 8
	// The verifier walks every iteration of every loop; keep that small.
	maxLoopIterKernel = 4
	// maxItemCost is the most instructions one simple item emits.
	maxItemCost = 6
	// PrologueEpilogueMax bounds the instructions outside the body:
	// 9 register constants, 64 stack stores for a full 512-byte window and
	// an epilogue of at most 30.
	PrologueEpilogueMax = 9 + bpf.StackSize/8 + 30
)

// Generate returns a random program drawn from r.
func Generate(r *rand.Rand, o Options) *bpf.Program {
	o = o.withDefaults()
	g := &gen{src: randSource{r}, o: o}
	return g.generate(1 + g.intn(o.MaxInsns))
}

// FromBytes returns the program that data describes: each byte (or group of
// bytes) decides one choice of the generator, and generation stops when the
// data runs out, so fuzzer mutations map to program mutations. Any data,
// including none, gives a valid program.
func FromBytes(data []byte, o Options) *bpf.Program {
	o = o.withDefaults()
	g := &gen{src: &byteSource{data: data}, o: o}
	return g.generate(o.MaxInsns)
}

// StepBound is an upper bound on the instructions a program generated with
// o executes, for the interpreters' step limits.
func StepBound(o Options) int {
	o = o.withDefaults()
	iter := maxLoopIter + 1
	n := maxProgramInsns(o)
	if o.Calls {
		// Each instruction runs once per call path that reaches its
		// function and per iteration of the loops around it on that path,
		// which are at most maxLoopDepth deep along the whole path.
		n *= maxCallPaths
	}
	for range maxLoopDepth {
		n *= iter
	}
	return n
}

// maxProgramInsns bounds the instructions of a program generated with o.
func maxProgramInsns(o Options) int {
	n := o.MaxInsns + PrologueEpilogueMax
	if o.Calls {
		n += maxSubprograms * SubprogramOverheadMax
	}
	return n
}

func (o Options) withDefaults() Options {
	if o.MaxInsns <= 0 {
		o.MaxInsns = defaultMaxInsns
	}
	o.MaxInsns = min(o.MaxInsns, maxBodyInsns)
	o.MemSize = max(o.MemSize, 0)
	// Offsets from r1 are 16-bit.
	o.MemSize = min(o.MemSize, 0x7fff)
	return o
}

// gen is the state of one generation. Instructions are emitted into the
// function being generated (slots count from its start); program links
// the functions.
type gen struct {
	src    source
	o      Options
	insns  []bpf.Insn
	slots  int // slots emitted so far
	budget int // body instructions still allowed
	// locked registers are loop counters: readable, never written.
	locked    [bpf.NumRegs]bool
	stack     int // bytes of initialised stack below r10
	loopDepth int
	dead      int // > 0 while emitting unreachable items
	// values are the registers that hold values, r0 first; bases point
	// into memory the function may access (besides r10's window).
	values []uint8
	bases  []base
	// funcs are the entry and the subprograms; fn indexes the one being
	// generated (calls.go).
	funcs []*function
	fn    int
}

func (g *gen) intn(n int) int          { return g.src.intn(n) }
func (g *gen) chance(percent int) bool { return g.src.intn(100) < percent }

// stop reports that the body must end: budget spent or choices exhausted.
func (g *gen) stop() bool { return g.budget < maxItemCost || g.src.exhausted() }

func (g *gen) generate(budget int) *bpf.Program {
	g.plan(budget)
	for k := range g.funcs {
		g.function(k)
	}
	return g.program()
}

// emit appends one instruction and returns its index.
func (g *gen) emit(in bpf.Insn) int {
	in.Slot = g.slots
	g.insns = append(g.insns, in)
	g.slots += in.SlotCount()
	g.budget--
	return len(g.insns) - 1
}

// patchHere makes the forward jump at index j land on the next slot.
func (g *gen) patchHere(j int) { g.patchTo(j, g.slots) }

// patchTo sets the offset of the jump at index j so that it lands on slot
// target (before or after it).
func (g *gen) patchTo(j, target int) {
	in := &g.insns[j]
	off := target - (in.Slot + 1)
	if in.Class() == bpf.ClassJMP32 && in.Code() == bpf.JmpJA {
		in.Imm = int32(off)
	} else {
		in.Off = int16(off)
	}
}

// valueRegs are the registers the entry computes with (without Calls).
var valueRegs = []uint8{bpf.R0, bpf.R2, bpf.R3, bpf.R4, bpf.R5, bpf.R6, bpf.R7, bpf.R8, bpf.R9}

// srcReg is any register that holds a value.
func (g *gen) srcReg() uint8 { return g.values[g.intn(len(g.values))] }

// dstReg is a register the body may write: not a loop counter.
func (g *gen) dstReg() uint8 {
	for {
		r := g.values[g.intn(len(g.values))]
		if !g.locked[r] {
			return r
		}
		if g.src.exhausted() {
			return bpf.R0 // never locked
		}
	}
}

// setConst loads v into r with the shortest form that holds it, or lddw.
func (g *gen) setConst(r uint8, v uint64) {
	switch {
	case int64(v) == int64(int32(v)) && !g.chance(15):
		g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: r, Imm: int32(v)})
	case v <= 0xffffffff && !g.chance(15):
		g.emit(bpf.Insn{Op: bpf.ClassALU | bpf.AluMOV | bpf.SrcK, Dst: r, Imm: int32(uint32(v))})
	default:
		g.emit(bpf.Insn{Op: bpf.OpLdImm64, Dst: r, Imm: int32(uint32(v)), Imm64: v})
	}
}

// stackWindows are the sizes of initialised stack; small ones are common
// because the prologue pays 1 store per 8 bytes.
var stackWindows = []int{64, 8, 16, 32, 64, 128, 64, bpf.StackSize}

// prologue gives the value registers constants (all but the entry's r2,
// the memory length, and a subprogram's value arguments) and fills the
// stack window, chosen here unless the plan did (g.stack > 0).
func (g *gen) prologue() {
	f := g.funcs[g.fn]
	for _, r := range g.values {
		if (r == bpf.R2 && g.fn == 0 && !g.o.KernelSafe) || f.valueParam(r) {
			continue // the memory length, or an argument
		}
		g.setConst(r, g.value64())
	}
	if g.stack == 0 {
		g.stack = stackWindows[g.intn(len(stackWindows))]
	}
	for off := -g.stack; off < 0; off += 8 {
		if g.chance(50) {
			g.emit(bpf.Insn{Op: bpf.ClassST | bpf.ModeMEM | bpf.SizeDW, Dst: bpf.R10, Off: int16(off), Imm: g.value32()})
		} else {
			g.emit(bpf.Insn{Op: bpf.ClassSTX | bpf.ModeMEM | bpf.SizeDW, Dst: bpf.R10, Src: g.srcReg(), Off: int16(off)})
		}
	}
}

// epilogue folds state into r0 and exits. Folding with xor, add and
// multiplication by an odd constant (a bijection) keeps every input's
// influence on the result.
func (g *gen) epilogue() {
	alu := func(code, src uint8) {
		g.emit(bpf.Insn{Op: bpf.ClassALU64 | code | bpf.SrcX, Dst: bpf.R0, Src: src})
	}
	if g.chance(60) {
		tmp := g.values[1+g.intn(len(g.values)-1)]
		size := []uint8{bpf.SizeDW, bpf.SizeW, bpf.SizeH, bpf.SizeB}[g.intn(4)]
		base, off := g.memRef(bpf.SizeBytes(size), false)
		g.emit(bpf.Insn{Op: bpf.ClassLDX | bpf.ModeMEM | size, Dst: tmp, Src: base, Off: off})
		alu(bpf.AluXOR, tmp)
	}
	for _, r := range g.values[1:] {
		if r == bpf.R2 && !g.o.KernelSafe && g.chance(50) {
			continue
		}
		switch g.intn(8) {
		case 0:
			continue // some registers stay dead, so their code may be dropped
		case 1:
			alu(bpf.AluADD, r)
		case 2:
			alu(bpf.AluSUB, r)
		default:
			alu(bpf.AluXOR, r)
		}
		if g.chance(20) {
			g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMUL | bpf.SrcK, Dst: bpf.R0, Imm: oddMultiplier})
		}
	}
	if g.o.KernelSafe && g.fn == 0 {
		// r0 ^= r0 >> 32, so the 32-bit test-run result sees the high word.
		g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcX, Dst: bpf.R2, Src: bpf.R0})
		g.emit(bpf.Insn{Op: bpf.ClassALU64 | bpf.AluRSH | bpf.SrcK, Dst: bpf.R2, Imm: 32})
		alu(bpf.AluXOR, bpf.R2)
	}
	g.emit(bpf.Insn{Op: bpf.ClassJMP | bpf.JmpEXIT})
}

// oddMultiplier is 0x9e3779b1 (odd, so multiplying by it loses nothing).
const oddMultiplier = -0x61c8864f

// program links the functions, lays out and validates the program. A
// validation failure is a bug in this generator, never a property of its
// input.
func (g *gen) program() *bpf.Program {
	p, err := bpf.NewProgram("progen", g.link())
	if err != nil {
		panic("progen: generated an invalid program: " + err.Error())
	}
	return p
}
