package ir

import (
	"fmt"
	"strings"
)

// The verifier checks the invariants every pass may rely on and must keep,
// in the spirit of Go's ssa/check.go and Cranelift's verifier: structure
// first (pointers, IDs, edges), so that the later checks (types per the op
// table, use counts, SSA dominance) can walk the function without fear of
// nil pointers. It stops at the first problem and reports it with the block,
// the value and the whole printed function.

// VerifyOptions selects phase invariants.
type VerifyOptions struct {
	// NoI64 holds after legalize64: no I64 value, no op that takes or makes
	// an I64, runtime calls in split form (I64 parameters as lo, hi i32
	// arguments, I64 results as Pair) and returns as (lo, hi).
	NoI64 bool
}

// VerifyError is a broken invariant.
type VerifyError struct {
	Func string
	Msg  string // names the block and value
	Dump string // the printed function
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("verify %s: %s\n%s", e.Func, e.Msg, e.Dump)
}

// Verify checks f and returns the first broken invariant.
func Verify(f *Func, opts VerifyOptions) error {
	if f == nil {
		return &VerifyError{Msg: "nil function"}
	}
	c := &checker{f: f, opts: opts}
	if msg := c.check(); msg != "" {
		return &VerifyError{Func: f.Name, Msg: msg, Dump: safeString(f.String)}
	}
	return nil
}

type checker struct {
	f    *Func
	opts VerifyOptions
	// Filled by the structural checks, for the later ones.
	blockByID []*Block // by ID
	valueByID []*Value // by ID
	pos       []int    // index of each value in its block, by ID
}

// errorf formats a message; the checks return it (empty: no error).
func errorf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func valueErr(v *Value, format string, args ...any) string {
	where := "v" + fmt.Sprint(v.ID)
	if v.Block != nil {
		where = fmt.Sprintf("b%d: %s", v.Block.ID, safeString(v.LongString))
	}
	return where + ": " + fmt.Sprintf(format, args...)
}

// safeString prints something that may be too broken to print.
func safeString(print func() string) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("(cannot be printed: %v)", r)
		}
	}()
	return print()
}

func (c *checker) check() string {
	for _, step := range []func() string{c.checkBlocks, c.checkEdges, c.checkValues, c.checkTypes, c.checkControls, c.checkUses, c.checkDominance} {
		if msg := step(); msg != "" {
			return msg
		}
	}
	return ""
}

// checkBlocks: IDs, owners, kinds, successor counts, Likely.
func (c *checker) checkBlocks() string {
	f := c.f
	if len(f.Blocks) == 0 {
		return "function has no blocks"
	}
	c.blockByID = make([]*Block, f.NumBlocks())
	for i, b := range f.Blocks {
		if b == nil {
			return errorf("Blocks[%d] is nil", i)
		}
		if b.ID < 0 || b.ID >= f.NumBlocks() {
			return errorf("b%d: ID outside [0, NumBlocks=%d)", b.ID, f.NumBlocks())
		}
		if c.blockByID[b.ID] != nil {
			return errorf("b%d: block ID used twice", b.ID)
		}
		c.blockByID[b.ID] = b
		if b.Func != f {
			return errorf("b%d: Block.Func is not this function", b.ID)
		}
		var nsuccs int
		switch b.Kind {
		case BlockJump:
			nsuccs = 1
		case BlockIf:
			nsuccs = 2
		case BlockRet, BlockTailCall:
			nsuccs = 0
		default:
			return errorf("b%d: invalid block kind %v", b.ID, b.Kind)
		}
		if len(b.Succs) != nsuccs {
			return errorf("b%d: %v block has %d successors, want %d", b.ID, b.Kind, len(b.Succs), nsuccs)
		}
		if b.Likely < -1 || b.Likely >= len(b.Succs) {
			return errorf("b%d: Likely=%d is not a successor index", b.ID, b.Likely)
		}
		for i, v := range b.Controls {
			if v == nil {
				return errorf("b%d: control %d is nil", b.ID, i)
			}
		}
	}
	return ""
}

// checkControls: the controls' number and types per block kind.
func (c *checker) checkControls() string {
	for _, b := range c.f.Blocks {
		if msg := c.checkBlockControls(b); msg != "" {
			return msg
		}
	}
	return ""
}

func (c *checker) checkBlockControls(b *Block) string {
	types := make([]string, len(b.Controls))
	for i, v := range b.Controls {
		types[i] = v.Type.String()
	}
	got := strings.Join(types, ", ")
	switch {
	case b.Kind == BlockJump && len(b.Controls) == 0,
		b.Kind == BlockIf && got == "i32",
		b.Kind == BlockRet && got == "i32, i32",
		b.Kind == BlockRet && got == "i64" && !c.opts.NoI64,
		b.Kind == BlockTailCall && got == "i32, i32, i32, i32":
		return ""
	}
	want := map[BlockKind]string{BlockJump: "none", BlockIf: "one i32", BlockRet: "one i64 or two i32 (lo, hi)", BlockTailCall: "four i32 (target, ctx, len, count)"}[b.Kind]
	return errorf("b%d: %v block has controls (%s), want %s", b.ID, b.Kind, got, want)
}

// checkEdges: successors and predecessors are blocks of f and mirror each
// other, multiplicity included; the entry has no predecessors.
func (c *checker) checkEdges() string {
	f := c.f
	type edge struct{ from, to *Block }
	count := map[edge]int{}
	for _, b := range f.Blocks {
		for _, s := range b.Succs {
			if !c.owns(s) {
				return errorf("b%d: successor is not a block of this function", b.ID)
			}
			count[edge{b, s}]++
		}
	}
	for _, b := range f.Blocks {
		for _, p := range b.Preds {
			if !c.owns(p) {
				return errorf("b%d: predecessor is not a block of this function", b.ID)
			}
			e := edge{p, b}
			if count[e] == 0 {
				return errorf("b%d lists b%d as a predecessor more often than b%d lists it as a successor", b.ID, p.ID, p.ID)
			}
			count[e]--
		}
	}
	for _, b := range f.Blocks {
		for _, s := range b.Succs {
			if count[edge{b, s}] > 0 {
				return errorf("b%d lists b%d as a successor more often than b%d lists it as a predecessor", b.ID, s.ID, s.ID)
			}
		}
	}
	if len(f.Entry().Preds) > 0 {
		return errorf("entry block b%d has predecessors", f.Entry().ID)
	}
	return ""
}

// owns reports whether x is one of f's blocks.
func (c *checker) owns(x *Block) bool {
	return x != nil && x.ID >= 0 && x.ID < len(c.blockByID) && c.blockByID[x.ID] == x
}

// checkValues: IDs, owners, argument pointers, phi placement and count.
func (c *checker) checkValues() string {
	f := c.f
	c.valueByID = make([]*Value, f.NumValues())
	c.pos = make([]int, f.NumValues())
	for _, b := range f.Blocks {
		for i, v := range b.Values {
			if v == nil {
				return errorf("b%d: Values[%d] is nil", b.ID, i)
			}
			if v.ID < 0 || v.ID >= f.NumValues() {
				return errorf("b%d: v%d: ID outside [0, NumValues=%d)", b.ID, v.ID, f.NumValues())
			}
			if c.valueByID[v.ID] != nil {
				return errorf("b%d: v%d: value ID used twice", b.ID, v.ID)
			}
			c.valueByID[v.ID] = v
			c.pos[v.ID] = i
			if v.Block != b {
				return errorf("b%d: v%d: Value.Block is not the block holding it", b.ID, v.ID)
			}
		}
	}
	member := func(a *Value) bool { return a != nil && a.ID >= 0 && a.ID < len(c.valueByID) && c.valueByID[a.ID] == a }
	for _, b := range f.Blocks {
		for i, v := range b.Values {
			for j, a := range v.Args {
				if !member(a) {
					return errorf("b%d: v%d: argument %d is nil or not a value of this function", b.ID, v.ID, j)
				}
			}
			if v.Op == OpPhi {
				if i > 0 && b.Values[i-1].Op != OpPhi {
					return valueErr(v, "phi after a non-phi value")
				}
				if len(b.Preds) == 0 {
					return valueErr(v, "phi in a block without predecessors")
				}
				if len(v.Args) != len(b.Preds) {
					return valueErr(v, "phi has %d arguments, block has %d predecessors", len(v.Args), len(b.Preds))
				}
			}
		}
		for i, v := range b.Controls {
			if !member(v) {
				return errorf("b%d: control %d is not a value of this function", b.ID, i)
			}
		}
	}
	return ""
}

// checkTypes: ops, aux fields, argument and result types per the op table.
func (c *checker) checkTypes() string {
	for _, b := range c.f.Blocks {
		for _, v := range b.Values {
			if v.Op <= OpInvalid || v.Op >= opCount {
				return errorf("b%d: v%d: invalid op %d", b.ID, v.ID, v.Op)
			}
			if msg := c.checkAux(v); msg != "" {
				return msg
			}
			if msg := c.checkValueTypes(v); msg != "" {
				return msg
			}
			// With every argument and result type checked against the op
			// table, no i64 value also means no op that takes or makes one.
			if c.opts.NoI64 && v.Type == I64 {
				return valueErr(v, "i64 value after legalize64 (%v)", v.Op)
			}
		}
	}
	return ""
}

func (c *checker) checkAux(v *Value) string {
	info := v.Op.Info()
	if v.Sym != "" && info.Aux != AuxSym {
		return valueErr(v, "%v takes no Sym, has %q", v.Op, v.Sym)
	}
	if v.Align != 0 && !takesAlign(v.Op) {
		return valueErr(v, "%v takes no Align, has %d", v.Op, v.Align)
	}
	if v.Align&(v.Align-1) != 0 {
		return valueErr(v, "alignment %d is not a power of two", v.Align)
	}
	switch info.Aux {
	case AuxNone, AuxSym:
		if v.Op == OpCall { // AuxInt is the call's memory effect
			return c.checkCallEffect(v)
		}
		if v.AuxInt != 0 {
			return valueErr(v, "%v takes no AuxInt, has %d", v.Op, v.AuxInt)
		}
		if info.Aux == AuxSym && v.Sym == "" {
			return valueErr(v, "%v needs a Sym", v.Op)
		}
	case AuxOffset:
		if v.AuxInt != int64(int32(v.AuxInt)) {
			return valueErr(v, "offset %d does not fit in 32 bits", v.AuxInt)
		}
	}
	switch v.Op {
	case OpArg:
		if v.AuxInt < 0 {
			return valueErr(v, "negative argument index")
		}
	case OpLocalAddr:
		if v.AuxInt < 0 || v.AuxInt >= int64(c.f.NumLocals) {
			return valueErr(v, "local slot %d outside [0, locals=%d)", v.AuxInt, c.f.NumLocals)
		}
	}
	return ""
}

// checkCallEffect checks a Call's Sym and memory effect (effect.go): an
// encoding KnownEffect makes, naming only parameters the call has.
func (c *checker) checkCallEffect(v *Value) string {
	if v.Sym == "" {
		return valueErr(v, "%v needs a Sym", v.Op)
	}
	e := CallEffect(v.AuxInt)
	if v.AuxInt != int64(e) || !e.valid() {
		return valueErr(v, "AuxInt %#x is not a call effect", v.AuxInt)
	}
	words := 0
	for _, a := range v.Args {
		words += a.Type.Bits() / 32
	}
	if e.Known() && (e.ReadMask()|e.WriteMask())>>(words/2) != 0 {
		return valueErr(v, "the effect %s names a parameter the call does not have (it has %d)", e, words/2)
	}
	return ""
}

func (c *checker) checkValueTypes(v *Value) string {
	info := v.Op.Info()
	if !info.Variadic {
		if len(v.Args) != len(info.Args) {
			return valueErr(v, "%v takes %d arguments, has %d", v.Op, len(info.Args), len(v.Args))
		}
		for i, a := range v.Args {
			want := info.Args[i]
			if want == TypeVoid && a.Type == TypeVoid || want != TypeVoid && a.Type != want {
				return valueErr(v, "argument %d (v%d) has type %v, want %v", i, a.ID, a.Type, typeWanted(want))
			}
		}
	}
	if !info.ResultFromValue {
		if v.Type != info.Result {
			return valueErr(v, "type %v, want %v", v.Type, info.Result)
		}
		return ""
	}
	switch v.Op {
	case OpPhi:
		if v.Type != I32 && v.Type != I64 {
			return valueErr(v, "phi of type %v, want i32 or i64", v.Type)
		}
		for i, a := range v.Args {
			if a.Type != v.Type {
				return valueErr(v, "argument %d (v%d) has type %v, want %v", i, a.ID, a.Type, v.Type)
			}
		}
	case OpCopy:
		if v.Type != v.Args[0].Type || v.Type == Pair {
			return valueErr(v, "copy of type %v from a %v value", v.Type, v.Args[0].Type)
		}
	case OpCallRuntime, OpCall:
		return c.checkCall(v)
	default:
		return valueErr(v, "no type rule for %v", v.Op)
	}
	return ""
}

func typeWanted(t Type) string {
	if t == TypeVoid {
		return "any non-void type"
	}
	return t.String()
}

// checkCall matches a runtime call against the runtime table. Before
// legalize64 an I64 parameter is one i64 argument and an I64 result is an
// i64 value; after, the parameter is two i32 arguments (lo, hi) and the
// result a Pair. Without NoI64 either form is accepted, but one call may not
// mix them.
func (c *checker) checkCall(v *Value) string {
	rf, ok := CallSignature(v)
	if !ok {
		return valueErr(v, "unknown runtime function %q (or odd argument words for a Call)", v.Sym)
	}
	var whole, split []Type
	for _, p := range rf.Params {
		whole = append(whole, p)
		if p == I64 {
			split = append(split, I32, I32)
		} else {
			split = append(split, p)
		}
	}
	argTypes := make([]Type, len(v.Args))
	for i, a := range v.Args {
		argTypes[i] = a.Type
	}
	isWhole, isSplit := typesEqual(argTypes, whole), typesEqual(argTypes, split)
	if c.opts.NoI64 {
		isWhole = false
	}
	if !isWhole && !isSplit {
		want := fmt.Sprintf("(%s)", typeList(split))
		if !c.opts.NoI64 && len(whole) != len(split) {
			want = fmt.Sprintf("(%s) or, split, %s", typeList(whole), want)
		}
		return valueErr(v, "arguments (%s) do not match %s's parameters %s", typeList(argTypes), v.Sym, want)
	}
	wantType := []Type{rf.Result}
	if rf.Result == I64 {
		switch {
		case isWhole && isSplit: // no I64 parameter: the arguments do not tell the stage
			wantType = []Type{I64, Pair}
		case isSplit:
			wantType = []Type{Pair}
		}
	}
	for _, t := range wantType {
		if v.Type == t {
			return ""
		}
	}
	return valueErr(v, "call of %s has type %v, want %s", v.Sym, v.Type, strings.ReplaceAll(typeList(wantType), ",", " or"))
}

func typesEqual(a, b []Type) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func typeList(ts []Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// checkUses: Value.Uses matches the real count.
func (c *checker) checkUses() string {
	uses := make([]int, c.f.NumValues())
	for _, b := range c.f.Blocks {
		for _, v := range b.Values {
			for _, a := range v.Args {
				uses[a.ID]++
			}
		}
		for _, v := range b.Controls {
			uses[v.ID]++
		}
	}
	for _, b := range c.f.Blocks {
		for _, v := range b.Values {
			if v.Uses != uses[v.ID] {
				return valueErr(v, "Uses=%d, but it is used %d times", v.Uses, uses[v.ID])
			}
		}
	}
	return ""
}

// checkDominance: every block is reachable and every use is dominated by
// its definition (a phi's argument at the end of the matching predecessor,
// a control at the end of its block).
func (c *checker) checkDominance() string {
	dom := computeDominance(c.f)
	for _, b := range c.f.Blocks {
		if !dom.reachable(b) {
			return errorf("b%d is not reachable from the entry", b.ID)
		}
	}
	// available reports whether def's value is available at index i of b
	// (i == len(b.Values): at the end of b).
	available := func(def *Value, b *Block, i int) bool {
		if def.Block == b {
			return c.pos[def.ID] < i
		}
		return dom.dominates(def.Block, b)
	}
	for _, b := range c.f.Blocks {
		for i, v := range b.Values {
			for j, a := range v.Args {
				if v.Op == OpPhi {
					p := b.Preds[j]
					if !available(a, p, len(p.Values)) {
						return valueErr(v, "argument %d (v%d, from b%d) does not dominate the end of predecessor b%d", j, a.ID, a.Block.ID, p.ID)
					}
				} else if !available(a, b, i) {
					return valueErr(v, "argument %d (v%d, in b%d) does not dominate this use", j, a.ID, a.Block.ID)
				}
			}
		}
		for i, v := range b.Controls {
			if !available(v, b, len(b.Values)) {
				return errorf("b%d: control %d (v%d, in b%d) does not dominate the end of the block", b.ID, i, v.ID, v.Block.ID)
			}
		}
	}
	return ""
}
