package sim

import (
	"bytes"
	"cmp"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
)

// The static harness links a snippet into a freestanding Linux program
// (GNU as and ld only, no compiler or libc, so it builds for both byte
// orders with the mipsel binutils) that calls f(buf, len), writes v0, v1
// and the buffer to stdout and exits. Run under qemu-mips or qemu-mipsel it
// cross-checks the simulator in big-endian, which the qemu engine cannot
// (its runner needs a big-endian C cross compiler), and run with
// -singlestep -d exec,nochain and an address filter on f, it counts the
// instructions qemu executes in f: one trace line per instruction.
//
// The snippet is linked first in .text at CodeBase, as in the simulator,
// so that j/jal targets and link addresses agree.

// windowSize is the size of the harness's copy of the simulator's memory
// block region, which ends at MemEnd.
const windowSize = 0x1000

// harnessCase is one snippet of the batch.
type harnessCase struct {
	name, src string
	mem       []byte
}

// harnessCases are every register, branch and memory snippet; the one that
// computes j/jal targets from f's address comes first, at CodeBase.
func harnessCases(target mips32.Target) []harnessCase {
	var cases []harnessCase
	for _, c := range append(append([]regCase(nil), branchCases...), aluCases...) {
		cases = append(cases, harnessCase{c.name, c.src(), nil})
	}
	for _, c := range memCases() {
		if c.qemuDiffers == "" {
			cases = append(cases, harnessCase{c.name, bigDefine(target) + c.src(), c.mem})
		}
	}
	slices.SortStableFunc(cases, func(a, b harnessCase) int {
		return cmp.Compare(b2i(strings.Contains(a.src, "- f)")), b2i(strings.Contains(b.src, "- f)"))) * -1
	})
	return cases
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// harness is the linked program: case i is the function c<i> (its f
// renamed), called with the buffer b<i>; v0 and v1 go to the result area.
type harness struct {
	target   mips32.Target
	text     []byte // the linked .text, at CodeBase
	syms     map[string]uint32
	data     []byte // what the program writes: results, then the buffers
	trace    string // qemu's single-step trace of the cases
	bufStart []int  // offset of each case's buffer in data
}

func buildHarness(t *testing.T, target mips32.Target, cases []harnessCase) *harness {
	t.Helper()
	var b strings.Builder
	b.WriteString("\t.text\n\t.set noreorder\n")
	for i, c := range cases {
		name := fmt.Sprintf("c%d", i)
		src := strings.Replace(c.src, "f:", name+":", 1)
		src = strings.ReplaceAll(src, "- f)", "- "+name+")")
		fmt.Fprintf(&b, "\t.globl %s\n%s\n\t.globl %s_end\n%s_end:\n", name, src, name, name)
	}
	// __start calls each case with its buffer, stores v0 and v1, writes
	// the data section to stdout and exits. The buffer is copied to where
	// the simulator puts the memory block (MemEnd - roundup(len, 8)), and
	// back after the call, so that addresses agree too.
	b.WriteString("\t.globl cases_end\ncases_end:\n")
	b.WriteString("copy:\tbeqz $a2, 1f\n\tnop\n\tlbu $t3, 0($a1)\n\tsb $t3, 0($a0)\n\taddiu $a0, $a0, 1\n\taddiu $a1, $a1, 1\n\tb copy\n\taddiu $a2, $a2, -1\n1:\tjr $ra\n\tnop\n")
	b.WriteString("\t.globl __start\n__start:\n")
	for i, c := range cases {
		window := MemEnd - uint32((len(c.mem)+7)&^7)
		fmt.Fprintf(&b, "\tli $a0, %#x\n\tlui $a1, %%hi(b%d)\n\taddiu $a1, $a1, %%lo(b%d)\n\tbal copy\n\tli $a2, %d\n", window, i, i, len(c.mem))
		fmt.Fprintf(&b, "\tli $a0, %#x\n\tli $a1, %d\n", window, len(c.mem))
		fmt.Fprintf(&b, "\tlui $t9, %%hi(c%[1]d)\n\taddiu $t9, $t9, %%lo(c%[1]d)\n\tjalr $t9\n\tnop\n", i)
		fmt.Fprintf(&b, "\tlui $t0, %%hi(r%[1]d)\n\tsw $v0, %%lo(r%[1]d)($t0)\n\taddiu $t0, $t0, %%lo(r%[1]d)\n\tsw $v1, 4($t0)\n", i)
		fmt.Fprintf(&b, "\tlui $a0, %%hi(b%d)\n\taddiu $a0, $a0, %%lo(b%d)\n\tli $a1, %#x\n\tbal copy\n\tli $a2, %d\n", i, i, window, len(c.mem))
	}
	b.WriteString("\tli $a0, 1\n\tlui $a1, %hi(data_start)\n\taddiu $a1, $a1, %lo(data_start)\n")
	b.WriteString("\tlui $a2, %hi(data_end)\n\taddiu $a2, $a2, %lo(data_end)\n\tsubu $a2, $a2, $a1\n")
	b.WriteString("\tli $v0, 4004\n\tsyscall\n\tli $a0, 0\n\tli $v0, 4001\n\tsyscall\n")
	b.WriteString("\t.data\n\t.balign 8\ndata_start:\n")
	h := &harness{target: target}
	for i := range cases {
		fmt.Fprintf(&b, "r%d:\t.space 8\n", i)
	}
	off := 8 * len(cases)
	for i, c := range cases {
		fmt.Fprintf(&b, "\t.balign 8\nb%d:\n", i)
		off = (off + 7) &^ 7
		h.bufStart = append(h.bufStart, off)
		for _, x := range c.mem {
			fmt.Fprintf(&b, "\t.byte %d\n", x)
		}
		off += len(c.mem)
	}
	b.WriteString("data_end:\n")
	fmt.Fprintf(&b, "\t.section .window, \"aw\"\n\t.space %d\n", windowSize)

	dir := t.TempDir()
	asm, obj, exe := filepath.Join(dir, "h.s"), filepath.Join(dir, "h.o"), filepath.Join(dir, "h")
	require.NoError(t, os.WriteFile(asm, []byte(b.String()), 0o644))
	flag := mipstest.EndianFlag(target)
	out, err := exec.Command(mipstest.GNUTool(t, "as"), flag, "-march="+target.March(), "-mabi=32", "-mno-fix-loongson3-llsc", "-o", obj, asm).CombinedOutput()
	require.NoError(t, err, "as: %s", out)
	out, err = exec.Command(mipstest.GNUTool(t, "ld"), flag, "-static", "-nostdlib", "-e", "__start",
		fmt.Sprintf("-Ttext=%#x", CodeBase), fmt.Sprintf("--section-start=.window=%#x", MemEnd-windowSize), "-o", exe, obj).CombinedOutput()
	require.NoError(t, err, "ld: %s", out)

	f, err := elf.Open(exe)
	require.NoError(t, err)
	defer f.Close()
	h.text, err = f.Section(".text").Data()
	require.NoError(t, err)
	require.Equal(t, uint64(CodeBase), f.Section(".text").Addr)
	syms, err := f.Symbols()
	require.NoError(t, err)
	h.syms = map[string]uint32{}
	for _, s := range syms {
		h.syms[s.Name] = uint32(s.Value)
	}

	// One run, single-stepped, tracing the cases' code only.
	qemuName := "qemu-mipsel"
	if target.BigEndian {
		qemuName = "qemu-mips"
	}
	mipstest.RequireTool(t, qemuName, "qemu-user")
	log := filepath.Join(dir, "trace.log")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(qemuName, "-cpu", "24Kf", "-singlestep", "-d", "exec,nochain",
		"-dfilter", fmt.Sprintf("%#x..%#x", CodeBase, h.syms["cases_end"]-1), "-D", log, exe)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s: %s", qemuName, stderr.String())
	h.data = stdout.Bytes()
	require.Len(t, h.data, off)
	trace, err := os.ReadFile(log)
	require.NoError(t, err)
	h.trace = string(trace)
	return h
}

// counts returns the number of trace lines (executed translation blocks,
// one instruction each under -singlestep) per case.
func (h *harness) counts(t *testing.T, n int) []int64 {
	t.Helper()
	// The cases lie in order in .text: find a pc's case by binary search.
	starts := make([]uint32, n)
	for c := range n {
		starts[c] = h.syms[fmt.Sprintf("c%d", c)]
	}
	require.True(t, slices.IsSorted(starts))
	counts := make([]int64, n)
	for _, line := range strings.Split(h.trace, "\n") {
		// Trace 0: 0x7f3c880007c0 [00000000/2000013c/000000a2/00000201]
		i := strings.Index(line, "[")
		if !strings.HasPrefix(line, "Trace ") || i < 0 {
			continue
		}
		fields := strings.Split(line[i+1:], "/")
		require.GreaterOrEqual(t, len(fields), 2, line)
		pc64, err := strconv.ParseUint(fields[1], 16, 32)
		require.NoError(t, err, line)
		pc := uint32(pc64)
		c, found := slices.BinarySearch(starts, pc)
		if !found {
			c--
		}
		if c >= 0 && pc < h.syms[fmt.Sprintf("c%d_end", c)] {
			counts[c]++
		}
	}
	return counts
}

// TestStaticHarness cross-checks every snippet in both byte orders with
// qemu-user running a static program, and compares the number of executed
// instructions with qemu's single-step trace. qemu's trace also lists
// the delay slots a branch-likely annuls (qemu translates them and skips
// their effect at run time), which the simulator does not count as
// instructions (Stats.Annulled counts them).
func TestStaticHarness(t *testing.T) {
	for _, target := range []mips32.Target{r2eb, r2el} {
		t.Run(target.String(), func(t *testing.T) {
			cases := harnessCases(target)
			h := buildHarness(t, target, cases)
			counts := h.counts(t, len(cases))
			m := newMachine(t, Options{Target: target})
			for i, c := range cases {
				res, err := m.Run(h.caseCode(i), nil, 0, c.mem)
				require.NoError(t, err)
				compareHarness(t, h, i, c, res, counts[i])
			}
		})
	}
}

// caseCode is case i's linked code.
func (h *harness) caseCode(i int) []byte {
	start, end := h.syms[fmt.Sprintf("c%d", i)], h.syms[fmt.Sprintf("c%d_end", i)]
	return h.text[start-CodeBase : end-CodeBase]
}

// compareHarness compares the simulator's run of case i with the
// harness's; count is qemu's trace count for the case.
func compareHarness(t *testing.T, h *harness, i int, c harnessCase, res *Result, count int64) bool {
	t.Helper()
	if !assert.Nil(t, res.Fault, c.name) {
		return false
	}
	order := h.target.ByteOrder()
	v0, v1 := order.Uint32(h.data[8*i:]), order.Uint32(h.data[8*i+4:])
	ok := assert.Equal(t, r0Of(h.target, v0, v1), res.R0, "%s: r0", c.name)
	if len(c.mem) > 0 {
		ok = assert.Equal(t, h.data[h.bufStart[i]:h.bufStart[i]+len(c.mem)], res.Mem, "%s: memory", c.name) && ok
	}
	return assert.Equal(t, count, res.Stats.Insns+res.Stats.Annulled, "%s: instructions executed (qemu's single-step trace)", c.name) && ok
}
