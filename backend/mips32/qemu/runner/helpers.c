/*
 * helpers.c — the BPF helpers of the qemu runner (see runner.c): the
 * routines compiled programs reach through "call N" and "call %rN".
 */
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

/*
 * The BPF helpers compiled programs call. The lifter turns "call N" into a
 * call of one symbol per helper ID (bpf_helper_N, or ubpf_helper_N for the
 * conformance suite) and "call %rN" (callx) into a call of a dispatcher
 * (bpf_callx, ubpf_callx). Under O32 a helper is
 *
 *	uint64_t helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
 *
 * r1 in a0/a1 and r2 in a2/a3 (the low word in the lower-numbered register on
 * little-endian), r3, r4, r5 at 16, 24 and 32(sp) of the caller, r0 back in
 * v0/v1. A call may pass only the registers the helper reads; the rest are
 * garbage it ignores. A dispatcher is
 *
 *	uint64_t callx(uint64_t id, uint64_t r1, ..., uint64_t r5);
 *
 * (id in a0/a1, r1 in a2/a3, r2..r5 at 16..40(sp)): it calls helper id of
 * its set and stops the program with "unknown helper id N in NAME" for any
 * other id.
 *
 * Pointers are 32-bit addresses, zero-extended to 64 bits: one whose high word
 * is not zero stops the program with an error; an unmapped one raises
 * SIGSEGV, reported like any fault (at a pc outside the code). An error stop
 * is replied with STATUS_STOPPED, the message in the signal-name field and pc
 * = the jalr that called the runtime.
 *
 * ubpf_helper_N, the conformance suite's (uBPF's test table), exactly as
 * frontend/bpf.ConformanceHelpers:
 *   0 gather_bytes  r0 = (r1&0xff)<<32 | (r2&0xff)<<24 | (r3&0xff)<<16
 *                        | (r4&0xff)<<8 | (r5&0xff)
 *   1 memfrob       xor the r2 bytes at r1 with 42 (none when r2 = 0); r0 = 0
 *   2 no_op         r0 = 0
 *   3 sqrti         r0 = (uint64_t)sqrt((double)r1), in integer arithmetic
 *                   (the runner has no FPU on 4Kc)
 *   4 strcmp_ext    r0 = c1 - c2 sign-extended, for the first bytes (unsigned)
 *                   where the strings at r1 and r2 differ, 0 when equal; both
 *                   strings are scanned to their NUL first, as the reference does
 *   5 unwind        r0 = r1; when r1 = 0 the whole program stops with r0 = 0
 *
 * bpf_helper_N, Linux's IDs, deterministic so that runs reproduce; their
 * state is reset before each run:
 *   1 map_lookup_elem       \
 *   2 map_update_elem        } maps.c: hash, array and prog array maps
 *   3 map_delete_elem       /
 *   5 ktime_get_ns          the n-th call of a run returns n * 1000
 *   7 get_prandom_u32       xorshift32 from x = 2463534242: x ^= x << 13;
 *                           x ^= x >> 17; x ^= x << 5; r0 = x
 *   8 get_smp_processor_id  0
 * bpf_callx dispatches all of them. The tail-call lookup,
 * bpf_tail_call_target(map, index), is in maps.c too.
 */

struct stop stop;

void fail_start(uint32_t ra) {
	stop.active = 1;
	stop.site = ra - 8; /* ra is past the jalr and its delay slot */
	stop.len = 0;
}

void fail_text(const char *s) {
	while (*s && stop.len < sizeof stop.msg)
		stop.msg[stop.len++] = *s++;
}

void fail_hex(uint32_t v) {
	char d[11] = "0x";
	hex(d + 2, v, 8);
	d[10] = 0;
	fail_text(d);
}

void fail_number(uint64_t v) {
	char d[19];
	int n = sizeof d - 1;
	d[n] = 0;
	if (v >> 32) {
		uint32_t hi = (uint32_t)(v >> 32);
		int digits = 8;
		while (digits < 16 && hi >> 4 * (digits - 8))
			digits++;
		n -= digits;
		hex(d + n + digits - 8, (uint32_t)v, 8);
		hex(d + n, hi, digits - 8);
		fail_text("0x");
		fail_text(d + n);
		return;
	}
	uint32_t w = (uint32_t)v;
	do
		d[--n] = (char)('0' + w % 10);
	while ((w /= 10) != 0);
	fail_text(d + n);
}

void fail_now(void) { stop_program(0); }

void fail(uint32_t ra, const char *what, uint64_t number, const char *tail) {
	fail_start(ra);
	fail_text(what);
	fail_number(number);
	fail_text(tail);
	fail_now();
}

unsigned char *check_pointer(const char *helper, uint64_t p, uint32_t ra) {
	if (p >> 32) {
		fail_start(ra);
		fail_text(helper);
		fail_text(": pointer ");
		fail_number(p);
		fail_text(" is not a 32-bit address");
		fail_now();
	}
	return (unsigned char *)(uintptr_t)(uint32_t)p;
}

static uint64_t gather_bytes(const uint64_t *r, uint32_t ra) {
	(void)ra;
	return (r[0] & 0xff) << 32 | (r[1] & 0xff) << 24 | (r[2] & 0xff) << 16 | (r[3] & 0xff) << 8 | (r[4] & 0xff);
}

static uint64_t memfrob(const uint64_t *r, uint32_t ra) {
	unsigned char *p;
	if (r[1] == 0)
		return 0;
	p = check_pointer("memfrob", r[0], ra);
	if (r[1] > 0xffffffffu - (uint32_t)(uintptr_t)p)
		fail(ra, "memfrob: length ", r[1], " runs past the end of the address space");
	for (uint32_t i = 0; i < (uint32_t)r[1]; i++)
		p[i] ^= 42;
	return 0;
}

static uint64_t no_op(const uint64_t *r, uint32_t ra) {
	(void)r, (void)ra;
	return 0;
}

static int bit_length(uint64_t x) {
	int n = 0;
	for (; x; x >>= 1)
		n++;
	return n;
}

/* sqrti computes (uint64_t)sqrt((double)x) exactly, without floating point.
 * (double)x rounds x to 53 significant bits, ties to even; sqrt rounds to
 * nearest, which can carry it up to the next integer k+1 when the exact root
 * lies within half an ulp below k+1. With k = floor(sqrt(y)), d = (k+1)^2 - y
 * and u = 2^-s the ulp below k+1 (s = 53 - bit_length(k)), the root rounds
 * up iff y > (k+1 - u/2)^2, i.e. d < (k+1)u - u^2/4, i.e. d * 2^s < k+1
 * (integers; no tie is possible, (k+1-u/2)^2 is not an integer). */
static uint64_t sqrti(const uint64_t *r, uint32_t ra) {
	uint64_t y = r[0], k = 0, bit = (uint64_t)1 << 62;
	int len = bit_length(y);
	(void)ra;
	if (len > 53) { /* y = (double)y */
		int sh = len - 53;
		uint64_t m = y >> sh, rest = y & (((uint64_t)1 << sh) - 1), half = (uint64_t)1 << (sh - 1);
		if (rest > half || (rest == half && (m & 1)))
			m++;
		if (m >> 53 && sh == 11)
			return (uint64_t)1 << 32; /* (double)y = 2^64 */
		y = m << sh;
	}
	/* k = floor(sqrt(y)), digit by digit; y is left holding y - k^2. */
	while (bit > y)
		bit >>= 2;
	for (; bit; bit >>= 2) {
		if (y >= k + bit) {
			y -= k + bit;
			k = (k >> 1) + bit;
		} else {
			k >>= 1;
		}
	}
	if (k == 0)
		return 0;
	/* d = (k+1)^2 - (k^2 + y) = 2k + 1 - y */
	return (2 * k + 1 - y) << (53 - bit_length(k)) < k + 1 ? k + 1 : k;
}

/* require_terminated reads up to the NUL (volatile: the reads must stay,
 * since their only effect may be a fault). */
static void require_terminated(const volatile unsigned char *s) {
	while (*s)
		s++;
}

static uint64_t strcmp_ext(const uint64_t *r, uint32_t ra) {
	const unsigned char *a = check_pointer("strcmp_ext", r[0], ra), *b = check_pointer("strcmp_ext", r[1], ra);
	/* Both strings must be terminated, even when they differ early. */
	require_terminated(a);
	require_terminated(b);
	for (;; a++, b++)
		if (*a != *b || *a == 0)
			return (uint64_t)((int64_t)*a - (int64_t)*b);
}

static uint64_t unwind(const uint64_t *r, uint32_t ra) {
	(void)ra;
	if (r[0] == 0)
		stop_program(0);
	return r[0];
}

static helper_fn *const ubpf_helpers[] = {gather_bytes, memfrob, no_op, sqrti, strcmp_ext, unwind};

static struct {
	uint64_t ktime;
	uint32_t prandom;
} kernel_state;

static uint64_t ktime_get_ns(const uint64_t *r, uint32_t ra) {
	(void)r, (void)ra;
	return kernel_state.ktime += 1000;
}

static uint64_t get_prandom_u32(const uint64_t *r, uint32_t ra) {
	uint32_t x = kernel_state.prandom;
	(void)r, (void)ra;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return kernel_state.prandom = x;
}

static helper_fn *const kernel_helpers[] = {
	[1] = map_lookup_elem, [2] = map_update_elem, [3] = map_delete_elem,
	[5] = ktime_get_ns, [7] = get_prandom_u32, [8] = no_op, /* get_smp_processor_id */
};

void reset_run_state(void) {
	stop.active = 0;
	kernel_state.ktime = 0;
	kernel_state.prandom = 2463534242u;
	maps_reset();
}

static uint64_t dispatch(helper_fn *const *table, uint32_t n, const char *name, uint64_t id,
			 const uint64_t *r, uint32_t ra) {
	static char tail[32] = " in ";
	if (id >= n || table[id] == 0) {
		memcpy(tail + 4, name, strlen(name) + 1);
		fail(ra, "unknown helper id ", id, tail);
	}
	return table[id](r, ra);
}

#define RETURN_ADDRESS() ((uint32_t)(uintptr_t)__builtin_return_address(0))
#define TABLE(t) t, sizeof t / sizeof t[0]
#define HELPER(sym, table, id)                                                 \
	uint64_t sym(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) { \
		const uint64_t r[5] = {r1, r2, r3, r4, r5};                    \
		return table[id](r, RETURN_ADDRESS());                         \
	}
#define CALLX(sym, table)                                                      \
	uint64_t sym(uint64_t id, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) { \
		const uint64_t r[5] = {r1, r2, r3, r4, r5};                    \
		return dispatch(TABLE(table), #sym, id, r, RETURN_ADDRESS());  \
	}

HELPER(ubpf_helper_0, ubpf_helpers, 0)
HELPER(ubpf_helper_1, ubpf_helpers, 1)
HELPER(ubpf_helper_2, ubpf_helpers, 2)
HELPER(ubpf_helper_3, ubpf_helpers, 3)
HELPER(ubpf_helper_4, ubpf_helpers, 4)
HELPER(ubpf_helper_5, ubpf_helpers, 5)
CALLX(ubpf_callx, ubpf_helpers)
HELPER(bpf_helper_1, kernel_helpers, 1)
HELPER(bpf_helper_2, kernel_helpers, 2)
HELPER(bpf_helper_3, kernel_helpers, 3)
HELPER(bpf_helper_5, kernel_helpers, 5)
HELPER(bpf_helper_7, kernel_helpers, 7)
HELPER(bpf_helper_8, kernel_helpers, 8)
CALLX(bpf_callx, kernel_helpers)
