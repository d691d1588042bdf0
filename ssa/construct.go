package ssa

import "github.com/bpfopt/bpfopt/ir"

// Builder constructs SSA form on the fly while a frontend walks its blocks,
// after Braun, Buchwald, Hack, Leißa, Mallon and Zwinkau, "Simple and
// Efficient Construction of Static Single Assignment Form" (CC 2013).
//
// The frontend numbers its variables (eBPF registers) and calls Write for
// each definition and Read for each use. A block is sealed once all its
// predecessors are known and filled; reading a variable in an unsealed
// block places an operandless phi that Seal completes later.
//
// Trivial phis (all operands the same value, or the phi itself) are not
// removed eagerly, which would need a user list per value; Finish removes
// them all in linear passes to a fixed point.
type Builder struct {
	f          *ir.Func
	types      []ir.Type
	defs       []map[*ir.Block]*ir.Value // per variable: its current value in each block
	sealed     map[*ir.Block]bool
	incomplete map[*ir.Block][]pendingPhi
	// Undefined makes the value of a variable read where no definition
	// reaches; nil means such reads are an error the caller prevents by
	// defining every variable in the entry block.
	Undefined func(variable int, b *ir.Block) *ir.Value
}

type pendingPhi struct {
	variable int
	phi      *ir.Value
}

// NewBuilder prepares SSA construction for len(types) variables.
func NewBuilder(f *ir.Func, types []ir.Type) *Builder {
	b := &Builder{f: f, types: types, sealed: map[*ir.Block]bool{}, incomplete: map[*ir.Block][]pendingPhi{}}
	b.defs = make([]map[*ir.Block]*ir.Value, len(types))
	for i := range b.defs {
		b.defs[i] = map[*ir.Block]*ir.Value{}
	}
	return b
}

// Write records that variable is v at the current end of block blk.
func (b *Builder) Write(variable int, blk *ir.Block, v *ir.Value) { b.defs[variable][blk] = v }

// Read returns the value of variable at the current end of block blk.
func (b *Builder) Read(variable int, blk *ir.Block) *ir.Value {
	if v, ok := b.defs[variable][blk]; ok {
		return v
	}
	return b.readRecursive(variable, blk)
}

func (b *Builder) readRecursive(variable int, blk *ir.Block) *ir.Value {
	var v *ir.Value
	switch {
	case !b.sealed[blk]:
		v = b.newPhi(variable, blk)
		b.incomplete[blk] = append(b.incomplete[blk], pendingPhi{variable, v})
	case len(blk.Preds) == 1:
		v = b.Read(variable, blk.Preds[0])
	case len(blk.Preds) == 0:
		if b.Undefined == nil {
			panic("ssa: variable read before any definition; define every variable in the entry block")
		}
		v = b.Undefined(variable, blk)
	default:
		v = b.newPhi(variable, blk)
		b.Write(variable, blk, v) // breaks cycles through loops
		b.addOperands(variable, v)
	}
	b.Write(variable, blk, v)
	return v
}

func (b *Builder) newPhi(variable int, blk *ir.Block) *ir.Value {
	n := 0
	for n < len(blk.Values) && blk.Values[n].Op == ir.OpPhi {
		n++
	}
	return blk.NewValueAt(n, ir.OpPhi, b.types[variable])
}

func (b *Builder) addOperands(variable int, phi *ir.Value) {
	for _, p := range phi.Block.Preds {
		phi.AddArg(b.Read(variable, p))
	}
}

// Seal declares that blk's predecessors are all known and filled.
func (b *Builder) Seal(blk *ir.Block) {
	if b.sealed[blk] {
		return
	}
	b.sealed[blk] = true
	for _, p := range b.incomplete[blk] {
		b.addOperands(p.variable, p.phi)
	}
	delete(b.incomplete, blk)
}

// IsSealed reports whether Seal was called for blk.
func (b *Builder) IsSealed(blk *ir.Block) bool { return b.sealed[blk] }

// Finish removes trivial phis: a phi whose operands are all one value v (or
// the phi itself) is replaced by v, repeatedly, since removing one phi can
// make another trivial. It returns the number removed.
func (b *Builder) Finish() int {
	replaced := map[*ir.Value]*ir.Value{}
	find := func(v *ir.Value) *ir.Value {
		for {
			r, ok := replaced[v]
			if !ok {
				return v
			}
			v = r
		}
	}
	for changed := true; changed; {
		changed = false
		for _, blk := range b.f.Blocks {
			for _, v := range blk.Values {
				if v.Op != ir.OpPhi {
					break
				}
				if _, gone := replaced[v]; gone {
					continue
				}
				var same *ir.Value
				trivial := true
				for _, a := range v.Args {
					a = find(a)
					if a == v || a == same {
						continue
					}
					if same != nil {
						trivial = false
						break
					}
					same = a
				}
				if trivial && same != nil {
					replaced[v] = same
					changed = true
				}
			}
		}
	}
	if len(replaced) == 0 {
		return 0
	}
	for _, blk := range b.f.Blocks {
		out := blk.Values[:0]
		for _, v := range blk.Values {
			for i, a := range v.Args {
				if r := find(a); r != a {
					v.SetArg(i, r)
				}
			}
			if _, gone := replaced[v]; gone {
				continue
			}
			out = append(out, v)
		}
		blk.Values = out
		for i, c := range blk.Controls {
			if r := find(c); r != c {
				blk.Controls[i] = r
			}
		}
	}
	for v := range replaced {
		v.ResetArgs()
	}
	b.f.ComputeUses()
	return len(replaced)
}
