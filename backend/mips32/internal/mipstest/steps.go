package mipstest

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Steps programs call the runtime (helpers, maps, tail-call lookups) one
// step at a time from a function f(block) written in assembly, so that a
// test states each call and its arguments and finds every result in the
// block afterwards. Step i leaves a 64-bit result at 8i in the block; the
// payload (keys, values, readbacks) follows, at 8*len(steps).

// Arg is a 64-bit argument: a constant, the address of payload offset V,
// or the address of module symbol Sym plus V (Hi then goes in the high
// word, to make a bad pointer).
type Arg struct {
	V       uint64
	Payload bool
	Sym     string
	Hi      uint32
}

// K is the constant v.
func K(v uint64) Arg { return Arg{V: v} }

// Pay is the address of payload offset off.
func Pay(off uint64) Arg { return Arg{V: off, Payload: true} }

// Sym is the address of a module symbol.
func Sym(name string) Arg { return Arg{Sym: name} }

// SymAt is the address of a module symbol plus off.
func SymAt(name string, off uint64) Arg { return Arg{Sym: name, V: off} }

// Step is one step of a steps program: a call of routine Call (result:
// its r0), the address of symbol Addr, a readback (N bytes from the
// address step From left to payload offset To), a poke (word Val stored
// at the address step From left, plus Off) or a jump (a call of the
// address step From left; result: its r0). A call's jalr has the label
// "stepI".
type Step struct {
	Call       string
	Args       []Arg
	Addr       string
	Readback   bool
	Poke, Jump bool
	From, N    int
	To, Off    int
	Val        uint32
}

// TailCallTarget is the runtime routine a compiled tail call asks for the
// entry address in a program array's slot (the C runner's maps.c and
// sim/runner serve it; a wrong name fails to link on both).
const TailCallTarget = "bpf_tail_call_target"

// Call calls routine sym.
func Call(sym string, a ...Arg) Step { return Step{Call: sym, Args: a} }

// Lookup, Update and Delete call the kernel's map helpers 1, 2 and 3 on
// map m.
func Lookup(m string, key Arg) Step { return Call("bpf_helper_1", Sym(m), key) }
func Update(m string, key, value Arg, flags uint64) Step {
	return Call("bpf_helper_2", Sym(m), key, value, K(flags))
}
func Delete(m string, key Arg) Step { return Call("bpf_helper_3", Sym(m), key) }

// Tail asks for the tail-call target in slot index of program array m.
func Tail(m string, index uint64) Step { return Call(TailCallTarget, Sym(m), K(index)) }

// AddrOf leaves the address of sym.
func AddrOf(sym string) Step { return Step{Addr: sym} }

// Readback copies n bytes from the address step from left to payload
// offset to.
func Readback(from, n, to int) Step { return Step{Readback: true, From: from, N: n, To: to} }

// Poke stores v at the address step from left, plus off.
func Poke(from, off int, v uint32) Step { return Step{Poke: true, From: from, Off: off, Val: v} }

// Jump calls the address step from left.
func Jump(from int) Step { return Step{Jump: true, From: from} }

// MapObject is a struct bpf_map (the C runner's maps.c; sim/runner's
// MapWord constants, which its tests check against this and maps.c) in
// assembly: type, key_size, value_size, max_entries, flags 0, initial (a
// symbol or "0"), state 0, reserved.
func MapObject(name string, typ, keySize, valueSize, maxEntries uint32, initial string) string {
	return fmt.Sprintf("\t.align 2\n%s:\t.word %d, %d, %d, %d, 0, %s, 0, 0\n", name, typ, keySize, valueSize, maxEntries, initial)
}

// Linux's errno values as the helpers return them, negated (Errno).
const (
	ENOENT = 2
	E2BIG  = 7
	EEXIST = 17
	EINVAL = 22
)

// Errno is a negative helper result as r0 holds it.
func Errno(n int64) uint64 { return uint64(-n) }

// LE32 encodes little-endian words.
func LE32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// LE64 encodes little-endian 64-bit words.
func LE64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// StepsSource is the steps program f, then data in .data.
func StepsSource(steps []Step, data string) string {
	payload := 8 * len(steps)
	var b strings.Builder
	b.WriteString("f:\taddiu $sp, $sp, -56\n\tsw $ra, 52($sp)\n\tsw $s0, 48($sp)\n\tmove $s0, $a0\n")
	for i, s := range steps {
		switch {
		case s.Addr != "":
			fmt.Fprintf(&b, "\tlui $v0, %%hi(%[1]s)\n\taddiu $v0, $v0, %%lo(%[1]s)\n\tmove $v1, $zero\n", s.Addr)
		case s.Readback:
			fmt.Fprintf(&b, "\tlw $t0, %d($s0)\n", 8*s.From)
			for j := range s.N {
				fmt.Fprintf(&b, "\tlbu $t1, %d($t0)\n\tsb $t1, %d($s0)\n", j, payload+s.To+j)
			}
			continue
		case s.Poke:
			fmt.Fprintf(&b, "\tlw $t0, %d($s0)\n\tli $t1, %#x\n\tsw $t1, %d($t0)\n", 8*s.From, s.Val, s.Off)
			continue
		case s.Jump:
			fmt.Fprintf(&b, "\tlw $t9, %d($s0)\n\tjalr $t9\n\tnop\n", 8*s.From)
		default:
			writeCall(&b, i, s, payload)
		}
		fmt.Fprintf(&b, "\tsw $v0, %d($s0)\n\tsw $v1, %d($s0)\n", 8*i, 8*i+4)
	}
	b.WriteString("\tlw $s0, 48($sp)\n\tlw $ra, 52($sp)\n\tjr $ra\n\taddiu $sp, $sp, 56\n")
	b.WriteString("\t.data\n" + data)
	return b.String()
}

// writeCall loads step i's arguments as O32 passes 64-bit values (the
// first two in a0/a1 and a2/a3, the others on the stack from 16(sp)) and
// calls its routine through t9.
func writeCall(b *strings.Builder, i int, s Step, payload int) {
	regs := []string{"$a0", "$a1", "$a2", "$a3"}
	for j := len(s.Args) - 1; j >= 0; j-- { // stack words first: they use t0
		a := s.Args[j]
		lo, hi := "$t0", "$t1"
		if j < 2 {
			lo, hi = regs[2*j], regs[2*j+1]
		}
		switch {
		case a.Sym != "":
			fmt.Fprintf(b, "\tlui %[1]s, %%hi(%[2]s+%[3]d)\n\taddiu %[1]s, %[1]s, %%lo(%[2]s+%[3]d)\n\tli %[4]s, %#[5]x\n", lo, a.Sym, a.V, hi, a.Hi)
		case a.Payload:
			fmt.Fprintf(b, "\tli %[1]s, %[2]d\n\taddu %[1]s, %[1]s, $s0\n\tmove %[3]s, $zero\n", lo, uint64(payload)+a.V, hi)
		default:
			fmt.Fprintf(b, "\tli %s, %#x\n\tli %s, %#x\n", lo, uint32(a.V), hi, uint32(a.V>>32))
		}
		if j >= 2 {
			fmt.Fprintf(b, "\tsw $t0, %d($sp)\n\tsw $t1, %d($sp)\n", 8*j, 8*j+4)
		}
	}
	fmt.Fprintf(b, "\tlui $t9, %%hi(%[1]s)\n\taddiu $t9, $t9, %%lo(%[1]s)\nstep%[2]d:\tjalr $t9\n\tnop\n", s.Call, i)
}
