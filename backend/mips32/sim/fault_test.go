package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// faultCase is a snippet that faults, with the fault worked out by hand.
type faultCase struct {
	name   string
	target mips32.Target // zero value: r2el
	src    string
	mem    []byte
	kind   FaultKind
	pc     uint32
	inCode bool
	slot   bool
	// addr is the fault address: relative to the memory block when
	// memRel, else absolute (CodeBase-relative when codeRel).
	addr            uint32
	memRel, codeRel bool
	// qemu says whether the cross-check runs it: false where qemu behaves
	// differently by design (its stack is the runner's, its syscalls run,
	// its 24Kf has an FPU, ...).
	qemu bool
}

var faultCases = []faultCase{
	{name: "unaligned lw", src: "f:\tnop\n\tnop\n\tlw $v0, 1($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: AddressError, pc: 8, inCode: true, addr: 1, memRel: true, qemu: true},
	{name: "unaligned lh", src: "f:\tlh $v0, 3($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: AddressError, pc: 0, inCode: true, addr: 3, memRel: true, qemu: true},
	{name: "unaligned sh", src: "f:\tsh $zero, 5($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: AddressError, pc: 0, inCode: true, addr: 5, memRel: true, qemu: true},
	{name: "unaligned sw", src: "f:\tnop\n\tsw $zero, 2($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: AddressError, pc: 4, inCode: true, addr: 2, memRel: true, qemu: true},
	{name: "unaligned ll", src: "f:\tll $v0, 2($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: AddressError, pc: 0, inCode: true, addr: 2, memRel: true, qemu: true},
	{name: "load from address 0", src: "f:\tnop\n\tlw $v0, 0($zero)\n\tjr $ra\n\tnop\n",
		kind: Unmapped, pc: 4, inCode: true, addr: 0, qemu: true},
	{name: "load past the end of the block", src: "f:\tlw $v0, 8($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: Unmapped, pc: 0, inCode: true, addr: 8, memRel: true, qemu: true},
	{name: "store past the end of the block", src: "f:\tsb $zero, 16($a0)\n\tjr $ra\n\tnop\n", mem: make([]byte, 16),
		kind: Unmapped, pc: 0, inCode: true, addr: 16, memRel: true, qemu: true},
	{name: "load from the code", src: "f:\tbal 1f\n\tnop\n1:\tlw $v0, 0($ra)\n\tjr $ra\n\tnop\n",
		kind: Unmapped, pc: 8, inCode: true, addr: 8, codeRel: true},
	{name: "store below the stack", src: "f:\tli $t0, -70000\n\taddu $sp, $sp, $t0\n\tsw $zero, 0($sp)\n\tjr $ra\n\tnop\n",
		kind: StackOverflow, pc: 12, inCode: true, addr: StackTop - 16 - 70000},
	{name: "store above the stack", src: "f:\tsw $zero, 16($sp)\n\tjr $ra\n\tnop\n",
		kind: Unmapped, pc: 0, inCode: true, addr: StackTop},
	{name: "a MIPS64 instruction (daddu)", src: "f:\tnop\n\t.word 0x0085102d\n\tjr $ra\n\tnop\n",
		kind: ReservedInstruction, pc: 4, inCode: true, qemu: true},
	{name: "a Release 2 instruction on Release 1", target: r1el, src: "f:\t.set mips32r2\n\tseb $v0, $a0\n\t.set mips32\n\tjr $ra\n\tnop\n",
		kind: ReservedInstruction, pc: 0, inCode: true, qemu: true},
	// qemu decodes rotr as srl on Release 1 CPUs; the simulator faults.
	{name: "rotr on Release 1", target: r1el, src: "f:\t.set mips32r2\n\trotr $v0, $a0, 3\n\t.set mips32\n\tjr $ra\n\tnop\n",
		kind: ReservedInstruction, pc: 0, inCode: true},
	// GNU as pads .text to 16 bytes.
	{name: "running off the end of the code", src: "f:\tnop\n",
		kind: Unmapped, pc: 16, inCode: true, addr: 16, codeRel: true},
	{name: "teq", src: "f:\tnop\n\tteq $zero, $zero\n\tjr $ra\n\tnop\n", kind: Trap, pc: 4, inCode: true, qemu: true},
	{name: "tgei", src: "f:\tli $t0, 5\n\ttgei $t0, -1\n\tjr $ra\n\tnop\n", kind: Trap, pc: 4, inCode: true, qemu: true},
	{name: "tltu", src: "f:\tli $t0, 5\n\ttltu $zero, $t0\n\tjr $ra\n\tnop\n", kind: Trap, pc: 4, inCode: true, qemu: true},
	{name: "break", src: "f:\tbreak\n\tjr $ra\n\tnop\n", kind: Breakpoint, pc: 0, inCode: true, qemu: true},
	// qemu-user performs the system call.
	{name: "syscall", src: "f:\tsyscall\n\tjr $ra\n\tnop\n", kind: Syscall, pc: 0, inCode: true},
	{name: "add overflows", src: "f:\tli $t0, 0x7fffffff\n\tadd $v0, $t0, $t0\n\tjr $ra\n\tnop\n",
		kind: IntegerOverflow, pc: 8, inCode: true, qemu: true},
	{name: "addi overflows", src: "f:\tli $t0, 0x80000000\n\taddi $v0, $t0, -1\n\tjr $ra\n\tnop\n",
		kind: IntegerOverflow, pc: 4, inCode: true, qemu: true},
	{name: "sub overflows", src: "f:\tli $t0, 0x80000000\n\tli $t1, 1\n\tsub $v0, $t0, $t1\n\tjr $ra\n\tnop\n",
		kind: IntegerOverflow, pc: 8, inCode: true, qemu: true},
	{name: "a fault in a delay slot is reported at the branch", src: "f:\tnop\n\tbeq $zero, $zero, 1f\n\tlw $v0, 1($a0)\n1:\tjr $ra\n\tnop\n", mem: make([]byte, 8),
		kind: AddressError, pc: 4, inCode: true, slot: true, addr: 1, memRel: true, qemu: true},
	{name: "a branch in a delay slot", src: "f:\tbeq $zero, $zero, 1f\n\tb 1f\n\tnop\n1:\tjr $ra\n\tnop\n",
		kind: ReservedInstruction, pc: 0, inCode: true, slot: true, qemu: true},
	{name: "a jump in the delay slot of an untaken branch", src: "f:\tli $t0, 1\n\tbeq $t0, $zero, 1f\n\tjr $ra\n\tnop\n1:\tjr $ra\n\tnop\n",
		kind: ReservedInstruction, pc: 4, inCode: true, slot: true, qemu: true},
	// qemu translates bne $r, $r as a nop, without a delay slot.
	{name: "a jump in the delay slot of bne $zero, $zero", src: "f:\tnop\n\tbne $zero, $zero, 1f\n\tjr $ra\n\tnop\n1:\tjr $ra\n\tnop\n",
		kind: ReservedInstruction, pc: 4, inCode: true, slot: true},
	// The qemu runner dies on this one (its signal handler does not
	// recover from a misaligned fetch).
	{name: "a jump to a misaligned address", src: "f:\tbal 1f\n\tnop\n1:\taddiu $t0, $ra, 2\n\tjr $t0\n\tnop\n",
		kind: AddressError, pc: 10, inCode: true, addr: 10, codeRel: true},
	{name: "a jump to an unmapped address", src: "f:\tli $t0, 0x1234\n\tjr $t0\n\tnop\n",
		kind: Unmapped, pc: 0x1234, addr: 0x1234, qemu: true},
	{name: "the last instruction is a branch", src: "f:\tnop\n\tnop\n\tnop\n\tb f\n",
		kind: Unmapped, pc: 12, inCode: true, slot: true, addr: 16, codeRel: true},
	// The simulator has no FPU; qemu's 24Kf has one.
	{name: "an FPU instruction (mtc1)", src: "f:\t.word 0x44880000\n\tjr $ra\n\tnop\n",
		kind: CoprocessorUnusable, pc: 0, inCode: true},
	{name: "COP0 (mfc0)", src: "f:\tnop\n\tmfc0 $t0, $12\n\tjr $ra\n\tnop\n",
		kind: CoprocessorUnusable, pc: 4, inCode: true},
	{name: "jalr with rd = rs", src: "f:\t.word 0x01004009\n\tnop\n\tjr $ra\n\tnop\n",
		kind: Unpredictable, pc: 0, inCode: true},
	{name: "clz with rt != rd", src: "f:\t.word 0x71001020\n\tjr $ra\n\tnop\n",
		kind: Unpredictable, pc: 0, inCode: true},
	{name: "ext with pos + size > 32", src: "f:\t.word 0x7d023f00\n\tjr $ra\n\tnop\n",
		kind: Unpredictable, pc: 0, inCode: true},
	{name: "ins with msb < lsb", src: "f:\t.word 0x7d021a04\n\tjr $ra\n\tnop\n",
		kind: Unpredictable, pc: 0, inCode: true},
	{name: "bltzal on ra", src: "f:\t.word 0x07f00001\n\tnop\n\tjr $ra\n\tnop\n",
		kind: Unpredictable, pc: 0, inCode: true},
}

func (c faultCase) targetOrDefault() mips32.Target {
	if c.target == (mips32.Target{}) {
		return r2el
	}
	return c.target
}

func TestFaults(t *testing.T) {
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			res, _ := runSim(t, c.targetOrDefault(), c.src, c.mem)
			f := res.Fault
			require.NotNil(t, f, "expected a fault")
			assert.Equal(t, c.kind, f.Kind, "%v", f)
			assert.Equal(t, c.pc, f.PC, "PC: %v", f)
			assert.Equal(t, c.inCode, f.InCode, "InCode: %v", f)
			assert.Equal(t, c.slot, f.DelaySlot, "DelaySlot: %v", f)
			want := c.addr
			switch {
			case c.memRel:
				want += res.MemAddr
			case c.codeRel:
				want += CodeBase
			}
			assert.Equal(t, want, f.Addr, "Addr: %v", f)
			assert.Equal(t, c.mem, nilIfEmpty(res.Mem), "memory after the fault")
		})
	}
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func TestCrossCheckFaults(t *testing.T) {
	for _, c := range faultCases {
		if !c.qemu {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			target := c.targetOrDefault()
			crossCheck(t, requireQemu(t, target), newMachine(t, Options{Target: target}), c.name, assemble(t, target, c.src), c.mem)
		})
	}
}

func TestFaultMessages(t *testing.T) {
	res, _ := runSim(t, r2el, "f:\tnop\n\tnop\n\tlw $v0, 1($a0)\n\tjr $ra\n\tnop\n", make([]byte, 8))
	require.NotNil(t, res.Fault)
	assert.Equal(t, "address error at code offset 0x8: lw load from 0x30fffff9 (misaligned)", res.Fault.Error())

	res, _ = runSim(t, r2el, "f:\tnop\n\tbeq $zero, $zero, 1f\n\tlw $v0, 0($zero)\n1:\tjr $ra\n\tnop\n", nil)
	require.NotNil(t, res.Fault)
	assert.Equal(t, "unmapped in the delay slot of the branch at code offset 0x4: lw load from 0x00000000", res.Fault.Error())

	res, _ = runSim(t, r2el, "f:\t.word 0x0085102d\n", nil)
	require.NotNil(t, res.Fault)
	assert.Equal(t, "reserved instruction at code offset 0x0: word 0x0085102d: SPECIAL function 45 is a MIPS64 instruction", res.Fault.Error())

	res, _ = runSim(t, r2el, "f:\tli $t0, 0x1234\n\tjr $t0\n\tnop\n", nil)
	require.NotNil(t, res.Fault)
	assert.Equal(t, "unmapped at 0x00001234 (outside the code): instruction fetch from an unmapped address", res.Fault.Error())
}

func TestStepLimit(t *testing.T) {
	res, _ := runSimOpts(t, Options{Target: r2el, MaxSteps: 1000}, "f:\tnop\n1:\tb 1b\n\tnop\n", nil)
	require.NotNil(t, res.Fault)
	assert.Equal(t, StepLimit, res.Fault.Kind)
	assert.Equal(t, int64(1000), res.Stats.Insns)
	// 1000 = the nop, then 499 times b + nop, then the 1000th is a b: the
	// next instruction would be the delay slot at 8.
	assert.Equal(t, uint32(4), res.Fault.PC)
	assert.True(t, res.Fault.DelaySlot)
}

func TestBadInput(t *testing.T) {
	m := newMachine(t, Options{Target: r2el})
	nop4 := make([]byte, 4)
	for _, tc := range []struct {
		code   []byte
		relocs []mips32.Reloc
		entry  uint32
		mem    []byte
		want   string
	}{
		{nil, nil, 0, nil, "code size 0 is not a positive multiple of 4"},
		{make([]byte, 6), nil, 0, nil, "code size 6 is not a positive multiple of 4"},
		{nop4, nil, 4, nil, "entry offset 0x4 is not an instruction of the 4-byte code"},
		{make([]byte, 8), nil, 2, nil, "entry offset 0x2 is not an instruction of the 8-byte code"},
		{make([]byte, MaxCodeSize+4), nil, 0, nil, "exceeds the 67108864-byte code region"},
		{nop4, nil, 0, make([]byte, 17<<20), "memory block of 17825792 bytes exceeds the 16777216-byte limit"},
		{nop4, []mips32.Reloc{{Offset: 0, Type: mips32.RelocHi16, Sym: "bpf_nope"}}, 0, nil, `relocation 0 (R_MIPS_HI16) at offset 0x0: unknown symbol "bpf_nope"`},
		{nop4, []mips32.Reloc{{Offset: 0, Type: mips32.RelocHi16, Sym: "__udivdi3"}}, 0, nil, "no R_MIPS_LO16 of the same symbol follows it"},
		{nop4, []mips32.Reloc{{Offset: 2, Type: mips32.Reloc32, Sym: "__udivdi3"}}, 0, nil, "outside the 4-byte image or unaligned"},
		{nop4, []mips32.Reloc{{Offset: 0, Type: 4, Sym: "__udivdi3"}}, 0, nil, "unsupported type 4"},
	} {
		_, err := m.Run(tc.code, tc.relocs, tc.entry, tc.mem)
		require.ErrorContains(t, err, tc.want)
	}
	_, err := New(Options{Target: mips32.Target{Rev: mips32.R6}})
	require.ErrorContains(t, err, "not supported")
	_, err = New(Options{Target: r2el, StackSize: 12})
	require.ErrorContains(t, err, "stack size 12")
}
