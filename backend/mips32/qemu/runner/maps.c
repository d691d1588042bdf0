/*
 * maps.c — BPF maps for the qemu runner's helpers (helpers.c): hash, array
 * and prog array maps behind map_lookup_elem (kernel helper 1),
 * map_update_elem (2), map_delete_elem (3), and the tail-call lookup
 * bpf_tail_call_target.
 *
 * The map objects live in the module's data, which bpfopt emits next to the
 * code; code refers to them by symbol (R_MIPS_HI16/LO16), so a map argument
 * is the address of one of these:
 */
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

struct bpf_map {          /* 32 bytes, 4-byte aligned, emitted by bpfopt in the module's data */
	uint32_t type;        /* BPF_MAP_TYPE_*: 1 hash, 2 array, 3 prog array (others: helpers stop the program with an error) */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;       /* map_flags from the ELF (unused for now) */
	uint32_t initial;     /* address of initial contents or 0: array: max_entries*value_size bytes; prog array: max_entries u32 entry addresses (0 = empty) */
	uint32_t state;       /* runtime-owned: 0 until first use; the runtime allocates its storage then */
	uint32_t reserved;
};

/*
 * The data is copied into the runner's code region with the code on every
 * run, so every run starts with state = 0 in every map; the heap the storage
 * comes from is emptied before every run too (maps_reset). Storage is
 * allocated zeroed at a map's first use by any of the helpers, which also
 * checks the map's geometry (an error stops the program):
 *
 *   array       key_size 4, value_size >= 1: max_entries values, each at an
 *               8-byte aligned stride of value_size rounded up to 8 (as the
 *               kernel lays them out); initial contents, max_entries *
 *               value_size bytes with no padding, are copied in value by value.
 *   hash        key_size 1..512, value_size >= 1: a chained hash table whose
 *               max_entries nodes are allocated at once (the kernel's
 *               preallocated hash): a node is { next, hash, key, value }, the
 *               key and the value 8-byte aligned. Keys compare bytewise; the
 *               hash is FNV-1a, so runs reproduce. An update of a present key
 *               overwrites its value in place.
 *   prog array  key_size 4, value_size 4: max_entries u32 entry addresses,
 *               0 for an empty slot; initial contents are copied in.
 *
 * Results follow the kernel (kernel/bpf/arraymap.c, hashtab.c), with Linux's
 * errno values, negated:
 *
 *   lookup  array: the value's address, 0 when the u32 key is out of range;
 *           hash: the value's address or 0; prog array: 0 (the kernel does
 *           not let programs look up prog arrays).
 *   update  flags other than BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2: -EINVAL;
 *           array: index out of range -E2BIG, BPF_NOEXIST -EEXIST (every
 *           element exists), else the value is copied, 0;
 *           hash: present + BPF_NOEXIST -EEXIST, absent + BPF_EXIST -ENOENT,
 *           absent and max_entries elements present -E2BIG, else 0;
 *           prog array: flags other than BPF_ANY -EINVAL, index out of range
 *           -E2BIG, else the slot takes the u32 at value (an entry address), 0.
 *   delete  array -EINVAL; hash 0 or -ENOENT; prog array: index out of range
 *           -E2BIG, empty slot -ENOENT, else the slot is cleared, 0.
 *
 * bpf_tail_call_target(map, index) returns the entry address in slot index
 * of a prog array (index truncated to 32 bits, as the kernel does), or 0 for
 * an index out of range, an empty slot, or a map that is not a prog array.
 * The compiled code checks the chain limit and jumps to the address plus
 * TailEntryOffset itself.
 */

enum { MAP_HASH = 1, MAP_ARRAY = 2, MAP_PROG_ARRAY = 3 };
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };

/* Linux's errno-base values, the same on every architecture. */
enum { ENOENT = 2, E2BIG = 7, EEXIST = 17, EINVAL = 22 };

#define MAX_KEY_SIZE 512 /* the kernel's limit for hash keys (MAX_BPF_STACK) */

/* --- the heap ------------------------------------------------------------ */

static struct {
	unsigned char *base;
	uint32_t size, used;
} heap;

void maps_init(unsigned char *base, uint32_t size) {
	heap.base = base;
	heap.size = size;
	heap.used = 0;
}

void maps_reset(void) { heap.used = 0; }

static uint64_t round8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* A call is the helper being run, for error messages. */
struct call {
	const char *helper;
	uint32_t ra;
	uint32_t map; /* the map's address */
};

/* map_error starts an error stop "helper: map at 0x...: ". */
static void map_error(const struct call *c) {
	fail_start(c->ra);
	fail_text(c->helper);
	fail_text(": map at ");
	fail_hex(c->map);
	fail_text(": ");
}

/* heap_alloc returns size bytes of zeroed, 8-byte aligned storage. Zeroing
 * here, not at reset, also undoes whatever a previous run wrote past the
 * end of its storage. */
static unsigned char *heap_alloc(const struct call *c, uint64_t size) {
	uint32_t *w;
	size = round8(size);
	if (size > heap.size - heap.used) {
		map_error(c);
		fail_text("its storage needs ");
		fail_number(size);
		fail_text(" bytes, the runtime heap has ");
		fail_number(heap.size - heap.used);
		fail_text(" left");
		fail_now();
	}
	w = (uint32_t *)(heap.base + heap.used);
	heap.used += (uint32_t)size;
	for (uint32_t i = 0; i < size / 4; i++)
		w[i] = 0;
	return (unsigned char *)w;
}

/* --- map set-up ------------------------------------------------------------ */

/* The hash table: the header, the buckets, then the nodes. */
struct node {
	struct node *next;
	uint32_t hash;
	unsigned char key[]; /* key_size rounded up to 8, then the value */
};

struct hash {
	uint32_t fresh;      /* nodes never used: nodes[fresh..max_entries) */
	struct node *free;   /* deleted nodes, for reuse */
	uint32_t mask;       /* buckets - 1, a power of two minus one */
	uint32_t key_space;  /* key_size rounded up to 8 */
	uint32_t node_size;
	struct node **buckets;
	unsigned char *nodes;
};

static void bad_geometry(const struct call *c, const char *kind, const char *field, uint32_t v, const char *rule) {
	map_error(c);
	fail_text(kind);
	fail_text(field);
	fail_number(v);
	fail_text(rule);
	fail_now();
}

static void check_size(const struct call *c, const struct bpf_map *m, const char *kind, uint32_t key, uint32_t value) {
	if (m->max_entries == 0)
		bad_geometry(c, kind, " max_entries ", 0, " (must be at least 1)");
	if (key ? m->key_size != key : m->key_size == 0 || m->key_size > MAX_KEY_SIZE)
		bad_geometry(c, kind, " key_size ", m->key_size, key == 4 ? " (must be 4)" : " (must be 1..512)");
	if (value ? m->value_size != value : m->value_size == 0)
		bad_geometry(c, kind, " value_size ", m->value_size, value == 4 ? " (must be 4)" : " (must be at least 1)");
}

static unsigned char *setup_array(const struct call *c, struct bpf_map *m) {
	uint64_t stride = round8(m->value_size);
	unsigned char *values, *init = (unsigned char *)(uintptr_t)m->initial;
	check_size(c, m, "array", 4, 0);
	values = heap_alloc(c, stride * m->max_entries);
	for (uint32_t i = 0; init && i < m->max_entries; i++)
		memcpy(values + i * stride, init + i * m->value_size, m->value_size);
	return values;
}

static unsigned char *setup_prog_array(const struct call *c, struct bpf_map *m) {
	unsigned char *slots;
	check_size(c, m, "prog array", 4, 4);
	slots = heap_alloc(c, (uint64_t)4 * m->max_entries);
	if (m->initial)
		memcpy(slots, (void *)(uintptr_t)m->initial, 4 * m->max_entries);
	return slots;
}

static unsigned char *setup_hash(const struct call *c, struct bpf_map *m) {
	uint64_t buckets = 1, key_space, node_size;
	unsigned char *p;
	struct hash *h;
	check_size(c, m, "hash", 0, 0);
	while (buckets < m->max_entries)
		buckets <<= 1;
	key_space = round8(m->key_size);
	node_size = sizeof(struct node) + key_space + round8(m->value_size);
	p = heap_alloc(c, round8(sizeof(struct hash)) + round8(4 * buckets) + node_size * m->max_entries);
	h = (struct hash *)p;
	h->mask = (uint32_t)(buckets - 1);
	h->key_space = (uint32_t)key_space;
	h->node_size = (uint32_t)node_size;
	h->buckets = (struct node **)(p + round8(sizeof(struct hash)));
	h->nodes = p + round8(sizeof(struct hash)) + round8(4 * buckets);
	return p;
}

/* open_map checks the map argument of a helper and sets the map up at its
 * first use. */
static struct bpf_map *open_map(struct call *c, uint64_t arg) {
	struct bpf_map *m = (struct bpf_map *)check_pointer(c->helper, arg, c->ra);
	unsigned char *storage;
	c->map = (uint32_t)arg;
	if (c->map % 4 != 0) {
		fail_start(c->ra);
		fail_text(c->helper);
		fail_text(": map pointer ");
		fail_hex(c->map);
		fail_text(" is not 4-byte aligned");
		fail_now();
	}
	if (m->state != 0) {
		if (m->state < (uint32_t)(uintptr_t)heap.base || m->state - (uint32_t)(uintptr_t)heap.base >= heap.used) {
			map_error(c);
			fail_text("state word ");
			fail_hex(m->state);
			fail_text(" is not the runtime's (map objects start with state 0)");
			fail_now();
		}
		return m;
	}
	switch (m->type) {
	case MAP_HASH:
		storage = setup_hash(c, m);
		break;
	case MAP_ARRAY:
		storage = setup_array(c, m);
		break;
	case MAP_PROG_ARRAY:
		storage = setup_prog_array(c, m);
		break;
	default:
		map_error(c);
		fail_text("unsupported type ");
		fail_number(m->type);
		fail_text(" (the runtime has 1 hash, 2 array, 3 prog array)");
		fail_now();
	}
	m->state = (uint32_t)(uintptr_t)storage;
	return m;
}

static unsigned char *storage_of(const struct bpf_map *m) { return (unsigned char *)(uintptr_t)m->state; }

/* index reads an array key: a u32, possibly unaligned. */
static uint32_t index_at(const struct call *c, uint64_t key) {
	uint32_t i;
	memcpy(&i, check_pointer(c->helper, key, c->ra), 4);
	return i;
}

static uint32_t *slot(const struct bpf_map *m, uint32_t i) { return (uint32_t *)storage_of(m) + i; }

/* --- hash tables ------------------------------------------------------------ */

static uint32_t fnv1a(const unsigned char *p, uint32_t n) {
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static unsigned char *node_value(const struct hash *h, struct node *n) { return n->key + h->key_space; }

/* find returns the link that points to key's node (*link is 0 when key is
 * absent: then link is where a new node goes). */
static struct node **find(const struct bpf_map *m, const unsigned char *key, uint32_t hash) {
	struct hash *h = (struct hash *)storage_of(m);
	struct node **link = &h->buckets[hash & h->mask];
	for (; *link; link = &(*link)->next)
		if ((*link)->hash == hash && memcmp((*link)->key, key, m->key_size) == 0)
			break;
	return link;
}

static int64_t hash_update(const struct bpf_map *m, const unsigned char *key, const unsigned char *value, uint64_t flags) {
	struct hash *h = (struct hash *)storage_of(m);
	uint32_t hash = fnv1a(key, m->key_size);
	struct node **link = find(m, key, hash), *n = *link;
	if (n) {
		if (flags == BPF_NOEXIST)
			return -EEXIST;
		memcpy(node_value(h, n), value, m->value_size);
		return 0;
	}
	if (flags == BPF_EXIST)
		return -ENOENT;
	if (h->free) {
		n = h->free;
		h->free = n->next;
		memset(n->key, 0, h->node_size - sizeof(struct node)); /* the padding, as a fresh node has it */
	} else if (h->fresh < m->max_entries) {
		n = (struct node *)(h->nodes + h->fresh++ * h->node_size);
	} else {
		return -E2BIG;
	}
	n->hash = hash;
	memcpy(n->key, key, m->key_size);
	memcpy(node_value(h, n), value, m->value_size);
	n->next = 0;
	*link = n;
	return 0;
}

static int64_t hash_delete(const struct bpf_map *m, const unsigned char *key) {
	struct hash *h = (struct hash *)storage_of(m);
	struct node **link = find(m, key, fnv1a(key, m->key_size)), *n = *link;
	if (!n)
		return -ENOENT;
	*link = n->next;
	n->next = h->free;
	h->free = n;
	return 0;
}

/* --- the helpers ------------------------------------------------------------ */

static uint64_t address(const void *p) { return (uint32_t)(uintptr_t)p; }

uint64_t map_lookup_elem(const uint64_t *r, uint32_t ra) {
	struct call c = {"map_lookup_elem", ra, 0};
	struct bpf_map *m = open_map(&c, r[0]);
	uint32_t i;
	switch (m->type) {
	case MAP_ARRAY:
		i = index_at(&c, r[1]);
		return i < m->max_entries ? address(storage_of(m) + i * round8(m->value_size)) : 0;
	case MAP_HASH: {
		const unsigned char *key = check_pointer(c.helper, r[1], ra);
		struct node *n = *find(m, key, fnv1a(key, m->key_size));
		return n ? address(node_value((struct hash *)storage_of(m), n)) : 0;
	}
	}
	return 0; /* prog array */
}

uint64_t map_update_elem(const uint64_t *r, uint32_t ra) {
	struct call c = {"map_update_elem", ra, 0};
	struct bpf_map *m = open_map(&c, r[0]);
	uint64_t flags = r[3];
	const unsigned char *value;
	uint32_t i;
	if (m->type == MAP_PROG_ARRAY ? flags != BPF_ANY : flags > BPF_EXIST)
		return (uint64_t)-EINVAL;
	value = check_pointer(c.helper, r[2], ra);
	if (m->type == MAP_HASH)
		return (uint64_t)hash_update(m, check_pointer(c.helper, r[1], ra), value, flags);
	if ((i = index_at(&c, r[1])) >= m->max_entries)
		return (uint64_t)-E2BIG;
	if (m->type == MAP_PROG_ARRAY) {
		memcpy(slot(m, i), value, 4);
		return 0;
	}
	if (flags == BPF_NOEXIST)
		return (uint64_t)-EEXIST;
	memcpy(storage_of(m) + i * round8(m->value_size), value, m->value_size);
	return 0;
}

uint64_t map_delete_elem(const uint64_t *r, uint32_t ra) {
	struct call c = {"map_delete_elem", ra, 0};
	struct bpf_map *m = open_map(&c, r[0]);
	uint32_t i;
	switch (m->type) {
	case MAP_HASH:
		return (uint64_t)hash_delete(m, check_pointer(c.helper, r[1], ra));
	case MAP_PROG_ARRAY:
		if ((i = index_at(&c, r[1])) >= m->max_entries)
			return (uint64_t)-E2BIG;
		if (*slot(m, i) == 0)
			return (uint64_t)-ENOENT;
		*slot(m, i) = 0;
		return 0;
	}
	return (uint64_t)-EINVAL; /* array */
}

uint64_t bpf_tail_call_target(uint64_t map, uint64_t index) {
	struct call c = {"bpf_tail_call_target", (uint32_t)(uintptr_t)__builtin_return_address(0), 0};
	struct bpf_map *m = (struct bpf_map *)check_pointer(c.helper, map, c.ra);
	uint32_t i = (uint32_t)index;
	if ((uint32_t)map % 4 == 0 && m->type != MAP_PROG_ARRAY)
		return 0;
	m = open_map(&c, map); /* reports a misaligned map */
	return i < m->max_entries ? *slot(m, i) : 0;
}
