# Returns the IPv4 protocol number of the Ethernet frame that r1 points to
# (r2 = its length), or 0 when the frame is too short or not IPv4 with a
# 20-byte header. Run it: bpfopt run --mem-hex "<frame bytes>" ipv4_proto.s
    mov %r0, 0
    jlt %r2, 34, out
    ldxh %r3, [%r1+12]
    be16 %r3
    jne %r3, 0x0800, out
    ldxb %r4, [%r1+14]
    jne %r4, 0x45, out
    ldxb %r0, [%r1+23]
out:
    exit
