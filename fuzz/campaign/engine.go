package campaign

import (
	"fmt"
	"sync"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
)

// Engine runs compiled MIPS code: the machine-code oracle. Both engines
// call uint64 fn(void *ctx, uint32 len) at byte offset entry of code with
// ctx pointing to an 8-byte-aligned copy of mem.
type Engine interface {
	// Name appears in findings ("sim", "qemu").
	Name() string
	// Run returns the outcome of one call. An error means the engine
	// itself failed (not the program).
	Run(code []byte, relocs []mips32.Reloc, entry uint32, mem []byte) (Execution, error)
}

// EngineFactory returns the engine for a target. Config.Engine defaults to
// SimEngine; fuzz/campaign/qemuengine.New is the slower, external
// alternative (kept out of this package so that go-fuzz-build, which
// cannot copy the qemu runner's embedded C files, can build the harnesses).
type EngineFactory func(t mips32.Target, maxSteps int64) (Engine, error)

// simEngine adapts backend/mips32/sim.
type simEngine struct{ m *sim.Machine }

func (simEngine) Name() string { return "sim" }

func (e simEngine) Run(code []byte, relocs []mips32.Reloc, entry uint32, mem []byte) (Execution, error) {
	res, err := e.m.Run(code, relocs, entry, mem)
	if err != nil {
		return Execution{}, err
	}
	x := Execution{R0: res.R0, Mem: res.Mem}
	if res.Fault != nil {
		x.Err = res.Fault.Error()
	}
	return x, nil
}

// simMachines caches one simulator per (target, step limit): a Machine is
// safe for concurrent use and keeps decoded code and stacks pooled.
var simMachines sync.Map // simKey → *sim.Machine

type simKey struct {
	t        mips32.Target
	maxSteps int64
}

// SimEngine runs code on the in-process simulator, stopping a run after
// maxSteps instructions (0: the simulator's default).
func SimEngine(t mips32.Target, maxSteps int64) (Engine, error) {
	k := simKey{t, maxSteps}
	if m, ok := simMachines.Load(k); ok {
		return simEngine{m.(*sim.Machine)}, nil
	}
	m, err := sim.New(sim.Options{Target: t, MaxSteps: maxSteps})
	if err != nil {
		return nil, fmt.Errorf("simulator for %s: %w", t, err)
	}
	actual, _ := simMachines.LoadOrStore(k, m)
	return simEngine{actual.(*sim.Machine)}, nil
}
