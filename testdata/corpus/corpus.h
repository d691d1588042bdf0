/*
 * corpus.h — what libbpf's headers would provide, for the corpus programs
 * (cmd/bpfopt/pipeline/corpus_test.go compiles them with Debian's clang,
 * `clang -O2 -g -target bpfel -c`, and runs each program both compiled for
 * MIPS under qemu and in the reference interpreter).
 *
 * The context. bpfopt's entry is `uint64_t prog(void *ctx, size_t len)`,
 * but a C BPF program sees only its ctx (r1), so the length travels in a
 * header, as data/data_end do in struct xdp_md: every corpus program takes
 * a struct ctx whose len says how many bytes of data[] hold the packet.
 * Programs check their accesses against data + len, never read past it,
 * and report results in out[] (compared after the run with the rest of
 * the memory) and in their return value. No field is a pointer, so the
 * memory looks the same under the interpreter's 64-bit addresses and
 * MIPS's 32-bit ones.
 */
#pragma once

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed int __s32;
typedef signed long long __s64;

struct ctx {
	__u32 len;    /* bytes of the packet in data[] */
	__u32 out[7]; /* results */
	__u8 data[];  /* the packet */
};

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __noinline __attribute__((noinline))
#define __always_inline inline __attribute__((always_inline))

#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PROG_ARRAY 3

#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2

#define XDP_ABORTED 0
#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_TX 3

/* Linux's helper IDs (include/uapi/linux/bpf.h). */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static long (*bpf_tail_call)(void *ctx, void *prog_array, __u32 index) = (void *)12;

/* Network byte order (the corpus is compiled for bpfel). */
#define bpf_ntohs(x) __builtin_bswap16(x)
#define bpf_htons(x) __builtin_bswap16(x)
#define bpf_ntohl(x) __builtin_bswap32(x)

#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__u16 h_proto;
};

struct vlan_hdr {
	__u16 tci;
	__u16 encapsulated_proto;
};

struct iphdr {
	__u8 ihl_version; /* ihl in the low nibble (little-endian bitfield order) */
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 saddr;
	__u32 daddr;
};

struct udphdr {
	__u16 source;
	__u16 dest;
	__u16 len;
	__u16 check;
};

struct tcphdr {
	__u16 source;
	__u16 dest;
	__u32 seq;
	__u32 ack_seq;
	__u8 doff_res; /* data offset in the high nibble */
	__u8 flags;    /* FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10 */
	__u16 window;
	__u16 check;
	__u16 urg_ptr;
};
