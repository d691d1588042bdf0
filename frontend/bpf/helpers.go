package bpf

import (
	"strings"

	"github.com/bpfopt/bpfopt/ir"
)

// Linux's BPF helper functions that bpfopt knows by ID (include/uapi/linux/bpf.h):
// their names, for renaming helper symbols; how many argument registers
// they read, so that a call passes only those (unknown helpers get all
// five); and what they may do to memory, the ir.CallEffect the lifter puts
// on the call so that the optimizer can keep stack values across it.
//
// The effects must not claim less than a helper does anywhere it runs: in
// package internal/bpfrt (the reference interpreter's and the simulator's
// runtime), in the qemu runner (backend/mips32/qemu/runner: helpers.c,
// maps.c) and, for the helpers those do not provide, in Linux. A map
// helper writes through its map argument even to look up: the runtimes
// set a map's storage up at its first use (the state word of struct
// bpf_map in maps.c), and Linux's LRU maps update their lists. A test
// (helpers_test.go) runs bpfrt's helpers over memory that records every
// access and checks them against this table.
//
// An entry with no effect (zero) is the unknown effect: any memory.
var kernelHelpers = map[int32]struct {
	name   string
	args   int
	effect ir.CallEffect
}{
	1:   {"bpf_map_lookup_elem", 2, memory(through(R1, R2), through(R1))},     // map, key
	2:   {"bpf_map_update_elem", 4, memory(through(R1, R2, R3), through(R1))}, // map, key, value, flags
	3:   {"bpf_map_delete_elem", 2, memory(through(R1, R2), through(R1))},     // map, key
	4:   {"bpf_probe_read", 3, memory(through(R3), through(R1))},              // dst, size, src
	5:   {"bpf_ktime_get_ns", 0, noMemory},
	6:   {"bpf_trace_printk", 5, memory(through(R1, R3, R4, R5), 0)}, // fmt, fmt_size, up to three %s or values
	7:   {"bpf_get_prandom_u32", 0, noMemory},
	8:   {"bpf_get_smp_processor_id", 0, noMemory},
	9:   {"bpf_skb_store_bytes", 5, memory(through(R1, R3), through(R1))}, // skb, offset, from, len, flags
	10:  {"bpf_l3_csum_replace", 5, memory(through(R1), through(R1))},     // skb, offset, from, to, size
	11:  {"bpf_l4_csum_replace", 5, memory(through(R1), through(R1))},     // skb, offset, from, to, flags
	12:  {"bpf_tail_call", 3, 0},                                          // lifted as a tail call (liftTailCall)
	13:  {"bpf_clone_redirect", 3, memory(through(R1), through(R1))},      // skb, ifindex, flags
	14:  {"bpf_get_current_pid_tgid", 0, noMemory},
	15:  {"bpf_get_current_uid_gid", 0, noMemory},
	16:  {"bpf_get_current_comm", 2, memory(0, through(R1))},                    // buf, size
	23:  {"bpf_redirect", 2, noMemory},                                          // ifindex, flags
	25:  {"bpf_perf_event_output", 5, memory(through(R1, R2, R4), through(R2))}, // ctx, map, flags, data, size
	26:  {"bpf_skb_load_bytes", 4, memory(through(R1), through(R3))},            // skb, offset, to, len
	28:  {"bpf_csum_diff", 5, memory(through(R1, R3), 0)},                       // from, from_size, to, to_size, seed
	44:  {"bpf_xdp_adjust_head", 2, memory(through(R1), through(R1))},           // xdp_md, delta
	51:  {"bpf_redirect_map", 3, memory(through(R1), 0)},                        // map, key, flags
	130: {"bpf_ringbuf_output", 4, memory(through(R1, R2), through(R1))},        // ringbuf, data, size, flags
	131: {"bpf_ringbuf_reserve", 3, memory(through(R1), through(R1))},           // ringbuf, size, flags
	132: {"bpf_ringbuf_submit", 2, 0},                                           // data, flags: writes the record's header, below data
	133: {"bpf_ringbuf_discard", 2, 0},                                          // data, flags: the same
}

// noMemory is the effect of a helper that touches no memory of the program.
var noMemory = ir.KnownEffect(0, 0)

// memory is the effect of a helper that reads memory only through the
// argument registers in reads and writes only through those in writes.
func memory(reads, writes uint8) ir.CallEffect { return ir.KnownEffect(reads, writes) }

// through is the set of argument registers regs (R1..R5) as an
// ir.CallEffect parameter mask.
func through(regs ...uint8) uint8 {
	var mask uint8
	for _, r := range regs {
		mask |= 1 << (r - R1)
	}
	return mask
}

// KernelHelperArgs is how many argument registers kernel helper id reads
// (5 when the helper is not in the table).
func KernelHelperArgs(id int32) int {
	if h, ok := kernelHelpers[id]; ok {
		return h.args
	}
	return 5
}

// KernelHelperName is the kernel's name for helper id ("" when unknown).
func KernelHelperName(id int32) string { return kernelHelpers[id].name }

// KernelHelperEffect is what kernel helper id may do to memory (the
// unknown effect, any memory, when the helper is not in the table).
func KernelHelperEffect(id int32) ir.CallEffect { return kernelHelpers[id].effect }

// SymbolName is the linker symbol for a map or data section of an ELF
// object: map names are kept, section names (".rodata", ".data.x") become
// identifiers ("__rodata", "__data_x").
func SymbolName(ref string) string {
	if !strings.HasPrefix(ref, ".") {
		return ref
	}
	return "__" + strings.NewReplacer(".", "_", "-", "_").Replace(ref[1:])
}
