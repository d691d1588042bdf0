package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// cmpxchg32Repro is a minimized program on which the cross-check found
// Linux 6.18 (x86-64) disagreeing with RFC 9669. On the packet below the
// branch to `swap` is taken, r3 becomes 0, the cmpxchg32 runs and its
// compare succeeds (the low word of r0 and the memory word are both 0), so
// r0 must become the zero-extended old value, 0, and the program returns
// 0. The kernel returns 0x2000000: its verifier reaches the 64-bit use of
// r0 after the cmpxchg only through a pruned state, so it never marks the
// cmpxchg as needing a zero-extension, and x86's `lock cmpxchg` on 32 bits
// leaves the high half of rax alone when the compare succeeds. The 64
// leading stores only space the code so that the verifier's pruning
// checkpoints fall where they trigger the bug.
func cmpxchg32Repro() string {
	var b strings.Builder
	for off := -512; off < 0; off += 8 {
		fmt.Fprintf(&b, "stdw [%%r10%d], 0\n", off)
	}
	b.WriteString(`
mov %r7, 33
stxdw [%r10-136], %r7
mov %r8, 127
lddw %r9, 0x940340aabaf55319
mov %r3, 0x7fffffff
ldxsb %r4, [%r1+15]
jge32 %r4, %r9, swap
ja shift
swap:
be16 %r3
shift:
arsh %r3, 18
mov %r0, 2
be64 %r0
jgt %r3, 73, out
lock cmpxchg32 [%r10-132], %r8
out:
ja +0
ja +0
mov %r2, %r0
rsh %r2, 32
xor %r0, %r2
exit
`)
	return b.String()
}

// Two Linux 6.18 verifier bugs the cross-check found, minimized. Each test
// checks the interpreter against the value RFC 9669 gives (worked out by
// hand in the comments), checks the kernel where the cross-check works
// around the bug, and reports plainly whether this kernel has the bug.

// TestCmpxchg32ZeroExtension checks the interpreter and the kernel (with
// forKernel's explicit zero-extension) on the reproducer, and reports
// whether this kernel has the bug without it.
func TestCmpxchg32ZeroExtension(t *testing.T) {
	body, err := bpf.ParseAsm(cmpxchg32Repro())
	require.NoError(t, err)
	packet := make([]byte, packetSize)
	packet[15] = 0xed // negative as a signed byte: the branch to swap is taken

	interp, err := runInterp(body, packet, 0)
	require.NoError(t, err)
	require.Equal(t, uint32(0), interp.r0, "interpreter: cmpxchg32 must zero-extend r0")

	reason, err := bpfUnavailable()
	require.NoError(t, err)
	if reason != "" {
		t.Logf("kernel cross-check: bpf() not permitted here (%s)", reason)
		return
	}
	kernel, err := runKernel(body, packet)
	require.NoError(t, err)
	require.Equal(t, uint32(0), kernel.r0, "kernel with the explicit zero-extension")

	raw, err := bpf.NewProgram("raw", append(xdpPrefix(packetSize), body.Insns...))
	require.NoError(t, err)
	insns, err := toCilium(raw)
	require.NoError(t, err)
	prog, err := loadXDP(insns)
	require.NoError(t, err)
	defer prog.Close()
	r0, err := prog.Run(&ebpf.RunOptions{Data: packet})
	require.NoError(t, err)
	if r0 != 0 {
		t.Logf("this kernel has the cmpxchg32 zero-extension bug: it returns %#x, RFC 9669 says 0; the cross-check works around it", r0)
	} else {
		t.Logf("this kernel zero-extends r0 after cmpxchg32 correctly here")
	}
}

// atomicFetchRepro is a minimized program on which Linux 6.18 takes a branch
// RFC 9669 does not. With packet[0] != 0 the jne is taken, so r5 keeps its
// constant and the stored word is 0x29abc942; the fetch-add returns it in
// r8, which is not 0, so r0 = 1. The verifier explores the fall-through
// first (r5 = 0, so r8 = 0 and jeq is always taken), then prunes the other
// path at the `ja +0` checkpoint as equivalent: the precision of r8 is not
// carried back through the atomic fetch to the stack slot, so the slot's
// different constant is ignored. It then removes `mov r0, 1` as dead code
// and the program returns 0.
const atomicFetchRepro = `
stdw [%r10-8], 0
mov %r0, 0
lddw %r5, 0x71a112fb29abc942
ldxb %r3, [%r1]
jne %r3, 0, store
mov %r5, 0
store:
stxw [%r10-8], %r5
ja +0
mov %r8, 0
lock fetch add32 [%r10-8], %r8
jeq %r8, 0, out
mov %r0, 1
out:
exit
`

// TestAtomicFetchPruning checks the interpreter on the reproducer and
// that the cross-check's classification (kernelContradictsItself) blames
// the kernel for it, and reports whether this kernel has the bug.
func TestAtomicFetchPruning(t *testing.T) {
	body, err := bpf.ParseAsm(atomicFetchRepro)
	require.NoError(t, err)
	packet := make([]byte, packetSize)
	packet[0] = 1

	interp, err := runInterp(body, packet, 0)
	require.NoError(t, err)
	require.Equal(t, uint32(1), interp.r0, "interpreter: the fetched word is 0x29abc942")

	reason, err := bpfUnavailable()
	require.NoError(t, err)
	if reason != "" {
		t.Logf("kernel cross-check: bpf() not permitted here (%s)", reason)
		return
	}
	kernel, err := runKernel(body, packet)
	require.NoError(t, err)
	if kernel.equal(interp) {
		t.Logf("this kernel runs the atomic-fetch pruning reproducer correctly")
		return
	}
	t.Logf("this kernel has the atomic-fetch pruning bug: it returns %#x, RFC 9669 says 1", kernel.r0)
	require.True(t, kernelContradictsItself(body, packet, interp, 0),
		"the kernel must agree on an equivalent copy, or the cross-check would blame the interpreter")
}
