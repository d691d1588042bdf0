/* Driver for TestELFRunsUnderQemu: links with the object WriteELF produced
 * from the hand-built functions in emit_elf_test.go and checks their results.
 * Exit status 0 means every check passed.
 *
 * Built two ways: hosted, against Debian's glibc (little-endian only), and
 * with -DFREESTANDING, without any library, for both byte orders (there is
 * no big-endian libc on the machine). */
#include <stdint.h>

uint64_t add_carry(uint32_t a, uint32_t b); /* v0 = a+b, v1 = carry out */
int call_ext(int x);                        /* ext_fn(x) through lui/addiu/jalr */
uint64_t call_add(uint32_t a, uint32_t b);  /* add_carry(a, b), called by address */
int read_global(void);                      /* ext_global through lui %hi / lw %lo */
int long_branches(int mode);                /* long branches taken at run time */

int ext_global = 0x12345678;

int ext_fn(int x) { return 3 * x + 1; }

static int failures;

#ifdef FREESTANDING
static void report(const char *what, uint64_t got, uint64_t want) { (void)what, (void)got, (void)want; }
#else
#include <stdio.h>
static void report(const char *what, uint64_t got, uint64_t want) {
	printf("FAIL %s: got %#llx, want %#llx\n", what, (unsigned long long)got, (unsigned long long)want);
}
#endif

static void check(const char *what, uint64_t got, uint64_t want) {
	if (got != want) {
		report(what, got, want);
		failures++;
	}
}

/* A 64-bit result comes back in v0/v1, low word first in memory order: on
 * big-endian, v0 holds the high word. add_carry puts the sum in v0 and the
 * carry in v1, so on big-endian its result reads as sum<<32 | carry. */
static uint64_t pair(uint32_t v0, uint32_t v1) {
	const uint16_t probe = 1;
	if (*(const uint8_t *)&probe)
		return (uint64_t)v1 << 32 | v0; /* little-endian */
	return (uint64_t)v0 << 32 | v1;
}

int main(void) {
	check("add_carry(0xffffffff, 1)", add_carry(0xffffffffu, 1), pair(0, 1));
	check("add_carry(1, 2)", add_carry(1, 2), pair(3, 0));
	check("add_carry(0x80000000, 0x80000000)", add_carry(0x80000000u, 0x80000000u), pair(0, 1));
	check("add_carry(0xffffffff, 0xffffffff)", add_carry(0xffffffffu, 0xffffffffu), pair(0xfffffffeu, 1));
	check("call_ext(5)", (uint32_t)call_ext(5), 16);
	check("call_ext(-1)", (uint32_t)call_ext(-1), (uint32_t)-2);
	check("call_add(0xffffffff, 1)", call_add(0xffffffffu, 1), pair(0, 1));
	check("read_global()", (uint32_t)read_global(), 0x12345678);
	ext_global = -7;
	check("read_global() after store", (uint32_t)read_global(), (uint32_t)-7);
	/* See longBranchFunc in emit_elf_test.go for the paths. */
	check("long_branches(0)", (uint32_t)long_branches(0), 1007);
	check("long_branches(1)", (uint32_t)long_branches(1), 41107);
	check("long_branches(2)", (uint32_t)long_branches(2), 51100);
#ifndef FREESTANDING
	if (failures == 0)
		printf("ok\n");
#endif
	return failures;
}

#ifdef FREESTANDING
void __start(void) {
	register long a0 __asm__("$4") = main();
	register long v0 __asm__("$2") = 4001; /* O32 __NR_exit */
	__asm__ volatile("syscall" : "+r"(v0) : "r"(a0) : "memory");
	for (;;) {
	}
}
#endif
