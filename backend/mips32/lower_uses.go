package mips32

import "github.com/bpfopt/bpfopt/ir"

// Use lists, for the selections that depend on what every use of a value
// reads (lower_bswap.go, redundantMask). The IR keeps only use counts;
// the lists are made on the first question, in one pass over the
// function.

// usersOf returns the values that take v as an argument (once each).
func (l *lowerer) usersOf(v *ir.Value) []*ir.Value {
	l.makeUses()
	return l.users[v.ID]
}

// isControl reports whether v is a control of some block (If, Ret, ...).
func (l *lowerer) isControl(v *ir.Value) bool {
	l.makeUses()
	return l.controls[v.ID]
}

func (l *lowerer) makeUses() {
	if l.users != nil {
		return
	}
	l.users = make([][]*ir.Value, l.f.NumValues())
	l.controls = make([]bool, l.f.NumValues())
	for _, b := range l.f.Blocks {
		for _, u := range b.Values {
			for i, a := range u.Args {
				if i == 0 || !argSeen(u.Args[:i], a) {
					l.users[a.ID] = append(l.users[a.ID], u)
				}
			}
		}
		for _, c := range b.Controls {
			l.controls[c.ID] = true
		}
	}
}

func argSeen(args []*ir.Value, a *ir.Value) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// redundantMask reports an And32 that every use may read unmasked: a
// byte or halfword difference compared below a bound,
//
//	v = And32 (Add32 x #-k) #M       M = 0xff or 0xffff, x <= M, 0 < k <= M
//	uses: LtU32 v #n (n + k <= M+1), LeU32 v #n (n + 1 + k <= M+1)
//
// as clang writes c >= 'A' && c <= 'Z' on a byte ((u8)(c - 'A') < 26).
// Where x >= k the mask changes nothing; where x < k the masked
// difference is at least M+1-k >= n and the unmasked one at least
// 2^32-M: both compares are false. The And is then a copy, coalesced.
func (l *lowerer) redundantMask(v *ir.Value) (*ir.Value, bool) {
	if v.Op != ir.OpAnd32 {
		return nil, false
	}
	y, m, ok := withConst(v)
	if !ok || (m != 0xff && m != 0xffff) || y.Op != ir.OpAdd32 || l.isControl(v) {
		return nil, false
	}
	x, c, ok := withConst(y)
	k := uint64(-c)
	if !ok || k == 0 || k > uint64(m) || maxValue(x, maxValueDepth) > uint64(m) {
		return nil, false
	}
	for _, u := range l.usersOf(v) {
		if u.Op != ir.OpLtU32 && u.Op != ir.OpLeU32 {
			return nil, false
		}
		n, ok := constOf(u.Args[1])
		if u.Args[0] != v || !ok {
			return nil, false
		}
		bound := uint64(n) // the smallest value the compare is false for
		if u.Op == ir.OpLeU32 {
			bound++
		}
		if bound+k > uint64(m)+1 {
			return nil, false
		}
	}
	return y, true
}
