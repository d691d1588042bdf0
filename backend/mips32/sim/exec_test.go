package sim

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAlignedAccessFaults checks the order of the checks of every aligned
// load and store: a misaligned address is an address error even where
// nothing is mapped (the CPU checks alignment first), a misaligned store
// writes nothing, and an aligned one outside memory is unmapped.
func TestAlignedAccessFaults(t *testing.T) {
	for _, c := range []struct {
		insn  string // with the address in $t0 and 0xffffffff in $t1
		align uint32
	}{
		{"lh $v0, 0($t0)", 2}, {"lhu $v0, 0($t0)", 2}, {"sh $t1, 0($t0)", 2},
		{"lw $v0, 0($t0)", 4}, {"ll $v0, 0($t0)", 4}, {"sw $t1, 0($t0)", 4}, {"sc $t1, 0($t0)", 4},
	} {
		for _, off := range []uint32{1, 2, 3} {
			if off%c.align == 0 {
				continue
			}
			for _, where := range []struct {
				name  string
				setup string // sets $t0 to the address
				kind  FaultKind
			}{
				{"in the block", "\taddiu $t0, $a0, %d\n", AddressError},
				{"unmapped", "\tli $t0, %d\n", AddressError},
				{"below the stack", "\tlui $t2, 1\n\tsubu $t0, $sp, $t2\n\taddiu $t0, $t0, %d\n", AddressError},
			} {
				src := "f:\tli $t1, -1\n" + fmt.Sprintf(where.setup, off) + "\t" + c.insn + "\n\tjr $ra\n\tnop\n"
				res, _ := runSim(t, r2el, src, make([]byte, 8))
				require.NotNil(t, res.Fault, "%s at +%d %s", c.insn, off, where.name)
				assert.Equal(t, where.kind, res.Fault.Kind, "%s at +%d %s: %v", c.insn, off, where.name, res.Fault)
				assert.Equal(t, make([]byte, 8), res.Mem, "%s at +%d %s: memory must be untouched", c.insn, off, where.name)
			}
		}
		// Aligned: the region decides.
		for _, where := range []struct {
			setup string
			kind  FaultKind
		}{
			{"\tli $t0, 0\n", Unmapped},
			{"\taddiu $t0, $a0, 8\n", Unmapped},
			{"\tlui $t2, 1\n\tsubu $t0, $sp, $t2\n\taddiu $t0, $t0, -16\n", StackOverflow},
		} {
			res, _ := runSim(t, r2el, "f:\tli $t1, -1\n"+where.setup+"\t"+c.insn+"\n\tjr $ra\n\tnop\n", make([]byte, 8))
			require.NotNil(t, res.Fault, "%s %q", c.insn, where.setup)
			assert.Equal(t, where.kind, res.Fault.Kind, "%s %q: %v", c.insn, where.setup, res.Fault)
		}
	}
}
