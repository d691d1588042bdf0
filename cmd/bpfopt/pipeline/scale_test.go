package pipeline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// Compile scaling: compile time and memory must grow linearly with the
// program. The programs come from progen.GenerateLarge — branches, loops,
// memory and stack accesses, atomics and division calls, nine live 64-bit
// registers throughout — at sizes from 1,000 to 1,000,000 instructions.
//
//	go test -run '^$' -bench CompileScale -benchtime 1x ./cmd/bpfopt/pipeline
//
// reports, per size and optimization level, elapsed and CPU ns/insn,
// allocated B/insn and the peak heap in use (sampled during the compile);
// docs/results.md holds the table.

// scaleMemSize is the packet size the scaling programs access.
const scaleMemSize = 256

var scaleOpts = progen.Options{MemSize: scaleMemSize, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true}

// scaleProgram is the scaling program of about n instructions; a fixed
// seed per size keeps every measurement on the same program.
func scaleProgram(n int) *bpf.Program {
	r := rand.New(rand.NewPCG(uint64(n), 0x5ca1e))
	return progen.GenerateLarge(r, n, scaleOpts)
}

// scaleMem is the packet the scaling programs run on.
func scaleMem() []byte {
	mem := make([]byte, scaleMemSize)
	for i := range mem {
		mem[i] = byte(i*37 + 11)
	}
	return mem
}

// TestLargeProgramRuns compiles a 100,000-instruction scaling program at
// -O2 and runs it on the simulator against the reference interpreter.
func TestLargeProgramRuns(t *testing.T) {
	const n = 100_000
	p := scaleProgram(n)
	require.GreaterOrEqual(t, len(p.Insns), n)
	refMem := scaleMem()
	want, err := bpf.Interpret(p, bpf.RunConfig{Mem: refMem, MaxSteps: progen.LargeStepBound(n)})
	require.NoError(t, err)

	target := mips32.DefaultTarget
	res, err := Compile(p, "large", Options{Target: target, OptLevel: 2, CheckAllocation: true})
	require.NoError(t, err)
	e, err := NewEngine("sim", target)
	require.NoError(t, err)
	got, err := e.Run(res.Module, 0, scaleMem())
	require.NoError(t, err)
	require.Nil(t, got.Fault)
	require.Equal(t, want, got.R0, "r0")
	require.True(t, bytes.Equal(refMem, got.Mem), "memory: got %x, want %x", got.Mem, refMem)
	// The one exit is at the end (progen's large_test.go), so the run goes
	// through every section.
	require.Greater(t, got.Stats.Insns, int64(n), "executed MIPS instructions")
}

// TestCompileAllocationLinear checks that the bytes a compile allocates grow
// linearly: per instruction, 100,000 instructions may cost at most 1.5
// times what 10,000 do. (Allocation, unlike time, does not depend on the
// machine's load; a quadratic copy of a block's values shows up here.)
func TestCompileAllocationLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 110,000 instructions")
	}
	perInsn := func(n int) float64 {
		p := scaleProgram(n)
		m := measureCompile(t, p, 2)
		return float64(m.allocated) / float64(len(p.Insns))
	}
	small, large := perInsn(10_000), perInsn(100_000)
	t.Logf("allocated per instruction: %.0f B at 10k, %.0f B at 100k", small, large)
	require.Less(t, large, 1.5*small, "allocation per instruction grows with program size")
}

// compileMeasure is one compile's cost.
type compileMeasure struct {
	elapsed   time.Duration
	cpu       time.Duration // user and system time of the whole process (GC included)
	allocated uint64        // bytes allocated during the compile
	peakHeap  uint64        // most heap bytes in use at any sample, before or after a GC
	peakSys   uint64        // most memory mapped by the Go runtime at any sample
	code      int           // bytes of MIPS code
}

// measureCompile compiles p once at the given level, sampling the heap
// every millisecond.
func measureCompile(tb testing.TB, p *bpf.Program, level int) compileMeasure {
	tb.Helper()
	runtime.GC()
	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	var m compileMeasure
	sample := func() {
		metrics.Read(samples)
		m.peakHeap = max(m.peakHeap, samples[1].Value.Uint64())
		m.peakSys = max(m.peakSys, samples[2].Value.Uint64()-samples[3].Value.Uint64())
	}
	sample()
	allocBefore := samples[0].Value.Uint64()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	start, cpuStart := time.Now(), processCPU()
	res, err := Compile(p, "scale", Options{Target: mips32.DefaultTarget, OptLevel: level})
	m.elapsed, m.cpu = time.Since(start), processCPU()-cpuStart
	close(done)
	wg.Wait()
	sample()
	if err != nil {
		tb.Fatal(err)
	}
	m.allocated = samples[0].Value.Uint64() - allocBefore
	m.code = len(res.Module.Code)
	return m
}

// BenchmarkCompileScale compiles the scaling programs; one iteration per
// size is enough (-benchtime 1x) and keeps the 1M case to one compile.
func BenchmarkCompileScale(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		var p *bpf.Program // made by the first sub-benchmark that runs
		for _, level := range []int{2, 0} {
			b.Run(fmt.Sprintf("%s/O%d", sizeName(n), level), func(b *testing.B) {
				if p == nil {
					p = scaleProgram(n)
				}
				var total compileMeasure
				runs := 0
				for b.Loop() {
					m := measureCompile(b, p, level)
					total.elapsed += m.elapsed
					total.cpu += m.cpu
					total.allocated += m.allocated
					total.peakHeap = max(total.peakHeap, m.peakHeap)
					total.peakSys = max(total.peakSys, m.peakSys)
					total.code = m.code
					runs++
				}
				insns := float64(len(p.Insns) * runs)
				b.ReportMetric(float64(len(p.Insns)), "bpf_insns")
				b.ReportMetric(float64(total.elapsed.Nanoseconds())/insns, "ns/insn")
				b.ReportMetric(float64(total.cpu.Nanoseconds())/insns, "cpu_ns/insn")
				b.ReportMetric(float64(total.allocated)/insns, "B/insn")
				b.ReportMetric(float64(total.peakHeap)/(1<<20), "peak_heap_MB")
				b.ReportMetric(float64(total.peakSys)/(1<<20), "peak_sys_MB")
				b.ReportMetric(float64(total.code), "code_bytes")
			})
		}
	}
}

// processCPU is the CPU time the process has used: on a shared machine
// it varies less than the elapsed time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}
