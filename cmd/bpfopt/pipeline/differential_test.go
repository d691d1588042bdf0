package pipeline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// The randomized differential test: programs from fuzz/progen run in the
// reference interpreter (the oracle), in the IR interpreter before and
// after the middle end, and as compiled MIPS code under qemu and on the
// simulator (the cross-validation of the two engines); r0 and the final
// memory must agree everywhere.
//
// BPFOPT_DIFF_N sets the number of programs (default 300 per
// configuration, which keeps CI quick; set thousands for a campaign), and
// BPFOPT_DIFF_INSNS the maximum body length (default 96).

const (
	diffMemSize = 64
	irMemBase   = 0x1000_0000
	irStackBase = 0x2000_0000
)

func diffCount() int {
	if n, err := strconv.Atoi(os.Getenv("BPFOPT_DIFF_N")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 50
	}
	return 300
}

type execution struct {
	r0  uint64
	mem []byte
}

// runIR runs an IR function with the memory at irMemBase and the BPF stack
// (plus scratch slots) in a separate region.
func runIR(f *ir.Func, mem []byte, bigEndian bool) (execution, error) {
	m := bytes.Clone(mem)
	stack := make([]byte, bpf.StackSize+8*f.NumLocals)
	rm := &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: irMemBase, Data: m, Name: "mem"},
		{Base: irStackBase, Data: stack, Name: "stack"},
	}}
	r0, err := ir.Interpret(f, ir.InterpConfig{
		Args:      []uint32{irMemBase, uint32(len(m))},
		Mem:       rm,
		FramePtr:  irStackBase + bpf.StackSize,
		LocalBase: irStackBase + bpf.StackSize,
	})
	return execution{r0, m}, err
}

func TestDifferentialRandomPrograms(t *testing.T) {
	configs := []struct {
		target mips32.Target
		level  int
	}{
		{mips32.Target{Rev: mips32.R2}, 2},
		{mips32.Target{Rev: mips32.R2}, 0},
		{mips32.Target{Rev: mips32.R1}, 2},
	}
	opts := progen.Options{MemSize: diffMemSize, MaxInsns: 96, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true}
	if k, err := strconv.Atoi(os.Getenv("BPFOPT_DIFF_INSNS")); err == nil && k > 0 {
		opts.MaxInsns = k
	}
	n := diffCount()
	for ci, cfg := range configs {
		t.Run(fmt.Sprintf("O%d/%s", cfg.level, cfg.target), func(t *testing.T) {
			e := engine(t, cfg.target)
			var failures atomic.Int32
			var wg sync.WaitGroup
			sem := make(chan struct{}, 4)
			for i := 0; i < n; i++ {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					seed := uint64(ci)<<32 | uint64(i)
					if msg := diffOne(seed, opts, cfg.target, cfg.level, e); msg != "" && failures.Add(1) <= 3 {
						t.Error(msg)
					}
				}()
			}
			wg.Wait()
			require.Zero(t, failures.Load(), "%d of %d programs disagreed", failures.Load(), n)
			t.Logf("%d programs agreed across reference interpreter, IR interpreter (lifted and optimized) and qemu", n)
		})
	}
}

// diffOne checks one generated program; it returns a readable report of
// the first disagreement, or "".
func diffOne(seed uint64, opts progen.Options, target mips32.Target, level int, e *qemu.Engine) string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := progen.Generate(r, opts)
	mem := make([]byte, diffMemSize)
	for i := range mem {
		mem[i] = byte(r.Uint32())
	}
	report := func(format string, args ...any) string {
		return fmt.Sprintf("seed %#x, %s, -O%d: %s\nmemory: %x\nprogram:\n%s",
			seed, target, level, fmt.Sprintf(format, args...), mem, bpf.Disassemble(p))
	}
	refMem := bytes.Clone(mem)
	r0, err := bpf.Interpret(p, bpf.RunConfig{Mem: refMem, MaxSteps: progen.StepBound(opts)})
	if err != nil {
		return report("reference interpreter: %v", err)
	}
	want := execution{r0, refMem}
	check := func(stage string, got execution) string {
		if got.r0 != want.r0 {
			return report("%s: r0 = %#x, reference %#x", stage, got.r0, want.r0)
		}
		if !bytes.Equal(got.mem, want.mem) {
			return report("%s: memory\n  got  %x\n  want %x", stage, got.mem, want.mem)
		}
		return ""
	}
	funcs, err := bpf.Lift(p, "diff", bpf.LiftOptions{BigEndian: target.BigEndian})
	if err != nil {
		return report("lift: %v", err)
	}
	f := funcs[0] // generated programs have no subprograms
	got, err := runIR(f, mem, target.BigEndian)
	if err != nil {
		return report("IR interpreter after lift: %v\n%s", err, f)
	}
	if msg := check("IR after lift", got); msg != "" {
		return msg + "\n" + f.String()
	}
	if _, err := passes.Run(f, level, &passes.Config{BigEndian: target.BigEndian, VerifyEach: true}); err != nil {
		return report("passes: %v", err)
	}
	got, err = runIR(f, mem, target.BigEndian)
	if err != nil {
		return report("IR interpreter after passes: %v\n%s", err, f)
	}
	if msg := check("IR after passes", got); msg != "" {
		return msg + "\n" + f.String()
	}
	fn, err := mips32.Compile(f, mips32.Options{Target: target, CheckAllocation: true})
	if err != nil {
		return report("backend: %v", err)
	}
	res, err := e.Run(fn.Code, fn.Relocs, 0, mem)
	if err != nil {
		return report("qemu engine: %v", err)
	}
	if res.Fault != nil {
		return report("compiled code faulted: %v", res.Fault)
	}
	asm := func() string {
		var b bytes.Buffer
		_ = mips32.FormatAsm(&b, "diff", fn.Assembled, target)
		return b.String()
	}
	if msg := check("MIPS code on qemu", execution{res.R0, res.Mem}); msg != "" {
		return msg + "\n" + asm()
	}
	// The simulator must agree with qemu on the same machine code.
	s, err := NewEngine("sim", target)
	if err != nil {
		return report("sim engine: %v", err)
	}
	sr, err := s.Run(fn, 0, mem)
	if err != nil {
		return report("sim engine: %v", err)
	}
	if sr.Fault != nil {
		return report("compiled code faulted on the simulator: %v\n%s", sr.Fault, asm())
	}
	if msg := check("MIPS code on the simulator", execution{sr.R0, sr.Mem}); msg != "" {
		return msg + "\n" + asm()
	}
	return ""
}
