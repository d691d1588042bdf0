package bpf

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Loading ELF objects (clang -target bpf output) through cilium/ebpf.
//
// cilium parses the object, applies its relocations and links every
// program with the subprograms it calls (bpf-to-bpf calls resolved to slot
// offsets). We marshal each program back to raw bytes in the object's byte
// order and run Decode on them, so ELF input goes through the same
// validation as raw bytecode. What the relocations referred to is kept by
// slot: map and data-section loads (lddw with a pseudo source; the
// constant is cilium's, 0 or the offset into a data section in the upper
// half, with no map file descriptor) and function references.

// ELFProgram is a program of an ELF object with the symbols its
// instructions refer to.
type ELFProgram struct {
	*Program
	Section string // ELF section, e.g. "xdp" or "socket"
	// MapRefs maps the slot of an lddw that loads a map or a data section
	// to the map's name (or the section's, e.g. ".rodata").
	MapRefs map[int]string
	// FuncRefs maps the slot of a local call (or function-pointer lddw) to
	// the called function's name.
	FuncRefs map[int]string
	// Funcs maps the first slot of each function in the program (the
	// program itself at slot 0 and the subprograms linked after it) to its
	// name.
	Funcs map[int]string
}

// LoadELF returns every program of an ELF object, sorted by name.
func LoadELF(r io.ReaderAt) ([]*Program, error) {
	eps, err := LoadELFPrograms(r)
	if err != nil {
		return nil, err
	}
	out := make([]*Program, len(eps))
	for i, ep := range eps {
		out[i] = ep.Program
	}
	return out, nil
}

// LoadELFProgram returns the program called name.
func LoadELFProgram(r io.ReaderAt, name string) (*Program, error) {
	eps, err := LoadELFPrograms(r)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ep := range eps {
		if ep.Name == name {
			return ep.Program, nil
		}
		names = append(names, ep.Name)
	}
	return nil, fmt.Errorf("ELF: no program %q (programs: %v)", name, names)
}

// LoadELFPrograms returns every program of an ELF object with its
// relocation symbols, sorted by name.
func LoadELFPrograms(r io.ReaderAt) (eps []*ELFProgram, err error) {
	defer func() { // cilium may panic on malformed input
		if v := recover(); v != nil {
			eps, err = nil, fmt.Errorf("ELF: malformed object (%v)", v)
		}
	}()
	spec, err := ebpf.LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("ELF: %w", err)
	}
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("ELF: the object has no programs")
	}
	for _, name := range names {
		ep, err := convertProgram(spec.Programs[name], spec)
		if err != nil {
			return nil, fmt.Errorf("ELF program %q: %w", name, err)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// convertProgram marshals one cilium program and decodes it.
func convertProgram(ps *ebpf.ProgramSpec, spec *ebpf.CollectionSpec) (*ELFProgram, error) {
	order := ps.ByteOrder
	if order == nil {
		order = spec.ByteOrder
	}
	insns := slices.Clone(ps.Instructions) // Marshal rewrites references in place
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, order); err != nil {
		return nil, err
	}
	p, err := Decode(buf.Bytes(), order)
	if err != nil {
		return nil, err
	}
	p.Name = ps.Name
	ep := &ELFProgram{Program: p, Section: ps.SectionName,
		MapRefs: map[int]string{}, FuncRefs: map[int]string{}, Funcs: map[int]string{}}
	p.Refs, p.FuncNames = ep.MapRefs, ep.Funcs
	iter := insns.Iterate()
	for iter.Next() {
		slot, ins := int(iter.Offset), iter.Ins
		if sym := ins.Symbol(); sym != "" {
			ep.Funcs[slot] = sym
		}
		ref := ins.Reference()
		switch {
		case ref == "":
		case ins.IsFunctionReference():
			ep.FuncRefs[slot] = ref
		case ins.OpCode == asm.LoadImmOp(asm.DWord) && ins.Src != asm.PseudoFunc:
			ep.MapRefs[slot] = ref
		}
	}
	return ep, nil
}
