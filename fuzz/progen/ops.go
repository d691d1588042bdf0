package progen

import "github.com/bpfopt/bpfopt/frontend/bpf"

// Straight-line items: arithmetic, byte swaps, constants, memory, atomics.

// aluCodes are all arithmetic operation codes except END (see byteSwap).
var aluCodes = []uint8{
	bpf.AluADD, bpf.AluSUB, bpf.AluMUL, bpf.AluDIV, bpf.AluOR, bpf.AluAND,
	bpf.AluLSH, bpf.AluRSH, bpf.AluNEG, bpf.AluMOD, bpf.AluXOR, bpf.AluMOV,
	bpf.AluARSH,
}

// aluClass picks ALU or ALU64 and returns it with its operand width.
func (g *gen) aluClass() (class uint8, width int32) {
	if g.chance(50) {
		return bpf.ClassALU, 32
	}
	return bpf.ClassALU64, 64
}

func (g *gen) alu() {
	class, width := g.aluClass()
	code := aluCodes[g.intn(len(aluCodes))]
	isDiv := code == bpf.AluDIV || code == bpf.AluMOD
	if isDiv && !g.o.AllowDiv {
		code, isDiv = bpf.AluXOR, false
	}
	in := bpf.Insn{Dst: g.dstReg()}
	signed := isDiv && g.o.AllowV4 && g.chance(40)
	if signed {
		in.Off = 1
	}
	switch {
	case code == bpf.AluNEG:
		in.Op = class | code | bpf.SrcK
	case g.chance(50):
		in.Op = class | code | bpf.SrcX
		in.Src = g.srcReg()
		switch code {
		case bpf.AluDIV, bpf.AluMOD:
			g.divHazard(class, in.Dst, in.Src, signed)
		case bpf.AluLSH, bpf.AluRSH, bpf.AluARSH:
			if !g.locked[in.Src] && g.chance(30) {
				g.setConst(in.Src, uint64(int64(shiftAmounts[g.intn(len(shiftAmounts))])))
			}
		case bpf.AluMOV:
			if g.o.AllowV4 && g.chance(30) {
				in.Off = g.movsxWidth(class)
			}
		}
	default:
		in.Op = class | code | bpf.SrcK
		switch code {
		case bpf.AluDIV, bpf.AluMOD:
			in.Imm = g.divImm()
			if signed && g.chance(25) {
				g.setConst(in.Dst, intMin(width))
				in.Imm = -1
			}
		case bpf.AluLSH, bpf.AluRSH, bpf.AluARSH:
			in.Imm = g.shiftImm(width)
		default:
			in.Imm = g.value32()
		}
	}
	g.emit(in)
}

// intMin is the most negative value of the width, the dividend that
// overflows when divided by -1.
func intMin(width int32) uint64 {
	if width == 32 {
		return 0x80000000
	}
	return 0x8000000000000000
}

// divHazard sometimes sets the operands of a register division to the
// cases with defined but unusual results: a zero divisor (also one whose
// low word alone is zero, which only 32-bit division sees) and the signed
// overflow INT_MIN / -1.
func (g *gen) divHazard(class, dst, src uint8, signed bool) {
	if g.locked[src] || !g.chance(35) {
		return
	}
	switch g.intn(3) {
	case 0:
		g.setConst(src, 0)
	case 1:
		if class == bpf.ClassALU {
			g.setConst(src, []uint64{0x100000000, 0xffffffff00000000}[g.intn(2)])
		} else {
			g.setConst(src, 0)
		}
	default:
		if signed && src != dst {
			width := int32(64)
			if class == bpf.ClassALU {
				width = 32
			}
			g.setConst(dst, intMin(width))
			g.setConst(src, 0xffffffffffffffff)
		}
	}
}

// movsxWidth is the Off of a sign-extending move: 8 or 16, or 32 in ALU64.
func (g *gen) movsxWidth(class uint8) int16 {
	if class == bpf.ClassALU64 {
		return []int16{8, 16, 32}[g.intn(3)]
	}
	return []int16{8, 16}[g.intn(2)]
}

// byteSwap emits END: to-le (SrcK), to-be (SrcX) or the v4 ALU64 bswap.
func (g *gen) byteSwap() {
	in := bpf.Insn{Dst: g.dstReg(), Imm: []int32{16, 32, 64}[g.intn(3)]}
	switch {
	case g.o.AllowV4 && g.chance(33):
		in.Op = bpf.ClassALU64 | bpf.AluEND | bpf.SrcK
	case g.chance(50):
		in.Op = bpf.ClassALU | bpf.AluEND | bpf.SrcK
	default:
		in.Op = bpf.ClassALU | bpf.AluEND | bpf.SrcX
	}
	g.emit(in)
}

var allSizes = []uint8{bpf.SizeB, bpf.SizeH, bpf.SizeW, bpf.SizeDW}

// memRef picks a base register and fixed offset for an access of size
// bytes: inside the region of one of the function's bases (the entry's
// [r1, r1+MemSize), a pointer argument's window) or the initialised stack
// window. Atomics are naturally aligned and, under KernelSafe, on the
// stack (the verifier refuses atomics on packet memory); KernelSafe stack
// accesses are aligned because the verifier demands it.
func (g *gen) memRef(size int, atomic bool) (reg uint8, off int16) {
	var usable []base
	for _, b := range g.bases {
		if b.size >= size && (!atomic || b.align >= size && (b.stack || !g.o.KernelSafe)) {
			usable = append(usable, b)
		}
	}
	if len(usable) > 0 && g.chance(50) {
		b := usable[g.intn(len(usable))]
		return b.reg, int16(g.offsetIn(0, b.size-size, size, atomic || b.stack && g.o.KernelSafe))
	}
	return bpf.R10, int16(g.offsetIn(-g.stack, -size, size, atomic || g.o.KernelSafe))
}

// offsetIn picks an access start in [lo, hi] (lo a multiple of 8), often
// unaligned and often at the very ends.
func (g *gen) offsetIn(lo, hi, size int, aligned bool) int {
	if aligned {
		return lo + size*g.intn((hi-lo)/size+1)
	}
	switch g.intn(4) {
	case 0:
		return lo
	case 1:
		return hi
	}
	off := lo + g.intn(hi-lo+1)
	if size > 1 && off%size == 0 && off < hi && g.chance(70) {
		off++
	}
	return off
}

func (g *gen) load() {
	in := bpf.Insn{Dst: g.dstReg()}
	mode := uint8(bpf.ModeMEM)
	size := allSizes[g.intn(len(allSizes))]
	if g.o.AllowV4 && g.chance(30) {
		mode = bpf.ModeMEMSX
		size = allSizes[g.intn(3)] // no DW
	}
	in.Op = bpf.ClassLDX | mode | size
	in.Src, in.Off = g.memRef(bpf.SizeBytes(size), false)
	g.emit(in)
}

func (g *gen) store() {
	size := allSizes[g.intn(len(allSizes))]
	base, off := g.memRef(bpf.SizeBytes(size), false)
	g.emit(bpf.Insn{Op: bpf.ClassSTX | bpf.ModeMEM | size, Dst: base, Src: g.srcReg(), Off: off})
}

func (g *gen) storeImm() {
	size := allSizes[g.intn(len(allSizes))]
	base, off := g.memRef(bpf.SizeBytes(size), false)
	g.emit(bpf.Insn{Op: bpf.ClassST | bpf.ModeMEM | size, Dst: base, Off: off, Imm: g.value32()})
}

var atomicOps = []int32{
	bpf.AtomicADD, bpf.AtomicOR, bpf.AtomicAND, bpf.AtomicXOR,
	bpf.AtomicADD | bpf.AtomicFetch, bpf.AtomicOR | bpf.AtomicFetch,
	bpf.AtomicAND | bpf.AtomicFetch, bpf.AtomicXOR | bpf.AtomicFetch,
	bpf.AtomicXCHG, bpf.AtomicCMPXCHG,
}

func (g *gen) atomic() {
	size := []uint8{bpf.SizeW, bpf.SizeDW}[g.intn(2)]
	op := atomicOps[g.intn(len(atomicOps))]
	src := g.srcReg()
	// Fetching operations (xchg included) write src; cmpxchg writes r0.
	if op&bpf.AtomicFetch != 0 && op != bpf.AtomicCMPXCHG && g.locked[src] {
		src = g.dstReg()
	}
	base, off := g.memRef(bpf.SizeBytes(size), true)
	g.emit(bpf.Insn{Op: bpf.ClassSTX | bpf.ModeATOMIC | size, Dst: base, Src: src, Off: off, Imm: op})
}
