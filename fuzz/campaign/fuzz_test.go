package campaign

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// The native fuzz targets. Every input is read by ProgramFromInput (or,
// for FuzzCompile, CompileProgramFromInput: larger programs), so any input is
// a valid program and every failure is a compiler bug:
//
//	go test -run='^$' -fuzz='^FuzzDifferential$' -fuzztime=10m ./fuzz/campaign
//	go test -run='^$' -fuzz='^FuzzCompile$' -fuzztime=10m ./fuzz/campaign
//	go test -run='^$' -fuzz='^FuzzDeterminism$' -fuzztime=10m ./fuzz/campaign
//
// fuzz/ci.sh runs each for a few seconds; docs/fuzzing.md explains how to
// run a campaign and turn a finding into a regression test. The seed
// corpora are in testdata/fuzz/<Target>/, plus the seeds added below.

// addSeeds adds a few generated inputs of different lengths.
func addSeeds(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 16, 65, 200, 600} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		f.Add(data)
	}
}

// FuzzCompile: every generated program compiles at -O0 and -O2 for R1 and
// R2 with the IR verifier after every pass and the register-allocation
// checker on: never an error, never a panic.
func FuzzCompile(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := CompileProgramFromInput(data)
		for _, level := range DefaultLevels {
			for _, target := range DefaultTargets {
				_, err := pipeline.Compile(p, "prog", pipeline.Options{
					Target: target, OptLevel: level, VerifyEach: true, CheckAllocation: true,
				})
				require.NoError(t, err, "%s -O%d\n%s", target, level, bpf.Disassemble(p))
			}
		}
	})
}

// FuzzDifferential: reference interpreter, IR interpreter after lift and
// after every pass, and compiled code on the simulator agree on r0 and
// memory (CheckProgram).
func FuzzDifferential(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if finding := CheckInput(data, nil); finding != nil {
			t.Fatal(finding.String())
		}
	})
}

// FuzzDeterminism: two compilations agree on every IR dump and on the
// machine code (CheckDeterminism).
func FuzzDeterminism(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := ProgramFromInput(data, InputOptions)
		if finding := CheckDeterminism(p, nil); finding != nil {
			t.Fatal(finding.String())
		}
	})
}
