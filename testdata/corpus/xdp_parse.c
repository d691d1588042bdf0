/*
 * xdp_parse — an XDP-style parser: Ethernet (with one optional 802.1Q
 * tag), IPv4 (with options), UDP, every header checked against data_end
 * before it is read. Drops malformed packets and UDP to the discard port,
 * bounces UDP echo (port 7) back (XDP_TX) and passes the rest; counts
 * verdicts in an array map.
 *
 * out[0] source port, out[1] destination port, out[2] source address,
 * out[3] destination address, out[4] ttl | ihl << 8 | vlan << 16,
 * out[5] how many times this verdict was counted (1 within one run).
 */
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int count(struct ctx *ctx, __u32 verdict)
{
	__u64 *n = bpf_map_lookup_elem(&verdicts, &verdict);
	if (n) {
		__sync_fetch_and_add(n, 1);
		ctx->out[5] = *n;
	}
	return verdict;
}

SEC("xdp")
int xdp_parse(struct ctx *ctx)
{
	void *data = ctx->data;
	void *end = data + ctx->len;
	struct ethhdr *eth = data;
	__u32 vlan = 0;

	if ((void *)(eth + 1) > end)
		return count(ctx, XDP_DROP);
	__u16 proto = eth->h_proto;
	void *next = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = next;
		if ((void *)(vh + 1) > end)
			return count(ctx, XDP_DROP);
		vlan = bpf_ntohs(vh->tci) & 0xfff;
		proto = vh->encapsulated_proto;
		next = vh + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return count(ctx, XDP_PASS);

	struct iphdr *ip = next;
	if ((void *)(ip + 1) > end)
		return count(ctx, XDP_DROP);
	__u32 ihl = ip->ihl_version & 0xf;
	if ((ip->ihl_version >> 4) != 4 || ihl < 5)
		return count(ctx, XDP_DROP);
	if ((void *)ip + ihl * 4 > end)
		return count(ctx, XDP_DROP);
	ctx->out[2] = bpf_ntohl(ip->saddr);
	ctx->out[3] = bpf_ntohl(ip->daddr);
	ctx->out[4] = ip->ttl | ihl << 8 | vlan << 16;
	if (ip->protocol != IPPROTO_UDP)
		return count(ctx, XDP_PASS);
	if (bpf_ntohs(ip->frag_off) & 0x1fff) /* not the first fragment */
		return count(ctx, XDP_PASS);

	struct udphdr *udp = (void *)ip + ihl * 4;
	if ((void *)(udp + 1) > end)
		return count(ctx, XDP_DROP);
	__u16 sport = bpf_ntohs(udp->source), dport = bpf_ntohs(udp->dest);
	ctx->out[0] = sport;
	ctx->out[1] = dport;
	if (dport == 9)
		return count(ctx, XDP_DROP);
	if (dport == 7) {
		/* echo: swap the ports and the addresses */
		udp->source = udp->dest;
		udp->dest = bpf_htons(sport);
		__u32 a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		return count(ctx, XDP_TX);
	}
	return count(ctx, XDP_PASS);
}
