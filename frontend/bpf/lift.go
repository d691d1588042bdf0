package bpf

import (
	"sort"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// Lifting turns a decoded program into SSA IR. The eleven eBPF registers
// are SSA variables of type i64 (ssa.Builder places the phis); every
// instruction becomes the IR ops of its RFC 9669 meaning. ALU32 results are
// explicit ZeroExt32to64 values, so the optimizer sees which high words are
// zero without any verifier facts.
//
// Entry: word argument 0 (ctx) and 1 (len) arrive as i32 and become r1 and
// r2 zero-extended; r10 is FramePtr zero-extended; r0 and r3..r9 start as 0.

// LiftOptions configures lifting.
type LiftOptions struct {
	// BigEndian selects the byte order of the target, which decides what
	// the to-le and to-be byte-swap instructions do.
	BigEndian bool
}

type lifter struct {
	p      *Program
	opts   LiftOptions
	f      *ir.Func
	b      *ssa.Builder
	blocks map[int]*ir.Block // by Insns index of the block's first instruction
	cur    *ir.Block
	fp     *ir.Value // FramePtr in the entry block
}

// Lift translates p into an IR function named name.
func Lift(p *Program, name string, opts LiftOptions) (*ir.Func, error) {
	if len(p.Insns) == 0 {
		return nil, &Error{Slot: -1, Msg: "empty program"}
	}
	l := &lifter{p: p, opts: opts, f: ir.NewFunc(name), blocks: map[int]*ir.Block{}}
	if err := l.checkSupported(); err != nil {
		return nil, err
	}
	starts, err := l.leaders()
	if err != nil {
		return nil, err
	}
	entry := l.f.NewBlock(ir.BlockJump)
	for _, s := range starts {
		l.blocks[s] = l.f.NewBlock(ir.BlockInvalid)
	}
	entry.AddEdgeTo(l.blocks[0])
	for i, s := range starts {
		end := len(p.Insns)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		l.linkBlock(l.blocks[s], s, end)
	}
	l.removeUnreachable()

	types := make([]ir.Type, NumRegs)
	for i := range types {
		types[i] = ir.I64
	}
	l.b = ssa.NewBuilder(l.f, types)
	l.cur = entry
	l.emitEntry()
	l.b.Seal(entry)
	filled := map[*ir.Block]bool{entry: true}
	allFilled := func(blk *ir.Block) bool {
		for _, p := range blk.Preds {
			if !filled[p] {
				return false
			}
		}
		return true
	}
	for i, s := range starts {
		blk := l.blocks[s]
		if blk == nil {
			continue
		}
		if allFilled(blk) {
			l.b.Seal(blk)
		}
		end := len(p.Insns)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		l.cur = blk
		for k := s; k < end; k++ {
			if err := l.lift(p.Insns[k]); err != nil {
				return nil, err
			}
		}
		if blk.Kind == ir.BlockInvalid { // falls through into the next block
			blk.Kind = ir.BlockJump
		}
		filled[blk] = true
		for _, succ := range blk.Succs {
			if !l.b.IsSealed(succ) && allFilled(succ) {
				l.b.Seal(succ)
			}
		}
	}
	for _, blk := range l.f.Blocks {
		l.b.Seal(blk)
	}
	l.b.Finish()
	l.f.RemoveDeadValues()
	return l.f, nil
}

// checkSupported rejects what this compiler does not translate yet, naming
// the instruction.
func (l *lifter) checkSupported() error {
	for _, in := range l.p.Insns {
		switch {
		case in.Class() == ClassJMP && in.Code() == JmpCALL:
			return errAt(in, "calls (helpers, bpf-to-bpf, callx) are not supported yet")
		case in.IsLdImm64() && in.Src != 0:
			return errAt(in, "lddw with pseudo source %d (map or function reference) is not supported yet", in.Src)
		case (in.Class() == ClassLD) && !in.IsLdImm64():
			return errAt(in, "legacy packet access (LD_ABS/LD_IND) is not supported")
		}
	}
	return nil
}

// leaders returns the sorted Insns indices that start basic blocks.
func (l *lifter) leaders() ([]int, error) {
	set := map[int]bool{0: true}
	for k, in := range l.p.Insns {
		if !isBranch(in) {
			continue
		}
		if k+1 < len(l.p.Insns) {
			set[k+1] = true
		}
		if in.Code() == JmpEXIT {
			continue
		}
		t := l.p.IndexOfSlot(in.JumpTarget())
		if t < 0 {
			return nil, errAt(in, "jump target %d is not the start of an instruction", in.JumpTarget())
		}
		set[t] = true
	}
	starts := make([]int, 0, len(set))
	for s := range set {
		starts = append(starts, s)
	}
	sort.Ints(starts)
	return starts, nil
}

func isBranch(in Insn) bool {
	c := in.Class()
	return (c == ClassJMP || c == ClassJMP32) && in.Code() != JmpCALL
}

// linkBlock sets the kind and successors of the block spanning Insns[s:end].
func (l *lifter) linkBlock(blk *ir.Block, s, end int) {
	last := l.p.Insns[end-1]
	next := func() *ir.Block { return l.blocks[end] }
	switch {
	case isBranch(last) && last.Code() == JmpEXIT:
		blk.Kind = ir.BlockRet
	case isBranch(last) && last.Code() == JmpJA:
		blk.Kind = ir.BlockJump
		blk.AddEdgeTo(l.blocks[l.p.IndexOfSlot(last.JumpTarget())])
	case isBranch(last):
		blk.Kind = ir.BlockIf
		blk.AddEdgeTo(l.blocks[l.p.IndexOfSlot(last.JumpTarget())])
		blk.AddEdgeTo(next())
	default:
		blk.Kind = ir.BlockJump
		blk.AddEdgeTo(next())
	}
}

// removeUnreachable drops blocks no path from the entry reaches (the
// decoder has already proven that no reachable path falls off the end).
func (l *lifter) removeUnreachable() {
	seen := map[*ir.Block]bool{}
	// Iterative, to survive very long programs.
	stack := []*ir.Block{l.f.Entry()}
	seen[l.f.Entry()] = true
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range b.Succs {
			if !seen[s] {
				seen[s] = true
				stack = append(stack, s)
			}
		}
	}
	out := l.f.Blocks[:0]
	for _, b := range l.f.Blocks {
		if seen[b] {
			out = append(out, b)
			ps := b.Preds[:0]
			for _, p := range b.Preds {
				if seen[p] {
					ps = append(ps, p)
				}
			}
			b.Preds = ps
		}
	}
	l.f.Blocks = out
	for k, b := range l.blocks {
		if !seen[b] {
			delete(l.blocks, k)
		}
	}
}

func (l *lifter) emitEntry() {
	ctx := l.cur.NewValue(ir.OpArg, ir.I32)
	ln := l.cur.NewValue(ir.OpArg, ir.I32)
	ln.AuxInt = 1
	l.fp = l.cur.NewValue(ir.OpFramePtr, ir.I32)
	zero := l.const64(0)
	for r := 0; r < NumRegs; r++ {
		l.b.Write(r, l.cur, zero)
	}
	l.b.Write(R1, l.cur, l.zext(ctx))
	l.b.Write(R2, l.cur, l.zext(ln))
	l.b.Write(R10, l.cur, l.zext(l.fp))
}
