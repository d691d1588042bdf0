package passes

import (
	"math/bits"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// align raises the Align of every load, store and atomic to what can be
// proven about its effective address (address + offset): the backend
// emits a plain lw/sw/lh/sh only for a proven alignment, and otherwise an
// lwl/lwr pair or two byte accesses (backend/mips32/lower_mem.go).
//
// The lifter proves alignment only for an access through r10 or the
// entry's ctx itself at an aligned offset. clang's stack spills inside
// loops reach the access through a phi of r10 at the loop header (the
// lifter's SSA construction sees r10 as any other register), and
// pointers that walk a stack buffer (p = phi(r10-64, p+8)) are
// FramePtr-derived through phis; both lost the proof. This pass proves
// it again from the number of trailing zero bits of every i32 value, the
// greatest fixed point of
//
//	FramePtr, LocalAddr     3 (both 8-byte aligned: docs/abi.md, ir/op.go)
//	Arg align=N             log2 N (the entry's ctx: the caller's promise,
//	                        docs/abi.md), else 0
//	Const32 c               trailing zeros of c (32 for 0)
//	Add32, Sub32, Or32, Xor32, Phi, Select32 (data arguments)
//	                        the minimum over the arguments
//	And32                   the maximum
//	Mul32                   the sum
//	Shl32 x, c              tz(x) + c
//	Copy, Neg32             tz(x)
//
// computed optimistically (every value starts at 32 and only decreases,
// so a loop-carried pointer that starts aligned and moves by multiples of
// 8 stays aligned), and combined at every value with the low zero bits
// the known-bits analysis proves (knownbits.go), which adds what masks,
// shifts and narrow values give. Known bits alone would do, were FramePtr
// and Arg's align known to it; they are not, so this pass supplies them.
// Packet pointers (ctx->data) are loaded, not derived from ctx, and stay
// unproven; ctx+off accesses at an offset that is not a multiple of the
// access size are provably unaligned and keep the unaligned sequences.
//
// An access's alignment is then 1 << min(tz(address), tz(offset)),
// capped at 8 (nothing is wider); for an address x ± c, also 1 <<
// min(tz(x), tz(c ± offset)) when that is more (FramePtr-61 at offset 3
// is 2-aligned). The pass never lowers an Align, which
// may come from a proof this one does not make (the lifter's, or cse's
// merging of two loads). Unreachable blocks are left alone.

// maxAlignLog2 caps a proven alignment at 8 bytes, the widest access.
const maxAlignLog2 = 3

func alignPass(f *ir.Func, _ *Config) (Stats, error) {
	tz := trailingZeros(f, KnownBits(f))
	raised := 0
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if !v.Op.IsLoad() && !v.Op.IsStore() && !v.Op.IsAtomic() {
				continue
			}
			addr := addressTZ(tz, v.Args[0], v.AuxInt)
			if x, c, ok := constOffset(v.Args[0]); ok { // x + c + off: the constants may add up to more
				addr = max(addr, addressTZ(tz, x, int64(c)+v.AuxInt))
			}
			if a := uint8(1) << min(addr, maxAlignLog2); a > 1 && a > v.Align {
				v.Align = a
				raised++
			}
		}
	}
	st := Stats{"alignments raised": raised}
	deleteZeros(st)
	return st, nil
}

// addressTZ is the proven trailing zeros of addr + off.
func addressTZ(tz []int, addr *ir.Value, off int64) int {
	t := tz[addr.ID]
	if uint32(off) != 0 {
		t = min(t, bits.TrailingZeros32(uint32(off)))
	}
	return t
}

// constOffset splits x + c and x - c into x and the constant added.
func constOffset(v *ir.Value) (x *ir.Value, c uint32, ok bool) {
	switch {
	case v.Op == ir.OpAdd32 && v.Args[1].Op == ir.OpConst32:
		return v.Args[0], uint32(v.Args[1].AuxInt), true
	case v.Op == ir.OpAdd32 && v.Args[0].Op == ir.OpConst32:
		return v.Args[1], uint32(v.Args[0].AuxInt), true
	case v.Op == ir.OpSub32 && v.Args[1].Op == ir.OpConst32:
		return v.Args[0], -uint32(v.Args[1].AuxInt), true
	}
	return nil, 0, false
}

// trailingZeros returns, by value ID, a number of low bits proven zero in
// every i32 value of the reachable blocks (0 for the others).
func trailingZeros(f *ir.Func, kb *Bits) []int {
	order := ssa.ReversePostorder(f)
	tz := make([]int, f.NumValues())
	reached := make([]bool, f.NumValues())
	for _, b := range order {
		for _, v := range b.Values {
			if v.Type == ir.I32 {
				tz[v.ID], reached[v.ID] = 32, true
			}
		}
	}
	arg := func(v *ir.Value, i int) int {
		if a := v.Args[i]; reached[a.ID] {
			return tz[a.ID]
		}
		return 0 // not i32, or from a block that never runs
	}
	minArgs := func(v *ir.Value, from int) int {
		m := 32
		for i := from; i < len(v.Args); i++ {
			m = min(m, arg(v, i))
		}
		return m
	}
	for changed := true; changed; {
		changed = false
		for _, b := range order {
			for _, v := range b.Values {
				if !reached[v.ID] {
					continue
				}
				var t int
				switch v.Op {
				case ir.OpFramePtr, ir.OpLocalAddr:
					t = maxAlignLog2
				case ir.OpArg:
					if v.Align > 1 {
						t = bits.TrailingZeros8(v.Align)
					}
				case ir.OpConst32:
					t = bits.TrailingZeros32(uint32(v.AuxInt))
				case ir.OpAdd32, ir.OpSub32, ir.OpOr32, ir.OpXor32, ir.OpPhi:
					t = minArgs(v, 0)
				case ir.OpSelect32:
					t = minArgs(v, 1)
				case ir.OpAnd32:
					t = max(arg(v, 0), arg(v, 1))
				case ir.OpMul32:
					t = min(32, arg(v, 0)+arg(v, 1))
				case ir.OpShl32:
					t = arg(v, 0)
					if c := v.Args[1]; c.Op == ir.OpConst32 {
						t = min(32, t+int(c.AuxInt&31))
					}
				case ir.OpCopy, ir.OpNeg32:
					t = arg(v, 0)
				}
				zero, _ := kb.Known(v)
				t = max(t, bits.TrailingZeros32(^zero))
				if t < tz[v.ID] {
					tz[v.ID] = t
					changed = true
				}
			}
		}
	}
	return tz
}
