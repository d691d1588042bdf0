/*
 * vlan_walk — walk up to four stacked VLAN tags (802.1Q 0x8100 and
 * 802.1ad 0x88a8, as in QinQ), recording each VLAN ID and the outer
 * priority, then strip-or-keep by the tag list: a packet is accepted when
 * its outer VLAN is in the allowed range and its inner VLAN (if any) is
 * not the reserved one.
 *
 * out[0] the number of tags, out[1..4] the VLAN IDs outermost first,
 * out[5] the outer PCP, out[6] the encapsulated EtherType. Returns
 * XDP_PASS, or XDP_DROP for disallowed tags and truncated packets.
 */
#include "bench.h"

#define MAX_TAGS 4

SEC("xdp")
int vlan_walk(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	if ((__u8 *)(eth + 1) > end)
		return XDP_DROP;
	__u16 proto = eth->h_proto;
	struct vlan_hdr *vh = (void *)(eth + 1);
	__u32 n = 0;
	for (__u32 i = 0; i < MAX_TAGS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((__u8 *)(vh + 1) > end)
			return XDP_DROP;
		__u32 tci = bpf_ntohs(vh->tci);
		ctx->out[1 + i] = tci & 0xfff;
		if (i == 0)
			ctx->out[5] = tci >> 13;
		proto = vh->encapsulated_proto;
		vh++;
		n++;
	}
	ctx->out[0] = n;
	ctx->out[6] = bpf_ntohs(proto);
	if (n == 0)
		return XDP_PASS;
	__u32 outer = ctx->out[1];
	if (outer < 100 || outer >= 200)
		return XDP_DROP;
	if (n > 1 && ctx->out[2] == 4095)
		return XDP_DROP;
	return XDP_PASS;
}
