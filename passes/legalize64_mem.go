package passes

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
)

// legalize64's memory rules: 64-bit loads and stores become two 32-bit
// accesses in the target's word order, 64-bit atomics become libatomic
// calls (MIPS32 has no 64-bit LL/SC; GCC calls the same functions), and
// runtime calls get their i64 parameters and results flattened.

// atomicRuntime names libatomic's function for each 64-bit atomic.
var atomicRuntime = map[ir.Op]string{
	ir.OpAtomicAdd64:     "__atomic_fetch_add_8",
	ir.OpAtomicOr64:      "__atomic_fetch_or_8",
	ir.OpAtomicAnd64:     "__atomic_fetch_and_8",
	ir.OpAtomicXor64:     "__atomic_fetch_xor_8",
	ir.OpAtomicXchg64:    "__atomic_exchange_8",
	ir.OpAtomicCmpXchg64: "__atomic_compare_exchange_8",
}

// wordOffsets returns the byte offsets of the high and low words of a
// 64-bit value stored at off.
func (l *legalizer) wordOffsets(off int64) (hiOff, loOff int64) {
	if l.bigEndian {
		return off, off + 4
	}
	return off + 4, off
}

// halfAlign is the alignment of each word of an 8-byte access whose
// address is align-aligned: both words share it, up to 4.
func halfAlign(align uint8) uint8 { return min(align, 4) }

// load64 [off] addr → hi = Load32 [hiOff] addr, lo = Load32 [loOff] addr,
// emitted in address order.
func (l *legalizer) load64(v *ir.Value) (hi, lo *ir.Value) {
	addr := l.get32(v.Args[0])
	hiOff, loOff := l.wordOffsets(v.AuxInt)
	return l.loadWords(addr, hiOff, loOff, halfAlign(v.Align))
}

func (l *legalizer) loadWords(addr *ir.Value, hiOff, loOff int64, align uint8) (hi, lo *ir.Value) {
	load := func(off int64) *ir.Value {
		w := l.emit(ir.OpLoad32, addr)
		w.AuxInt, w.Align = off, align
		return w
	}
	if hiOff < loOff {
		hi = load(hiOff)
		return hi, load(loOff)
	}
	lo = load(loOff)
	return load(hiOff), lo
}

// store64 [off] addr, x → two Store32 of x's words, in address order.
func (l *legalizer) store64(v *ir.Value) {
	addr := l.get32(v.Args[0])
	h, lw := l.halves(v.Args[1])
	hiOff, loOff := l.wordOffsets(v.AuxInt)
	l.storeWords(addr, hiOff, loOff, h, lw, halfAlign(v.Align), v.ID)
	l.dead[v.ID] = true
	l.stats["stores split"]++
}

func (l *legalizer) storeWords(addr *ir.Value, hiOff, loOff int64, h, lw *ir.Value, align uint8, of int) {
	store := func(off int64, x *ir.Value, role string) {
		s := l.emit(ir.OpStore32, addr, x)
		s.AuxInt, s.Align = off, align
		s.Comment = roleOf(role, of)
	}
	if hiOff < loOff {
		store(hiOff, h, "hi")
		store(loOff, lw, "lo")
		return
	}
	store(loOff, lw, "lo")
	store(hiOff, h, "hi")
}

// addrPlus returns addr + off as an i32 value (addr itself when off is 0).
func (l *legalizer) addrPlus(addr *ir.Value, off int64) *ir.Value {
	if off == 0 {
		return addr
	}
	if off != int64(int32(off)) {
		l.fail("legalize64: offset %d does not fit in 32 bits", off)
	}
	return l.emit(ir.OpAdd32, addr, l.const32(int32(off)))
}

// atomicRMW64 [off] addr, x → old = __atomic_fetch_OP_8(addr+off, x_lo,
// x_hi, SEQ_CST), read from the Pair result.
func (l *legalizer) atomicRMW64(v *ir.Value) (hi, lo *ir.Value) {
	p := l.addrPlus(l.get32(v.Args[0]), v.AuxInt)
	xh, xl := l.halves(v.Args[1])
	call := l.runtimeCall(atomicRuntime[v.Op], ir.Pair, p, xl, xh, l.const32(ir.MemOrderSeqCst))
	return l.emit(ir.OpPairHi, call), l.emit(ir.OpPairLo, call)
}

// atomicCmpXchg64 [off] addr, expect, x: libatomic takes the expected value
// by address and, on failure, writes the current value there; on success
// the slot keeps expect, which then equals the old value. So:
//
//	slot = LocalAddr [0]; store expect's words to slot
//	__atomic_compare_exchange_8(addr+off, slot, x_lo, x_hi, SEQ_CST, SEQ_CST)
//	old = the words loaded back from slot
func (l *legalizer) atomicCmpXchg64(v *ir.Value) (hi, lo *ir.Value) {
	p := l.addrPlus(l.get32(v.Args[0]), v.AuxInt)
	eh, el := l.halves(v.Args[1])
	xh, xl := l.halves(v.Args[2])
	slot := l.emit(ir.OpLocalAddr)
	slot.AuxInt = 0
	slot.Comment = fmt.Sprintf("expected value of v%d", v.ID)
	l.f.NumLocals = max(l.f.NumLocals, 1)
	hiOff, loOff := l.wordOffsets(0)
	l.storeWords(slot, hiOff, loOff, eh, el, 4, v.Args[1].ID)
	order := l.const32(ir.MemOrderSeqCst)
	l.runtimeCall(atomicRuntime[v.Op], ir.I32, p, slot, xl, xh, order, order)
	return l.loadWords(slot, hiOff, loOff, 4)
}

// call flattens a runtime call with i64 parameters or result: each i64
// argument becomes (lo, hi) and an i64 result becomes a Pair.
func (l *legalizer) call(v *ir.Value) *ir.Value {
	var args []*ir.Value
	for _, a := range v.Args {
		if a.Type == ir.I64 {
			h, lw := l.halves(a)
			args = append(args, lw, h)
		} else {
			args = append(args, l.get32(a))
		}
	}
	t := v.Type
	if t == ir.I64 {
		t = ir.Pair
	}
	l.stats["calls flattened"]++
	if v.Op == ir.OpCall {
		c := l.b.NewValue(ir.OpCall, t, args...)
		c.Sym = v.Sym
		c.SetCallEffect(v.CallEffect())
		c.Comment = fmt.Sprintf("flattened v%d", v.ID)
		return c
	}
	c := l.runtimeCall(v.Sym, t, args...)
	c.Comment = fmt.Sprintf("flattened v%d", v.ID)
	return c
}

// runtimeCall emits CallRuntime {sym} args, checking the flattened
// argument count against the function's C signature.
func (l *legalizer) runtimeCall(sym string, t ir.Type, args ...*ir.Value) *ir.Value {
	rf, ok := ir.LookupRuntime(sym)
	if !ok {
		l.fail("legalize64: unknown runtime function %q", sym)
	}
	words := 0
	for _, p := range rf.Params {
		words += p.Bits() / 32
	}
	if words != len(args) {
		l.fail("legalize64: call of %s with %d argument words, its signature takes %d", sym, len(args), words)
	}
	if want := rf.Result; (want == ir.I64 && t != ir.Pair) || (want != ir.I64 && t != want) {
		l.fail("legalize64: call of %s typed %s, its result is %s", sym, t, want)
	}
	c := l.b.NewValue(ir.OpCallRuntime, t, args...)
	c.Sym = sym
	return c
}
