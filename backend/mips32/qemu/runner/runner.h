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

/* reset_run_state clears the stop and the helpers' state before a run. */
void reset_run_state(void);

#endif
