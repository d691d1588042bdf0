package passes

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

const pipelineSrc = `func p {
b0:
    v1:i32 = Arg [0]
    v2:i64 = ZeroExt32to64 v1
    v3:i32 = Const32 [1]
    If v3 -> b1, b2
b1: <- b0
    Jump b2
b2: <- b0, b1
    v4:i64 = Phi v2, v2
    Ret v4
}
`

func parseOrFail(t *testing.T, src string) *ir.Func {
	t.Helper()
	f, err := ir.Parse(src)
	require.NoError(t, err)
	return f
}

func TestSelectLevels(t *testing.T) {
	names := func(level int) []string {
		list, err := Select(level, nil)
		require.NoError(t, err)
		return passNames(list)
	}
	assert.Equal(t, []string{"legalize64", "splitcrit"}, names(0))
	assert.Equal(t, []string{"legalize64", "simplify", "deadcode", "cfg", "align", "splitcrit"}, names(1))
	assert.Equal(t, []string{"promote", "ranges", "ptrcmp", "legalize64", "simplify", "deadcode", "memfwd", "strength", "cse",
		"bounds", "sccp", "cfg", "ifconv", "licm", "align", "splitcrit"}, names(2))
	for _, bad := range []int{-1, MaxLevel + 1} {
		_, err := Select(bad, nil)
		assert.ErrorContains(t, err, "out of range")
	}
	list, err := Select(0, []string{"legalize64", "deadcode"})
	require.NoError(t, err)
	assert.Equal(t, []string{"legalize64", "deadcode"}, passNames(list))
	_, err = Select(0, []string{"legalize64", "nosuchpass"})
	assert.ErrorContains(t, err, `unknown pass "nosuchpass"`)
}

func TestOrderingConstraints(t *testing.T) {
	_, err := Select(0, []string{"splitcrit", "deadcode"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "splitcrit must come after deadcode")
	assert.Contains(t, err.Error(), "phi moves on edges", "the error gives the reason")

	_, err = Select(0, []string{"deadcode", "legalize64"})
	assert.ErrorContains(t, err, "legalize64 must come before deadcode")
	_, err = Select(0, []string{"cse", "simplify"})
	assert.ErrorContains(t, err, "simplify must come before cse")
	_, err = Select(0, []string{"cfg", "sccp"})
	assert.ErrorContains(t, err, "sccp must come before cfg")

	// NeedsI32Only implies "legalize64 before", checked on any list.
	needy := &Pass{Name: "needy", NeedsI32Only: true, Run: func(*ir.Func, *Config) (Stats, error) { return nil, nil }}
	legalize, _ := Lookup("legalize64")
	assert.ErrorContains(t, checkOrder([]*Pass{needy, legalize}), "needy assumes i32-only IR")
	assert.NoError(t, checkOrder([]*Pass{legalize, needy}))
	assert.NoError(t, checkOrder(passTable), "the table itself obeys every constraint")
}

func TestRunReportAndDump(t *testing.T) {
	f := parseOrFail(t, pipelineSrc)
	var dump bytes.Buffer
	rep, err := Run(f, 1, &Config{VerifyEach: true, DumpAfter: "legalize64,splitcrit", Dump: &dump})
	require.NoError(t, err)
	require.Len(t, rep.Passes, 6)
	leg := rep.Passes[0]
	assert.Equal(t, "legalize64", leg.Pass)
	assert.Equal(t, 4, leg.ValuesBefore)
	assert.Equal(t, 2, leg.Stats["values split"], "the ZeroExt32to64 and the phi")
	simp := rep.Passes[1]
	assert.Equal(t, "simplify", simp.Pass)
	assert.Equal(t, 2, simp.Stats["values forwarded"], "both half-phis have one distinct argument")
	dc := rep.Passes[2]
	assert.Equal(t, 1, dc.Stats["branches folded"])
	assert.Zero(t, dc.Stats["phis removed"], "simplify already forwarded them")
	assert.Equal(t, 3, dc.BlocksAfter, "no block is unreachable, and deadcode merges no blocks")
	cfg := rep.Passes[3]
	assert.Equal(t, "cfg", cfg.Pass)
	assert.Equal(t, 1, cfg.BlocksAfter, "b0 -> b1 -> b2 is one straight line")
	assert.Equal(t, "align", rep.Passes[4].Pass)
	assert.Empty(t, rep.Passes[5].Stats, "folding removed the only critical edge, b0 -> b2")
	assert.Contains(t, rep.String(), "p deadcode")

	out := dump.String()
	assert.True(t, strings.HasPrefix(out, "; after legalize64\nfunc p {\n"), out)
	assert.Contains(t, out, "; after splitcrit\nfunc p {\n")
	assert.NotContains(t, out, "; after deadcode")
	assert.Equal(t, 2, strings.Count(out, "func p {"))
}

func TestDumpAfterErrors(t *testing.T) {
	f := parseOrFail(t, pipelineSrc)
	_, err := Run(f, 0, &Config{DumpAfter: "all"})
	assert.ErrorContains(t, err, "Dump is nil")
	_, err = Run(f, 0, &Config{DumpAfter: "nosuch", Dump: &bytes.Buffer{}})
	assert.ErrorContains(t, err, `dump after unknown pass "nosuch"`)
}

// A pass that breaks the function is named by VerifyEach.
func TestVerifyEachNamesTheBreakingPass(t *testing.T) {
	breaker := &Pass{Name: "breaker", Run: func(f *ir.Func, _ *Config) (Stats, error) {
		b := f.Blocks[0]
		b.Values[0].Type = ir.I64 // Arg is i32 by the op table
		return nil, nil
	}}
	f := parseOrFail(t, pipelineSrc)
	_, err := runList(f, []*Pass{breaker}, &Config{VerifyEach: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pass breaker broke function p")

	// After legalize64, an i64 left by a later pass is caught (NoI64).
	leaker := &Pass{Name: "leaker", Run: func(f *ir.Func, _ *Config) (Stats, error) {
		v := f.Blocks[0].NewValueAt(0, ir.OpConst64, ir.I64)
		v.AuxInt = 1
		return nil, nil
	}}
	legalize, _ := Lookup("legalize64")
	f = parseOrFail(t, pipelineSrc)
	_, err = runList(f, []*Pass{legalize, leaker}, &Config{VerifyEach: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pass leaker broke function p")

	// The same leak before legalize64 is legal.
	f = parseOrFail(t, pipelineSrc)
	_, err = runList(f, []*Pass{leaker}, &Config{VerifyEach: true})
	assert.NoError(t, err)

	// Invalid input is reported as such, before any pass runs.
	f = parseOrFail(t, pipelineSrc)
	f.Blocks[0].Values[0].Type = ir.I64
	_, err = runList(f, []*Pass{legalize}, &Config{VerifyEach: true})
	assert.ErrorContains(t, err, "input of the pipeline is invalid")
}

func TestAnalysisPassMustNotChangeTheFunction(t *testing.T) {
	sneaky := &Pass{Name: "sneaky", Kind: Analysis, Run: func(f *ir.Func, _ *Config) (Stats, error) {
		f.Blocks[0].Values[0].Comment = "changed"
		return nil, nil
	}}
	f := parseOrFail(t, pipelineSrc)
	_, err := runList(f, []*Pass{sneaky}, &Config{VerifyEach: true})
	assert.ErrorContains(t, err, "analysis pass sneaky changed function p")
}

// Legalizing legal IR changes nothing: the pass is idempotent.
func TestLegalize64Idempotent(t *testing.T) {
	f := parseOrFail(t, pipelineSrc)
	_, err := Run(f, 0, &Config{Passes: []string{"legalize64"}, VerifyEach: true})
	require.NoError(t, err)
	once := f.String()
	rep, err := Run(f, 0, &Config{Passes: []string{"legalize64"}, VerifyEach: true})
	require.NoError(t, err)
	assert.Equal(t, once, f.String())
	assert.Empty(t, rep.Passes[0].Stats)
}

// Bad input gives errors, not panics.
func TestLegalize64RejectsUnknownCall(t *testing.T) {
	f := parseOrFail(t, `func bad {
b0:
    v1:i64 = Const64 [1]
    v2:i64 = CallRuntime {no_such_function} v1
    Ret v2
}
`)
	_, err := Run(f, 0, &Config{Passes: []string{"legalize64"}})
	assert.ErrorContains(t, err, `unknown runtime function "no_such_function"`)
}
