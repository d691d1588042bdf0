package ssa

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected sets, worked out by hand from the texts in cfg_test.go. A phi's
// argument is live-out of its predecessor only; a phi is not live-in of its
// own block.
func TestLiveness(t *testing.T) {
	type sets struct{ in, out []int }
	for _, tc := range []struct {
		name, src string
		want      map[int]sets
	}{
		{"diamond", diamondSrc, map[int]sets{
			0: {nil, []int{0, 1}},
			1: {[]int{1}, []int{1}}, // v1 only flows along b1 → b3
			2: {[]int{0}, []int{0}},
			3: {nil, nil},
		}},
		{"loop", loopSrc, map[int]sets{
			0: {nil, []int{0, 1, 2}},
			1: {[]int{0, 2}, []int{0, 2, 3, 4}},
			2: {[]int{0, 2, 3, 4}, []int{0, 2, 6, 7}},
			3: {[]int{3}, nil},
		}},
		{"nested", nestedSrc, map[int]sets{
			0: {nil, []int{0, 1, 2, 3}},
			1: {[]int{0, 1, 2, 3}, []int{0, 1, 2, 3, 4, 5}},
			2: {[]int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2, 3, 4, 5}},
			3: {[]int{0, 1, 2, 3, 4}, []int{0, 1, 2, 3, 4, 11, 13}},
			4: {[]int{0, 1, 2, 3, 4, 13}, []int{0, 1, 2, 3, 12, 13}},
			5: {[]int{2, 5}, nil},
		}},
		{"irreducible", irreducibleSrc, map[int]sets{
			0: {nil, []int{0, 2, 3}},
			1: {[]int{2, 3}, []int{2, 3, 5, 6, 7}},
			2: {[]int{2, 3}, []int{2, 3, 9, 11, 12}},
			3: {[]int{2}, nil},
		}},
		{"unreachable", unreachableSrc, map[int]sets{
			0: {nil, []int{0}},
			1: {nil, nil},
			2: {nil, nil}, // not analysed
		}},
		{"same successor twice", `func f {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Const32 [10]
    v2:i32 = Const32 [20]
    If v0 -> b1, b1
b1: <- b0, b0
    v3:i32 = Phi v1, v2
    Ret v3, v0
}`, map[int]sets{
			0: {nil, []int{0, 1, 2}},
			1: {[]int{0}, nil},
		}},
		{"control used across blocks", `func f {
b0:
    v0:i32 = Arg [0]
    v1:i64 = ZeroExt32to64 v0
    Jump b1
b1: <- b0
    v2:i32 = Add32 v0, v0
    Jump b2
b2: <- b1
    Ret v1
}`, map[int]sets{
			0: {nil, []int{0, 1}},
			1: {[]int{0, 1}, []int{1}},
			2: {[]int{1}, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, tc.src)
			l := ComputeLiveness(f)
			for _, b := range f.Blocks {
				want, ok := tc.want[b.ID]
				if !assert.True(t, ok, "b%d missing from the table", b.ID) {
					continue
				}
				assert.Equal(t, fmt.Sprint(want.in), fmt.Sprint(l.LiveIn(b).AppendTo(nil)), "live-in of b%d", b.ID)
				assert.Equal(t, fmt.Sprint(want.out), fmt.Sprint(l.LiveOut(b).AppendTo(nil)), "live-out of b%d", b.ID)
			}
		})
	}
}

// A value used only in its own block is never live across a block boundary,
// however long the function.
func TestLivenessLocalValues(t *testing.T) {
	f := parse(t, `func f {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Add32 v0, v0
    v2:i32 = Add32 v1, v1
    Jump b1
b1: <- b0
    v3:i32 = Const32 [1]
    v4:i32 = Add32 v3, v3
    Ret v4, v2
}`)
	l := ComputeLiveness(f)
	assert.Equal(t, []int{2}, l.LiveOut(f.Blocks[0]).AppendTo(nil))
	assert.Equal(t, []int{2}, l.LiveIn(f.Blocks[1]).AppendTo(nil))
	assert.True(t, l.LiveIn(f.Blocks[0]).IsEmpty())
}
