package ir

import (
	"fmt"
	"math/bits"
)

// exec runs one non-phi value, following the semantics in op.go's comments.
// I32 results are stored zero-extended.
func (m *machine) exec(in *inst) error {
	r := m.regs
	a32, b32, c32 := uint32(r[in.a]), uint32(r[in.b]), uint32(r[in.c])
	a64, b64 := r[in.a], r[in.b]
	var x uint64 // the result
	switch in.op {
	case OpConst32:
		x = uint64(uint32(in.aux))
	case OpConst64:
		x = uint64(in.aux)
	case OpArg:
		if in.aux < 0 || in.aux >= int64(len(m.cfg.Args)) {
			return fmt.Errorf("argument word %d requested, %d given", in.aux, len(m.cfg.Args))
		}
		x = uint64(m.cfg.Args[in.aux])
	case OpFramePtr:
		x = uint64(m.cfg.FramePtr)
	case OpLocalAddr:
		x = uint64(m.cfg.LocalBase + 8*uint32(in.aux))
	case OpSymAddr:
		addr, ok := m.cfg.Symbols[in.v.Sym]
		if !ok {
			return fmt.Errorf("symbol %q has no address (InterpConfig.Symbols)", in.v.Sym)
		}
		x = uint64(addr)
	case OpCopy:
		x = a64

	case OpAdd32:
		x = uint64(a32 + b32)
	case OpSub32:
		x = uint64(a32 - b32)
	case OpMul32:
		x = uint64(a32 * b32)
	case OpMulHiU32:
		x = uint64(a32) * uint64(b32) >> 32
	case OpDivU32:
		if b32 != 0 {
			x = uint64(a32 / b32)
		}
	case OpModU32:
		x = uint64(a32)
		if b32 != 0 {
			x = uint64(a32 % b32)
		}
	case OpDivS32:
		x = uint64(divS32(a32, b32))
	case OpModS32:
		x = uint64(modS32(a32, b32))
	case OpAnd32:
		x = uint64(a32 & b32)
	case OpOr32:
		x = uint64(a32 | b32)
	case OpXor32:
		x = uint64(a32 ^ b32)
	case OpShl32:
		x = uint64(a32 << (b32 & 31))
	case OpShrU32:
		x = uint64(a32 >> (b32 & 31))
	case OpShrS32:
		x = uint64(uint32(int32(a32) >> (b32 & 31)))
	case OpNeg32:
		x = uint64(-a32)
	case OpBswap16:
		x = uint64(bits.ReverseBytes16(uint16(a32)))
	case OpBswap32:
		x = uint64(bits.ReverseBytes32(a32))
	case OpSelect32:
		x = uint64(c32)
		if a32 != 0 {
			x = uint64(b32)
		}

	case OpEq32:
		x = b2u(a32 == b32)
	case OpNe32:
		x = b2u(a32 != b32)
	case OpLtU32:
		x = b2u(a32 < b32)
	case OpLeU32:
		x = b2u(a32 <= b32)
	case OpLtS32:
		x = b2u(int32(a32) < int32(b32))
	case OpLeS32:
		x = b2u(int32(a32) <= int32(b32))

	case OpZeroExt8to32:
		x = uint64(a32 & 0xff)
	case OpZeroExt16to32:
		x = uint64(a32 & 0xffff)
	case OpSignExt8to32:
		x = uint64(uint32(int32(int8(a32))))
	case OpSignExt16to32:
		x = uint64(uint32(int32(int16(a32))))

	case OpAdd64:
		x = a64 + b64
	case OpSub64:
		x = a64 - b64
	case OpMul64:
		x = a64 * b64
	case OpDivU64:
		if b64 != 0 {
			x = a64 / b64
		}
	case OpModU64:
		x = a64
		if b64 != 0 {
			x = a64 % b64
		}
	case OpDivS64:
		x = divS64(a64, b64)
	case OpModS64:
		x = modS64(a64, b64)
	case OpAnd64:
		x = a64 & b64
	case OpOr64:
		x = a64 | b64
	case OpXor64:
		x = a64 ^ b64
	case OpShl64:
		x = a64 << (b32 & 63)
	case OpShrU64:
		x = a64 >> (b32 & 63)
	case OpShrS64:
		x = uint64(int64(a64) >> (b32 & 63))
	case OpNeg64:
		x = -a64
	case OpBswap64:
		x = bits.ReverseBytes64(a64)

	case OpEq64:
		x = b2u(a64 == b64)
	case OpNe64:
		x = b2u(a64 != b64)
	case OpLtU64:
		x = b2u(a64 < b64)
	case OpLeU64:
		x = b2u(a64 <= b64)
	case OpLtS64:
		x = b2u(int64(a64) < int64(b64))
	case OpLeS64:
		x = b2u(int64(a64) <= int64(b64))

	case OpZeroExt32to64:
		x = uint64(a32)
	case OpSignExt32to64:
		x = uint64(int64(int32(a32)))
	case OpInt64Make:
		x = uint64(a32)<<32 | uint64(b32)
	case OpInt64Hi, OpPairHi:
		x = a64 >> 32
	case OpInt64Lo, OpPairLo:
		x = uint64(uint32(a64))

	case OpLoad8, OpLoad16, OpLoad32, OpLoad64:
		size := in.op.MemSize()
		v, err := m.cfg.Mem.Load(a32+uint32(in.aux), size)
		if err != nil {
			return err
		}
		x = v & sizeMask(size) // whatever the Memory returns above size bytes
	case OpLoadS8:
		v, err := m.cfg.Mem.Load(a32+uint32(in.aux), 1)
		if err != nil {
			return err
		}
		x = uint64(uint32(int32(int8(v))))
	case OpLoadS16:
		v, err := m.cfg.Mem.Load(a32+uint32(in.aux), 2)
		if err != nil {
			return err
		}
		x = uint64(uint32(int32(int16(v))))
	case OpStore8, OpStore16, OpStore32, OpStore64:
		size := in.op.MemSize()
		return m.cfg.Mem.Store(a32+uint32(in.aux), size, b64&sizeMask(size))

	case OpAtomicAdd32, OpAtomicOr32, OpAtomicAnd32, OpAtomicXor32, OpAtomicXchg32, OpAtomicCmpXchg32,
		OpAtomicAdd64, OpAtomicOr64, OpAtomicAnd64, OpAtomicXor64, OpAtomicXchg64, OpAtomicCmpXchg64:
		old, err := m.atomic(in, a32+uint32(in.aux))
		if err != nil {
			return err
		}
		x = old

	case OpCallRuntime, OpCall:
		v, err := m.call(in)
		if err != nil {
			return err
		}
		x = v

	default:
		return fmt.Errorf("the interpreter does not know %v", in.op)
	}
	r[in.dst] = x
	return nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// BPF division rules: x / 0 = 0, x % 0 = x, MIN / -1 = MIN, MIN % -1 = 0.
func divS32(a, b uint32) uint32 {
	switch {
	case b == 0:
		return 0
	case int32(b) == -1:
		return -a
	}
	return uint32(int32(a) / int32(b))
}

func modS32(a, b uint32) uint32 {
	switch {
	case b == 0:
		return a
	case int32(b) == -1:
		return 0
	}
	return uint32(int32(a) % int32(b))
}

func divS64(a, b uint64) uint64 {
	switch {
	case b == 0:
		return 0
	case int64(b) == -1:
		return -a
	}
	return uint64(int64(a) / int64(b))
}

func modS64(a, b uint64) uint64 {
	switch {
	case b == 0:
		return a
	case int64(b) == -1:
		return 0
	}
	return uint64(int64(a) % int64(b))
}

// atomic performs a read-modify-write and returns the old value.
func (m *machine) atomic(in *inst, addr uint32) (uint64, error) {
	size := in.op.MemSize()
	old, err := m.cfg.Mem.Load(addr, size)
	if err != nil {
		return 0, err
	}
	old &= sizeMask(size)
	v := m.regs[in.b]
	var nv uint64
	switch in.op {
	case OpAtomicAdd32, OpAtomicAdd64:
		nv = old + v
	case OpAtomicOr32, OpAtomicOr64:
		nv = old | v
	case OpAtomicAnd32, OpAtomicAnd64:
		nv = old & v
	case OpAtomicXor32, OpAtomicXor64:
		nv = old ^ v
	case OpAtomicXchg32, OpAtomicXchg64:
		nv = v
	case OpAtomicCmpXchg32, OpAtomicCmpXchg64:
		// args: addr, expect, v
		if old != m.regs[in.b]&sizeMask(size) {
			return old, nil
		}
		nv = m.regs[in.c]
	}
	return old, m.cfg.Mem.Store(addr, size, nv&sizeMask(size))
}

func sizeMask(size int) uint64 { return ^uint64(0) >> (64 - 8*size) }

// call evaluates a runtime function, joining split (lo, hi) arguments.
func (m *machine) call(in *inst) (uint64, error) {
	c := in.call
	n := 0
	for i, p := range c.rf.Params {
		x := m.regs[c.args[n]]
		switch {
		case c.split[i]:
			x = uint64(uint32(x)) | m.regs[c.args[n+1]]<<32
			n += 2
		case p == I32:
			x = uint64(uint32(x))
			n++
		default:
			n++
		}
		c.buf[i] = x
	}
	var res uint64
	var err error
	switch {
	case c.rf.Eval != nil:
		res, err = c.rf.Eval(m.cfg.Mem, c.buf)
	case m.cfg.Call != nil:
		res, err = m.cfg.Call(in.v.Sym, c.buf)
	default:
		err = fmt.Errorf("call of %s: no InterpConfig.Call to serve it", in.v.Sym)
	}
	if err != nil {
		return 0, err
	}
	switch in.v.Type {
	case I32:
		res = uint64(uint32(res))
	case TypeVoid:
		res = 0
	}
	return res, nil
}
