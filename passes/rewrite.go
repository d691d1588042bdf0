package passes

import (
	"slices"

	"github.com/bpfopt/bpfopt/ir"
)

// Helpers the passes share to rewrite values: replacement tables, the
// entry block's constants, and statistics.

// resolve follows v through the replacement table repl (by value ID).
func resolve(repl []*ir.Value, v *ir.Value) *ir.Value {
	for v.ID < len(repl) && repl[v.ID] != nil {
		v = repl[v.ID]
	}
	return v
}

// entryConstants hands out Const32 values defined at the top of the entry
// block, reusing the entry block's own constants: with leadingOnly, only
// those before its first other value, which dominate every use; otherwise
// any, which dominate every use outside the entry block and every control.
type entryConstants struct {
	f     *ir.Func
	cache map[uint32]*ir.Value
	made  []*ir.Value
}

func newEntryConstants(f *ir.Func, leadingOnly bool) *entryConstants {
	k := &entryConstants{f: f, cache: map[uint32]*ir.Value{}}
	for _, v := range f.Entry().Values {
		if v.Op != ir.OpConst32 {
			if leadingOnly {
				break
			}
			continue
		}
		if _, ok := k.cache[uint32(v.AuxInt)]; !ok {
			k.cache[uint32(v.AuxInt)] = v
		}
	}
	return k
}

// get returns the constant c; a new one waits at the end of the entry
// block until place.
func (k *entryConstants) get(c uint32) *ir.Value {
	if v, ok := k.cache[c]; ok {
		return v
	}
	v := k.f.Entry().NewValue(ir.OpConst32, ir.I32)
	v.AuxInt = int64(int32(c))
	k.cache[c] = v
	k.made = append(k.made, v)
	return v
}

// place moves the constants get made to the top of the entry block.
func (k *entryConstants) place() {
	if len(k.made) == 0 {
		return
	}
	e := k.f.Entry()
	out := slices.Clone(k.made)
	for _, v := range e.Values {
		if !slices.Contains(k.made, v) {
			out = append(out, v)
		}
	}
	e.Values = out
	k.made = nil
}

// replaceValues makes every use of a value v with repl[v.ID] != nil (args
// and controls, through chains) use the replacement, and deletes v. Each
// replacement must dominate the uses of what it replaces.
func replaceValues(f *ir.Func, repl []*ir.Value) {
	for _, b := range f.Blocks {
		out := b.Values[:0]
		for _, v := range b.Values {
			if v.ID < len(repl) && repl[v.ID] != nil {
				v.ResetArgs()
				continue
			}
			for i, a := range v.Args {
				if w := resolve(repl, a); w != a {
					v.SetArg(i, w)
				}
			}
			out = append(out, v)
		}
		clear(b.Values[len(out):])
		b.Values = out
		for i, c := range b.Controls {
			if w := resolve(repl, c); w != c {
				c.Uses--
				w.Uses++
				b.Controls[i] = w
			}
		}
	}
}

// deleteZeros drops the counters that stayed 0, so reports list only what
// a pass did.
func deleteZeros(st Stats) {
	for k, n := range st {
		if n == 0 {
			delete(st, k)
		}
	}
}
