/*
 * tailcall — a pipeline of programs chained by tail calls through a
 * program array whose slots are set in the object (libbpf's .values
 * syntax, which cilium/ebpf loads as the map's initial contents). The
 * entry dispatches on the packet's first byte; each stage records itself
 * in out[0] and jumps on; a jump to the empty slot fails and the program
 * goes on after the call; "spin" tail-calls itself until the kernel's
 * limit of 33 stops the chain.
 *
 * out[0] a bit per stage that ran, out[1] spin's iterations, out[2] the
 * byte sum stage_sum computed, out[3] the slot that failed.
 */
#include "corpus.h"

#define SLOT_SUM 0
#define SLOT_FINAL 1
#define SLOT_EMPTY 2
#define SLOT_SPIN 3

int stage_sum(struct ctx *ctx);
int stage_final(struct ctx *ctx);
int spin(struct ctx *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct ctx *));
} jmp_table SEC(".maps") = {
	.values = {
		[SLOT_SUM] = (void *)&stage_sum,
		[SLOT_FINAL] = (void *)&stage_final,
		[SLOT_SPIN] = (void *)&spin,
	},
};

SEC("socket")
int dispatch(struct ctx *ctx)
{
	ctx->out[0] |= 1;
	if (ctx->len == 0)
		return 0;
	__u32 slot = ctx->data[0] & 3;
	bpf_tail_call(ctx, &jmp_table, slot);
	/* only reached when the tail call failed */
	ctx->out[3] = slot;
	return 0x100 + slot;
}

SEC("socket")
int stage_sum(struct ctx *ctx)
{
	ctx->out[0] |= 2;
	__u32 sum = 0;
	__u32 n = ctx->len < 64 ? ctx->len : 64;
	for (__u32 i = 0; i < n; i++)
		sum += ctx->data[i];
	ctx->out[2] = sum;
	bpf_tail_call(ctx, &jmp_table, SLOT_FINAL);
	return -1;
}

SEC("socket")
int stage_final(struct ctx *ctx)
{
	ctx->out[0] |= 4;
	if (ctx->len > 1 && ctx->data[1] == 0xee) {
		bpf_tail_call(ctx, &jmp_table, SLOT_EMPTY);
		ctx->out[3] = SLOT_EMPTY;
	}
	return ctx->out[2] ^ 0x5a5a;
}

SEC("socket")
int spin(struct ctx *ctx)
{
	ctx->out[0] |= 8;
	ctx->out[1]++;
	bpf_tail_call(ctx, &jmp_table, SLOT_SPIN);
	return ctx->out[1];
}
