package campaign

import (
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// TestRandomCampaign checks generated programs of every shape the fuzz
// input format does not reach — long bodies (register pressure, long
// branches), odd and empty memory sizes, no loops, no subprograms — on
// all cores. It runs a few seconds' worth by default;
// BPFOPT_CAMPAIGN_SECONDS sets a duration for a real campaign and
// BPFOPT_CAMPAIGN_INSNS the maximum body length (default 150). A finding
// is reduced before it is reported.
func TestRandomCampaign(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("BPFOPT_CAMPAIGN_SECONDS"))
	count := 0 // programs per worker when no duration is given
	if secs <= 0 {
		count = 60
		if testing.Short() {
			count = 10
		}
	}
	insns := 150
	if n, err := strconv.Atoi(os.Getenv("BPFOPT_CAMPAIGN_INSNS")); err == nil && n > 0 {
		insns = n
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	seed0 := uint64(time.Now().UnixNano())
	if count > 0 {
		seed0 = 0x5eed // CI runs the same programs every time
	}
	var checked, failed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; count > 0 && i < count || count == 0 && time.Now().Before(deadline); i++ {
				seed := seed0 + uint64(w)<<32 + uint64(i)
				r := rand.New(rand.NewPCG(seed, 0xca3a))
				o := InputOptions
				o.MaxInsns = insns
				o.MemSize = []int{64, 13, 7, 1, 0, 256, 33}[i%7]
				o.Loops = i%3 != 0
				o.Calls = i%2 == 1 // the fuzz inputs always have subprograms
				p := progen.Generate(r, o)
				mem := make([]byte, o.MemSize)
				for k := range mem {
					mem[k] = byte(r.Uint32())
				}
				checked.Add(1)
				cfg := &Config{MaxSteps: progen.StepBound(o)}
				f := CheckProgram(p, mem, cfg)
				if f == nil || failed.Add(1) > 2 {
					continue
				}
				q, qmem := Reduce(p, mem, SameFailure(f, cfg))
				if g := CheckProgram(q, qmem, cfg); g != nil {
					f = g
				}
				mu.Lock()
				t.Errorf("seed %#x (%d instructions, reduced to %d):\n%s", seed, len(p.Insns), len(f.Program.Insns), f.String())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d programs checked, %d findings", checked.Load(), failed.Load())
}
