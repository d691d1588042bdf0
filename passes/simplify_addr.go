package passes

import "github.com/bpfopt/bpfopt/ir"

// Address offsets. A load or store adds its offset to its address for
// free (MIPS base+disp16), so a constant added into an address is best
// moved into the offsets of the memory ops that use it:
//
//   - Load [off] (Add32 x, c) → Load [off+c] x, when every use of the
//     Add32 is the address of a memory op: the Add32 dies;
//   - Load [off] (Add32 (Add32 x, c), y) → Load [off+c] (Add32 x, y), y
//     not a constant, rewriting the outer Add32 in place under the same
//     condition: one add either way, and the inner one dies when the
//     outer was its last user. clang's packet pointers (ctx + 32 + i) and
//     the array walks of the bench take this form.
//
// Each new offset must keep the access within the 16-bit displacement.
// This runs once after the rounds: the rules need every user of a value,
// which the rounds do not index, and nothing else in simplify looks at
// memory offsets.

// maxAccessSpan is the widest access an offset must leave room for
// (Load64, Store64 and the 64-bit atomics: 8 bytes).
const maxAccessSpan = 8

// foldAddressOffsets applies the two rules to a fixed point; it reports
// a change.
func (s *simplifier) foldAddressOffsets() bool {
	users := map[*ir.Value][]*ir.Value{} // address → the memory ops using it as such
	var work []*ir.Value
	for _, b := range s.f.Blocks {
		for _, v := range b.Values {
			if !isAddressed(v) {
				continue
			}
			a := v.Args[0]
			if a.Op == ir.OpAdd32 && users[a] == nil {
				work = append(work, a)
			}
			users[a] = append(users[a], v)
		}
	}
	changed := false
	for len(work) > 0 {
		a := work[len(work)-1]
		work = work[:len(work)-1]
		us := users[a]
		// Uses counts every argument slot, so a store of the address
		// itself (as data) fails the test too.
		if a.Op != ir.OpAdd32 || len(us) == 0 || a.Uses != len(us) {
			continue
		}
		base, c, rest, ok := s.addressConstant(a)
		if !ok || !offsetsFit(us, c) {
			continue
		}
		for _, u := range us {
			u.AuxInt += c
		}
		changed = true
		if rest == nil { // Add32 x, c: the users address x itself
			for _, u := range us {
				u.SetArg(0, base)
			}
			delete(users, a)
			if users[base] == nil {
				work = append(work, base)
			}
			users[base] = append(users[base], us...)
			s.stats["address constants folded"]++
			continue
		}
		inner := a.Args[0]
		if a.Args[1] != rest {
			inner = a.Args[1]
		}
		a.Reset(ir.OpAdd32, ir.I32, base, rest)
		s.stats["address constants folded"]++
		if inner.Uses == 0 {
			s.sweepDead([]*ir.Value{inner})
		}
		work = append(work, a) // base may itself carry a constant
	}
	if changed {
		s.sweepDead(nil)
	}
	return changed
}

// isAddressed reports a memory op, whose first argument is the address
// its offset is added to.
func isAddressed(v *ir.Value) bool {
	return v.Op.Info().Aux == ir.AuxOffset && len(v.Args) > 0
}

// addressConstant matches a = Add32 x, c (rest nil) and a = Add32 (Add32
// x, c), rest with rest not a constant, in either operand order; it
// returns x, c and rest.
func (s *simplifier) addressConstant(a *ir.Value) (base *ir.Value, c int64, rest *ir.Value, ok bool) {
	if x, k, ok := s.commuted(a); ok {
		return x, int64(int32(k)), nil, true
	}
	for i, in := range a.Args {
		if in.Op != ir.OpAdd32 || in == a.Args[1-i] {
			continue
		}
		if x, k, ok := s.commuted(in); ok {
			return x, int64(int32(k)), a.Args[1-i], true
		}
	}
	return nil, 0, nil, false
}

// offsetsFit reports whether every op in us can take c more in its
// offset and still reach its whole access with a 16-bit displacement.
func offsetsFit(us []*ir.Value, c int64) bool {
	for _, u := range us {
		off := u.AuxInt + c
		if !fitsInt16(off) || !fitsInt16(off+maxAccessSpan-1) {
			return false
		}
	}
	return true
}

func fitsInt16(x int64) bool { return x >= -1<<15 && x < 1<<15 }
