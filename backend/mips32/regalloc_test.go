package mips32

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// A loop with more simultaneously live values than registers (forcing
// spills) and a runtime call (forcing callee-saved registers or slots).
const pressureIR = `
func pressure {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Const32 [0]
    Jump b1
b1: <- b0, b2
    v3:i32 = Phi v2, v40
    v10:i32 = Add32 v0, v3
    v11:i32 = Add32 v10, v1
    v12:i32 = Mul32 v11, v10
    v13:i32 = Xor32 v12, v0
    v14:i32 = Add32 v13, v11
    v15:i32 = Sub32 v14, v12
    v16:i32 = Or32 v15, v10
    v17:i32 = And32 v16, v13
    v18:i32 = Add32 v17, v14
    v19:i32 = Mul32 v18, v15
    v20:i32 = Add32 v19, v16
    v21:i32 = Xor32 v20, v17
    v22:i32 = Add32 v21, v18
    v23:i32 = Sub32 v22, v19
    v24:i32 = Add32 v23, v20
    v25:i32 = Xor32 v24, v21
    v26:i32 = Add32 v25, v22
    v27:i32 = Add32 v26, v23
    v28:i32 = Add32 v27, v24
    v29:i32 = Or32 v28, v25
    v30:i32 = Const32 [7]
    v31:pair = CallRuntime {__udivdi3} v29, v2, v30, v2
    v32:i32 = PairLo v31
    v33:i32 = Add32 v32, v10
    v34:i32 = Add32 v33, v11
    v35:i32 = Add32 v34, v12
    v36:i32 = Add32 v35, v13
    v37:i32 = Add32 v36, v14
    v38:i32 = Add32 v37, v15
    v39:i32 = Add32 v38, v16
    v41:i32 = Add32 v39, v17
    v42:i32 = Add32 v41, v18
    v43:i32 = Add32 v42, v19
    v44:i32 = Add32 v43, v20
    v45:i32 = Add32 v44, v21
    v46:i32 = Add32 v45, v22
    v47:i32 = Add32 v46, v23
    v48:i32 = Add32 v47, v24
    v49:i32 = Add32 v48, v25
    v50:i32 = Add32 v49, v26
    v51:i32 = Add32 v50, v27
    v52:i32 = Add32 v51, v28
    v40:i32 = Add32 v3, v30
    v53:i32 = LtU32 v40, v1
    If v53 -> b2, b3
b2: <- b1
    Jump b1
b3: <- b1
    Ret v52, v40
}
`

func allocated(t *testing.T) (*mfunc, *allocator) {
	t.Helper()
	f, err := ir.Parse(pressureIR)
	require.NoError(t, err)
	require.NoError(t, ir.Verify(f, ir.VerifyOptions{NoI64: true}))
	m, err := lower(f, DefaultTarget, nil)
	require.NoError(t, err)
	a, err := allocate(m)
	require.NoError(t, err)
	return m, a
}

func TestAllocationCheckerAcceptsAllocatorOutput(t *testing.T) {
	m, a := allocated(t)
	require.Positive(t, a.numSlots, "the test function must spill")
	require.NotEmpty(t, a.usedCalleeSaved, "values live across the call need callee-saved registers")
	require.NoError(t, checkAllocation(m, a.numSlots))
	_, err := Compile(mustParse(t, pressureIR), Options{Target: DefaultTarget, CheckAllocation: true})
	require.NoError(t, err)
}

func TestAllocationCheckerCatchesCorruption(t *testing.T) {
	corruptions := map[string]func(m *mfunc) bool{
		// Read an operand from a register that holds something else.
		"wrong register": func(m *mfunc) bool {
			for _, b := range m.blocks {
				for k := range b.insts {
					in := &b.insts[k]
					if in.Op == ADDU && in.Rs != in.Rt && !isSpillCode(in) {
						in.Rs = in.Rt
						return true
					}
				}
			}
			return false
		},
		// Drop a spill store: the later reload reads a stale slot.
		"missing spill store": func(m *mfunc) bool {
			for _, b := range m.blocks {
				for k := range b.insts {
					if isSpillCode(&b.insts[k]) && b.insts[k].Op == SW {
						b.insts[k] = Inst{Op: NOP}
						b.orig[k] = Inst{Op: NOP}
						return true
					}
				}
			}
			return false
		},
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			m, a := allocated(t)
			require.True(t, corrupt(m), "nothing to corrupt")
			require.Error(t, checkAllocation(m, a.numSlots))
		})
	}
	// Rematerialization and moves folded into spill code, on a function
	// of the filetests that has both.
	remat := map[string]func(m *mfunc) bool{
		"wrong rematerialized constant": func(m *mfunc) bool {
			return corruptFirst(m, func(in *Inst) bool {
				if in.Op == LI && in.Reloc == relocRemat {
					in.Imm++
					return true
				}
				return false
			})
		},
		"move folded into a store from the wrong register": func(m *mfunc) bool {
			for _, b := range m.blocks {
				for k := range b.insts {
					if in := &b.insts[k]; isSpillCode(in) && in.Op == SW && b.orig[k].Op == MOVE && in.Rt != ZERO {
						in.Rt = ZERO
						return true
					}
				}
			}
			return false
		},
	}
	for name, corrupt := range remat {
		t.Run(name, func(t *testing.T) {
			m, a := allocatedFiletest(t, "testdata/regalloc.ir", "constant_under_pressure")
			require.NoError(t, checkAllocation(m, a.numSlots))
			require.True(t, corrupt(m), "nothing to corrupt")
			require.Error(t, checkAllocation(m, a.numSlots))
		})
	}
}

func corruptFirst(m *mfunc, corrupt func(*Inst) bool) bool {
	for _, b := range m.blocks {
		for k := range b.insts {
			if corrupt(&b.insts[k]) {
				return true
			}
		}
	}
	return false
}

// allocatedFiletest selects and allocates a function of a filetest.
func allocatedFiletest(t *testing.T, path, name string) (*mfunc, *allocator) {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	funcs, err := ir.ParseAll(string(src))
	require.NoError(t, err)
	for _, f := range funcs {
		if f.Name != name {
			continue
		}
		m, err := lower(f, DefaultTarget, nil)
		require.NoError(t, err)
		hoistConstants(m, findLoops(m))
		a, err := allocate(m)
		require.NoError(t, err)
		return m, a
	}
	t.Fatalf("no function %s in %s", name, path)
	return nil, nil
}

// The allocation order is the register file's allocatable registers,
// each once.
func TestAllocationOrderCoversTheRegisterClasses(t *testing.T) {
	want := append(append([]Reg{}, CallerSaved...), CalleeSaved...)
	require.ElementsMatch(t, want, allocRegs)
}

func mustParse(t *testing.T, src string) *ir.Func {
	t.Helper()
	f, err := ir.Parse(src)
	require.NoError(t, err)
	return f
}
