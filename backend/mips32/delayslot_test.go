package mips32

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFillDelaySlots(t *testing.T) {
	nop := Inst{Op: NOP}
	cases := []struct {
		name  string
		cand  Inst
		br    Inst
		moved bool
	}{
		{"independent", Inst{Op: ADDU, Rd: V0, Rs: A0, Rt: A1}, Inst{Op: BNE, Rs: A2, Rt: ZERO, Target: 1}, true},
		{"branch reads the result", Inst{Op: ADDU, Rd: A2, Rs: A0, Rt: A1}, Inst{Op: BNE, Rs: A2, Rt: ZERO, Target: 1}, false},
		{"call target computation", Inst{Op: ADDIU, Rt: T9, Rs: T9}, Inst{Op: JALR, Rd: RA, Rs: T9}, false},
		{"argument set-up before a call", Inst{Op: MOVE, Rd: A0, Rs: S0}, Inst{Op: JALR, Rd: RA, Rs: T9}, true},
		{"reads ra before a call", Inst{Op: MOVE, Rd: S0, Rs: RA}, Inst{Op: BAL, Target: 1}, false},
		{"store-conditional", Inst{Op: SC, Rt: T0, Rs: A0}, Inst{Op: BEQ, Rs: T1, Rt: ZERO, Target: 1}, false},
		{"label", Inst{Op: LABEL, Target: 3}, Inst{Op: B, Target: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []Inst{{Op: SUBU, Rd: T3, Rs: T4, Rt: T5}, c.cand, c.br, nop}
			out := fillDelaySlots(in)
			if c.moved {
				require.Equal(t, []Inst{in[0], c.br, c.cand}, out)
			} else {
				require.Equal(t, in, out)
			}
		})
	}
	// An instruction in another branch's delay slot stays there.
	in := []Inst{{Op: B, Target: 1}, {Op: ADDU, Rd: V0, Rs: A0, Rt: A1}, {Op: B, Target: 2}, nop}
	require.Equal(t, in, fillDelaySlots(in))
}
