/*
 * fnv1a — FNV-1a (32-bit) over the UDP payload, as a content filter
 * fingerprints datagrams; the fingerprint is checked against a short
 * block list, and a 16-bit fold feeds a sampling decision.
 *
 * out[0] the hash, out[1] the bytes hashed, out[2] the fold. Returns 0
 * to drop a blocked datagram, 1 to keep it, 2 when it is sampled, -1
 * when there is no UDP payload.
 */
#include "bench.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u
#define MAX_PAYLOAD 512

SEC("socket")
int fnv1a(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP)
		return -1;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	__u8 *payload = (__u8 *)ip + hlen + sizeof(struct udphdr);
	if (hlen < sizeof(*ip) || payload > end)
		return -1;
	__u32 h = FNV_OFFSET;
	__u32 n = end - payload;
	if (n > MAX_PAYLOAD)
		n = MAX_PAYLOAD;
	for (__u32 i = 0; i < n; i++) {
		h ^= payload[i];
		h *= FNV_PRIME;
	}
	__u32 fold = (h >> 16) ^ (h & 0xffff);
	ctx->out[0] = h;
	ctx->out[1] = n;
	ctx->out[2] = fold;
	if (h == 0x050c5d1f || h == 0x811c9dc5 || h == 0x2b24d044)
		return 0;
	return fold < 0x0400 ? 2 : 1;
}
