/*
 * globals — global variables as clang places them: constants in .rodata
 * (a lookup table and a string, read through map-value lddws with
 * offsets), an initialized .data variable the program updates (a linear
 * congruential generator's state) and zero-initialized .bss counters.
 * Every run starts from the object's initial values.
 *
 * out[0] the substitution sum, out[1..2] the generator's state (low,
 * high word), out[3] calls counted in .bss, out[4] bytes matching the
 * .rodata string, out[5] the scaled length, out[6] the .data byte table's
 * final checksum.
 */
#include "corpus.h"

const volatile __u32 sbox[16] = {
	0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5,
	0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
};
const volatile __u32 scale = 3;
const char magic[] = "bpfopt-mips32";

__u64 lcg_state = 0x0123456789abcdefULL;
__u8 table[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
__u32 calls;
__u64 seen[4];

static __noinline __u64 lcg_next(void)
{
	calls++;
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return lcg_state;
}

SEC("socket")
int globals(struct ctx *ctx)
{
	__u8 *data = ctx->data;
	__u32 n = ctx->len < 32 ? ctx->len : 32;
	__u32 sum = 0, match = 0;
	for (__u32 i = 0; i < n; i++) {
		__u8 b = data[i];
		sum += sbox[b & 15] ^ sbox[b >> 4];
		if (i < sizeof(magic) - 1 && b == magic[i])
			match++;
		table[i] ^= b;
		seen[b & 3] += lcg_next() >> 60;
	}
	__u32 cs = 0;
	for (__u32 i = 0; i < 32; i++)
		cs = cs * 33 + table[i];
	ctx->out[0] = sum;
	ctx->out[1] = lcg_state;
	ctx->out[2] = lcg_state >> 32;
	ctx->out[3] = calls;
	ctx->out[4] = match;
	ctx->out[5] = ctx->len * scale;
	ctx->out[6] = cs;
	return (__u32)(seen[0] + 3 * seen[1] + 5 * seen[2] + 7 * seen[3]);
}
