package mips32

import "github.com/bpfopt/bpfopt/ir"

// matchLoadCombine: a word assembled from its four bytes, one load each
// (what C's get_le32 or a big-endian field read byte by byte becomes) or
// from its two halfwords, is one word load, lwl and lwr (lw when the
// first byte is known 4-aligned), and a byte swap (wsbh, rotr) when the
// bytes go in the other order, as LLVM's and GCC's load combining do:
//
//	Or32 tree over (Shl32 (Load8 [o+i] p) #s_i), i = 0..3
//	    s_i = 8i       the word in the target's byte order (little-endian)
//	    s_i = 24-8i    the other order (R2 only: the swap takes 2 instructions, not 11)
//
// where a Load16 stands for its two bytes, in the target's order (a
// shift of 0 is the bare load; shifts may also stand above an Or). Ten
// instructions or more (halfwords of unknown alignment are four each)
// become two to four. The Ors and shifts fold; a load folds too when the
// tree is its only use, and is selected on its own otherwise. The word
// is read where the root stands, so no store, atomic or call may lie
// between any of the loads and the root.

type byteLeaf struct {
	load  *ir.Value
	shift uint32
}

// maxTreeValues bounds the values of a tree: four leaves, three Ors and
// up to four shifts.
const maxTreeValues = 11

func matchLoadCombine(l *lowerer, v *ir.Value) (fusion, []*ir.Value, bool) {
	if v.Op != ir.OpOr32 {
		return fusion{}, nil, false
	}
	var leaves []byteLeaf
	var folded []*ir.Value
	for _, a := range v.Args {
		var ok bool
		if leaves, folded, ok = l.gatherBytes(a, v, 0, leaves, folded); !ok {
			return fusion{}, nil, false
		}
	}
	first, swap, ok := l.wordOf(leaves)
	if !ok || (swap && !l.t.HasR2()) || !noStoreBetween(v, leaves) {
		return fusion{}, nil, false
	}
	for _, lf := range leaves {
		if lf.load.Uses == 1 && !l.fused[lf.load.ID] {
			folded = append(folded, lf.load)
		}
	}
	return fusion{func(l *lowerer, v *ir.Value) {
		base, off := l.memBase(first.Args[0], first.AuxInt, 4)
		rd := l.def(v)
		if !swap {
			l.loadWord(rd, base, off, first.Align)
			return
		}
		w := l.m.newVReg()
		l.loadWord(w, base, off, first.Align)
		l.bswap32(rd, w)
	}}, folded, true
}

// gatherBytes collects the byte loads under x, an operand of consumer,
// shifted left by shift, with the Ors and shifts that fold.
func (l *lowerer) gatherBytes(x, consumer *ir.Value, shift uint32, leaves []byteLeaf, folded []*ir.Value) ([]byteLeaf, []*ir.Value, bool) {
	if len(leaves) >= 4 || len(folded) >= maxTreeValues {
		return leaves, folded, false
	}
	switch {
	case (x.Op == ir.OpLoad8 || x.Op == ir.OpLoad16) && x.Block == consumer.Block:
		return append(leaves, byteLeaf{x, shift}), folded, true
	case l.foldable(x, ir.OpOr32, consumer):
		folded = append(folded, x)
		var ok bool
		for _, a := range x.Args {
			if leaves, folded, ok = l.gatherBytes(a, x, shift, leaves, folded); !ok {
				return leaves, folded, false
			}
		}
		return leaves, folded, true
	case l.foldable(x, ir.OpShl32, consumer):
		c, ok := constArg(x, 1)
		if !ok || c%8 != 0 || shift+c > 24 {
			return leaves, folded, false
		}
		return l.gatherBytes(x.Args[0], x, shift+c, leaves, append(folded, x))
	}
	return leaves, folded, false
}

// wordOf checks that leaves are the four bytes of one word, each shifted
// to its place in the target's byte order or all in the other, and
// returns the load of the lowest address and whether to swap.
func (l *lowerer) wordOf(leaves []byteLeaf) (*ir.Value, bool, bool) {
	first := leaves[0].load
	for _, lf := range leaves[1:] {
		if lf.load.Args[0] != first.Args[0] {
			return nil, false, false
		}
		if lf.load.AuxInt < first.AuxInt {
			first = lf.load
		}
	}
	inOrder, swapped := true, true
	var seen [4]bool
	byteAt := func(i int64, shift uint32) bool {
		if i < 0 || i > 3 || seen[i] {
			return false
		}
		seen[i] = true
		little, big := uint32(8*i), uint32(24-8*i)
		if l.t.BigEndian {
			little, big = big, little
		}
		inOrder = inOrder && shift == little
		swapped = swapped && shift == big
		return true
	}
	for _, lf := range leaves {
		i := lf.load.AuxInt - first.AuxInt
		if lf.load.Op == ir.OpLoad8 {
			if !byteAt(i, lf.shift) {
				return nil, false, false
			}
			continue
		}
		lo, hi := lf.shift, lf.shift+8 // a halfword's bytes in its value
		if l.t.BigEndian {
			lo, hi = hi, lo
		}
		if !byteAt(i, lo) || !byteAt(i+1, hi) {
			return nil, false, false
		}
	}
	return first, swapped, seen == [4]bool{true, true, true, true} && (inOrder || swapped)
}

// noStoreBetween reports whether no value that writes memory (or calls)
// lies between the earliest of the leaves and root, in root's block.
func noStoreBetween(root *ir.Value, leaves []byteLeaf) bool {
	pending := map[*ir.Value]bool{}
	for _, lf := range leaves {
		pending[lf.load] = true
	}
	vals := root.Block.Values
	i := len(vals) - 1
	for i >= 0 && vals[i] != root {
		i--
	}
	for i--; i >= 0 && len(pending) > 0; i-- {
		if vals[i].Op.Info().SideEffect {
			return false
		}
		delete(pending, vals[i])
	}
	return len(pending) == 0
}
