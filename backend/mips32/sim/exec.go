package sim

import (
	"fmt"
	"math/bits"
)

// cpu is the state of one run.
type cpu struct {
	m    *Machine
	prog *program
	mem  memory

	// r holds the GPRs in r[0..31]: indexed by a uint8 register number,
	// the 256-entry array needs no bounds checks in the loop.
	r      [256]uint32
	hi, lo uint32
	// ready is the cycle model's scoreboard: the cycle at which each slot's
	// value can be used (GPRs, slotHiLo, slotNone).
	ready [numSlots]int64
	// The LL/SC link (see the package documentation).
	llValid       bool
	llAddr, llVal uint32

	pc    uint32     // where the loop resumes
	entry [32]uint32 // the registers at entry, for the O32 check at return

	stats    Stats
	fault    *Fault
	returned bool // the function returned (or a routine stopped it): r0 is valid
	r0       uint64
	runState any // the externs' (Env.RunState)
}

// Poison values for what the architecture leaves UNPREDICTABLE: HI and LO
// after mul.
const (
	poisonHi = 0xdead_0b1d
	poisonLo = 0xdead_10ad
)

// entryValue is the value of register i at entry (and of the caller-saved
// registers a runtime routine clobbers, mixed with the call count). The
// callee-saved ones match the qemu runner's canaries (0xca105afe for s0).
func entryValue(i int) uint32 { return 0xca00_5afe | uint32(i)<<16 }

// start sets up the call fn(ctx, len) of the function at pc, resetting
// what a previous run left.
func (c *cpu) start(pc, ctx, length uint32) {
	c.ready = [numSlots]int64{}
	c.llValid, c.llAddr, c.llVal = false, 0, 0
	c.stats, c.fault, c.returned, c.r0, c.runState = Stats{}, nil, false, 0, nil
	c.r[0] = 0
	for i := 1; i < 32; i++ {
		c.r[i] = entryValue(i)
	}
	c.hi, c.lo = entryValue(32), entryValue(33)
	c.r[4], c.r[5] = ctx, length
	c.r[29] = StackTop - 16 // the 16 bytes above are the caller's home area
	c.r[31] = ExitAddress
	copy(c.entry[:], c.r[:32])
	c.pc = pc
}

// run executes from c.pc until the function returns or faults.
//
// Delay slots: pc is the instruction to execute, npc the one after it. A
// branch sets npc to its target, so the delay slot (at pc) runs before it.
// A branch-likely that is not taken skips the slot. slot is set after every
// branch and jump, so that a branch in a delay slot is caught.
func (c *cpu) run() {
	insts := c.prog.insts
	codeLen := uint32(len(insts)) * 4
	r := &c.r
	ready := &c.ready
	mem := &c.mem
	maxSteps := c.m.opts.MaxSteps
	pc := c.pc
	npc := pc + 4
	slot := false
	steps, cyc, stalls := c.stats.Insns, c.stats.Cycles, c.stats.Stalls
	var loads, stores, branches, taken, calls int64

loop:
	for {
		off := pc - CodeBase
		if off >= codeLen || off&3 != 0 {
			c.stats.Insns, c.stats.Cycles, c.stats.Stalls = steps, cyc, stalls
			if !c.outside(pc, slot) {
				break loop
			}
			steps, cyc, stalls = c.stats.Insns, c.stats.Cycles, c.stats.Stalls
			pc, npc, slot = c.pc, c.pc+4, false
			continue
		}
		if steps >= maxSteps {
			c.raise(StepLimit, pc, slot, 0, fmt.Sprintf("%d instructions executed", steps))
			break loop
		}
		in := &insts[off>>2]
		steps++
		cur, inSlot := pc, slot
		pc, npc, slot = npc, npc+4, false

		// The cycle model: wait for the operands, then issue.
		t := cyc
		if x := ready[in.src1]; x > t {
			t = x
		}
		if x := ready[in.src2]; x > t {
			t = x
		}
		stalls += t - cyc
		ready[in.dst] = t + int64(in.lat)
		cyc = t + 1

		switch in.op {
		case opNop:
		case opAddu:
			r[in.rd] = r[in.rs] + r[in.rt]
		case opSubu:
			r[in.rd] = r[in.rs] - r[in.rt]
		case opAnd:
			r[in.rd] = r[in.rs] & r[in.rt]
		case opOr:
			r[in.rd] = r[in.rs] | r[in.rt]
		case opXor:
			r[in.rd] = r[in.rs] ^ r[in.rt]
		case opNor:
			r[in.rd] = ^(r[in.rs] | r[in.rt])
		case opSlt:
			r[in.rd] = b2u(int32(r[in.rs]) < int32(r[in.rt]))
		case opSltu:
			r[in.rd] = b2u(r[in.rs] < r[in.rt])
		case opAdd, opSub, opAddi:
			a, b := r[in.rs], r[in.rt]
			if in.op == opAddi {
				b = in.imm
			}
			var s uint32
			var ovf bool
			if in.op == opSub {
				s = a - b
				ovf = (a^b)&(a^s)>>31 != 0
			} else {
				s = a + b
				ovf = (a^s)&(b^s)>>31 != 0
			}
			if ovf {
				c.raise(IntegerOverflow, cur, inSlot, 0, fmt.Sprintf("%s of 0x%08x and 0x%08x overflows", in.op, a, b))
				break loop
			}
			if in.op == opAddi {
				r[in.rt] = s
			} else {
				r[in.rd] = s
			}
		case opAddiu:
			r[in.rt] = r[in.rs] + in.imm
		case opSlti:
			r[in.rt] = b2u(int32(r[in.rs]) < int32(in.imm))
		case opSltiu:
			r[in.rt] = b2u(r[in.rs] < in.imm)
		case opAndi:
			r[in.rt] = r[in.rs] & in.imm
		case opOri:
			r[in.rt] = r[in.rs] | in.imm
		case opXori:
			r[in.rt] = r[in.rs] ^ in.imm
		case opLui:
			r[in.rt] = in.imm
		case opSll:
			r[in.rd] = r[in.rt] << in.sa
		case opSrl:
			r[in.rd] = r[in.rt] >> in.sa
		case opSra:
			r[in.rd] = uint32(int32(r[in.rt]) >> in.sa)
		case opRotr:
			r[in.rd] = bits.RotateLeft32(r[in.rt], -int(in.sa))
		case opSllv:
			r[in.rd] = r[in.rt] << (r[in.rs] & 31)
		case opSrlv:
			r[in.rd] = r[in.rt] >> (r[in.rs] & 31)
		case opSrav:
			r[in.rd] = uint32(int32(r[in.rt]) >> (r[in.rs] & 31))
		case opRotrv:
			r[in.rd] = bits.RotateLeft32(r[in.rt], -int(r[in.rs]&31))
		case opMovn:
			if r[in.rt] != 0 {
				r[in.rd] = r[in.rs]
			}
		case opMovz:
			if r[in.rt] == 0 {
				r[in.rd] = r[in.rs]
			}
		case opClz:
			r[in.rd] = uint32(bits.LeadingZeros32(r[in.rs]))
		case opClo:
			r[in.rd] = uint32(bits.LeadingZeros32(^r[in.rs]))
		case opSeb:
			r[in.rd] = uint32(int32(int8(r[in.rt])))
		case opSeh:
			r[in.rd] = uint32(int32(int16(r[in.rt])))
		case opWsbh:
			x := r[in.rt]
			r[in.rd] = x&0x00ff00ff<<8 | x>>8&0x00ff00ff
		case opExt:
			r[in.rt] = r[in.rs] >> in.sa & in.imm
		case opIns:
			r[in.rt] = r[in.rt]&^in.imm | r[in.rs]<<in.sa&in.imm

		case opMul:
			r[in.rd] = r[in.rs] * r[in.rt]
			c.hi, c.lo = poisonHi, poisonLo
		case opMult:
			p := uint64(int64(int32(r[in.rs])) * int64(int32(r[in.rt])))
			c.hi, c.lo = uint32(p>>32), uint32(p)
		case opMultu:
			p := uint64(r[in.rs]) * uint64(r[in.rt])
			c.hi, c.lo = uint32(p>>32), uint32(p)
		case opDiv:
			// Division by zero is UNPREDICTABLE; like qemu, LO gets the
			// dividend and HI zero. INT_MIN / -1 gives LO = INT_MIN,
			// HI = 0 (Go's wrap-around, and qemu's).
			a, b := int32(r[in.rs]), int32(r[in.rt])
			if b == 0 {
				c.hi, c.lo = 0, uint32(a)
			} else {
				c.hi, c.lo = uint32(a%b), uint32(a/b)
			}
		case opDivu:
			a, b := r[in.rs], r[in.rt]
			if b == 0 {
				c.hi, c.lo = 0, a
			} else {
				c.hi, c.lo = a%b, a/b
			}
		case opMadd, opMaddu, opMsub, opMsubu:
			acc := uint64(c.hi)<<32 | uint64(c.lo)
			var p uint64
			if in.op == opMadd || in.op == opMsub {
				p = uint64(int64(int32(r[in.rs])) * int64(int32(r[in.rt])))
			} else {
				p = uint64(r[in.rs]) * uint64(r[in.rt])
			}
			if in.op == opMadd || in.op == opMaddu {
				acc += p
			} else {
				acc -= p
			}
			c.hi, c.lo = uint32(acc>>32), uint32(acc)
		case opMfhi:
			r[in.rd] = c.hi
		case opMflo:
			r[in.rd] = c.lo
		case opMthi:
			c.hi = r[in.rs]
		case opMtlo:
			c.lo = r[in.rs]

		case opLb, opLbu:
			loads++
			a := r[in.rs] + in.imm
			v, ok := mem.load8(a)
			if !ok {
				c.memFault(mem.missKind(a), cur, inSlot, in, a)
				break loop
			}
			if in.op == opLb {
				v = uint32(int32(int8(v)))
			}
			r[in.rt] = v
		case opLh, opLhu:
			loads++
			a := r[in.rs] + in.imm
			v, ok := mem.load16(a)
			if !ok || a&1 != 0 { // checked after the load, which has no effect to undo
				c.memFault(mem.accessFault(a, 1), cur, inSlot, in, a)
				break loop
			}
			if in.op == opLh {
				v = uint32(int32(int16(v)))
			}
			r[in.rt] = v
		case opLw, opLl:
			loads++
			a := r[in.rs] + in.imm
			v, ok := mem.load32(a)
			if !ok || a&3 != 0 {
				c.memFault(mem.accessFault(a, 3), cur, inSlot, in, a)
				break loop
			}
			if in.op == opLl {
				c.llValid, c.llAddr, c.llVal = true, a, v
			}
			r[in.rt] = v
		case opLwl, opLwr:
			loads++
			a := r[in.rs] + in.imm
			lo, nb := partialRange(a, in.op == opLwl, mem.be)
			v, ok := mem.loadN(lo, nb)
			if !ok {
				c.memFault(mem.missKind(lo), cur, inSlot, in, a)
				break loop
			}
			sh := 8 * (4 - nb)
			if in.op == opLwl { // the bytes go to the high end of rt
				r[in.rt] = v<<sh | r[in.rt]&(1<<sh-1)
			} else { // to the low end
				r[in.rt] = v | r[in.rt]&^(0xffffffff>>sh)
			}
		case opSb:
			stores++
			a := r[in.rs] + in.imm
			if !mem.store8(a, r[in.rt]) {
				c.memFault(mem.missKind(a), cur, inSlot, in, a)
				break loop
			}
		case opSh:
			stores++
			a := r[in.rs] + in.imm
			if a&1 != 0 || !mem.store16(a, r[in.rt]) { // no store when misaligned
				c.memFault(mem.accessFault(a, 1), cur, inSlot, in, a)
				break loop
			}
		case opSw:
			stores++
			a := r[in.rs] + in.imm
			if a&3 != 0 || !mem.store32(a, r[in.rt]) {
				c.memFault(mem.accessFault(a, 3), cur, inSlot, in, a)
				break loop
			}
		case opSwl, opSwr:
			stores++
			a := r[in.rs] + in.imm
			lo, nb := partialRange(a, in.op == opSwl, mem.be)
			v := r[in.rt]
			if in.op == opSwl { // the high bytes of rt
				v >>= 8 * (4 - nb)
			}
			if !mem.storeN(lo, nb, v) {
				c.memFault(mem.missKind(lo), cur, inSlot, in, a)
				break loop
			}
		case opSc:
			stores++
			a := r[in.rs] + in.imm
			// The checks stay apart: folded as the loads' are, they slowed
			// the whole loop by 5% (Go's register allocation of run;
			// cachegrind on BenchmarkMemLoop).
			if a&3 != 0 {
				c.memFault(AddressError, cur, inSlot, in, a)
				break loop
			}
			cur32, ok := mem.load32(a)
			if !ok {
				c.memFault(mem.missKind(a), cur, inSlot, in, a)
				break loop
			}
			if c.llValid && a == c.llAddr && cur32 == c.llVal {
				mem.store32(a, r[in.rt])
				r[in.rt] = 1
			} else {
				r[in.rt] = 0
			}
			c.llValid = false

		case opBeq, opBne, opBlez, opBgtz, opBltz, opBgez, opBltzal, opBgezal,
			opBeql, opBnel, opBlezl, opBgtzl, opBltzl, opBgezl, opBltzall, opBgezall:
			if inSlot {
				c.branchInSlot(cur, in)
				break loop
			}
			branches++
			slot = true
			if branchTaken(in.op, r[in.rs], r[in.rt]) {
				npc = in.imm
				taken++
				cyc++
			} else if isLikely(in.op) { // annul the delay slot
				pc, npc, slot = npc, npc+4, false
				c.stats.Annulled++
				cyc++
			}
			if isLinking(in.op) {
				r[31] = cur + 8 // whether taken or not
				calls++
			}
		case opJ, opJal:
			if inSlot {
				c.branchInSlot(cur, in)
				break loop
			}
			branches++
			taken++
			cyc++
			slot = true
			npc = in.imm
			if in.op == opJal {
				r[31] = cur + 8
				calls++
			}
		case opJr, opJalr:
			if inSlot {
				c.branchInSlot(cur, in)
				break loop
			}
			branches++
			taken++
			cyc++
			slot = true
			npc = r[in.rs] // before the link: decode rejects jalr with rd = rs
			if in.op == opJalr {
				r[in.rd] = cur + 8
				calls++
			}

		case opTge, opTgeu, opTlt, opTltu, opTeq, opTne,
			opTgei, opTgeiu, opTlti, opTltiu, opTeqi, opTnei:
			b := r[in.rt]
			if in.op >= opTgei {
				b = in.imm
			}
			if trapTaken(in.op, r[in.rs], b) {
				c.raise(Trap, cur, inSlot, 0, fmt.Sprintf("%s fired on 0x%08x and 0x%08x", in.op, r[in.rs], b))
				break loop
			}
		case opSyscall:
			c.raise(Syscall, cur, inSlot, 0, "generated code makes no system calls")
			break loop
		case opBreak:
			c.raise(Breakpoint, cur, inSlot, 0, "")
			break loop
		default: // opBad
			b := c.prog.bad[off>>2]
			c.raise(b.kind, cur, inSlot, 0, fmt.Sprintf("word 0x%08x: %s", c.word(off), b.msg))
			break loop
		}
		r[0] = 0
	}

	c.stats.Insns, c.stats.Cycles, c.stats.Stalls = steps, cyc, stalls
	c.stats.Loads += loads
	c.stats.Stores += stores
	c.stats.Branches += branches
	c.stats.TakenBranches += taken
	c.stats.Calls += calls
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func branchTaken(o op, a, b uint32) bool {
	switch o {
	case opBeq, opBeql:
		return a == b
	case opBne, opBnel:
		return a != b
	case opBlez, opBlezl:
		return int32(a) <= 0
	case opBgtz, opBgtzl:
		return int32(a) > 0
	case opBltz, opBltzl, opBltzal, opBltzall:
		return int32(a) < 0
	}
	return int32(a) >= 0 // bgez, bgezl, bgezal, bgezall
}

func isLikely(o op) bool {
	switch o {
	case opBeql, opBnel, opBlezl, opBgtzl, opBltzl, opBgezl, opBltzall, opBgezall:
		return true
	}
	return false
}

func isLinking(o op) bool {
	switch o {
	case opBltzal, opBgezal, opBltzall, opBgezall:
		return true
	}
	return false
}

func trapTaken(o op, a, b uint32) bool {
	switch o {
	case opTge, opTgei:
		return int32(a) >= int32(b)
	case opTgeu, opTgeiu:
		return a >= b
	case opTlt, opTlti:
		return int32(a) < int32(b)
	case opTltu, opTltiu:
		return a < b
	case opTeq, opTeqi:
		return a == b
	}
	return a != b // tne, tnei
}

// partialRange is the byte range [lo, lo+n) that lwl/swl (left) or lwr/swr
// (right) at a touch: the part of the aligned word from a to its end in
// memory order, or from its start to a. In little-endian, "left" (the
// register's high bytes) is the word's start up to a; in big-endian it is
// a up to the word's end.
func partialRange(a uint32, left, be bool) (lo, n uint32) {
	al, bo := a&^3, a&3
	if left != be {
		return al, bo + 1 // [al, a]
	}
	return a, 4 - bo // [a, al+3]
}

// loadN reads n ≤ 4 bytes at a as an integer in the target's byte order.
func (m *memory) loadN(a, n uint32) (uint32, bool) {
	b := m.at(a, n)
	if b == nil {
		return 0, false
	}
	if m.be {
		return uint32(beUint(b)), true
	}
	return uint32(leUint(b)), true
}

// storeN writes the low n ≤ 4 bytes of v at a in the target's byte order.
func (m *memory) storeN(a, n, v uint32) bool {
	b := m.storeAt(a, n)
	if b == nil {
		return false
	}
	for i := range b {
		sh := 8 * uint32(i)
		if m.be {
			sh = 8 * (n - 1 - uint32(i))
		}
		b[i] = byte(v >> sh)
	}
	return true
}

// word is the linked instruction word at code offset off.
func (c *cpu) word(off uint32) uint32 {
	return c.m.opts.Target.ByteOrder().Uint32(c.prog.linked[off:])
}
