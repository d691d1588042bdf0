// Test objects for LoadELF. The .o files beside this source are committed so
// that the tests need no clang; rebuild them (Debian's clang 14) with:
//
//   clang -target bpfel -O2 -g -c progs.c -o progs_el.o
//   clang -target bpfeb -O2 -g -c progs.c -o progs_eb.o
//
// No libbpf headers: the few macros they would provide are defined here.

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

typedef unsigned long long u64;

struct {
	__uint(type, 2); // BPF_MAP_TYPE_ARRAY
	__uint(max_entries, 4);
	__type(key, int);
	__type(value, u64);
} counters SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

const volatile u64 scale = 3; // lives in .rodata

// fib is a subprogram: calls to it are bpf-to-bpf calls.
static __attribute__((noinline)) u64 fib(u64 n)
{
	u64 a = 0, b = 1;
	for (u64 i = 0; i < n; i++) {
		u64 t = a + b;
		a = b;
		b = t;
	}
	return a;
}

static __attribute__((noinline)) u64 twice(u64 x)
{
	return fib(x) * 2;
}

// pure needs no maps or helpers, so the interpreter can run it:
// fib(10) + twice(7) = 55 + 2*13 = 81.
SEC("socket")
int pure(void *ctx)
{
	return fib(10) + twice(7);
}

// counted uses a map, a helper and a global constant.
SEC("xdp")
int counted(void *ctx)
{
	int key = 1;
	u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(v, scale);
	return fib(5);
}
