package sim

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/ir"
)

// outside handles a fetch outside the code: the return to ExitAddress, a
// call of a runtime routine, or a fault. It reports whether to go on, at
// c.pc.
func (c *cpu) outside(pc uint32, inSlot bool) bool {
	if !inSlot {
		if pc == ExitAddress {
			c.finish()
			return false
		}
		if o := pc - RuntimeBase; o%runtimeStride == 0 && o/runtimeStride < uint32(len(c.prog.syms)) {
			return c.call(&c.prog.syms[o/runtimeStride])
		}
	}
	codeLen := uint32(len(c.prog.insts)) * 4
	f := &Fault{Kind: Unmapped, PC: pc, Addr: pc, Msg: "instruction fetch from an unmapped address"}
	switch {
	case pc&3 != 0:
		f.Kind, f.Msg = AddressError, "instruction fetch from a misaligned address"
	case pc == CodeBase+codeLen:
		f.Msg = "the function ran off the end of its code"
	}
	if pc-CodeBase <= codeLen {
		f.PC, f.InCode = pc-CodeBase, true
	}
	if inSlot { // the delay slot of the code's last instruction
		f.PC, f.InCode, f.DelaySlot = pc-4-CodeBase, true, true
		f.Msg = "the delay slot lies outside the code"
	}
	c.fault = f
	return false
}

// finish checks the O32 contract at the final return and takes the result.
func (c *cpu) finish() {
	v0, v1 := c.r[2], c.r[3]
	if c.mem.be {
		v0, v1 = v1, v0
	}
	c.r0 = uint64(v1)<<32 | uint64(v0)
	c.returned = true
	var bad []string
	for _, reg := range []mips32.Reg{mips32.S0, mips32.S1, mips32.S2, mips32.S3, mips32.S4, mips32.S5, mips32.S6, mips32.S7, mips32.FP, mips32.SP, mips32.GP} {
		if before, after := c.entry[reg], c.r[reg]; before != after {
			bad = append(bad, fmt.Sprintf("%s not preserved (0x%08x before the call, 0x%08x after)", reg, before, after))
		}
	}
	if bad != nil {
		c.fault = &Fault{Kind: ABIViolation, PC: ExitAddress, Msg: strings.Join(bad, "; ")}
	}
}

// call serves a call of a runtime routine: it checks the O32 contract,
// reads the arguments, runs the routine's Eval, returns its result in
// v0/v1, clobbers what a C callee may clobber, and returns to ra.
func (c *cpu) call(s *symbol) bool {
	r := &c.r
	sp, ra := r[mips32.SP], r[mips32.RA]
	abi := func(format string, args ...any) bool {
		c.fault = &Fault{Kind: ABIViolation, PC: s.addr,
			Msg: fmt.Sprintf("call of %s from %s: ", s.name, c.site(ra)) + fmt.Sprintf(format, args...)}
		return false
	}
	if sp%mips32.StackAlign != 0 {
		return abi("sp = 0x%08x is not %d-byte aligned", sp, mips32.StackAlign)
	}
	if !c.mem.inStack(sp, mips32.HomeAreaSize) {
		return abi("the %d-byte home area at sp = 0x%08x is not in the stack [0x%08x, 0x%08x)", mips32.HomeAreaSize, sp, c.mem.stackBase, StackTop)
	}
	if r[mips32.T9] != s.addr {
		return abi("t9 = 0x%08x, not the callee's address 0x%08x (calls go through t9, for PIC callees)", r[mips32.T9], s.addr)
	}

	// The arguments: words 0..3 in a0..a3, the rest at sp+16...; a 64-bit
	// parameter starts at an even word, its low word first on
	// little-endian.
	word := func(i int) (uint32, bool) {
		if i < 4 {
			return r[int(mips32.A0)+i], true
		}
		a := sp + uint32(4*i)
		if !c.mem.inStack(a, 4) {
			return 0, false
		}
		v, _ := c.mem.load32(a)
		return v, true
	}
	args := make([]uint64, len(s.fn.Params))
	w := 0
	for k, p := range s.fn.Params {
		if p == ir.I64 {
			w += w & 1
			first, ok1 := word(w)
			second, ok2 := word(w + 1)
			if !ok1 || !ok2 {
				return abi("argument %d (words %d and %d, at sp+%d) lies outside the stack", k, w, w+1, 4*w)
			}
			if c.mem.be {
				first, second = second, first
			}
			args[k] = uint64(second)<<32 | uint64(first)
			w += 2
			continue
		}
		v, ok := word(w)
		if !ok {
			return abi("argument %d (word %d, at sp+%d) lies outside the stack", k, w, 4*w)
		}
		args[k] = uint64(v)
		w++
	}

	// A C callee compiled at -O0 stores its register arguments in the
	// home area: so does this one, with garbage.
	c.stats.RuntimeCalls++
	n := uint32(c.stats.RuntimeCalls)
	for i := uint32(0); i < mips32.HomeAreaSize; i += 4 {
		c.mem.store32(sp+i, 0x4040_0000^n<<8^i)
	}

	env := &Env{c: c}
	res, err := s.fn.Eval(env, args)
	if err != nil {
		var stop *Stop
		if errors.As(err, &stop) {
			c.returned, c.r0 = true, stop.R0
			return false
		}
		f := &Fault{Kind: RuntimeError, PC: s.addr, Msg: fmt.Sprintf("%s (called from %s): %v", s.name, c.site(ra), err)}
		if env.miss != nil {
			f.Kind, f.Addr = env.miss.Kind, env.miss.Addr
		}
		c.fault = f
		return false
	}

	// Clobber the caller-saved registers, HI and LO (and k0/k1, which an
	// interrupt may change at any time), so that code relying on them fails.
	for _, reg := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27} {
		r[reg] = entryValue(reg) ^ n<<24
	}
	c.hi, c.lo = entryValue(32)^n<<24, entryValue(33)^n<<24
	c.llValid = false
	lo, hi := uint32(res), uint32(res>>32)
	switch s.fn.Result {
	case ir.I64:
		if c.mem.be {
			lo, hi = hi, lo
		}
		r[mips32.V0], r[mips32.V1] = lo, hi
	case ir.I32:
		r[mips32.V0] = lo
	}
	c.stats.Cycles += s.cost
	c.pc = ra
	return true
}

// site describes the call site of a routine that returns to ra.
func (c *cpu) site(ra uint32) string {
	if o := ra - 8 - CodeBase; o < uint32(len(c.prog.insts))*4 {
		return fmt.Sprintf("code offset %#x", o)
	}
	return fmt.Sprintf("0x%08x (return address)", ra)
}

// raise reports a fault of the instruction at pc; one in a delay slot is
// reported at its branch, as the EPC register would.
func (c *cpu) raise(kind FaultKind, pc uint32, inSlot bool, addr uint32, msg string) {
	f := &Fault{Kind: kind, PC: pc - CodeBase, InCode: true, Addr: addr, Msg: msg}
	if inSlot {
		f.PC -= 4
		f.DelaySlot = true
	}
	c.fault = f
}

func (c *cpu) memFault(kind FaultKind, pc uint32, inSlot bool, in *inst, a uint32) {
	verb := "load from"
	if in.op >= opSb && in.op <= opSc {
		verb = "store to"
	}
	msg := fmt.Sprintf("%s %s 0x%08x", in.op, verb, a)
	switch kind {
	case AddressError:
		msg += " (misaligned)"
	case StackOverflow:
		msg += fmt.Sprintf(", below the %d-byte stack at 0x%08x", len(c.mem.stack), c.mem.stackBase)
	}
	c.raise(kind, pc, inSlot, a, msg)
}

func (c *cpu) branchInSlot(pc uint32, in *inst) {
	c.raise(ReservedInstruction, pc, true, 0, fmt.Sprintf("%s in a branch delay slot (UNPREDICTABLE in MIPS32; qemu raises a reserved instruction exception)", in.op))
}

// runtimeCost is the cycle model's fixed cost of a runtime routine: about
// what libgcc's and libatomic's MIPS32 code takes (instructions, its own
// multiply/divide latencies, call and return).
func runtimeCost(name string) int64 {
	switch {
	case name == "__udivdi3" || name == "__umoddi3" || name == "__divdi3" || name == "__moddi3":
		return costDivRoutine
	case strings.HasPrefix(name, "__atomic_"):
		return costAtomicRoutine
	}
	return costOtherRoutine
}

// The cycle costs of runtime routines (see runtimeCost).
const (
	costDivRoutine    = 80
	costAtomicRoutine = 30
	costOtherRoutine  = 20
)
