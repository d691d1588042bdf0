# r0 = r2 + (r2 - 1) + ... + 1, where r2 is the entry's len argument:
# a loop, so the lifted IR has 64-bit phis that legalize64 splits in two.
    mov %r0, 0
loop:
    jeq %r2, 0, out
    add %r0, %r2
    sub %r2, 1
    ja loop
out:
    exit
