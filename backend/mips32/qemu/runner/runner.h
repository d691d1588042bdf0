/*
 * runner.h — what runner.c (the protocol, the trampoline, signals) and
 * helpers.c (the BPF helpers) share. Both are freestanding: no libc.
 */
#ifndef BPFOPT_RUNNER_H
#define BPFOPT_RUNNER_H

#include <stddef.h>
#include <stdint.h>

/* runner.c's replacements for libc. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* hex writes v as digits lower-case hex digits at dst (no NUL). */
void hex(char *dst, uint32_t v, int digits);

/* stop_program ends the running program at once as if it had returned r0
 * (runner.c's trampoline). Only code the program called may call it. */
void stop_program(uint64_t r0) __attribute__((noreturn));

/* stop describes an error stop of the current run (helpers.c): when active,
 * the runner replies STATUS_STOPPED with msg[0..len) and pc = site. */
struct stop {
	int active;
	uint32_t site; /* address of the jalr that called the runtime */
	uint32_t len;
	char msg[128];
};
extern struct stop stop;

/* reset_run_state clears the stop and the helpers' state (maps included)
 * before a run. */
void reset_run_state(void);

/* Error stops (helpers.c), naming the call site from ra, the return address
 * of the program's call. fail stops with the message what + number + tail;
 * longer messages are built by fail_start, then fail_text, fail_number
 * (decimal below 2^32, else hex) and fail_hex (0x and 8 digits), and sent by
 * fail_now. */
void fail(uint32_t ra, const char *what, uint64_t number, const char *tail) __attribute__((noreturn));
void fail_start(uint32_t ra);
void fail_text(const char *s);
void fail_number(uint64_t v);
void fail_hex(uint32_t v);
void fail_now(void) __attribute__((noreturn));

/* check_pointer returns the address a BPF pointer holds, or stops the
 * program (naming the helper) when its high word is not zero. */
unsigned char *check_pointer(const char *helper, uint64_t p, uint32_t ra);

/* A helper's body: r[0..4] = r1..r5; ra is the return address of the
 * program's call, for errors. */
typedef uint64_t helper_fn(const uint64_t *r, uint32_t ra);

/* The map helpers (maps.c), kernel IDs 1, 2, 3; bpf_tail_call_target is a
 * runtime symbol of its own. */
helper_fn map_lookup_elem, map_update_elem, map_delete_elem;
uint64_t bpf_tail_call_target(uint64_t map, uint64_t index);

/* maps_init gives the maps their heap (runner.c maps it once); maps_reset
 * empties it before each run. */
void maps_init(unsigned char *heap, uint32_t size);
void maps_reset(void);

#endif
