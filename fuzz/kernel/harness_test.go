package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// packetSize is the memory the programs see at r1: the XDP packet. The
// kernel wants at least an Ethernet header (14 bytes).
const packetSize = 64

// xdpPrefix turns the XDP context into what generated bodies expect: r1
// pointing at size bytes of packet, checked against data_end so that the
// verifier allows every access in [r1, r1+size). On a short packet the
// program returns 0 (never the case here: the tests send size bytes).
// Then r2 and r3 get the values the interpreter starts with (the length,
// 0), so that even a program that reads them unset agrees.
func xdpPrefix(size int32) []bpf.Insn {
	return []bpf.Insn{
		{Op: bpf.ClassLDX | bpf.ModeMEM | bpf.SizeW, Dst: bpf.R2, Src: bpf.R1, Off: 0}, // r2 = xdp_md->data
		{Op: bpf.ClassLDX | bpf.ModeMEM | bpf.SizeW, Dst: bpf.R3, Src: bpf.R1, Off: 4}, // r3 = xdp_md->data_end
		{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcX, Dst: bpf.R1, Src: bpf.R2},
		{Op: bpf.ClassALU64 | bpf.AluADD | bpf.SrcK, Dst: bpf.R2, Imm: size},
		{Op: bpf.ClassJMP | bpf.JmpJLE | bpf.SrcX, Dst: bpf.R2, Src: bpf.R3, Off: 2}, // to the body
		{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: bpf.R0, Imm: 0},
		{Op: bpf.ClassJMP | bpf.JmpEXIT},
		{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: bpf.R2, Imm: size},
		{Op: bpf.ClassALU64 | bpf.AluMOV | bpf.SrcK, Dst: bpf.R3, Imm: 0},
	}
}

// forKernel is body as the kernel runs it: after xdpPrefix (jump offsets
// are relative, so the body is unchanged), and with an explicit
// zero-extension `w0 = w0` after every 32-bit cmpxchg. RFC 9669 already
// defines r0 as zero-extended there, so this changes nothing by the
// specification, but Linux 6.18 sometimes leaves the high half of r0
// stale (see TestCmpxchg32ZeroExtension). The interpreter runs the
// unmodified body, so a missing zero-extension in it is still caught.
func forKernel(body *bpf.Program) (*bpf.Program, error) {
	p, err := bpf.NewProgram("xdp_"+body.Name, append(xdpPrefix(packetSize), body.Insns...))
	if err != nil {
		return nil, err
	}
	zext := bpf.Insn{Op: bpf.ClassALU | bpf.AluMOV | bpf.SrcX, Dst: bpf.R0, Src: bpf.R0}
	return insertAfter(p, func(_ int, in bpf.Insn) []bpf.Insn {
		if isCmpxchg32(in) {
			return []bpf.Insn{zext}
		}
		return nil
	})
}

// insertAfter returns p with extra(i, p.Insns[i]) inserted after each
// instruction. A jump to the instruction after an insertion lands after
// the inserted code: it comes from a path that did not run the
// instruction the insertion belongs to. A local call still enters its
// subprogram's first instruction.
func insertAfter(p *bpf.Program, extra func(i int, in bpf.Insn) []bpf.Insn) (*bpf.Program, error) {
	extras := make([][]bpf.Insn, len(p.Insns))
	shift := make([]int, len(p.SlotIndex)+1) // slots inserted before each old slot
	total := 0
	for i, in := range p.Insns {
		for s := in.Slot; s < in.Slot+in.SlotCount(); s++ {
			shift[s] = total
		}
		extras[i] = extra(i, in)
		for _, e := range extras[i] {
			total += e.SlotCount()
		}
	}
	shift[len(p.SlotIndex)] = total
	moved := func(s int) int { return s + shift[s] }
	var out []bpf.Insn
	for i, in := range p.Insns {
		out = append(out, relocate(in, moved))
		out = append(out, extras[i]...)
	}
	return bpf.NewProgram(p.Name, out)
}

// relocate returns in with its offset recomputed, if it is a jump or a
// local call (both are relative to the next slot), for a layout where
// each old slot s moves to moved(s).
func relocate(in bpf.Insn, moved func(slot int) int) bpf.Insn {
	var target int
	switch {
	case in.IsJA() || in.IsCondJump():
		target = in.JumpTarget()
	case in.IsLocalCall():
		target = in.CallTarget()
	default:
		return in
	}
	off := moved(target) - (moved(in.Slot) + 1)
	if in.IsLocalCall() || in.Class() == bpf.ClassJMP32 && in.Code() == bpf.JmpJA {
		in.Imm = int32(off)
	} else {
		in.Off = int16(off)
	}
	return in
}

func isCmpxchg32(in bpf.Insn) bool {
	return in.Op == bpf.ClassSTX|bpf.ModeATOMIC|bpf.SizeW && in.Imm == bpf.AtomicCMPXCHG
}

// toCilium converts through bytecode: cilium's asm.Instruction keeps the
// v4 variants (sdiv, movsx, atomics) in an extended opcode that only its
// Unmarshal fills in, so building Instructions field by field would lose
// them silently (sdiv would load as div).
func toCilium(p *bpf.Program) (asm.Instructions, error) {
	r := bytes.NewReader(bpf.Encode(p, binary.LittleEndian))
	var out asm.Instructions
	for r.Len() > 0 {
		var ins asm.Instruction
		if err := ins.Unmarshal(r, binary.LittleEndian, "linux"); err != nil {
			return nil, fmt.Errorf("instruction %d: %w", len(out), err)
		}
		out = append(out, ins)
	}
	return out, nil
}

func loadXDP(insns asm.Instructions) (*ebpf.Program, error) {
	return ebpf.NewProgram(&ebpf.ProgramSpec{Name: "progen", Type: ebpf.XDP, Instructions: insns, License: "GPL"})
}

// bpfUnavailable returns why bpf() cannot be used here, or "" when a
// trivial XDP program loads and test-runs. Only permission and support
// errors count as "unavailable"; anything else is returned as an error, so
// a broken harness cannot pass as a restricted machine.
func bpfUnavailable() (string, error) {
	prog, err := loadXDP(asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()})
	if err == nil {
		defer prog.Close()
		var ret uint32
		ret, err = prog.Run(&ebpf.RunOptions{Data: make([]byte, packetSize)})
		if err == nil && ret != 2 {
			return "", fmt.Errorf("trivial XDP program returned %d, want 2", ret)
		}
	}
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, os.ErrPermission), errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, syscall.ENOSYS):
		return fmt.Sprintf("loading and running a trivial XDP program as uid %d: %v", os.Geteuid(), err), nil
	}
	return "", fmt.Errorf("trivial XDP program: %w", err)
}

// outcome is what a run leaves: r0 (the low 32 bits: test runs return no
// more) and the packet.
type outcome struct {
	r0     uint32
	packet []byte
}

func (o outcome) String() string { return fmt.Sprintf("r0 %#x, packet % x", o.r0, o.packet) }

// errRefused marks a program the verifier refused.
var errRefused = errors.New("the verifier refuses the program")

// runKernel loads body (see forKernel) as XDP and test-runs it on packet.
func runKernel(body *bpf.Program, packet []byte) (outcome, error) {
	p, err := forKernel(body)
	if err != nil {
		return outcome{}, err
	}
	insns, err := toCilium(p)
	if err != nil {
		return outcome{}, err
	}
	prog, err := loadXDP(insns)
	if err != nil {
		return outcome{}, fmt.Errorf("%w: %v", errRefused, err)
	}
	defer prog.Close()
	out := make([]byte, len(packet)+256)
	r0, err := prog.Run(&ebpf.RunOptions{Data: packet, DataOut: out})
	if err != nil {
		return outcome{}, fmt.Errorf("test run: %w", err)
	}
	return outcome{r0: r0, packet: out[:len(packet)]}, nil
}

// runInterp runs body in the reference interpreter on a copy of packet.
func runInterp(body *bpf.Program, packet []byte, maxSteps int) (outcome, error) {
	mem := bytes.Clone(packet)
	r0, err := bpf.Interpret(body, bpf.RunConfig{Mem: mem, MaxSteps: maxSteps})
	return outcome{r0: uint32(r0), packet: mem}, err
}

func (o outcome) equal(p outcome) bool { return o.r0 == p.r0 && bytes.Equal(o.packet, p.packet) }
