package bpf

import "strings"

// Linux's BPF helper functions that bpfopt knows by ID (include/uapi/linux/bpf.h):
// their names, for renaming helper symbols, and how many argument registers
// they read, so that a call passes only those (unknown helpers get all five).
var kernelHelpers = map[int32]struct {
	name string
	args int
}{
	1:   {"bpf_map_lookup_elem", 2},
	2:   {"bpf_map_update_elem", 4},
	3:   {"bpf_map_delete_elem", 2},
	4:   {"bpf_probe_read", 3},
	5:   {"bpf_ktime_get_ns", 0},
	6:   {"bpf_trace_printk", 5},
	7:   {"bpf_get_prandom_u32", 0},
	8:   {"bpf_get_smp_processor_id", 0},
	9:   {"bpf_skb_store_bytes", 5},
	10:  {"bpf_l3_csum_replace", 5},
	11:  {"bpf_l4_csum_replace", 5},
	12:  {"bpf_tail_call", 3},
	13:  {"bpf_clone_redirect", 3},
	14:  {"bpf_get_current_pid_tgid", 0},
	15:  {"bpf_get_current_uid_gid", 0},
	16:  {"bpf_get_current_comm", 2},
	23:  {"bpf_redirect", 2},
	25:  {"bpf_perf_event_output", 5},
	26:  {"bpf_skb_load_bytes", 4},
	28:  {"bpf_csum_diff", 5},
	44:  {"bpf_xdp_adjust_head", 2},
	51:  {"bpf_redirect_map", 3},
	130: {"bpf_ringbuf_output", 4},
	131: {"bpf_ringbuf_reserve", 3},
	132: {"bpf_ringbuf_submit", 2},
	133: {"bpf_ringbuf_discard", 2},
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

// SymbolName is the linker symbol for a map or data section of an ELF
// object: map names are kept, section names (".rodata", ".data.x") become
// identifiers ("__rodata", "__data_x").
func SymbolName(ref string) string {
	if !strings.HasPrefix(ref, ".") {
		return ref
	}
	return "__" + strings.NewReplacer(".", "_", "-", "_").Replace(ref[1:])
}
