package passes

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bpfopt/bpfopt/ir"
)

// The pipeline, readable in one place: the table below lists every pass in
// the order it runs, the lowest optimization level that runs it, and what
// it needs; passOrder says which pass must come before which, and why. Both
// are checked when the package starts (a table that breaks a constraint
// panics in init, so a bad edit fails every test at once) and again for
// any explicit pass list a caller gives.

// Kind says whether a pass may change the function.
type Kind uint8

const (
	// Transform passes rewrite the function.
	Transform Kind = iota
	// Analysis passes only compute facts; with Config.VerifyEach the
	// pipeline checks that the function's text did not change.
	Analysis
)

func (k Kind) String() string {
	if k == Analysis {
		return "analysis"
	}
	return "transform"
}

// Stats are a pass's own counters (values split, edges split, blocks
// removed, ...), keyed by what they count. fmt prints maps sorted by key,
// so a printed Stats is deterministic.
type Stats map[string]int

// Pass is one entry of the pipeline table.
type Pass struct {
	Name string
	Kind Kind
	// MinLevel is the lowest optimization level (-O0, -O1, -O2) that runs
	// the pass.
	MinLevel int
	// Run does the work and returns the pass's counters.
	Run func(f *ir.Func, c *Config) (Stats, error)
	// NeedsI32Only marks passes that assume legalize64 has run: no i64
	// value or op in the function.
	NeedsI32Only bool
	// RemovesI64 marks the pass after which no i64 may remain; the
	// verifier checks that invariant from then on.
	RemovesI64 bool
	// Doc is one line for -help style listings.
	Doc string
}

// MaxLevel is the highest optimization level.
const MaxLevel = 2

// passTable lists every pass in pipeline order. To add a pass, add a row
// (and any constraint below); levels pick rows by MinLevel.
//
// -O1 runs the passes that pay for themselves on every program: simplify
// (which applies sccp's rules in each of its rounds, so sccp adds nothing
// there), deadcode and cfg. -O2 adds cse and, after it, sccp, to fold
// what merging exposes (Eq32 v, v); cfg then folds the branches sccp
// decides and sweeps what they leave, deadcode's work, so no second
// deadcode (nor simplify: on the conformance suite and the clang corpus
// it found nothing more after cse) is needed.
var passTable = []*Pass{
	{Name: "promote", MinLevel: 2, Run: promotePass,
		Doc: "turn stack slots the function alone reaches into SSA values, with phis where paths meet"},
	{Name: "ranges", MinLevel: 2, Run: rangesPass,
		Doc: "narrow 64-bit arithmetic and compares to 32 bits where value ranges prove the high words zero"},
	{Name: "ptrcmp", MinLevel: 2, Run: ptrcmpPass,
		Doc: "compare pointers with a common base by their offsets, and sums with a carry by the carry and the low words"},
	{Name: "legalize64", MinLevel: 0, Run: legalize64Pass, RemovesI64: true,
		Doc: "split every 64-bit value into 32-bit halves (dec64 style)"},
	{Name: "simplify", MinLevel: 1, Run: simplifyPass,
		Doc: "fold constants and identities, and the high-word work known bits prove unneeded"},
	{Name: "deadcode", MinLevel: 1, Run: deadcodePass,
		Doc: "fold constant branches, remove unreachable blocks and dead values"},
	{Name: "memfwd", MinLevel: 2, Run: memfwdPass, NeedsI32Only: true,
		Doc: "forward stack stores to the loads that read them back; remove stack stores nobody reads"},
	{Name: "strength", MinLevel: 2, Run: strengthPass, NeedsI32Only: true,
		Doc: "multiply by constants with shifts and adds, divide by constants with a multiply-high"},
	{Name: "cse", MinLevel: 2, Run: csePass,
		Doc: "merge equal pure values, and equal loads no store may separate, over the dominator tree"},
	{Name: "bounds", MinLevel: 2, Run: boundsPass, NeedsI32Only: true,
		Doc: "decide packet bounds checks that an earlier check on the same pointers implies"},
	{Name: "sccp", MinLevel: 2, Run: sccpPass,
		Doc: "fold the values and branches conditional constant propagation proves constant"},
	{Name: "cfg", MinLevel: 1, Run: cfgPass,
		Doc: "fold branches, thread jumps over constant phis, remove empty blocks, merge straight-line blocks"},
	{Name: "ifconv", MinLevel: 2, Run: ifconvPass, NeedsI32Only: true,
		Doc: "turn branches that only choose between values into selects"},
	{Name: "licm", MinLevel: 2, Run: licmPass,
		Doc: "hoist loop-invariant pure values into loop preheaders, made where missing"},
	{Name: "align", MinLevel: 1, Run: alignPass,
		Doc: "raise the alignment of loads, stores and atomics to what the address's trailing zero bits prove"},
	{Name: "splitcrit", MinLevel: 0, Run: splitcritPass,
		Doc: "split critical edges so the backend can place phi moves on them"},
}

// anyPass in a constraint stands for every other pass.
const anyPass = "*"

type constraint struct {
	before, after string
	reason        string
}

// passOrder lists "before runs before after" constraints. A constraint
// only applies when both passes are in the list being run. Passes marked
// NeedsI32Only get an implicit {"legalize64", name} constraint.
var passOrder = []constraint{
	{"legalize64", "deadcode",
		"deadcode sweeps the halves legalize64 leaves unused and folds branches on the constants it exposes"},
	{"legalize64", "simplify",
		"simplify works on i32 values: its high-word rules need the halves legalize64 makes"},
	{"simplify", "deadcode",
		"deadcode folds the branches simplify decides and removes the phi cycles and blocks it leaves dead"},
	{"simplify", "cse",
		"simplify puts equal expressions in one form (constants folded, copies forwarded, operands reassociated), so that cse finds them equal"},
	{"cse", "sccp",
		"sccp folds what merging exposes: Eq32 v, v and Sub32 v, v once both operands are one value"},
	{"sccp", "cfg",
		"sccp leaves a decided If with a constant control and both edges; cfg folds it and sweeps what only the dead edge reached"},
	{"simplify", "cfg",
		"cfg threads jumps only over phi arguments that are Const32 values, and simplify makes them so"},
	{"ranges", "legalize64",
		"ranges reads and rewrites i64 ops (counters, bounds, their compares), which legalize64 splits; the ZeroExt32to64 it leaves get constant-0 high words"},
	{"ranges", "ptrcmp",
		"ptrcmp's rules need what ranges leaves 64-bit: the compares whose sides do not fit in 32 bits"},
	{"ptrcmp", "legalize64",
		"ptrcmp reads pointer sums as i64 adds of a base and offsets, which legalize64 splits into carry chains"},
	{"simplify", "memfwd",
		"simplify folds Int64Lo(ZeroExt32to64(FramePtr)) and the address adds into FramePtr + constant, the exact stack slots memfwd needs"},
	{"promote", "ranges",
		"clang spills loop bounds and counters to the stack; promoted, ranges sees their values and can narrow them"},
	{"promote", "memfwd", "memfwd forwards what promote leaves in memory (slots of escaped stacks) and needs no phis for what it took"},
	{"promote", "cse", "promoted reloads become the values stored, which cse can merge"},
	{"promote", "ifconv", "a slot stored on both arms of a branch becomes a phi, which ifconv turns into a select"},
	{"promote", "licm", "a promoted slot is no longer memory a loop writes, so what depends on it may be invariant"},
	{"memfwd", "sccp", "sccp folds what the forwarded constants decide"},
	{"strength", "cse", "x/d and x%d produce the same multiply-high and shifts, and cse merges them"},
	{"cse", "bounds", "bounds matches data and data_end by value identity"},
	{"bounds", "cfg", "cfg folds the branches bounds makes constant"},
	{"cfg", "ifconv",
		"cfg's jump threading removes branches on phis of constants outright; ifconv would turn those phis into selects first"},
	{"memfwd", "ifconv", "forwarded reloads can leave arms that only choose values"},
	{"cse", "licm", "cse merges equal values across the loop first; licm only merges what lands in one preheader"},
	{"memfwd", "licm", "forwarding makes more values invariant"},
	{anyPass, "splitcrit",
		"splitcrit must run last: the backend places phi moves on edges, and a later CFG change could create critical edges again"},
}

func init() {
	if err := checkOrder(passTable); err != nil {
		panic("passes: the pass table breaks its own ordering constraints: " + err.Error())
	}
	seen := map[string]bool{}
	for _, p := range passTable {
		if seen[p.Name] {
			panic("passes: duplicate pass " + p.Name)
		}
		seen[p.Name] = true
	}
	for _, c := range passOrder {
		for _, n := range []string{c.before, c.after} {
			if n != anyPass && !seen[n] {
				panic("passes: ordering constraint names unknown pass " + n)
			}
		}
	}
}

// constraintsFor adds the implicit constraints of list's passes.
func constraintsFor(list []*Pass) []constraint {
	cs := slices.Clone(passOrder)
	for _, p := range list {
		if p.NeedsI32Only {
			cs = append(cs, constraint{"legalize64", p.Name, p.Name + " assumes i32-only IR, which legalize64 establishes"})
		}
	}
	return cs
}

// checkOrder reports the first constraint that list breaks.
func checkOrder(list []*Pass) error {
	index := func(name string) int {
		return slices.IndexFunc(list, func(p *Pass) bool { return p.Name == name })
	}
	for _, c := range constraintsFor(list) {
		a := index(c.after)
		if a < 0 {
			continue
		}
		if c.before == anyPass {
			if a != len(list)-1 {
				return fmt.Errorf("%s must come after %s: %s", c.after, list[len(list)-1].Name, c.reason)
			}
			continue
		}
		if b := index(c.before); b >= 0 && b > a {
			return fmt.Errorf("%s must come before %s: %s", c.before, c.after, c.reason)
		}
	}
	return nil
}

// Lookup finds a pass by name.
func Lookup(name string) (*Pass, bool) {
	i := slices.IndexFunc(passTable, func(p *Pass) bool { return p.Name == name })
	if i < 0 {
		return nil, false
	}
	return passTable[i], true
}

// AllPasses lists every pass in pipeline order.
func AllPasses() []*Pass { return slices.Clone(passTable) }

// Select returns the passes to run: the explicit names in order if any are
// given, otherwise the passes of the level.
func Select(level int, names []string) ([]*Pass, error) {
	if len(names) == 0 {
		if level < 0 || level > MaxLevel {
			return nil, fmt.Errorf("optimization level %d out of range 0..%d", level, MaxLevel)
		}
		var list []*Pass
		for _, p := range passTable {
			if p.MinLevel <= level {
				list = append(list, p)
			}
		}
		return list, nil
	}
	var list []*Pass
	for _, n := range names {
		p, ok := Lookup(n)
		if !ok {
			return nil, fmt.Errorf("unknown pass %q (known: %s)", n, strings.Join(passNames(passTable), ", "))
		}
		list = append(list, p)
	}
	if err := checkOrder(list); err != nil {
		return nil, err
	}
	return list, nil
}

func passNames(list []*Pass) []string {
	names := make([]string, len(list))
	for i, p := range list {
		names[i] = p.Name
	}
	return names
}

// Config tunes a pipeline run.
type Config struct {
	// BigEndian: the target stores the high word of a 64-bit value first.
	BigEndian bool
	// VerifyEach runs ir.Verify on the input and after every pass.
	VerifyEach bool
	// DumpAfter names passes (comma-separated, or "all") after which the
	// function's text is written to Dump, under a line "; after PASS".
	DumpAfter string
	Dump      io.Writer
	// Passes, when non-empty, is the explicit list of passes to run, in
	// order; it overrides the level.
	Passes []string
}

// Report collects what each pass did.
type Report struct {
	Func   string
	Passes []PassReport
}

// PassReport is one pass's effect on the function.
type PassReport struct {
	Pass                      string
	ValuesBefore, ValuesAfter int
	BlocksBefore, BlocksAfter int
	Stats                     Stats
	Duration                  time.Duration
}

// String formats the report without timings, so that it is deterministic.
func (r *Report) String() string {
	var sb strings.Builder
	for _, p := range r.Passes {
		fmt.Fprintf(&sb, "%s %-12s values %d -> %d, blocks %d -> %d", r.Func, p.Pass,
			p.ValuesBefore, p.ValuesAfter, p.BlocksBefore, p.BlocksAfter)
		if len(p.Stats) > 0 {
			fmt.Fprintf(&sb, " %v", map[string]int(p.Stats))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Run runs the passes of the level (or c.Passes) on f, in place.
func Run(f *ir.Func, level int, c *Config) (*Report, error) {
	if c == nil {
		c = &Config{}
	}
	list, err := Select(level, c.Passes)
	if err != nil {
		return nil, err
	}
	return runList(f, list, c)
}

func runList(f *ir.Func, list []*Pass, c *Config) (*Report, error) {
	dump, err := dumpSet(c)
	if err != nil {
		return nil, err
	}
	rep := &Report{Func: f.Name}
	if len(f.Blocks) == 0 {
		return rep, fmt.Errorf("function %s has no blocks", f.Name)
	}
	noI64 := false
	if c.VerifyEach {
		if err := ir.Verify(f, ir.VerifyOptions{}); err != nil {
			return rep, fmt.Errorf("input of the pipeline is invalid: %w", err)
		}
	}
	for _, p := range list {
		pr := PassReport{Pass: p.Name, ValuesBefore: countValues(f), BlocksBefore: len(f.Blocks)}
		var text string
		if p.Kind == Analysis && c.VerifyEach {
			text = f.String()
		}
		start := time.Now()
		st, err := p.Run(f, c)
		pr.Duration = time.Since(start)
		if err != nil {
			return rep, fmt.Errorf("pass %s on %s: %w", p.Name, f.Name, err)
		}
		pr.Stats, pr.ValuesAfter, pr.BlocksAfter = st, countValues(f), len(f.Blocks)
		rep.Passes = append(rep.Passes, pr)
		noI64 = noI64 || p.RemovesI64
		if c.VerifyEach {
			if p.Kind == Analysis && f.String() != text {
				return rep, fmt.Errorf("analysis pass %s changed function %s", p.Name, f.Name)
			}
			if err := ir.Verify(f, ir.VerifyOptions{NoI64: noI64}); err != nil {
				return rep, fmt.Errorf("pass %s broke function %s: %w", p.Name, f.Name, err)
			}
		}
		if dump["all"] || dump[p.Name] {
			if _, err := fmt.Fprintf(c.Dump, "; after %s\n%s", p.Name, f); err != nil {
				return rep, fmt.Errorf("dump after %s: %w", p.Name, err)
			}
		}
	}
	return rep, nil
}

// dumpSet parses Config.DumpAfter.
func dumpSet(c *Config) (map[string]bool, error) {
	if c.DumpAfter == "" {
		return nil, nil
	}
	if c.Dump == nil {
		return nil, errors.New("DumpAfter is set but Dump is nil")
	}
	set := map[string]bool{}
	for _, n := range strings.Split(c.DumpAfter, ",") {
		n = strings.TrimSpace(n)
		if _, ok := Lookup(n); !ok && n != "all" {
			return nil, fmt.Errorf("dump after unknown pass %q (known: all, %s)", n, strings.Join(passNames(passTable), ", "))
		}
		set[n] = true
	}
	return set, nil
}

func countValues(f *ir.Func) int {
	n := 0
	for _, b := range f.Blocks {
		n += len(b.Values)
	}
	return n
}
