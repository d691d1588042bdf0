package bpf

import (
	"math/bits"
	"sort"
)

// Subprogram signatures. A bpf-to-bpf call could pass all of r1..r5 (ten
// words under O32: four in a0..a3, six on the stack), but most subprograms
// read fewer. Before lifting, two analyses over the BPF instructions give
// every subprogram its signature:
//
//   - parameters: the registers among r1..r5 the subprogram may read before
//     writing them — backward liveness inside each function, where a call
//     reads its callee's parameters, iterated to a fixed point over the call
//     graph. A call passes only those, in register order, and the callee's
//     j-th parameter is its word arguments 2j and 2j+1 (docs/abi.md).
//   - alignment: for each parameter, the alignment its low word has at every
//     call site — forward, from r10 (8), the entry's ctx (LiftOptions.CtxAlign)
//     and constants through mov, add and sub, meeting (minimum) over the call
//     sites, iterated to a fixed point from the optimistic 8. It becomes the
//     align= of the callee's Arg, so that accesses through a passed ctx or
//     stack pointer are proven aligned like those in the entry.
//
// Both follow the lifter's meaning of each instruction (liftCall: a call
// writes r0..r5, a tail call r1..r5), so the lifted callee reads none of
// the registers left out. Subprograms are local functions reached only by
// `call local` from the same program (lddw of a function address is
// rejected), so every caller is known.

// regSet is a set of BPF registers, bit r for register r.
type regSet uint16

func regBit(r uint8) regSet { return 1 << r }

// argRegs is r1..r5, the registers a call can pass.
const argRegs regSet = 0b11_1110

// callDefs is what a call writes: r0 and r1..r5 (undefined after it).
const callDefs = argRegs | 1<<R0

// maxArgAlign is the largest alignment tracked: nothing wider than 8 bytes
// is accessed.
const maxArgAlign = 8

// alignments holds a known alignment (a power of two, 1 = none) per
// register, indexed by the 4-bit register field.
type alignments [16]uint8

// noAlign knows nothing.
var noAlign = alignments{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}

// signature is what a subprogram receives from its callers.
type signature struct {
	params regSet     // r1..r5 read before written: the parameters
	align  alignments // by register: alignment at every call site
}

// function is one function's instructions, Insns[:end] from its first
// block on, cut into basic blocks.
type function struct {
	end    int
	blocks []int   // Insns indices where basic blocks start, sorted
	succs  [][]int // by block: successor blocks
}

// blockEnd is the Insns index after block b.
func (fn *function) blockEnd(b int) int {
	if b+1 < len(fn.blocks) {
		return fn.blocks[b+1]
	}
	return fn.end
}

// newFunction cuts Insns[first:end] into blocks; ok is false when the code
// is malformed (the lifter then reports the error).
func newFunction(p *Program, first, end int) (fn *function, ok bool) {
	starts, err := (&lifter{p: p, first: first, end: end}).leaders()
	if err != nil {
		return nil, false
	}
	fn = &function{end: end, blocks: starts, succs: make([][]int, len(starts))}
	for b := range starts {
		_, next := blockExits(p, fn.blockEnd(b))
		for _, k := range next {
			fn.succs[b] = append(fn.succs[b], sort.SearchInts(starts, k))
		}
	}
	return fn, true
}

// signatures computes the signature of every function of p, by start index
// (the entry's is computed but unused: its signature is the C entry point's).
func signatures(p *Program, starts []int, opts LiftOptions, ctxAlign uint8) map[int]*signature {
	sigs := make(map[int]*signature, len(starts))
	if len(starts) == 1 { // no subprograms: nothing to compute
		return sigs
	}
	fns := make([]*function, len(starts))
	malformed := false
	for i, s := range starts {
		sigs[s] = &signature{}
		end := len(p.Insns)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		fn, ok := newFunction(p, s, end)
		fns[i], malformed = fn, malformed || !ok
	}
	if malformed { // the lifter reports the error; keep the analyses away
		for _, sig := range sigs {
			sig.params = argRegs
			sig.align = noAlign
		}
		return sigs
	}
	calleeOf := func(in Insn) *signature {
		if sig, ok := sigs[p.IndexOfSlot(in.CallTarget())]; ok {
			return sig
		}
		return &signature{params: argRegs}
	}
	// Parameters: callees usually follow their callers, so walking the
	// functions backwards settles a call chain in one round.
	for changed := true; changed; {
		changed = false
		for i := len(fns) - 1; i >= 0; i-- {
			sig := sigs[starts[i]]
			if live := fns[i].liveIn(p, opts, calleeOf) & argRegs; live != sig.params {
				sig.params, changed = live, true
			}
		}
	}
	// Alignment: forward from the entry, callers first, from the optimistic
	// maxArgAlign down.
	for _, sig := range sigs {
		for r := range sig.align {
			sig.align[r] = maxArgAlign
		}
	}
	called := make(map[*signature]bool)
	for changed := true; changed; {
		changed = false
		met := map[*signature]*alignments{}
		for i, fn := range fns {
			entry := noAlign
			entry[R10] = maxArgAlign
			if i == 0 {
				entry[R1] = ctxAlign
			} else {
				for r := uint8(R1); r <= R5; r++ {
					entry[r] = sigs[starts[i]].align[r]
				}
			}
			fn.alignAtCalls(p, opts, entry, func(in Insn, regs *alignments) {
				callee := calleeOf(in)
				called[callee] = true
				m := met[callee]
				if m == nil {
					met[callee] = new(*regs)
					return
				}
				for r := range m {
					m[r] = min(m[r], regs[r])
				}
			})
		}
		for _, s := range starts[1:] {
			sig := sigs[s]
			m := met[sig]
			if m == nil {
				continue
			}
			for r := range m {
				m[r] = min(m[r], sig.align[r])
			}
			if *m != sig.align {
				sig.align, changed = *m, true
			}
		}
	}
	for _, sig := range sigs {
		if !called[sig] {
			sig.align = noAlign
		}
	}
	return sigs
}

// liveIn is the set of registers the function may read before writing
// them: backward liveness over its blocks.
func (fn *function) liveIn(p *Program, opts LiftOptions, calleeOf func(Insn) *signature) regSet {
	gen := make([]regSet, len(fn.blocks))  // read before written in the block
	kill := make([]regSet, len(fn.blocks)) // written in the block
	for b, s := range fn.blocks {
		for k := fn.blockEnd(b) - 1; k >= s; k-- {
			use, def := regEffects(p.Insns[k], opts, calleeOf)
			gen[b] = use | gen[b]&^def
			kill[b] |= def
		}
	}
	live := make([]regSet, len(fn.blocks))
	for changed := true; changed; {
		changed = false
		for b := len(fn.blocks) - 1; b >= 0; b-- {
			var out regSet
			for _, s := range fn.succs[b] {
				out |= live[s]
			}
			if in := gen[b] | out&^kill[b]; in != live[b] {
				live[b], changed = in, true
			}
		}
	}
	return live[0]
}

// regEffects is what the lifter makes instruction in read (use) and write
// (def). Anything unknown reads everything.
func regEffects(in Insn, opts LiftOptions, calleeOf func(Insn) *signature) (use, def regSet) {
	dst, src := regBit(in.Dst), regBit(in.Src)
	srcX := func() regSet {
		if in.Source() == SrcX {
			return src
		}
		return 0
	}
	switch in.Class() {
	case ClassALU, ClassALU64:
		switch in.Code() {
		case AluMOV:
			return srcX(), dst
		case AluNEG, AluEND:
			return dst, dst
		}
		return dst | srcX(), dst
	case ClassLD:
		if in.IsLdImm64() {
			return 0, dst
		}
	case ClassLDX:
		return src, dst
	case ClassST:
		return dst, 0
	case ClassSTX:
		if in.Mode() != ModeATOMIC {
			return dst | src, 0
		}
		switch {
		case in.Imm == AtomicCMPXCHG:
			return dst | src | regBit(R0), regBit(R0)
		case in.Imm&AtomicFetch != 0:
			return dst | src, src
		}
		return dst | src, 0
	case ClassJMP, ClassJMP32:
		switch {
		case in.IsCallx():
			return dst | argRegs, callDefs
		case in.IsLocalCall():
			return calleeOf(in).params, callDefs
		case in.IsCall() && in.Src == CallHelper && opts.isTailCall(in.Imm):
			return regBit(R1) | regBit(R2) | regBit(R3), argRegs
		case in.IsCall() && in.Src == CallHelper:
			n := opts.helperArgs(in.Imm)
			if n < 0 || n > 5 {
				n = 5
			}
			return argRegs & (1<<(n+1) - 1), callDefs
		case in.IsCall():
		case in.Code() == JmpEXIT:
			return regBit(R0), 0
		case in.Code() == JmpJA:
			return 0, 0
		default:
			return dst | srcX(), 0
		}
	}
	return 1<<NumRegs - 1, 0
}

// alignAtCalls runs the alignment analysis forward over the function from
// the register alignments at its entry, calling site at each reachable
// local call with the alignments there.
func (fn *function) alignAtCalls(p *Program, opts LiftOptions, entry alignments, site func(Insn, *alignments)) {
	type state struct {
		seen bool
		regs alignments
	}
	in := make([]state, len(fn.blocks))
	in[0] = state{true, entry}
	// Blocks in order, repeated until nothing changes; the call sites are
	// reported in the final round, when every block's state is settled.
	report := false
	for {
		changed := false
		for b := range fn.blocks {
			if !in[b].seen {
				continue
			}
			regs := in[b].regs
			for k := fn.blocks[b]; k < fn.blockEnd(b); k++ {
				insn := p.Insns[k]
				if report && insn.IsLocalCall() {
					site(insn, &regs)
				}
				alignStep(insn, opts, &regs)
			}
			for _, s := range fn.succs[b] {
				next := in[s]
				if !next.seen {
					next = state{true, regs}
				}
				for r := range next.regs {
					next.regs[r] = min(next.regs[r], regs[r])
				}
				if next != in[s] {
					in[s], changed = next, true
				}
			}
		}
		if report {
			return
		}
		report = !changed
	}
}

// alignStep updates the known alignments (powers of two, 1 = none) of the
// registers for one instruction: mov copies, add and sub of a register or
// constant keep the smaller alignment, constants have their own, anything
// else written knows nothing.
func alignStep(in Insn, opts LiftOptions, regs *alignments) {
	src := func() uint8 {
		if in.Source() == SrcX {
			return regs[in.Src&15]
		}
		return constAlign(uint32(in.Imm))
	}
	dst := in.Dst & 15
	switch c := in.Class(); {
	case (c == ClassALU || c == ClassALU64) && in.Code() == AluMOV && in.Off == 0:
		regs[dst] = src()
	case (c == ClassALU || c == ClassALU64) && (in.Code() == AluADD || in.Code() == AluSUB):
		regs[dst] = min(regs[dst], src())
	case in.IsLdImm64() && in.Src == 0:
		regs[dst] = constAlign(uint32(in.Imm64))
	case in.IsCall():
		for r := R0; r <= R5; r++ {
			regs[r] = 1
		}
	default:
		_, def := regEffects(in, opts, func(Insn) *signature { return &signature{} })
		for r := range regs {
			if def&regBit(uint8(r)) != 0 {
				regs[r] = 1
			}
		}
	}
}

// constAlign is the alignment of a 32-bit constant, at most maxArgAlign.
func constAlign(c uint32) uint8 {
	return uint8(min(1<<bits.TrailingZeros32(c), maxArgAlign))
}
