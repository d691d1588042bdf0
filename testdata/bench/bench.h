/*
 * bench.h — the shared header of the benchmark programs in testdata/bench.
 * Each program is compiled from the same source twice: by Debian's clang
 * (`clang -O2 -g -target bpfel -mcpu=v3`) into BPF for bpfopt, and by
 * `mipsel-linux-gnu-gcc -O2 -march=mips32r2` (freestanding) into the GCC
 * anchor that `bpfopt bench` compares against (docs/cli.md, "bench").
 *
 * Signature. Every program is `int NAME(struct ctx *ctx)` with corpus.h's
 * struct ctx (len, out[7], data[]): a C BPF program sees only r1, and
 * bpfopt's compiled entry `uint64_t NAME(void *ctx, size_t len)` takes the
 * same pointer in a0, as GCC's function does. The programs call no helper
 * and use no map or global, so the GCC build links alone.
 *
 * Packet placement. data[0..1] is padding and the Ethernet header starts
 * at data + NET_IP_ALIGN, so that the IP header is 4-byte aligned — what
 * Linux drivers arrange with skb_reserve(skb, NET_IP_ALIGN) — and GCC may
 * load 32-bit header fields with lw, as C's types allow. len counts the
 * padding; the bench prepends it to every packet.
 */
#pragma once

#include "../corpus/corpus.h"

#ifndef __bpf__
/* GCC: every function in .text. */
#undef SEC
#define SEC(name)
#endif

#define NET_IP_ALIGN 2

#define bpf_htonl(x) __builtin_bswap32(x)

/* The packet of a ctx: [pkt_start, pkt_end). */
#define pkt_start(ctx) ((__u8 *)(ctx)->data + NET_IP_ALIGN)
#define pkt_end(ctx) ((__u8 *)(ctx)->data + (ctx)->len)

#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021AD 0x88A8
#define IPPROTO_ICMP 1
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS 60
#define IPPROTO_NONE 59

struct ipv6hdr {
	__u32 vtc_flow; /* version, traffic class, flow label (network order) */
	__u16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u32 saddr[4];
	__u32 daddr[4];
};

struct ipv6_opt_hdr { /* hop-by-hop, routing, destination options */
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-byte units, not counting the first 8 bytes */
};

struct frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__u16 frag_off;
	__u32 identification;
};

struct arphdr {
	__u16 ar_hrd;
	__u16 ar_pro;
	__u8 ar_hln;
	__u8 ar_pln;
	__u16 ar_op;
	__u8 ar_sha[6];
	__u8 ar_sip[4];
	__u8 ar_tha[6];
	__u8 ar_tip[4];
};

struct icmphdr {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__u16 id;
	__u16 sequence;
};

struct vxlanhdr {
	__u32 flags; /* network order; 0x08000000 = VNI present */
	__u32 vni;   /* network order, VNI in the high 24 bits */
};

/*
 * A header behind a tunnel (VXLAN's inner IPv4 header sits at 2 mod 4)
 * is only 2-byte aligned: this typedef says so, so that neither compiler
 * may assume more (the aligned attribute on a typedef lowers alignment).
 */
typedef struct iphdr iphdr_align2 __attribute__((aligned(2)));

struct dnshdr {
	__u16 id;
	__u16 flags;
	__u16 qdcount;
	__u16 ancount;
	__u16 nscount;
	__u16 arcount;
};

/* Folds a 32-bit one's-complement sum into 16 bits. */
static __always_inline __u32 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/*
 * RFC 1624 incremental update of a checksum field (network order, as
 * stored) when a 16-bit word changes from old to new (network order).
 */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u32)(__u16)~old + new;
	return ~csum_fold32(sum);
}

static __always_inline __u16 csum_replace4(__u16 check, __u32 old, __u32 new)
{
	__u32 sum = (__u16)~check;
	sum += (__u16)~old + (__u16)~(old >> 16);
	sum += (new & 0xffff) + (new >> 16);
	return ~csum_fold32(sum);
}
