package passes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/internal/filetest"
	"github.com/bpfopt/bpfopt/ir"
)

// The analysis itself, on the functions of testdata/ranges.ir: the
// ranges below are worked out by hand from each loop's code.
func TestRangeAnalysis(t *testing.T) {
	ft, err := filetest.Parse("testdata/ranges.ir")
	require.NoError(t, err)
	want := map[string]map[int]interval{
		// i = 0, 2, ..., 1022; i + 1 and i + 2 follow.
		"step_two_ne": {4: {0, 1022}, 6: {1, 1023}, 9: {2, 1024}},
		// i + 2 could step over 1023: nothing below 2^64.
		"step_jumps_over_bound": {4: {0, ^uint64(0)}, 6: {1, 100}},
		// 28 < i leaves the loop at 29 at most.
		"top_test_lt": {4: {0, 29}, 8: {1, 29}, 11: {0, 2900}},
		// n = min(len, 512); i + 1 < n.
		"min_bound": {6: {0, 512}, 8: {0, 511}, 10: {1, 512}},
		// 40, 36, ..., 4: the test is on the low word of i - 4.
		"down_by_four_low_word": {3: {4, 40}, 6: {0, 36}},
	}
	for _, c := range ft.Cases {
		ranges, ok := want[c.Name]
		if !ok {
			continue
		}
		f, err := ir.Parse(c.Src)
		require.NoError(t, err)
		s := newRangeSolver(f)
		s.solve()
		byID := map[int]*ir.Value{}
		for _, b := range f.Blocks {
			for _, v := range b.Values {
				byID[v.ID] = v
			}
		}
		for id, r := range ranges {
			assert.Equal(t, r, s.ranges[byID[id].ID], "%s: range of v%d", c.Name, id)
		}
	}
}
