package progen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// optionSets are the configurations the tests cycle through: everything on,
// each feature off in turn, no memory, odd memory sizes (unaligned ends),
// and the kernel-safe subset; then the same with subprograms.
var optionSets = []Options{
	{MemSize: 64, MaxInsns: 120, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true},
	{MemSize: 13, MaxInsns: 60, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true},
	{MemSize: 0, MaxInsns: 80, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true},
	{MemSize: 256, MaxInsns: 300, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true},
	{MemSize: 32, MaxInsns: 100, AllowDiv: true},
	{MemSize: 7, MaxInsns: 100, AllowAtomics: true, Loops: true},
	{MemSize: 1, MaxInsns: 40, AllowV4: true},
	{MemSize: 64, MaxInsns: 120, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true, KernelSafe: true},
	{MemSize: 64, MaxInsns: 120, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true, Calls: true},
	{MemSize: 24, MaxInsns: 200, AllowAtomics: true, AllowDiv: true, Loops: true, Calls: true},
	{MemSize: 0, MaxInsns: 100, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true, Calls: true},
	{MemSize: 3, MaxInsns: 60, AllowV4: true, Calls: true},
	{MemSize: 64, MaxInsns: 120, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true, KernelSafe: true, Calls: true},
}

const corpusSize = 10000

// corpus is corpusSize programs from fixed seeds with their options,
// generated once for all the tests that inspect it.
var corpus = sync.OnceValues(func() ([]*bpf.Program, []Options) {
	progs := make([]*bpf.Program, corpusSize)
	opts := make([]Options, corpusSize)
	for i := range progs {
		o := optionSets[i%len(optionSets)]
		r := rand.New(rand.NewPCG(uint64(i), 0x70726f67656e))
		progs[i], opts[i] = Generate(r, o), o
	}
	return progs, opts
})

// memFor is the initial memory of a run: deterministic, non-trivial bytes.
func memFor(seed, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	mem := make([]byte, size)
	for i := range mem {
		mem[i] = byte(r.Uint32())
	}
	return mem
}

// checkProgram asserts the generator's contract for one program: it encodes
// and decodes to itself in both byte orders, obeys the structural rules,
// and runs in the reference interpreter to exit within StepBound.
func checkProgram(t *testing.T, p *bpf.Program, o Options, seed int) {
	t.Helper()
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		raw := bpf.Encode(p, order)
		q, err := bpf.Decode(raw, order)
		require.NoError(t, err, "program %d does not decode:\n%s", seed, bpf.Disassemble(p))
		require.Equal(t, len(p.Insns), len(q.Insns))
		for i := range p.Insns {
			a, b := p.Insns[i], q.Insns[i]
			a.Line, b.Line = 0, 0
			require.Equal(t, a, b, "program %d instruction %d changed by encode/decode", seed, i)
		}
	}
	checkStructure(t, p, o, seed)
	_, err := bpf.Interpret(p, bpf.RunConfig{Mem: memFor(seed, o.MemSize), MaxSteps: StepBound(o)})
	require.NoError(t, err, "program %d (options %+v) fails in the interpreter:\n%s", seed, o, bpf.Disassemble(p))
}

// checkStructure checks what the interpreter would not: the register
// discipline (checkKinds: pointers are only memory bases, registers are
// written before they are read), r1 never written without Calls, atomics
// naturally aligned, only loops jump backwards, and the size bound.
func checkStructure(t *testing.T, p *bpf.Program, o Options, seed int) *programShape {
	t.Helper()
	shape, err := checkKinds(p, o)
	if err != nil {
		t.Fatalf("program %d (options %+v): %v\n%s", seed, o, err, bpf.Disassemble(p))
	}
	fail := func(in bpf.Insn, what string) {
		t.Fatalf("program %d instruction %d (%s): %s\n%s", seed, in.Slot, bpf.FormatInsn(in), what, bpf.Disassemble(p))
	}
	for _, in := range p.Insns {
		writesR1 := in.Dst == bpf.R1 && (in.Class() == bpf.ClassALU || in.Class() == bpf.ClassALU64 ||
			in.Class() == bpf.ClassLD || in.Class() == bpf.ClassLDX)
		if writesR1 && !o.Calls {
			fail(in, "overwrites r1")
		}
		if in.IsLocalCall() && !o.Calls {
			fail(in, "calls without Calls")
		}
		if in.Class() == bpf.ClassSTX && in.Mode() == bpf.ModeATOMIC && int(in.Off)%bpf.SizeBytes(in.Size()) != 0 {
			fail(in, "misaligned atomic")
		}
		if (in.IsJA() || in.IsCondJump()) && in.JumpTarget() <= in.Slot && !o.Loops {
			fail(in, "jumps backwards without Loops")
		}
	}
	if len(p.Insns) > maxProgramInsns(o.withDefaults()) {
		t.Fatalf("program %d has %d instructions, over the bound %d for MaxInsns %d", seed, len(p.Insns), maxProgramInsns(o.withDefaults()), o.MaxInsns)
	}
	return shape
}

func TestGeneratedProgramsAreValidAndRun(t *testing.T) {
	progs, opts := corpus()
	for i, p := range progs {
		checkProgram(t, p, opts[i], i)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	for seed := range uint64(50) {
		o := optionSets[seed%uint64(len(optionSets))]
		a := Generate(rand.New(rand.NewPCG(seed, 2)), o)
		b := Generate(rand.New(rand.NewPCG(seed, 2)), o)
		require.Equal(t, bpf.Disassemble(a), bpf.Disassemble(b))
	}
}

func TestFromBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		data := make([]byte, r.IntN(600))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		o := optionSets[i%len(optionSets)]
		p := FromBytes(data, o)
		checkProgram(t, p, o, i)
		require.Equal(t, bpf.Disassemble(p), bpf.Disassemble(FromBytes(data, o)), "FromBytes is not deterministic")
	}
}

// A short input gives a short program: no input, no body; and growing the
// input never shrinks the program much (choices are consumed in order).
func TestFromBytesShortInputShortProgram(t *testing.T) {
	o := optionSets[0]
	empty := FromBytes(nil, o)
	checkProgram(t, empty, o, -1)
	require.LessOrEqual(t, len(empty.Insns), PrologueEpilogueMax)

	r := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 4000)
	for j := range data {
		data[j] = byte(r.Uint32())
	}
	small := len(FromBytes(data[:40], o).Insns)
	large := len(FromBytes(data, o).Insns)
	require.Less(t, small, large, "4000 bytes should give a longer program than 40")
	require.LessOrEqual(t, small, 40+PrologueEpilogueMax)
}

// Division by zero, INT_MIN / -1 and over-wide shifts must actually happen
// at run time, not just appear in the code: check the values the
// interpreter computes by running each program's prefix up to such an
// instruction is too heavy, so check the set-ups the generator emits right
// before them, which define the operand values.
func TestHazardsAreGenerated(t *testing.T) {
	progs, _ := corpus()
	seen := map[string]int{}
	for _, p := range progs {
		for i, in := range p.Insns {
			if in.Class() != bpf.ClassALU && in.Class() != bpf.ClassALU64 {
				continue
			}
			is32 := in.Class() == bpf.ClassALU
			width := int64(64)
			if is32 {
				width = 32
			}
			isDiv := in.Code() == bpf.AluDIV || in.Code() == bpf.AluMOD
			isShift := in.Code() == bpf.AluLSH || in.Code() == bpf.AluRSH || in.Code() == bpf.AluARSH
			name := fmt.Sprintf("alu%d", width)
			if in.Source() == bpf.SrcK {
				switch {
				case isDiv && in.Imm == 0:
					seen[name+" div/mod by imm 0"]++
				case isDiv && in.Off == 1 && in.Imm == -1 && i > 0 && loadsConst(p.Insns[i-1], in.Dst, intMin(int32(width))):
					seen[name+" INT_MIN sdiv/smod imm -1"]++
				case isShift && (int64(in.Imm) >= width || in.Imm < 0):
					seen[name+" shift by imm >= width"]++
				}
				continue
			}
			if i == 0 {
				continue
			}
			prev := p.Insns[i-1]
			switch {
			case isDiv && (loadsConst(prev, in.Src, 0) || is32 && loadsConst(prev, in.Src, 0x100000000)):
				seen[name+" div/mod by register 0"]++
			case isDiv && in.Off == 1 && loadsConst(prev, in.Src, 0xffffffffffffffff) && i > 1 &&
				loadsConst(p.Insns[i-2], in.Dst, intMin(int32(width))):
				seen[name+" INT_MIN sdiv/smod register -1"]++
			case isShift:
				for _, amount := range []uint64{uint64(width), uint64(width) + 1, 255, 0xffffffffffffffff} {
					if loadsConst(prev, in.Src, amount) {
						seen[name+" shift by register >= width"]++
					}
				}
			}
		}
	}
	for _, w := range []string{"alu32", "alu64"} {
		for _, h := range []string{
			" div/mod by imm 0", " INT_MIN sdiv/smod imm -1", " shift by imm >= width",
			" div/mod by register 0", " INT_MIN sdiv/smod register -1", " shift by register >= width",
		} {
			require.Positive(t, seen[w+h], "no %q in %d programs", w+h, corpusSize)
		}
	}
}

// loadsConst reports that in sets register r to the 64-bit value v.
func loadsConst(in bpf.Insn, r uint8, v uint64) bool {
	if in.Dst != r {
		return false
	}
	switch in.Op {
	case bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK:
		return in.Off == 0 && uint64(int64(in.Imm)) == v
	case bpf.ClassALU | bpf.AluMOV | bpf.SrcK:
		return uint64(uint32(in.Imm)) == v
	case bpf.OpLdImm64:
		return in.Imm64 == v
	}
	return false
}

// FuzzFromBytes checks the generator's contract on fuzzer-chosen inputs.
func FuzzFromBytes(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("progen"))
	f.Add(make([]byte, 64))
	r := rand.New(rand.NewPCG(7, 8))
	for range 8 {
		data := make([]byte, 300)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := optionSets[0]
		if len(data) > 0 {
			o = optionSets[int(data[0])%len(optionSets)]
		}
		checkProgram(t, FromBytes(data, o), o, len(data))
	})
}
