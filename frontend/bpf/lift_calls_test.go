package bpf

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// A generator of programs with bpf-to-bpf calls (fuzz/progen makes none),
// for checking subprogram signatures (lift_args.go) by execution: each
// subprogram reads a random set of r1..r5 as inputs — values, or pointers
// into the ctx or a caller's stack — through branches, loops, stores,
// atomics, helper calls and calls of later subprograms. Generated programs
// follow the kernel verifier's rule that matters here: no register is read
// before it is written (r6..r9 in a subprogram, r1..r5 after a call), since
// the reference interpreter and the lifter give those different values.

// regKind is what the generator knows of a register.
type regKind uint8

const (
	undef regKind = iota // not written on some path: never read
	value                // any value
	ptr                  // a pointer p with [p, p+ptrWindow) readable and writable
)

// ptrWindow is the size of the memory every ptr register may access.
const ptrWindow = 16

// genMemSize is the ctx memory's size; the entry's ctx pointers are ctx +
// 0..genMemSize-ptrWindow.
const genMemSize = 64

// genStackUse is how much of its stack a function uses: [r10-64, r10).
const genStackUse = 64

// The registers with a fixed job: the loop counter in every function, the
// ctx copy in the entry.
const (
	loopReg = R9
	ctxReg  = R6
)

type regState [R10]regKind

func (s *regState) meet(o regState) {
	for r := range s {
		if s[r] != o[r] {
			s[r] = min(s[r], o[r], value)
		}
	}
}

type callGen struct {
	r      *rand.Rand
	out    strings.Builder
	labels int
	inputs [][R10]regKind // by function: the kind of r1..r5 it reads at entry, undef if not
	fn     int            // the function being generated
	s      regState
	inLoop bool
}

// genCallProgram returns the assembly of a random program with 1 to 4
// subprograms.
func genCallProgram(r *rand.Rand) string {
	g := &callGen{r: r, inputs: make([][R10]regKind, 2+r.IntN(4))}
	for f := 1; f < len(g.inputs); f++ {
		regs := r.Perm(5)[:r.IntN(6)]
		for _, k := range regs {
			g.inputs[f][R1+k] = []regKind{value, ptr}[r.IntN(2)]
		}
	}
	for f := range g.inputs {
		g.fn = f
		g.s = regState{}
		if f == 0 {
			for reg := range g.s {
				g.s[reg] = value
			}
			g.s[R1] = ptr
			g.emit("mov %%r%d, %%r1", ctxReg)
			g.s[ctxReg] = ptr
		} else {
			g.emit("f%d:", f)
			copy(g.s[:], g.inputs[f][:])
		}
		// The stack the code uses starts as zeros: compiled code's stack
		// is not, and the kernel rejects reads of unwritten stack.
		for off := 8; off <= genStackUse; off += 8 {
			g.emit("stdw [%%r10-%d], 0", off)
		}
		g.block(4 + r.IntN(16))
		g.ensure(R0, value)
		g.emit("exit")
	}
	return g.out.String()
}

func (g *callGen) emit(format string, args ...any) {
	fmt.Fprintf(&g.out, format+"\n", args...)
}

// pick returns a random register among r0..r9 of at least kind k, or -1.
func (g *callGen) pick(k regKind) int {
	var regs []int
	for reg, kind := range g.s {
		if kind >= k {
			regs = append(regs, reg)
		}
	}
	if len(regs) == 0 {
		return -1
	}
	return regs[g.r.IntN(len(regs))]
}

// dst returns a register the generated code may write.
func (g *callGen) dst() int {
	for {
		reg := g.r.IntN(R10)
		if reg != loopReg && (g.fn != 0 || reg != ctxReg) {
			return reg
		}
	}
}

// ensure makes reg hold kind k (value or ptr) if it does not already.
func (g *callGen) ensure(reg int, k regKind) {
	if g.s[reg] == k || (k == value && g.s[reg] == ptr) {
		return
	}
	if k == ptr {
		if g.fn == 0 && g.r.IntN(2) == 0 {
			g.emit("mov %%r%d, %%r%d", reg, ctxReg)
			g.emit("add %%r%d, %d", reg, g.r.IntN(genMemSize-ptrWindow+1))
		} else {
			g.emit("mov %%r%d, %%r10", reg)
			g.emit("add %%r%d, -%d", reg, ptrWindow*(1+g.r.IntN(3))+g.r.IntN(4)*2)
		}
	} else {
		g.emit("mov %%r%d, %d", reg, int32(g.r.Uint32()))
	}
	g.s[reg] = k
}

// operand returns a defined register or an immediate, as text.
func (g *callGen) operand() string {
	if reg := g.pick(value); reg >= 0 && g.r.IntN(3) > 0 {
		return fmt.Sprintf("%%r%d", reg)
	}
	return fmt.Sprint(int32(g.r.Uint32()) >> g.r.IntN(32))
}

// memRef returns a memory operand of size bytes: through r10 or a ptr.
func (g *callGen) memRef(size int) string {
	if reg := g.pick(ptr); reg >= 0 && g.r.IntN(2) == 0 {
		return fmt.Sprintf("[%%r%d+%d]", reg, g.r.IntN(ptrWindow-size+1))
	}
	return fmt.Sprintf("[%%r10-%d]", size+g.r.IntN(genStackUse-size+1))
}

var genSizes = []struct {
	suffix string
	bytes  int
}{{"b", 1}, {"h", 2}, {"w", 4}, {"dw", 8}}

// block generates n items.
func (g *callGen) block(n int) {
	for range n {
		g.item()
	}
}

func (g *callGen) item() {
	r := g.r
	switch k := r.IntN(20); {
	case k < 6: // ALU
		d := g.dst()
		ops := []string{"add", "sub", "mul", "or", "and", "xor", "lsh", "rsh", "arsh", "div", "mod"}
		op := ops[r.IntN(len(ops))]
		if r.IntN(2) == 0 {
			op += "32"
		}
		g.ensure(d, value)
		src := g.operand()
		if strings.HasPrefix(op, "lsh") || strings.HasPrefix(op, "rsh") || strings.HasPrefix(op, "arsh") {
			src = fmt.Sprint(r.IntN(32))
		}
		g.emit("%s %%r%d, %s", op, d, src)
		g.s[d] = value
	case k < 8: // mov
		d := g.dst()
		if src := g.pick(value); src >= 0 && r.IntN(2) == 0 {
			g.emit("mov %%r%d, %%r%d", d, src)
			g.s[d] = g.s[src]
		} else {
			g.ensure(d, []regKind{value, ptr}[r.IntN(2)])
		}
	case k < 10: // load
		d, sz := g.dst(), genSizes[r.IntN(4)]
		sx := ""
		if sz.bytes < 8 && r.IntN(3) == 0 {
			sx = "s"
		}
		g.emit("ldx%s%s %%r%d, %s", sx, sz.suffix, d, g.memRef(sz.bytes))
		g.s[d] = value
	case k < 12: // store
		sz := genSizes[r.IntN(4)]
		if src := g.pick(value); src >= 0 && r.IntN(2) == 0 {
			g.emit("stx%s %s, %%r%d", sz.suffix, g.memRef(sz.bytes), src)
		} else {
			g.emit("st%s %s, %d", sz.suffix, g.memRef(sz.bytes), int32(r.Uint32()))
		}
	case k < 13: // atomic on an aligned stack slot
		src := g.dst()
		g.ensure(src, value)
		g.emit("lock fetch add [%%r10-%d], %%r%d", 8*(1+r.IntN(8)), src)
		g.s[src] = value // the old contents
	case k < 15: // forward branch over a nested block
		a := g.pick(value)
		if a < 0 {
			return
		}
		g.labels++
		label := fmt.Sprintf("L%d", g.labels)
		conds := []string{"jeq", "jne", "jgt", "jsle", "jset", "jlt32"}
		g.emit("%s %%r%d, %s, %s", conds[r.IntN(len(conds))], a, g.operand(), label)
		before := g.s
		g.block(1 + r.IntN(4))
		g.s.meet(before)
		g.emit("%s:", label)
	case k < 16: // a counted loop; the state at its head must hold on every iteration
		if g.inLoop {
			return
		}
		g.labels++
		label := fmt.Sprintf("L%d", g.labels)
		g.emit("mov %%r%d, %d", loopReg, 1+r.IntN(3))
		g.s[loopReg] = value
		head := g.s
		g.emit("%s:", label)
		g.inLoop = true
		g.block(1 + r.IntN(4))
		g.inLoop = false
		for reg, k := range head { // restore what the head relied on
			if k != undef && g.s[reg] < k {
				g.ensure(reg, k)
			}
		}
		g.emit("sub %%r%d, 1", loopReg)
		g.emit("jne %%r%d, 0, %s", loopReg, label)
		g.s.meet(head)
	case k < 17: // a helper (no_op, 0)
		g.emit("call 2")
		g.afterCall()
	default: // a later subprogram
		if g.fn+1 >= len(g.inputs) {
			return
		}
		callee := g.fn + 1 + r.IntN(len(g.inputs)-g.fn-1)
		for reg := R1; reg <= R5; reg++ {
			if k := g.inputs[callee][reg]; k != undef {
				g.ensure(reg, k)
			}
		}
		g.emit("call local f%d", callee)
		g.afterCall()
	}
}

func (g *callGen) afterCall() {
	g.s[R0] = value
	for reg := R1; reg <= R5; reg++ {
		g.s[reg] = undef
	}
}

// Generated programs with calls give the same r0 and memory in the
// reference interpreter and, lifted, in the IR interpreter, which also
// checks every align= a subprogram's Arg claims against the words passed.
func TestLiftedCallsAgreeOnGeneratedPrograms(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 100
	}
	argCounts := map[int]int{} // calls of subprograms by argument count
	aligned := 0               // subprogram Args with an align=
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		src := genCallProgram(r)
		p, err := ParseAsm(src)
		require.NoError(t, err, src)
		mem := make([]byte, genMemSize)
		for i := range mem {
			mem[i] = byte(r.Uint32())
		}
		refMem := bytes.Clone(mem)
		want, err := Interpret(p, RunConfig{Mem: refMem, Helpers: ConformanceHelpers()})
		require.NoError(t, err, "seed %d:\n%s", seed, src)
		funcs, err := Lift(p, "prog", LiftOptions{HelperSymbol: func(id int32) string { return fmt.Sprintf("h%d", id) }})
		require.NoError(t, err, "seed %d:\n%s", seed, src)
		for _, f := range funcs {
			require.NoError(t, ir.Verify(f, ir.VerifyOptions{}), "seed %d", seed)
			for _, b := range f.Blocks {
				for _, v := range b.Values {
					if v.Op == ir.OpCall && strings.HasPrefix(v.Sym, "prog__") {
						argCounts[len(v.Args)]++
					}
					if v.Op == ir.OpArg && v.Align > 1 && f != funcs[0] {
						aligned++
					}
				}
			}
		}
		got, err := interpretModuleMem(funcs, mem)
		require.NoError(t, err, "seed %d:\n%s", seed, src)
		require.Equal(t, want, got, "seed %d: r0\n%s", seed, src)
		require.Equal(t, refMem, mem, "seed %d: memory\n%s", seed, src)
	}
	// The generator must keep exercising what it is for.
	for k := 0; k <= 5; k++ {
		require.Positive(t, argCounts[k], "no generated call passes %d arguments: %v", k, argCounts)
	}
	require.Positive(t, aligned, "no subprogram argument was proven aligned")
	t.Logf("%d programs; subprogram calls by argument count %v; %d aligned Args", n, argCounts, aligned)
}
