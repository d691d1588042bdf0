/*
 * jhash — the flow hash of a load balancer: Bob Jenkins' lookup3 as
 * Linux's <linux/jhash.h> has it (jhash_3words over the IPv4 5-tuple,
 * and jhash over the first bytes of the L4 payload, 12 at a time), then a
 * backend chosen by the hash.
 *
 * out[0] the 5-tuple hash, out[1] the payload hash, out[2] the payload
 * bytes hashed, out[3] the backend. Returns the backend index (0..7), or
 * -1 for non-IPv4/UDP/TCP packets.
 */
#include "bench.h"

#define JHASH_INITVAL 0xdeadbeef
#define MAX_HASHED 96

static __always_inline __u32 rol32(__u32 w, __u32 s) { return (w << s) | (w >> (32 - s)); }

#define __jhash_mix(a, b, c)                    \
	{                                       \
		a -= c; a ^= rol32(c, 4); c += b;   \
		b -= a; b ^= rol32(a, 6); a += c;   \
		c -= b; c ^= rol32(b, 8); b += a;   \
		a -= c; a ^= rol32(c, 16); c += b;  \
		b -= a; b ^= rol32(a, 19); a += c;  \
		c -= b; c ^= rol32(b, 4); b += a;   \
	}

#define __jhash_final(a, b, c)                  \
	{                                       \
		c ^= b; c -= rol32(b, 14);          \
		a ^= c; a -= rol32(c, 11);          \
		b ^= a; b -= rol32(a, 25);          \
		c ^= b; c -= rol32(b, 16);          \
		a ^= c; a -= rol32(c, 4);           \
		b ^= a; b -= rol32(a, 14);          \
		c ^= b; c -= rol32(b, 24);          \
	}

static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += JHASH_INITVAL + initval + (3 << 2);
	b += JHASH_INITVAL + initval + (3 << 2);
	c += JHASH_INITVAL + initval + (3 << 2);
	__jhash_final(a, b, c);
	return c;
}

static __always_inline __u32 get_le32(const __u8 *k)
{
	return k[0] | (__u32)k[1] << 8 | (__u32)k[2] << 16 | (__u32)k[3] << 24;
}

/* jhash(key, length, initval) of <linux/jhash.h>, bytes read one by one. */
static __always_inline __u32 jhash_bytes(const __u8 *k, __u32 length, __u32 initval)
{
	__u32 a, b, c;
	a = b = c = JHASH_INITVAL + length + initval;
	for (__u32 i = 0; i < MAX_HASHED / 12; i++) {
		if (length <= 12)
			break;
		a += get_le32(k);
		b += get_le32(k + 4);
		c += get_le32(k + 8);
		__jhash_mix(a, b, c);
		length -= 12;
		k += 12;
	}
	switch (length) { /* the last 0..12 bytes */
	case 12: c += (__u32)k[11] << 24;
	case 11: c += (__u32)k[10] << 16;
	case 10: c += (__u32)k[9] << 8;
	case 9: c += k[8];
	case 8: b += (__u32)k[7] << 24;
	case 7: b += (__u32)k[6] << 16;
	case 6: b += (__u32)k[5] << 8;
	case 5: b += k[4];
	case 4: a += (__u32)k[3] << 24;
	case 3: a += (__u32)k[2] << 16;
	case 2: a += (__u32)k[1] << 8;
	case 1: a += k[0];
		__jhash_final(a, b, c);
	case 0:
		break;
	}
	return c;
}

SEC("socket")
int jhash(struct ctx *ctx)
{
	__u8 *data = pkt_start(ctx);
	__u8 *end = pkt_end(ctx);
	struct ethhdr *eth = (void *)data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((__u8 *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	__u32 hlen = (ip->ihl_version & 0xf) * 4;
	if (hlen < sizeof(*ip) || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return -1;
	struct udphdr *l4 = (void *)((__u8 *)ip + hlen);
	if ((__u8 *)(l4 + 1) > end)
		return -1;
	__u32 ports = (__u32)l4->source << 16 | l4->dest;
	__u32 h = jhash_3words(ip->saddr, ip->daddr, ports, ip->protocol);
	ctx->out[0] = h;

	__u8 *payload = (__u8 *)l4 + (ip->protocol == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr));
	__u32 n = 0;
	if (payload < end)
		n = end - payload;
	if (n > MAX_HASHED)
		n = MAX_HASHED;
	ctx->out[1] = jhash_bytes(payload, n, h);
	ctx->out[2] = n;
	__u32 backend = (h ^ (h >> 16)) & 7;
	ctx->out[3] = backend;
	return backend;
}
