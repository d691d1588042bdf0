package ssa

import (
	"github.com/bpfopt/bpfopt/ir"
	"golang.org/x/tools/container/intsets"
)

// Liveness: which values are live on entry to and exit from each block,
// as sets of value IDs, by the classic backward dataflow iterated to a fixed
// point (in postorder, so most information flows in one sweep).
//
// Phis follow the convention SSA register allocators use (Wimmer & Franz,
// "Linear Scan Register Allocation on SSA Form", 2010): a phi's argument is
// used at the end of the corresponding predecessor, so it is live-out of
// that predecessor only — not live-in of the phi's block, nor live-out of
// the other predecessors — and the phi itself is defined at the top of its
// block, so it is not live-in there either. Block controls are used at the
// end of their block.
//
//	LiveOut(b) = ∪ over edges b→s: LiveIn(s) ∪ {phi args of s for that edge}
//	LiveIn(b)  = UpwardExposed(b) ∪ (LiveOut(b) − Defs(b))

// Liveness holds the live-in and live-out sets of every block.
type Liveness struct {
	liveIn, liveOut []intsets.Sparse // by block ID; never copied (Sparse must not be)
}

// LiveIn is the set of value IDs live on entry to b (after its phis are
// defined). Callers must not modify it.
func (l *Liveness) LiveIn(b *ir.Block) *intsets.Sparse { return &l.liveIn[b.ID] }

// LiveOut is the set of value IDs live on exit from b, including the phi
// arguments b supplies to its successors. Callers must not modify it.
func (l *Liveness) LiveOut(b *ir.Block) *intsets.Sparse { return &l.liveOut[b.ID] }

// ComputeLiveness computes live-in and live-out sets for every block.
func ComputeLiveness(f *ir.Func) *Liveness {
	n := f.NumBlocks()
	l := &Liveness{liveIn: make([]intsets.Sparse, n), liveOut: make([]intsets.Sparse, n)}
	po := Postorder(f)

	// Per block, the constant parts of the equations.
	upward := make([]intsets.Sparse, n)  // used in b before (or without) a definition in b
	defs := make([]intsets.Sparse, n)    // defined in b, phis included
	phiUses := make([]intsets.Sparse, n) // phi arguments b supplies on its out-edges
	for _, b := range po {
		up, def := &upward[b.ID], &defs[b.ID]
		for _, c := range b.Controls {
			up.Insert(c.ID)
		}
		for i := len(b.Values) - 1; i >= 0; i-- {
			v := b.Values[i]
			up.Remove(v.ID)
			def.Insert(v.ID)
			if v.Op != ir.OpPhi {
				for _, a := range v.Args {
					up.Insert(a.ID)
				}
			}
		}
		for i, s := range b.Succs {
			j := ir.PredIndex(b, i)
			for _, v := range s.Values {
				if v.Op == ir.OpPhi {
					phiUses[b.ID].Insert(v.Args[j].ID)
				}
			}
		}
		l.liveIn[b.ID].Copy(up)
	}

	var out, in intsets.Sparse
	for changed := true; changed; {
		changed = false
		for _, b := range po {
			out.Copy(&phiUses[b.ID])
			for _, s := range b.Succs {
				out.UnionWith(&l.liveIn[s.ID])
			}
			if out.Equals(&l.liveOut[b.ID]) {
				continue // LiveIn(b) depends only on LiveOut(b)
			}
			l.liveOut[b.ID].Copy(&out)
			in.Difference(&out, &defs[b.ID])
			in.UnionWith(&upward[b.ID])
			if !in.Equals(&l.liveIn[b.ID]) {
				l.liveIn[b.ID].Copy(&in)
				changed = true
			}
		}
	}
	return l
}
