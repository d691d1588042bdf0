package mips32

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A conditional branch whose two successors merged into one block that is
// not laid out next must become a jump to it (found by FuzzDifferential:
// the branch was emitted and the way on fell into the wrong block).
func TestEmitBranchWithBothWaysMerged(t *testing.T) {
	entry := &codeBlock{label: 0, kind: termCond, br: Inst{Op: BEQ, Rs: A0, Rt: ZERO, Target: 2}, next: 2,
		body: []Inst{{Op: LW, Rt: A0, Rs: A1}}}
	ret := &codeBlock{label: 1, kind: termExit, body: []Inst{{Op: JR, Rs: RA}, {Op: NOP}}}
	moves := &codeBlock{label: 2, kind: termJump, next: 1,
		body: []Inst{{Op: ADDIU, Rt: V0, Rs: ZERO, Imm: 5}, {Op: ADDIU, Rt: V1, Rs: ZERO, Imm: 6}, {Op: ADDIU, Rt: T0, Rs: ZERO, Imm: 7}}}
	blocks := []*codeBlock{entry, ret, moves}
	out, refs := emitBlocks(blocks, blocks)
	require.Equal(t, []Inst{
		{Op: LABEL, Target: 0}, {Op: LW, Rt: A0, Rs: A1}, {Op: B, Target: 2}, {Op: NOP},
		{Op: LABEL, Target: 1}, {Op: JR, Rs: RA}, {Op: NOP},
		{Op: LABEL, Target: 2}, {Op: ADDIU, Rt: V0, Rs: ZERO, Imm: 5}, {Op: ADDIU, Rt: V1, Rs: ZERO, Imm: 6},
		{Op: ADDIU, Rt: T0, Rs: ZERO, Imm: 7}, {Op: JR, Rs: RA}, {Op: NOP},
	}, out)
	require.Equal(t, []int{0, 0, 1}, refs, "label 2 is reached by the jump; label 1 only copied")
}
