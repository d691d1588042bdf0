package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// promote's differential tests. The stack dies at return, and promote
// deletes stores, so these compare as memfwd's test does
// (checkStackPass): results, every region but the stack, and the bytes a
// tail call sees. The functions are memfwd's stack functions, before
// legalize64 (promote's place in the pipeline: i64 slots, r10 as the
// lifter makes it) and after it (i32 slots only), and the shared
// srcShapes (spills in loops, pointers walking the stack).

func TestPromoteDifferential(t *testing.T) {
	funcs := 1200
	if testing.Short() {
		funcs = 240
	}
	r := rand.New(rand.NewPCG(17, 3))
	alone := func(f *ir.Func, c *Config) (Stats, error) { return promotePass(f, c) }
	// promote then the passes that follow it up to memfwd, whose dead
	// store removal and forwarding see what promote left.
	prefix := func(f *ir.Func, c *Config) (Stats, error) {
		rep, err := Run(f, 0, &Config{BigEndian: c.BigEndian, VerifyEach: true,
			Passes: []string{"promote", "ranges", "legalize64", "simplify", "deadcode", "memfwd", "cse", "ifconv"}})
		if err != nil {
			return nil, err
		}
		return rep.Passes[0].Stats, nil
	}
	gens := []struct {
		name string
		gen  func(i int) *ir.Func
	}{
		{"wide", func(i int) *ir.Func { return genStackFuncOf(r, fmt.Sprintf("wide%d", i), true, true) }},
		{"stack", func(i int) *ir.Func { return genStackFuncOf(r, fmt.Sprintf("stack%d", i), false, true) }},
		{"shapes", func(i int) *ir.Func {
			f := srcShapes.gen(r, fmt.Sprintf("shapes%d", i))
			_, err := Run(f, 0, &Config{Passes: srcShapes.setup, VerifyEach: true})
			require.NoError(t, err)
			return f
		}},
	}
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			total := Stats{}
			for i := range funcs / len(gens) {
				f := g.gen(i)
				require.NoError(t, ir.Verify(f, ir.VerifyOptions{}), "the generator made invalid IR:\n%s", f)
				pass := alone
				if i%3 == 2 && g.name == "wide" {
					pass = prefix
				}
				for k, n := range checkStackPass(t, r, f, i%4 >= 2, 6, pass) {
					total[k] += n
				}
			}
			t.Logf("%d functions: %v", funcs/len(gens), total)
			require.Positive(t, total["loads promoted"])
			require.Positive(t, total["slots promoted"])
			if g.name != "shapes" { // its functions with spills have no tail calls... nor other stores
				require.Positive(t, total["stores removed"])
			}
		})
	}
}
