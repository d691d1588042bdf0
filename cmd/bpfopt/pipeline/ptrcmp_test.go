package pipeline

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// xdpChecks is the XDP shape of packet bounds checks: data and data_end
// loaded from the ctx as u32 (no common base), checked as data + 14,
// data + n and data + n + 1 against data_end, in both operand orders,
// signed and for equality. The result has one bit per check. It reads no
// packet byte, so any data and data_end are valid inputs.
const xdpChecks = `
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    ldxw %r4, [%r1+8]
    mov %r0, 0
    mov %r5, %r2
    add %r5, 14
    jgt %r5, %r3, l1
    or %r0, 1
l1:
    mov %r5, %r2
    add %r5, %r4
    jge %r3, %r5, l2
    or %r0, 2
l2:
    add %r5, 1
    jsgt %r5, %r3, l3
    or %r0, 4
l3:
    jne %r5, %r3, l4
    or %r0, 8
l4:
    exit
`

// TestXDPChecksAcrossTwoTo32 runs the XDP checks, which ptrcmp makes
// carry compares (the carry of data + n, or'd with a low-word compare),
// compiled at -O2 on the simulator against the reference interpreter,
// with data, data_end and n where the sums carry past 2^32 or stop one
// short of it.
func TestXDPChecksAcrossTwoTo32(t *testing.T) {
	p, err := bpf.ParseAsm(xdpChecks)
	require.NoError(t, err)
	res, err := Compile(p, "xdp_checks", Options{Target: mips32.DefaultTarget, OptLevel: 2})
	require.NoError(t, err)
	carries := 0
	for _, r := range res.Reports {
		for _, pr := range r.Passes {
			if pr.Pass == "ptrcmp" {
				carries += pr.Stats["compares against a carry"]
			}
		}
	}
	require.Equal(t, 4, carries, "ptrcmp did not make every check a carry compare")
	eng, err := NewEngine("sim", mips32.DefaultTarget)
	require.NoError(t, err)
	edges := []uint32{0, 1, 13, 14, 15, 0x7fffffff, 0x80000000, 0xfffffff1, 0xfffffff2, 0xfffffffe, 0xffffffff}
	seen := map[uint64]bool{}
	for _, data := range edges {
		for _, end := range edges {
			for _, n := range []uint32{0, 1, 14, 0xfffffffe, 0xffffffff, end - data, end - data - 1, end - data + 1} {
				mem := make([]byte, 12)
				binary.LittleEndian.PutUint32(mem[0:], data)
				binary.LittleEndian.PutUint32(mem[4:], end)
				binary.LittleEndian.PutUint32(mem[8:], n)
				want, err := bpf.Interpret(p, bpf.RunConfig{Mem: bytes.Clone(mem)})
				require.NoError(t, err)
				x, err := eng.Run(res.Module, 0, mem)
				require.NoError(t, err)
				require.NoError(t, x.Fault)
				require.Equal(t, want, x.R0, "data %#x, data_end %#x, n %#x", data, end, n)
				seen[want] = true
			}
		}
	}
	require.GreaterOrEqual(t, len(seen), 6, "the inputs reach too few combinations of the checks")
}
