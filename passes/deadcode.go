package passes

import "github.com/bpfopt/bpfopt/ir"

// deadcode removes code that cannot run or whose result nobody needs:
//
//  1. An If on a constant control becomes a Jump to the successor it would
//     take; the other edge goes, with its phi arguments.
//  2. Blocks unreachable from the entry are removed, with their edges into
//     reachable blocks and the phi arguments of those edges.
//  3. Phis left with one distinct argument (other than themselves) are
//     replaced by it; that can make another If constant, so 1-3 repeat to
//     a fixed point.
//  4. Values are kept only if live: a value is live when it has a side
//     effect, is a block control, or is an argument of a live value. This
//     mark-and-sweep (as in Go's deadcode.go) also removes dead cycles of
//     phis that counting uses alone would keep.

func deadcodePass(f *ir.Func, _ *Config) (Stats, error) {
	st := Stats{}
	for {
		folded := foldConstantBranches(f)
		removed := removeUnreachableBlocks(f)
		phis := removeTrivialPhis(f)
		st["branches folded"] += folded
		st["blocks removed"] += removed
		st["phis removed"] += phis
		if folded+removed+phis == 0 {
			break
		}
	}
	st["values removed"] = removeDeadValues(f)
	deleteZeros(st)
	return st, nil
}

// foldConstantBranches turns If blocks with a Const32 control into Jumps.
func foldConstantBranches(f *ir.Func) int {
	n := 0
	for _, b := range f.Blocks {
		if b.Kind != ir.BlockIf || len(b.Controls) != 1 || b.Controls[0].Op != ir.OpConst32 {
			continue
		}
		drop := 1 // Controls[0] != 0 takes Succs[0]
		if int32(b.Controls[0].AuxInt) == 0 {
			drop = 0
		}
		s := b.Succs[drop]
		removePred(s, predIndex(b, drop))
		b.Succs = append(b.Succs[:drop], b.Succs[drop+1:]...)
		b.Kind = ir.BlockJump
		b.SetControls()
		b.Likely = -1
		n++
	}
	return n
}

// predIndex finds the index in b.Succs[i].Preds of the edge b → Succs[i].
// When b lists the same successor twice, the k-th occurrence in b.Succs is
// the k-th occurrence of b in the successor's Preds (the interpreter and
// the backend follow the same rule).
func predIndex(b *ir.Block, i int) int {
	s := b.Succs[i]
	k := 0
	for _, x := range b.Succs[:i] {
		if x == s {
			k++
		}
	}
	for j, p := range s.Preds {
		if p == b {
			if k == 0 {
				return j
			}
			k--
		}
	}
	panic("passes: edge missing from its successor's Preds")
}

// removePred deletes s.Preds[j] and the matching argument of s's phis.
func removePred(s *ir.Block, j int) {
	s.Preds = append(s.Preds[:j], s.Preds[j+1:]...)
	for _, v := range s.Values {
		if v.Op != ir.OpPhi {
			continue
		}
		v.Args[j].Uses--
		v.Args = append(v.Args[:j], v.Args[j+1:]...)
	}
}

// removeUnreachableBlocks deletes blocks the entry cannot reach and
// returns how many it removed.
func removeUnreachableBlocks(f *ir.Func) int {
	reach := make([]bool, f.NumBlocks())
	stack := []*ir.Block{f.Entry()}
	reach[f.Entry().ID] = true
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range b.Succs {
			if !reach[s.ID] {
				reach[s.ID] = true
				stack = append(stack, s)
			}
		}
	}
	kept := f.Blocks[:0]
	removed := 0
	for _, b := range f.Blocks {
		if reach[b.ID] {
			kept = append(kept, b)
			continue
		}
		removed++
		for _, s := range b.Succs {
			if !reach[s.ID] {
				continue
			}
			for j := len(s.Preds) - 1; j >= 0; j-- {
				if s.Preds[j] == b {
					removePred(s, j)
				}
			}
		}
		for _, v := range b.Values {
			v.ResetArgs()
		}
		b.SetControls()
		b.Succs, b.Preds = nil, nil
	}
	clear(f.Blocks[len(kept):])
	f.Blocks = kept
	return removed
}

// removeTrivialPhis replaces each phi whose arguments are all one value x
// (or the phi itself) by x, to a fixed point, and returns how many it
// replaced. x dominates every predecessor, hence the phi's block.
func removeTrivialPhis(f *ir.Func) int {
	var repl []*ir.Value // made at the first trivial phi
	n := 0
	for changed := true; changed; {
		changed = false
		for _, b := range f.Blocks {
			for _, v := range b.Values {
				if v.Op != ir.OpPhi {
					break // phis come first
				}
				if v.ID < len(repl) && repl[v.ID] != nil {
					continue
				}
				var x *ir.Value
				trivial := true
				for _, a := range v.Args {
					a = resolve(repl, a)
					if a == v || a == x {
						continue
					}
					if x != nil {
						trivial = false
						break
					}
					x = a
				}
				if trivial && x != nil {
					if repl == nil {
						repl = make([]*ir.Value, f.NumValues())
					}
					repl[v.ID] = x
					n++
					changed = true
				}
			}
		}
	}
	if n > 0 {
		replaceValues(f, repl)
	}
	return n
}

// removeDeadValues sweeps every value not reachable, through arguments,
// from a side effect or a block control. It returns how many it removed.
func removeDeadValues(f *ir.Func) int {
	live := make([]bool, f.NumValues())
	var work []*ir.Value
	mark := func(v *ir.Value) {
		if !live[v.ID] {
			live[v.ID] = true
			work = append(work, v)
		}
	}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op.Info().SideEffect {
				mark(v)
			}
		}
		for _, c := range b.Controls {
			mark(c)
		}
	}
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		for _, a := range v.Args {
			mark(a)
		}
	}
	removed := 0
	for _, b := range f.Blocks {
		out := b.Values[:0]
		for _, v := range b.Values {
			if live[v.ID] {
				out = append(out, v)
				continue
			}
			v.ResetArgs()
			removed++
		}
		clear(b.Values[len(out):])
		b.Values = out
	}
	return removed
}
