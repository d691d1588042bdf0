package pipeline

import (
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/backend/mips32/sim/runner"
)

// Engine executes compiled modules: qemu-user (the reference for MIPS
// execution) or the in-process simulator. Both link the module against the
// same runtime, maps and helpers included: the qemu runner's C code
// (backend/mips32/qemu/runner) or its Go twin (backend/mips32/sim/runner).
type Engine interface {
	// Run links the module, calls the function at entry (a byte offset
	// into its code) with a copy of mem, and reports what happened.
	Run(m *mips32.Module, entry uint32, mem []byte) (*Execution, error)
}

// Execution is the outcome of a run. Fault is nil when the function
// returned normally; Stats is only known to the simulator.
type Execution struct {
	R0    uint64
	Mem   []byte
	Fault error
	Stats *sim.Stats
}

// Engines lists the engine names NewEngine accepts.
var Engines = []string{"qemu", "sim"}

// NewEngine starts the named engine for target t.
func NewEngine(name string, t mips32.Target) (Engine, error) {
	switch name {
	case "qemu":
		e, err := qemu.Shared(t)
		if err != nil {
			return nil, err
		}
		return qemuEngine{e}, nil
	case "sim":
		m, err := sim.New(runner.Configure(sim.Options{Target: t}))
		if err != nil {
			return nil, err
		}
		return simEngine{m}, nil
	}
	return nil, fmt.Errorf("unknown engine %q (available: qemu, sim)", name)
}

type qemuEngine struct{ e *qemu.Engine }

func (q qemuEngine) Run(m *mips32.Module, entry uint32, mem []byte) (*Execution, error) {
	blob, relocs, syms := m.Image()
	r, err := q.e.RunModule(blob, relocs, syms, entry, mem)
	if err != nil {
		return nil, err
	}
	x := &Execution{R0: r.R0, Mem: r.Mem}
	if r.Fault != nil {
		x.Fault = r.Fault
	}
	return x, nil
}

type simEngine struct{ m *sim.Machine }

func (s simEngine) Run(m *mips32.Module, entry uint32, mem []byte) (*Execution, error) {
	image, relocs, syms := m.Image()
	r, err := s.m.RunModule(&sim.Module{Image: image, CodeSize: uint32(len(m.Code)), Relocs: relocs, Symbols: syms}, entry, mem)
	if err != nil {
		return nil, err
	}
	x := &Execution{R0: r.R0, Mem: r.Mem, Stats: &r.Stats}
	if r.Fault != nil {
		x.Fault = r.Fault
	}
	return x, nil
}
