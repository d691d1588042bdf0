package pipeline

import (
	"errors"
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/ir"
)

// Engine executes compiled modules: qemu-user (the reference for MIPS
// execution) or the in-process simulator.
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
		m, err := sim.New(sim.Options{Target: t, Externs: simHelpers})
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
	if len(m.Data.Bytes) > 0 {
		return nil, errors.New("the sim engine does not run modules with maps or data sections yet (use --engine=qemu)")
	}
	r, err := s.m.Run(m.Code, m.Relocs, entry, mem)
	if err != nil {
		return nil, err
	}
	x := &Execution{R0: r.R0, Mem: r.Mem, Stats: &r.Stats}
	if r.Fault != nil {
		x.Fault = r.Fault
	}
	return x, nil
}

// simHelpers are the BPF helpers the simulator serves so far: the
// conformance suite's unwind (uBPF's helper 5: r1 == 0 stops the program
// with r0 = 0, anything else is returned), its no_op (2), and callx over
// them. The other helpers run on the qemu engine only for now.
var simHelpers = func() map[string]*ir.RuntimeFunc {
	five := []ir.Type{ir.I64, ir.I64, ir.I64, ir.I64, ir.I64}
	unwind := func(_ ir.Memory, a []uint64) (uint64, error) {
		if a[0] == 0 {
			return 0, &sim.Stop{R0: 0}
		}
		return a[0], nil
	}
	noop := func(ir.Memory, []uint64) (uint64, error) { return 0, nil }
	return map[string]*ir.RuntimeFunc{
		"ubpf_helper_2": {Name: "ubpf_helper_2", Params: five, Result: ir.I64, Eval: noop},
		"ubpf_helper_5": {Name: "ubpf_helper_5", Params: five, Result: ir.I64, Eval: unwind},
		"ubpf_callx": {Name: "ubpf_callx", Params: append([]ir.Type{ir.I64}, five...), Result: ir.I64,
			Eval: func(m ir.Memory, a []uint64) (uint64, error) {
				switch a[0] {
				case 2:
					return noop(m, a[1:])
				case 5:
					return unwind(m, a[1:])
				}
				return 0, fmt.Errorf("callx: helper %d is not served by the sim engine", a[0])
			}},
	}
}()
