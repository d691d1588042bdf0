/*
 * main.c — the O32 call test's driver (cmd/bpfopt/pipeline/o32_test.go):
 * calls the compiled BPF program o32_prog (prog.s) through wrapper.S, which
 * checks that s0-s7, fp and sp survive it, and checks the result, the
 * context words the program wrote and the helpers' own checks (helpers.c).
 * It exits 0 only when every check passed, and prints each failure.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

uint64_t o32_prog(void *ctx, uint32_t len);
uint32_t o32_call_checked(uint64_t (*fn)(void *, uint32_t), void *ctx, uint32_t len, uint64_t *r0);
extern int o32_failures;
extern int o32_calls[2];

static int failures;

static void expect(const char *what, uint64_t got, uint64_t want) {
	if (got != want) {
		printf("FAIL %s = 0x%016" PRIx64 ", want 0x%016" PRIx64 "\n", what, got, want);
		failures++;
	}
}

int main(void) {
	static const char *const regs[] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "fp", "sp"};
	/* r6, r7, r8 and the stack slot's values; then the helpers' results. */
	uint64_t ctx[6] = {0x0123456789abcdefull, 0xfedcba9876543210ull, 0x0f1e2d3c4b5a6978ull,
			   0xa5a5a5a55a5a5a5aull, 0, 0};
	uint64_t r0 = 0;
	uint32_t broken = o32_call_checked(o32_prog, ctx, sizeof ctx, &r0);

	for (int i = 0; i < 10; i++)
		if (broken & (1u << i)) {
			printf("FAIL %s not preserved across the BPF function\n", regs[i]);
			failures++;
		}
	if (r0 >> 52 == 0xbad)
		printf("FAIL the BPF program's check 0x%02" PRIx64 " failed (see prog.s)\n", r0 & 0xff);
	expect("r0", r0, 0xc0ffee0200000010ull);
	expect("ctx[4] (bpf_helper_900's result)", ctx[4], 0xc0ffee00fffffff0ull);
	expect("ctx[5] (bpf_helper_901's result)", ctx[5], 0x0000000100000020ull);
	expect("calls of bpf_helper_900", (uint64_t)o32_calls[0], 1);
	expect("calls of bpf_helper_901", (uint64_t)o32_calls[1], 1);
	failures += o32_failures;
	if (failures) {
		printf("o32: %d checks failed\n", failures);
		return 1;
	}
	printf("o32: all checks passed\n");
	return 0;
}
