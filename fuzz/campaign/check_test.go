package campaign

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/pipeline"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign/campaigntest"
	"github.com/bpfopt/bpfopt/fuzz/progen"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// genOptions are the generator options of the tests: InputOptions with
// longer bodies.
var genOptions = func() progen.Options {
	o := InputOptions
	o.MaxInsns = 96
	return o
}()

// generated returns program i of a fixed sequence and its memory.
func generated(i int) (*bpf.Program, []byte) {
	r := rand.New(rand.NewPCG(uint64(i), 0xc4ec))
	p := progen.Generate(r, genOptions)
	mem := make([]byte, genOptions.MemSize)
	for k := range mem {
		mem[k] = byte(r.Uint32())
	}
	return p, mem
}

func mustAsm(t testing.TB, src string) *bpf.Program {
	t.Helper()
	p, err := bpf.ParseAsm(src)
	require.NoError(t, err)
	return p
}

func TestCheckProgramAgreesOnGeneratedPrograms(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 30
	}
	cfg := &Config{MaxSteps: progen.StepBound(genOptions)}
	for i := range n {
		p, mem := generated(i)
		if f := CheckProgram(p, mem, cfg); f != nil {
			t.Fatalf("program %d:\n%s", i, f)
		}
	}
}

func TestCheckProgramNamesThePlantedPass(t *testing.T) {
	p := mustAsm(t, "mov %r0, 6\nxor %r0, 3\nexit")
	f := CheckProgram(p, nil, &Config{Passes: campaigntest.WithPass(campaigntest.XorToAdd)})
	require.NotNil(t, f)
	require.Equal(t, StagePass, f.Stage)
	require.Equal(t, "xor-to-add", f.Pass)
	require.Equal(t, "pass legalize64", f.Previous, "lift and legalize64 agreed")
	require.Equal(t, uint64(5), f.Want.R0)
	require.Equal(t, uint64(9), f.Got.R0)
	require.Equal(t, "r0 = 0x9, reference 0x5", f.Msg)
	require.Equal(t, 0, f.Level, "-O0 is checked first")

	report := f.String()
	for _, want := range []string{"FINDING at pass xor-to-add", "xor %r0, 3", "reference:  r0 = 0x5", "IR interpreter: r0 = 0x9", "; after xor-to-add", "; before (after legalize64)"} {
		require.Contains(t, report, want)
	}
}

func TestCheckProgramRecoversFromPanickingPass(t *testing.T) {
	boom := &passes.Pass{Name: "boom", Run: func(*ir.Func, *passes.Config) (passes.Stats, error) { panic("planted") }}
	f := CheckProgram(mustAsm(t, "mov %r0, 1\nexit"), nil, &Config{Passes: campaigntest.WithPass(boom)})
	require.NotNil(t, f)
	require.Equal(t, "pass boom", f.Where())
	require.Contains(t, f.Msg, "panic: planted")
}

func TestCheckProgramVerifiesBetweenPasses(t *testing.T) {
	// Dropping a block's control leaves IR the verifier rejects.
	breakIR := &passes.Pass{Name: "drop-ret", Run: func(f *ir.Func, _ *passes.Config) (passes.Stats, error) {
		for _, b := range f.Blocks {
			if b.Kind == ir.BlockRet {
				b.Controls = nil
			}
		}
		return nil, nil
	}}
	f := CheckProgram(mustAsm(t, "mov %r0, 1\nexit"), nil, &Config{Passes: campaigntest.WithPass(breakIR)})
	require.NotNil(t, f)
	require.Equal(t, "pass drop-ret", f.Where())
	require.Contains(t, f.Msg, "verifier: ")
}

// tamperingEngine runs the simulator and then changes the result.
type tamperingEngine struct {
	Engine
	tamper func(*Execution)
}

func (e tamperingEngine) Run(code []byte, relocs []mips32.Reloc, entry uint32, mem []byte) (Execution, error) {
	x, err := e.Engine.Run(code, relocs, entry, mem)
	if err == nil {
		e.tamper(&x)
	}
	return x, err
}

func tampering(tamper func(*Execution)) EngineFactory {
	return func(t mips32.Target, steps int64) (Engine, error) {
		e, err := SimEngine(t, steps)
		return tamperingEngine{e, tamper}, err
	}
}

func TestCheckProgramComparesMachineResults(t *testing.T) {
	p := mustAsm(t, "ldxw %r0, [%r1+0]\nstw [%r1+4], 7\nexit")
	mem := []byte{1, 2, 3, 4, 5, 6, 7, 8}

	f := CheckProgram(p, mem, &Config{Engine: tampering(func(x *Execution) { x.R0 ^= 1 << 40 })})
	require.NotNil(t, f)
	require.Equal(t, StageMachine, f.Stage)
	require.Equal(t, "sim", f.Engine)
	require.Equal(t, uint64(0x04030201), f.Want.R0)
	require.Equal(t, "pass splitcrit", f.Previous)
	require.Contains(t, f.String(), "evidence:", "the report shows the assembly")

	f = CheckProgram(p, mem, &Config{Engine: tampering(func(x *Execution) { x.Mem[6]++ })})
	require.NotNil(t, f)
	require.Equal(t, "final memory differs at offsets 6", f.Msg)
	require.Equal(t, []byte{1, 2, 3, 4, 7, 0, 0, 0}, f.Want.Mem)

	f = CheckProgram(p, mem, &Config{Engine: tampering(func(x *Execution) { x.Err = "unmapped: load at 0x0" })})
	require.NotNil(t, f)
	require.Equal(t, "run failed: unmapped: load at 0x0", f.Msg)

	require.Nil(t, CheckProgram(p, mem, nil), "the untampered engine agrees")
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, mem, "the caller's memory is not modified")
}

func TestCheckProgramEngineFailureIsSetup(t *testing.T) {
	failing := func(mips32.Target, int64) (Engine, error) { return nil, errors.New("no engine here") }
	f := CheckProgram(mustAsm(t, "mov %r0, 1\nexit"), nil, &Config{Engine: failing})
	require.NotNil(t, f)
	require.Equal(t, StageSetup, f.Stage)
	require.Contains(t, f.Msg, "no engine here")
}

func TestCheckProgramOutsideTheContract(t *testing.T) {
	f := CheckProgram(mustAsm(t, "ldxdw %r0, [%r1+100]\nexit"), make([]byte, 8), nil)
	require.NotNil(t, f)
	require.Equal(t, StageReference, f.Stage)

	f = CheckProgram(mustAsm(t, "mov %r0, 0\nja -2\nexit"), nil, &Config{MaxSteps: 1000})
	require.NotNil(t, f)
	require.Equal(t, StageReference, f.Stage, "an endless loop hits the reference's step limit")

	// A result that depends on where the memory is diverges at lift
	// already: the reducer never mistakes one for a backend bug.
	f = CheckProgram(mustAsm(t, "mov %r0, %r1\nexit"), make([]byte, 8), nil)
	require.NotNil(t, f)
	require.Equal(t, StageLift, f.Stage)

	f = CheckProgram(mustAsm(t, "call 1\nexit"), nil, nil)
	require.NotNil(t, f)
	require.Equal(t, StageUnsupported, f.Stage)
	require.Contains(t, f.Msg, "call")
}

// A program with subprograms runs as a module in every oracle: a callee
// reads through a pointer into its caller's frame and into the memory,
// gets 64-bit values, and the caller's r6..r9 survive the call (r7 keeps
// the memory's address: r1..r5 are the callee's after a call).
const callsSrc = `
	mov %r6, 0x7ffffff0
	mov %r7, %r1
	stdw [%r10-8], 5
	mov %r2, %r10
	add %r2, -8
	lddw %r3, 0x1234567890
	call local sum
	add %r0, %r6
	ldxw %r1, [%r7+4]
	add %r0, %r1
	exit
sum:
	mov %r0, %r3
	ldxdw %r4, [%r2+0]
	add %r0, %r4
	rsh %r0, 1
	mov %r6, 0
	mov %r2, 0
	exit`

func TestCheckProgramRunsSubprograms(t *testing.T) {
	p := mustAsm(t, callsSrc)
	mem := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	targets := append(slices.Clone(DefaultTargets), mips32.Target{Rev: mips32.R2, BigEndian: true})
	require.Nil(t, CheckProgram(p, mem, &Config{Targets: targets}))

	want, err := runReference(p, mem, false, 100)
	require.NoError(t, err)
	require.Equal(t, uint64((0x1234567890+5)>>1+0x7ffffff0+0x08070605), want.R0)

	// A bug planted in subprograms only is seen in the callee, after lift.
	f := CheckProgram(p, mem, &Config{Passes: campaigntest.WithPass(campaigntest.InSubprograms(campaigntest.XorToAdd))})
	require.Nil(t, f, "sum has no xor")
	f = CheckProgram(mustAsm(t, strings.Replace(callsSrc, "rsh %r0, 1", "xor %r0, 0x10", 1)), mem,
		&Config{Passes: campaigntest.WithPass(campaigntest.InSubprograms(campaigntest.XorToAdd))})
	require.NotNil(t, f)
	require.Equal(t, "pass xor-to-add-in-subprograms", f.Where())
	require.Contains(t, f.Detail, "func prog__", "the evidence shows the whole module")

	// The machine code of the module is compared too.
	f = CheckProgram(p, mem, &Config{Engine: tampering(func(x *Execution) { x.R0++ })})
	require.NotNil(t, f)
	require.Equal(t, StageMachine, f.Stage)
	require.Contains(t, f.Detail, "prog__", "the assembly lists the subprogram")
}

func TestCheckProgramSkipMachine(t *testing.T) {
	cfg := &Config{SkipMachine: true, Engine: tampering(func(x *Execution) { x.R0++ })}
	require.Nil(t, CheckProgram(mustAsm(t, "mov %r0, 1\nexit"), nil, cfg))
}

func TestProgramFromInput(t *testing.T) {
	p, mem := ProgramFromInput(nil, InputOptions)
	require.NoError(t, p.Validate())
	require.Len(t, mem, InputOptions.MemSize)

	data := append([]byte{3, 0xaa, 0xbb, 0xcc}, bytes.Repeat([]byte{0x42}, 50)...)
	p, mem = ProgramFromInput(data, InputOptions)
	require.Equal(t, []byte{0xaa, 0xbb, 0xcc}, mem[:3], "the length byte selects the memory prefix")
	require.Len(t, mem, 64)
	q := progen.FromBytes(data[4:], InputOptions)
	require.Equal(t, bpf.Disassemble(q), bpf.Disassemble(p), "the rest are the generator's choices")

	// A length larger than the input takes what there is.
	_, mem = ProgramFromInput([]byte{64, 1, 2}, InputOptions)
	require.Equal(t, []byte{1, 2}, mem[:2])
}

func TestCheckDeterminism(t *testing.T) {
	for i := range 20 {
		p, _ := generated(2000 + i)
		require.Nil(t, CheckDeterminism(p, nil))
	}
}

func TestCompareCompilationsNamesTheDump(t *testing.T) {
	a := &compilation{dumps: splitDumps("; after lift\nA\n; after simplify\nv1 = x\nv2 = y\n"), asm: "s", code: []byte{1}}
	b := &compilation{dumps: splitDumps("; after lift\nA\n; after simplify\nv1 = x\nv2 = z\n"), asm: "s", code: []byte{1}}
	require.Equal(t, []dump{{"lift", "A\n"}, {"simplify", "v1 = x\nv2 = y\n"}}, a.dumps)
	f := compareCompilations(a, b, Finding{Stage: StageDeterminism})
	require.NotNil(t, f)
	require.Equal(t, "determinism simplify", f.Where())
	require.Equal(t, `two compilations differ after simplify: line 2: "v2 = y" vs "v2 = z"`, f.Msg)

	b = &compilation{dumps: a.dumps, asm: "s", code: []byte{2}}
	f = compareCompilations(a, b, Finding{Stage: StageDeterminism})
	require.NotNil(t, f)
	require.Equal(t, "determinism machine code", f.Where())
	require.Nil(t, compareCompilations(a, a, Finding{}))
}

func TestBackendChangedIRChecksEveryFunction(t *testing.T) {
	funcs, err := ir.ParseAll("func prog {\nb0:\n    v0:i64 = Const64 [1]\n    Ret v0\n}\nfunc prog__3 {\nb0:\n    v0:i64 = Const64 [2]\n    Ret v0\n}\n")
	require.NoError(t, err)
	a, b := funcs[0].String(), funcs[1].String()
	dumps := []dump{{"lift", "x"}, {"simplify", a}, {"lift", "y"}, {"simplify", b}}
	require.Nil(t, backendChangedIR(dumps, funcs, Finding{}))
	funcs[1].Blocks[0].Values[0].AuxInt = 3 // what a backend changing prog__3 would leave
	f := backendChangedIR(dumps, funcs, Finding{Stage: StageDeterminism})
	require.NotNil(t, f)
	require.Equal(t, "determinism backend input", f.Where())
	require.Equal(t, "the backend changed the IR it compiled (in prog__3)", f.Msg)
	f = backendChangedIR(dumps[:2], funcs, Finding{Stage: StageDeterminism})
	require.NotNil(t, f)
	require.Equal(t, "2 functions compiled, 1 dumped after lift", f.Msg)
}

// TestCompileMatchesPipeline: Compile is the command-line tool's
// compilation (pipeline.Compile), dumps and machine code alike.
func TestCompileMatchesPipeline(t *testing.T) {
	for i := range 10 {
		p, _ := generated(3000 + i)
		for _, level := range DefaultLevels {
			for _, target := range DefaultTargets {
				var d1, d2 bytes.Buffer
				mod, _, err := Compile(p, target, level, &d1)
				require.NoError(t, err)
				res, err := pipeline.Compile(p, "prog", pipeline.Options{Target: target, OptLevel: level,
					VerifyEach: true, CheckAllocation: true, DumpAfter: "all", Dump: &d2})
				require.NoError(t, err)
				require.Equal(t, d2.String(), d1.String())
				require.Equal(t, res.Module.Code, mod.Code)
				require.Equal(t, res.Module.Relocs, mod.Relocs)
			}
		}
	}
}

// TestPassMajorOrderMatchesCompile: CheckProgram runs each pass on every
// function before the next pass (so that the IR interpreter can run the
// module between passes), the pipeline all passes on one function before
// the next; passes see one function at a time, so the machine code
// CheckProgram checks is the code Compile gives.
func TestPassMajorOrderMatchesCompile(t *testing.T) {
	for i := range 10 {
		p, _ := generated(3100 + i)
		for _, level := range DefaultLevels {
			target := DefaultTargets[0]
			funcs, err := bpf.Lift(p, "prog", bpf.LiftOptions{})
			require.NoError(t, err)
			require.Greater(t, len(funcs), 1, "a program with subprograms")
			list, err := passes.Select(level, nil)
			require.NoError(t, err)
			for _, ps := range list {
				for _, fn := range funcs {
					_, err := ps.Run(fn, &passes.Config{})
					require.NoError(t, err)
				}
			}
			mod, err := mips32.CompileModule(funcs, 1, mips32.Options{Target: target, CheckAllocation: true, Unoptimized: level == 0})
			require.NoError(t, err)
			want, _, err := Compile(p, target, level, nil)
			require.NoError(t, err)
			require.Equal(t, want.Code, mod.Code, "program %d -O%d", 3100+i, level)
		}
	}
}

func TestReadInputFile(t *testing.T) {
	dir := t.TempDir()
	native := filepath.Join(dir, "native")
	require.NoError(t, os.WriteFile(native, []byte("go test fuzz v1\n[]byte(\"\\x01a\\xff\")\n"), 0o644))
	data, err := ReadInputFile(native)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 'a', 0xff}, data)

	raw := filepath.Join(dir, "raw")
	require.NoError(t, os.WriteFile(raw, []byte{0, 1, 2}, 0o644))
	data, err = ReadInputFile(raw)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2}, data)

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("go test fuzz v1\nstring(\"x\")\n"), 0o644))
	_, err = ReadInputFile(bad)
	require.ErrorContains(t, err, "[]byte")

	// The checked-in seeds read back as the inputs they were made from.
	seeds, err := filepath.Glob("testdata/fuzz/FuzzDifferential/*")
	require.NoError(t, err)
	require.NotEmpty(t, seeds)
	for _, s := range seeds {
		data, err := ReadInputFile(s)
		require.NoError(t, err)
		require.NotEmpty(t, data)
	}
}
