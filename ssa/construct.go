package ssa

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
)

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
	f     *ir.Func
	types []ir.Type
	// The tables are indexed by block ID (defs by block ID times the
	// number of variables, plus the variable) and grow as the frontend
	// makes blocks.
	defs       []*ir.Value // each variable's current value at the end of each block; nil: none yet
	sealed     []bool
	incomplete [][]pendingPhi
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
	b := &Builder{f: f, types: types}
	b.grow()
	return b
}

// grow sizes the tables for every block f has now.
func (b *Builder) grow() {
	n := b.f.NumBlocks()
	if n <= len(b.sealed) {
		return
	}
	n = max(n, 2*len(b.sealed))
	b.defs = append(b.defs, make([]*ir.Value, n*len(b.types)-len(b.defs))...)
	b.sealed = append(b.sealed, make([]bool, n-len(b.sealed))...)
	b.incomplete = append(b.incomplete, make([][]pendingPhi, n-len(b.incomplete))...)
}

// def is the slot of variable's value at the end of blk.
func (b *Builder) def(variable int, blk *ir.Block) **ir.Value {
	if blk.ID >= len(b.sealed) {
		b.grow()
	}
	return &b.defs[blk.ID*len(b.types)+variable]
}

// Write records that variable is v at the current end of block blk.
func (b *Builder) Write(variable int, blk *ir.Block, v *ir.Value) { *b.def(variable, blk) = v }

// Read returns the value of variable at the current end of block blk.
func (b *Builder) Read(variable int, blk *ir.Block) *ir.Value {
	if v := *b.def(variable, blk); v != nil {
		return v
	}
	return b.readRecursive(variable, blk)
}

func (b *Builder) readRecursive(variable int, blk *ir.Block) *ir.Value {
	var v *ir.Value
	switch {
	case !b.IsSealed(blk):
		v = b.newPhi(variable, blk)
		b.incomplete[blk.ID] = append(b.incomplete[blk.ID], pendingPhi{variable, v})
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
	if b.IsSealed(blk) {
		return
	}
	b.sealed[blk.ID] = true
	for _, p := range b.incomplete[blk.ID] {
		b.addOperands(p.variable, p.phi)
	}
	b.incomplete[blk.ID] = nil
}

// IsSealed reports whether Seal was called for blk.
func (b *Builder) IsSealed(blk *ir.Block) bool {
	if blk.ID >= len(b.sealed) {
		b.grow()
	}
	return b.sealed[blk.ID]
}

// Finish removes trivial phis: a phi whose operands are all one value v (or
// the phi itself) is replaced by v, repeatedly, since removing one phi can
// make another trivial. It returns the number removed.
//
// A phi is checked once, and again whenever a phi among its operands is
// removed (the only event that can make it trivial); the phis to recheck
// are found through a table of each phi's phi users.
func (b *Builder) Finish() int {
	f := b.f
	replaced := make([]*ir.Value, f.NumValues()) // by value ID
	find := func(v *ir.Value) *ir.Value {
		for replaced[v.ID] != nil {
			v = replaced[v.ID]
		}
		return v
	}
	// users of phi p: phiUsers[userStart[p.ID]:userStart[p.ID+1]].
	userStart := make([]int32, f.NumValues()+1)
	var work []*ir.Value
	forPhis := func(visit func(v *ir.Value)) {
		for _, blk := range f.Blocks {
			for _, v := range blk.Values {
				if v.Op != ir.OpPhi {
					break
				}
				visit(v)
			}
		}
	}
	forPhis(func(v *ir.Value) {
		work = append(work, v)
		for _, a := range v.Args {
			if a.Op == ir.OpPhi {
				userStart[a.ID+1]++
			}
		}
	})
	for i := 1; i < len(userStart); i++ {
		userStart[i] += userStart[i-1]
	}
	phiUsers := make([]*ir.Value, userStart[len(userStart)-1])
	next := append([]int32(nil), userStart[:len(userStart)-1]...)
	forPhis(func(v *ir.Value) {
		for _, a := range v.Args {
			if a.Op == ir.OpPhi {
				phiUsers[next[a.ID]] = v
				next[a.ID]++
			}
		}
	})
	// Blocks order first, as a sweep would meet them.
	slices.Reverse(work)
	removed := 0
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		if replaced[v.ID] != nil {
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
		if !trivial || same == nil {
			continue
		}
		replaced[v.ID] = same
		removed++
		work = append(work, phiUsers[userStart[v.ID]:userStart[v.ID+1]]...)
	}
	if removed == 0 {
		return 0
	}
	for _, blk := range f.Blocks {
		out := blk.Values[:0]
		for _, v := range blk.Values {
			for i, a := range v.Args {
				if r := find(a); r != a {
					v.SetArg(i, r)
				}
			}
			if replaced[v.ID] != nil {
				v.ResetArgs()
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
	f.ComputeUses()
	return removed
}
