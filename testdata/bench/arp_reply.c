/*
 * arp_reply — an ARP responder: a well-formed Ethernet/IPv4 ARP request
 * for this host's address is turned in place into the reply (operation
 * 2, sender and target swapped, this host's MAC filled in, Ethernet
 * addresses swapped); gratuitous ARP and replies from neighbours are
 * checked for consistency with the Ethernet source.
 *
 * out[0] the operation, out[1] the sender's address, out[2] the target
 * address (host order), out[3] 1 when the sender MAC matches the Ethernet
 * source. Returns XDP_TX for a reply sent, XDP_PASS for other ARP,
 * XDP_DROP for malformed or spoofed ARP; non-ARP passes.
 */
#include "bench.h"

#define MY_IP 0xc0a80101 /* 192.168.1.1 */
/* This host's MAC, 02:00:5e:10:00:01, written byte by byte (a const
 * array would be a .rodata map). */
static __always_inline void put_my_mac(__u8 *p)
{
	p[0] = 0x02;
	p[1] = 0x00;
	p[2] = 0x5e;
	p[3] = 0x10;
	p[4] = 0x00;
	p[5] = 0x01;
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

static __always_inline __u32 ip4(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

SEC("xdp")
int arp_reply(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct arphdr *arp = (void *)(eth + 1);
	if ((__u8 *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	if ((__u8 *)(arp + 1) > end)
		return XDP_DROP;
	if (arp->ar_hrd != bpf_htons(1) || arp->ar_pro != bpf_htons(ETH_P_IP) || arp->ar_hln != 6 || arp->ar_pln != 4)
		return XDP_DROP;
	__u32 op = bpf_ntohs(arp->ar_op);
	__u32 sip = ip4(arp->ar_sip), tip = ip4(arp->ar_tip);
	int consistent = mac_eq(arp->ar_sha, eth->h_source);
	ctx->out[0] = op;
	ctx->out[1] = sip;
	ctx->out[2] = tip;
	ctx->out[3] = consistent;
	if (!consistent || (sip & 0xf0000000) == 0xe0000000)
		return XDP_DROP;
	if (op != 1 || tip != MY_IP || sip == tip)
		return XDP_PASS;

	/* Build the reply in place. */
	for (int i = 0; i < 6; i++) {
		arp->ar_tha[i] = arp->ar_sha[i];
		eth->h_dest[i] = eth->h_source[i];
	}
	put_my_mac(arp->ar_sha);
	put_my_mac(eth->h_source);
	for (int i = 0; i < 4; i++) {
		__u8 t = arp->ar_sip[i];
		arp->ar_sip[i] = arp->ar_tip[i];
		arp->ar_tip[i] = t;
	}
	arp->ar_op = bpf_htons(2);
	return XDP_TX;
}
