package bpf

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/internal/bpfrt"
)

// The kernel helper set. Expected values come from the definitions in
// backend/mips32/qemu/runner/helpers.c, computed by hand or, for
// xorshift32, from Marsaglia's paper (the first output from 2463534242
// is 723471715) and an independent computation of the next two.

func TestKernelHelperIDs(t *testing.T) {
	for id, name := range map[int32]string{
		KernelMapLookupElem: "bpf_map_lookup_elem", KernelMapUpdateElem: "bpf_map_update_elem",
		KernelMapDeleteElem: "bpf_map_delete_elem", KernelKtimeGetNs: "bpf_ktime_get_ns",
		KernelGetPrandomU32: "bpf_get_prandom_u32", KernelGetSmpProcessorID: "bpf_get_smp_processor_id",
		KernelTailCall: "bpf_tail_call",
	} {
		require.Equal(t, name, KernelHelperName(id), "helper %d", id)
	}
	// The runtime's helper table (internal/bpfrt) agrees with helpers.go on
	// names and argument counts.
	for _, h := range bpfrt.KernelHelpers {
		require.Equal(t, KernelHelperName(h.ID), "bpf_"+h.Name, "helper %d", h.ID)
		require.Equal(t, KernelHelperArgs(h.ID), h.Args, "helper %d", h.ID)
	}
}

func TestInterpKernelHelpers(t *testing.T) {
	run := func(src string) uint64 {
		p, err := ParseAsm(src)
		require.NoError(t, err)
		r0, err := Interpret(p, RunConfig{Helpers: KernelHelpers()})
		require.NoError(t, err)
		return r0
	}
	for i := 0; i < 2; i++ { // the state is per run
		require.Equal(t, uint64(3000), run("call 5\ncall 5\ncall 5\nexit"))
		require.Equal(t, uint64(723471715), run("call 7\nexit"))
		require.Equal(t, uint64(2064144800), run("call 7\ncall 7\ncall 7\nexit"))
		require.Equal(t, uint64(0), run("mov %r0, 9\ncall 8\nexit"))
	}
	// callx reaches the same set.
	require.Equal(t, uint64(2000), run("mov %r6, 5\ncall %r6\ncall %r6\nexit"))
}

// chainObject is a program array whose slot 0 holds "again", a program
// that counts its entries in .data and tail-calls slot 0, and whose slot 1
// is empty.
func chainObject(t *testing.T) (*Program, *Object) {
	again := asmWithRefs(t, `
		lddw %r2, 0, map_value
		ldxw %r3, [%r2+0]
		add %r3, 1
		stxw [%r2+0], %r3
		mov %r0, 77
		lddw %r2, 0, map_fd
		mov %r3, 0
		call 12
		# the chain has ended: r0 is still 77; return the count
		lddw %r2, 0, map_value
		ldxw %r0, [%r2+0]
		exit`, ".data", "jmp", ".data")
	again.Name = "again"
	obj := &Object{Programs: []*Program{again}, Maps: []*MapSpec{
		{Symbol: "__data", Section: true, Data: make([]byte, 4)},
		{Symbol: "jmp", Type: MapTypeProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2,
			Programs: map[uint32]string{0: "again"}},
	}}
	return again, obj
}

func TestInterpTailCallChainLimit(t *testing.T) {
	// The entry plus 33 tail calls (Linux's limit) run; the 34th fails.
	again, obj := chainObject(t)
	require.Equal(t, uint64(1+MaxTailCalls), runObject(t, again, obj, nil))
	require.Equal(t, uint64(34), runObject(t, again, obj, nil)) // state is per run
}

func TestInterpTailCall(t *testing.T) {
	_, obj := chainObject(t)
	// target: returns ctx's first byte + r2 (len) + 10 * (r6 == 0), with
	// fresh registers and stack.
	target := asmWithRefs(t, `
		ldxb %r0, [%r1+0]
		add %r0, %r2
		jne %r6, 0, +1
		add %r0, 10
		exit`)
	target.Name = "target"
	obj.Programs = append(obj.Programs, target)
	obj.Maps[1].Programs = map[uint32]string{0: "target"}
	// Slot 1 is empty and index 0x1_0000_0001 is slot 1 as a u32: both
	// fail, r0 unchanged; then slot 0 succeeds with r1 = ctx.
	p := asmWithRefs(t, `
		mov %r6, %r1
		mov %r0, 5
		mov %r1, %r6
		lddw %r2, 0, map_fd
		mov %r3, 1
		call 12
		add %r0, 1
		mov %r1, %r6
		lddw %r2, 0, map_fd
		lddw %r3, 0x100000001
		call 12
		add %r0, 1
		mov %r1, %r6
		lddw %r2, 0, map_fd
		mov %r3, 2
		call 12
		mov %r1, %r6
		lddw %r2, 0, map_fd
		mov %r3, 0
		call 12
		add %r0, 100
		exit`, "jmp", "jmp", "jmp", "jmp")
	require.Equal(t, uint64(7+3+10), runObject(t, p, obj, []byte{7, 0, 0}))
	// With slot 0 empty too, all four fail and r0 survives them:
	// 5 + 1 + 1 + 100.
	obj.Maps[1].Programs = nil
	require.Equal(t, uint64(107), runObject(t, p, obj, []byte{7, 0, 0}))
}

func TestInterpTailCallErrors(t *testing.T) {
	_, obj := chainObject(t)
	obj.Maps[1].Programs = map[uint32]string{1: "missing"}
	for _, c := range []struct {
		asm  string
		refs []string
		msg  string
	}{
		{"lddw %r2, 0, map_fd\nmov %r3, 1\ncall 12\nexit", []string{"jmp"},
			`line 3: helper 12: map jmp: slot 1 names program "missing", which the object does not have`},
		{"lddw %r2, 0, map_value\nmov %r3, 0\ncall 12\nexit", []string{".data"},
			"line 3: helper 12: 0x30000000 is not a map"},
		{"call local f\nexit\nf:\nlddw %r2, 0, map_fd\nmov %r3, 0\ncall 12\nexit", []string{"jmp"},
			"line 6: helper 12: tail calls from subprograms are not supported"},
	} {
		p := asmWithRefs(t, c.asm, c.refs...)
		_, err := Interpret(p, RunConfig{Helpers: KernelHelpers(), Object: obj})
		require.ErrorContains(t, err, c.msg, c.asm)
	}
}
