/*
 * counter — per-CPU-style counters in plain array maps: packets and bytes
 * per CPU (bpf_get_smp_processor_id() indexes the array, as a
 * BPF_MAP_TYPE_PERCPU_ARRAY would without the per-CPU copies), and a
 * histogram of the packet's bytes by high nibble, all updated with atomic
 * adds through the pointers bpf_map_lookup_elem returns.
 *
 * out[0] packets on this CPU, out[1] bytes on this CPU, out[2..6] the
 * histogram's buckets 0, 1, 4, 8 and 15. Returns the number of buckets
 * that are not empty.
 */
#include "corpus.h"

#define MAX_CPUS 4
#define MAX_BYTES 256

struct cpu_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, struct cpu_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} histogram SEC(".maps");

static __always_inline __u32 bucket(__u32 key)
{
	__u32 *v = bpf_map_lookup_elem(&histogram, &key);
	return v ? *v : 0;
}

SEC("socket")
int count_bytes(struct ctx *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct cpu_stats *s = bpf_map_lookup_elem(&stats, &cpu);
	if (!s)
		return -1;
	__sync_fetch_and_add(&s->packets, 1);
	__sync_fetch_and_add(&s->bytes, ctx->len);

	__u8 *data = ctx->data;
	__u32 n = ctx->len < MAX_BYTES ? ctx->len : MAX_BYTES;
	for (__u32 i = 0; i < n; i++) {
		__u32 key = data[i] >> 4;
		__u32 *v = bpf_map_lookup_elem(&histogram, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
	}

	ctx->out[0] = s->packets;
	ctx->out[1] = s->bytes;
	ctx->out[2] = bucket(0);
	ctx->out[3] = bucket(1);
	ctx->out[4] = bucket(4);
	ctx->out[5] = bucket(8);
	ctx->out[6] = bucket(15);
	int used = 0;
	for (__u32 k = 0; k < 16; k++)
		used += bucket(k) != 0;
	return used;
}
