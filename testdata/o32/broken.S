/*
 * broken.S — a hand-written o32_prog that breaks O32 on purpose, linked
 * instead of the compiled program by the O32 call test's negative control:
 * the checks of main.c, wrapper.S and helpers.c must catch every fault.
 * It calls bpf_helper_900 with sp 4 bytes off 8-byte alignment and r1's low
 * word wrong, never calls bpf_helper_901, writes s3 without restoring it,
 * and returns 0.
 */
	.text
	.set	noreorder
	.globl	o32_prog
	.ent	o32_prog
	.type	o32_prog, @function
o32_prog:
	addiu	$sp, $sp, -44		# not a multiple of 8
	sw	$ra, 40($sp)
	li	$s3, 7
	li	$t0, 0x66666666		# r3
	sw	$t0, 16($sp)
	li	$t0, 0x55555555
	sw	$t0, 20($sp)
	li	$t0, 0x88888888		# r4
	sw	$t0, 24($sp)
	li	$t0, 0x77777777
	sw	$t0, 28($sp)
	li	$t0, 0xaaaaaaaa		# r5
	sw	$t0, 32($sp)
	li	$t0, 0x99999999
	sw	$t0, 36($sp)
	li	$a0, 0x22222223		# r1, low word wrong
	li	$a1, 0x11111111
	li	$a2, 0x44444444		# r2
	li	$a3, 0x33333333
	lui	$t9, %hi(bpf_helper_900)
	addiu	$t9, $t9, %lo(bpf_helper_900)
	jalr	$t9
	nop
	move	$v0, $zero
	move	$v1, $zero
	lw	$ra, 40($sp)
	jr	$ra
	addiu	$sp, $sp, 44
	.end	o32_prog
	.size	o32_prog, .-o32_prog
	.section .note.GNU-stack, "", @progbits
