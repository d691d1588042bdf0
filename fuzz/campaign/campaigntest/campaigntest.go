// Package campaigntest holds planted compiler bugs for testing the fuzz
// tooling: a campaign, reducer or command-line front end proves that it
// finds, shrinks and stores a real miscompile by running with one of these
// passes in the pipeline (campaign.Config.Passes).
//
// Import rule: ir and passes only, so that campaign's own tests can
// import it; nothing outside tests may.
package campaigntest

import (
	"slices"
	"strings"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// XorToAdd is a planted miscompile: it turns every 32-bit xor into an add.
// Run after legalize64, it breaks every program whose result depends on an
// xor of values that share a set bit.
var XorToAdd = &passes.Pass{Name: "xor-to-add", Run: func(f *ir.Func, _ *passes.Config) (passes.Stats, error) {
	n := 0
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpXor32 {
				v.Op = ir.OpAdd32
				n++
			}
		}
	}
	return passes.Stats{"broken": n}, nil
}}

// InSubprograms is pass p restricted to subprograms: it leaves a
// program's entry alone, so the bug it plants shows only through a call.
// Subprograms are the functions the lifter names ENTRY__SUB.
func InSubprograms(p *passes.Pass) *passes.Pass {
	q := *p
	q.Name = p.Name + "-in-subprograms"
	q.Run = func(f *ir.Func, c *passes.Config) (passes.Stats, error) {
		if !strings.Contains(f.Name, "__") {
			return nil, nil
		}
		return p.Run(f, c)
	}
	return &q
}

// WithPass returns a campaign.Config.Passes function that runs the level's
// passes with extra right after legalize64 (which every level runs; -O2
// runs promote and ranges before it, on i64 code).
func WithPass(extra *passes.Pass) func(level int) ([]*passes.Pass, error) {
	return func(level int) ([]*passes.Pass, error) {
		list, err := passes.Select(level, nil)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(list, func(p *passes.Pass) bool { return p.Name == "legalize64" })
		return slices.Insert(list, i+1, extra), nil
	}
}
