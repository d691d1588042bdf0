/*
 * xdp_main.c — a C program that links a corpus program compiled by bpfopt
 * (xdp_parse from ../xdp_parse.c, written as an ELF32 object with its map
 * in .data) into a static MIPS executable, the way a user would embed
 * one (cmd/bpfopt/pipeline/corpus_test.go, TestCorpusLinkedWithC).
 *
 * It supplies the one helper the program calls, bpf_map_lookup_elem
 * (bpf_helper_1), for array maps, over bpfopt's map object layout
 * (cmd/bpfopt/pipeline/maps.go): storage is set up at first use from the
 * initial contents, at a stride of value_size rounded up to 8.
 *
 * For each file named on the command line (a struct ctx of ../corpus.h)
 * it runs xdp_parse once, with fresh map state, and prints r0 and the
 * final ctx in hex: "r0 HEX ctx HEX".
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bpf_map {
	uint32_t type, key_size, value_size, max_entries, flags;
	uint32_t initial; /* address of the initial contents, or 0 */
	uint32_t state;   /* ours: the storage's address, 0 until first use */
	uint32_t reserved;
};

uint64_t xdp_parse(void *ctx, uint32_t len);
extern struct bpf_map verdicts; /* the program's map, a global of its object */

static unsigned char heap[1 << 16] __attribute__((aligned(8)));
static uint32_t heap_used;

/* bpf_helper_1 is bpf_map_lookup_elem(map, key) for array maps. Under
 * O32 its two 64-bit arguments arrive in a0/a1 and a2/a3. */
uint64_t bpf_helper_1(uint64_t map_arg, uint64_t key_arg) {
	struct bpf_map *m = (struct bpf_map *)(uintptr_t)map_arg;
	uint32_t stride = (m->value_size + 7) & ~7u, i;
	if (m->type != 2 || m->key_size != 4) {
		fprintf(stderr, "bpf_helper_1: map type %u is not an array\n", m->type);
		exit(2);
	}
	if (m->state == 0) {
		uint32_t size = stride * m->max_entries;
		if (size > sizeof heap - heap_used) {
			fprintf(stderr, "bpf_helper_1: out of map storage\n");
			exit(2);
		}
		unsigned char *values = heap + heap_used;
		heap_used += size;
		memset(values, 0, size);
		for (i = 0; m->initial && i < m->max_entries; i++)
			memcpy(values + i * stride, (unsigned char *)(uintptr_t)m->initial + i * m->value_size, m->value_size);
		m->state = (uint32_t)(uintptr_t)values;
	}
	memcpy(&i, (void *)(uintptr_t)key_arg, 4);
	return i < m->max_entries ? m->state + i * stride : 0;
}

int main(int argc, char **argv) {
	for (int a = 1; a < argc; a++) {
		static unsigned char ctx[4096] __attribute__((aligned(8)));
		FILE *f = fopen(argv[a], "rb");
		if (!f) {
			perror(argv[a]);
			return 2;
		}
		size_t len = fread(ctx, 1, sizeof ctx, f);
		fclose(f);
		verdicts.state = 0; /* every run starts from the initial contents */
		heap_used = 0;
		uint64_t r0 = xdp_parse(ctx, (uint32_t)len);
		printf("r0 %016" PRIx64 " ctx ", r0);
		for (size_t i = 0; i < len; i++)
			printf("%02x", ctx[i]);
		printf("\n");
	}
	return 0;
}
