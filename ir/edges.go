package ir

// PredIndex returns the index in b.Succs[i].Preds of the edge from b to its
// i-th successor, which is also the index of that edge's phi arguments. When
// b lists the same successor more than once ("If v1 -> b2, b2"), its k-th
// occurrence in b.Succs is the k-th occurrence of b in the successor's
// Preds. It returns -1 if the edge is missing from the successor's Preds.
func PredIndex(b *Block, i int) int {
	s := b.Succs[i]
	k := 0
	for _, t := range b.Succs[:i] {
		if t == s {
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
	return -1
}
