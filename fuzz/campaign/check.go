package campaign

import (
	"bytes"
	"fmt"
	"runtime/debug"

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
// Programs with calls (helpers or subprograms) are reported as
// StageUnsupported: the oracles here run call-free programs only.
func CheckProgram(p *bpf.Program, mem []byte, cfg *Config) *Finding {
	c := cfg.withDefaults()
	base := Finding{Program: p, Mem: bytes.Clone(mem)}
	if in, ok := firstCall(p); ok {
		f := base
		f.Stage, f.Msg = StageUnsupported, fmt.Sprintf("instruction %q at slot %d: CheckProgram runs call-free programs only", bpf.FormatInsn(in), in.Slot)
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

	var fn *ir.Func
	if err := guard(func() error {
		funcs, err := bpf.Lift(p, "prog", bpf.LiftOptions{BigEndian: be})
		if err == nil {
			fn = funcs[0]
		}
		return err
	}); err != nil {
		return fail(StageLift, "", "lift failed: "+err.Error())
	}
	if err := ir.Verify(fn, ir.VerifyOptions{}); err != nil {
		return fail(StageLift, "", "lifted IR is invalid: "+err.Error()).withDetail(fn.String())
	}
	if f := compareIR(c, &base, fn, StageLift, ""); f != nil {
		return f
	}
	base.Previous = string(StageLift)

	list, err := c.Passes(base.Level)
	if err != nil {
		return fail(StagePass, "", "selecting passes: "+err.Error())
	}
	noI64 := false
	for i, ps := range list {
		before := ""
		if ps.Kind == passes.Analysis {
			before = fn.String()
		}
		if err := guard(func() error {
			_, err := ps.Run(fn, &passes.Config{BigEndian: be})
			return err
		}); err != nil {
			return fail(StagePass, ps.Name, "pass failed: "+err.Error()).withDetail(irBefore(c, p, be, list[:i]))
		}
		noI64 = noI64 || ps.RemovesI64
		if err := ir.Verify(fn, ir.VerifyOptions{NoI64: noI64}); err != nil {
			return fail(StagePass, ps.Name, "verifier: "+err.Error()).withDetail(irBefore(c, p, be, list[:i]) + "\n; after\n" + fn.String())
		}
		if ps.Kind == passes.Analysis && fn.String() != before {
			return fail(StagePass, ps.Name, "analysis pass changed the function").withDetail(before + "\n; after\n" + fn.String())
		}
		if f := compareIR(c, &base, fn, StagePass, ps.Name); f != nil {
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
		if f := checkMachine(c, base, fn); f != nil {
			return f
		}
	}
	return nil
}

// compareIR runs fn in the IR interpreter and compares with the reference.
func compareIR(c *Config, base *Finding, fn *ir.Func, stage Stage, pass string) *Finding {
	got, err := runIR(fn, base.Mem, base.Target.BigEndian, c.irSteps())
	if err != nil {
		got.Err = err.Error()
	}
	if msg := disagreement(base.Want, got); msg != "" {
		f := *base
		f.Stage, f.Pass, f.Msg, f.Got = stage, pass, msg, got
		f.Engine = "IR interpreter"
		f.Detail = fn.String()
		return &f
	}
	return nil
}

// checkMachine compiles fn for base.Target and runs it on the engine.
func checkMachine(c *Config, base Finding, fn *ir.Func) *Finding {
	fail := func(stage Stage, msg string) *Finding {
		f := base
		f.Stage, f.Msg = stage, msg
		return &f
	}
	var mod *mips32.Module
	if err := guard(func() (err error) {
		mod, err = mips32.Compile(fn, mips32.Options{Target: base.Target, CheckAllocation: true})
		return err
	}); err != nil {
		return fail(StageBackend, "backend failed: "+err.Error()).withDetail(fn.String())
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
		if err := mips32.FormatAsm(&asm, "prog", mod.Assembled, base.Target); err != nil {
			fmt.Fprintf(&asm, "(assembly listing failed: %v)\n", err)
		}
		return f.withDetail(asm.String())
	}
	return nil
}

// irBefore recomputes the IR as it was before the pass that failed (lift,
// then done), for the report.
func irBefore(c *Config, p *bpf.Program, be bool, done []*passes.Pass) string {
	var text string
	err := guard(func() error {
		funcs, err := bpf.Lift(p, "prog", bpf.LiftOptions{BigEndian: be})
		if err != nil {
			return err
		}
		for _, ps := range done {
			if _, err := ps.Run(funcs[0], &passes.Config{BigEndian: be}); err != nil {
				return err
			}
		}
		text = funcs[0].String()
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

// The IR interpreter's address space: the memory block where the reference
// interpreter puts it, the BPF stack (with the compiler's scratch slots
// above r10) in a region of its own.
const irStackBase = 0x2000_0000

// runIR runs fn with r1 = the memory block and r2 = its length.
func runIR(fn *ir.Func, mem []byte, bigEndian bool, maxSteps int) (Execution, error) {
	m := bytes.Clone(mem)
	if m == nil {
		m = []byte{}
	}
	stack := make([]byte, bpf.StackSize+8*fn.NumLocals)
	rm := &ir.RegionMemory{BigEndian: bigEndian, Regions: []*ir.Region{
		{Base: uint32(bpf.MemBase), Data: m, Name: "mem"},
		{Base: irStackBase, Data: stack, Name: "stack"},
	}}
	var r0 uint64
	err := guard(func() (err error) {
		r0, err = ir.Interpret(fn, ir.InterpConfig{
			Args:      []uint32{uint32(bpf.MemBase), uint32(len(m))},
			Mem:       rm,
			FramePtr:  irStackBase + bpf.StackSize,
			LocalBase: irStackBase + bpf.StackSize,
			MaxSteps:  maxSteps,
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

// firstCall finds a call instruction: helper, kfunc, callx or local.
func firstCall(p *bpf.Program) (bpf.Insn, bool) {
	for _, in := range p.Insns {
		if in.IsCall() || in.IsCallx() || in.IsLocalCall() {
			return in, true
		}
	}
	return bpf.Insn{}, false
}
