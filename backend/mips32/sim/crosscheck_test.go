package sim

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
)

// The cross-checks run the same machine code on the simulator and under
// qemu (the qemu engine, package backend/mips32/qemu) and compare the
// results, the final memory and the faults. Only little-endian runs:
// the qemu engine's runner needs a big-endian cross compiler this machine
// may lack; big-endian is cross-checked by the static harness of
// qemutrace_test.go.

// qemuSignal is the signal qemu-user raises for each fault kind the
// simulator reports at an instruction.
var qemuSignal = map[FaultKind]string{
	AddressError:        "SIGBUS",
	Unmapped:            "SIGSEGV",
	StackOverflow:       "SIGSEGV",
	ReservedInstruction: "SIGILL",
	IntegerOverflow:     "SIGFPE",
	Trap:                "SIGTRAP",
	Breakpoint:          "SIGTRAP",
}

// crossCheck runs code from label f on both engines and compares.
func crossCheck(t *testing.T, e *qemu.Engine, m *Machine, name string, obj *mipstest.Object, mem []byte) {
	t.Helper()
	crossCheckAt(t, e, m, name, obj, obj.Labels["f"], mem)
}

func crossCheckAt(t *testing.T, e *qemu.Engine, m *Machine, name string, obj *mipstest.Object, entry uint32, mem []byte) {
	t.Helper()
	want, err := e.Run(obj.Code, obj.Relocs, entry, mem)
	require.NoError(t, err, name)
	got, err := m.Run(obj.Code, obj.Relocs, entry, mem)
	require.NoError(t, err, name)
	compareWithQemu(t, name, got, want)
}

func compareWithQemu(t *testing.T, name string, got *Result, want *qemu.Result) {
	t.Helper()
	assert.Equal(t, want.MemAddr, got.MemAddr, "%s: memory block address", name)
	assert.Equal(t, want.Mem, got.Mem, "%s: memory", name)
	switch {
	case want.Fault == nil:
		if assert.Nil(t, got.Fault, "%s: qemu returned %#x", name, want.R0) {
			assert.Equal(t, want.R0, got.R0, "%s: r0", name)
		}
	case want.Fault.ABI != "":
		if assert.NotNil(t, got.Fault, "%s: qemu: %v", name, want.Fault) {
			assert.Equal(t, ABIViolation, got.Fault.Kind, name)
			assert.Equal(t, want.R0, got.R0, "%s: r0", name)
		}
	default:
		if !assert.NotNil(t, got.Fault, "%s: qemu faulted: %v", name, want.Fault) {
			return
		}
		assert.Equal(t, want.Fault.Signal, qemuSignal[got.Fault.Kind], "%s: %v vs qemu's %v", name, got.Fault, want.Fault)
		assert.Equal(t, want.Fault.InCode, got.Fault.InCode, "%s: %v vs qemu's %v", name, got.Fault, want.Fault)
		if want.Fault.InCode {
			assert.Equal(t, want.Fault.PC, got.Fault.PC, "%s: fault PC: %v vs qemu's %v", name, got.Fault, want.Fault)
		}
		if want.Fault.Signal == "SIGSEGV" || want.Fault.Signal == "SIGBUS" {
			assert.Equal(t, want.Fault.Addr, got.Fault.Addr, "%s: fault address", name)
		}
	}
}

// crossTargets are the targets the qemu engine runs.
var crossTargets = []mips32.Target{r2el, r1el}

func TestCrossCheckSnippets(t *testing.T) {
	for _, target := range crossTargets {
		t.Run(target.String(), func(t *testing.T) {
			e := requireQemu(t, target)
			m := newMachine(t, Options{Target: target})
			var srcs []string
			var mems [][]byte
			var names []string
			for _, c := range append(append([]regCase(nil), branchCases...), aluCases...) {
				if !c.r2 || target.HasR2() {
					srcs, mems, names = append(srcs, c.src()), append(mems, nil), append(names, c.name)
				}
			}
			for _, c := range memCases() {
				if (!c.r2 || target.HasR2()) && c.qemuDiffers == "" {
					srcs, mems, names = append(srcs, c.src()), append(mems, c.mem), append(names, c.name)
				}
			}
			obj, entries := assembleBatch(t, target, srcs)
			for i, name := range names {
				crossCheckAt(t, e, m, name, obj, entries[i], mems[i])
			}
		})
	}
}

// compareQuiet reports whether got agrees with qemu's want, as
// compareWithQemu checks it.
func compareQuiet(got *Result, want *qemu.Result) bool {
	if got.MemAddr != want.MemAddr || !bytes.Equal(got.Mem, want.Mem) {
		return false
	}
	switch {
	case want.Fault == nil:
		return got.Fault == nil && got.R0 == want.R0
	case want.Fault.ABI != "":
		return got.Fault != nil && got.Fault.Kind == ABIViolation && got.R0 == want.R0
	}
	f, w := got.Fault, want.Fault
	if f == nil || qemuSignal[f.Kind] != w.Signal || f.InCode != w.InCode || (w.InCode && f.PC != w.PC) {
		return false
	}
	return !(w.Signal == "SIGSEGV" || w.Signal == "SIGBUS") || f.Addr == w.Addr
}
