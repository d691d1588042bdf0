package mips32

import (
	"math"
	"math/bits"
	"slices"
	"sort"
)

// Interval coalescing before the scan: the two virtual registers of a
// move whose lifetimes do not intersect become one interval, so that they
// get one register and the move disappears. Hints (regalloc.go) only
// reach a partner assigned earlier; merging also catches the partner
// assigned later, which is how a loop's phi and the value computed for it
// in the body end up in one register. Moves are taken hottest first (by
// loop depth), so that where merging one pair rules out another the move
// inside the loop wins. Intervals in LL/SC loops are left alone.
//
// Merging is conservative in the spirit of Briggs's test: a merged
// interval must keep one register over the union of its parts, which is
// hard where many values are live, and if it spills, all its parts spill.
// So two intervals merge only if register pressure (the number of live
// intervals) stays below coalescePressure wherever either is live.
// Merging never changes the pressure itself: the parts do not overlap.

// coalescePressure is the pressure up to which merging is safe: well below
// the 23 allocatable registers.
const coalescePressure = 16

func (a *allocator) coalesce() {
	pressure := a.pressure()
	type move struct {
		d, s Reg
		freq float64
	}
	var moves []move
	for bi, b := range a.m.blocks {
		for _, in := range b.insts {
			if in.Op == MOVE && in.Rd.IsVirtual() && in.Rs.IsVirtual() {
				moves = append(moves, move{in.Rd, in.Rs, a.freq[bi]})
			}
		}
	}
	sort.SliceStable(moves, func(i, j int) bool { return moves[i].freq > moves[j].freq })
	for _, mv := range moves {
		x, y := a.intervalOf(mv.d), a.intervalOf(mv.s)
		if x == y || x.noSpill || y.noSpill || x.remat || y.remat || firstIntersection(x.ranges, y.ranges) != math.MaxInt ||
			pressure.max(x.ranges) >= coalescePressure || pressure.max(y.ranges) >= coalescePressure {
			continue
		}
		x.ranges = unionRanges(x.ranges, y.ranges)
		x.hints = append(x.hints, y.hints...)
		x.cost += y.cost
		ym := y.members
		if ym == nil {
			ym = []Reg{y.vreg}
		}
		for _, v := range ym {
			a.intervals[vidx(v)] = x
		}
		if x.members == nil {
			x.members = []Reg{x.vreg}
		}
		x.members = append(x.members, ym...)
	}
}

// unionRanges merges two ascending, disjoint range lists that do not
// intersect each other, joining ranges that touch.
func unionRanges(a, b []lrange) []lrange {
	out := make([]lrange, 0, len(a)+len(b))
	add := func(r lrange) {
		if n := len(out); n > 0 && out[n-1].to == r.from {
			out[n-1].to = r.to
			return
		}
		out = append(out, r)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i].from < b[j].from) {
			add(a[i])
			i++
		} else {
			add(b[j])
			j++
		}
	}
	return out
}

// all lists the intervals once each (merged registers share one, found
// under its own register), by register.
func (a *allocator) all() []*interval {
	if a.list == nil {
		for i, it := range a.intervals {
			if it != nil && vidx(it.vreg) == i {
				a.list = append(a.list, it)
			}
		}
	}
	return a.list
}

// rangeMax answers the largest value over position ranges: the values,
// the maximum of each chunk of rangeChunk positions, and a sparse table
// over the chunks (levels[k][i] is the maximum of chunks i..i+2^k-1). A
// query scans the partial chunks at its ends. (A sparse table over the
// positions themselves took 22 copies of them on a million-instruction
// function.)
type rangeMax struct {
	count  []int32
	levels [][]int32
	low    bool // every value is below coalescePressure: no table
}

const rangeChunk = 64

// pressure counts, at each position, the intervals live there.
func (a *allocator) pressure() *rangeMax {
	n := 0
	if len(a.blockTo) > 0 {
		n = a.blockTo[len(a.blockTo)-1]
	}
	count := make([]int32, n+1)
	for _, it := range a.intervals {
		if it == nil {
			continue
		}
		for _, r := range it.ranges {
			count[r.from]++
			count[r.to]--
		}
	}
	for i := 1; i <= n; i++ {
		count[i] += count[i-1]
	}
	t := &rangeMax{count: count}
	if slices.Max(count) < coalescePressure {
		t.low = true // no query can reach the limit: skip the table
		return t
	}
	chunks := make([]int32, (len(count)+rangeChunk-1)/rangeChunk)
	for i, c := range count {
		chunks[i/rangeChunk] = max(chunks[i/rangeChunk], c)
	}
	t.levels = [][]int32{chunks}
	for k := 1; 1<<k <= len(chunks); k++ {
		prev := t.levels[k-1]
		cur := make([]int32, len(chunks)-1<<k+1)
		for i := range cur {
			cur[i] = max(prev[i], prev[i+1<<(k-1)])
		}
		t.levels = append(t.levels, cur)
	}
	return t
}

// max is the largest value over the positions the ranges cover.
func (t *rangeMax) max(ranges []lrange) int {
	if t.low {
		return 0
	}
	best := int32(0)
	for _, r := range ranges {
		from, to := r.from, r.to // positions from..to-1
		if to <= from {
			continue
		}
		first, last := (from+rangeChunk-1)/rangeChunk, to/rangeChunk // whole chunks first..last-1
		if first >= last {
			for _, c := range t.count[from:to] {
				best = max(best, c)
			}
			continue
		}
		for _, c := range t.count[from : first*rangeChunk] {
			best = max(best, c)
		}
		for _, c := range t.count[last*rangeChunk : to] {
			best = max(best, c)
		}
		k := bits.Len(uint(last-first)) - 1
		best = max(best, t.levels[k][first], t.levels[k][last-1<<k])
	}
	return int(best)
}
