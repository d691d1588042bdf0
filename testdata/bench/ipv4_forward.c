/*
 * ipv4_forward — a router's fast path for IPv4: verify the header
 * checksum (a loop over the header's 16-bit words, options included),
 * drop expired packets, decrement the TTL and patch the checksum
 * incrementally (RFC 1624), then pick a next hop by longest prefix over a
 * small fixed route list.
 *
 * out[0] the folded header sum (0xffff when valid), out[1] the new TTL,
 * out[2] the new checksum (network order), out[3] the next hop's index,
 * out[4] the destination (host order). Returns XDP_TX when forwarded,
 * XDP_DROP on a bad checksum, expired TTL or no route, XDP_PASS for
 * non-IPv4 and packets to this host.
 */
#include "bench.h"

#define MY_ADDR 0xc0a80101 /* 192.168.1.1 */

/* The route list, longest prefixes first: next hop or 0 for none. */
static __always_inline __u32 route(__u32 dst)
{
	if ((dst & 0xffffff00) == 0xc0a80100) return 1;  /* 192.168.1.0/24 */
	if ((dst & 0xffffff00) == 0x0a000200) return 2;  /* 10.0.2.0/24 */
	if ((dst & 0xffff0000) == 0x0a000000) return 3;  /* 10.0.0.0/16 */
	if ((dst & 0xff000000) == 0x0a000000) return 4;  /* 10.0.0.0/8 */
	if ((dst & 0xfff00000) == 0xac100000) return 5;  /* 172.16.0.0/12 */
	if ((dst & 0xf0000000) == 0xe0000000) return 0;  /* multicast */
	return 6;                                         /* default */
}

SEC("xdp")
int ipv4_forward(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u32 ihl = ip->ihl_version & 0xf;
	if ((ip->ihl_version >> 4) != 4 || ihl < 5 || (__u8 *)ip + ihl * 4 > end)
		return XDP_DROP;

	__u16 *w = (void *)ip;
	__u32 sum = 0;
	for (__u32 i = 0; i < 30; i++) { /* at most 60 header bytes */
		if (i >= ihl * 2)
			break;
		sum += w[i];
	}
	sum = csum_fold32(sum);
	ctx->out[0] = sum;
	if (sum != 0xffff)
		return XDP_DROP;

	__u32 dst = bpf_ntohl(ip->daddr);
	ctx->out[4] = dst;
	if (dst == MY_ADDR)
		return XDP_PASS;
	if (ip->ttl <= 1)
		return XDP_DROP;
	/* ttl and protocol share a 16-bit word of the checksum */
	__u16 *ttl_word = (void *)&ip->ttl;
	__u16 old = *ttl_word;
	ip->ttl--;
	ip->check = csum_replace2(ip->check, old, *ttl_word);
	ctx->out[1] = ip->ttl;
	ctx->out[2] = bpf_ntohs(ip->check);

	__u32 hop = route(dst);
	ctx->out[3] = hop;
	return hop ? XDP_TX : XDP_DROP;
}
