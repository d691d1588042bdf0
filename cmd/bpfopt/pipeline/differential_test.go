package pipeline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// The randomized differential test: programs from fuzz/progen run in the
// reference interpreter (the oracle), in the IR interpreter before and
// after the middle end, and as compiled MIPS code under qemu and on the
// simulator (the cross-validation of the two engines); r0 and the final
// memory must agree everywhere. Every other program has subprograms
// (progen's Calls), so calls, their argument passing and callee-saved
// registers are checked too.
//
// BPFOPT_DIFF_N sets the number of programs (default 300 per
// configuration, which keeps CI quick; set thousands for a campaign), and
// BPFOPT_DIFF_INSNS the maximum body length (default 96).

const (
	diffMemSize = 64
	irMemBase   = 0x1000_0000
	irStackBase = 0x2000_0000 // MaxCallDepth frames, the entry's on top
	irStackTop  = irStackBase + bpf.MaxCallDepth*bpf.StackSize
	// Each frame's scratch slots (Func.NumLocals) get a region of their own.
	irLocalsBase   = 0x3000_0000
	irLocalsStride = 0x1_0000
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

// runIR runs a lifted program's functions (the entry first) in the IR
// interpreter: the memory at irMemBase, the stack frames below irStackTop
// one per call depth, so that pointers into a caller's frame stay valid,
// and a subprogram call passing each 64-bit argument as two words
// (ir.InterpretModule, which also checks every Arg's align= promise).
func runIR(funcs []*ir.Func, mem []byte, bigEndian bool) (execution, error) {
	m := bytes.Clone(mem)
	locals := 0
	for _, f := range funcs {
		locals = max(locals, f.NumLocals)
	}
	rm := &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: irMemBase, Data: m, Name: "mem"},
		{Base: irStackBase, Data: make([]byte, bpf.MaxCallDepth*bpf.StackSize), Name: "stack"},
	}}
	for d := range bpf.MaxCallDepth {
		if locals > 0 {
			rm.Regions = append(rm.Regions, &ir.Region{Base: irLocalsBase + uint32(d)*irLocalsStride, Data: make([]byte, 8*locals), Name: fmt.Sprintf("locals%d", d)})
		}
	}
	r0, err := ir.InterpretModule(funcs, ir.ModuleConfig{
		Args:      []uint32{irMemBase, uint32(len(m))},
		Mem:       rm,
		MaxDepth:  bpf.MaxCallDepth,
		BigEndian: bigEndian,
		Frame: func(depth int) (uint32, uint32) {
			return irStackTop - uint32(depth*bpf.StackSize), irLocalsBase + uint32(depth)*irLocalsStride
		},
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
		{mips32.Target{Rev: mips32.R2}, 1}, // -O1: simplify without ranges, which -O2 runs first
	}
	opts := progen.Options{MemSize: diffMemSize, MaxInsns: 96, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true}
	if k, err := strconv.Atoi(os.Getenv("BPFOPT_DIFF_INSNS")); err == nil && k > 0 {
		opts.MaxInsns = k
	}
	n := diffCount()
	for ci, cfg := range configs {
		t.Run(fmt.Sprintf("O%d/%s", cfg.level, cfg.target), func(t *testing.T) {
			onQemu := qemuEngine{engine(t, cfg.target)}
			onSim, err := NewEngine("sim", cfg.target)
			require.NoError(t, err)
			var failures, withCalls, subprogramCalls atomic.Int32
			var wg sync.WaitGroup
			sem := make(chan struct{}, 4)
			for i := 0; i < n; i++ {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					seed := uint64(ci)<<32 | uint64(i)
					o := opts
					o.Calls = i%2 == 1
					msg, calls := diffOne(seed, o, cfg.target, cfg.level, onQemu, onSim)
					if msg != "" && failures.Add(1) <= 3 {
						t.Error(msg)
					}
					if calls > 0 {
						withCalls.Add(1)
						subprogramCalls.Add(int32(calls))
					}
				}()
			}
			wg.Wait()
			require.Zero(t, failures.Load(), "%d of %d programs disagreed", failures.Load(), n)
			// The generator must keep exercising calls (half the programs
			// ask for subprograms, and each of those calls at least one).
			require.GreaterOrEqual(t, int(withCalls.Load()), n/2, "programs with subprogram calls")
			t.Logf("%d programs agreed across reference interpreter, IR interpreter (lifted and optimized), qemu and the simulator; %d of them with %d subprogram calls",
				n, withCalls.Load(), subprogramCalls.Load())
		})
	}
}

// diffOne checks one generated program; it returns a readable report of
// the first disagreement, or "", and the number of subprogram calls the
// lifted program has.
func diffOne(seed uint64, opts progen.Options, target mips32.Target, level int, onQemu, onSim Engine) (string, int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := progen.Generate(r, opts)
	mem := make([]byte, diffMemSize)
	for i := range mem {
		mem[i] = byte(r.Uint32())
	}
	report := func(format string, args ...any) string {
		return fmt.Sprintf("seed %#x, %s, -O%d, calls %v: %s\nmemory: %x\nprogram:\n%s",
			seed, target, level, opts.Calls, fmt.Sprintf(format, args...), mem, bpf.Disassemble(p))
	}
	refMem := bytes.Clone(mem)
	r0, err := bpf.Interpret(p, bpf.RunConfig{Mem: refMem, MaxSteps: progen.StepBound(opts)})
	if err != nil {
		return report("reference interpreter: %v", err), 0
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
		return report("lift: %v", err), 0
	}
	calls := 0
	for _, f := range funcs {
		for _, b := range f.Blocks {
			for _, v := range b.Values {
				if v.Op == ir.OpCall && slices.ContainsFunc(funcs, func(g *ir.Func) bool { return g.Name == v.Sym }) {
					calls++
				}
			}
		}
	}
	module := func() string {
		var b strings.Builder
		for _, f := range funcs {
			b.WriteString(f.String())
		}
		return b.String()
	}
	got, err := runIR(funcs, mem, target.BigEndian)
	if err != nil {
		return report("IR interpreter after lift: %v\n%s", err, module()), calls
	}
	if msg := check("IR after lift", got); msg != "" {
		return msg + "\n" + module(), calls
	}
	for _, f := range funcs {
		if _, err := passes.Run(f, level, &passes.Config{BigEndian: target.BigEndian, VerifyEach: true}); err != nil {
			return report("passes on %s: %v", f.Name, err), calls
		}
	}
	got, err = runIR(funcs, mem, target.BigEndian)
	if err != nil {
		return report("IR interpreter after passes: %v\n%s", err, module()), calls
	}
	if msg := check("IR after passes", got); msg != "" {
		return msg + "\n" + module(), calls
	}
	mod, err := mips32.CompileModule(funcs, 1, mips32.Options{Target: target, CheckAllocation: true, Unoptimized: level == 0})
	if err != nil {
		return report("backend: %v", err), calls
	}
	asm := func() string {
		var b bytes.Buffer
		_ = mips32.FormatModuleAsm(&b, mod, target)
		return b.String()
	}
	// The simulator must agree with qemu on the same machine code.
	for _, e := range []struct {
		name   string
		engine Engine
	}{{"qemu", onQemu}, {"the simulator", onSim}} {
		res, err := e.engine.Run(mod, 0, mem)
		if err != nil {
			return report("%s: %v", e.name, err), calls
		}
		if res.Fault != nil {
			return report("compiled code faulted on %s: %v\n%s", e.name, res.Fault, asm()), calls
		}
		if msg := check("MIPS code on "+e.name, execution{res.R0, res.Mem}); msg != "" {
			return msg + "\n" + asm(), calls
		}
	}
	return "", calls
}
