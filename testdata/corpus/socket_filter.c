/*
 * socket_filter — a socket filter in the style of tcpdump's compiled
 * expressions: keep (return the snap length) IPv4 TCP segments to or from
 * ports 80 or 443 that carry SYN or data, and UDP DNS; drop (return 0)
 * everything else.
 *
 * out[0] the rule that matched (0 none), out[1] TCP flags, out[2] TCP
 * payload length, out[3] header bytes skipped.
 */
#include "corpus.h"

static __always_inline int web_port(__u16 p)
{
	return p == 80 || p == 443 || p == 8080;
}

SEC("socket")
int sock_filter(struct ctx *ctx)
{
	__u8 *data = ctx->data;
	__u8 *end = data + ctx->len;
	if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) > end)
		return 0;
	struct ethhdr *eth = (void *)data;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	if (hlen < sizeof(*ip))
		return 0;
	__u32 tot = bpf_ntohs(ip->tot_len);
	__u8 *l4 = (__u8 *)ip + hlen;
	ctx->out[3] = sizeof(*eth) + hlen;

	switch (ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = (void *)l4;
		if ((__u8 *)(tcp + 1) > end)
			return 0;
		__u32 doff = (tcp->doff_res >> 4) * 4;
		__u32 payload = tot > hlen + doff ? tot - hlen - doff : 0;
		ctx->out[1] = tcp->flags;
		ctx->out[2] = payload;
		if (!web_port(bpf_ntohs(tcp->dest)) && !web_port(bpf_ntohs(tcp->source)))
			return 0;
		if (tcp->flags & 0x04) /* RST */
			return 0;
		if ((tcp->flags & 0x02) || payload > 0) {
			ctx->out[0] = (tcp->flags & 0x02) ? 1 : 2;
			return 0xffff;
		}
		return 0;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = (void *)l4;
		if ((__u8 *)(udp + 1) > end)
			return 0;
		if (udp->dest == bpf_htons(53) || udp->source == bpf_htons(53)) {
			ctx->out[0] = 3;
			return 96;
		}
		return 0;
	}
	}
	return 0;
}
