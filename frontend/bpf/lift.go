package bpf

import (
	"fmt"
	"sort"
	"strings"

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
	// HelperSymbol names the function a helper call (call N) calls;
	// nil means "bpf_helper_N".
	HelperSymbol func(id int32) string
	// CallxSymbol names the dispatcher an indirect call (call %rN) calls
	// with the helper ID and r1..r5; "" means "bpf_callx".
	CallxSymbol string
	// HelperArgs says how many argument registers helper id takes; nil
	// means the kernel's helper table (helpers.go), 5 for unknown IDs.
	HelperArgs func(id int32) int
	// HelperEffect says what helper id may do to memory (ir.CallEffect);
	// nil means the kernel's helper table (helpers.go) when HelperArgs is
	// nil too, and the unknown effect (any memory) otherwise: a helper set
	// of its own need not number its helpers as the kernel does.
	HelperEffect func(id int32) ir.CallEffect
	// TailCallID is the helper ID of bpf_tail_call: 0 means the kernel's
	// (12), a negative value means no helper is a tail call.
	TailCallID int32
	// CtxAlign is the alignment in bytes the entry's caller guarantees for
	// ctx (r1), a power of two: 0 means DefaultCtxAlign, 1 assumes
	// nothing. It becomes the align= of the entry's Arg [0].
	CtxAlign int
}

// DefaultCtxAlign is the ctx alignment of bpfopt's ABI (docs/abi.md):
// every kernel context is an aligned struct, and the kernel enforces
// natural alignment of ctx accesses on targets without efficient
// unaligned access, such as MIPS32.
const DefaultCtxAlign = 4

// MaxCtxAlign is the largest CtxAlign: nothing wider than 8 bytes is
// accessed, so more would prove nothing more.
const MaxCtxAlign = 8

// ctxAlign is CtxAlign with the default applied, or an error.
func (o LiftOptions) ctxAlign() (uint8, error) {
	a := o.CtxAlign
	if a == 0 {
		a = DefaultCtxAlign
	}
	if err := CheckCtxAlign(a); err != nil {
		return 0, err
	}
	return uint8(a), nil
}

// CheckCtxAlign says whether a is a valid ctx alignment (see CtxAlign).
func CheckCtxAlign(a int) error {
	if a < 1 || a > MaxCtxAlign || a&(a-1) != 0 {
		return fmt.Errorf("ctx alignment %d: want a power of two from 1 to %d", a, MaxCtxAlign)
	}
	return nil
}

// TailCallTargetSymbol is the runtime function a tail call asks for its
// target: uint64_t bpf_tail_call_target(uint64_t prog_array, uint64_t
// index) returns the entry address of the program at index, or 0.
const TailCallTargetSymbol = "bpf_tail_call_target"

// MaxTailCalls is the kernel's limit on a chain of tail calls.
const MaxTailCalls = 33

func (o LiftOptions) isTailCall(id int32) bool {
	switch {
	case o.TailCallID == 0:
		return id == 12
	case o.TailCallID > 0:
		return id == o.TailCallID
	}
	return false
}

func (o LiftOptions) helperSymbol(id int32) string {
	if o.HelperSymbol != nil {
		return o.HelperSymbol(id)
	}
	return fmt.Sprintf("bpf_helper_%d", id)
}

func (o LiftOptions) callxSymbol() string {
	if o.CallxSymbol != "" {
		return o.CallxSymbol
	}
	return "bpf_callx"
}

func (o LiftOptions) helperEffect(id int32) ir.CallEffect {
	switch {
	case o.HelperEffect != nil:
		return o.HelperEffect(id)
	case o.HelperArgs == nil:
		return KernelHelperEffect(id)
	}
	return 0
}

func (o LiftOptions) helperArgs(id int32) int {
	if o.HelperArgs != nil {
		return o.HelperArgs(id)
	}
	return KernelHelperArgs(id)
}

type lifter struct {
	p                   *Program
	opts                LiftOptions
	f                   *ir.Func
	b                   *ssa.Builder
	first, end          int                // the function's instructions: Insns[first:end]
	sub                 bool               // a subprogram: its signature (sigs) gives its parameters
	names               map[int]string     // function name by first Insns index
	sigs                map[int]*signature // subprogram signature by first Insns index
	blocks              []*ir.Block        // by Insns index minus first: the block starting there, or nil
	cur                 *ir.Block
	fp                  *ir.Value // FramePtr in the entry block
	ctxAlign            uint8     // LiftOptions.CtxAlign, defaulted
	entryLen, tailCount *ir.Value
}

// maxCallFrames is the kernel's limit on nested BPF frames.
const maxCallFrames = 8

// Lift translates a program into IR: the entry function, named name, and
// one function per subprogram (the targets of bpf-to-bpf calls), named
// name__N after the subprogram's first instruction slot.
func Lift(p *Program, name string, opts LiftOptions) ([]*ir.Func, error) {
	if len(p.Insns) == 0 {
		return nil, &Error{Slot: -1, Msg: "empty program"}
	}
	ctxAlign, err := opts.ctxAlign()
	if err != nil {
		return nil, err
	}
	if err := checkSupported(p); err != nil {
		return nil, err
	}
	starts, err := subprograms(p)
	if err != nil {
		return nil, err
	}
	names := map[int]string{}
	for i, s := range starts {
		names[s] = name
		if i > 0 {
			sub := p.FuncNames[p.Insns[s].Slot]
			if sub == "" {
				sub = fmt.Sprint(p.Insns[s].Slot)
			}
			names[s] = fmt.Sprintf("%s__%s", name, sub)
		}
	}
	sigs := signatures(p, starts, opts, ctxAlign)
	var funcs []*ir.Func
	for i, s := range starts {
		end := len(p.Insns)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		l := &lifter{p: p, opts: opts, ctxAlign: ctxAlign, first: s, end: end, sub: i > 0, names: names, sigs: sigs, blocks: make([]*ir.Block, end-s)}
		f, err := l.liftFunc(names[s])
		if err != nil {
			return nil, err
		}
		funcs = append(funcs, f)
	}
	return funcs, nil
}

// subprograms returns the sorted Insns indices where functions start: 0
// and every bpf-to-bpf call target. It rejects recursion and call chains
// deeper than the kernel allows.
func subprograms(p *Program) ([]int, error) {
	set := map[int]bool{0: true}
	for _, in := range p.Insns {
		if in.IsLocalCall() {
			t := p.IndexOfSlot(in.CallTarget())
			if t < 0 {
				return nil, errAt(in, "call target %d is not the start of an instruction", in.CallTarget())
			}
			set[t] = true
		}
	}
	starts := make([]int, 0, len(set))
	for s := range set {
		starts = append(starts, s)
	}
	sort.Ints(starts)
	owner := func(k int) int { return sort.SearchInts(starts, k+1) - 1 }
	callees := make([][]int, len(starts))
	for k, in := range p.Insns {
		if in.IsLocalCall() {
			f := owner(k)
			callees[f] = append(callees[f], owner(p.IndexOfSlot(in.CallTarget())))
		}
	}
	// Depth-first search: a back edge is recursion; the longest path is
	// the deepest chain of frames.
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(starts))
	depth := make([]int, len(starts))
	var visit func(f int) error
	visit = func(f int) error {
		state[f] = active
		depth[f] = 1
		for _, c := range callees[f] {
			switch state[c] {
			case active:
				return errAt(p.Insns[starts[c]], "recursive bpf-to-bpf call (the kernel rejects recursion)")
			case unvisited:
				if err := visit(c); err != nil {
					return err
				}
			}
			depth[f] = max(depth[f], depth[c]+1)
		}
		state[f] = done
		return nil
	}
	if err := visit(0); err != nil {
		return nil, err
	}
	if depth[0] > maxCallFrames {
		return nil, &Error{Slot: -1, Msg: fmt.Sprintf("bpf-to-bpf calls nest %d frames deep; the kernel allows %d", depth[0], maxCallFrames)}
	}
	return starts, nil
}

func (l *lifter) liftFunc(name string) (*ir.Func, error) {
	l.f = ir.NewFunc(name)
	starts, err := l.leaders()
	if err != nil {
		return nil, err
	}
	entry := l.f.NewBlock(ir.BlockJump)
	for _, s := range starts {
		l.blocks[s-l.first] = l.f.NewBlock(ir.BlockInvalid)
	}
	entry.AddEdgeTo(l.blockAt(l.first))
	for i, s := range starts {
		end := l.end
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		l.linkBlock(l.blockAt(s), s, end)
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
	// filled is by block ID; tail calls add blocks while lifting.
	filled := make([]bool, l.f.NumBlocks())
	fill := func(blk *ir.Block) {
		for blk.ID >= len(filled) {
			filled = append(filled, false)
		}
		filled[blk.ID] = true
	}
	fill(entry)
	allFilled := func(blk *ir.Block) bool {
		for _, p := range blk.Preds {
			if p.ID >= len(filled) || !filled[p.ID] {
				return false
			}
		}
		return true
	}
	for i, s := range starts {
		blk := l.blockAt(s)
		if blk == nil {
			continue
		}
		if allFilled(blk) {
			l.b.Seal(blk)
		}
		end := l.end
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		l.cur = blk
		for k := s; k < end; k++ {
			if err := l.lift(l.p.Insns[k]); err != nil {
				return nil, err
			}
		}
		// Tail calls split blocks: l.cur is the last piece of blk.
		last := l.cur
		if last.Kind == ir.BlockInvalid { // falls through into the next block
			last.Kind = ir.BlockJump
		}
		fill(blk)
		fill(last)
		for _, succ := range last.Succs {
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
func checkSupported(p *Program) error {
	for _, in := range p.Insns {
		switch {
		case in.IsCall() && !in.IsCallx() && in.Src == CallKfunc:
			return errAt(in, "kfunc calls are not supported")
		case in.IsLdImm64() && in.Src != 0 && in.Src != PseudoMapFD && in.Src != PseudoMapIdx &&
			in.Src != PseudoMapValue && in.Src != PseudoMapIdxValue:
			return errAt(in, "lddw with pseudo source %d is not supported", in.Src)
		case in.IsLdImm64() && in.Src != 0 && p.Refs[in.Slot] == "":
			return errAt(in, "lddw with pseudo source %d names no map or section (raw bytecode, or a .kconfig extern, which is not supported)", in.Src)
		case in.IsLdImm64() && in.Src == 0 && p.Refs[in.Slot] != "":
			return errAt(in, "lddw refers to %q, a symbol only the kernel resolves (ksym); not supported", p.Refs[in.Slot])
		case in.IsLdImm64() && (in.Src == PseudoMapValue || in.Src == PseudoMapIdxValue) && !strings.HasPrefix(p.Refs[in.Slot], "."):
			return errAt(in, "lddw takes the address of a value of map %q; only data sections (.rodata, .data, .bss) are supported", p.Refs[in.Slot])
		case (in.Class() == ClassLD) && !in.IsLdImm64():
			return errAt(in, "legacy packet access (LD_ABS/LD_IND) is not supported")
		}
	}
	return nil
}

// leaders returns the sorted Insns indices that start basic blocks.
func (l *lifter) leaders() ([]int, error) {
	leader := make([]bool, l.end-l.first) // by Insns index minus first
	leader[0] = true
	for k := l.first; k < l.end; k++ {
		in := l.p.Insns[k]
		if !isBranch(in) {
			continue
		}
		if k+1 < l.end {
			leader[k+1-l.first] = true
		}
		if in.Code() == JmpEXIT {
			continue
		}
		t := l.p.IndexOfSlot(in.JumpTarget())
		if t < 0 {
			return nil, errAt(in, "jump target %d is not the start of an instruction", in.JumpTarget())
		}
		if t < l.first || t >= l.end {
			return nil, errAt(in, "jump to instruction %d leaves the subprogram", in.JumpTarget())
		}
		leader[t-l.first] = true
	}
	if last := l.p.Insns[l.end-1]; !isBranch(last) || (last.Code() != JmpEXIT && last.Code() != JmpJA) {
		return nil, errAt(last, "the subprogram's last instruction falls through into the next one")
	}
	var starts []int
	for i, ok := range leader {
		if ok {
			starts = append(starts, l.first+i)
		}
	}
	return starts, nil
}

func isBranch(in Insn) bool {
	c := in.Class()
	return (c == ClassJMP || c == ClassJMP32) && in.Code() != JmpCALL
}

// blockAt is the block starting at Insns index k, or nil.
func (l *lifter) blockAt(k int) *ir.Block {
	if k < l.first || k >= l.end {
		return nil
	}
	return l.blocks[k-l.first]
}

// linkBlock sets the kind and successors of the block spanning Insns[s:end].
func (l *lifter) linkBlock(blk *ir.Block, s, end int) {
	kind, succs := blockExits(l.p, end)
	blk.Kind = kind
	for _, k := range succs {
		blk.AddEdgeTo(l.blockAt(k))
	}
}

// blockExits says how the basic block ending before Insns index end leaves:
// its kind and the Insns indices it goes to, a branch's target first.
func blockExits(p *Program, end int) (ir.BlockKind, []int) {
	last := p.Insns[end-1]
	switch {
	case isBranch(last) && last.Code() == JmpEXIT:
		return ir.BlockRet, nil
	case isBranch(last) && last.Code() == JmpJA:
		return ir.BlockJump, []int{p.IndexOfSlot(last.JumpTarget())}
	case isBranch(last):
		return ir.BlockIf, []int{p.IndexOfSlot(last.JumpTarget()), end}
	}
	return ir.BlockJump, []int{end}
}

// removeUnreachable drops blocks no path from the entry reaches (the
// decoder has already proven that no reachable path falls off the end).
func (l *lifter) removeUnreachable() {
	seen := make([]bool, l.f.NumBlocks()) // by block ID
	// Iterative, to survive very long programs.
	stack := []*ir.Block{l.f.Entry()}
	seen[l.f.Entry().ID] = true
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range b.Succs {
			if !seen[s.ID] {
				seen[s.ID] = true
				stack = append(stack, s)
			}
		}
	}
	out := l.f.Blocks[:0]
	for _, b := range l.f.Blocks {
		if seen[b.ID] {
			out = append(out, b)
			ps := b.Preds[:0]
			for _, p := range b.Preds {
				if seen[p.ID] {
					ps = append(ps, p)
				}
			}
			b.Preds = ps
		}
	}
	l.f.Blocks = out
	for k, b := range l.blocks {
		if b != nil && !seen[b.ID] {
			l.blocks[k] = nil
		}
	}
}

// emitEntry defines every register at entry. The program's entry is the C
// function uint64_t f(void *ctx, size_t len): r1 and r2 are its two words,
// zero-extended. A subprogram is uint64_t f(uint64_t p0, ..., uint64_t pn)
// with its parameters (lift_args.go) in register order: under O32
// parameter j is words 2j and 2j+1, low word first on little-endian; the
// registers it does not take start as 0, like r0 and r6..r9.
func (l *lifter) emitEntry() {
	arg := func(n int) *ir.Value {
		v := l.cur.NewValue(ir.OpArg, ir.I32)
		v.AuxInt = int64(n)
		return v
	}
	zero := l.const64(0)
	for r := 0; r < NumRegs; r++ {
		l.b.Write(r, l.cur, zero)
	}
	if l.sub {
		sig := l.sigs[l.first]
		j := 0
		for r := uint8(R1); r <= R5; r++ {
			if sig.params&regBit(r) == 0 {
				continue
			}
			lo, hi := arg(2*j), arg(2*j+1)
			if l.opts.BigEndian {
				lo, hi = hi, lo
			}
			if a := sig.align[r]; a > 1 {
				lo.Align = a
			}
			l.b.Write(int(r), l.cur, l.v(ir.OpInt64Make, ir.I64, hi, lo))
			j++
		}
	} else {
		l.entryLen = arg(1)
		l.tailCount = arg(2)
		ctx := arg(0)
		if l.ctxAlign > 1 { // 1 leaves the Arg as it was before the ABI promised more
			ctx.Align = l.ctxAlign
		}
		l.b.Write(R1, l.cur, l.zext(ctx))
		l.b.Write(R2, l.cur, l.zext(l.entryLen))
	}
	l.fp = l.cur.NewValue(ir.OpFramePtr, ir.I32)
	l.b.Write(R10, l.cur, l.zext(l.fp))
}
