/*
 * wrapper.S — o32_call_checked(fn, ctx, len, r0), for the O32 call test
 * (cmd/bpfopt/pipeline/o32_test.go): calls the BPF function
 * uint64_t fn(void *ctx, uint32_t len) through t9 with distinct patterns in
 * s0-s7 and fp, stores its 64-bit result at *r0, and returns a mask of what
 * fn did not preserve: bit i for s<i>, bit 8 for fp, bit 9 for sp. The
 * wrapper itself follows O32: it saves and restores what it uses.
 */
	.text
	.set	noreorder
	.globl	o32_call_checked
	.ent	o32_call_checked
	.type	o32_call_checked, @function
o32_call_checked:
	addiu	$sp, $sp, -64		# home area 0..15, r0 pointer at 16, saves at 24..63
	sw	$ra, 60($sp)
	sw	$fp, 56($sp)
	sw	$s7, 52($sp)
	sw	$s6, 48($sp)
	sw	$s5, 44($sp)
	sw	$s4, 40($sp)
	sw	$s3, 36($sp)
	sw	$s2, 32($sp)
	sw	$s1, 28($sp)
	sw	$s0, 24($sp)
	sw	$a3, 16($sp)
	lui	$t0, %hi(o32_saved_sp)
	sw	$sp, %lo(o32_saved_sp)($t0)
	li	$s0, 0x5a5a1100
	li	$s1, 0x5a5a2211
	li	$s2, 0x5a5a3322
	li	$s3, 0x5a5a4433
	li	$s4, 0x5a5a5544
	li	$s5, 0x5a5a6655
	li	$s6, 0x5a5a7766
	li	$s7, 0x5a5a8877
	li	$fp, 0x5a5af00f
	move	$t9, $a0
	move	$a0, $a1
	jalr	$t9
	move	$a1, $a2		# delay slot
	move	$t0, $zero		# the mask

	.macro	expect reg, value, bit
	li	$t1, \value
	beq	\reg, $t1, 1f
	nop
	ori	$t0, $t0, \bit
1:
	.endm
	expect	$s0, 0x5a5a1100, 0x001
	expect	$s1, 0x5a5a2211, 0x002
	expect	$s2, 0x5a5a3322, 0x004
	expect	$s3, 0x5a5a4433, 0x008
	expect	$s4, 0x5a5a5544, 0x010
	expect	$s5, 0x5a5a6655, 0x020
	expect	$s6, 0x5a5a7766, 0x040
	expect	$s7, 0x5a5a8877, 0x080
	expect	$fp, 0x5a5af00f, 0x100
	lui	$t1, %hi(o32_saved_sp)
	lw	$t1, %lo(o32_saved_sp)($t1)
	beq	$sp, $t1, 2f
	nop
	ori	$t0, $t0, 0x200
	move	$sp, $t1		# to return at all
2:	lw	$t2, 16($sp)
	sw	$v0, 0($t2)		# little-endian: v0 is the low word
	sw	$v1, 4($t2)
	move	$v0, $t0
	lw	$s0, 24($sp)
	lw	$s1, 28($sp)
	lw	$s2, 32($sp)
	lw	$s3, 36($sp)
	lw	$s4, 40($sp)
	lw	$s5, 44($sp)
	lw	$s6, 48($sp)
	lw	$s7, 52($sp)
	lw	$fp, 56($sp)
	lw	$ra, 60($sp)
	jr	$ra
	addiu	$sp, $sp, 64
	.end	o32_call_checked
	.size	o32_call_checked, .-o32_call_checked

	.local	o32_saved_sp
	.comm	o32_saved_sp, 4, 4
	.section .note.GNU-stack, "", @progbits
