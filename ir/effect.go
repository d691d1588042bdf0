package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// CallEffect is what a Call may do to memory, kept in the call's AuxInt
// (Call has a Sym and no other use for AuxInt) and printed after its
// arguments as "reads=LIST writes=LIST", each LIST "none" or parameter
// registers "r2,r3". Without it a pass must assume the worst of every
// call, and stack slots could not outlive a helper that takes a key.
//
// The zero value is the unknown effect, printed as nothing: the call may
// read and write any memory and keep any pointer it receives — a
// subprogram (it may reach its caller's stack through a pointer it gets),
// callx, a helper the frontend does not know. A call made (or rebuilt by
// a pass) without the fact is therefore the worst case, never a wrong
// promise.
//
// A known effect lists the parameters (r1..r5: parameter i is Args[i]
// before legalize64, the words Args[2i] and Args[2i+1] after, see
// CallParamOf) through which the call may read memory, and those through
// which it may write, and promises:
//
//   - it reads and writes memory only through those parameters. Through
//     parameter i means, when the parameter is a stack address
//     FramePtr+off, the bytes from there to the end of the frame
//     [FramePtr+off, FramePtr); when it is any other pointer, whatever the
//     program could reach from that pointer (never the stack, unless the
//     program stored a stack address to memory);
//   - it keeps no stack address it receives: its result is not one (a
//     map value, a ring-buffer record: memory of its own), it stores none
//     to memory, and no later call can use one.
//
// No read and no write (reads=none writes=none) is a call that touches no
// memory of the program, though it still has effects of its own (a clock,
// a random generator): a Call is always a side effect.
type CallEffect uint32

// MaxCallParams is the number of parameters of a BPF call (r1..r5).
const MaxCallParams = 5

const (
	effectKnown      CallEffect = 1 << 16
	effectWriteShift            = 8
	paramMask                   = 1<<MaxCallParams - 1
)

// KnownEffect is the effect of a call that reads memory only through the
// parameters whose bits are set in reads (bit i: parameter i, BPF
// register r(i+1)) and writes only through those in writes. Bits beyond
// MaxCallParams are dropped.
func KnownEffect(reads, writes uint8) CallEffect {
	return effectKnown | CallEffect(reads&paramMask) | CallEffect(writes&paramMask)<<effectWriteShift
}

// Known reports whether e is a known effect (not the unknown zero value).
func (e CallEffect) Known() bool { return e&effectKnown != 0 }

// ReadMask is the set of parameters e may read through (bit i: parameter
// i); for the unknown effect, all of them.
func (e CallEffect) ReadMask() uint8 {
	if !e.Known() {
		return paramMask
	}
	return uint8(e & paramMask)
}

// WriteMask is the set of parameters e may write through; for the unknown
// effect, all of them.
func (e CallEffect) WriteMask() uint8 {
	if !e.Known() {
		return paramMask
	}
	return uint8(e >> effectWriteShift & paramMask)
}

// valid reports whether e is an encoding KnownEffect makes (or zero).
func (e CallEffect) valid() bool {
	return e == 0 || e == KnownEffect(e.ReadMask(), e.WriteMask())
}

// String is the printed form: "reads=r2 writes=r1", "" when unknown.
func (e CallEffect) String() string {
	if !e.Known() {
		return ""
	}
	return "reads=" + paramList(e.ReadMask()) + " writes=" + paramList(e.WriteMask())
}

func paramList(mask uint8) string {
	if mask == 0 {
		return "none"
	}
	var regs []string
	for i := range MaxCallParams {
		if mask&(1<<i) != 0 {
			regs = append(regs, "r"+strconv.Itoa(i+1))
		}
	}
	return strings.Join(regs, ",")
}

// parseParam reads one register of a reads=/writes= list ("r1".."r5").
func parseParam(s string) (uint8, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "r"))
	if !strings.HasPrefix(s, "r") || err != nil || n < 1 || n > MaxCallParams {
		return 0, fmt.Errorf("%q is not a parameter register r1..r%d", s, MaxCallParams)
	}
	return 1 << (n - 1), nil
}

// CallEffect is the memory effect of a Call (unknown for other ops).
func (v *Value) CallEffect() CallEffect {
	if v.Op != OpCall {
		return 0
	}
	return CallEffect(v.AuxInt)
}

// SetCallEffect records the memory effect of the Call v.
func (v *Value) SetCallEffect(e CallEffect) { v.AuxInt = int64(e) }

// CallParamOf says which parameter argument i of the Call v carries, and
// whether it is the parameter's low word (always, before legalize64, when
// every argument is a whole i64; after it, the even arguments).
func (v *Value) CallParamOf(i int) (param int, low bool) {
	if len(v.Args) > 0 && v.Args[0].Type == I64 {
		return i, true
	}
	return i / 2, i%2 == 0
}
