/*
 * u32_parser — a packet parser written, as many are, with u32 variables:
 * every offset, length and field is a 32-bit quantity, bounds are checked
 * as offsets against the packet length (never as 64-bit pointer
 * compares), and nothing needs 64 bits. On a 64-bit BPF machine each of
 * these values still lives in a 64-bit register; after legalization to
 * MIPS32 every high word is provably zero, and bpfopt -O2 emits no
 * instruction for any of them (docs/results.md, "32-bit work").
 *
 * Ethernet / IPv4 / TCP or UDP: out[0] the IPv4 header length, out[1]
 * the L4 protocol, out[2] source port << 16 | destination port, out[3]
 * the folded 16-bit sum of the IPv4 header words, out[4] the payload
 * length. Returns 2 (pass) for a well-formed packet, 1 (drop) otherwise.
 */
#include "../corpus/corpus.h"

static __attribute__((always_inline)) __u32 load16(const __u8 *p, __u32 off)
{
	return (__u32)p[off] << 8 | p[off + 1];
}

SEC("xdp")
int u32_parser(struct ctx *ctx)
{
	const __u8 *p = ctx->data;
	__u32 len = ctx->len;
	if (len < 34 || load16(p, 12) != 0x0800)
		return XDP_DROP;
	__u32 vihl = p[14];
	__u32 ihl = (vihl & 0xf) * 4;
	if (vihl >> 4 != 4 || ihl < 20 || 14 + ihl > len)
		return XDP_DROP;
	__u32 sum = 0;
	for (__u32 i = 0; i < ihl; i += 2)
		sum += load16(p, 14 + i);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	__u32 proto = p[23];
	__u32 l4 = 14 + ihl;
	__u32 hdr;
	if (proto == 6)
		hdr = 20;
	else if (proto == 17)
		hdr = 8;
	else
		return XDP_DROP;
	if (l4 + hdr > len)
		return XDP_DROP;
	__u32 ports = load16(p, l4) << 16 | load16(p, l4 + 2);
	__u32 tot = load16(p, 16);
	ctx->out[0] = ihl;
	ctx->out[1] = proto;
	ctx->out[2] = ports;
	ctx->out[3] = sum;
	ctx->out[4] = tot > ihl + hdr ? tot - ihl - hdr : 0;
	return sum == 0xffff ? XDP_PASS : XDP_DROP;
}
