package qemu

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
)

// Tests of the maps and the tail-call lookup of runner/maps.c, through
// steps programs (mipstest) whose data holds struct bpf_map objects; the
// simulator's runtime runs the same programs against this one. Expected
// values come from the kernel's semantics as maps.c documents them,
// written out here.

// stepsRun is the outcome of a steps program.
type stepsRun struct {
	res     *Result
	obj     *mipstest.Object
	results []uint64
	payload []byte
}

func runSteps(t *testing.T, e *Engine, march string, steps []mipstest.Step, data string, payload []byte) stepsRun {
	t.Helper()
	mem := append(make([]byte, 8*len(steps)), payload...)
	res, obj := runModule(t, e, march, mipstest.StepsSource(steps, data), "f", mem)
	r := stepsRun{res: res, obj: obj}
	if res.Mem != nil {
		for i := range steps {
			r.results = append(r.results, binary.LittleEndian.Uint64(res.Mem[8*i:]))
		}
		r.payload = res.Mem[8*len(steps):]
	}
	return r
}

func runProgram(t *testing.T, e *Engine, march string, p mipstest.StepsProgram) stepsRun {
	t.Helper()
	return runSteps(t, e, march, p.Steps, p.Data, p.Payload)
}

var (
	errno = mipstest.Errno
	le32  = mipstest.LE32
)

// TestArrayMap: mipstest.ArrayMapProgram; values persist within a run but
// not across runs.
func TestArrayMap(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		var first stepsRun
		for run := range 2 {
			r := runProgram(t, e, march, mipstest.ArrayMapProgram())
			requireReturned(t, r.res)
			res := r.results
			p0 := res[0]
			assert.Equal(t, uint64(sim.HeapBase), p0, "the first map's values start the heap, at HEAP_HINT, where the simulator's is")
			assert.Equal(t, []uint64{p0 + 16, p0 + 32, 0, 0}, res[1:5], "values at a stride of 12 rounded up to 8; out of range: 0")
			assert.Equal(t, le32(0x21212121, 0x22222222, 0x23232323), r.payload[40:52], "initial contents")
			assert.Equal(t, p0+32, res[6], "unaligned key")
			assert.Equal(t, []byte("abcdefghijkl"), r.payload[52:64], "updated value")
			assert.Equal(t, []uint64{0, errno(mipstest.E2BIG), errno(mipstest.EEXIST), 0, errno(mipstest.EINVAL), errno(mipstest.EINVAL), errno(mipstest.EINVAL)},
				[]uint64{res[7], res[9], res[10], res[11], res[12], res[13], res[14]}, "update ANY, out of range, NOEXIST, EXIST, flags 3, flags 1<<32; delete")
			assert.Equal(t, []byte("abcdefghijkl"), r.payload[64:76], "BPF_EXIST updated element 0")
			assert.Equal(t, res[16], res[19])
			assert.Equal(t, le32(0), r.payload[76:80], "no initial contents: zeroed")
			assert.Equal(t, le32(0xfeedf00d), r.payload[80:84], "a store through the value persists within the run")
			assert.Equal(t, []uint64{res[16], 0}, res[21:23], "lookup and update through bpf_callx")
			assert.Equal(t, []byte("abcdefghijkl"), r.payload[84:96])
			assert.Equal(t, errno(mipstest.EINVAL), res[24])
			if run == 0 {
				first = r
			} else {
				assert.Equal(t, first.res.Mem, r.res.Mem, "the second run starts from the initial contents again")
			}
		}
	})
}

// TestHashMap: mipstest.HashMapProgram, and a fresh table every run.
func TestHashMap(t *testing.T) {
	value := func(i int) []byte { return binary.LittleEndian.AppendUint64(nil, 0x1111111111111111*uint64(i+1)) }
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		var first stepsRun
		for run := range 2 {
			r := runProgram(t, e, march, mipstest.HashMapProgram())
			requireReturned(t, r.res)
			res := r.results
			assert.Equal(t, uint64(0), res[0], "absent")
			assert.Equal(t, uint64(0), res[1])
			// struct hash (32), 4 buckets (16), then nodes of 8 + 8 + 8
			// bytes: the first node's value is at 32+16+16.
			assert.Equal(t, uint64(sim.HeapBase+64), res[2])
			assert.Equal(t, value(0), r.payload[96:104])
			assert.Equal(t, []uint64{errno(mipstest.EEXIST), errno(mipstest.ENOENT), 0}, res[4:7], "NOEXIST present, EXIST absent, EXIST present")
			assert.Equal(t, value(2), r.payload[104:112])
			assert.Equal(t, []uint64{0, 0, 0, errno(mipstest.E2BIG), errno(mipstest.E2BIG), errno(mipstest.ENOENT), 0, 0}, res[9:17],
				"three more keys; the fifth: full (ANY, NOEXIST), absent (EXIST); a present key updates in a full table")
			assert.Equal(t, []uint64{errno(mipstest.ENOENT), 0, 0, errno(mipstest.ENOENT), 0}, res[17:22], "delete absent, present; lookup and delete after the delete; insert after the delete")
			assert.Equal(t, res[2]+48, res[22], "K4 reuses K2's node, the third")
			assert.Equal(t, value(4), r.payload[112:120])
			assert.Equal(t, value(5), r.payload[120:128], "K3 was updated to V5")
			assert.Equal(t, value(1), r.payload[128:136])
			assert.Equal(t, errno(mipstest.EINVAL), res[28])
			assert.Equal(t, []uint64{0, 0, 0}, res[29:32], "delete, lookup, update through bpf_callx")
			assert.NotZero(t, res[32])
			if run == 0 {
				first = r
			} else {
				assert.Equal(t, first.res.Mem, r.res.Mem, "the second run starts from an empty table again")
			}
		}
	})
}

// TestHashMapMany: mipstest.HashMapManyProgram with 40 entries.
func TestHashMapMany(t *testing.T) {
	const n = 40
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		r := runProgram(t, e, march, mipstest.HashMapManyProgram(n))
		requireReturned(t, r.res)
		for i := range n {
			assert.Equal(t, uint64(0), r.results[i], "insert %d", i)
			assert.Equal(t, uint32(3*i+1), binary.LittleEndian.Uint32(r.payload[8*(n+1)+4*i:]), "value %d", i)
		}
		assert.Equal(t, errno(mipstest.E2BIG), r.results[n], "insert into the full table")
	})
}

// TestProgArray: mipstest.ProgArrayProgram.
func TestProgArray(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		var first stepsRun
		for run := range 2 {
			r := runProgram(t, e, march, mipstest.ProgArrayProgram())
			requireReturned(t, r.res)
			res := r.results
			a, b := res[0], res[1]
			require.NotZero(t, a)
			assert.Equal(t, uint64(r.obj.Labels["prog_b"]-r.obj.Labels["prog_a"]), b-a)
			assert.Equal(t, []uint64{a, 0, b, 0, b, 0}, res[2:8], "slots 0..2, out of range, index 1<<32|2, 0xffffffff")
			assert.Equal(t, uint64(0xa), res[8], "the slot's address runs prog_a")
			assert.Equal(t, uint64(0), res[9], "no lookups in prog arrays")
			assert.Equal(t, []uint64{0, b}, res[10:12], "update")
			assert.Equal(t, []uint64{errno(mipstest.EINVAL), errno(mipstest.E2BIG)}, res[12:14], "update with BPF_NOEXIST, out of range")
			assert.Equal(t, []uint64{0, 0, errno(mipstest.ENOENT), errno(mipstest.E2BIG)}, res[14:18], "delete, then the slot is empty")
			assert.Equal(t, uint64(0xb), res[18])
			assert.Equal(t, []uint64{0, 0, 0}, res[19:22], "no initial contents; not prog arrays")
			assert.Equal(t, []uint64{0, 0}, res[22:24], "delete through bpf_callx")
			if run == 0 {
				first = r
			} else {
				assert.Equal(t, first.res.Mem, r.res.Mem, "the second run starts from the initial contents again")
			}
		}
	})
}

// TestRuntimeErrors: bad pointers, bad map objects and unknown helper IDs
// stop the program with a message naming the call site; reads of
// unmapped memory fault. The engine goes on.
func TestRuntimeErrors(t *testing.T) {
	bothRevisions(t, func(t *testing.T, e *Engine, march string) {
		for _, tc := range mipstest.RuntimeErrorCases() {
			t.Run(tc.Name, func(t *testing.T) {
				r := runSteps(t, e, march, mipstest.RuntimeErrorSteps(tc), mipstest.RuntimeErrorData, mipstest.RuntimeErrorPayload)
				require.NotNil(t, r.res.Fault)
				assert.NotZero(t, r.results[0], "the steps before ran")
				ok := runSnippet(t, e, "mips32", "f:\tli $v0, 42\n\tjr $ra\n\tli $v1, 7\n", "f", nil)
				requireReturned(t, ok)
				if tc.Stop == "" {
					assert.Equal(t, "SIGSEGV", r.res.Fault.Signal, "%v", r.res.Fault)
					return
				}
				want := tc.Stop
				if tc.MapSym != "" {
					want = fmt.Sprintf(tc.Stop, fmt.Sprintf("%08x", uint32(r.results[1])))
				}
				if strings.HasSuffix(want, " ") || strings.HasSuffix(want, "0x") {
					assert.True(t, strings.HasPrefix(r.res.Fault.Stop, want), "got %q, want a message starting %q", r.res.Fault.Stop, want)
				} else {
					assert.Equal(t, want, r.res.Fault.Stop)
				}
				assert.True(t, r.res.Fault.InCode)
				assert.Equal(t, r.obj.Labels["step2"], r.res.Fault.PC)
			})
		}
		// A map that is not a prog array has no tail-call targets, whatever
		// its type.
		r := runSteps(t, e, march, []mipstest.Step{mipstest.Tail("unknown", 0), mipstest.Tail("h", 0)}, mipstest.RuntimeErrorData, nil)
		requireReturned(t, r.res)
		assert.Equal(t, []uint64{0, 0}, r.results)
	})
}
