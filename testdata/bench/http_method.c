/*
 * http_method — an L7 classifier on port 80: recognise the request
 * method at the start of the TCP payload by comparing bytes (GET, HEAD,
 * POST, PUT, DELETE, OPTIONS, CONNECT), then scan the request target up
 * to the next space (at most 256 bytes), counting path segments and
 * looking for a query string; CONNECT and over-long targets are refused.
 *
 * out[0] the method (1 GET, 2 HEAD, 3 POST, 4 PUT, 5 DELETE, 6 OPTIONS,
 * 7 CONNECT), out[1] the target's length, out[2] path segments, out[3]
 * 1 when there is a query string. Returns 1 to allow, 0 to refuse, -1 for
 * non-HTTP traffic.
 */
#include "bench.h"

#define MAX_TARGET 256

static __always_inline int has(const __u8 *p, const __u8 *end, __u32 a, __u32 b, __u32 c, __u32 d)
{
	return p + 4 <= end && p[0] == a && p[1] == b && p[2] == c && p[3] == d;
}

SEC("socket")
int http_method(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return -1;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	struct tcphdr *tcp = (void *)((__u8 *)ip + hlen);
	if (hlen < sizeof(*ip) || (__u8 *)(tcp + 1) > end || tcp->dest != bpf_htons(80))
		return -1;
	__u8 *p = (__u8 *)tcp + (tcp->doff_res >> 4) * 4;

	__u32 method = 0, skip = 0;
	if (has(p, end, 'G', 'E', 'T', ' '))
		method = 1, skip = 4;
	else if (has(p, end, 'H', 'E', 'A', 'D'))
		method = 2, skip = 5;
	else if (has(p, end, 'P', 'O', 'S', 'T'))
		method = 3, skip = 5;
	else if (has(p, end, 'P', 'U', 'T', ' '))
		method = 4, skip = 4;
	else if (has(p, end, 'D', 'E', 'L', 'E'))
		method = 5, skip = 7;
	else if (has(p, end, 'O', 'P', 'T', 'I'))
		method = 6, skip = 8;
	else if (has(p, end, 'C', 'O', 'N', 'N'))
		method = 7, skip = 8;
	ctx->out[0] = method;
	if (method == 0)
		return -1;
	if (method == 7)
		return 0;
	p += skip;

	__u32 len = 0, segments = 0, query = 0;
	for (__u32 i = 0; i < MAX_TARGET; i++) {
		if (p + i >= end)
			return 0; /* the target does not end in this segment */
		__u32 c = p[i];
		if (c == ' ')
			break;
		segments += c == '/';
		query |= c == '?';
		len++;
	}
	ctx->out[1] = len;
	ctx->out[2] = segments;
	ctx->out[3] = query;
	return len < MAX_TARGET;
}
