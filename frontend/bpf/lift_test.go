package bpf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

func mustAsm(t *testing.T, src string) *Program {
	t.Helper()
	p, err := ParseAsm(src)
	require.NoError(t, err)
	return p
}

// aligns lists "Op [off] align" for each memory access and Arg of f, in
// block order, an alignment of 0 (none proven) shown as 1.
func aligns(f *ir.Func) []string {
	var out []string
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpArg || v.Op.IsLoad() || v.Op.IsStore() {
				out = append(out, fmt.Sprintf("%v [%d] %d", v.Op, v.AuxInt, max(v.Align, 1)))
			}
		}
	}
	return out
}

// calls lists the Call values of f as "sym/nargs".
func calls(f *ir.Func) []string {
	var out []string
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpCall {
				out = append(out, fmt.Sprintf("%s/%d", v.Sym, len(v.Args)))
			}
		}
	}
	return out
}

func TestLiftCalls(t *testing.T) {
	p := mustAsm(t, `
		mov %r1, 1
		call 1
		call 5
		call 99
		mov %r3, 7
		call %r3
		call local sub
		exit
	sub:
		mov %r0, %r1
		exit`)
	funcs, err := Lift(p, "prog", LiftOptions{})
	require.NoError(t, err)
	require.Len(t, funcs, 2)
	require.Equal(t, "prog", funcs[0].Name)
	require.Equal(t, "prog__8", funcs[1].Name, "subprograms are named after their first slot")
	// map_lookup_elem takes 2 registers, ktime_get_ns none, unknown helpers all 5,
	// callx the ID and 5, a subprogram the registers it reads (r1).
	require.Equal(t, []string{"bpf_helper_1/2", "bpf_helper_5/0", "bpf_helper_99/5", "bpf_callx/6", "prog__8/1"}, calls(funcs[0]))
	for _, f := range funcs {
		require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
	}

	named, err := Lift(p, "prog", LiftOptions{
		HelperSymbol: func(id int32) string { return fmt.Sprintf("h%d", id) },
		CallxSymbol:  "dispatch",
		HelperArgs:   func(int32) int { return 3 },
	})
	require.NoError(t, err)
	require.Equal(t, []string{"h1/3", "h5/3", "h99/3", "dispatch/6", "prog__8/1"}, calls(named[0]))
}

func TestLiftRejects(t *testing.T) {
	deep := "call local f1\nexit\n"
	for i := 1; i <= 8; i++ {
		deep += fmt.Sprintf("f%d:\ncall local f%d\nexit\n", i, i+1)
	}
	deep += "f9:\nexit\n"
	cases := map[string]struct{ src, want string }{
		"recursion":        {"call local f\nexit\nf:\ncall local f\nexit", "recursive"},
		"mutual recursion": {"call local f\nexit\nf:\ncall local g\nexit\ng:\ncall local f\nexit", "recursive"},
		"too deep":         {deep, "10 frames deep"},
		"jump out":         {"call local f\nout:\nexit\nf:\nja out\nexit", "leaves the subprogram"},
		"falls into next":  {"call local f\nmov %r0, 1\nf:\nmov %r0, 2\nexit", "falls through"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := ParseAsm(c.src)
			if err != nil {
				return // rejected even earlier, by the assembler or validator
			}
			_, err = Lift(p, "prog", LiftOptions{})
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.True(t, strings.HasPrefix(err.Error(), "line ") || strings.Contains(err.Error(), "frames"), "the error names the line: %v", err)
		})
	}
}

// TestLiftedCallsAgreeWithReferenceInterpreter runs programs with
// subprograms and helper calls in the reference interpreter and, lifted, in
// the IR interpreter (each subprogram frame with its own stack), and
// compares r0.
func TestLiftedCallsAgreeWithReferenceInterpreter(t *testing.T) {
	progs := []string{
		`mov %r1, 3
		 mov %r2, 4
		 mov %r6, 100
		 stxdw [%r10-8], %r6
		 call local mul
		 ldxdw %r7, [%r10-8]
		 add %r0, %r7
		 add %r0, %r6
		 exit
		mul:
		 stxdw [%r10-8], %r1
		 mov %r0, %r1
		 mul %r0, %r2
		 ldxdw %r3, [%r10-8]
		 add %r0, %r3
		 exit`,
		`lddw %r1, 0x100000001
		 call local a
		 exit
		a:
		 mov %r6, %r1
		 call local b
		 add %r0, %r6
		 exit
		b:
		 lsh %r1, 1
		 mov %r0, %r1
		 exit`,
		`mov %r1, -1
		 call 2
		 mov %r0, 9
		 exit`,
	}
	for i, src := range progs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p := mustAsm(t, src)
			want, err := Interpret(p, RunConfig{Helpers: ConformanceHelpers()})
			require.NoError(t, err)
			funcs, err := Lift(p, "prog", LiftOptions{HelperSymbol: func(id int32) string { return fmt.Sprintf("h%d", id) }, HelperArgs: func(int32) int { return 5 }})
			require.NoError(t, err)
			got, err := interpretModule(funcs)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

// interpretModule runs funcs[0] in the IR interpreter, serving calls of
// the other functions by interpreting them in a new stack frame and helper
// calls ("hN") with the conformance helper no_op (2), which returns 0.
func interpretModule(funcs []*ir.Func) (uint64, error) {
	return interpretModuleMem(funcs, nil)
}

// interpretModuleMem is interpretModule with mem at MemBase as the ctx (as
// the reference interpreter places it) and the alignment an Arg claims
// checked against the word each call passes: a wrong align= is an error.
func interpretModuleMem(funcs []*ir.Func, mem []byte) (uint64, error) {
	stack := &ir.Region{Base: uint32(StackTop) - maxCallFrames*StackSize, Data: make([]byte, maxCallFrames*StackSize), Name: "stack"}
	mem32 := &ir.RegionMemory{Regions: []*ir.Region{stack}}
	entryArgs := []uint32{0, 0}
	if len(mem) > 0 {
		mem32.Regions = append(mem32.Regions, &ir.Region{Base: uint32(MemBase), Data: mem, Name: "mem"})
		entryArgs = []uint32{uint32(MemBase), uint32(len(mem))}
	}
	return ir.InterpretModule(funcs, ir.ModuleConfig{
		Args:     entryArgs,
		Mem:      mem32,
		MaxDepth: maxCallFrames,
		Frame:    func(depth int) (uint32, uint32) { return uint32(StackTop) - uint32(depth*StackSize), 0 },
		Call: func(sym string, _ []uint64) (uint64, error) {
			if sym == "h2" {
				return 0, nil
			}
			return 0, fmt.Errorf("unknown callee %s", sym)
		},
	})
}

func TestLiftTailCall(t *testing.T) {
	// r0 = 5; tail_call(ctx, map, 2); r0 += 1 (only when the tail call fails).
	p := mustAsm(t, `
		mov %r0, 5
		lddw %r2, 0x0
		mov %r3, 2
		call 12
		add %r0, 1
		exit`)
	funcs, err := Lift(p, "prog", LiftOptions{})
	require.NoError(t, err)
	f := funcs[0]
	require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
	require.Equal(t, []string{TailCallTargetSymbol + "/2"}, calls(f))
	tails := 0
	for _, b := range f.Blocks {
		if b.Kind == ir.BlockTailCall {
			tails++
		}
	}
	require.Equal(t, 1, tails)

	run := func(target uint64, count uint32) (uint64, error) {
		return ir.Interpret(f, ir.InterpConfig{
			Args: []uint32{0x1000, 64, count},
			Call: func(sym string, args []uint64) (uint64, error) {
				require.Equal(t, TailCallTargetSymbol, sym)
				require.Equal(t, []uint64{0, 2}, args)
				return target, nil
			},
			TailCall: func(tgt, ctx, length, cnt uint32) (uint64, error) {
				return uint64(tgt)<<32 | uint64(cnt), nil
			},
		})
	}
	got, err := run(0x4000, 0)
	require.NoError(t, err)
	require.Equal(t, uint64(0x4000)<<32|1, got, "the tail call leaves with the count plus one")
	got, err = run(0, 0)
	require.NoError(t, err)
	require.Equal(t, uint64(6), got, "a failed lookup continues with r0 unchanged")
	got, err = run(0x4000, MaxTailCalls)
	require.NoError(t, err)
	require.Equal(t, uint64(6), got, "the 34th tail call in a chain fails")
}

// The entry's ctx carries CtxAlign (default 4) on its Arg, and direct
// accesses through it get the alignment their offset allows; so does a
// subprogram's r1 when every call passes the ctx (see also
// TestLiftSubprogramAlignment), but not its other parameters, loaded from
// memory; CtxAlign 1 proves nothing. (The subprogram uses r1 only as an
// address, so the high word of r1, Arg [1], is dead.)
func TestLiftCtxAlign(t *testing.T) {
	p := mustAsm(t, `
		ldxw %r2, [%r1+4]
		ldxh %r3, [%r1+2]
		ldxh %r4, [%r1+1]
		ldxdw %r5, [%r1+8]
		call local sub
		exit
	sub:
		ldxw %r0, [%r1+4]
		add %r0, %r2
		add %r0, %r3
		add %r0, %r4
		add %r0, %r5
		exit`)
	for _, tc := range []struct {
		ctxAlign    int
		entry, subs []string
	}{
		{0, []string{"Arg [0] 4", "Load32 [4] 4", "Load16 [2] 2", "Load16 [1] 1", "Load64 [8] 4"},
			[]string{"Arg [0] 4", "Arg [2] 1", "Arg [3] 1", "Arg [4] 1", "Arg [5] 1", "Arg [6] 1", "Arg [7] 1", "Arg [8] 1", "Arg [9] 1", "Load32 [4] 4"}},
		{8, []string{"Arg [0] 8", "Load32 [4] 4", "Load16 [2] 2", "Load16 [1] 1", "Load64 [8] 8"},
			[]string{"Arg [0] 8", "Arg [2] 1", "Arg [3] 1", "Arg [4] 1", "Arg [5] 1", "Arg [6] 1", "Arg [7] 1", "Arg [8] 1", "Arg [9] 1", "Load32 [4] 4"}},
		{1, []string{"Arg [0] 1", "Load32 [4] 1", "Load16 [2] 1", "Load16 [1] 1", "Load64 [8] 1"},
			[]string{"Arg [0] 1", "Arg [2] 1", "Arg [3] 1", "Arg [4] 1", "Arg [5] 1", "Arg [6] 1", "Arg [7] 1", "Arg [8] 1", "Arg [9] 1", "Load32 [4] 1"}},
	} {
		funcs, err := Lift(p, "prog", LiftOptions{CtxAlign: tc.ctxAlign})
		require.NoError(t, err)
		require.Equal(t, tc.entry, aligns(funcs[0]), "CtxAlign %d", tc.ctxAlign)
		require.Equal(t, tc.subs, aligns(funcs[1]), "CtxAlign %d", tc.ctxAlign)
		for _, f := range funcs {
			require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
		}
	}
	for _, bad := range []int{-4, 3, 16} {
		_, err := Lift(p, "prog", LiftOptions{CtxAlign: bad})
		require.EqualError(t, err, fmt.Sprintf("ctx alignment %d: want a power of two from 1 to 8", bad))
	}
}
