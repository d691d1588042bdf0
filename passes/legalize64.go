package passes

import (
	"fmt"
	"strconv"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// legalize64 splits every 64-bit value into two 32-bit halves, the way Go's
// dec64 pass decomposes int64 on 32-bit targets: after it, no value of type
// i64 and no 64-bit op remains, and the verifier checks that (NoI64).
//
// Each i64 value v maps to a pair (hi, lo) of i32 values, computed at v's
// position in its block. Blocks are walked in reverse postorder, so the
// halves of every argument exist before they are needed; the one exception,
// phi arguments on back edges, is handled by creating the two half-phis of
// every i64 phi first and filling their arguments at the end. Ops that take
// i64 operands but produce i32 (comparisons, Int64Hi/Lo, Store64, calls,
// Ret) are rewritten to use the halves. The rules, one function per op
// family, are in legalize64_arith.go (arithmetic, shifts, compares,
// division) and legalize64_mem.go (loads, stores, atomics, calls).
//
// Things the rest of the compiler relies on:
//   - A Ret of an i64 becomes Ret lo, hi (two controls, low word first).
//   - Runtime calls take each i64 C parameter as two i32 arguments, low
//     word first, and return a 64-bit result as a value of type Pair read
//     with PairLo/PairHi (see ir/runtime.go).
//   - The runtime never sees a zero divisor or INT64_MIN / -1: the divisor
//     is made safe before the call and BPF's results for those cases are
//     selected after it.
//   - AtomicCmpXchg64 uses compiler scratch slot 0 (LocalAddr [0]) to pass
//     the expected value by address; the pass raises Func.NumLocals to 1.
//   - A 64-bit load or store becomes two 32-bit accesses at off and off+4,
//     the high word first when Config.BigEndian; each has Align min(align, 4).
//   - Comparisons are rewritten in place and keep their value ID.
//   - Unreachable blocks are removed first: they have no place in the
//     reverse postorder (the verifier rejects them anyway; this keeps the
//     pass total on unverified input).
//
// Values the split orphans (a constant shift amount, a half nobody reads)
// are swept at the end; dead code that was there before is deadcode's job.
// Every new value that is a half gets a comment "lo of v7" / "hi of v7" so
// that dumps show the role. Output is deterministic: all tables are indexed
// by value ID, and the constant cache is only looked up, never iterated.

func legalize64Pass(f *ir.Func, c *Config) (Stats, error) {
	l := &legalizer{f: f, bigEndian: c.BigEndian}
	return l.run()
}

type legalizer struct {
	f         *ir.Func
	bigEndian bool
	firstNew  int // values with ID >= firstNew were created by the pass

	hi, lo []*ir.Value // by old value ID: the halves of an i64 value
	repl   []*ir.Value // by old value ID: the i32 value that replaces it
	dead   []bool      // by old value ID: replaced; removed at the end

	b      *ir.Block           // block being rewritten
	consts map[int32]*ir.Value // Const32 values already emitted in b
	phis   []*ir.Value         // i64 phis, whose half-phis get args at the end
	stats  Stats
}

// legalizeError aborts the pass from deep inside a rule; run turns it into
// an error. Valid (verified) input never raises one.
type legalizeError struct{ err error }

func (l *legalizer) fail(format string, args ...any) {
	panic(legalizeError{fmt.Errorf(format, args...)})
}

func (l *legalizer) run() (st Stats, err error) {
	defer func() {
		if r := recover(); r != nil {
			le, ok := r.(legalizeError)
			if !ok {
				panic(r)
			}
			st, err = nil, le.err
		}
	}()
	l.stats = Stats{}
	if n := removeUnreachableBlocks(l.f); n > 0 {
		l.stats["unreachable blocks removed"] = n
	}
	n := l.f.NumValues()
	l.firstNew = n
	l.hi, l.lo = make([]*ir.Value, n), make([]*ir.Value, n)
	l.repl, l.dead = make([]*ir.Value, n), make([]bool, n)

	order := ssa.ReversePostorder(l.f)
	for _, b := range order {
		l.makeHalfPhis(b)
	}
	for _, b := range order {
		l.block(b)
	}
	for _, v := range l.phis {
		hp, lp := l.hi[v.ID], l.lo[v.ID]
		for _, a := range v.Args {
			h, lw := l.halves(a)
			hp.AddArg(h)
			lp.AddArg(lw)
		}
	}
	l.finish()
	return l.stats, nil
}

// makeHalfPhis creates the (argument-less) half-phis of b's i64 phis. They
// are detached from b.Values here and placed by block().
func (l *legalizer) makeHalfPhis(b *ir.Block) {
	for _, v := range b.Values {
		if v.Op != ir.OpPhi || v.Type != ir.I64 {
			continue
		}
		hp := b.NewValue(ir.OpPhi, ir.I32)
		lp := b.NewValue(ir.OpPhi, ir.I32)
		b.Values = b.Values[:len(b.Values)-2]
		hp.Comment = roleOf("hi", v.ID)
		lp.Comment = roleOf("lo", v.ID)
		l.hi[v.ID], l.lo[v.ID] = hp, lp
		l.phis = append(l.phis, v)
		l.dead[v.ID] = true
		l.stats["values split"]++
	}
}

// block rewrites b: new values are appended in order while the old ones
// are re-added behind them, so everything emitted for v lands at v's place.
func (l *legalizer) block(b *ir.Block) {
	l.b = b
	if l.consts == nil || len(l.consts) > 0 {
		l.consts = map[int32]*ir.Value{}
	}
	old := b.Values
	b.Values = make([]*ir.Value, 0, len(old)+len(old)/2)
	for _, v := range old {
		if v.Op == ir.OpPhi && v.Type == ir.I64 {
			b.Values = append(b.Values, l.hi[v.ID], l.lo[v.ID])
		} else {
			l.value(v)
		}
		b.Values = append(b.Values, v)
	}
	if b.Kind == ir.BlockRet && len(b.Controls) == 1 && b.Controls[0].Type == ir.I64 {
		h, lw := l.halves(b.Controls[0])
		b.SetControls(lw, h)
	}
}

// value legalizes one non-phi value.
func (l *legalizer) value(v *ir.Value) {
	if v.Type == ir.I64 {
		h, lw := l.split(v)
		l.setHalves(v, h, lw)
		l.stats["values split"]++
		return
	}
	switch v.Op {
	case ir.OpInt64Hi:
		h, _ := l.halves(v.Args[0])
		l.replace(v, h)
	case ir.OpInt64Lo:
		_, lw := l.halves(v.Args[0])
		l.replace(v, lw)
	case ir.OpEq64, ir.OpNe64, ir.OpLtU64, ir.OpLeU64, ir.OpLtS64, ir.OpLeS64:
		l.compare(v)
		l.stats["compares rewritten"]++
	case ir.OpStore64:
		l.store64(v)
	case ir.OpCallRuntime, ir.OpCall:
		if hasI64Arg(v) {
			call := l.call(v)
			if v.Type == ir.I32 {
				l.replace(v, call)
			} else {
				l.dead[v.ID] = true
			}
		}
	default:
		if hasI64Arg(v) {
			l.fail("legalize64: no rule for v%d = %s with i64 operands", v.ID, v.Op)
		}
	}
}

// split computes the halves of a non-phi i64 value.
func (l *legalizer) split(v *ir.Value) (hi, lo *ir.Value) {
	switch v.Op {
	case ir.OpConst64:
		hi = l.emit(ir.OpConst32)
		hi.AuxInt = int64(int32(uint64(v.AuxInt) >> 32))
		lo = l.emit(ir.OpConst32)
		lo.AuxInt = int64(int32(v.AuxInt))
		return hi, lo
	case ir.OpZeroExt32to64:
		return l.const32(0), l.get32(v.Args[0])
	case ir.OpSignExt32to64:
		a := l.get32(v.Args[0])
		return l.emit(ir.OpShrS32, a, l.const32(31)), a
	case ir.OpInt64Make:
		return l.get32(v.Args[0]), l.get32(v.Args[1])
	case ir.OpCopy:
		return l.halves(v.Args[0])
	case ir.OpAdd64:
		return l.add64(v)
	case ir.OpSub64:
		return l.sub64(v)
	case ir.OpNeg64:
		return l.neg64(l.halves(v.Args[0]))
	case ir.OpMul64:
		return l.mul64(v)
	case ir.OpAnd64, ir.OpOr64, ir.OpXor64:
		return l.bitwise64(v)
	case ir.OpBswap64:
		ah, al := l.halves(v.Args[0])
		return l.emit(ir.OpBswap32, al), l.emit(ir.OpBswap32, ah)
	case ir.OpShl64, ir.OpShrU64, ir.OpShrS64:
		return l.shift64(v)
	case ir.OpDivU64, ir.OpModU64, ir.OpDivS64, ir.OpModS64:
		return l.divmod64(v)
	case ir.OpLoad64:
		return l.load64(v)
	case ir.OpAtomicAdd64, ir.OpAtomicOr64, ir.OpAtomicAnd64, ir.OpAtomicXor64, ir.OpAtomicXchg64:
		return l.atomicRMW64(v)
	case ir.OpAtomicCmpXchg64:
		return l.atomicCmpXchg64(v)
	case ir.OpCallRuntime, ir.OpCall:
		call := l.call(v)
		return l.emit(ir.OpPairHi, call), l.emit(ir.OpPairLo, call)
	}
	l.fail("legalize64: no rule for i64 value v%d = %s", v.ID, v.Op)
	return nil, nil
}

// setHalves records v's halves and marks v for removal. New values that
// are not shared constants get a comment naming their role.
func (l *legalizer) setHalves(v, hi, lo *ir.Value) {
	l.hi[v.ID], l.lo[v.ID] = hi, lo
	l.dead[v.ID] = true
	l.nameHalf(hi, "hi", v)
	l.nameHalf(lo, "lo", v)
}

func (l *legalizer) nameHalf(h *ir.Value, role string, of *ir.Value) {
	if h.ID < l.firstNew || h.Comment != "" || (h.Op == ir.OpConst32 && l.consts[int32(h.AuxInt)] == h) {
		return
	}
	h.Comment = roleOf(role, of.ID)
}

// roleOf is the comment "hi of v7" that names a new value's role; it is
// made for most values the pass creates, so it avoids fmt.
func roleOf(role string, id int) string {
	return role + " of v" + strconv.Itoa(id)
}

// replace makes the i32 value w stand for v everywhere (done in finish).
func (l *legalizer) replace(v, w *ir.Value) {
	l.repl[v.ID] = w
	l.dead[v.ID] = true
}

// halves returns the (hi, lo) pair of an i64 value already split.
func (l *legalizer) halves(v *ir.Value) (hi, lo *ir.Value) {
	if v.Type != ir.I64 {
		l.fail("legalize64: v%d used as i64 but has type %s", v.ID, v.Type)
	}
	if v.ID >= len(l.hi) || l.hi[v.ID] == nil {
		l.fail("legalize64: v%d (%s) used before its definition was split (not dominated?)", v.ID, v.Op)
	}
	return l.hi[v.ID], l.lo[v.ID]
}

// get32 returns the i32 value standing for v after replacements.
func (l *legalizer) get32(v *ir.Value) *ir.Value {
	for v.ID < len(l.repl) && l.repl[v.ID] != nil {
		v = l.repl[v.ID]
	}
	return v
}

// emit appends an i32 op (or a void one, for stores) at the current
// position of the block being rewritten.
func (l *legalizer) emit(op ir.Op, args ...*ir.Value) *ir.Value {
	t := op.Info().Result
	return l.b.NewValue(op, t, args...)
}

// const32 returns a Const32 emitted earlier in the block, or emits one.
func (l *legalizer) const32(c int32) *ir.Value {
	if v, ok := l.consts[c]; ok {
		return v
	}
	v := l.emit(ir.OpConst32)
	v.AuxInt = int64(c)
	l.consts[c] = v
	return v
}

func hasI64Arg(v *ir.Value) bool {
	for _, a := range v.Args {
		if a.Type == ir.I64 {
			return true
		}
	}
	return false
}

// finish removes the replaced values, rewires uses of replaced i32 values,
// and sweeps what the pass created or orphaned but nothing uses.
func (l *legalizer) finish() {
	orphan := make([]bool, l.f.NumValues())
	for id := l.firstNew; id < len(orphan); id++ {
		orphan[id] = true
	}
	for _, b := range l.f.Blocks {
		out := b.Values[:0]
		for _, v := range b.Values {
			if v.ID < l.firstNew && l.dead[v.ID] {
				for _, a := range v.Args {
					orphan[a.ID] = true
				}
				v.ResetArgs()
				continue
			}
			out = append(out, v)
		}
		clear(b.Values[len(out):])
		b.Values = out
	}
	for _, b := range l.f.Blocks {
		for _, v := range b.Values {
			for i, a := range v.Args {
				if w := l.get32(a); w != a {
					orphan[a.ID] = true
					v.SetArg(i, w)
				}
			}
		}
		for i, c := range b.Controls {
			if w := l.get32(c); w != c {
				orphan[c.ID] = true
				b.Controls[i] = w
			}
		}
	}
	l.f.ComputeUses()
	removed := l.f.RemoveDeadValuesFrom(func(v *ir.Value) bool { return orphan[v.ID] })
	if removed > 0 {
		l.stats["unused halves removed"] = removed
	}
}
