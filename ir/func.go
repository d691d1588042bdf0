package ir

// Func is one function in SSA form.
type Func struct {
	Name   string
	Blocks []*Block // Blocks[0] is the entry block
	// NumLocals is the number of 8-byte compiler scratch slots (OpLocalAddr).
	NumLocals int

	nextValueID int
	nextBlockID int
}

// BlockKind is the kind of a block's terminator.
type BlockKind uint8

const (
	BlockInvalid BlockKind = iota
	BlockJump              // goto Succs[0]
	BlockIf                // Controls[0] != 0 ? Succs[0] : Succs[1]
	BlockRet               // return Controls: one i64, or (lo, hi) i32 words after legalize64
	// BlockTailCall leaves for another program and never comes back: jump
	// to the program whose entry address is Controls[0], with ctx
	// Controls[1], len Controls[2] and tail-call count Controls[3] (all i32).
	BlockTailCall
)

var blockKindNames = [...]string{BlockInvalid: "Invalid", BlockJump: "Jump", BlockIf: "If", BlockRet: "Ret", BlockTailCall: "TailCall"}

func (k BlockKind) String() string {
	if int(k) < len(blockKindNames) {
		return blockKindNames[k]
	}
	return "BlockKind?"
}

// Block is a basic block.
type Block struct {
	ID       int
	Kind     BlockKind
	Values   []*Value // in execution order; phis first
	Controls []*Value
	Succs    []*Block
	Preds    []*Block // phi arguments follow this order
	Func     *Func
	// Likely is the index of the successor expected to be taken more often
	// (-1: unknown); block layout uses it.
	Likely int
}

// Value is one SSA definition.
type Value struct {
	ID   int
	Op   Op
	Type Type
	// Align is, for memory ops, the proven alignment of the accessed
	// address, and for Arg the alignment the caller guarantees for the
	// argument (0/1 = unknown). (It sits next to Op and Type, where it
	// fits in padding: a function can have millions of values.)
	Align  uint8
	Args   []*Value
	AuxInt int64
	Sym    string
	Block  *Block
	// Comment is free text shown after the value in dumps (e.g. "hi of v7"
	// after legalize64); it carries no semantics and the parser ignores it.
	Comment string
	// Uses counts uses by values and block controls; maintained by the
	// mutators below and recomputed by Func.ComputeUses.
	Uses int
}

// NewFunc makes an empty function.
func NewFunc(name string) *Func { return &Func{Name: name} }

// NewBlock appends a new block.
func (f *Func) NewBlock(kind BlockKind) *Block {
	b := &Block{ID: f.nextBlockID, Kind: kind, Func: f, Likely: -1}
	f.nextBlockID++
	f.Blocks = append(f.Blocks, b)
	return b
}

// NumValues is one more than the largest value ID, for ID-indexed tables.
func (f *Func) NumValues() int { return f.nextValueID }

// NumBlocks is one more than the largest block ID.
func (f *Func) NumBlocks() int { return f.nextBlockID }

// Entry is the entry block.
func (f *Func) Entry() *Block { return f.Blocks[0] }

func (f *Func) newValue(op Op, t Type, b *Block, args []*Value) *Value {
	v := &Value{ID: f.nextValueID, Op: op, Type: t, Block: b}
	f.nextValueID++
	if len(args) > 0 {
		v.Args = append(make([]*Value, 0, len(args)), args...)
		for _, a := range args {
			a.Uses++
		}
	}
	return v
}

// NewValue appends a value to the end of b. The result type comes from the
// op table unless the op takes its type from the value (pass t then).
func (b *Block) NewValue(op Op, t Type, args ...*Value) *Value {
	v := b.Func.newValue(op, t, b, args)
	b.Values = append(b.Values, v)
	return v
}

// NewValueAt inserts a value at index i of b.Values.
func (b *Block) NewValueAt(i int, op Op, t Type, args ...*Value) *Value {
	v := b.Func.newValue(op, t, b, args)
	b.Values = append(b.Values, nil)
	copy(b.Values[i+1:], b.Values[i:])
	b.Values[i] = v
	return v
}

// AddEdgeTo adds b → c, appending to b.Succs and c.Preds.
func (b *Block) AddEdgeTo(c *Block) {
	b.Succs = append(b.Succs, c)
	c.Preds = append(c.Preds, b)
}

// SetControls replaces the block's controls, keeping use counts.
func (b *Block) SetControls(vs ...*Value) {
	for _, v := range b.Controls {
		v.Uses--
	}
	b.Controls = append(b.Controls[:0], vs...)
	for _, v := range vs {
		v.Uses++
	}
}

// AddArg appends an argument.
func (v *Value) AddArg(a *Value) {
	v.Args = append(v.Args, a)
	a.Uses++
}

// SetArg replaces argument i.
func (v *Value) SetArg(i int, a *Value) {
	v.Args[i].Uses--
	v.Args[i] = a
	a.Uses++
}

// ResetArgs drops all arguments.
func (v *Value) ResetArgs() {
	for _, a := range v.Args {
		a.Uses--
	}
	v.Args = v.Args[:0]
}

// Reset turns v into a different op with new arguments, keeping its ID and place.
func (v *Value) Reset(op Op, t Type, args ...*Value) {
	v.ResetArgs()
	v.Op, v.Type, v.AuxInt, v.Sym, v.Align = op, t, 0, "", 0
	for _, a := range args {
		v.AddArg(a)
	}
}

// ReplaceUses makes every use of old (values and controls) use new instead.
func (f *Func) ReplaceUses(old, new *Value) {
	if old == new {
		return
	}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			for i, a := range v.Args {
				if a == old {
					v.SetArg(i, new)
				}
			}
		}
		for i, c := range b.Controls {
			if c == old {
				b.Controls[i] = new
				old.Uses--
				new.Uses++
			}
		}
	}
}

// ComputeUses recounts Value.Uses from scratch.
func (f *Func) ComputeUses() {
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			v.Uses = 0
		}
	}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			for _, a := range v.Args {
				a.Uses++
			}
		}
		for _, c := range b.Controls {
			c.Uses++
		}
	}
}

// RemoveDeadValues deletes values with no uses and no side effects, to a
// fixed point. It returns how many were removed.
func (f *Func) RemoveDeadValues() int {
	return f.RemoveDeadValuesFrom(func(*Value) bool { return true })
}

// RemoveDeadValuesFrom is RemoveDeadValues starting from the unused values
// that seed accepts: it removes them and, to a fixed point, every value
// without side effects whose uses were all removed. It returns how many
// values it removed.
//
// It works off a list: a removed value's arguments lose a use each and
// join the list when that was their last, so a chain of dead values goes
// in one sweep over the function instead of one sweep per link.
func (f *Func) RemoveDeadValuesFrom(seed func(v *Value) bool) int {
	removable := func(v *Value) bool { return v.Uses == 0 && !v.Op.Info().SideEffect }
	var work []*Value
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if removable(v) && seed(v) {
				work = append(work, v)
			}
		}
	}
	if len(work) == 0 {
		return 0
	}
	removed := make([]bool, f.NumValues())
	n := 0
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		if removed[v.ID] {
			continue
		}
		removed[v.ID] = true
		n++
		for _, a := range v.Args {
			a.Uses--
			if !removed[a.ID] && removable(a) {
				work = append(work, a)
			}
		}
		v.Args = v.Args[:0]
	}
	for _, b := range f.Blocks {
		out := b.Values[:0]
		for _, v := range b.Values {
			if !removed[v.ID] {
				out = append(out, v)
			}
		}
		clear(b.Values[len(out):])
		b.Values = out
	}
	return n
}

// IsConst reports whether v is an integer constant.
func (v *Value) IsConst() bool { return v.Op == OpConst32 || v.Op == OpConst64 }

// LongString is v's one-line text form, as the printer writes it.
func (v *Value) LongString() string { return formatValue(v) }
