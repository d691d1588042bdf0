/*
 * vxlan_decap — a VXLAN tunnel endpoint's receive path: outer Ethernet,
 * IPv4 (no options), UDP to port 4789, the VXLAN header (flags, 24-bit
 * VNI), then the inner Ethernet and IPv4 headers and the inner ports; the
 * VNI must be one of the configured ones.
 *
 * out[0] VNI, out[1] inner source address, out[2] inner destination
 * address, out[3] inner protocol, out[4] inner sport << 16 | dport,
 * out[5] outer source port (the entropy hash). Returns XDP_PASS for
 * decapsulated traffic, XDP_DROP for bad tunnel packets, XDP_TX never.
 */
#include "bench.h"

#define VXLAN_PORT 4789

static __always_inline int known_vni(__u32 vni)
{
	return vni == 100 || vni == 200 || (vni >= 5000 && vni < 5100);
}

SEC("xdp")
int vxlan_decap(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct vxlanhdr *vx = (void *)(udp + 1);
	if ((__u8 *)(vx + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl_version != 0x45 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(VXLAN_PORT))
		return XDP_PASS;
	if (bpf_ntohl(vx->flags) != 0x08000000)
		return XDP_DROP;
	__u32 vni = bpf_ntohl(vx->vni) >> 8;
	ctx->out[0] = vni;
	ctx->out[5] = bpf_ntohs(udp->source);
	if (!known_vni(vni))
		return XDP_DROP;

	struct ethhdr *ieth = (void *)(vx + 1);
	if ((__u8 *)(ieth + 1) > end)
		return XDP_DROP;
	if (ieth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iphdr_align2 *iip = (void *)(ieth + 1);
	if ((__u8 *)(iip + 1) > end)
		return XDP_DROP;
	__u32 ihl = iip->ihl_version & 0xf;
	if (ihl < 5 || (__u8 *)iip + ihl * 4 > end)
		return XDP_DROP;
	ctx->out[1] = bpf_ntohl(iip->saddr);
	ctx->out[2] = bpf_ntohl(iip->daddr);
	ctx->out[3] = iip->protocol;
	if (iip->protocol == IPPROTO_TCP || iip->protocol == IPPROTO_UDP) {
		struct udphdr *l4 = (void *)((__u8 *)iip + ihl * 4);
		if ((__u8 *)(l4 + 1) > end)
			return XDP_DROP;
		ctx->out[4] = (__u32)bpf_ntohs(l4->source) << 16 | bpf_ntohs(l4->dest);
	}
	return XDP_PASS;
}
