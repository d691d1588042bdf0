/*
 * checksum — bounded loops over the packet: the Internet checksum (RFC
 * 1071) of the whole packet in 16-bit words with an odd trailing byte,
 * the IPv4 header checksum check of an Ethernet frame, and a bitwise
 * CRC-32 (IEEE, reflected) — a loop nested in a loop.
 *
 * out[0] the packet's Internet checksum, out[1] the IPv4 header's folded
 * sum (0xffff when valid), out[2] the CRC-32, out[3] the number of
 * 16-bit words summed. Returns 1 when the IPv4 header checksum is valid,
 * 0 when it is not, -1 when there is no IPv4 header.
 */
#include "corpus.h"

#define MAX_LEN 1500

static __always_inline __u32 fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

SEC("socket")
int checksum(struct ctx *ctx)
{
	__u8 *data = ctx->data;
	__u32 len = ctx->len > MAX_LEN ? MAX_LEN : ctx->len;
	__u8 *end = data + len;

	__u64 sum = 0;
	__u32 words = 0;
	for (__u32 i = 0; i + 1 < len && i < MAX_LEN; i += 2) {
		sum += (__u32)data[i] << 8 | data[i + 1];
		words++;
	}
	if (len & 1)
		sum += (__u32)data[len - 1] << 8;
	ctx->out[0] = ~fold(sum) & 0xffff;
	ctx->out[3] = words;

	__u32 crc = 0xffffffff;
	for (__u32 i = 0; i < len && i < MAX_LEN; i++) {
		crc ^= data[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
	}
	ctx->out[2] = ~crc;

	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	if (hlen < 20 || (__u8 *)ip + hlen > end)
		return -1;
	__u64 hs = 0;
	__u16 *w = (void *)ip;
	for (__u32 i = 0; i < 30; i++) { /* at most 60 header bytes */
		if (i * 2 >= hlen)
			break;
		hs += w[i];
	}
	__u32 folded = fold(hs);
	ctx->out[1] = folded;
	return folded == 0xffff;
}
