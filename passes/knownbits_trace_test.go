package passes

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// Tracing runs for the known-bits soundness test: traceInstrument makes a
// copy of f (same value and block IDs) that appends every execution of a
// block and every result of an i32 value to a log in memory, and
// tracedRun runs it and returns the log — what a run computed, value by
// value. The log is a counter followed by (id, value) word pairs, a block
// entry being (-1-blockID, 0); AtomicAdd32 on the counter gives each record
// its slot. A log that outgrows its region faults the run, failing the test.

type traceRecord struct {
	id    int // value ID, or -1-blockID for a block entry
	value uint32
}

const (
	traceBase = 0x100000
	traceSize = 1 << 18
)

// traceInstrument returns the instrumented copy of f.
func traceInstrument(t *testing.T, f *ir.Func) *ir.Func {
	t.Helper()
	g, err := ir.Parse(f.String())
	require.NoError(t, err)
	for _, b := range g.Blocks {
		old := b.Values
		var out []*ir.Value
		emit := func(op ir.Op, typ ir.Type, args ...*ir.Value) *ir.Value {
			v := b.NewValue(op, typ, args...)
			out = append(out, v)
			return v
		}
		konst := func(c int32) *ir.Value {
			v := emit(ir.OpConst32, ir.I32)
			v.AuxInt = int64(c)
			return v
		}
		record := func(id int32, x *ir.Value) {
			base := konst(traceBase)
			idx := emit(ir.OpAtomicAdd32, ir.I32, base, konst(1))
			addr := emit(ir.OpAdd32, ir.I32, emit(ir.OpShl32, ir.I32, idx, konst(3)), base)
			st := emit(ir.OpStore32, ir.TypeVoid, addr, konst(id))
			st.AuxInt = 8
			st = emit(ir.OpStore32, ir.TypeVoid, addr, x)
			st.AuxInt = 12
		}
		i := 0
		for ; i < len(old) && old[i].Op == ir.OpPhi; i++ {
			out = append(out, old[i])
		}
		record(int32(-1-b.ID), konst(0))
		for _, v := range old[:i] {
			if v.Type == ir.I32 {
				record(int32(v.ID), v)
			}
		}
		for _, v := range old[i:] {
			out = append(out, v)
			if v.Type == ir.I32 {
				record(int32(v.ID), v)
			}
		}
		b.Values = out
	}
	return g
}

// tracedRun runs the instrumented function g on args and mem (to which it
// adds the log region) and returns the log.
func tracedRun(t *testing.T, g *ir.Func, args []uint32, mem *ir.RegionMemory) []traceRecord {
	t.Helper()
	mem.Regions = append(mem.Regions, &ir.Region{Base: traceBase, Data: make([]byte, traceSize), Name: "trace"})
	_, err := ir.Interpret(g, genInterp(args, mem))
	require.NoError(t, err, "instrumented\n%s", g)
	word := func(off uint32) uint32 {
		x, err := mem.Load(traceBase+off, 4)
		require.NoError(t, err)
		return uint32(x)
	}
	n := word(0)
	records := make([]traceRecord, n)
	for k := range n {
		records[k] = traceRecord{id: int(int32(word(8 + 8*k))), value: word(12 + 8*k)}
	}
	return records
}
