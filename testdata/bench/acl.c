/*
 * acl — a firewall's rule table compiled into the program: rules on
 * source prefix, destination port range and protocol (0 = any), first
 * match wins, as a table of X-macro rows (a const array would become a
 * .rodata map, which the GCC anchor's simulator run cannot hold).
 *
 * out[0] the matching rule's number (0 none), out[1] source address
 * (host order), out[2] destination port, out[3] protocol. Returns 1 to
 * allow, 0 to deny (also for non-IPv4 and truncated packets).
 */
#include "bench.h"

/* X(number, prefix, mask, port_lo, port_hi, proto, allow) */
#define RULES(X)                                               \
	X(1, 0x0a000000, 0xff000000, 22, 22, IPPROTO_TCP, 1)   \
	X(2, 0x00000000, 0x00000000, 22, 22, IPPROTO_TCP, 0)   \
	X(3, 0xc0a80000, 0xffff0000, 53, 53, IPPROTO_UDP, 1)   \
	X(4, 0xc0a80000, 0xffff0000, 67, 68, IPPROTO_UDP, 1)   \
	X(5, 0xac100000, 0xfff00000, 8000, 8999, IPPROTO_TCP, 1) \
	X(6, 0x00000000, 0x00000000, 80, 80, IPPROTO_TCP, 1)   \
	X(7, 0x00000000, 0x00000000, 443, 443, IPPROTO_TCP, 1) \
	X(8, 0x08080800, 0xffffff00, 0, 65535, IPPROTO_UDP, 1) \
	X(9, 0x7f000000, 0xff000000, 0, 65535, 0, 1)           \
	X(10, 0x00000000, 0x00000000, 0, 1023, IPPROTO_UDP, 0) \
	X(11, 0x0a000000, 0xff000000, 0, 65535, 0, 1)          \
	X(12, 0x00000000, 0x00000000, 0, 65535, 0, 0)

#define MATCH(num, prefix, mask, lo, hi, proto, allow)                     \
	if ((src & (mask)) == (prefix) && dport >= (lo) && dport <= (hi) &&    \
	    ((proto) == 0 || l4proto == (proto))) {                            \
		ctx->out[0] = num;                                             \
		return allow;                                                  \
	}

SEC("socket")
int acl(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	if (hlen < sizeof(*ip))
		return 0;
	__u32 src = bpf_ntohl(ip->saddr);
	__u32 l4proto = ip->protocol;
	__u32 dport = 0;
	if (l4proto == IPPROTO_TCP || l4proto == IPPROTO_UDP) {
		struct udphdr *l4 = (void *)((__u8 *)ip + hlen);
		if ((__u8 *)(l4 + 1) > end)
			return 0;
		dport = bpf_ntohs(l4->dest);
	}
	ctx->out[1] = src;
	ctx->out[2] = dport;
	ctx->out[3] = l4proto;
	RULES(MATCH)
	return 0;
}
