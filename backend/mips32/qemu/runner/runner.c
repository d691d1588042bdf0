/*
 * runner.c — the MIPS32 side of the qemu-user run engine (package
 * backend/mips32/qemu). It runs under qemu-mipsel / qemu-mips, executes the
 * functions the Go side sends, and answers over stdin/stdout. The protocol
 * is described in protocol.go; the constants below must match it.
 *
 * Why freestanding (no libc): glibc's start-up code calls __sigsetjmp, which
 * saves the FPU registers, so a glibc binary dies with SIGILL on the FPU-less
 * MIPS32 Release 1 CPUs (4Kc). Without libc the runner runs on every -cpu, so
 * code compiled for R1 can be run on an R1 CPU, where a stray R2 instruction
 * faults. It is built with -march=mips32 and uses no floating point. It links
 * libgcc (64-bit division) and libatomic (64-bit atomics). libatomic guards
 * its 8-byte operations with locks whose code uses the R2 instruction "ext";
 * the runner is single-threaded, so it replaces them with no-ops below.
 *
 * Faults are recovered without setjmp: the signal handler rewrites the
 * interrupted context so that sigreturn resumes at call_program_resume, with
 * the stack pointer saved at the call, and that path restores the runner's
 * callee-saved registers from the trampoline's frame. A BPF helper stops the
 * program the same way, without a signal (stop_program).
 *
 * The BPF helpers, and the interface compiled code calls them through, are in
 * helpers.c, the maps and the tail-call lookup in maps.c; runner.h is what
 * the files share.
 */
#include <stddef.h>
#include <stdint.h>
#include <asm/cachectl.h>
#include <asm/errno.h>
#include <linux/mman.h>
#include <asm/siginfo.h>
#include <asm/signal.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <asm/unistd.h>

#include "runner.h"

/*
 * The runtime symbols generated code may call, by name. This list is the one
 * table: the Go side learns names and addresses from the hello message. To
 * offer a new routine (a BPF helper, a map operation), define it in C
 * (helpers.c for helpers) and add a line here.
 */
#define RUNTIME_SYMBOLS(X)                                                     \
	X(__udivdi3)                                                           \
	X(__umoddi3)                                                           \
	X(__divdi3)                                                            \
	X(__moddi3)                                                            \
	X(__atomic_fetch_add_8)                                                \
	X(__atomic_fetch_or_8)                                                 \
	X(__atomic_fetch_and_8)                                                \
	X(__atomic_fetch_xor_8)                                                \
	X(__atomic_exchange_8)                                                 \
	X(__atomic_compare_exchange_8)                                         \
	X(ubpf_helper_0)                                                       \
	X(ubpf_helper_1)                                                       \
	X(ubpf_helper_2)                                                       \
	X(ubpf_helper_3)                                                       \
	X(ubpf_helper_4)                                                       \
	X(ubpf_helper_5)                                                       \
	X(ubpf_callx)                                                          \
	X(bpf_helper_1)                                                        \
	X(bpf_helper_2)                                                        \
	X(bpf_helper_3)                                                        \
	X(bpf_helper_5)                                                        \
	X(bpf_helper_7)                                                        \
	X(bpf_helper_8)                                                        \
	X(bpf_callx)                                                           \
	X(bpf_tail_call_target)

/* Bind each name through an asm label: the __atomic_* names are compiler
 * built-ins that C may not declare with their own types. */
#define DECLARE_SYMBOL(f) extern char runtime_symbol_##f[] __asm__(#f);
RUNTIME_SYMBOLS(DECLARE_SYMBOL)
#define SYMBOL_ENTRY(f) {#f, runtime_symbol_##f},
static const struct {
	const char *name;
	const void *addr;
} runtime_symbols[] = {RUNTIME_SYMBOLS(SYMBOL_ENTRY)};

/* Protocol constants (protocol.go). */
#define MAGIC "BPFQRUN1"
#define CMD_RUN 1
#define STATUS_RETURNED 0
#define STATUS_SIGNAL 1
#define STATUS_TIMEOUT 2
#define STATUS_BAD_REQUEST 3
#define STATUS_STOPPED 4 /* a runtime routine stopped the program with an error */
#define NUM_CHECKED_REGS 11 /* s0..s7, fp, sp, gp */

/* Memory layout. The addresses are hints: qemu-user honours them when free,
 * which keeps fault addresses reproducible from run to run. */
#define PAGE_SIZE 4096u
#define CODE_HINT 0x20000000u
#define CODE_SIZE (64u << 20) /* room for 1M-instruction programs */
#define CODE_TAIL 16u         /* break words after the code */
#define DATA_HINT 0x30000000u
#define DATA_SIZE (16u << 20) /* largest memory block, followed by a guard page */
#define HEAP_HINT 0x10000000u /* sim.HeapBase: map value pointers agree with the simulator's */
#define HEAP_SIZE (256u << 20) /* map storage (maps.c), emptied before each run */

/* --- system calls ------------------------------------------------------- */

/* sys6 returns the result, or -errno. O32 passes arguments 5 and 6 on the
 * stack at 16(sp) and 20(sp). */
long sys6(long n, long a, long b, long c, long d, long e, long f);
__asm__(".text\n"
	".globl sys6\n"
	".ent sys6\n"
	".set push\n"
	".set noreorder\n"
	".set nomacro\n"
	"sys6:\n"
	"	addu $2, $4, $0\n"
	"	addu $4, $5, $0\n"
	"	addu $5, $6, $0\n"
	"	addu $6, $7, $0\n"
	"	lw $7, 16($29)\n"
	"	lw $8, 20($29)\n"
	"	lw $9, 24($29)\n"
	"	addiu $29, $29, -32\n"
	"	sw $8, 16($29)\n"
	"	sw $9, 20($29)\n"
	"	syscall\n"
	"	beq $7, $0, 1f\n"
	"	addiu $29, $29, 32\n"
	"	subu $2, $0, $2\n"
	"1:	jr $31\n"
	"	nop\n"
	".set pop\n"
	".end sys6\n");

#define SYS(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static void exit_group(int code) {
	for (;;)
		SYS(__NR_exit_group, code, 0, 0);
}

/* --- what libatomic needs from libc ------------------------------------- */

void *memcpy(void *dst, const void *src, size_t n) {
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n) {
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s) {
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void libat_lock_1(void *p) { (void)p; }
void libat_unlock_1(void *p) { (void)p; }
void libat_lock_n(void *p, size_t n) { (void)p, (void)n; }
void libat_unlock_n(void *p, size_t n) { (void)p, (void)n; }

/* --- I/O ---------------------------------------------------------------- */

static void fatal(const char *msg) {
	static const char prefix[] = "bpfopt runner: ";
	SYS(__NR_write, 2, prefix, sizeof prefix - 1);
	SYS(__NR_write, 2, msg, strlen(msg));
	SYS(__NR_write, 2, "\n", 1);
	exit_group(2);
}

/* read_full reads n bytes from stdin; EOF before the first byte means the Go
 * side closed the pipe, and the runner exits quietly. */
static void read_full(void *buf, uint32_t n, int eof_ok) {
	unsigned char *p = buf;
	uint32_t done = 0;
	while (done < n) {
		long r = SYS(__NR_read, 0, p + done, n - done);
		if (r == -EINTR)
			continue;
		if (r < 0)
			fatal("read from stdin failed");
		if (r == 0) {
			if (done == 0 && eof_ok)
				exit_group(0);
			fatal("unexpected end of input");
		}
		done += (uint32_t)r;
	}
}

static void write_full(const void *buf, uint32_t n) {
	const unsigned char *p = buf;
	while (n > 0) {
		long r = SYS(__NR_write, 1, p, n);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			fatal("write to stdout failed");
		p += r;
		n -= (uint32_t)r;
	}
}

/* write_pair writes two buffers, with one system call when the pipe takes
 * them whole (so that the Go side wakes up once). */
static void write_pair(const void *a, uint32_t a_len, const void *b, uint32_t b_len) {
	struct {
		const void *base;
		size_t len;
	} iov[2] = {{a, a_len}, {b, b_len}};
	long r;
	do
		r = SYS(__NR_writev, 1, iov, 2);
	while (r == -EINTR);
	if (r < 0)
		fatal("write to stdout failed");
	if ((uint32_t)r < a_len) {
		write_full((const unsigned char *)a + r, a_len - (uint32_t)r);
		write_full(b, b_len);
	} else {
		write_full((const unsigned char *)b + (r - a_len), b_len - ((uint32_t)r - a_len));
	}
}

/* The protocol is little-endian whatever the target's byte order. */
static void put32(unsigned char *p, uint32_t v) {
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p) {
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* --- the call trampoline ------------------------------------------------ */

/*
 * call_program(fn, ctx, len) calls fn(ctx, len) with known values ("canaries")
 * in the callee-saved registers, and records s0..s7, fp, sp, gp just before
 * the call (regs_before) and just after it returns (regs_after), so that the
 * runner can report a function that breaks the O32 calling convention.
 * call_active is 1 exactly while the program may be running: the signal
 * handler recovers only then.
 *
 * stop_program(r0), called by a runtime routine the program called (a BPF
 * helper), ends the program at once as if it had returned r0: uBPF's
 * "unwind", or an error (with stop.active set, see the helpers). Since the
 * program never returns, the O32 check then checks the stop path itself:
 * regs_after must equal regs_before.
 */
uint64_t call_program(void *fn, void *ctx, uint32_t len);
extern char call_program_resume[];
volatile uint32_t call_active;
uint32_t call_saved_sp;
uint32_t regs_before[NUM_CHECKED_REGS];
uint32_t regs_after[NUM_CHECKED_REGS];

#define STORE_CHECKED_REGS(array)                                              \
	"	lui $8, %hi(" array ")\n"                                      \
	"	addiu $8, $8, %lo(" array ")\n"                                \
	"	sw $16, 0($8)\n"                                               \
	"	sw $17, 4($8)\n"                                               \
	"	sw $18, 8($8)\n"                                               \
	"	sw $19, 12($8)\n"                                              \
	"	sw $20, 16($8)\n"                                              \
	"	sw $21, 20($8)\n"                                              \
	"	sw $22, 24($8)\n"                                              \
	"	sw $23, 28($8)\n"                                              \
	"	sw $30, 32($8)\n"                                              \
	"	sw $29, 36($8)\n"                                              \
	"	sw $28, 40($8)\n"

#define CANARY(reg, n) "	lui " reg ", 0xca" n "\n	ori " reg ", " reg ", 0x5afe\n"
#define CANARIES                                                               \
	CANARY("$16", "10") CANARY("$17", "11") CANARY("$18", "12")            \
	CANARY("$19", "13") CANARY("$20", "14") CANARY("$21", "15")            \
	CANARY("$22", "16") CANARY("$23", "17") CANARY("$30", "1e")

__asm__(".text\n"
	".globl call_program\n"
	".globl call_program_resume\n"
	".globl stop_program\n"
	".ent call_program\n"
	".set push\n"
	".set noreorder\n"
	".set nomacro\n"
	"call_program:\n"
	"	addiu $29, $29, -48\n"
	"	sw $31, 44($29)\n"
	"	sw $30, 40($29)\n"
	"	sw $23, 36($29)\n"
	"	sw $22, 32($29)\n"
	"	sw $21, 28($29)\n"
	"	sw $20, 24($29)\n"
	"	sw $19, 20($29)\n"
	"	sw $18, 16($29)\n"
	"	sw $17, 12($29)\n"
	"	sw $16, 8($29)\n"
	"	sw $28, 4($29)\n"
	"	lui $8, %hi(call_saved_sp)\n"
	"	sw $29, %lo(call_saved_sp)($8)\n"
	CANARIES
	STORE_CHECKED_REGS("regs_before")
	"	addu $25, $4, $0\n"
	"	addu $4, $5, $0\n"
	"	addu $5, $6, $0\n"
	"	lui $8, %hi(call_active)\n"
	"	addiu $9, $0, 1\n"
	"	sw $9, %lo(call_active)($8)\n"
	"	jalr $25\n"
	"	nop\n"
	"call_program_returned:\n"
	"	lui $8, %hi(call_active)\n"
	"	sw $0, %lo(call_active)($8)\n"
	STORE_CHECKED_REGS("regs_after")
	"	lui $8, %hi(call_saved_sp)\n"
	"	lw $29, %lo(call_saved_sp)($8)\n"
	"call_program_resume:\n"
	"	lw $28, 4($29)\n"
	"	lw $16, 8($29)\n"
	"	lw $17, 12($29)\n"
	"	lw $18, 16($29)\n"
	"	lw $19, 20($29)\n"
	"	lw $20, 24($29)\n"
	"	lw $21, 28($29)\n"
	"	lw $22, 32($29)\n"
	"	lw $23, 36($29)\n"
	"	lw $30, 40($29)\n"
	"	lw $31, 44($29)\n"
	"	jr $31\n"
	"	addiu $29, $29, 48\n"
	/* stop_program(r0): the program's frames are dropped by taking sp
	 * back to the trampoline's frame, the canaries go back into the
	 * callee-saved registers (they are what the program would have had
	 * to restore), and the trampoline goes on as after a return of r0
	 * (a0/a1 hold r0 as a uint64_t argument, v0/v1 return it, in the
	 * same word order). */
	"stop_program:\n"
	"	lui $8, %hi(call_saved_sp)\n"
	"	lw $29, %lo(call_saved_sp)($8)\n"
	"	lw $28, 4($29)\n"
	"	addu $2, $4, $0\n"
	"	addu $3, $5, $0\n"
	CANARIES
	"	b call_program_returned\n"
	"	nop\n"
	".set pop\n"
	".end call_program\n");

/* --- signals -------------------------------------------------------------- */

void hex(char *dst, uint32_t v, int digits) {
	while (digits--) {
		dst[digits] = "0123456789abcdef"[v & 15];
		v >>= 4;
	}
}

static const struct {
	int signo;
	const char *name;
} signal_names[] = {
	{SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGILL, "SIGILL"},
	{SIGFPE, "SIGFPE"},   {SIGTRAP, "SIGTRAP"}, {SIGEMT, "SIGEMT"},
	{SIGSYS, "SIGSYS"},   {SIGALRM, "SIGALRM"},
};

static struct {
	int signo;
	uint32_t pc, addr, code;
} fault;

/* fatal_signal reports a signal outside the program: a bug in the runner, or
 * a program that overwrote the runner's memory (such as its stack above the
 * program's frame). */
static void fatal_signal(int signo, uint32_t pc) {
	static char msg[96];
	static const char mid[] = " in the runner itself at pc 0x", end[] = " (not in the program)";
	const char *name = "a signal";
	char *p = msg;
	for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (signal_names[i].signo == signo)
			name = signal_names[i].name;
	memcpy(p, name, strlen(name));
	p += strlen(name);
	memcpy(p, mid, sizeof mid - 1);
	p += sizeof mid - 1;
	hex(p, pc, 8);
	memcpy(p + 8, end, sizeof end);
	fatal(msg);
}

static void on_signal(int signo, siginfo_t *si, void *uctx) {
	struct ucontext *uc = uctx;
	if (!call_active) {
		if (signo == SIGALRM)
			return; /* the time-out fired after the program returned */
		fatal_signal(signo, (uint32_t)uc->uc_mcontext.sc_pc);
	}
	call_active = 0;
	fault.signo = signo;
	fault.pc = (uint32_t)uc->uc_mcontext.sc_pc;
	fault.addr = (uint32_t)(uintptr_t)si->si_addr;
	fault.code = (uint32_t)si->si_code;
	uc->uc_mcontext.sc_pc = (uintptr_t)call_program_resume;
	uc->uc_mcontext.sc_regs[29] = call_saved_sp;
}

static void install_handlers(void) {
	static unsigned char altstack[64 << 10] __attribute__((aligned(16)));
	stack_t ss = {altstack, sizeof altstack, 0};
	if (SYS(__NR_sigaltstack, &ss, 0, 0) < 0)
		fatal("sigaltstack failed");
	for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = (__sighandler_t)(void (*)(void))on_signal;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		memset(&sa.sa_mask, 0xff, sizeof sa.sa_mask);
		if (sys6(__NR_rt_sigaction, signal_names[i].signo, (long)&sa, 0,
			 sizeof(sigset_t), 0, 0) < 0)
			fatal("rt_sigaction failed");
	}
}

static void set_timer(uint32_t ms) {
	long it[4] = {0, 0, (long)(ms / 1000), (long)(ms % 1000) * 1000};
	SYS(__NR_setitimer, 0 /* ITIMER_REAL */, it, 0);
}

/* --- main loop ------------------------------------------------------------ */

static unsigned char *map(uint32_t hint, uint32_t size, int prot) {
	long p = sys6(__NR_mmap2, hint, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p < 0 && p > -4096)
		fatal("mmap failed");
	return (unsigned char *)p;
}

static void send_hello(const unsigned char *code, const unsigned char *data) {
	static unsigned char buf[4096];
	uint32_t n = 8, nsyms = sizeof runtime_symbols / sizeof runtime_symbols[0];
	memcpy(buf, MAGIC, 8);
	put32(buf + n, (uint32_t)(uintptr_t)code);
	put32(buf + n + 4, CODE_SIZE - CODE_TAIL);
	put32(buf + n + 8, (uint32_t)(uintptr_t)data);
	put32(buf + n + 12, DATA_SIZE);
	put32(buf + n + 16, nsyms);
	n += 20;
	for (uint32_t i = 0; i < nsyms; i++) {
		uint32_t len = strlen(runtime_symbols[i].name);
		if (n + 8 + len > sizeof buf)
			fatal("symbol table too large for the hello buffer");
		put32(buf + n, (uint32_t)(uintptr_t)runtime_symbols[i].addr);
		put32(buf + n + 4, len);
		memcpy(buf + n + 8, runtime_symbols[i].name, len);
		n += 8 + len;
	}
	write_full(buf, n);
}

/* reply sends the fixed header, the signal name (or a stop's message) and
 * the final memory. */
static void reply(uint32_t status, uint64_t r0, const unsigned char *mem, uint32_t mem_len) {
	unsigned char buf[28 + 8 * NUM_CHECKED_REGS + 4 + sizeof stop.msg + 4];
	const char *name = "";
	uint32_t n = 0, name_len;
	for (size_t i = 0; status == STATUS_SIGNAL && i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (signal_names[i].signo == fault.signo)
			name = signal_names[i].name;
	name_len = strlen(name);
	if (status == STATUS_STOPPED) {
		fault.pc = stop.site;
		name = stop.msg;
		name_len = stop.len;
	}
	put32(buf, status);
	put32(buf + 4, (uint32_t)fault.signo);
	put32(buf + 8, fault.pc);
	put32(buf + 12, fault.addr);
	put32(buf + 16, fault.code);
	put32(buf + 20, (uint32_t)r0);
	put32(buf + 24, (uint32_t)(r0 >> 32));
	n = 28;
	for (int i = 0; i < NUM_CHECKED_REGS; i++, n += 8) {
		put32(buf + n, regs_before[i]);
		put32(buf + n + 4, regs_after[i]);
	}
	put32(buf + n, name_len);
	memcpy(buf + n + 4, name, name_len);
	n += 4 + name_len;
	put32(buf + n, mem_len);
	write_pair(buf, n + 4, mem, mem_len);
}

static void bad_request(const char *msg) {
	uint32_t len = strlen(msg);
	unsigned char hdr[8];
	put32(hdr, STATUS_BAD_REQUEST);
	put32(hdr + 4, len);
	write_full(hdr, 8);
	write_full(msg, len);
	exit_group(3);
}

void runner_main(void) {
	unsigned char *code, *data, *guard;
	install_handlers();
	code = map(CODE_HINT, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	data = map(DATA_HINT, DATA_SIZE + PAGE_SIZE, PROT_READ | PROT_WRITE);
	guard = data + DATA_SIZE;
	if (SYS(__NR_mprotect, guard, PAGE_SIZE, PROT_NONE) < 0)
		fatal("mprotect of the guard page failed");
	maps_init(map(HEAP_HINT, HEAP_SIZE, PROT_READ | PROT_WRITE), HEAP_SIZE);
	send_hello(code, data);
	for (;;) {
		unsigned char req[20];
		uint32_t code_len, entry, mem_len, timeout_ms;
		unsigned char *ctx;
		uint64_t r0;
		read_full(req, sizeof req, 1);
		code_len = get32(req + 4);
		entry = get32(req + 8);
		mem_len = get32(req + 12);
		timeout_ms = get32(req + 16);
		if (get32(req) != CMD_RUN)
			bad_request("unknown command");
		if (code_len > CODE_SIZE - CODE_TAIL || entry >= code_len || entry % 4 != 0 || code_len % 4 != 0)
			bad_request("bad code length or entry offset");
		if (mem_len > DATA_SIZE)
			bad_request("memory block too large");
		read_full(code, code_len, 0);
		/* A program that runs off its end hits "break" (SIGTRAP), not
		 * the previous program's code. */
		memset(code + code_len, 0, CODE_TAIL);
		for (uint32_t i = 0; i < CODE_TAIL; i += 4)
			*(uint32_t *)(code + code_len + i) = 0x0000000d;
		SYS(__NR_cacheflush, code, code_len + CODE_TAIL, BCACHE);
		/* The block ends at the guard page: an access past its (8-byte
		 * rounded) end faults. An empty block gets a valid, aligned,
		 * non-null pointer that no access may use. */
		ctx = guard - ((mem_len + 7) & ~7u);
		read_full(ctx, mem_len, 0);
		fault.signo = 0;
		fault.pc = fault.addr = fault.code = 0;
		reset_run_state();
		set_timer(timeout_ms);
		r0 = call_program(code + entry, ctx, mem_len);
		set_timer(0);
		if (fault.signo == SIGALRM)
			reply(STATUS_TIMEOUT, 0, ctx, mem_len);
		else if (fault.signo != 0)
			reply(STATUS_SIGNAL, 0, ctx, mem_len);
		else if (stop.active)
			reply(STATUS_STOPPED, 0, ctx, mem_len);
		else
			reply(STATUS_RETURNED, r0, ctx, mem_len);
	}
}

/* __start is the ELF entry point: set gp for the abicalls code in libatomic's
 * callers, and call runner_main through t9 as the O32 PIC convention wants. */
__asm__(".text\n"
	".globl __start\n"
	".ent __start\n"
	".set push\n"
	".set noreorder\n"
	".set nomacro\n"
	"__start:\n"
	"	lui $28, %hi(_gp)\n"
	"	addiu $28, $28, %lo(_gp)\n"
	"	addiu $8, $0, -16\n"
	"	and $29, $29, $8\n"
	"	addiu $29, $29, -32\n"
	"	lui $25, %hi(runner_main)\n"
	"	addiu $25, $25, %lo(runner_main)\n"
	"	jalr $25\n"
	"	nop\n"
	"	break\n"
	".set pop\n"
	".end __start\n");
