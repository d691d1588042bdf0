package sim

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// The differential test generates random programs — every integer
// instruction the simulator decodes, forward branches of every kind with
// random delay slots, loads and stores of every width and alignment on a
// 64-byte block, ll/sc pairs, divisions by zero — assembles them with GNU
// as and runs each on the simulator and under qemu; results, final memory
// (which ends with a dump of every register) and faults (overflowing add,
// sub and addi, traps; also in delay slots) must agree.
//
// What the architecture leaves UNPREDICTABLE, and the engines therefore
// may do differently, is kept out: HI/LO are read only while defined (mul
// leaves them UNPREDICTABLE, and the simulator poisons them), an sc always
// follows its ll in the same straight-line run (qemu-user keeps the link
// across runs). BPFOPT_SIM_DIFF_PROGRAMS sets the number of programs
// (default 1000), BPFOPT_SIM_DIFF_SEED the seed.

// diffRegs are the registers programs compute in: no a0 (the block), sp,
// ra, s0..s7, fp, gp (callee-saved), at, k0, k1.
var diffRegs = []string{"$v0", "$v1", "$a1", "$a2", "$a3", "$t0", "$t1", "$t2", "$t3", "$t4", "$t5", "$t6", "$t7", "$t8", "$t9"}

const (
	diffData = 64           // bytes the program loads and stores
	diffDump = 4 * (15 + 2) // the register dump after it: diffRegs, HI, LO
)

// progGen writes one random program.
type progGen struct {
	rnd     *rand.Rand
	b       strings.Builder
	r2      bool
	noTraps bool // no instruction that may raise an exception
	labels  int
	// HI/LO are defined (not UNPREDICTABLE) on the current path; at a
	// label, the state of every path that reaches it is and-ed.
	hiOK, loOK bool
	pending    map[int][2]bool
}

func (g *progGen) reg() string { return diffRegs[g.rnd.Intn(len(diffRegs))] }

func (g *progGen) emit(format string, args ...any) {
	fmt.Fprintf(&g.b, "\t"+format+"\n", args...)
}

// imm16 is a random immediate, biased toward the boundaries.
func (g *progGen) imm16(signed bool) int {
	edges := []int{0, 1, 0x7fff, 0x8000, 0xffff, 0x7ffe}
	if signed {
		edges = []int{0, 1, -1, 0x7fff, -0x8000}
	}
	if g.rnd.Intn(3) == 0 {
		return edges[g.rnd.Intn(len(edges))]
	}
	if signed {
		return g.rnd.Intn(0x10000) - 0x8000
	}
	return g.rnd.Intn(0x10000)
}

// value32 is a random 32-bit value, biased toward the boundaries.
func (g *progGen) value32() uint32 {
	edges := []uint32{0, 1, 2, 0xffffffff, 0x80000000, 0x7fffffff, 0xfffffffe, 0x8000, 0xffff, 0xff, 0x80}
	if g.rnd.Intn(3) == 0 {
		return edges[g.rnd.Intn(len(edges))]
	}
	return g.rnd.Uint32()
}

// alu emits one ALU instruction that neither reads nor writes HI/LO (so
// that it may fill a delay slot).
func (g *progGen) alu() {
	d, s, t := g.reg(), g.reg(), g.reg()
	r3 := []string{"addu", "subu", "and", "or", "xor", "nor", "slt", "sltu", "sllv", "srlv", "srav", "movn", "movz"}
	switch n := g.rnd.Intn(10); {
	case n < 4 && !g.noTraps && g.rnd.Intn(40) == 0: // may raise an exception
		switch g.rnd.Intn(4) {
		case 0:
			g.emit("%s %s, %s, %s", []string{"add", "sub"}[g.rnd.Intn(2)], d, s, t)
		case 1:
			g.emit("addi %s, %s, %d", d, s, g.imm16(true))
		case 2:
			g.emit("%s %s, %s", []string{"teq", "tne", "tge", "tgeu", "tlt", "tltu"}[g.rnd.Intn(6)], s, t)
		default:
			g.emit("%s %s, %d", []string{"teqi", "tnei", "tgei", "tgeiu", "tlti", "tltiu"}[g.rnd.Intn(6)], s, g.imm16(true))
		}
	case n < 4:
		g.emit("%s %s, %s, %s", r3[g.rnd.Intn(len(r3))], d, s, t)
	case n < 6:
		ops := []string{"addiu", "slti", "sltiu"}
		g.emit("%s %s, %s, %d", ops[g.rnd.Intn(len(ops))], d, s, g.imm16(true))
	case n == 6:
		ops := []string{"andi", "ori", "xori"}
		g.emit("%s %s, %s, %d", ops[g.rnd.Intn(len(ops))], d, s, g.imm16(false))
	case n == 7:
		ops := []string{"sll", "srl", "sra"}
		g.emit("%s %s, %s, %d", ops[g.rnd.Intn(len(ops))], d, s, g.rnd.Intn(32))
	case n == 8:
		if g.rnd.Intn(2) == 0 {
			g.emit("lui %s, %d", d, g.imm16(false))
		} else {
			g.emit("%s %s, %s", []string{"clz", "clo"}[g.rnd.Intn(2)], d, s)
		}
	default:
		if !g.r2 {
			g.emit("addu %s, %s, %s", d, s, t)
			return
		}
		switch g.rnd.Intn(6) {
		case 0:
			g.emit("rotr %s, %s, %d", d, s, g.rnd.Intn(32))
		case 1:
			g.emit("rotrv %s, %s, %s", d, s, t)
		case 2:
			g.emit("%s %s, %s", []string{"seb", "seh", "wsbh"}[g.rnd.Intn(3)], d, s)
		case 3:
			pos := g.rnd.Intn(32)
			g.emit("ext %s, %s, %d, %d", d, s, pos, 1+g.rnd.Intn(32-pos))
		default:
			pos := g.rnd.Intn(32)
			g.emit("ins %s, %s, %d, %d", d, s, pos, 1+g.rnd.Intn(32-pos))
		}
	}
}

// mdu emits a multiply/divide-unit instruction, keeping track of whether
// HI and LO are defined.
func (g *progGen) mdu() {
	d, s, t := g.reg(), g.reg(), g.reg()
	switch n := g.rnd.Intn(8); {
	case n < 2:
		g.emit("%s %s, %s", []string{"mult", "multu"}[n], s, t)
		g.hiOK, g.loOK = true, true
	case n < 4: // t may be zero: division by zero is deliberate
		g.emit("%s $zero, %s, %s", []string{"div", "divu"}[n-2], s, t)
		g.hiOK, g.loOK = true, true
	case n == 4:
		g.emit("mul %s, %s, %s", d, s, t)
		g.hiOK, g.loOK = false, false
	case n == 5:
		if g.hiOK && g.loOK {
			g.emit("%s %s, %s", []string{"madd", "maddu", "msub", "msubu"}[g.rnd.Intn(4)], s, t)
		} else {
			g.emit("mthi %s", s)
			g.emit("mtlo %s", t)
			g.hiOK, g.loOK = true, true
		}
	case n == 6:
		if g.rnd.Intn(2) == 0 {
			g.emit("mthi %s", s)
			g.hiOK = true
		} else {
			g.emit("mtlo %s", s)
			g.loOK = true
		}
	default:
		if g.hiOK {
			g.emit("mfhi %s", d)
		}
		if g.loOK {
			g.emit("mflo %s", d)
		}
	}
}

// memOp emits a load or store inside the data area.
func (g *progGen) memOp() {
	r := g.reg()
	switch n := g.rnd.Intn(7); n {
	case 0:
		g.emit("%s %s, %d($a0)", []string{"lw", "sw"}[g.rnd.Intn(2)], r, 4*g.rnd.Intn(diffData/4))
	case 1:
		g.emit("%s %s, %d($a0)", []string{"lh", "lhu", "sh"}[g.rnd.Intn(3)], r, 2*g.rnd.Intn(diffData/2))
	case 2:
		g.emit("%s %s, %d($a0)", []string{"lb", "lbu", "sb"}[g.rnd.Intn(3)], r, g.rnd.Intn(diffData))
	case 3, 4:
		g.emit("%s %s, %d($a0)", []string{"lwl", "lwr", "swl", "swr"}[g.rnd.Intn(4)], r, g.rnd.Intn(diffData))
	case 5:
		// Through another base register: a1 = a0 + k, negative offsets.
		k := 8 * (1 + g.rnd.Intn(diffData/8-1))
		g.emit("addiu $a1, $a0, %d", k)
		g.emit("%s %s, %d($a1)", []string{"lw", "sw"}[g.rnd.Intn(2)], r, 4*g.rnd.Intn(diffData/4)-k)
	default:
		off := 4 * g.rnd.Intn(diffData/4)
		v := g.reg()
		g.emit("ll %s, %d($a0)", v, off)
		g.alu()
		if g.rnd.Intn(4) == 0 { // a store in between: the sc fails if it changed the word
			g.emit("sw %s, %d($a0)", g.reg(), off)
		}
		g.emit("sc %s, %d($a0)", g.reg(), off)
	}
}

// branch emits a forward branch over a few units, with a delay slot.
func (g *progGen) branch(units func(n int)) {
	g.labels++
	label := g.labels
	s, t := g.reg(), g.reg()
	for s == t { // qemu translates bne $r, $r as a nop without a delay slot
		t = g.reg()
	}
	likely := g.rnd.Intn(3) == 0
	var ops []string
	if likely {
		ops = []string{"beql %s, %s", "bnel %s, %s", "blezl %s", "bgtzl %s", "bltzl %s", "bgezl %s"}
	} else {
		ops = []string{"beq %s, %s", "bne %s, %s", "blez %s", "bgtz %s", "bltz %s", "bgez %s"}
	}
	op := ops[g.rnd.Intn(len(ops))]
	if strings.Count(op, "%s") == 2 {
		op = fmt.Sprintf(op, s, t)
	} else {
		op = fmt.Sprintf(op, s)
	}
	g.emit("%s, L%d", op, label)
	g.alu() // the delay slot: leaves HI/LO alone, so the state needs no care
	entry := [2]bool{g.hiOK, g.loOK}
	units(1 + g.rnd.Intn(4))
	fmt.Fprintf(&g.b, "L%d:\n", label)
	g.hiOK = g.hiOK && entry[0]
	g.loOK = g.loOK && entry[1]
}

// program writes function name: initialize, run n random units, dump the
// registers (and HI/LO when defined) after the data area, return.
func (g *progGen) program(name string, n int) {
	fmt.Fprintf(&g.b, "%s:\n", name)
	for _, r := range diffRegs {
		g.emit("li %s, %#x", r, g.value32())
	}
	g.emit("mthi $zero")
	g.emit("mtlo $zero")
	g.hiOK, g.loOK = true, true
	var units func(n int)
	units = func(n int) {
		for range n {
			switch k := g.rnd.Intn(10); {
			case k < 4:
				g.alu()
			case k < 6:
				g.mdu()
			case k < 9:
				g.memOp()
			default:
				g.branch(units)
			}
		}
	}
	units(n)
	for i, r := range diffRegs {
		g.emit("sw %s, %d($a0)", r, diffData+4*i)
	}
	if g.hiOK {
		g.emit("mfhi $t0")
		g.emit("sw $t0, %d($a0)", diffData+4*len(diffRegs))
	}
	if g.loOK {
		g.emit("mflo $t0")
		g.emit("sw $t0, %d($a0)", diffData+4*len(diffRegs)+4)
	}
	g.emit("jr $ra")
	g.emit("nop")
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 0, 64); err == nil {
		return v
	}
	return def
}

func TestCrossCheckRandomPrograms(t *testing.T) {
	require.Len(t, diffRegs, diffDump/4-2)
	n := int(envInt("BPFOPT_SIM_DIFF_PROGRAMS", 1000))
	seed := envInt("BPFOPT_SIM_DIFF_SEED", 1)
	for _, target := range crossTargets {
		t.Run(target.String(), func(t *testing.T) {
			e := requireQemu(t, target)
			m := newMachine(t, Options{Target: target})
			g := &progGen{rnd: rand.New(rand.NewSource(seed)), r2: target.HasR2()}
			// One assembler run for a batch of programs: each is a function
			// of its own, entered at its label.
			const batch = 50
			for first := 0; first < n; first += batch {
				g.b.Reset()
				count := min(batch, n-first)
				for i := range count {
					g.program(fmt.Sprintf("p%d", first+i), 20+g.rnd.Intn(40))
				}
				src := g.b.String()
				obj := assemble(t, target, src)
				for i := range count {
					name := fmt.Sprintf("p%d", first+i)
					mem := make([]byte, diffData+diffDump)
					for j := range diffData {
						mem[j] = byte(g.rnd.Intn(256))
					}
					entry := obj.Labels[name]
					want, err := e.Run(obj.Code, obj.Relocs, entry, mem)
					if err != nil {
						t.Fatalf("qemu: %v", err)
					}
					got, err := m.Run(obj.Code, obj.Relocs, entry, mem)
					if err != nil {
						t.Fatalf("sim: %v", err)
					}
					if !compareQuiet(got, want) {
						t.Errorf("program %s (seed %d) differs; source:\n%s", name, seed, functionSource(src, name))
						compareWithQemu(t, name, got, want)
						return
					}
				}
			}
		})
	}
}

// functionSource extracts one program's text from a batch.
func functionSource(src, name string) string {
	i := strings.Index(src, name+":\n")
	if i < 0 {
		return src
	}
	rest := src[i:]
	if j := strings.Index(rest[1:], "\np"); j >= 0 {
		return rest[:j+2]
	}
	return rest
}

// TestStaticHarnessRandomPrograms runs random programs (without exceptions)
// through the static harness of qemutrace_test.go: in both byte orders,
// comparing results, memory and instruction counts with qemu.
func TestStaticHarnessRandomPrograms(t *testing.T) {
	n := int(envInt("BPFOPT_SIM_DIFF_PROGRAMS", 1000)) / 4
	seed := envInt("BPFOPT_SIM_DIFF_SEED", 1)
	for _, target := range []mips32.Target{r2eb, r2el} {
		t.Run(target.String(), func(t *testing.T) {
			g := &progGen{rnd: rand.New(rand.NewSource(seed)), r2: true, noTraps: true}
			cases := make([]harnessCase, n)
			for i := range cases {
				g.b.Reset()
				g.program("f", 20+g.rnd.Intn(40))
				mem := make([]byte, diffData+diffDump)
				for j := range diffData {
					mem[j] = byte(g.rnd.Intn(256))
				}
				cases[i] = harnessCase{fmt.Sprintf("random program %d (seed %d)", i, seed), g.b.String(), mem}
			}
			h := buildHarness(t, target, cases)
			counts := h.counts(t, len(cases))
			m := newMachine(t, Options{Target: target})
			for i, c := range cases {
				res, err := m.Run(h.caseCode(i), nil, 0, c.mem)
				require.NoError(t, err)
				if !compareHarness(t, h, i, c, res, counts[i]) {
					t.Logf("source:\n%s", c.src)
					return
				}
			}
		})
	}
}
