package ir

import (
	"fmt"
)

// The interpreter runs a function at any stage of the pipeline, before and
// after legalize64, so that every pass can be checked by execution against
// the eBPF reference interpreter and against real MIPS runs.
//
// Values live in a register file indexed by value ID: an I32 value as a
// zero-extended uint32, an I64 value as a uint64, a Pair as hi<<32 | lo.
// Before running, the function is translated into a flat per-block form
// (instruction slices with argument IDs, precomputed phi moves per incoming
// edge), which both speeds up the inner loop — the interpreter runs inside
// fuzzers — and checks the structure the loop relies on, so malformed IR
// yields an error rather than a panic. Types are not checked: run Verify
// for that.
//
// Edges select phi arguments by PredIndex.

// InterpConfig is the environment of one run.
type InterpConfig struct {
	Args      []uint32 // OpArg words
	Mem       Memory   // nil: every access faults
	FramePtr  uint32   // value of OpFramePtr
	LocalBase uint32   // address of local slot 0; slot k is at LocalBase+8k
	MaxSteps  int      // executed values and terminators; 0 means 1<<26
	// Call serves OpCall values (BPF helpers, subprograms): the callee's
	// symbol and its 64-bit arguments give r0.
	Call func(sym string, args []uint64) (uint64, error)
	// Symbols gives the addresses of OpSymAddr's symbols.
	Symbols map[string]uint32
	// TailCall serves BlockTailCall: run the program at entry address
	// target and return its result as this function's.
	TailCall func(target, ctx, length, count uint32) (uint64, error)
}

// DefaultMaxSteps bounds a run when InterpConfig.MaxSteps is 0.
const DefaultMaxSteps = 1 << 26

// Interpret runs f and returns its result: the i64 control of the Ret
// block, or hi<<32 | lo for a (lo, hi) return.
func Interpret(f *Func, cfg InterpConfig) (result uint64, err error) {
	prog, err := compileInterp(f)
	if err != nil {
		return 0, fmt.Errorf("interpret %s: %w", f.Name, err)
	}
	m := &machine{prog: prog, cfg: cfg, regs: make([]uint64, prog.numValues), steps: new(int)}
	if m.cfg.Mem == nil {
		m.cfg.Mem = &RegionMemory{}
	}
	if m.cfg.MaxSteps <= 0 {
		m.cfg.MaxSteps = DefaultMaxSteps
	}
	defer func() {
		// The compile step rules out the panics we know of; this is the
		// last line of "errors, never panics".
		if r := recover(); r != nil {
			err = fmt.Errorf("interpret %s: internal error: %v", f.Name, r)
		}
	}()
	result, err = m.run()
	if err != nil {
		return 0, fmt.Errorf("interpret %s: %w", f.Name, err)
	}
	return result, nil
}

// inst is one non-phi value in executable form.
type inst struct {
	op      Op
	dst     int32
	a, b, c int32 // argument value IDs (unused ones 0)
	aux     int64
	v       *Value // for error messages and calls
	call    *callInfo
}

type callInfo struct {
	rf    *RuntimeFunc
	args  []int32 // argument value IDs
	split []bool  // per parameter: I64 passed as (lo, hi) i32 arguments
	buf   []uint64
}

type interpBlock struct {
	b        *Block
	code     []inst
	phiDst   []int32   // IDs of the block's phis
	phiArgs  [][]int32 // by predecessor index: the phi arguments' IDs
	kind     BlockKind
	controls []int32
	succ     [2]int32 // successor indexes into interpProg.blocks
	predIdx  [2]int32 // this block's index among the successor's Preds
}

type interpProg struct {
	blocks    []interpBlock
	numValues int
	maxPhis   int
}

func compileInterp(f *Func) (*interpProg, error) {
	if len(f.Blocks) == 0 {
		return nil, fmt.Errorf("no blocks")
	}
	p := &interpProg{blocks: make([]interpBlock, len(f.Blocks)), numValues: f.NumValues()}
	index := map[*Block]int32{}
	for i, b := range f.Blocks {
		if b == nil {
			return nil, fmt.Errorf("Blocks[%d] is nil", i)
		}
		index[b] = int32(i)
	}
	valueID := func(v *Value) (int32, error) {
		if v == nil || v.ID < 0 || v.ID >= p.numValues {
			return 0, fmt.Errorf("reference to a value outside the function")
		}
		return int32(v.ID), nil
	}
	for bi, b := range f.Blocks {
		ib := &p.blocks[bi]
		ib.b, ib.kind = b, b.Kind
		if err := compileTerminator(b, ib, index, valueID); err != nil {
			return nil, fmt.Errorf("b%d: %w", b.ID, err)
		}
		for _, v := range b.Values {
			if v == nil {
				return nil, fmt.Errorf("b%d: nil value", b.ID)
			}
			dst, err := valueID(v)
			if err != nil {
				return nil, fmt.Errorf("b%d: v%d: %w", b.ID, v.ID, err)
			}
			if v.Op == OpPhi {
				if len(ib.code) > 0 {
					return nil, fmt.Errorf("b%d: phi v%d after a non-phi value", b.ID, v.ID)
				}
				if len(v.Args) != len(b.Preds) {
					return nil, fmt.Errorf("b%d: phi v%d has %d arguments for %d predecessors", b.ID, v.ID, len(v.Args), len(b.Preds))
				}
				if ib.phiArgs == nil {
					ib.phiArgs = make([][]int32, len(b.Preds))
				}
				for i, a := range v.Args {
					id, err := valueID(a)
					if err != nil {
						return nil, fmt.Errorf("b%d: v%d: %w", b.ID, v.ID, err)
					}
					ib.phiArgs[i] = append(ib.phiArgs[i], id)
				}
				ib.phiDst = append(ib.phiDst, dst)
				continue
			}
			in, err := compileInst(v, dst, valueID)
			if err != nil {
				return nil, fmt.Errorf("b%d: %s: %w", b.ID, safeString(v.LongString), err)
			}
			ib.code = append(ib.code, in)
		}
		p.maxPhis = max(p.maxPhis, len(ib.phiDst))
	}
	if len(p.blocks[0].phiDst) > 0 {
		return nil, fmt.Errorf("entry block b%d has phis", f.Blocks[0].ID)
	}
	return p, nil
}

func compileTerminator(b *Block, ib *interpBlock, index map[*Block]int32, valueID func(*Value) (int32, error)) error {
	var nsuccs, ncontrols int
	switch b.Kind {
	case BlockJump:
		nsuccs = 1
	case BlockIf:
		nsuccs, ncontrols = 2, 1
	case BlockRet:
		ncontrols = len(b.Controls)
		if ncontrols != 1 && ncontrols != 2 {
			return fmt.Errorf("Ret with %d controls", ncontrols)
		}
	case BlockTailCall:
		ncontrols = 4
	default:
		return fmt.Errorf("invalid block kind %v", b.Kind)
	}
	if len(b.Succs) != nsuccs || len(b.Controls) != ncontrols {
		return fmt.Errorf("%v block with %d successors and %d controls", b.Kind, len(b.Succs), len(b.Controls))
	}
	for _, c := range b.Controls {
		id, err := valueID(c)
		if err != nil {
			return fmt.Errorf("control: %w", err)
		}
		ib.controls = append(ib.controls, id)
	}
	for i, s := range b.Succs {
		si, ok := index[s]
		if !ok {
			return fmt.Errorf("successor %d is not a block of this function", i)
		}
		pi := PredIndex(b, i)
		if pi < 0 {
			return fmt.Errorf("edge to b%d is missing from its predecessor list", s.ID)
		}
		ib.succ[i], ib.predIdx[i] = si, int32(pi)
	}
	return nil
}

func compileInst(v *Value, dst int32, valueID func(*Value) (int32, error)) (inst, error) {
	in := inst{op: v.Op, dst: dst, aux: v.AuxInt, v: v}
	info := v.Op.Info()
	if v.Op <= OpInvalid || v.Op >= opCount {
		return in, fmt.Errorf("invalid op")
	}
	ids := make([]int32, len(v.Args))
	for i, a := range v.Args {
		id, err := valueID(a)
		if err != nil {
			return in, err
		}
		ids[i] = id
	}
	if v.Op == OpCallRuntime || v.Op == OpCall {
		call, err := compileCall(v, ids)
		in.call = call
		return in, err
	}
	if len(ids) != len(info.Args) {
		return in, fmt.Errorf("%v takes %d arguments, has %d", v.Op, len(info.Args), len(ids))
	}
	switch len(ids) {
	case 3:
		in.c = ids[2]
		fallthrough
	case 2:
		in.b = ids[1]
		fallthrough
	case 1:
		in.a = ids[0]
	}
	return in, nil
}

// compileCall decides, parameter by parameter, whether an I64 parameter
// comes as one i64 argument (before legalize64) or as two i32 (lo, hi).
func compileCall(v *Value, ids []int32) (*callInfo, error) {
	rf, ok := CallSignature(v)
	if !ok {
		return nil, fmt.Errorf("unknown runtime function %q", v.Sym)
	}
	c := &callInfo{rf: rf, args: ids, split: make([]bool, len(rf.Params)), buf: make([]uint64, len(rf.Params))}
	n := 0
	for i, p := range rf.Params {
		if n >= len(v.Args) {
			return nil, fmt.Errorf("too few arguments for %s", rf.Name)
		}
		if p == I64 && v.Args[n].Type != I64 {
			c.split[i] = true
			n++
		}
		n++
	}
	if n != len(v.Args) {
		return nil, fmt.Errorf("%s takes %d parameters, given %d arguments", rf.Name, len(rf.Params), len(v.Args))
	}
	return c, nil
}

type machine struct {
	prog *interpProg
	cfg  InterpConfig
	regs []uint64
	// steps counts executed values and terminators against cfg.MaxSteps;
	// the frames of one InterpretModule run share it.
	steps *int
}

func (m *machine) run() (uint64, error) {
	regs := m.regs
	scratch := make([]uint64, m.prog.maxPhis)
	cur, predIdx := int32(0), int32(-1)
	for {
		blk := &m.prog.blocks[cur]
		*m.steps += len(blk.phiDst) + len(blk.code) + 1
		if *m.steps > m.cfg.MaxSteps {
			return 0, fmt.Errorf("step limit %d exceeded in b%d", m.cfg.MaxSteps, blk.b.ID)
		}
		if predIdx >= 0 && len(blk.phiDst) > 0 {
			// Phis read their arguments all at once, then write.
			tmp := scratch[:len(blk.phiDst)]
			for k, id := range blk.phiArgs[predIdx] {
				tmp[k] = regs[id]
			}
			for k, d := range blk.phiDst {
				regs[d] = tmp[k]
			}
		}
		for i := range blk.code {
			if err := m.exec(&blk.code[i]); err != nil {
				return 0, fmt.Errorf("b%d: %s: %w", blk.b.ID, safeString(blk.code[i].v.LongString), err)
			}
		}
		switch blk.kind {
		case BlockJump:
			cur, predIdx = blk.succ[0], blk.predIdx[0]
		case BlockIf:
			i := 1
			if uint32(regs[blk.controls[0]]) != 0 {
				i = 0
			}
			cur, predIdx = blk.succ[i], blk.predIdx[i]
		case BlockRet:
			if len(blk.controls) == 2 {
				return regs[blk.controls[1]]<<32 | regs[blk.controls[0]]&0xffffffff, nil
			}
			return regs[blk.controls[0]], nil
		case BlockTailCall:
			if m.cfg.TailCall == nil {
				return 0, fmt.Errorf("b%d: tail call without InterpConfig.TailCall", blk.b.ID)
			}
			c := blk.controls
			return m.cfg.TailCall(uint32(regs[c[0]]), uint32(regs[c[1]]), uint32(regs[c[2]]), uint32(regs[c[3]]))
		}
	}
}
