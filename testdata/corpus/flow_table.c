/*
 * flow_table — a connection-tracking table in a hash map keyed by the
 * 5-tuple. The packet is a batch of flow records (struct record), each
 * processed in turn: a new flow is inserted with BPF_NOEXIST, a known one
 * updated in place through the looked-up pointer, a record with FIN
 * deletes its flow; the table holds at most 4 flows, so a fifth insert
 * fails with -E2BIG. Timestamps come from bpf_ktime_get_ns and sampling
 * from bpf_get_prandom_u32 (both deterministic in bpfopt's runtime).
 *
 * out[0] flows inserted, out[1] updates, out[2] deletes, out[3] failed
 * inserts (last errno in out[4], negative), out[5] packets of the last
 * record's flow, out[6] a hash of the last record's flow state. Returns
 * the number of live flows (inserts - deletes).
 */
#include "corpus.h"

#define MAX_RECORDS 8

struct record {
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto, flags; /* flags: 1 = FIN */
	__u16 bytes;
};

struct flow_key {
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow_state {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen, last_seen;
	__u32 sampled;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} flows SEC(".maps");

SEC("socket")
int track(struct ctx *ctx)
{
	__u8 *data = ctx->data;
	__u8 *end = data + ctx->len;
	__u32 live = 0;

	for (int i = 0; i < MAX_RECORDS; i++) {
		struct record *r = (void *)(data + i * sizeof(struct record));
		if ((__u8 *)(r + 1) > end)
			break;
		struct flow_key key;
		__builtin_memset(&key, 0, sizeof(key));
		key.saddr = r->saddr;
		key.daddr = r->daddr;
		key.sport = r->sport;
		key.dport = r->dport;
		key.proto = r->proto;
		__u64 now = bpf_ktime_get_ns();

		struct flow_state *st = bpf_map_lookup_elem(&flows, &key);
		if (!st) {
			struct flow_state init = {
				.packets = 1, .bytes = r->bytes, .first_seen = now, .last_seen = now,
				.sampled = (bpf_get_prandom_u32() & 3) == 0,
			};
			long err = bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
			if (err) {
				ctx->out[3]++;
				ctx->out[4] = err;
				continue;
			}
			ctx->out[0]++;
			live++;
			st = bpf_map_lookup_elem(&flows, &key);
			if (!st)
				return -1;
		} else {
			st->packets++;
			st->bytes += r->bytes;
			st->last_seen = now;
			ctx->out[1]++;
		}
		ctx->out[5] = st->packets;
		ctx->out[6] = (__u32)(st->bytes * 31 + (st->last_seen - st->first_seen) / 1000 * 7 + st->sampled);
		if (r->flags & 1) {
			if (bpf_map_delete_elem(&flows, &key) == 0) {
				ctx->out[2]++;
				live--;
			}
		}
	}
	return live;
}
