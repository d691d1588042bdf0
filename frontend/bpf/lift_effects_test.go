package bpf

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

// callEffects lists the Call values of f as "sym effect" (the printed
// effect, "unknown" when there is none).
func callEffects(f *ir.Func) []string {
	var out []string
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpCall {
				e := v.CallEffect().String()
				if e == "" {
					e = "unknown"
				}
				out = append(out, v.Sym+" "+e)
			}
		}
	}
	return out
}

// The lifter puts the helper table's memory effect on helper calls, and
// the unknown effect on calls it cannot vouch for: a subprogram (which
// may reach its caller's stack through the pointers it gets), callx, an
// unknown helper, and any helper of a helper set of its own.
func TestLiftCallEffects(t *testing.T) {
	p := mustAsm(t, `
		lddw %r1, 0
		mov %r2, %r10
		add %r2, -8
		call 1
		call 2
		call 5
		call 99
		mov %r3, 7
		call %r3
		call local sub
		mov %r2, 0
		mov %r3, 0
		call 12
		exit
	sub:
		mov %r0, %r1
		exit`)
	funcs, err := Lift(p, "prog", LiftOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{
		"bpf_helper_1 reads=r1,r2 writes=r1",
		"bpf_helper_2 reads=r1,r2,r3 writes=r1",
		"bpf_helper_5 reads=none writes=none",
		"bpf_helper_99 unknown",
		"bpf_callx unknown",
		"prog__15 unknown",
		TailCallTargetSymbol + " reads=r1 writes=r1",
	}, callEffects(funcs[0]))
	for _, f := range funcs {
		require.NoError(t, ir.Verify(f, ir.VerifyOptions{}))
	}

	// Helpers numbered as the conformance suite's: nothing is known of them
	// unless the options say.
	own := LiftOptions{HelperArgs: func(int32) int { return 5 }, TailCallID: -1}
	funcs, err = Lift(p, "prog", own)
	require.NoError(t, err)
	for _, c := range callEffects(funcs[0]) {
		require.Contains(t, c, " unknown", "a helper of its own set: %s", c)
	}
	own.HelperEffect = func(id int32) ir.CallEffect { return ir.KnownEffect(0, uint8(id)&1) }
	funcs, err = Lift(p, "prog", own)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint([]string{
		"bpf_helper_1 reads=none writes=r1", "bpf_helper_2 reads=none writes=none",
		"bpf_helper_5 reads=none writes=r1", "bpf_helper_99 reads=none writes=r1",
		"bpf_callx unknown", "prog__15 unknown", "bpf_helper_12 reads=none writes=none",
	}), fmt.Sprint(callEffects(funcs[0])))
}
