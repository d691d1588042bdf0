package sim_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/backend/mips32/sim/runner"
)

// The BPF runtime on the simulator (package sim/runner) against the qemu
// runner's C code: the steps programs of the qemu engine's map tests
// (mipstest, programs.go) and helper calls, run on both engines from the
// same module. Every result must be qemu's exactly, pointers into the heap
// included (the Go runtime lays its storage out as maps.c does), and so
// must the final memory, the error stops (message and call site) and the
// faults. The qemu engine's tests check the same programs' results against
// hand-worked values; a few are checked here too, so that a mistake both
// runtimes share still shows.

// stepsRun is the simulator's outcome of a steps program.
type stepsRun struct {
	res     *sim.Result
	mod     *sim.Module
	results []uint64
	payload []byte
}

var crossTargets = []mips32.Target{{Rev: mips32.R2}, {Rev: mips32.R1}}

// runSteps runs a steps program on the simulator, twice (every run starts
// from the module's initial state, maps included), and under qemu, and
// requires the three outcomes to agree; it returns the simulator's.
func runSteps(t *testing.T, target mips32.Target, p mipstest.StepsProgram) stepsRun {
	t.Helper()
	mod := sim.AssembleModule(t, target, mipstest.StepsSource(p.Steps, p.Data))
	mem := p.Mem()
	m, err := sim.New(runner.Configure(sim.Options{Target: target}))
	require.NoError(t, err)
	var r stepsRun
	for run := range 2 {
		res, err := m.RunModule(mod, mod.Symbols["f"], mem)
		require.NoError(t, err)
		if run == 1 {
			assert.Equal(t, r.res, res, "the second run must repeat the first")
		}
		r.res = res
	}
	r.mod = mod
	for i := range p.Steps {
		r.results = append(r.results, binary.LittleEndian.Uint64(r.res.Mem[8*i:]))
	}
	r.payload = r.res.Mem[8*len(p.Steps):]

	want, err := sim.RequireQemu(t, target).RunModule(mod.Image, mod.Relocs, mod.Symbols, mod.Symbols["f"], mem)
	require.NoError(t, err)
	compareRuntime(t, r.res, want)
	return r
}

// compareRuntime requires a simulator run to end as the qemu run did.
func compareRuntime(t *testing.T, got *sim.Result, want *qemu.Result) {
	t.Helper()
	assert.Equal(t, want.Mem, got.Mem, "memory")
	switch f := want.Fault; {
	case f == nil:
		if assert.Nil(t, got.Fault, "qemu returned %#x", want.R0) {
			assert.Equal(t, want.R0, got.R0, "r0")
		}
	case f.Stop != "": // an error stop of the C runtime
		if assert.NotNil(t, got.Fault, "qemu stopped: %v", f) {
			assert.Equal(t, sim.RuntimeError, got.Fault.Kind, "%v", got.Fault)
			assert.True(t, f.InCode)
			assert.Contains(t, got.Fault.Msg, fmt.Sprintf("(called from code offset %#x): %s", f.PC, f.Stop))
		}
	default: // a fault in the runtime: SIGSEGV
		if assert.NotNil(t, got.Fault, "qemu faulted: %v", f) {
			assert.Equal(t, "SIGSEGV", f.Signal, "%v", f)
			assert.Equal(t, sim.Unmapped, got.Fault.Kind, "%v", got.Fault)
			assert.Equal(t, f.Addr, got.Fault.Addr, "fault address: %v vs qemu's %v", got.Fault, f)
		}
	}
}

func forTargets(t *testing.T, f func(t *testing.T, target mips32.Target)) {
	for _, target := range crossTargets {
		t.Run(target.String(), func(t *testing.T) { f(t, target) })
	}
}

func TestArrayMapMatchesQemu(t *testing.T) {
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, mipstest.ArrayMapProgram())
		require.Nil(t, r.res.Fault)
		p0 := r.results[0]
		assert.Equal(t, uint64(sim.HeapBase), p0, "the first map's values start the heap")
		assert.Equal(t, []uint64{p0 + 16, p0 + 32, 0, 0}, r.results[1:5])
		assert.Equal(t, mipstest.LE32(0x21212121, 0x22222222, 0x23232323), r.payload[40:52], "initial contents")
		assert.Equal(t, mipstest.LE32(0xfeedf00d), r.payload[80:84])
	})
}

func TestHashMapMatchesQemu(t *testing.T) {
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, mipstest.HashMapProgram())
		require.Nil(t, r.res.Fault)
		// struct hash (32), 4 buckets (16), then nodes of 8 + 8 + 8 bytes:
		// the first node's value is at 32+16+16.
		assert.Equal(t, uint64(sim.HeapBase+64), r.results[2])
		assert.Equal(t, r.results[2]+48, r.results[22], "K4 reuses K2's node, the third")
	})
	const n = 40
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, mipstest.HashMapManyProgram(n))
		require.Nil(t, r.res.Fault)
		assert.Equal(t, mipstest.Errno(mipstest.E2BIG), r.results[n], "insert into the full table")
		for i := range n {
			assert.Equal(t, uint32(3*i+1), binary.LittleEndian.Uint32(r.payload[8*(n+1)+4*i:]), "value %d", i)
		}
	})
}

func TestProgArrayMatchesQemu(t *testing.T) {
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, mipstest.ProgArrayProgram())
		require.Nil(t, r.res.Fault)
		a, b := r.results[0], r.results[1]
		assert.Equal(t, uint64(sim.CodeBase+r.mod.Symbols["prog_a"]), a)
		assert.Equal(t, []uint64{a, 0, b, 0, b, 0}, r.results[2:8])
		assert.Equal(t, uint64(0xa), r.results[8], "the slot's address runs prog_a")
		assert.Equal(t, uint64(0xb), r.results[18])
	})
}

// TestRuntimeErrorsMatchQemu: bad pointers, bad map objects and unknown
// helper IDs stop the program with the C runtime's message, naming the
// call site (runSteps compares); unmapped reads fault at the same address.
func TestRuntimeErrorsMatchQemu(t *testing.T) {
	forTargets(t, func(t *testing.T, target mips32.Target) {
		for _, tc := range mipstest.RuntimeErrorCases() {
			t.Run(tc.Name, func(t *testing.T) {
				r := runSteps(t, target, mipstest.StepsProgram{Steps: mipstest.RuntimeErrorSteps(tc), Data: mipstest.RuntimeErrorData, Payload: mipstest.RuntimeErrorPayload})
				require.NotNil(t, r.res.Fault)
				assert.NotZero(t, r.results[0], "the step before ran")
				if tc.Stop == "" {
					assert.Equal(t, sim.Unmapped, r.res.Fault.Kind, "%v", r.res.Fault)
				} else {
					assert.Equal(t, sim.RuntimeError, r.res.Fault.Kind, "%v", r.res.Fault)
				}
			})
		}
		// A map that is not a prog array has no tail-call targets, whatever
		// its type.
		r := runSteps(t, target, mipstest.StepsProgram{Steps: []mipstest.Step{mipstest.Tail("unknown", 0), mipstest.Tail("h", 0)}, Data: mipstest.RuntimeErrorData})
		require.Nil(t, r.res.Fault)
		assert.Equal(t, []uint64{0, 0}, r.results)
	})
}

// TestHelpersMatchQemu calls every other helper of both sets, directly and
// through callx, on both engines.
func TestHelpersMatchQemu(t *testing.T) {
	call, k, pay := mipstest.Call, mipstest.K, mipstest.Pay
	// Payload: "abc\0" at 0, "abd\0" at 4, bytes to frob at 8..15.
	payload := append([]byte("abc\x00abd\x00"), 1, 2, 3, 4, 5, 6, 7, 8)
	steps := []mipstest.Step{
		call("ubpf_helper_0", k(0x1101), k(0x22), k(0x33), k(0x44), k(0x55)),
		call("ubpf_helper_1", pay(8), k(5)),
		call("ubpf_helper_1", pay(8), k(0)),
		call("ubpf_helper_2"),
		call("ubpf_helper_3", k(1<<40+12345)),
		call("ubpf_helper_3", k(^uint64(0))),
		call("ubpf_helper_4", pay(0), pay(4)),
		call("ubpf_helper_4", pay(4), pay(0)),
		call("ubpf_helper_4", pay(0), pay(0)),
		call("ubpf_helper_5", k(77)),
		call("ubpf_callx", k(3), k(1<<52)),
		call("ubpf_callx", k(0), k(1), k(2), k(3), k(4), k(5)),
		call("bpf_helper_5"), call("bpf_helper_5"),
		call("bpf_helper_7"), call("bpf_helper_7"),
		call("bpf_helper_8"),
		call("bpf_callx", k(5)), call("bpf_callx", k(7)), call("bpf_callx", k(8)),
		call("ubpf_helper_5", k(0)), // stops the program: r0 = 0
		call("bpf_helper_8"),
	}
	forTargets(t, func(t *testing.T, target mips32.Target) {
		r := runSteps(t, target, mipstest.StepsProgram{Steps: steps, Payload: payload})
		require.Nil(t, r.res.Fault)
		assert.Equal(t, uint64(0), r.res.R0, "unwind(0)")
		assert.Equal(t, uint64(0x0122334455), r.results[0])
		assert.Equal(t, []byte{1 ^ 42, 2 ^ 42, 3 ^ 42, 4 ^ 42, 5 ^ 42, 6, 7, 8}, r.payload[8:16])
		assert.Equal(t, []uint64{1 << 20, 1 << 32}, r.results[4:6], "sqrti(2^40+12345), sqrti(2^64-1) (rounded to 2^64 as a double)")
		assert.Equal(t, uint64(1<<26), r.results[10], "sqrti through callx")
		assert.Equal(t, []uint64{mipstest.Errno(1), 1, 0}, r.results[6:9], "strcmp_ext")
		assert.Equal(t, []uint64{1000, 2000, 723471715}, []uint64{r.results[12], r.results[13], r.results[14]})
		assert.Equal(t, []uint64{3000}, r.results[17:18], "ktime through callx")
	})
	// Faults and stops in helpers: an unterminated string runs off the
	// block, memfrob's range is checked, a pointer with a high word stops.
	for _, last := range []mipstest.Step{
		call("ubpf_helper_4", pay(8), pay(0)),
		call("ubpf_helper_1", pay(4), k(100)),
		call("ubpf_helper_1", k(1<<33), k(1)),
		call("ubpf_helper_4", pay(0), k(1<<32)),
	} {
		forTargets(t, func(t *testing.T, target mips32.Target) {
			r := runSteps(t, target, mipstest.StepsProgram{Steps: []mipstest.Step{call("bpf_helper_8"), last}, Payload: payload})
			require.NotNil(t, r.res.Fault)
		})
	}
}
