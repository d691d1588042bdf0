/*
 * tcp_options — the TCP option parser of a SYN proxy: walk the options
 * of a TCP header (at most 40 bytes: END, NOP, MSS, window scale, SACK
 * permitted, SACK blocks, timestamps; any other kind skipped by its
 * length) and collect what a SYN cookie must encode.
 *
 * out[0] the MSS, out[1] the window scale (0xff absent), out[2] 1 when
 * SACK is permitted, out[3] the timestamp value, out[4] the timestamp
 * echo, out[5] the options walked, out[6] SACK blocks seen. Returns 1 for
 * a SYN whose options parsed, 0 for other segments, -1 for malformed
 * options.
 */
#include "bench.h"

SEC("xdp")
int tcp_options(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return 0;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	struct tcphdr *tcp = (void *)((__u8 *)ip + hlen);
	if (hlen < sizeof(*ip) || (__u8 *)(tcp + 1) > end)
		return 0;
	__u32 doff = (tcp->doff_res >> 4) * 4;
	if (doff < sizeof(*tcp) || (__u8 *)tcp + doff > end)
		return -1;

	__u8 *opt = (__u8 *)(tcp + 1);
	__u8 *oend = (__u8 *)tcp + doff;
	__u32 mss = 536, wscale = 0xff, sack_ok = 0, tsval = 0, tsecr = 0, walked = 0, blocks = 0;
	for (__u32 i = 0; i < 40; i++) {
		if (opt >= oend)
			break;
		__u32 kind = opt[0];
		if (kind == 0) /* END */
			break;
		walked++;
		if (kind == 1) { /* NOP */
			opt++;
			continue;
		}
		if (opt + 2 > oend)
			return -1;
		__u32 len = opt[1];
		if (len < 2 || opt + len > oend)
			return -1;
		if (kind == 2 && len == 4)
			mss = (__u32)opt[2] << 8 | opt[3];
		else if (kind == 3 && len == 3)
			wscale = opt[2] > 14 ? 14 : opt[2];
		else if (kind == 4 && len == 2)
			sack_ok = 1;
		else if (kind == 5)
			blocks += (len - 2) / 8;
		else if (kind == 8 && len == 10) {
			tsval = (__u32)opt[2] << 24 | (__u32)opt[3] << 16 | (__u32)opt[4] << 8 | opt[5];
			tsecr = (__u32)opt[6] << 24 | (__u32)opt[7] << 16 | (__u32)opt[8] << 8 | opt[9];
		}
		opt += len;
	}
	ctx->out[0] = mss;
	ctx->out[1] = wscale;
	ctx->out[2] = sack_ok;
	ctx->out[3] = tsval;
	ctx->out[4] = tsecr;
	ctx->out[5] = walked;
	ctx->out[6] = blocks;
	return (tcp->flags & 0x12) == 0x02;
}
