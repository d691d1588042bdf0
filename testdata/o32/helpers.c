/*
 * helpers.c — the BPF helpers prog.s calls, for the O32 call test
 * (cmd/bpfopt/pipeline/o32_test.go). Compiled with -O0 -fPIC on purpose:
 * at -O0 GCC stores a0..a3 into the caller's 16-byte home area (so a caller
 * that did not reserve it gets its own frame overwritten), reads r3..r5 from
 * the caller's outgoing argument words at 16..40(sp), and PIC code computes
 * gp from t9 (so the call must go through t9, holding the callee's address).
 *
 * Each helper checks that every 64-bit argument arrived whole and that sp
 * was 8-byte aligned at entry, counts its calls, and returns a 64-bit value
 * whose high word is not zero. Failures are printed and counted in
 * o32_failures, which main reports.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

int o32_failures;
int o32_calls[2];

static void check_arg(const char *helper, int reg, uint64_t got, uint64_t want) {
	if (got != want) {
		printf("FAIL %s: r%d = 0x%016" PRIx64 ", want 0x%016" PRIx64 "\n", helper, reg, got, want);
		o32_failures++;
	}
}

/* check_sp takes sp from the helper's body: GCC's frames are multiples of 8
 * bytes, so sp there is 8-byte aligned exactly when it was at entry. */
static void check_sp(const char *helper, uint32_t sp) {
	if (sp % 8 != 0) {
		printf("FAIL %s: sp = 0x%08" PRIx32 " is not 8-byte aligned\n", helper, sp);
		o32_failures++;
	}
}

#define READ_SP(sp) __asm__ volatile("move %0, $sp" : "=r"(sp))

uint64_t bpf_helper_900(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) {
	uint32_t sp;
	READ_SP(sp);
	check_sp("bpf_helper_900", sp);
	o32_calls[0]++;
	check_arg("bpf_helper_900", 1, r1, 0x1111111122222222ull);
	check_arg("bpf_helper_900", 2, r2, 0x3333333344444444ull);
	check_arg("bpf_helper_900", 3, r3, 0x5555555566666666ull);
	check_arg("bpf_helper_900", 4, r4, 0x7777777788888888ull);
	check_arg("bpf_helper_900", 5, r5, 0x99999999aaaaaaaaull);
	return 0xc0ffee00fffffff0ull;
}

uint64_t bpf_helper_901(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) {
	uint32_t sp;
	READ_SP(sp);
	check_sp("bpf_helper_901", sp);
	o32_calls[1]++;
	check_arg("bpf_helper_901", 1, r1, 0xc0ffee00fffffff0ull); /* bpf_helper_900's result */
	check_arg("bpf_helper_901", 2, r2, 0x0123456789abcdefull); /* r6 */
	check_arg("bpf_helper_901", 3, r3, 0xfedcba9876543210ull); /* r7 */
	check_arg("bpf_helper_901", 4, r4, 0x0f1e2d3c4b5a6978ull); /* r8 */
	check_arg("bpf_helper_901", 5, r5, 0xa5a5a5a55a5a5a5aull); /* the stack slot */
	return 0x0000000100000020ull;
}
