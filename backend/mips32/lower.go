package mips32

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// Instruction selection: legalized IR (i32 values only) to machine blocks
// over virtual registers.
//
// Each IR value gets a virtual register when it is defined, except:
//   - constants, which are folded into immediate operands where the MIPS
//     instruction has one and otherwise loaded next to each use by the li
//     pseudo-instruction (one or two instructions once expanded; keeping
//     them out of registers shortens live ranges, and hoistConstants
//     moves the loads in loops out of them, consts.go);
//   - comparisons that feed only their block's If, which fuse into the
//     branch (beq/bne/bltz/...);
//   - values that a pattern folds into their single user (ext, ins,
//     rotr, nor, ...: lower_bits.go);
//   - phis, whose register is written by moves at the end of each
//     predecessor (critical edges are split, so those predecessors have a
//     single successor).
//
// The input must be legalized (no i64) with critical edges split.

type lowerer struct {
	t      Target
	f      *ir.Func
	m      *mfunc
	vreg   []Reg // by value ID; 0 when not yet assigned
	pairHi []Reg // by value ID: high-word register of a Pair result
	fused  []bool
	// fusions are the values selected by a pattern that folds some of
	// their operands (lower_bits.go).
	fusions map[*ir.Value]fusion
	cur     *mblock
	first   map[*ir.Block]*mblock   // first machine block of each IR block
	extras  map[*ir.Block][]*mblock // further machine blocks of an IR block, in order
	local   map[string]int          // functions of the module, called by bal
	curIR   *ir.Block
	order   []*ir.Block
	// branchCompares64 are the 64-bit comparisons (lower_cmp64.go) that
	// only their block's If uses, selected with the branch.
	branchCompares64 map[*ir.Value]compare64
	// users and controls are the values' uses (lower_uses.go), made
	// when first needed.
	users    [][]*ir.Value
	controls []bool
}

// lower selects instructions for f.
func lower(f *ir.Func, t Target, local map[string]int) (*mfunc, error) {
	l := &lowerer{
		t: t, f: f, local: local,
		m:      &mfunc{name: f.Name, nextV: FirstVirtual, locals: f.NumLocals},
		vreg:   make([]Reg, f.NumValues()),
		pairHi: make([]Reg, f.NumValues()),
		fused:  make([]bool, f.NumValues()),
		first:  map[*ir.Block]*mblock{},
		extras: map[*ir.Block][]*mblock{},
	}
	l.order = ssa.ReversePostorder(f)
	for _, b := range l.order {
		l.first[b] = l.newBlock()
	}
	// Argument registers are only valid on entry (a call clobbers them),
	// so every Arg is read first thing, wherever it stands in the IR.
	l.cur = l.first[l.order[0]]
	for _, b := range l.order {
		for _, v := range b.Values {
			if v.Op == ir.OpArg && v.Uses > 0 {
				if err := l.lowerArg(v); err != nil {
					return nil, fmt.Errorf("%s: v%d: %w", f.Name, v.ID, err)
				}
			}
		}
	}
	for i, b := range l.order {
		l.cur, l.curIR = l.first[b], b
		var next *ir.Block
		if i+1 < len(l.order) {
			next = l.order[i+1]
		}
		if err := l.lowerBlock(b, next); err != nil {
			return nil, err
		}
	}
	l.layout()
	return l.m, nil
}

// newBlock makes a machine block labelled by its creation index until
// layout renumbers labels (and branch targets) to layout order.
func (l *lowerer) newBlock() *mblock {
	mb := &mblock{label: len(l.m.blocks)}
	l.m.blocks = append(l.m.blocks, mb)
	return mb
}

// startBlock ends the current machine block (falling through) and starts a
// new one that follows it in layout.
func (l *lowerer) startBlock() *mblock {
	mb := l.newBlock()
	l.extras[l.curIR] = append(l.extras[l.curIR], mb)
	l.cur.succs = append(l.cur.succs, mb)
	l.cur.glued = true
	l.cur = mb
	return mb
}

// layout orders machine blocks: each IR block's chain of machine blocks
// (its first, then the ones created while lowering it, in creation order),
// IR blocks in reverse postorder. Labels are the final indices.
func (l *lowerer) layout() {
	out := make([]*mblock, 0, len(l.m.blocks))
	for _, b := range l.order {
		out = append(out, l.first[b])
		out = append(out, l.extras[b]...)
	}
	newLabel := make(map[int]int, len(out))
	for i, mb := range out {
		newLabel[mb.label] = i
	}
	for _, mb := range out {
		mb.label = newLabel[mb.label]
		for k := range mb.insts {
			in := &mb.insts[k]
			if isBranchFormat(in.Op.Info().Format) {
				in.Target = newLabel[in.Target]
			}
		}
	}
	l.m.blocks = out
}

func isBranchFormat(f Format) bool {
	return f == FmtBranch1 || f == FmtBranch2 || f == FmtJump
}

func (l *lowerer) emit(in Inst) { l.cur.insts = append(l.cur.insts, in) }

func (l *lowerer) emitBranch(in Inst) {
	l.emit(in)
	l.emit(Inst{Op: NOP})
}

// def returns the virtual register holding value v.
func (l *lowerer) def(v *ir.Value) Reg {
	if l.vreg[v.ID] == 0 {
		l.vreg[v.ID] = l.m.newVReg()
	}
	return l.vreg[v.ID]
}

// use returns a register holding v, materializing constants.
func (l *lowerer) use(v *ir.Value) Reg {
	if v.Op == ir.OpConst32 {
		return l.li(uint32(v.AuxInt))
	}
	return l.def(v)
}

// li loads a constant into a fresh register (zero needs none).
func (l *lowerer) li(c uint32) Reg {
	if c == 0 {
		return ZERO
	}
	rd := l.m.newVReg()
	l.liInto(rd, c)
	return rd
}

func (l *lowerer) liInto(rd Reg, c uint32) {
	if c == 0 {
		l.emit(Inst{Op: MOVE, Rd: rd, Rs: ZERO})
		return
	}
	l.emit(Inst{Op: LI, Rt: rd, Imm: int32(c)})
}

// expandLI is the machine code of li rt, c: one instruction when c fits
// a 16-bit immediate or has a zero low half, else lui and ori.
func expandLI(rt Reg, c uint32) []Inst {
	switch {
	case c == 0:
		return []Inst{{Op: MOVE, Rd: rt, Rs: ZERO}}
	case fitsS16(int64(int32(c))):
		return []Inst{{Op: ADDIU, Rt: rt, Rs: ZERO, Imm: int32(c)}}
	case c <= 0xffff:
		return []Inst{{Op: ORI, Rt: rt, Rs: ZERO, Imm: int32(c)}}
	case c&0xffff == 0:
		return []Inst{{Op: LUI, Rt: rt, Imm: int32(c >> 16)}}
	}
	return []Inst{{Op: LUI, Rt: rt, Imm: int32(c >> 16)}, {Op: ORI, Rt: rt, Rs: rt, Imm: int32(c & 0xffff)}}
}

func fitsS16(x int64) bool { return x >= -32768 && x <= 32767 }
func fitsU16(x int64) bool { return x >= 0 && x <= 0xffff }

// constOf reports whether v is a constant and its 32-bit value.
func constOf(v *ir.Value) (uint32, bool) {
	if v.Op == ir.OpConst32 {
		return uint32(v.AuxInt), true
	}
	return 0, false
}

func (l *lowerer) lowerBlock(b, next *ir.Block) error {
	if b == l.f.Entry() {
		l.markFusedCompares()
		l.markFusions()
	}
	for _, v := range b.Values {
		if v.Op == ir.OpPhi && len(b.Preds) == 1 {
			// A phi of a single predecessor is a copy (critical edges are
			// split, so the moves cannot go at the predecessor's end).
			l.moveValue(l.def(v), v.Args[0])
			continue
		}
		if l.fused[v.ID] || v.Op == ir.OpPhi || v.Op == ir.OpConst32 {
			continue
		}
		if v.Uses == 0 && !v.Op.Info().SideEffect {
			continue
		}
		if err := l.lowerValue(v); err != nil {
			return fmt.Errorf("%s: b%d: v%d (%s): %w", l.f.Name, b.ID, v.ID, v.Op, err)
		}
	}
	return l.lowerTerminator(b, next)
}

// markFusedCompares finds comparisons used only by their block's If.
func (l *lowerer) markFusedCompares() {
	l.branchCompares64 = map[*ir.Value]compare64{}
	for _, b := range l.f.Blocks {
		if b.Kind != ir.BlockIf {
			continue
		}
		c := b.Controls[0]
		if c.Block != b || c.Uses != 1 {
			continue
		}
		if isCompare(c.Op) {
			l.fused[c.ID] = true
			continue
		}
		if cmp, folded, ok := l.matchCompare64(c); ok {
			l.branchCompares64[c] = cmp
			l.fused[c.ID] = true
			for _, p := range folded {
				l.fused[p.ID] = true
			}
		}
	}
}

func isCompare(op ir.Op) bool {
	switch op {
	case ir.OpEq32, ir.OpNe32, ir.OpLtU32, ir.OpLeU32, ir.OpLtS32, ir.OpLeS32:
		return true
	}
	return false
}
