/*
 * parse_tcp4 — an XDP-style Ethernet/IPv4/TCP parser: every header checked
 * against the packet's end before it is read, IPv4 options skipped,
 * fragments passed, and a verdict from the TCP flags and ports (drop
 * NULL, SYN+FIN and Xmas scans, pass the rest; TX a SYN to port 7 back).
 *
 * out[0] source address, out[1] destination address (host order),
 * out[2] sport << 16 | dport, out[3] TCP flags, out[4] payload bytes,
 * out[5] header bytes. Returns an XDP verdict.
 */
#include "bench.h"

SEC("xdp")
int parse_tcp4(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	if ((__u8 *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end)
		return XDP_DROP;
	__u32 ihl = ip->ihl_version & 0xf;
	if ((ip->ihl_version >> 4) != 4 || ihl < 5)
		return XDP_DROP;
	__u32 hlen = ihl * 4;
	if ((__u8 *)ip + hlen > end)
		return XDP_DROP;
	ctx->out[0] = bpf_ntohl(ip->saddr);
	ctx->out[1] = bpf_ntohl(ip->daddr);
	if (ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	if (bpf_ntohs(ip->frag_off) & 0x1fff)
		return XDP_PASS;
	struct tcphdr *tcp = (void *)((__u8 *)ip + hlen);
	if ((__u8 *)(tcp + 1) > end)
		return XDP_DROP;
	__u32 doff = (tcp->doff_res >> 4) * 4;
	if (doff < sizeof(*tcp) || (__u8 *)tcp + doff > end)
		return XDP_DROP;
	__u32 tot = bpf_ntohs(ip->tot_len);
	__u32 sport = bpf_ntohs(tcp->source), dport = bpf_ntohs(tcp->dest);
	__u32 flags = tcp->flags;
	ctx->out[2] = sport << 16 | dport;
	ctx->out[3] = flags;
	ctx->out[4] = tot > hlen + doff ? tot - hlen - doff : 0;
	ctx->out[5] = sizeof(*eth) + hlen + doff;
	if (flags == 0 || (flags & 0x03) == 0x03 || (flags & 0x29) == 0x29)
		return XDP_DROP; /* NULL, SYN+FIN, Xmas */
	if (sport == 0 || dport == 0)
		return XDP_DROP;
	if (dport == 7 && (flags & 0x12) == 0x02)
		return XDP_TX;
	return XDP_PASS;
}
