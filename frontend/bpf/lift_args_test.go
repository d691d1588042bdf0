package bpf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// paramNames lists each subprogram's parameters ("r1 r3", "-" for none),
// read from the lifted IR: the registers whose values its callers pass, in
// the order of the callee's Args.
func paramNames(t *testing.T, p *Program) []string {
	t.Helper()
	starts, err := subprograms(p)
	require.NoError(t, err)
	sigs := signatures(p, starts, LiftOptions{}, DefaultCtxAlign)
	var out []string
	for _, s := range starts[1:] {
		var regs []string
		for r := uint8(R1); r <= R5; r++ {
			if sigs[s].params&regBit(r) != 0 {
				regs = append(regs, fmt.Sprintf("r%d", r))
			}
		}
		if len(regs) == 0 {
			regs = []string{"-"}
		}
		out = append(out, strings.Join(regs, " "))
	}
	return out
}

// Each subprogram takes exactly the registers among r1..r5 it may read
// before writing them, through branches, loops and its own calls.
func TestSubprogramParams(t *testing.T) {
	const entry = "call local a\nexit\na:\n"
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"reads r1", "mov %r0, %r1\nexit", []string{"r1"}},
		{"reads r3", "mov %r0, %r3\nexit", []string{"r3"}},
		{"nothing", "mov %r0, 7\nexit", []string{"-"}},
		{"written first", "mov %r1, 5\nadd %r1, %r2\nmov %r0, %r1\nexit", []string{"r2"}},
		{"alu32 reads its destination", "add32 %r4, 1\nmov32 %r2, 5\nmov %r0, %r2\nadd %r0, %r4\nexit", []string{"r4"}},
		{"on the taken path", "jeq %r1, 0, use\nmov %r0, 1\nexit\nuse:\nmov %r0, %r4\nexit", []string{"r1 r4"}},
		{"on one path", "mov %r0, 0\njeq %r1, 0, out\nadd %r0, %r4\nout:\nexit", []string{"r1 r4"}},
		{"in a loop, written after", "mov %r0, 0\nmov %r6, 3\nloop:\nadd %r0, %r2\nmov %r2, 7\nsub %r6, 1\njne %r6, 0, loop\nexit", []string{"r2"}},
		{"through a callee", "mov %r6, %r2\ncall local b\nadd %r0, %r6\nexit\nb:\nmov %r0, %r5\nexit", []string{"r2 r5", "r5"}},
		{"after a call", "call local b\nadd %r0, %r1\nexit\nb:\nmov %r0, 1\nexit", []string{"-", "-"}},
		{"helper arity", "call 1\nexit", []string{"r1 r2"}},
		{"unknown helper", "call 99\nexit", []string{"r1 r2 r3 r4 r5"}},
		{"callx", "mov %r6, 2\ncall %r6\nexit", []string{"r1 r2 r3 r4 r5"}},
		{"stores and atomics", "stxdw [%r10-8], %r4\nlock fetch add [%r10-8], %r3\nmov %r0, %r3\nexit", []string{"r3 r4"}},
		{"cmpxchg", "lock cmpxchg [%r10-8], %r1\nexit", []string{"r1"}},
		{"load base", "ldxdw %r0, [%r2+0]\nexit", []string{"r2"}},
		{"store base", "stb [%r5+1], 3\nmov %r0, 0\nexit", []string{"r5"}},
		{"neg and endianness", "neg %r5\nbe16 %r4\nmov %r0, %r5\nadd %r0, %r4\nexit", []string{"r4 r5"}},
		{"movsx", "movsx832 %r0, %r3\nexit", []string{"r3"}},
		{"jump compares", "mov %r0, 0\njgt %r2, %r3, out\nmov %r0, 1\nout:\nexit", []string{"r2 r3"}},
		{"unreachable read", "mov %r0, 1\nexit\nadd %r0, %r3\nexit", []string{"-"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := mustAsm(t, entry+c.src)
			require.Equal(t, c.want, paramNames(t, p))
			funcs, err := Lift(p, "prog", LiftOptions{})
			require.NoError(t, err)
			for _, f := range funcs {
				require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
			}
		})
	}
}

// argWords lists the word indices of f's Args, in block order.
func argWords(f *ir.Func) []int64 {
	var out []int64
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpArg {
				out = append(out, v.AuxInt)
			}
		}
	}
	return out
}

// callsTo returns the Call values of f calling sym.
func callsTo(f *ir.Func, sym string) []*ir.Value {
	var out []*ir.Value
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpCall && v.Sym == sym {
				out = append(out, v)
			}
		}
	}
	return out
}

// A subprogram reading one register takes one 64-bit argument, two O32
// words: words 0 and 1 whichever register it is, and a call passes that
// register's value only.
func TestSubprogramCallPassesOnlyParams(t *testing.T) {
	for _, c := range []struct {
		reg       string
		bigEndian bool
	}{{"%r1", false}, {"%r3", false}, {"%r3", true}} {
		t.Run(fmt.Sprintf("%s big-endian=%v", c.reg, c.bigEndian), func(t *testing.T) {
			p := mustAsm(t, fmt.Sprintf(`
				mov %%r1, 10
				mov %%r2, 20
				mov %%r3, 40
				mov %%r4, 50
				mov %%r5, 60
				call local sub
				exit
			sub:
				mov %%r0, %s
				add %%r0, 2
				exit`, c.reg))
			funcs, err := Lift(p, "prog", LiftOptions{BigEndian: c.bigEndian})
			require.NoError(t, err)
			call := callsTo(funcs[0], funcs[1].Name)
			require.Len(t, call, 1)
			require.Len(t, call[0].Args, 1, "one argument")
			passed := map[string]int64{"%r1": 10, "%r3": 40}[c.reg]
			require.Equal(t, ir.OpConst64, call[0].Args[0].Op)
			require.Equal(t, passed, call[0].Args[0].AuxInt, "the register the callee reads")
			sig, ok := ir.CallSignature(call[0])
			require.True(t, ok)
			require.Equal(t, []ir.Type{ir.I64}, sig.Params, "one 64-bit parameter: two words")
			require.ElementsMatch(t, []int64{0, 1}, argWords(funcs[1]))
			if !c.bigEndian {
				got, err := interpretModule(funcs)
				require.NoError(t, err)
				require.Equal(t, uint64(passed+2), got)
			}
			for _, f := range funcs {
				require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
			}
		})
	}
}

// A parameter's low-word Arg carries the alignment every call site gives
// it: the entry's ctx (copied through r6 around a helper call), a pointer
// into the caller's stack, the ctx handed down a second level; the
// smallest alignment over the sites when they differ; none after
// arithmetic the analysis does not follow.
func TestSubprogramAlignment(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string // aligns of the subprograms, in order
	}{
		{"ctx through a copy", `
			mov %r6, %r1
			call 5
			mov %r1, %r6
			call local sub
			exit
		sub:
			ldxw %r0, [%r1+4]
			exit`, []string{"Arg [0] 4 | Load32 [4] 4"}},
		{"stack pointer", `
			mov %r2, %r10
			add %r2, -16
			call local sub
			exit
		sub:
			ldxdw %r0, [%r2+0]
			ldxw %r3, [%r2+12]
			add %r0, %r3
			exit`, []string{"Arg [0] 8 | Load64 [0] 8 | Load32 [12] 4"}},
		{"smallest over the sites", `
			mov %r6, %r1
			call local sub
			mov %r1, %r6
			add %r1, 2
			call local sub
			exit
		sub:
			ldxw %r0, [%r1+4]
			exit`, []string{"Arg [0] 2 | Load32 [4] 2"}},
		{"handed down", `
			call local a
			exit
		a:
			call local b
			exit
		b:
			ldxh %r0, [%r1+2]
			exit`, []string{"Arg [0] 4 | Arg [1] 1", "Arg [0] 4 | Load16 [2] 2"}},
		{"not followed", `
			mul %r1, 4
			call local sub
			exit
		sub:
			ldxw %r0, [%r1+4]
			exit`, []string{"Arg [0] 1 | Load32 [4] 1"}},
		{"clobbered by a call", `
			call 5
			call local sub
			exit
		sub:
			ldxw %r0, [%r1+4]
			exit`, []string{"Arg [0] 1 | Load32 [4] 1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			funcs, err := Lift(mustAsm(t, c.src), "prog", LiftOptions{})
			require.NoError(t, err)
			var got []string
			for _, f := range funcs[1:] {
				a := strings.Join(aligns(f), " | ")
				if a == "" {
					a = "-"
				}
				got = append(got, a)
			}
			require.Equal(t, c.want, got)
			for _, f := range funcs {
				require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
			}
		})
	}
}
