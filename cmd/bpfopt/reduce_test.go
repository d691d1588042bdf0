package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign"
	"github.com/bpfopt/bpfopt/fuzz/campaign/campaigntest"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// plantedConfig is the campaign configuration with a planted miscompile
// (every 32-bit xor becomes an add, right after legalize64).
func plantedConfig() *campaign.Config {
	return &campaign.Config{Passes: campaigntest.WithPass(campaigntest.XorToAdd)}
}

// plantBug makes the reduce command check with the planted miscompile for
// the rest of the test.
func plantBug(t *testing.T) {
	reduceHook = func(c *campaign.Config) { c.Passes = plantedConfig().Passes }
	t.Cleanup(func() { reduceHook = nil })
}

// failingFuzzInput returns a fuzz input whose program (under opts, read
// with decode) shows the planted bug and has at least 30 instructions.
func failingFuzzInput(t *testing.T, opts progen.Options, decode func([]byte) (*bpf.Program, []byte)) ([]byte, *bpf.Program, *campaign.Finding) {
	r := rand.New(rand.NewPCG(4, 4))
	for range 200 {
		data := make([]byte, 300)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		p, mem := decode(data)
		if len(p.Insns) < 30 {
			continue
		}
		cfg := plantedConfig()
		cfg.MaxSteps = progen.StepBound(opts)
		if f := campaign.CheckProgram(p, mem, cfg); f != nil {
			require.Equal(t, "pass xor-to-add", f.Where(), f.String())
			return data, p, f
		}
	}
	t.Fatal("no generated program shows the planted bug")
	return nil, nil, nil
}

// writeNativeInput stores data as the native fuzzer stores a failing input.
func writeNativeInput(t *testing.T, dir, target string, data []byte) string {
	path := filepath.Join(dir, "testdata", "fuzz", target, "0123abcd")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data), 0o644))
	return path
}

// TestReduceFuzzInputWritesRegression is the whole workflow on a planted
// bug: a generated program that shows it, stored as each fuzz engine
// stores a failing input, shrinks to a few instructions, and the written
// regression test reproduces the bug (and passes without it).
func TestReduceFuzzInputWritesRegression(t *testing.T) {
	plantBug(t)
	diffData, diffProg, diffFinding := failingFuzzInput(t, campaign.InputOptions, func(data []byte) (*bpf.Program, []byte) {
		return campaign.ProgramFromInput(data, campaign.InputOptions)
	})
	compileData, compileProg, compileFinding := failingFuzzInput(t, campaign.CompileInputOptions, campaign.CompileProgramFromInput)

	dir := t.TempDir()
	crasher := filepath.Join(dir, "workdir", "crashers", "5f3a9c")
	require.NoError(t, os.MkdirAll(filepath.Dir(crasher), 0o755))
	require.NoError(t, os.WriteFile(crasher, diffData, 0o644))
	cases := []struct {
		name    string
		input   string
		prog    *bpf.Program
		finding *campaign.Finding
	}{
		{"native FuzzDifferential", writeNativeInput(t, dir, "FuzzDifferential", diffData), diffProg, diffFinding},
		{"go-fuzz crasher", crasher, diffProg, diffFinding},
		{"native FuzzCompile", writeNativeInput(t, dir, "FuzzCompile", compileData), compileProg, compileFinding},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "regressions", fmt.Sprintf("planted-%d.data", i))
			stdout, stderr, err := runCLI("reduce", "-o", out, c.input)
			require.NoError(t, err, stderr)
			require.Contains(t, stderr, c.finding.Key())
			require.Contains(t, stderr, "wrote "+out)
			t.Logf("stderr:\n%s\nstdout:\n%s", stderr, stdout)

			reduced, err := bpf.ParseAsm(stdout)
			require.NoError(t, err, "stdout is assembly:\n%s", stdout)
			require.LessOrEqual(t, len(reduced.Insns), 5, "from %d instructions to:\n%s", len(c.prog.Insns), stdout)
			require.Contains(t, stdout, "xor")
			require.Contains(t, stderr, fmt.Sprintf("%d instructions reduced to %d", len(c.prog.Insns), len(reduced.Insns)))

			regs, err := campaign.LoadRegressions(filepath.Dir(out))
			require.NoError(t, err)
			var reg *campaign.Regression
			for _, r := range regs {
				if r.Name == strings.TrimSuffix(filepath.Base(out), ".data") {
					reg = r
				}
			}
			require.NotNil(t, reg, "%s is a regression file", out)
			require.Equal(t, stdout, bpf.Disassemble(reg.Program))
			f := campaign.CheckProgram(reg.Program, reg.Mem, plantedConfig())
			require.NotNil(t, f, "the regression test reproduces the planted bug")
			require.Equal(t, c.finding.Key(), f.Key())
			require.Nil(t, campaign.CheckProgram(reg.Program, reg.Mem, nil), "and passes without it")
		})
	}
}

func TestReduceAssemblyInput(t *testing.T) {
	plantBug(t)
	src := filepath.Join(t.TempDir(), "xor.s")
	// r0 = mem[2] ^ 0x0f with unrelated work around it; with xor as add
	// the result is 0x3f + 0x0f = 0x4e instead of 0x30.
	require.NoError(t, os.WriteFile(src, []byte(`
		mov %r3, 7
		ldxb %r0, [%r1+2]
		lsh %r3, 2
		mov %r4, %r3
		xor %r0, 0x0f
		add %r4, 1
		stxb [%r1+0], %r4
		exit
	`), 0o644))
	stdout, stderr, err := runCLI("reduce", "-O2", "--march=mips32", "--mem-hex", "11 22 3f 44", src)
	require.NoError(t, err, stderr)
	require.Contains(t, stderr, "pass xor-to-add mips32el -O2: r0 = 0x4e, reference 0x30")
	// The stores go (memory agrees either way), the constant shrinks to 1
	// (0x3f ^ 1 = 0x3e, 0x3f + 1 = 0x40: still wrong) and only the byte
	// the load reads stays nonzero (0 ^ 1 = 0 + 1).
	require.Equal(t, "ldxb %r0, [%r1+2]\nxor %r0, 1\nexit\n", stdout)
	require.Contains(t, stderr, "r0 = 0x40, reference 0x3e")
	require.Contains(t, stderr, "00 00 3f 00\n")
}

// TestReduceProgramWithCalls: a bug planted in subprograms only (xor as
// add) reduces to a program that still calls one, every `call local`
// offset valid, and the written test reproduces it.
func TestReduceProgramWithCalls(t *testing.T) {
	reduceHook = func(c *campaign.Config) {
		c.Passes = campaigntest.WithPass(campaigntest.InSubprograms(campaigntest.XorToAdd))
	}
	t.Cleanup(func() { reduceHook = nil })
	dir := t.TempDir()
	src := filepath.Join(dir, "calls.s")
	// Only f's xor shows the bug (g's operands share no bit: 0x30 ^ 0x0f
	// = 0x30 + 0x0f); the entry's xor is not in a subprogram.
	require.NoError(t, os.WriteFile(src, []byte(`
		mov %r6, 3
		xor %r6, 1
		ldxb %r1, [%r1+1]
		call local f
		mov %r7, %r0
		mov %r1, 0x30
		call local g
		add %r0, %r7
		add %r0, %r6
		exit
	f:
		mov %r0, %r1
		xor %r0, 0x26
		exit
	g:
		mov %r0, %r1
		xor %r0, 0x0f
		mul %r0, 3
		exit
	`), 0o644))
	out := filepath.Join(dir, "regressions", "calls.data")
	stdout, stderr, err := runCLI("reduce", "-O0", "--march=mips32r2", "--mem-hex", "00 22 00 00", "-o", out, src)
	require.NoError(t, err, stderr)
	require.Contains(t, stderr, "pass xor-to-add-in-subprograms mips32r2el -O0")
	// The entry keeps the call and a way to get the byte there; f its
	// xor; g, the entry's xor and the memory byte's neighbours go.
	reduced, err := bpf.ParseAsm(stdout)
	require.NoError(t, err, stdout)
	require.Contains(t, stdout, "call local")
	require.Contains(t, stdout, "xor %r0,")
	require.NotContains(t, stdout, "mul", "g goes")
	require.LessOrEqual(t, len(reduced.Insns), 6, stdout)

	regs, err := campaign.LoadRegressions(filepath.Dir(out))
	require.NoError(t, err)
	require.Len(t, regs, 1)
	require.Equal(t, stdout, bpf.Disassemble(regs[0].Program))
	cfg := &campaign.Config{Passes: campaigntest.WithPass(campaigntest.InSubprograms(campaigntest.XorToAdd))}
	f := campaign.CheckProgram(regs[0].Program, regs[0].Mem, cfg)
	require.NotNil(t, f, "the regression test reproduces the planted bug")
	require.Equal(t, "pass xor-to-add-in-subprograms", f.Where())
	require.Nil(t, campaign.CheckProgram(regs[0].Program, regs[0].Mem, nil), "and passes without it")
	t.Logf("reduced to:\n%s", stdout)
}

func TestReduceRejects(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	good := file("good.s", "mov %r0, 6\nxor %r0, 3\nexit\n")
	exists := file("exists.data", "")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no failure", []string{good}, 1, "input does not reproduce a failure"},
		{"no failure in a fuzz input", []string{writeNativeInput(t, dir, "FuzzDeterminism", []byte("\x00abcdefgh"))}, 1, "input does not reproduce a failure"},
		{"faulting program", []string{file("oob.s", "ldxdw %r0, [%r1+100]\nexit\n")}, 1, "fails in the reference interpreter"},
		{"endless loop", []string{"--max-steps=1000", file("loop.s", "mov %r0, 0\nja -2\nexit\n")}, 1, "--max-steps=1000"},
		{"helper call", []string{file("call.s", "call 1\nexit\n")}, 1, "cannot check the program"},
		{"syntax error", []string{file("bad.s", "frob %r1\nexit\n")}, 1, "line 1"},
		{"unknown fuzz target", []string{"--fuzz-target=FuzzNothing", good}, 2, `unknown fuzz target "FuzzNothing"`},
		{"fuzz input with memory", []string{"--mem-hex=00", writeNativeInput(t, dir, "FuzzDifferential", []byte{1})}, 2, "a fuzz input carries its memory"},
		{"unknown engine", []string{"--engine=bochs", good}, 2, `unknown engine "bochs"`},
		{"unknown march", []string{"--march=mips64", good}, 2, "unsupported -march=mips64"},
		{"output not .data", []string{"-o", filepath.Join(dir, "out.s"), good}, 2, "NAME.data"},
		{"output exists", []string{"-o", exists, good}, 2, "exists"},
		{"two inputs", []string{good, good}, 2, "exactly one INPUT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCLI(append([]string{"reduce"}, c.args...)...)
			require.Error(t, err)
			require.Equal(t, c.code, exitCode(err), err.Error())
			require.Contains(t, err.Error(), c.want)
		})
	}
}
