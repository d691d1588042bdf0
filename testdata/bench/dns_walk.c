/*
 * dns_walk — a DNS query inspector: for UDP to port 53, walk the first
 * question's name label by label (at most 16 labels, 128 bytes; no
 * compression pointers in a question), lower-casing each byte into a
 * running FNV hash of the name, then read QTYPE and QCLASS; names on the
 * block list (by hash) and ANY queries are dropped.
 *
 * out[0] the name's hash, out[1] the labels, out[2] the name's length in
 * bytes, out[3] QTYPE, out[4] QCLASS, out[5] the query ID. Returns 1 to
 * pass, 0 to drop, -1 when not a well-formed DNS query.
 */
#include "bench.h"

#define MAX_LABELS 16
#define MAX_NAME 128

SEC("socket")
int dns_walk(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP)
		return -1;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	struct udphdr *udp = (void *)((__u8 *)ip + hlen);
	struct dnshdr *dns = (void *)(udp + 1);
	if (hlen < sizeof(*ip) || (__u8 *)(dns + 1) > end || udp->dest != bpf_htons(53))
		return -1;
	if ((bpf_ntohs(dns->flags) & 0x8000) || dns->qdcount == 0)
		return -1; /* a response, or no question */
	ctx->out[5] = bpf_ntohs(dns->id);

	__u8 *p = (__u8 *)(dns + 1);
	__u32 hash = 2166136261u, labels = 0, namelen = 0;
	for (__u32 l = 0; l < MAX_LABELS; l++) {
		if (p + 1 > end)
			return -1;
		__u32 len = *p++;
		if (len == 0)
			break;
		if (len > 63 || namelen + len + 1 > MAX_NAME || p + len > end)
			return -1;
		for (__u32 i = 0; i < 63; i++) {
			if (i >= len)
				break;
			__u32 c = p[i];
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			hash = (hash ^ c) * 16777619u;
		}
		hash = (hash ^ '.') * 16777619u;
		p += len;
		namelen += len + 1;
		labels++;
	}
	if (p + 4 > end)
		return -1;
	__u32 qtype = (__u32)p[0] << 8 | p[1];
	__u32 qclass = (__u32)p[2] << 8 | p[3];
	ctx->out[0] = hash;
	ctx->out[1] = labels;
	ctx->out[2] = namelen;
	ctx->out[3] = qtype;
	ctx->out[4] = qclass;
	if (qtype == 255) /* ANY */
		return 0;
	if (hash == 0x6ecd0e4c || hash == 0x1ff2ce92 || hash == 0xac2cc97f)
		return 0;
	return 1;
}
