// Package kernel cross-checks the reference interpreter (frontend/bpf)
// against the Linux kernel on this machine: random KernelSafe programs from
// fuzz/progen, with subprograms (`call local`), run both through
// BPF_PROG_TEST_RUN, as XDP programs on a packet, and through
// bpf.Interpret on the same bytes, and must agree on the 32-bit result
// and on the packet afterwards. A disagreement is minimized
// and reported with both programs, unless the kernel agrees on an
// equivalent copy of the program (branches inverted, nops inserted): then
// it is a kernel verifier bug, counted and logged. kernelbugs_test.go holds
// the two 6.18 verifier bugs found so far, minimized; one of them (the
// missing zero-extension after a 32-bit cmpxchg) is worked around by an
// explicit `w0 = w0` in the kernel's copy of every program.
//
// The tests need permission to use bpf() (root, or CAP_BPF with
// CAP_NET_ADMIN); where it is not permitted they say so plainly in their
// log and pass.
//
// Import rule: frontend/bpf, fuzz/progen and github.com/cilium/ebpf only.
package kernel
