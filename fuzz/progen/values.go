package progen

// Boundary values: the constants where 64-bit arithmetic split into 32-bit
// halves goes wrong (carries, sign bits, the high word being 0 or all ones).
var interesting64 = []uint64{
	0, 1, 2,
	0xffffffffffffffff, // -1
	0xfffffffffffffffe,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x100000001,
	0xffffffff80000000, // int32 min sign-extended
	0x7fffffffffffffff, 0x8000000000000000,
	0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
	31, 32, 33, 63, 64,
}

// Boundary values of 32-bit immediates (sign-extended to 64 bits by ALU64).
var interesting32 = []int32{
	0, 1, 2, -1, -2,
	0x7fffffff, -0x80000000,
	0x7f, 0x80, 0xff, -0x80, 0x7fff, 0x8000, 0xffff, -0x8000,
	31, 32, 33, 63, 64,
}

// Shift amounts at and beyond the operand widths; eBPF masks them to 5 or
// 6 bits, so the large and negative ones test the masking.
var shiftAmounts = []int32{0, 1, 7, 8, 15, 16, 31, 32, 33, 47, 63, 64, 65, 95, 127, 255, -1, -32}

// value64 is a register constant: a boundary value, a small number or
// random bits.
func (g *gen) value64() uint64 {
	switch g.intn(4) {
	case 0, 1:
		return interesting64[g.intn(len(interesting64))]
	case 2:
		return uint64(int64(g.intn(256) - 128))
	}
	return g.src.u64()
}

// value32 is an immediate operand.
func (g *gen) value32() int32 {
	switch g.intn(4) {
	case 0, 1:
		return interesting32[g.intn(len(interesting32))]
	case 2:
		return int32(g.intn(256) - 128)
	}
	return int32(g.src.u64())
}

// shiftImm is a shift immediate. The kernel verifier rejects immediates
// outside [0, width), so KernelSafe programs only get those.
func (g *gen) shiftImm(width int32) int32 {
	if g.o.KernelSafe || g.chance(40) {
		return int32(g.intn(int(width)))
	}
	return shiftAmounts[g.intn(len(shiftAmounts))]
}

// divImm is a divisor immediate. The kernel verifier rejects a constant
// zero divisor; elsewhere division by zero is defined and must be tested.
func (g *gen) divImm() int32 {
	v := g.value32()
	if v == 0 && g.o.KernelSafe {
		return 3
	}
	return v
}
