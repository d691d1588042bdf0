package ir

import "fmt"

// InterpretModule runs a program made of several functions: funcs[0] is
// the entry, and a Call whose symbol names one of funcs runs that function
// in a frame of its own, one call depth further down. It is Interpret for
// code with subprograms, shared by every test and fuzzer that checks them.
//
// Calling convention (docs/ir.md, "The environment a function sees"): the
// callee's Arg words are its caller's 64-bit arguments split in two, word
// 2j and 2j+1 for argument j, low word first unless BigEndian. An Arg with
// align=N is a promise of every caller, so a word that breaks it is an
// error, in the entry as in a subprogram. Each function is compiled for the
// interpreter once per run, and MaxSteps bounds the whole run, all frames
// together.
func InterpretModule(funcs []*Func, cfg ModuleConfig) (uint64, error) {
	if len(funcs) == 0 {
		return 0, fmt.Errorf("interpret module: no functions")
	}
	r := &moduleRun{cfg: cfg, funcs: funcs, byName: map[string]int{}, compiled: make([]*moduleFunc, len(funcs)), steps: new(int)}
	for i, f := range funcs {
		if f == nil {
			return 0, fmt.Errorf("interpret module: function %d is nil", i)
		}
		if _, dup := r.byName[f.Name]; dup {
			return 0, fmt.Errorf("interpret module: function %s defined twice", f.Name)
		}
		r.byName[f.Name] = i
	}
	if r.cfg.MaxSteps <= 0 {
		r.cfg.MaxSteps = DefaultMaxSteps
	}
	if r.cfg.Frame == nil {
		return 0, fmt.Errorf("interpret module: no ModuleConfig.Frame")
	}
	if r.cfg.Mem == nil {
		r.cfg.Mem = &RegionMemory{}
	}
	return r.run(0, 0, cfg.Args)
}

// ModuleConfig is the environment of InterpretModule.
type ModuleConfig struct {
	Args []uint32 // the entry's Arg words
	Mem  Memory   // the address space, every frame's stack and locals included
	// Frame gives the FramePtr and LocalBase of the function running at
	// call depth d (the entry at 0). Frames must not overlap: a pointer
	// into a caller's frame stays valid in its callees.
	Frame func(depth int) (framePtr, localBase uint32)
	// MaxDepth bounds the frames that exist at once, the entry's included;
	// 0 means no bound but MaxSteps.
	MaxDepth int
	// MaxSteps bounds the values and terminators executed by all frames
	// together; 0 means DefaultMaxSteps.
	MaxSteps int
	// BigEndian orders each argument's two words high first.
	BigEndian bool
	// Call serves calls of symbols no function of the module defines
	// (helpers); nil makes them errors.
	Call func(sym string, args []uint64) (uint64, error)
}

type moduleRun struct {
	cfg      ModuleConfig
	funcs    []*Func
	byName   map[string]int
	compiled []*moduleFunc // by function, on its first call
	steps    *int
}

// moduleFunc is a function compiled for the interpreter, with the
// alignment promises of its Args.
type moduleFunc struct {
	prog    *interpProg
	aligned []*Value // Args with align=
}

func (r *moduleRun) compile(fi int) (*moduleFunc, error) {
	if mf := r.compiled[fi]; mf != nil {
		return mf, nil
	}
	f := r.funcs[fi]
	p, err := compileInterp(f)
	if err != nil {
		return nil, fmt.Errorf("interpret %s: %w", f.Name, err)
	}
	mf := &moduleFunc{prog: p}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == OpArg && v.Align > 1 {
				mf.aligned = append(mf.aligned, v)
			}
		}
	}
	r.compiled[fi] = mf
	return mf, nil
}

func (r *moduleRun) run(fi, depth int, args []uint32) (result uint64, err error) {
	f := r.funcs[fi]
	if r.cfg.MaxDepth > 0 && depth >= r.cfg.MaxDepth {
		return 0, fmt.Errorf("call of %s: more than %d frames", f.Name, r.cfg.MaxDepth)
	}
	mf, err := r.compile(fi)
	if err != nil {
		return 0, err
	}
	// An Arg's align= is a promise of every caller.
	for _, v := range mf.aligned {
		if v.AuxInt >= 0 && v.AuxInt < int64(len(args)) && args[v.AuxInt]%uint32(v.Align) != 0 {
			return 0, fmt.Errorf("interpret %s: Arg [%d] align=%d gets %#x", f.Name, v.AuxInt, v.Align, args[v.AuxInt])
		}
	}
	fp, locals := r.cfg.Frame(depth)
	m := &machine{prog: mf.prog, regs: make([]uint64, mf.prog.numValues), steps: r.steps, cfg: InterpConfig{
		Args:      args,
		Mem:       r.cfg.Mem,
		FramePtr:  fp,
		LocalBase: locals,
		MaxSteps:  r.cfg.MaxSteps,
		Call: func(sym string, a []uint64) (uint64, error) {
			callee, ok := r.byName[sym]
			if !ok {
				if r.cfg.Call == nil {
					return 0, fmt.Errorf("call of %s: not a function of the module", sym)
				}
				return r.cfg.Call(sym, a)
			}
			words := make([]uint32, 0, 2*len(a))
			for _, x := range a {
				lo, hi := uint32(x), uint32(x>>32)
				if r.cfg.BigEndian {
					lo, hi = hi, lo
				}
				words = append(words, lo, hi)
			}
			return r.run(callee, depth+1, words)
		},
	}}
	defer func() {
		// As in Interpret: the last line of "errors, never panics".
		if p := recover(); p != nil {
			err = fmt.Errorf("interpret %s: internal error: %v", f.Name, p)
		}
	}()
	result, err = m.run()
	if err != nil {
		return 0, fmt.Errorf("interpret %s: %w", f.Name, err)
	}
	return result, nil
}
