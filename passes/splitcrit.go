package passes

import "github.com/bpfopt/bpfopt/ir"

// splitcrit splits every critical edge — one from a block with several
// successors to a block with several predecessors — by routing it through
// a new, empty Jump block. The backend turns phis into moves placed at the
// end of each predecessor; on a critical edge there is no such place that
// only that edge runs through, so the new block provides one.
//
// The new block takes the edge's place in both the predecessor's Succs
// (keeping the If's sense and Likely index) and the successor's Preds
// (keeping the phi arguments' order). New blocks are appended to
// Func.Blocks; layout is the backend's business.

func splitcritPass(f *ir.Func, _ *Config) (Stats, error) {
	n := 0
	for _, b := range f.Blocks { // the range ignores the blocks appended below
		if len(b.Succs) < 2 {
			continue
		}
		for i, s := range b.Succs {
			if len(s.Preds) < 2 {
				continue
			}
			j := predIndex(b, i)
			mid := f.NewBlock(ir.BlockJump)
			mid.Preds = []*ir.Block{b}
			mid.Succs = []*ir.Block{s}
			b.Succs[i] = mid
			s.Preds[j] = mid
			n++
		}
	}
	if n == 0 {
		return Stats{}, nil
	}
	return Stats{"edges split": n}, nil
}
