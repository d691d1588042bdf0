/*
 * subprogs — bpf-to-bpf calls to several noinline subprograms (five
 * arguments, 64-bit arithmetic, loops, calls three deep) and long
 * expressions that keep many values live at once, over the packet read
 * as little-endian u64 words.
 *
 * out[0..1] the mixed hash (low, high word), out[2] gcd of the first two
 * words' low halves, out[3] isqrt of the third word, out[4] popcounts,
 * out[5..6] the polynomial (low, high word). Returns a fold of them all.
 */
#include "corpus.h"

static __noinline __u64 mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static __noinline __u64 gcd(__u64 a, __u64 b)
{
	for (int i = 0; i < 64 && b != 0; i++) {
		__u64 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static __noinline __u64 isqrt(__u64 y)
{
	__u64 r = 0, bit = 1ULL << 62;
	while (bit > y)
		bit >>= 2;
	for (int i = 0; i < 32 && bit; i++) {
		if (y >= r + bit) {
			y -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

static __noinline __u32 popcount(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/* combine takes five arguments, all live across its calls. */
static __noinline __u64 combine(__u64 a, __u64 b, __u64 c, __u64 d, __u64 e)
{
	__u64 h = mix64(a ^ (b << 7)) + mix64(c - d);
	return h ^ (e * 0x9e3779b97f4a7c15ULL) ^ popcount(a | e);
}

/* unsigned: clang's BPF target has no signed division before -mcpu=v4 */
static __noinline __u64 poly(__u64 x, __u64 y, __u64 z)
{
	return ((3 * x * x - 5 * x * y + 7 * y * y) * (z - 11) + (x ^ y) * (z | 1) -
		((x >> 3) + (y << 2) - (z >> 1)) * ((x & 0xff) + (y & 0xfff) + 1)) /
		       ((z & 7) + 1) +
	       ((x * 13) % 1000003) - ((y * 17) % ((z & 0xffff) + 2));
}

static __always_inline __u64 word(struct ctx *ctx, __u32 i)
{
	__u64 v = 0;
	__u8 *p = ctx->data + 8 * i;
	if (8 * i + 8 <= ctx->len)
		__builtin_memcpy(&v, p, 8);
	return v;
}

SEC("socket")
int subprogs(struct ctx *ctx)
{
	__u64 a = word(ctx, 0), b = word(ctx, 1), c = word(ctx, 2), d = word(ctx, 3);
	__u64 h = combine(a, b, c, d, ctx->len);
	__u64 g = gcd(a & 0xffffffff, b & 0xffffffff);
	__u64 s = isqrt(c);
	__u32 pc = popcount(a) | popcount(b) << 8 | popcount(c) << 16 | popcount(d) << 24;
	__u64 p = poly(a, b, c);
	ctx->out[0] = h;
	ctx->out[1] = h >> 32;
	ctx->out[2] = g;
	ctx->out[3] = s;
	ctx->out[4] = pc;
	ctx->out[5] = p;
	ctx->out[6] = p >> 32;
	return (h ^ g ^ s ^ pc ^ p) & 0x7fffffff;
}
