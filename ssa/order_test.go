package ssa

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReversePostorder(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []int
	}{
		// The taken side of an If comes first; a loop header is followed
		// by its body, the exit comes last.
		{"diamond", diamondSrc, []int{0, 1, 2, 3}},
		{"loop", loopSrc, []int{0, 1, 2, 3}},
		{"nested", nestedSrc, []int{0, 1, 2, 3, 4, 5}},
		// b0's Succs are (b2, b1), but b2 is also reached through b1.
		{"irreducible", irreducibleSrc, []int{0, 1, 2, 3}},
		{"fig4", chkFigure4Src, []int{0, 5, 4, 3, 2, 1}},
		{"unreachable", unreachableSrc, []int{0, 1}},
	} {
		f := parse(t, tc.src)
		assert.Equal(t, tc.want, blockIDs(ReversePostorder(f)), tc.name)
		po := blockIDs(Postorder(f))
		for i, j := 0, len(po)-1; i < j; i, j = i+1, j-1 {
			po[i], po[j] = po[j], po[i]
		}
		assert.Equal(t, tc.want, po, "%s: postorder is RPO reversed", tc.name)
	}
}
