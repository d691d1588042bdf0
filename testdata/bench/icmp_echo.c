/*
 * icmp_echo — answer pings in the fast path: an ICMP echo request to
 * this host with a valid ICMP checksum (a loop over the whole message)
 * becomes the echo reply in place — addresses swapped, type 0, TTL
 * reset, both checksums patched incrementally.
 *
 * out[0] the folded ICMP sum (0xffff when valid), out[1] the message
 * length, out[2] id << 16 | sequence, out[3] the new ICMP checksum, out[4]
 * the new IPv4 checksum (both host order). Returns XDP_TX for a reply,
 * XDP_DROP for a bad checksum, XDP_PASS for anything else.
 */
#include "bench.h"

#define MY_IP 0xc0a80101 /* 192.168.1.1 */
#define MAX_ICMP 1024

SEC("xdp")
int icmp_echo(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->ihl_version != 0x45 || ip->protocol != IPPROTO_ICMP || ip->daddr != bpf_htonl(MY_IP))
		return XDP_PASS;
	struct icmphdr *icmp = (void *)(ip + 1);
	if ((__u8 *)(icmp + 1) > end || icmp->type != 8 || icmp->code != 0)
		return XDP_PASS;
	__u32 len = bpf_ntohs(ip->tot_len);
	if (len < sizeof(*ip) + sizeof(*icmp) || (__u8 *)ip + len > end)
		return XDP_DROP;
	len -= sizeof(*ip);
	if (len > MAX_ICMP)
		return XDP_PASS;

	__u16 *w = (void *)icmp;
	__u32 sum = 0;
	for (__u32 i = 0; i < MAX_ICMP / 2; i++) {
		if (2 * i + 1 >= len)
			break;
		sum += w[i];
	}
	if (len & 1)
		sum += ((__u8 *)icmp)[len - 1];
	sum = csum_fold32(sum);
	ctx->out[0] = sum;
	ctx->out[1] = len;
	ctx->out[2] = (__u32)bpf_ntohs(icmp->id) << 16 | bpf_ntohs(icmp->sequence);
	if (sum != 0xffff)
		return XDP_DROP;

	/* type 8 → 0: the type/code word changes by 8 << 8 in network order */
	icmp->checksum = csum_replace2(icmp->checksum, bpf_htons(0x0800), 0);
	icmp->type = 0;
	__u32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	__u16 *ttl_word = (void *)&ip->ttl;
	__u16 old = *ttl_word;
	ip->ttl = 64;
	ip->check = csum_replace2(ip->check, old, *ttl_word);
	for (int i = 0; i < 6; i++) {
		__u8 t = eth->h_dest[i];
		eth->h_dest[i] = eth->h_source[i];
		eth->h_source[i] = t;
	}
	ctx->out[3] = bpf_ntohs(icmp->checksum);
	ctx->out[4] = bpf_ntohs(ip->check);
	return XDP_TX;
}
