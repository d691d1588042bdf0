/*
 * byte_classes — a counting loop over the TCP or UDP payload, as an
 * anomaly detector profiles traffic: zero bytes, printable ASCII,
 * line breaks, bytes with the high bit set, and the longest run of one
 * repeated byte; a payload that is mostly binary on a text port is
 * flagged.
 *
 * out[0] zeros, out[1] printable, out[2] newlines, out[3] high-bit
 * bytes, out[4] the longest run, out[5] payload bytes examined. Returns 1
 * when flagged, 0 when not, -1 without a payload.
 */
#include "bench.h"

#define MAX_SCAN 1024

SEC("socket")
int byte_classes(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	__u8 *l4 = (__u8 *)ip + hlen;
	__u32 l4len;
	__u32 port;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)l4;
		if ((__u8 *)(tcp + 1) > end)
			return -1;
		l4len = (tcp->doff_res >> 4) * 4;
		port = bpf_ntohs(tcp->dest);
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)l4;
		if ((__u8 *)(udp + 1) > end)
			return -1;
		l4len = sizeof(*udp);
		port = bpf_ntohs(udp->dest);
	} else {
		return -1;
	}
	__u8 *payload = l4 + l4len;
	if (hlen < sizeof(*ip) || payload >= end)
		return -1;
	__u32 n = end - payload;
	if (n > MAX_SCAN)
		n = MAX_SCAN;

	__u32 zeros = 0, printable = 0, newlines = 0, high = 0;
	__u32 run = 0, longest = 0, prev = 0x100;
	for (__u32 i = 0; i < n; i++) {
		__u32 c = payload[i];
		zeros += c == 0;
		printable += c >= 0x20 && c < 0x7f;
		newlines += c == '\n';
		high += c >> 7;
		run = c == prev ? run + 1 : 1;
		longest = run > longest ? run : longest;
		prev = c;
	}
	ctx->out[0] = zeros;
	ctx->out[1] = printable;
	ctx->out[2] = newlines;
	ctx->out[3] = high;
	ctx->out[4] = longest;
	ctx->out[5] = n;
	int text_port = port == 80 || port == 25 || port == 110 || port == 143;
	return text_port && printable + newlines < n / 2;
}
