# r0 = (u32)r1 + 1: a 32-bit move zero-extends, then a 64-bit add.
    mov32 %r0, %r1
    add %r0, 1
    exit
