# The BPF side of the O32 call test (cmd/bpfopt/pipeline/o32_test.go),
# compiled to o32_prog and linked with helpers.c, main.c and wrapper.S.
#
# It calls two helpers with five 64-bit arguments whose ten halves all
# differ (helper IDs 900 and 901 are unknown to the kernel table, so the
# lifter passes all five registers), keeps values in r6-r9 and at both ends
# of the BPF stack across the calls and checks them afterwards, and returns
# the 64-bit sum of the helpers' results (0xc0ffee0200000010: the low words
# carry into the high word). A failed check returns 0xbad00000000000NN.
#
# The context is six u64 words: main puts the values of r6, r7, r8 and of the
# top stack slot in words 0-3 (loaded, not constants, so that the optimizer
# cannot rematerialize them after the calls: they must live in callee-saved
# registers or the frame); the helpers' results go to words 4 and 5.
	mov %r9, %r1                      # kept across the calls
	ldxdw %r6, [%r9+0]                # 0x0123456789abcdef
	ldxdw %r7, [%r9+8]                # 0xfedcba9876543210
	ldxdw %r8, [%r9+16]               # 0x0f1e2d3c4b5a6978
	ldxdw %r0, [%r9+24]               # 0xa5a5a5a55a5a5a5a
	stxdw [%r10-8], %r0
	lddw %r0, 0x3c3c3c3cc3c3c3c3
	stxdw [%r10-512], %r0             # the bottom of the BPF stack
	lddw %r1, 0x1111111122222222
	lddw %r2, 0x3333333344444444
	lddw %r3, 0x5555555566666666
	lddw %r4, 0x7777777788888888
	lddw %r5, 0x99999999aaaaaaaa
	call 900                          # returns 0xc0ffee00fffffff0
	stxdw [%r9+32], %r0
	mov %r1, %r0                      # the first result and the values that lived across it
	mov %r2, %r6
	mov %r3, %r7
	mov %r4, %r8
	ldxdw %r5, [%r10-8]
	call 901                          # returns 0x0000000100000020
	stxdw [%r9+40], %r0
	lddw %r1, 0x0123456789abcdef
	jne %r6, %r1, bad_r6
	lddw %r1, 0xfedcba9876543210
	jne %r7, %r1, bad_r7
	lddw %r1, 0x0f1e2d3c4b5a6978
	jne %r8, %r1, bad_r8
	ldxdw %r1, [%r10-8]
	lddw %r2, 0xa5a5a5a55a5a5a5a
	jne %r1, %r2, bad_stack_top
	ldxdw %r1, [%r10-512]
	lddw %r2, 0x3c3c3c3cc3c3c3c3
	jne %r1, %r2, bad_stack_bottom
	ldxdw %r0, [%r9+32]
	ldxdw %r1, [%r9+40]
	add %r0, %r1
	exit
bad_r6:
	lddw %r0, 0xbad0000000000006
	exit
bad_r7:
	lddw %r0, 0xbad0000000000007
	exit
bad_r8:
	lddw %r0, 0xbad0000000000008
	exit
bad_stack_top:
	lddw %r0, 0xbad0000000000010
	exit
bad_stack_bottom:
	lddw %r0, 0xbad0000000000011
	exit
