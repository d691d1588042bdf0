package passes

import "github.com/bpfopt/bpfopt/ir"

// sccp is sparse conditional constant propagation (Wegman and Zadeck,
// "Constant propagation with conditional branches", TOPLAS 1991) over the
// i32 IR: every value the analysis proves constant becomes a Const32, and
// every If it proves one-sided gets a constant control, so that deadcode
// (or cfg) removes the edge that never runs and the blocks only it led to.
//
// The solver is not here: the known-bits analysis (knownbits.go) is
// already Wegman–Zadeck — optimistic start, only the entry executable, a
// phi meeting only its executable incoming edges, an If marking one
// successor edge when its control is decided — over a lattice that refines
// the constant one (a value is a constant exactly when all its bits are
// known), with fold32 as the exact evaluator of every pure op. A second
// solver over plain constants would prove a subset of what it proves. So
// this file holds the three rules that turn the analysis into rewrites:
//
//   - foldableConstant: a value all of whose bits are known is that
//     constant (not for memory reads and side effects, which must run);
//   - decidedSuccessor: an If whose control is known non-zero, or zero,
//     always takes the same successor;
//   - identityOperand: an op that the facts about its operands make an
//     identity (x | 0, x & -1, x << 0, x + 0, ...) is its operand, so
//     that a constant just folded leaves no op on it behind.
//
// simplify applies the same three rules (calling these functions) in each
// of its rounds, next to its algebra, so at -O1 it subsumes this pass.
// sccp on its own is the cheap re-fold for after passes that expose
// constants without algebra: cse unifying the two operands of a compare
// (Eq32 v, v is 1; Sub32 v, v is 0) and cfg threading a branch. It does
// not change the CFG: a decided If keeps both edges, with a Const32
// control, until deadcode or cfg folds it.

func sccpPass(f *ir.Func, _ *Config) (Stats, error) {
	st := Stats{}
	kb := KnownBits(f)
	k := newEntryConstants(f, false)
	var phis []*ir.Value // phis proven constant: their uses take a constant
	for _, b := range f.Blocks {
		if !kb.Executable(b) {
			continue
		}
		for _, v := range b.Values {
			c, ok := foldableConstant(kb, v)
			if !ok {
				continue
			}
			if v.Op == ir.OpPhi { // phis must stay first in their block
				phis = append(phis, v)
				continue
			}
			v.Reset(ir.OpConst32, ir.I32)
			v.AuxInt = int64(int32(c))
			st["values folded"]++
		}
	}
	repl := make([]*ir.Value, f.NumValues())
	for _, v := range phis {
		c, _ := kb.Constant(v)
		repl[v.ID] = k.get(c)
	}
	identities := 0
	for _, b := range f.Blocks {
		if !kb.Executable(b) {
			continue
		}
		for _, v := range b.Values {
			if v.ID < len(repl) && repl[v.ID] == nil && v.Op != ir.OpConst32 {
				if w := identityOperand(kb, v); w != nil {
					repl[v.ID] = w
					identities++
				}
			}
		}
	}
	for _, b := range f.Blocks {
		if b.Kind != ir.BlockIf || !kb.Executable(b) || b.Controls[0].Op == ir.OpConst32 {
			continue
		}
		switch decidedSuccessor(kb, b) {
		case 0:
			b.SetControls(k.get(1))
			st["branches decided"]++
		case 1:
			b.SetControls(k.get(0))
			st["branches decided"]++
		}
	}
	k.place()
	if len(phis) > 0 || identities > 0 {
		replaceValues(f, repl)
		st["phis folded"] = len(phis)
		st["identities forwarded"] = identities
	}
	st["values removed"] = f.RemoveDeadValues()
	deleteZeros(st)
	return st, nil
}

// foldableConstant is the constant-folding rule: it reports the constant
// v always computes when it runs, if the known bits of kb prove one, and v
// may be replaced by it (i32, not already a constant, reading no memory
// and having no side effect).
func foldableConstant(kb *Bits, v *ir.Value) (uint32, bool) {
	info := v.Op.Info()
	if v.Type != ir.I32 || v.Op == ir.OpConst32 || info.SideEffect || info.ReadsMem {
		return 0, false
	}
	return kb.Constant(v)
}

// decidedSuccessor is the branch rule: the index of the successor the If
// block b always takes (0 when its control is known non-zero, 1 when
// known zero), or -1.
func decidedSuccessor(kb *Bits, b *ir.Block) int {
	if b.Kind != ir.BlockIf {
		return -1
	}
	zero, one := kb.Known(b.Controls[0])
	switch {
	case one != 0:
		return 0
	case zero == ^uint32(0):
		return 1
	}
	return -1
}

// identityOperand is the identity rule: the argument of v that v always
// equals, when the known bits of kb about its arguments prove one (x + 0,
// x - 0, x | y with y adding no bit x may lack, x & y with y keeping every
// bit x may have, x ^ 0, x * 1, x / 1, x % 0 (BPF), shifts by an amount
// that is 0 mod 32, x >>s n for x all sign bits, x & x, x | x), or nil.
func identityOperand(kb *Bits, v *ir.Value) *ir.Value {
	if v.Type != ir.I32 || len(v.Args) != 2 || v.Op.Info().ReadsMem || v.Op.Info().SideEffect {
		return nil
	}
	x, y := v.Args[0], v.Args[1]
	isConst := func(a *ir.Value, c uint32) bool {
		k, ok := kb.Constant(a)
		return ok && k == c
	}
	maybeOne := func(a *ir.Value) uint32 { return kb.fact(a).maybeOne() }
	knownOne := func(a *ir.Value) uint32 { return kb.fact(a).one }
	switch v.Op {
	case ir.OpAdd32, ir.OpXor32:
		switch {
		case isConst(y, 0):
			return x
		case isConst(x, 0):
			return y
		}
	case ir.OpSub32, ir.OpModU32, ir.OpModS32:
		if isConst(y, 0) {
			return x
		}
	case ir.OpMul32:
		switch {
		case isConst(y, 1):
			return x
		case isConst(x, 1):
			return y
		}
	case ir.OpDivU32, ir.OpDivS32:
		if isConst(y, 1) {
			return x
		}
	case ir.OpAnd32:
		switch {
		case x == y, maybeOne(x)&^knownOne(y) == 0: // y is 1 wherever x may be
			return x
		case maybeOne(y)&^knownOne(x) == 0:
			return y
		}
	case ir.OpOr32:
		switch {
		case x == y, maybeOne(y)&^knownOne(x) == 0: // y adds no bit x may lack
			return x
		case maybeOne(x)&^knownOne(y) == 0:
			return y
		}
	case ir.OpShl32, ir.OpShrU32, ir.OpShrS32:
		switch {
		case maybeOne(y)&31 == 0: // the amount is masked to 0..31
			return x
		case v.Op == ir.OpShrS32 && kb.SignBits(x) == 32: // x is 0 or -1
			return x
		}
	}
	return nil
}
