package passes

import (
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// licm is loop-invariant code motion of pure values (Muchnick, "Advanced
// Compiler Design and Implementation", 13.2; on SSA, a value is invariant
// in a loop when it has no side effect and every argument is defined
// outside the loop or is invariant itself). An invariant value moves to
// the loop's preheader, the block that runs once before the loop is
// entered, so it is computed once per entry instead of once per
// iteration: fnv1a rebuilt its 32-bit multiplier (lui, ori) for every
// byte before the backend learned to hoist constant loads, and clang's
// loops recompute masks, shifted indices and offsets from outside values.
//
// Loops are natural loops (ssa/loops.go); irreducible cycles have none
// and are left alone. A loop whose header has a single predecessor
// outside the loop that jumps only to it has a preheader; otherwise one
// is made: a new block that takes over every edge from outside, with a
// phi for each header phi whose arguments on those edges differ (in the
// header's phi order, its arguments in the order of the edges), and the
// header's phis get one argument for it in place of the first such edge.
// Preheaders are made only for loops with something to hoist, all before
// any value moves, and the loops are then taken outermost first, so a
// value invariant in a whole nest goes straight to the outermost
// preheader, and one that varies only with an outer loop to its inner
// loop's preheader.
//
// What moves (the policy, measured on the bpfopt bench corpus):
//
//   - Every invariant pure op, symbol addresses included (lui and addiu,
//     plus an addiu for an offset into a map value), except three kinds.
//   - Values the backend rematerializes where they are used do not move
//     on their own: constants (the backend loads one next to each use and
//     hoists wide constant loads out of loops itself, register pressure
//     permitting: backend/mips32/consts.go), FramePtr, scratch-slot
//     addresses and constant offsets from them (one or two addiu from sp,
//     where a register held across a loop with helper calls costs a
//     callee-saved register or a spill). When a value that moves uses one
//     defined in the loop, a copy is made in the preheader for it.
//   - A compare whose only use is its own block's If stays: the backend
//     fuses it into the branch (beq/bne on the operands), which hoisting
//     would undo for at most one instruction saved.
//   - Divisions, remainders and MulHiU32 (tens of cycles on MIPS) move
//     only from blocks that run on every iteration (that dominate every
//     latch): speculated from a conditional block they could cost more
//     than they save.
//
// Values that land in one preheader equal to one it holds are merged
// into it: cse merges cheap values only within a block, so a loop that
// names one map four times would otherwise hold four registers for it.
//
// Measured (executed instructions over the corpus, after align): this
// policy saves 863 of 236,592 (counter -367, globals -502,
// flow_table +6: with every callee-saved register taken, the map address
// held across the loop pushes another value to the stack) for 52 bytes
// more code. Moving the wide constants too changes nothing (the backend
// places constant loads itself); moving FramePtr offsets too saves 97
// more instructions but costs 56 bytes and makes counter and flow_table
// slower. clang has already hoisted what it could at the BPF level, so
// the invariants left are mostly what lowering exposes, such as symbol
// addresses.
//
// Loads stay, even those no store in the loop can reach: that needs the
// alias reasoning of cse and memfwd, and the corpus loops that reload a
// value every iteration are clang's stack spills, which memfwd forwards.

func licmPass(f *ir.Func, _ *Config) (Stats, error) {
	f.ComputeUses()
	dom := ssa.Dominators(f)
	nest := ssa.NaturalLoops(f, dom)
	st := Stats{}
	made := 0
	for _, l := range nest.Loops {
		if len(licmCandidates(l, dom)) > 0 && preheader(l) == nil {
			makePreheader(f, l)
			made++
		}
	}
	if made > 0 {
		st["preheaders made"] = made
		dom = ssa.Dominators(f)
		nest = ssa.NaturalLoops(f, dom)
	}
	cloned := map[*ir.Value]bool{}
	merged := mergedValues{}
	for i := len(nest.Loops) - 1; i >= 0; i-- { // outermost first
		l := nest.Loops[i]
		merged.resolveIn(l.Blocks)
		vs := licmCandidates(l, dom)
		ph := preheader(l)
		if len(vs) == 0 || ph == nil {
			continue
		}
		st["values hoisted"] += len(vs)
		copies, n := hoist(l, ph, vs, cloned, merged)
		st["values copied"] += copies
		st["values merged"] += n
	}
	if len(merged) > 0 {
		merged.resolveIn(f.Blocks)
	}
	if len(cloned) > 0 {
		f.RemoveDeadValuesFrom(func(v *ir.Value) bool { return cloned[v] })
	}
	deleteZeros(st)
	return st, nil
}

// licmCandidates lists the invariant values of l that move, in an order
// where each comes after its arguments.
func licmCandidates(l *ssa.Loop, dom *ssa.DomTree) []*ir.Value {
	invariant, moves := map[*ir.Value]bool{}, map[*ir.Value]bool{}
	var moving []*ir.Value
	for _, b := range l.Blocks { // the header, then reverse postorder: arguments first
		everyIteration := true
		for _, latch := range l.Latches {
			everyIteration = everyIteration && dom.Dominates(b, latch)
		}
		for _, v := range b.Values {
			info := v.Op.Info()
			if v.Op == ir.OpPhi || info.ReadsMem || info.SideEffect {
				continue
			}
			inv := true
			for _, a := range v.Args {
				inv = inv && (invariant[a] || !l.Contains(a.Block))
			}
			if !inv {
				continue
			}
			invariant[v] = true
			switch {
			case cheapToRecompute(v) && !symbolAddress(v), fusedCompare(v):
			case isSlowOp(v.Op) && !everyIteration:
			default:
				// Arguments left in the loop must be ones hoist may copy.
				for _, a := range v.Args {
					inv = inv && (moves[a] || !l.Contains(a.Block) || cheapToRecompute(a))
				}
				if inv {
					moves[v] = true
					moving = append(moving, v)
				}
			}
		}
	}
	return moving
}

// symbolAddress reports SymAddr and a constant offset from one: two
// instructions (lui, addiu) and more for the offset.
func symbolAddress(v *ir.Value) bool {
	for v.Op == ir.OpAdd32 || v.Op == ir.OpSub32 {
		if v.Args[0].Op == ir.OpConst32 {
			v = v.Args[1]
		} else {
			v = v.Args[0]
		}
	}
	return v.Op == ir.OpSymAddr
}

// fusedCompare reports a compare used only by its block's If.
func fusedCompare(v *ir.Value) bool {
	switch v.Op {
	case ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32:
	default:
		return false
	}
	b := v.Block
	return v.Uses == 1 && b.Kind == ir.BlockIf && b.Controls[0] == v
}

// isSlowOp reports the pure ops that take tens of cycles on MIPS.
func isSlowOp(op ir.Op) bool {
	switch op {
	case ir.OpDivU32, ir.OpModU32, ir.OpDivS32, ir.OpModS32, ir.OpMulHiU32,
		ir.OpDivU64, ir.OpModU64, ir.OpDivS64, ir.OpModS64:
		return true
	}
	return false
}

// preheader returns l's preheader: the header's only predecessor outside
// the loop when that jumps only to the header; nil when there is none.
func preheader(l *ssa.Loop) *ir.Block {
	out := l.OutsidePreds()
	if len(out) != 1 || out[0].Kind != ir.BlockJump {
		return nil
	}
	return out[0]
}

// makePreheader gives l a preheader that takes over every edge entering
// the header from outside the loop (see the comment at the top).
func makePreheader(f *ir.Func, l *ssa.Loop) *ir.Block {
	h := l.Header
	var outside []int // indices in h.Preds
	for j, p := range h.Preds {
		if !l.Contains(p) {
			outside = append(outside, j)
		}
	}
	succ := make([]int, len(outside)) // each edge's index in its source's Succs, before any changes
	for k, j := range outside {
		succ[k] = succIndex(h, j)
	}
	ph := f.NewBlock(ir.BlockJump)
	for k, j := range outside {
		p := h.Preds[j]
		p.Succs[succ[k]] = ph
		ph.Preds = append(ph.Preds, p)
	}
	ph.Succs = []*ir.Block{h}
	first := outside[0]
	isOutside := make([]bool, len(h.Preds))
	for _, j := range outside {
		isOutside[j] = true
	}
	for _, v := range h.Values {
		if v.Op != ir.OpPhi {
			break
		}
		in := v.Args[first]
		for _, j := range outside[1:] {
			if v.Args[j] != in {
				in = nil
				break
			}
		}
		if in == nil {
			in = ph.NewValue(ir.OpPhi, v.Type)
			for _, j := range outside {
				in.AddArg(v.Args[j])
			}
		}
		args := mergeEdges(v.Args, isOutside, first, in)
		v.ResetArgs()
		for _, a := range args {
			v.AddArg(a)
		}
	}
	h.Preds = mergeEdges(h.Preds, isOutside, first, ph)
	return ph
}

// mergeEdges returns a copy of xs (indexed like a header's Preds) with x
// in place of the entry at first and without the other entries merged.
func mergeEdges[T any](xs []T, merged []bool, first int, x T) []T {
	out := make([]T, 0, len(xs))
	for j, a := range xs {
		switch {
		case j == first:
			out = append(out, x)
		case !merged[j]:
			out = append(out, a)
		}
	}
	return out
}

// hoist moves vs (in argument order) to the end of the preheader ph of l.
// An argument defined in l that does not move itself (a constant or an
// address) is copied into ph; cloned collects the values copied, which
// may have no use left. Values equal to one ph already holds (cse merges
// cheap values only within a block, and several copies of one map
// address in a loop would each take a register) are merged into it
// (recorded in merged, whose uses the caller rewires). It returns
// the number of copies and of merged values.
func hoist(l *ssa.Loop, ph *ir.Block, vs []*ir.Value, cloned map[*ir.Value]bool, merged mergedValues) (copies, nmerged int) {
	moving := map[*ir.Value]bool{}
	for _, v := range vs {
		moving[v] = true
	}
	merged.resolveIn([]*ir.Block{ph})
	held := map[cseKey]*ir.Value{} // ph's pure values
	for _, v := range ph.Values {
		if k, ok := pureKey(v); ok {
			held[k] = v
		}
	}
	var copyOf func(a *ir.Value) *ir.Value
	copyOf = func(a *ir.Value) *ir.Value {
		a = merged.resolve(a) // merged earlier in this loop
		if moving[a] || !l.Contains(a.Block) {
			return a
		}
		c := &ir.Value{Op: a.Op, Type: a.Type, AuxInt: a.AuxInt, Sym: a.Sym, Args: make([]*ir.Value, len(a.Args))}
		for i, x := range a.Args {
			c.Args[i] = copyOf(x)
		}
		cloned[a] = true
		k, _ := pureKey(c)
		if w, ok := held[k]; ok {
			return w
		}
		w := ph.NewValue(a.Op, a.Type, c.Args...)
		w.AuxInt, w.Sym, w.Comment = a.AuxInt, a.Sym, a.Comment
		held[k] = w
		copies++
		return w
	}
	for _, v := range vs {
		for i, a := range v.Args {
			if c := copyOf(a); c != a {
				v.SetArg(i, c)
			}
		}
		k, ok := pureKey(v)
		if w := held[k]; ok && w != nil {
			merged[v] = w
			v.ResetArgs()
			nmerged++
			continue
		}
		if ok {
			held[k] = v
		}
		ph.Values = append(ph.Values, v)
	}
	for _, b := range l.Blocks {
		out := b.Values[:0]
		for _, v := range b.Values {
			if !moving[v] {
				out = append(out, v)
			}
		}
		clear(b.Values[len(out):])
		b.Values = out
	}
	for _, v := range ph.Values {
		v.Block = ph
	}
	return copies, nmerged
}

// mergedValues maps each value hoist merged into an equal one to that
// one. The uses of a merged value are rewired lazily, by resolveIn over
// the blocks a later step reads (each loop before its candidates are
// found) and over the function once at the end: one sweep per merge
// would make licm quadratic on a large function.
type mergedValues map[*ir.Value]*ir.Value

func (m mergedValues) resolve(v *ir.Value) *ir.Value {
	for {
		w, ok := m[v]
		if !ok {
			return v
		}
		v = w
	}
}

// resolveIn makes the values and controls of blocks use the values merged
// values were merged into.
func (m mergedValues) resolveIn(blocks []*ir.Block) {
	if len(m) == 0 {
		return
	}
	for _, b := range blocks {
		for _, v := range b.Values {
			for i, a := range v.Args {
				if w := m.resolve(a); w != a {
					v.SetArg(i, w)
				}
			}
		}
		for i, c := range b.Controls {
			if w := m.resolve(c); w != c {
				c.Uses--
				w.Uses++
				b.Controls[i] = w
			}
		}
	}
}

// pureKey is a pure value's expression (op, type, aux fields, arguments;
// those of a commutative op in either order); false for others.
func pureKey(v *ir.Value) (cseKey, bool) {
	info := v.Op.Info()
	if v.Op == ir.OpPhi || info.ReadsMem || info.SideEffect || len(v.Args) > len(cseKey{}.args) {
		return cseKey{}, false
	}
	k := cseKey{op: v.Op, typ: v.Type, aux: v.AuxInt, sym: v.Sym, nargs: len(v.Args), block: -1}
	for i, a := range v.Args {
		k.args[i] = a.ID
	}
	if info.Commutative && k.args[0] > k.args[1] {
		k.args[0], k.args[1] = k.args[1], k.args[0]
	}
	return k, true
}
