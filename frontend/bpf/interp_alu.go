package bpf

import (
	"fmt"
	"math"
	"math/bits"
)

// Arithmetic of the reference interpreter (RFC 9669 section 4.1).
//
// ALU64 works on 64 bits, with a 32-bit immediate sign-extended to 64 bits
// (also for the unsigned DIV and MOD). ALU works on the low 32 bits of its
// operands and zero-extends the result into the 64-bit register. Shift
// counts are masked to 63 (ALU64) or 31 (ALU). Division by zero gives 0;
// modulo by zero leaves dst unchanged (ALU: its low 32 bits, zero-extended).
// Signed division truncates toward zero and SMOD takes the dividend's sign
// (a % n = a - n*trunc(a/n)); the overflowing INT_MIN / -1 wraps to INT_MIN
// and INT_MIN % -1 is 0.

// alu64 executes an ALU64 instruction on dst and its second operand src.
func (vm *VM) alu64(in Insn, dst, src uint64) uint64 {
	switch in.Code() {
	case AluADD:
		return dst + src
	case AluSUB:
		return dst - src
	case AluMUL:
		return dst * src
	case AluDIV:
		if src == 0 {
			return 0
		}
		if in.Off == 1 {
			if int64(dst) == math.MinInt64 && int64(src) == -1 {
				return dst
			}
			return uint64(int64(dst) / int64(src))
		}
		return dst / src
	case AluMOD:
		if src == 0 {
			return dst
		}
		if in.Off == 1 {
			if int64(src) == -1 {
				return 0
			}
			return uint64(int64(dst) % int64(src))
		}
		return dst % src
	case AluOR:
		return dst | src
	case AluAND:
		return dst & src
	case AluXOR:
		return dst ^ src
	case AluLSH:
		return dst << (src & 63)
	case AluRSH:
		return dst >> (src & 63)
	case AluARSH:
		return uint64(int64(dst) >> (src & 63))
	case AluNEG:
		return -dst
	case AluMOV:
		switch in.Off {
		case 8:
			return uint64(int64(int8(src)))
		case 16:
			return uint64(int64(int16(src)))
		case 32:
			return uint64(int64(int32(src)))
		}
		return src
	case AluEND: // ALU64 END: unconditional byte swap (bswap)
		return byteSwap(dst, in.Imm)
	}
	panic(fmt.Sprintf("bpf: alu64: opcode 0x%02x", in.Op)) // Validate rejects it
}

// alu32 executes an ALU instruction; the result is zero-extended.
func (vm *VM) alu32(in Insn, dst64 uint64, src uint32) uint64 {
	dst := uint32(dst64)
	var r uint32
	switch in.Code() {
	case AluADD:
		r = dst + src
	case AluSUB:
		r = dst - src
	case AluMUL:
		r = dst * src
	case AluDIV:
		switch {
		case src == 0:
			r = 0
		case in.Off == 1 && int32(dst) == math.MinInt32 && int32(src) == -1:
			r = dst
		case in.Off == 1:
			r = uint32(int32(dst) / int32(src))
		default:
			r = dst / src
		}
	case AluMOD:
		switch {
		case src == 0:
			r = dst
		case in.Off == 1 && int32(src) == -1:
			r = 0
		case in.Off == 1:
			r = uint32(int32(dst) % int32(src))
		default:
			r = dst % src
		}
	case AluOR:
		r = dst | src
	case AluAND:
		r = dst & src
	case AluXOR:
		r = dst ^ src
	case AluLSH:
		r = dst << (src & 31)
	case AluRSH:
		r = dst >> (src & 31)
	case AluARSH:
		r = uint32(int32(dst) >> (src & 31))
	case AluNEG:
		r = -dst
	case AluMOV:
		switch in.Off {
		case 8:
			r = uint32(int32(int8(src)))
		case 16:
			r = uint32(int32(int16(src)))
		default:
			r = src
		}
	case AluEND:
		// to-le (source K) and to-be (source X) convert between host order
		// and the named order: a swap when they differ, else a truncation.
		toLittle := in.Source() == SrcK
		if toLittle == vm.little {
			return truncate(dst64, in.Imm)
		}
		return byteSwap(dst64, in.Imm)
	default:
		panic(fmt.Sprintf("bpf: alu32: opcode 0x%02x", in.Op)) // Validate rejects it
	}
	return uint64(r)
}

// byteSwap reverses the low width bits of v, zero-extending the result.
func byteSwap(v uint64, width int32) uint64 {
	switch width {
	case 16:
		return uint64(bits.ReverseBytes16(uint16(v)))
	case 32:
		return uint64(bits.ReverseBytes32(uint32(v)))
	}
	return bits.ReverseBytes64(v)
}

// truncate keeps the low width bits of v.
func truncate(v uint64, width int32) uint64 {
	switch width {
	case 16:
		return uint64(uint16(v))
	case 32:
		return uint64(uint32(v))
	}
	return v
}
