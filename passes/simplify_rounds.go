package passes

import (
	"slices"
	"strings"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/ssa"
)

// simplify's rounds. A rewrite can let a rule match that did not before:
// a phi whose back-edge argument was forwarded, an op on an operand just
// folded or rewritten, a value whose known bits are sharper than the
// analysis found for what it was. So the rules apply until nothing
// changes.
//
// The first round analyzes the function (KnownBits) and visits every
// value in reverse postorder. Another round like it would redo the
// analysis and the visit of millions of values to change a few hundred,
// so after it simplify works off a list: a change to a value — rewritten,
// forwarded, folded, given other arguments, or its known bits improved —
// marks the values that can see it, its users up to simplifyDepth levels
// up (the deepest rule, wideEquality through signCopy's selects, reads
// values five levels down), and the Ifs they control. The marked values
// are visited in reverse postorder, those the visit marks further on in
// the same pass; marks behind it (phis across back edges) wait for the
// next pass. After a change the known bits of the changed value and of
// its users are recomputed while they improve (Bits.refine): a rewrite
// keeps each value's meaning, so the old fact and the new one both hold.
//
// That recomputation is pessimistic: it cannot find what only the
// analysis's optimistic start finds (a loop-carried value proven constant
// once the loop's other edge is simplified). So when nothing is marked,
// the analysis runs again and its facts are merged in; the values whose
// facts improved are changes like any other, and when none did, the pass
// ends — at a state where a round of every rule over every value, with a
// fresh analysis, would change nothing, as it did when every round was
// such a round.
//
// After each pass over the marked values, the values left unused are
// removed, starting from the values that lost a use, and with them the
// libgcc division calls whose results are no longer used
// (simplify_div.go).

// simplifyRounds bounds the analyses, and the passes over marked values
// after each.
const simplifyRounds = 8

// simplifyDepth is how far up from a change its users are visited again.
const simplifyDepth = 5

func simplifyPass(f *ir.Func, _ *Config) (Stats, error) {
	f.ComputeUses()
	high := highWordOps(f)
	s := newSimplifier(f)
	changed := s.fullRound()
	s.sweepDead(nil)
	if changed {
		s.track = newSimplifyTracker(f, s.rpoIndex, len(s.rpo), &s.gone)
		for _, v := range s.takeChanged() {
			s.noteChange(v, true) // a back-edge phi was only resolved
		}
		for analyses := 1; ; analyses++ {
			for i := 0; i < simplifyRounds && s.track.anyMarked(); i++ {
				s.markedRound()
				s.sweepDead(s.track.takeLost())
			}
			if analyses == simplifyRounds || !s.mergeAnalysis() {
				break
			}
		}
	}
	s.foldAddressOffsets() // simplify_addr.go
	s.stats["high-word operations removed"] = countRemoved(f, high)
	deleteZeros(s.stats)
	return s.stats, nil
}

type simplifier struct {
	f        *ir.Func
	kb       *Bits
	rpo      []*ir.Block
	rpoIndex []int32 // by block ID: the index in rpo, -1 if unreachable
	// repl, by value ID, is the value that replaces it this round;
	// forwarded lists the values that have one.
	repl      []*ir.Value
	forwarded []*ir.Value
	k         *entryConstants // constants made this round
	// before maps a value ID to the values made this round to go just
	// before it (they wait at the end of the block until the round ends).
	before   map[int][]*ir.Value
	narrowed map[int]*ir.Value // by call ID: the low word of a narrowed division
	// changed collects, during the first round, the values it rewrote,
	// forwarded or gave other arguments.
	changed []*ir.Value
	track   *simplifyTracker // after the first round
	removed []bool           // sweepDead's marks, by value ID
	gone    valueSet         // the values sweepDead removed
	stats   Stats
}

func newSimplifier(f *ir.Func) *simplifier {
	s := &simplifier{f: f, stats: Stats{}, rpo: ssa.ReversePostorder(f)} // simplify keeps the CFG
	s.rpoIndex = make([]int32, f.NumBlocks())
	for i := range s.rpoIndex {
		s.rpoIndex[i] = -1 // unreachable: only its arguments are resolved
	}
	for i, b := range s.rpo {
		s.rpoIndex[b.ID] = int32(i)
	}
	return s
}

func (s *simplifier) beginRound() {
	s.k = newEntryConstants(s.f, true) // new values may sit in the entry block
	s.before = map[int][]*ir.Value{}
	s.narrowed = map[int]*ir.Value{}
	if n := s.f.NumValues(); len(s.repl) < n {
		s.repl = slices.Grow(s.repl, n-len(s.repl))[:n]
	}
}

func (s *simplifier) endRound() {
	s.placeNewValues()
	for _, v := range s.forwarded {
		s.repl[v.ID] = nil
	}
	s.forwarded = s.forwarded[:0]
}

// forward makes w replace v.
func (s *simplifier) forward(v, w *ir.Value) {
	s.repl[v.ID] = w
	s.forwarded = append(s.forwarded, v)
}

// changedValue records a change to v: during the first round for later,
// after it at once; revisit says v itself has rules left to try.
func (s *simplifier) changedValue(v *ir.Value, revisit bool) {
	if s.track == nil {
		s.changed = append(s.changed, v)
		return
	}
	s.noteChange(v, revisit)
}

func (s *simplifier) takeChanged() []*ir.Value {
	c := s.changed
	s.changed = nil
	return c
}

// visit resolves v's arguments and applies the rules to it.
func (s *simplifier) visit(v *ir.Value) bool {
	resolved := s.resolveArgs(v)
	changed := s.value(v)
	if resolved || changed {
		s.changedValue(v, false) // value applied every rule it could
	}
	return changed
}

// fullRound analyzes the function and runs every rule once over it; it
// reports a change.
func (s *simplifier) fullRound() bool {
	s.kb = KnownBits(s.f)
	s.beginRound()
	changed := false
	for _, b := range s.rpo {
		for _, v := range b.Values {
			if s.visit(v) {
				changed = true
			}
		}
		s.resolveControls(b)
		if s.control(b) {
			changed = true
		}
	}
	// Back-edge phi arguments and blocks the order left out.
	for _, b := range s.f.Blocks {
		for _, v := range b.Values {
			if s.resolveArgs(v) {
				s.changedValue(v, true)
			}
		}
		s.resolveControls(b)
	}
	s.endRound()
	return changed
}

// markedRound visits the marked values and Ifs in reverse postorder.
func (s *simplifier) markedRound() {
	t := s.track
	s.beginRound()
	t.startRound()
	for {
		i := t.nextBlock()
		if i < 0 {
			break
		}
		b := s.rpo[i]
		for _, v := range b.Values {
			if v.ID < len(t.dirty) && t.dirty[v.ID] {
				t.dirty[v.ID] = false
				s.visit(v)
			}
		}
		if t.ctrlDirty[b.ID] {
			t.ctrlDirty[b.ID] = false
			s.resolveControls(b)
			s.control(b)
		}
	}
	t.endRound()
	// The users of the values forwarded this round take the replacement
	// now, wherever they are, so that the forwarded values die.
	for _, v := range s.forwarded {
		t.forUsers(v, func(u *ir.Value) {
			if s.resolveArgs(u) {
				s.noteChange(u, true)
			}
		})
		for _, b := range t.controlled(v) {
			if s.resolveControls(b) {
				t.markControl(b)
			}
		}
	}
	s.endRound()
}

// noteChange recomputes the known bits from v up while they improve, and
// marks what can see v or an improved fact (and v itself with revisit).
func (s *simplifier) noteChange(v *ir.Value, revisit bool) {
	t := s.track
	if s.gone.has(v) {
		return
	}
	t.markUsers(v, revisit)
	work := []*ir.Value{v}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		if s.gone.has(x) || !s.kb.refine(x) {
			continue
		}
		t.markUsers(x, true)
		t.forUsers(x, func(u *ir.Value) { work = append(work, u) })
	}
}

// mergeAnalysis analyzes the function again and merges the facts in; the
// values whose facts improved count as changed. It reports whether any
// did.
func (s *simplifier) mergeAnalysis() bool {
	improved := s.kb.merge(s.f, KnownBits(s.f))
	for _, v := range improved {
		s.noteChange(v, true)
	}
	return len(improved) > 0
}

// simplifyTracker knows the users of values after the first round, marks
// the values a change may let a rule match, and hands out their blocks in
// reverse postorder.
type simplifyTracker struct {
	// users indexes the users when the tracker was made; more, by value
	// ID, the values that started using it since (entries may be stale:
	// a visit that finds nothing to do costs little).
	users    *userIndex
	more     map[int32][]*ir.Value
	controls map[int32][]*ir.Block // by value ID: the Ifs it controls, then or since
	rpoIndex []int32
	// dirty and ctrlDirty mark, by value and block ID, the values and
	// controls to visit. Their blocks are pending (by index in reverse
	// postorder) for this pass when after cursor, for the next one in
	// later otherwise.
	dirty     []bool
	ctrlDirty []bool
	pending   []bool
	cursor    int
	later     []int32
	inLater   []bool
	// reach, by value ID, is 1 + how many levels above a value markUsers
	// has marked this pass; reached lists the values it set.
	reach   []int8
	reached []*ir.Value
	// lost lists the values that lost a use since the last sweep.
	lost  []*ir.Value
	queue []markItem // markUsers' work
	gone  *valueSet  // the simplifier's: values removed, which lists may still name
}

// valueSet is a set of values by ID.
type valueSet struct{ in []bool }

func (m *valueSet) set(v *ir.Value) {
	if v.ID >= len(m.in) {
		m.in = slices.Grow(m.in, v.ID+1-len(m.in))[:v.ID+1]
	}
	m.in[v.ID] = true
}

func (m *valueSet) has(v *ir.Value) bool { return v.ID < len(m.in) && m.in[v.ID] }

// markItem is a value to mark, and how many levels up from it to mark.
type markItem struct {
	v     *ir.Value
	depth int8
}

func newSimplifyTracker(f *ir.Func, rpoIndex []int32, nrpo int, gone *valueSet) *simplifyTracker {
	t := &simplifyTracker{
		gone:      gone,
		users:     newUserIndex(f, false, nil),
		more:      map[int32][]*ir.Value{},
		controls:  map[int32][]*ir.Block{},
		rpoIndex:  rpoIndex,
		dirty:     make([]bool, f.NumValues()),
		ctrlDirty: make([]bool, f.NumBlocks()),
		pending:   make([]bool, nrpo),
		cursor:    nrpo, // between passes every mark is for the next one
		inLater:   make([]bool, nrpo),
		reach:     make([]int8, f.NumValues()),
	}
	for _, b := range f.Blocks {
		for _, c := range b.Controls {
			t.newControl(c, b)
		}
	}
	return t
}

func (t *simplifyTracker) forUsers(v *ir.Value, do func(u *ir.Value)) {
	for _, u := range t.users.of(v) {
		do(u)
	}
	for _, u := range t.more[int32(v.ID)] {
		do(u)
	}
}

func (t *simplifyTracker) controlled(v *ir.Value) []*ir.Block { return t.controls[int32(v.ID)] }

// markUsers marks v's users up to simplifyDepth levels up, v itself with
// self, and the Ifs any of them control (breadth first, so that each value
// is expanded once per pass from its nearest change).
func (t *simplifyTracker) markUsers(v *ir.Value, self bool) {
	queue := t.queue[:0]
	defer func() { t.queue = queue[:0] }()
	if self {
		queue = append(queue, markItem{v, simplifyDepth})
	} else {
		for _, b := range t.controlled(v) {
			t.markControl(b)
		}
		t.forUsers(v, func(u *ir.Value) { queue = append(queue, markItem{u, simplifyDepth - 1}) })
	}
	for head := 0; head < len(queue); head++ {
		it := queue[head]
		x := it.v
		if t.gone.has(x) {
			continue
		}
		if x.ID >= len(t.reach) {
			t.reach = slices.Grow(t.reach, x.ID+1-len(t.reach))[:x.ID+1]
		}
		if t.reach[x.ID] > it.depth {
			continue // marked from nearer already
		}
		if t.reach[x.ID] == 0 {
			t.reached = append(t.reached, x)
		}
		t.reach[x.ID] = it.depth + 1
		t.markValue(x)
		for _, b := range t.controlled(x) {
			t.markControl(b)
		}
		if it.depth > 0 {
			t.forUsers(x, func(u *ir.Value) { queue = append(queue, markItem{u, it.depth - 1}) })
		}
	}
}

func (t *simplifyTracker) markValue(v *ir.Value) {
	if v.ID >= len(t.dirty) {
		t.dirty = slices.Grow(t.dirty, v.ID+1-len(t.dirty))[:v.ID+1]
	}
	if !t.dirty[v.ID] {
		t.dirty[v.ID] = true
		t.addBlock(v.Block)
	}
}

func (t *simplifyTracker) markControl(b *ir.Block) {
	if !t.ctrlDirty[b.ID] {
		t.ctrlDirty[b.ID] = true
		t.addBlock(b)
	}
}

func (t *simplifyTracker) addBlock(b *ir.Block) {
	i := t.rpoIndex[b.ID]
	switch {
	case i < 0: // unreachable: never visited
	case int(i) > t.cursor:
		t.pending[i] = true
	case !t.inLater[i]:
		t.inLater[i] = true
		t.later = append(t.later, i)
	}
}

func (t *simplifyTracker) anyMarked() bool { return len(t.later) > 0 }

// startRound makes the marks for the next pass pending.
func (t *simplifyTracker) startRound() {
	t.cursor = -1
	for _, i := range t.later {
		t.pending[i], t.inLater[i] = true, false
	}
	t.later = t.later[:0]
	t.clearReach()
}

// nextBlock returns the index of the next pending block and moves the
// cursor there, or -1.
func (t *simplifyTracker) nextBlock() int {
	for t.cursor++; t.cursor < len(t.pending); t.cursor++ {
		if t.pending[t.cursor] {
			t.pending[t.cursor] = false
			return t.cursor
		}
	}
	return -1
}

func (t *simplifyTracker) endRound() {
	t.cursor = len(t.pending)
	t.clearReach()
}

func (t *simplifyTracker) clearReach() {
	for _, v := range t.reached {
		t.reach[v.ID] = 0
	}
	t.reached = t.reached[:0]
}

// The hooks below record the rewrites' effects on uses; they do nothing
// outside incremental rounds (t nil).

// newUse records that u uses w.
func (t *simplifyTracker) newUse(w, u *ir.Value) {
	if t != nil && w.Op != ir.OpConst32 {
		t.more[int32(w.ID)] = append(t.more[int32(w.ID)], u)
	}
}

// newUses records that u uses its arguments.
func (t *simplifyTracker) newUses(u *ir.Value) {
	for _, a := range u.Args {
		t.newUse(a, u)
	}
}

// newControl records that w controls b.
func (t *simplifyTracker) newControl(w *ir.Value, b *ir.Block) {
	if t != nil {
		t.controls[int32(w.ID)] = append(t.controls[int32(w.ID)], b)
	}
}

func (t *simplifyTracker) lostUse(v *ir.Value) {
	if t != nil {
		t.lost = append(t.lost, v)
	}
}

func (t *simplifyTracker) lostUses(vs []*ir.Value) {
	if t != nil {
		t.lost = append(t.lost, vs...)
	}
}

func (t *simplifyTracker) takeLost() []*ir.Value {
	l := t.lost
	t.lost = nil
	if l == nil {
		l = []*ir.Value{} // an empty seed list, not "every value"
	}
	return l
}

// newBefore makes op(args) to be placed just before at.
func (s *simplifier) newBefore(at *ir.Value, op ir.Op, args ...*ir.Value) *ir.Value {
	w := at.Block.NewValue(op, op.Info().Result, args...)
	s.before[at.ID] = append(s.before[at.ID], w)
	s.track.newUses(w)
	s.changedValue(w, true)
	return w
}

// placeNewValues moves the values made this round from the end of their
// blocks to their places: constants first in the entry block, the others
// just before the value they were made for.
func (s *simplifier) placeNewValues() {
	s.k.place()
	if len(s.before) == 0 {
		return
	}
	moved := map[*ir.Value]bool{}
	var blocks []*ir.Block
	for _, vs := range s.before {
		for _, v := range vs {
			moved[v] = true
			if !slices.Contains(blocks, v.Block) {
				blocks = append(blocks, v.Block)
			}
		}
	}
	for _, b := range blocks {
		out := make([]*ir.Value, 0, len(b.Values))
		for _, v := range b.Values {
			if moved[v] {
				continue
			}
			out = append(out, s.before[v.ID]...)
			out = append(out, v)
		}
		b.Values = out
	}
}

// sweepDead removes the values without uses or side effects, and the
// division calls without uses, to a fixed point: starting from seeds, or
// from every value when seeds is nil.
func (s *simplifier) sweepDead(seeds []*ir.Value) {
	removable := func(v *ir.Value) bool {
		return v.Uses == 0 && (!v.Op.Info().SideEffect || isDivisionCall(v))
	}
	var work []*ir.Value
	if seeds == nil {
		for _, b := range s.f.Blocks {
			for _, v := range b.Values {
				if removable(v) {
					work = append(work, v)
				}
			}
		}
	} else {
		for _, v := range seeds {
			if removable(v) {
				work = append(work, v)
			}
		}
	}
	if len(work) == 0 {
		return
	}
	if n := s.f.NumValues(); len(s.removed) < n {
		s.removed = make([]bool, n)
	}
	var blocks []*ir.Block // holding removed values
	var gone []*ir.Value
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		if s.removed[v.ID] {
			continue
		}
		s.removed[v.ID] = true
		gone = append(gone, v)
		if isDivisionCall(v) {
			s.stats["division calls removed"]++
		} else {
			s.stats["values removed"]++
		}
		if seeds != nil && !slices.Contains(blocks, v.Block) {
			blocks = append(blocks, v.Block)
		}
		for _, a := range v.Args {
			a.Uses--
			if !s.removed[a.ID] && removable(a) {
				work = append(work, a)
			}
		}
		v.Args = v.Args[:0]
	}
	if seeds == nil {
		blocks = s.f.Blocks
	}
	for _, b := range blocks {
		out := b.Values[:0]
		for _, v := range b.Values {
			if !s.removed[v.ID] {
				out = append(out, v)
			}
		}
		clear(b.Values[len(out):])
		b.Values = out
	}
	for _, v := range gone {
		s.removed[v.ID] = false
		s.gone.set(v)
	}
}

// isDivisionCall reports a libgcc division call, which is pure.
func isDivisionCall(v *ir.Value) bool {
	_, ok := narrowDivision[v.Sym]
	return ok && v.Op == ir.OpCallRuntime
}

// highWordOps marks the values that do high-word work, for the statistic
// "high-word operations removed": the non-constant values legalize64
// names as a high word or a carry into one ("hi of v7", "carry of v7",
// ...), those that read such a value, and those used only by values
// already marked. The last set grows from a worklist: each value counts
// its uses by values not yet marked and joins when the count drops to 0.
func highWordOps(f *ir.Func) []bool {
	n := f.NumValues()
	high := make([]bool, n)
	isHighWord := func(v *ir.Value) bool {
		for _, p := range []string{"hi of ", "carry of ", "borrow of ", "safe divisor hi of "} {
			if strings.HasPrefix(v.Comment, p) {
				return true
			}
		}
		return false
	}
	candidate := func(v *ir.Value) bool { return v.Op != ir.OpConst32 && !v.Op.Info().SideEffect }
	uses := make([]int32, n)     // uses by values
	unmarked := make([]int32, n) // of those, uses by values not marked yet
	control := make([]bool, n)
	var work []*ir.Value // marked values whose uses have not been discounted
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			for _, a := range v.Args {
				uses[a.ID]++
				if isHighWord(a) && candidate(v) {
					high[v.ID] = true
				}
			}
			if isHighWord(v) && candidate(v) {
				high[v.ID] = true
			}
			if high[v.ID] {
				work = append(work, v)
			}
		}
		for _, c := range b.Controls {
			control[c.ID] = true
		}
	}
	copy(unmarked, uses)
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		for _, a := range v.Args {
			unmarked[a.ID]--
			if !high[a.ID] && candidate(a) && !control[a.ID] && uses[a.ID] > 0 && unmarked[a.ID] == 0 {
				high[a.ID] = true
				work = append(work, a)
			}
		}
	}
	return high
}

// countRemoved counts the marked values that are gone or now constants.
func countRemoved(f *ir.Func, marked []bool) int {
	present := make([]bool, len(marked))
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.ID < len(present) && v.Op != ir.OpConst32 {
				present[v.ID] = true
			}
		}
	}
	n := 0
	for id, m := range marked {
		if m && !present[id] {
			n++
		}
	}
	return n
}
