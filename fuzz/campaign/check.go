package campaign

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// Config says which compilations CheckProgram checks and how.
type Config struct {
	// Targets to compile for; nil means DefaultTargets.
	Targets []mips32.Target
	// Levels are the optimization levels; nil means DefaultLevels.
	Levels []int
	// Engine makes the machine-code engine of a target; nil means
	// SimEngine.
	Engine EngineFactory
	// MaxSteps bounds the reference interpreter's run; 0 means
	// bpf.DefaultMaxSteps. The IR interpreter and the machine-code engine
	// get proportionally larger limits (one eBPF instruction becomes
	// several IR values and MIPS instructions).
	MaxSteps int
	// SkipMachine checks the IR stages only: no backend, no engine.
	SkipMachine bool
	// Passes returns the passes a level runs, in order; nil means
	// passes.Select(level, nil). Tests use it to plant a broken pass.
	Passes func(level int) ([]*passes.Pass, error)
}

// DefaultTargets are the targets CheckProgram compiles for by default:
// MIPS32 Release 2 and Release 1, little-endian (the O32 targets the
// project ships).
var DefaultTargets = []mips32.Target{{Rev: mips32.R2}, {Rev: mips32.R1}}

// DefaultLevels are -O0 (legalization only) and -O2 (every pass).
var DefaultLevels = []int{0, 2}

// Step-limit ratios: what one eBPF step may cost in IR values and in MIPS
// instructions (a 64-bit division is a runtime call, served in Go).
const (
	irStepsPerInsn   = 64
	mipsStepsPerInsn = 256
	maxMachineSteps  = 1 << 28
)

func (c *Config) withDefaults() Config {
	var d Config
	if c != nil {
		d = *c
	}
	if d.Targets == nil {
		d.Targets = DefaultTargets
	}
	if d.Levels == nil {
		d.Levels = DefaultLevels
	}
	if d.Engine == nil {
		d.Engine = SimEngine
	}
	if d.MaxSteps <= 0 {
		d.MaxSteps = bpf.DefaultMaxSteps
	}
	if d.Passes == nil {
		d.Passes = func(level int) ([]*passes.Pass, error) { return passes.Select(level, nil) }
	}
	return d
}

func (c *Config) irSteps() int { return min(c.MaxSteps*irStepsPerInsn, 1<<30) }
func (c *Config) machineSteps() int64 {
	return min(int64(c.MaxSteps)*mipsStepsPerInsn+1<<16, maxMachineSteps)
}

// Execution is the outcome of one run in one oracle.
type Execution struct {
	R0  uint64
	Mem []byte
	// Err is the fault or interpreter error; "" when the program returned.
	Err string
}

// CheckProgram runs p with input memory mem (r1 points to a copy, r2 holds
// its length) through every oracle for every level and target of cfg (nil
// for the defaults) and returns the first disagreement with the reference
// interpreter, or nil. Stages run in pipeline order — lift, each pass, the
// backend, the machine code — so the Finding names the first one that
// diverged. A Finding at StageReference means the program itself faults
// or runs too long in the reference interpreter: it is outside the
// contract (generated programs never are), not a compiler bug.
//
// A program with subprograms (`call local`) is checked as a whole module:
// every function is lifted, each pass runs on all of them before the IR
// interpreter runs the module, and the backend compiles the module.
// Programs that call helpers (or callx, kfuncs) are reported as
// StageUnsupported: the oracles here serve no helpers.
func CheckProgram(p *bpf.Program, mem []byte, cfg *Config) *Finding {
	c := cfg.withDefaults()
	base := Finding{Program: p, Mem: bytes.Clone(mem)}
	if in, ok := firstHelperCall(p); ok {
		f := base
		f.Stage, f.Msg = StageUnsupported, fmt.Sprintf("instruction %q at slot %d: CheckProgram runs programs without helper calls only", bpf.FormatInsn(in), in.Slot)
		return &f
	}
	for _, level := range c.Levels {
		for _, bigEndian := range []bool{false, true} {
			var targets []mips32.Target
			for _, t := range c.Targets {
				if t.BigEndian == bigEndian {
					targets = append(targets, t)
				}
			}
			if len(targets) == 0 {
				continue
			}
			base.Level, base.Target = level, targets[0]
			if f := checkLevel(&c, base, targets); f != nil {
				return f
			}
		}
	}
	return nil
}

// checkLevel checks one level for targets of one byte order: the IR
// stages once (they do not depend on the revision), then each target's
// machine code.
func checkLevel(c *Config, base Finding, targets []mips32.Target) *Finding {
	p, mem, be := base.Program, base.Mem, base.Target.BigEndian
	fail := func(stage Stage, pass, msg string) *Finding {
		f := base
		f.Stage, f.Pass, f.Msg = stage, pass, msg
		return &f
	}

	want, err := runReference(p, mem, be, c.MaxSteps)
	if err != nil {
		return fail(StageReference, "", err.Error())
	}
	base.Want = want

	var funcs []*ir.Func
	if err := guard(func() (err error) {
		funcs, err = bpf.Lift(p, "prog", bpf.LiftOptions{BigEndian: be})
		return err
	}); err != nil {
		return fail(StageLift, "", "lift failed: "+err.Error())
	}
	for _, fn := range funcs {
		if err := ir.Verify(fn, ir.VerifyOptions{}); err != nil {
			return fail(StageLift, "", "lifted IR is invalid: "+err.Error()).withDetail(moduleString(funcs))
		}
	}
	if f := compareIR(c, &base, funcs, StageLift, ""); f != nil {
		return f
	}
	base.Previous = string(StageLift)

	list, err := c.Passes(base.Level)
	if err != nil {
		return fail(StagePass, "", "selecting passes: "+err.Error())
	}
	noI64 := false
	for i, ps := range list {
		noI64 = noI64 || ps.RemovesI64
		// The pass runs on every function before the module runs: the
		// IR interpreter cannot mix functions before and after a pass
		// that changes the calling convention (legalize64 splits
		// arguments).
		for _, fn := range funcs {
			if f := runPass(c, base, p, list[:i], ps, fn, noI64); f != nil {
				return f
			}
		}
		if f := compareIR(c, &base, funcs, StagePass, ps.Name); f != nil {
			f.Detail = irBefore(c, p, be, list[:i]) + "\n; after " + ps.Name + "\n" + f.Detail
			return f
		}
		base.Previous = "pass " + ps.Name
	}
	if c.SkipMachine {
		return nil
	}

	prev := base.Previous
	for _, t := range targets {
		base.Target, base.Previous = t, prev
		if f := checkMachine(c, base, funcs); f != nil {
			return f
		}
	}
	return nil
}

// runPass runs pass ps (after done) on fn, one function of p's module,
// and checks that it succeeds, leaves valid IR and, for an analysis,
// leaves fn unchanged.
func runPass(c *Config, base Finding, p *bpf.Program, done []*passes.Pass, ps *passes.Pass, fn *ir.Func, noI64 bool) *Finding {
	be := base.Target.BigEndian
	fail := func(msg, detail string) *Finding {
		f := base
		f.Stage, f.Pass, f.Msg, f.Detail = StagePass, ps.Name, msg, detail
		return &f
	}
	in := inFunc(fn)
	before := ""
	if ps.Kind == passes.Analysis {
		before = fn.String()
	}
	if err := guard(func() error {
		_, err := ps.Run(fn, &passes.Config{BigEndian: be})
		return err
	}); err != nil {
		return fail("pass failed"+in+": "+err.Error(), irBefore(c, p, be, done))
	}
	if err := ir.Verify(fn, ir.VerifyOptions{NoI64: noI64}); err != nil {
		return fail("verifier"+in+": "+err.Error(), irBefore(c, p, be, done)+"\n; after\n"+fn.String())
	}
	if ps.Kind == passes.Analysis && fn.String() != before {
		return fail("analysis pass changed the function"+in, before+"\n; after\n"+fn.String())
	}
	return nil
}

// inFunc names a subprogram for a message about it ("" for the entry,
// as in a program without subprograms).
func inFunc(fn *ir.Func) string {
	if fn.Name == "prog" {
		return ""
	}
	return " (in " + fn.Name + ")"
}

// compareIR runs the module in the IR interpreter and compares with the
// reference.
func compareIR(c *Config, base *Finding, funcs []*ir.Func, stage Stage, pass string) *Finding {
	got, err := runIR(funcs, base.Mem, base.Target.BigEndian, c.irSteps())
	if err != nil {
		got.Err = err.Error()
	}
	if msg := disagreement(base.Want, got); msg != "" {
		f := *base
		f.Stage, f.Pass, f.Msg, f.Got = stage, pass, msg, got
		f.Engine = "IR interpreter"
		f.Detail = moduleString(funcs)
		return &f
	}
	return nil
}

// moduleString prints the functions of a module, the entry first.
func moduleString(funcs []*ir.Func) string {
	var sb strings.Builder
	for i, fn := range funcs {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(fn.String())
	}
	return sb.String()
}

// checkMachine compiles the module for base.Target and runs it on the
// engine.
func checkMachine(c *Config, base Finding, funcs []*ir.Func) *Finding {
	fail := func(stage Stage, msg string) *Finding {
		f := base
		f.Stage, f.Msg = stage, msg
		return &f
	}
	var mod *mips32.Module
	if err := guard(func() (err error) {
		mod, err = mips32.CompileModule(funcs, 1, mips32.Options{Target: base.Target, CheckAllocation: true, Unoptimized: base.Level == 0})
		return err
	}); err != nil {
		return fail(StageBackend, "backend failed: "+err.Error()).withDetail(moduleString(funcs))
	}
	eng, err := c.Engine(base.Target, c.machineSteps())
	if err != nil {
		return fail(StageSetup, err.Error())
	}
	base.Engine = eng.Name()
	got, err := eng.Run(mod.Code, mod.Relocs, 0, base.Mem)
	if err != nil {
		return fail(StageSetup, eng.Name()+" engine failed: "+err.Error())
	}
	if msg := disagreement(base.Want, got); msg != "" {
		f := fail(StageMachine, msg)
		f.Got = got
		var asm bytes.Buffer
		if err := mips32.FormatModuleAsm(&asm, mod, base.Target); err != nil {
			fmt.Fprintf(&asm, "(assembly listing failed: %v)\n", err)
		}
		return f.withDetail(asm.String())
	}
	return nil
}

// irBefore recomputes the module as it was before the pass that failed
// (lift, then done on every function), for the report.
func irBefore(c *Config, p *bpf.Program, be bool, done []*passes.Pass) string {
	var text string
	err := guard(func() error {
		funcs, err := bpf.Lift(p, "prog", bpf.LiftOptions{BigEndian: be})
		if err != nil {
			return err
		}
		for _, ps := range done {
			for _, fn := range funcs {
				if _, err := ps.Run(fn, &passes.Config{BigEndian: be}); err != nil {
					return err
				}
			}
		}
		text = moduleString(funcs)
		return nil
	})
	if err != nil {
		return fmt.Sprintf("(could not recompute the IR before the pass: %v)\n", err)
	}
	name := "lift"
	if len(done) > 0 {
		name = done[len(done)-1].Name
	}
	return "; before (after " + name + ")\n" + text
}

// guard runs fn, turning a panic into an error carrying its stack, so that
// a crashing stage is a Finding like any other (and can be reduced).
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// runReference runs the reference interpreter.
func runReference(p *bpf.Program, mem []byte, bigEndian bool, maxSteps int) (Execution, error) {
	m := bytes.Clone(mem)
	if m == nil {
		m = []byte{}
	}
	cfg := bpf.RunConfig{Mem: m, MaxSteps: maxSteps}
	if bigEndian {
		cfg.ByteOrder = mips32.Target{BigEndian: true}.ByteOrder()
	}
	var r0 uint64
	err := guard(func() (err error) {
		r0, err = bpf.Interpret(p, cfg)
		return err
	})
	return Execution{R0: r0, Mem: m}, err
}

// The IR interpreter's address space: the memory block, the BPF stack
// frames (one per call depth, the entry's on top) and each frame's
// compiler scratch slots (Func.NumLocals) in regions of their own. The
// memory and the stack lie elsewhere than in the reference interpreter
// (bpf.MemBase, bpf.StackTop), so that a program whose result depends on
// an address — outside the contract, but a reduction can make one —
// diverges at lift, not only on the machine, and so never passes for a
// backend bug.
const (
	irMemBase      = 0x4000_0000
	irStackBase    = 0x2000_0000
	irStackTop     = irStackBase + bpf.MaxCallDepth*bpf.StackSize
	irLocalsBase   = 0x3000_0000
	irLocalsStride = 0x1_0000
)

// runIR runs a module (the entry first) with r1 = the memory block and
// r2 = its length.
func runIR(funcs []*ir.Func, mem []byte, bigEndian bool, maxSteps int) (Execution, error) {
	m := bytes.Clone(mem)
	if m == nil {
		m = []byte{}
	}
	rm := &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: irMemBase, Data: m, Name: "mem"},
		{Base: irStackBase, Data: make([]byte, bpf.MaxCallDepth*bpf.StackSize), Name: "stack"},
	}}
	locals := 0
	for _, fn := range funcs {
		locals = max(locals, fn.NumLocals)
	}
	if locals > 0 {
		for d := range bpf.MaxCallDepth {
			rm.Regions = append(rm.Regions, &ir.Region{Base: irLocalsBase + uint32(d)*irLocalsStride, Data: make([]byte, 8*locals), Name: fmt.Sprintf("locals%d", d)})
		}
	}
	var r0 uint64
	err := guard(func() (err error) {
		r0, err = ir.InterpretModule(funcs, ir.ModuleConfig{
			Args: []uint32{irMemBase, uint32(len(m))},
			Mem:  rm,
			Frame: func(depth int) (uint32, uint32) {
				return irStackTop - uint32(depth)*bpf.StackSize, irLocalsBase + uint32(depth)*irLocalsStride
			},
			MaxDepth:  bpf.MaxCallDepth,
			MaxSteps:  maxSteps,
			BigEndian: bigEndian,
		})
		return err
	})
	return Execution{R0: r0, Mem: m}, err
}

// disagreement describes how got differs from the reference's want, or
// returns "".
func disagreement(want, got Execution) string {
	switch {
	case got.Err != "":
		return "run failed: " + got.Err
	case got.R0 != want.R0:
		return fmt.Sprintf("r0 = %#x, reference %#x", got.R0, want.R0)
	case !bytes.Equal(got.Mem, want.Mem):
		return "final memory differs at offsets " + diffOffsets(want.Mem, got.Mem)
	}
	return ""
}

// firstHelperCall finds a call that is not a subprogram call: helper,
// kfunc or callx.
func firstHelperCall(p *bpf.Program) (bpf.Insn, bool) {
	for _, in := range p.Insns {
		if in.IsCall() && !in.IsLocalCall() {
			return in, true
		}
	}
	return bpf.Insn{}, false
}
