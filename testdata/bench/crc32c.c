/*
 * crc32c — the CRC-32C (Castagnoli, reflected polynomial 0x82f63b78)
 * that SCTP and iSCSI carry, computed bit by bit over the packet after
 * the Ethernet header — a loop nested in a loop — and compared with the
 * value in the packet's last four bytes (little-endian, as SCTP stores
 * it after the byte-reflected computation).
 *
 * out[0] the CRC of the covered bytes, out[1] the bytes covered, out[2]
 * the stored CRC. Returns 1 when they match, 0 when not, -1 when the
 * packet is too short.
 */
#include "bench.h"

#define MAX_COVERED 256

SEC("socket")
int crc32c(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx) + sizeof(struct ethhdr);
	__u8 *end = pkt_end(ctx);
	if (data + 4 > end)
		return -1;
	__u32 n = end - data - 4;
	if (n > MAX_COVERED)
		n = MAX_COVERED;
	__u32 crc = 0xffffffff;
	for (__u32 i = 0; i < n; i++) {
		crc ^= data[i];
		for (__u32 b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	crc = ~crc;
	__u8 *tail = data + n;
	__u32 stored = tail[0] | (__u32)tail[1] << 8 | (__u32)tail[2] << 16 | (__u32)tail[3] << 24;
	ctx->out[0] = crc;
	ctx->out[1] = n;
	ctx->out[2] = stored;
	return crc == stored;
}
