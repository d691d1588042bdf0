/*
 * parse_ipv6 — Ethernet/IPv6 with an extension-header walk: hop-by-hop,
 * routing and destination options (length in 8-byte units) and fragment
 * headers, at most 6 of them, until a transport header; then the ports of
 * TCP or UDP. A non-first fragment or an unknown header passes.
 *
 * out[0] the transport protocol, out[1] extension headers walked, out[2]
 * the transport header's offset, out[3] sport << 16 | dport, out[4] a fold
 * of the source address, out[5] the flow label, out[6] hop limit. Returns
 * an XDP verdict: drop on malformed headers or hop limit <= 1.
 */
#include "bench.h"

#define MAX_EXT 6

SEC("xdp")
int parse_ipv6(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	if ((__u8 *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	if ((__u8 *)(ip6 + 1) > end)
		return XDP_DROP;
	__u32 vtc = bpf_ntohl(ip6->vtc_flow);
	if ((vtc >> 28) != 6)
		return XDP_DROP;
	ctx->out[5] = vtc & 0xfffff;
	ctx->out[6] = ip6->hop_limit;
	ctx->out[4] = ip6->saddr[0] ^ ip6->saddr[1] ^ ip6->saddr[2] ^ ip6->saddr[3];
	if (ip6->hop_limit <= 1)
		return XDP_DROP;

	__u32 nexthdr = ip6->nexthdr;
	__u8 *p = (__u8 *)(ip6 + 1);
	__u32 walked = 0;
	for (__u32 i = 0; i < MAX_EXT; i++) {
		if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS) {
			struct ipv6_opt_hdr *opt = (void *)p;
			if ((__u8 *)(opt + 1) > end)
				return XDP_DROP;
			__u32 len = (opt->hdrlen + 1) * 8;
			if (p + len > end)
				return XDP_DROP;
			nexthdr = opt->nexthdr;
			p += len;
		} else if (nexthdr == IPPROTO_FRAGMENT) {
			struct frag_hdr *fh = (void *)p;
			if ((__u8 *)(fh + 1) > end)
				return XDP_DROP;
			if (bpf_ntohs(fh->frag_off) & 0xfff8) {
				ctx->out[1] = walked + 1;
				return XDP_PASS; /* not the first fragment */
			}
			nexthdr = fh->nexthdr;
			p += sizeof(*fh);
		} else {
			break;
		}
		walked++;
	}
	ctx->out[0] = nexthdr;
	ctx->out[1] = walked;
	ctx->out[2] = p - data;
	if (nexthdr == IPPROTO_TCP || nexthdr == IPPROTO_UDP) {
		struct udphdr *l4 = (void *)p; /* ports first in both */
		if ((__u8 *)(l4 + 1) > end)
			return XDP_DROP;
		ctx->out[3] = (__u32)bpf_ntohs(l4->source) << 16 | bpf_ntohs(l4->dest);
		return XDP_PASS;
	}
	return nexthdr == IPPROTO_NONE ? XDP_DROP : XDP_PASS;
}
