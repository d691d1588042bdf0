package mips32

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
)

// Terminators: branches (with compare fusion), phi moves, returns.

func (l *lowerer) lowerTerminator(b, next *ir.Block) error {
	switch b.Kind {
	case ir.BlockJump:
		s := b.Succs[0]
		l.phiMoves(b, s)
		if s != next {
			l.emitBranch(Inst{Op: B, Target: l.first[s].label})
		}
	case ir.BlockIf:
		t, f := b.Succs[0], b.Succs[1]
		if hasPhis(t) || hasPhis(f) {
			return fmt.Errorf("%s: b%d: phis on a critical edge; run splitcrit first", l.f.Name, b.ID)
		}
		br := l.condBranch(b.Controls[0])
		switch {
		case t == next:
			br = invertBranch(br)
			br.Target = l.first[f].label
			l.emitBranch(br)
		default:
			br.Target = l.first[t].label
			l.emitBranch(br)
			if f != next {
				l.emitBranch(Inst{Op: B, Target: l.first[f].label})
			}
		}
	case ir.BlockRet:
		lo, hi := b.Controls[0], b.Controls[1]
		if l.t.BigEndian { // O32 returns a 64-bit value with the high word in v0 on big-endian
			lo, hi = hi, lo
		}
		l.moveValue(V0, lo)
		l.moveValue(V1, hi)
		l.cur.ret = true
	case ir.BlockTailCall:
		// The target's tail entry skips its first instruction (which
		// zeroes the count for callers from C). t9 is set last: only
		// spill reloads could touch it, and none follow.
		target, ctx, length, count := b.Controls[0], b.Controls[1], b.Controls[2], b.Controls[3]
		l.moveValue(A0, ctx)
		l.moveValue(A1, length)
		l.moveValue(A2, count)
		l.emit(Inst{Op: ADDIU, Rt: T9, Rs: l.use(target), Imm: TailEntryOffset})
		l.cur.tail = true
	default:
		return fmt.Errorf("%s: b%d: unexpected block kind %s", l.f.Name, b.ID, b.Kind)
	}
	for _, s := range b.Succs {
		l.cur.succs = append(l.cur.succs, l.first[s])
	}
	return nil
}

func hasPhis(b *ir.Block) bool {
	return len(b.Values) > 0 && b.Values[0].Op == ir.OpPhi && len(b.Preds) > 1
}

// moveValue copies v (or the constant it is) into register rd.
func (l *lowerer) moveValue(rd Reg, v *ir.Value) {
	if c, ok := constOf(v); ok {
		l.liInto(rd, c)
		return
	}
	l.emit(Inst{Op: MOVE, Rd: rd, Rs: l.def(v)})
}

// phiMoves writes the phi registers of s at the end of its predecessor p,
// as a parallel copy: when a phi reads another phi of s, every source is
// first copied to a temporary.
func (l *lowerer) phiMoves(p, s *ir.Block) {
	if len(s.Preds) < 2 {
		return
	}
	idx := -1
	for i, q := range s.Preds {
		if q == p {
			idx = i
			break
		}
	}
	var phis []*ir.Value
	cyclic := false
	for _, v := range s.Values {
		if v.Op != ir.OpPhi {
			break
		}
		phis = append(phis, v)
		if a := v.Args[idx]; a.Op == ir.OpPhi && a.Block == s {
			cyclic = true
		}
	}
	if !cyclic {
		for _, v := range phis {
			l.moveValue(l.def(v), v.Args[idx])
		}
		return
	}
	temps := make([]Reg, len(phis))
	for i, v := range phis {
		temps[i] = l.m.newVReg()
		l.moveValue(temps[i], v.Args[idx])
	}
	for i, v := range phis {
		l.emit(Inst{Op: MOVE, Rd: l.def(v), Rs: temps[i]})
	}
}

// condBranch returns a branch taken when c != 0 (Target unset).
func (l *lowerer) condBranch(c *ir.Value) Inst {
	if cmp, ok := l.branchCompares64[c]; ok {
		t := l.m.newVReg()
		if cmp.emit(l, t, true) {
			return Inst{Op: BEQ, Rs: t, Rt: ZERO}
		}
		return Inst{Op: BNE, Rs: t, Rt: ZERO}
	}
	if !l.fused[c.ID] {
		return Inst{Op: BNE, Rs: l.use(c), Rt: ZERO}
	}
	a, b := c.Args[0], c.Args[1]
	switch c.Op {
	case ir.OpEq32:
		return Inst{Op: BEQ, Rs: l.use(a), Rt: l.use(b)}
	case ir.OpNe32:
		return Inst{Op: BNE, Rs: l.use(a), Rt: l.use(b)}
	}
	if op, x, ok := zeroCompare(c); ok {
		if op == BEQ || op == BNE {
			return Inst{Op: op, Rs: l.use(x), Rt: ZERO}
		}
		return Inst{Op: op, Rs: l.use(x)}
	}
	t := l.m.newVReg()
	inverted := l.compareInto(t, c, true)
	if inverted {
		return Inst{Op: BEQ, Rs: t, Rt: ZERO}
	}
	return Inst{Op: BNE, Rs: t, Rt: ZERO}
}

// zeroCompare recognizes an ordered compare of x against a constant that
// is a test of x against zero, and returns the branch taken when c holds:
//
//	x < 0, x <= -1       bltz      x <= 0, x < 1       blez
//	0 < x, 1 <= x        bgtz      0 <= x, -1 < x      bgez
//	x <u 1, x <=u 0      beq zero  0 <u x, 1 <=u x     bne zero
func zeroCompare(c *ir.Value) (Opcode, *ir.Value, bool) {
	for pos := range 2 {
		k, ok := constOf(c.Args[pos])
		if !ok {
			continue
		}
		if op, ok := zeroCompares[zeroCompareKey{c.Op, pos, int32(k)}]; ok {
			return op, c.Args[1-pos], true
		}
	}
	return 0, nil, false
}

type zeroCompareKey struct {
	op       ir.Op
	constPos int // which argument is the constant
	k        int32
}

var zeroCompares = map[zeroCompareKey]Opcode{
	{ir.OpLtS32, 1, 0}: BLTZ, {ir.OpLeS32, 1, -1}: BLTZ,
	{ir.OpLeS32, 1, 0}: BLEZ, {ir.OpLtS32, 1, 1}: BLEZ,
	{ir.OpLtS32, 0, 0}: BGTZ, {ir.OpLeS32, 0, 1}: BGTZ,
	{ir.OpLeS32, 0, 0}: BGEZ, {ir.OpLtS32, 0, -1}: BGEZ,
	{ir.OpLtU32, 1, 1}: BEQ, {ir.OpLeU32, 1, 0}: BEQ,
	{ir.OpLtU32, 0, 0}: BNE, {ir.OpLeU32, 0, 1}: BNE,
}

var branchInverse = map[Opcode]Opcode{BEQ: BNE, BNE: BEQ, BLTZ: BGEZ, BGEZ: BLTZ, BGTZ: BLEZ, BLEZ: BGTZ}

func invertBranch(in Inst) Inst {
	in.Op = branchInverse[in.Op]
	return in
}
