// Package mips32 is bpfopt's backend for 32-bit MIPS under the O32 ABI:
// instruction selection, linear-scan register allocation, frames and
// calls, encoding, GNU assembly and ELF32 output.
//
// Import rule: only this package (and its subpackages) knows MIPS. It
// imports ir and ssa, never frontend or passes.
package mips32

import (
	"fmt"

	"github.com/bpfopt/bpfopt/ir"
)

// Module is a compiled program: its functions (the entry and its
// subprograms) laid out one after another in one piece of code, so that
// calls between them are PC-relative (bal) and need no relocation.
type Module struct {
	*Assembled
	Funcs []Symbol // the program entries first, then subprograms
	// Data holds maps and data sections the code refers to by symbol
	// (added by AddData); it becomes .data of an object file.
	Data  ELFData
	Stats Stats
}

// AddData appends an object to the module's data, aligned to align bytes,
// and returns its offset.
func (m *Module) AddData(name string, b []byte, align uint32, local bool) uint32 {
	for uint32(len(m.Data.Bytes))%align != 0 {
		m.Data.Bytes = append(m.Data.Bytes, 0)
	}
	off := uint32(len(m.Data.Bytes))
	m.Data.Bytes = append(m.Data.Bytes, b...)
	m.Data.Syms = append(m.Data.Syms, DataSymbol{Name: name, Offset: off, Size: uint32(len(b)), Local: local})
	return off
}

// AddDataReloc makes the word at data offset off hold the address of sym.
func (m *Module) AddDataReloc(off uint32, sym string) {
	m.Data.Relocs = append(m.Data.Relocs, Reloc{Offset: off, Type: Reloc32, Sym: sym})
}

// Image lays the module out as one blob for a loader that places code and
// data together: the code, then the data 8-byte aligned. It returns the
// blob, every relocation (offsets into the blob) and the module's own
// symbols (offsets into the blob).
func (m *Module) Image() ([]byte, []Reloc, map[string]uint32) {
	blob := append([]byte(nil), m.Code...)
	for len(blob)%8 != 0 {
		blob = append(blob, 0)
	}
	dataBase := uint32(len(blob))
	blob = append(blob, m.Data.Bytes...)
	relocs := append([]Reloc(nil), m.Relocs...)
	for _, r := range m.Data.Relocs {
		r.Offset += dataBase
		relocs = append(relocs, r)
	}
	syms := map[string]uint32{}
	for _, f := range m.Funcs {
		syms[f.Name] = f.Offset
	}
	for _, d := range m.Data.Syms {
		syms[d.Name] = dataBase + d.Offset
	}
	return blob, relocs, syms
}

// Entry returns the offset of the function called name.
func (m *Module) Entry(name string) (uint32, bool) {
	for _, f := range m.Funcs {
		if f.Name == name {
			return f.Offset, true
		}
	}
	return 0, false
}

// TailEntryOffset is where a tail call enters a program: past the entry's
// first instruction, which zeroes the tail-call count.
const TailEntryOffset = 4

// Symbol is one function of a module.
type Symbol struct {
	Name         string
	Offset, Size uint32
	// Local marks functions reached only from within the module.
	Local      bool
	entryLabel int
}

// Stats are counts a user of --stats or a benchmark wants, summed over the
// module's functions.
type Stats struct {
	VirtualRegs     int
	SpilledRegs     int
	SpillSlots      int
	FrameSize       int
	CalleeSavedUsed int
}

// Options configures the backend.
type Options struct {
	Target Target
	// CheckAllocation replays the allocated code against the selected
	// code (regalloc_check.go); tests and fuzzing turn it on.
	CheckAllocation bool
	// ReleaseIR lets CompileModule set each entry of funcs to nil once
	// the function is selected, so that the garbage collector can take
	// its IR while the rest of the backend runs: on a function of a
	// million instructions that is most of the memory at its peak.
	ReleaseIR bool
	// Unoptimized selects the code generation of -O0: the backend's
	// optimizing stages are skipped (constant hoisting and reuse, move
	// coalescing, block layout, delay-slot filling), as compilers' -O0
	// does, so that every instruction is the plain translation of one IR
	// operation, delay slots hold nops and blocks stay in IR order.
	// Instruction selection, allocation and frames are the same at every
	// level. Besides being the honest baseline the optimizer is measured
	// against (docs/results.md), it is an independent second code
	// generator for differential testing of those stages.
	Unoptimized bool
}

// Compile translates one legalized IR function (no i64 values, critical
// edges split) into machine code.
func Compile(f *ir.Func, opts Options) (*Module, error) {
	return CompileModule([]*ir.Func{f}, 1, opts)
}

// CompileModule compiles funcs into one module. The first entries
// functions are program entries: global symbols, each starting with the
// instruction that zeroes the tail-call count. The others are subprograms
// with local symbols. A Call whose symbol names a function of the module
// becomes a bal to it; other calls go through t9 with relocations.
func CompileModule(funcs []*ir.Func, entries int, opts Options) (*Module, error) {
	mod := &Module{}
	entry := map[string]int{}
	nextLabel := 0
	for i, f := range funcs {
		if _, dup := entry[f.Name]; dup {
			return nil, fmt.Errorf("function %s defined twice", f.Name)
		}
		entry[f.Name] = -1 - i // placeholder until numbered below
	}
	var insts []Inst
	module := funcs[0].Name
	for i := range funcs {
		f, name := funcs[i], funcs[i].Name
		if opts.ReleaseIR {
			funcs[i] = nil // compileFunc holds f until it is selected
		}
		code, st, err := compileFunc(f, opts, entry)
		if err != nil {
			return nil, err
		}
		// Number this function's labels after the previous functions'.
		maxLabel := -1
		for k := range code {
			if isLabelled(code[k].Op) && code[k].Target >= 0 {
				code[k].Target += nextLabel
				maxLabel = max(maxLabel, code[k].Target)
			}
		}
		entryLabel := max(maxLabel+1, nextLabel)
		nextLabel = entryLabel + 1
		mod.Funcs = append(mod.Funcs, Symbol{Name: name, Local: i >= entries, entryLabel: entryLabel})
		insts = append(insts, Inst{Op: LABEL, Target: entryLabel})
		if i < entries {
			// The program's entry zeroes the tail-call count (word
			// argument 2) for callers from C; tail calls enter at
			// TailEntryOffset, past this instruction.
			insts = append(insts, Inst{Op: ADDIU, Rt: A2, Rs: ZERO})
		}
		insts = append(insts, code...)
		mod.Stats.add(st)
	}
	// Resolve local calls to their callee's entry label.
	for k := range insts {
		in := &insts[k]
		if in.Op == BAL && in.Sym != "" {
			i := -1 - entry[in.Sym]
			in.Target, in.Sym = mod.Funcs[i].entryLabel, ""
		}
	}
	asm, err := Assemble(insts, opts.Target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", module, err)
	}
	mod.Assembled = asm
	for i := range mod.Funcs {
		mod.Funcs[i].Offset = asm.LabelOffsets[mod.Funcs[i].entryLabel]
	}
	for i := range mod.Funcs {
		end := uint32(len(asm.Code))
		if i+1 < len(mod.Funcs) {
			end = mod.Funcs[i+1].Offset
		}
		mod.Funcs[i].Size = end - mod.Funcs[i].Offset
	}
	return mod, nil
}

func isLabelled(op Opcode) bool {
	switch op.Info().Format {
	case FmtLabel, FmtBranch1, FmtBranch2, FmtJump, FmtBAL:
		return true
	}
	return false
}

func (s *Stats) add(o Stats) {
	s.VirtualRegs += o.VirtualRegs
	s.SpilledRegs += o.SpilledRegs
	s.SpillSlots += o.SpillSlots
	s.FrameSize += o.FrameSize
	s.CalleeSavedUsed += o.CalleeSavedUsed
}

// ELFFuncs splits the module's code into the functions WriteELF takes.
func (m *Module) ELFFuncs() []ELFFunc {
	out := make([]ELFFunc, len(m.Funcs))
	for i, s := range m.Funcs {
		out[i] = ELFFunc{Name: s.Name, Code: m.Code[s.Offset : s.Offset+s.Size], Local: s.Local}
		for _, r := range m.Relocs {
			if r.Offset >= s.Offset && r.Offset < s.Offset+s.Size {
				r.Offset -= s.Offset
				out[i].Relocs = append(out[i].Relocs, r)
			}
		}
	}
	return out
}

// compileFunc selects, allocates and frames one function; local maps the
// module's function names (for calls by bal).
func compileFunc(f *ir.Func, opts Options, local map[string]int) ([]Inst, Stats, error) {
	t := opts.Target
	name := f.Name
	m, err := lower(f, t, local)
	if err != nil {
		return nil, Stats{}, err
	}
	// f is not used below: with Options.ReleaseIR its IR may be
	// collected while m is allocated and laid out.
	if !opts.Unoptimized {
		hoistConstants(m, findLoops(m))
	}
	a, err := allocateFor(m, opts.CheckAllocation, !opts.Unoptimized)
	if err != nil {
		return nil, Stats{}, err
	}
	if opts.CheckAllocation {
		if err := checkAllocation(m, a.numSlots); err != nil {
			return nil, Stats{}, err
		}
	}
	fr, err := layoutFrame(m, a.numSlots, a.usedCalleeSaved)
	if err != nil {
		return nil, Stats{}, err
	}
	blocks, err := buildCodeBlocks(m, fr)
	if err != nil {
		return nil, Stats{}, err
	}
	insts := append(fr.prologue(), layoutBlocks(blocks, !opts.Unoptimized)...)
	var uses, defs []*Reg
	for i := range insts {
		if uses, defs, err = checkAllocated(&insts[i], uses[:0], defs[:0]); err != nil {
			return nil, Stats{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if !opts.Unoptimized {
		insts = fillFromFallThrough(fillDelaySlots(insts))
	}
	st := Stats{VirtualRegs: int(m.nextV - FirstVirtual), SpillSlots: a.numSlots, FrameSize: fr.size,
		CalleeSavedUsed: len(a.usedCalleeSaved)}
	for _, it := range a.all() {
		if it.spilled {
			st.SpilledRegs++
		}
	}
	return insts, st, nil
}

// checkAllocated is the allocator's post-condition: no virtual register and
// no backend-private marker survives.
// uses and defs are buffers for operands.
func checkAllocated(in *Inst, uses, defs []*Reg) ([]*Reg, []*Reg, error) {
	uses, defs = operands(in, uses, defs)
	for _, rs := range [][]*Reg{uses, defs} {
		for _, r := range rs {
			if r.IsVirtual() {
				return uses, defs, fmt.Errorf("virtual register %s left in %s after allocation", *r, in.Op)
			}
		}
	}
	if in.Reloc >= relocFrameTop {
		return uses, defs, fmt.Errorf("unresolved frame marker in %s", in.Op)
	}
	return uses, defs, nil
}
