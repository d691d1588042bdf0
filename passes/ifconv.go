package passes

import (
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// ifconv is if-conversion: a branch that only chooses between values
// becomes straight-line code that computes both and selects. BPF has no
// select, so clang compiles `x = c ? a : b`, `n += c == 0` and `max`
// into a branch around a block that sets a register; on MIPS each such
// branch costs the branch, its delay slot and usually a jump, and the
// join's phi moves on both edges. Select32 is a move and a movn.
//
// The shapes, for a block top ending in "If c -> s0, s1":
//
//	diamond   s0 and s1 are arms: blocks whose only predecessor is top,
//	          with no phi, that jump to the same block join;
//	triangle  one of s0, s1 is an arm and the other is join itself;
//	          (both edges to join: "If c -> join, join", no arm at all).
//
// The arms' values move to the end of top, and each phi of join gets, for
// the two edges, one value: the argument they share, or Select32(c, the
// argument on the s0 side, the argument on the s1 side). top then jumps to
// join, which keeps one predecessor edge in place of the two (in the
// position of the first, so the other edges' phi arguments keep their
// order); when join is left with top alone, its phis go and it merges into
// top, so that an enclosing branch sees a straight-line arm and can be
// converted too (the pass repeats until nothing changes).
//
// What may be speculated. An arm runs only on its side of the branch;
// after conversion it runs always, so its values must be pure (no load: a
// load may fault, or read what a store on the other side changed; no
// store, call or atomic) and cheap: divisions and MulHiU32 (tens of
// cycles) never; at most ifconvMaxArmOps ops in each arm, constants
// (loaded by the backend where used) and copies not counted, and at most
// ifconvMaxSelects selects for one branch.
//
// The limits are measured on the bpfopt bench corpus (executed -O2
// instructions and cycles in the simulator).
// Arms of constants and copies only, up to four selects, save 3.4% of
// the instructions executed and 3.9% of the cycles; a select then
// replaces a branch, its delay slot and phi moves that often needed a
// block of their own on a critical edge. Allowing one to three ops in an
// arm converts one more branch in the corpus, the bit step of checksum's
// CRC loop (crc & 1 ? crc >> 1 ^ K : crc >> 1), which then executes 6%
// more instructions for the same cycles: the branch version runs the
// shift in the delay slot and the xor only half the time (GCC keeps that
// branch too). One select per branch loses the pairs of selects of
// 64-bit values (subprogs).
//
// The selects are built in their cheapest form, since no simplify runs
// after this pass: Select32(c, 1, 0) for a compare c is c itself;
// Select32(c, 0, 1) is the inverse compare (Eq32 ↔ Ne32, LtU32(a, b) ↔
// LeU32(b, a), ...); and a condition z != 0 or z == 0 selects on z
// directly, the arguments swapped for ==.

// ifconvMaxArmOps is a variable so that the tests can exercise the
// speculation of ops (with a higher limit) as well.
var ifconvMaxArmOps = 0

const (
	ifconvMaxSelects = 4
	ifconvRounds     = 8
)

func ifconvPass(f *ir.Func, _ *Config) (Stats, error) {
	f.ComputeUses()
	st := Stats{}
	controls := map[*ir.Value]bool{} // of converted branches: maybe unused now
	for range ifconvRounds {
		n := 0
		for _, b := range ssa.Postorder(f) { // inner branches first
			if b.Kind != ir.BlockIf {
				continue
			}
			if c := b.Controls[0]; ifConvert(b, st) {
				controls[c] = true
				n++
			}
		}
		if n == 0 {
			break
		}
		st["branches converted"] += n
		removeDetached(f)
		removeTrivialPhis(f)
		mergeBlocks(f)
	}
	f.RemoveDeadValuesFrom(func(v *ir.Value) bool { return controls[v] })
	deleteZeros(st)
	return st, nil
}

// ifConvert converts the branch at the end of top if it has one of the
// shapes and passes the cost limit.
func ifConvert(top *ir.Block, st Stats) bool {
	if top.Kind != ir.BlockIf || len(top.Succs) != 2 {
		return false
	}
	join := joinOf(top)
	if join == nil || join == top {
		return false
	}
	arms := make([]*ir.Block, 0, 2)
	edge := [2]int{} // the index in join.Preds of the edge from each side
	for i, s := range top.Succs {
		if s == join {
			edge[i] = predIndex(top, i)
			continue
		}
		if !speculatable(s) {
			return false
		}
		arms = append(arms, s)
		edge[i] = predIndex(s, 0)
	}
	selects := 0
	for _, v := range join.Values {
		if v.Op != ir.OpPhi {
			break
		}
		if v.Args[edge[0]] != v.Args[edge[1]] {
			if v.Type != ir.I32 {
				return false
			}
			selects++
		}
	}
	if selects > ifconvMaxSelects {
		return false
	}

	c := top.Controls[0]
	for _, a := range arms {
		for _, v := range a.Values {
			v.Block = top
		}
		top.Values = append(top.Values, a.Values...)
		a.Values = nil
	}
	keep, drop := edge[0], edge[1]
	if drop < keep {
		keep, drop = drop, keep
	}
	for _, v := range join.Values {
		if v.Op != ir.OpPhi {
			break
		}
		if x, y := v.Args[edge[0]], v.Args[edge[1]]; x != y {
			v.SetArg(keep, selectValue(top, c, x, y))
			st["selects made"]++
		}
	}
	join.Preds[keep] = top
	removePred(join, drop)
	top.Kind, top.Likely = ir.BlockJump, -1
	top.SetControls()
	top.Succs = []*ir.Block{join}
	for _, a := range arms {
		a.Preds, a.Succs = nil, nil
		a.Kind = ir.BlockRet // detached; removeDetached drops it
	}
	return true
}

// joinOf returns the block both sides of top's branch reach: a successor
// that is not an arm candidate, or the arms' common target.
func joinOf(top *ir.Block) *ir.Block {
	s0, s1 := top.Succs[0], top.Succs[1]
	target := func(s *ir.Block) *ir.Block {
		if s.Kind == ir.BlockJump && len(s.Preds) == 1 && s != top {
			return s.Succs[0]
		}
		return nil
	}
	switch {
	case s0 == s1:
		return s0
	case target(s0) == s1:
		return s1
	case target(s1) == s0:
		return s0
	case target(s0) != nil && target(s0) == target(s1):
		return target(s0)
	}
	return nil
}

// speculatable reports whether arm's values may run unconditionally
// within the cost limit.
func speculatable(arm *ir.Block) bool {
	ops := 0
	for _, v := range arm.Values {
		info := v.Op.Info()
		switch {
		case v.Op == ir.OpPhi, info.ReadsMem, info.SideEffect, isSlowOp(v.Op):
			return false
		case v.Op == ir.OpConst32, v.Op == ir.OpCopy:
		default:
			ops++
		}
	}
	return ops <= ifconvMaxArmOps
}

// The forms of c != 0 ? x : y, cheapest first.
const (
	selectIsCondition = iota // c itself: a compare, x = 1, y = 0
	selectIsInverse          // the inverse compare: x = 0, y = 1
	selectOnTest             // Select32 on z for c = z != 0 (or z == 0, x and y swapped)
	selectPlain              // Select32(c, x, y)
)

func selectShape(c, x, y *ir.Value) int {
	if _, ok := inverse[c.Op]; ok {
		switch {
		case isConst32(x, 1) && isConst32(y, 0):
			return selectIsCondition
		case isConst32(x, 0) && isConst32(y, 1):
			return selectIsInverse
		}
	}
	if (c.Op == ir.OpNe32 || c.Op == ir.OpEq32) && isConst32(c.Args[1], 0) {
		return selectOnTest
	}
	return selectPlain
}

// selectValue returns c != 0 ? x : y in its cheapest form, made at the
// end of top when it is a new value.
func selectValue(top *ir.Block, c, x, y *ir.Value) *ir.Value {
	switch selectShape(c, x, y) {
	case selectIsCondition:
		return c
	case selectIsInverse:
		inv := inverse[c.Op]
		a, b := c.Args[0], c.Args[1]
		if inv.swap {
			a, b = b, a
		}
		return top.NewValue(inv.op, ir.I32, a, b)
	case selectOnTest:
		if c.Op == ir.OpEq32 {
			x, y = y, x
		}
		c = c.Args[0]
	}
	return top.NewValue(ir.OpSelect32, ir.I32, c, x, y)
}

func isConst32(v *ir.Value, c int64) bool { return v.Op == ir.OpConst32 && v.AuxInt == c }
