/*
 * nat44 — source NAT of an IPv4 TCP or UDP packet leaving a private
 * network: the source address and port are rewritten to the public
 * address and a port derived from the original tuple, and the IPv4 and
 * L4 checksums are patched incrementally (RFC 1624; the L4 checksum
 * covers the pseudo-header's address too; a zero UDP checksum stays
 * zero). Byte-order conversions on every field.
 *
 * out[0] the original source (host order), out[1] the original source
 * port, out[2] the new port, out[3] the new IPv4 checksum, out[4] the new
 * L4 checksum (both host order). Returns XDP_TX when translated, XDP_PASS
 * when the packet is not from the private network, XDP_DROP when
 * malformed.
 */
#include "bench.h"

#define PUBLIC_ADDR 0xcb007105 /* 203.0.113.5 */
#define PORT_BASE 20000

SEC("xdp")
int nat44(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	if (hlen < sizeof(*ip))
		return XDP_DROP;
	__u32 src = bpf_ntohl(ip->saddr);
	if ((src & 0xffff0000) != 0xc0a80000) /* 192.168.0.0/16 */
		return XDP_PASS;
	if (bpf_ntohs(ip->frag_off) & 0x1fff)
		return XDP_PASS;

	__u16 *l4check;
	__u16 *sport;
	__u8 *l4 = (__u8 *)ip + hlen;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)l4;
		if ((__u8 *)(tcp + 1) > end)
			return XDP_DROP;
		l4check = &tcp->check;
		sport = &tcp->source;
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)l4;
		if ((__u8 *)(udp + 1) > end)
			return XDP_DROP;
		l4check = &udp->check;
		sport = &udp->source;
	} else {
		return XDP_PASS;
	}

	__u32 old_addr = ip->saddr;
	__u32 new_addr = bpf_htonl(PUBLIC_ADDR);
	__u16 old_port = *sport;
	__u32 host_port = bpf_ntohs(old_port);
	__u32 mapped = PORT_BASE + ((src & 0xff) << 6 ^ host_port) % 4096;
	__u16 new_port = bpf_htons(mapped);

	ip->saddr = new_addr;
	ip->check = csum_replace4(ip->check, old_addr, new_addr);
	*sport = new_port;
	if (ip->protocol == IPPROTO_TCP || *l4check != 0) {
		__u16 c = csum_replace4(*l4check, old_addr, new_addr);
		c = csum_replace2(c, old_port, new_port);
		if (ip->protocol == IPPROTO_UDP && c == 0)
			c = 0xffff;
		*l4check = c;
	}
	ctx->out[0] = src;
	ctx->out[1] = host_port;
	ctx->out[2] = mapped;
	ctx->out[3] = bpf_ntohs(ip->check);
	ctx->out[4] = bpf_ntohs(*l4check);
	return XDP_TX;
}
