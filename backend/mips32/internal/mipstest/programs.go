package mipstest

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfopt/bpfopt/internal/bpfrt"
)

// The programs both engines' tests run: the C runner's tests check their
// results by hand-worked values, the simulator's tests check that its Go
// runtime gives the C runner's results exactly.

// StepsProgram is a steps program: its steps, its .data (map objects and
// what they point to) and the payload after the result words.
type StepsProgram struct {
	Steps   []Step
	Data    string
	Payload []byte
}

// Mem is the block f runs on: a zero result word per step, then the
// payload.
func (p StepsProgram) Mem() []byte { return append(make([]byte, 8*len(p.Steps)), p.Payload...) }

// ArrayMapProgram: lookups in and out of range, initial contents, the
// update flags, delete, stores through a value, and the map helpers
// through bpf_callx.
func ArrayMapProgram() StepsProgram {
	data := MapObject("arr", bpfrt.MapArray, 4, 12, 3, "arr_init") +
		"arr_init:\t.word 0x11111111, 0x12121212, 0x13131313, 0x21212121, 0x22222222, 0x23232323, 0x31313131, 0x32323232, 0x33333333\n" +
		MapObject("zeroed", bpfrt.MapArray, 4, 4, 2, "0")
	// Payload: keys 0, 1, 2, 3, 0xffffffff at 0..19, a 12-byte value at
	// 20, key 2 unaligned at 33; readbacks from 40 on.
	payload := append(LE32(0, 1, 2, 3, 0xffffffff), "abcdefghijkl"...)
	payload = append(payload, 0, 2, 0, 0, 0, 0, 0)
	payload = append(payload, make([]byte, 64)...)
	key := func(i uint64) Arg { return Pay(4 * i) }
	value := Pay(20)
	steps := []Step{
		0:  Lookup("arr", key(0)),
		1:  Lookup("arr", key(1)),
		2:  Lookup("arr", key(2)),
		3:  Lookup("arr", key(3)),
		4:  Lookup("arr", key(4)), // 0xffffffff
		5:  Readback(1, 12, 40),
		6:  Lookup("arr", Pay(33)),
		7:  Update("arr", key(1), value, 0),
		8:  Readback(1, 12, 52),
		9:  Update("arr", key(3), value, 0),
		10: Update("arr", key(0), value, 1),
		11: Update("arr", key(0), value, 2),
		12: Update("arr", key(0), value, 3),
		13: Update("arr", key(0), value, 1<<32),
		14: Delete("arr", key(0)),
		15: Readback(0, 12, 64),
		16: Lookup("zeroed", key(1)),
		17: Readback(16, 4, 76),
		18: Poke(16, 0, 0xfeedf00d),
		19: Lookup("zeroed", key(1)),
		20: Readback(19, 4, 80),
		21: Call("bpf_callx", K(1), Sym("zeroed"), key(1)),
		22: Call("bpf_callx", K(2), Sym("arr"), key(2), value, K(0)),
		23: Readback(2, 12, 84),
		24: Call("bpf_callx", K(3), Sym("arr"), key(0)),
	}
	return StepsProgram{steps, data, payload}
}

// HashMapProgram: insert, lookup, update with every flag, delete, a full
// table, keys that differ in their last byte, node reuse, and the map
// helpers through bpf_callx. Keys K0..K5 ("abcdeI") are at payload 8i,
// values V0..V5 (0x1111111111111111 * (I+1)) at 48+8i, readbacks from 96.
func HashMapProgram() StepsProgram {
	data := MapObject("h", bpfrt.MapHash, 6, 8, 4, "0")
	var payload []byte
	for i := range 6 {
		payload = append(payload, fmt.Sprintf("abcde%d\x00\x00", i)...)
	}
	for i := range 6 {
		payload = binary.LittleEndian.AppendUint64(payload, 0x1111111111111111*uint64(i+1))
	}
	payload = append(payload, make([]byte, 48)...)
	key := func(i uint64) Arg { return Pay(8 * i) }
	val := func(i uint64) Arg { return Pay(48 + 8*i) }
	steps := []Step{
		0:  Lookup("h", key(0)),
		1:  Update("h", key(0), val(0), 0),
		2:  Lookup("h", key(0)),
		3:  Readback(2, 8, 96),
		4:  Update("h", key(0), val(1), 1), // NOEXIST, present
		5:  Update("h", key(1), val(1), 2), // EXIST, absent
		6:  Update("h", key(0), val(2), 2), // EXIST, present
		7:  Lookup("h", key(0)),
		8:  Readback(7, 8, 104),
		9:  Update("h", key(1), val(1), 0),
		10: Update("h", key(2), val(2), 1),
		11: Update("h", key(3), val(3), 0),
		12: Update("h", key(4), val(4), 0), // full
		13: Update("h", key(4), val(4), 1), // full
		14: Update("h", key(4), val(4), 2), // absent first
		15: Update("h", key(3), val(5), 0), // present, full: fine
		16: Lookup("h", key(4)),
		17: Delete("h", key(4)),
		18: Delete("h", key(2)),
		19: Lookup("h", key(2)),
		20: Delete("h", key(2)),
		21: Update("h", key(4), val(4), 1), // takes K2's place
		22: Lookup("h", key(4)),
		23: Readback(22, 8, 112),
		24: Lookup("h", key(3)),
		25: Readback(24, 8, 120),
		26: Lookup("h", key(1)),
		27: Readback(26, 8, 128),
		28: Update("h", key(5), val(5), 4), // BPF_F_LOCK: no spin locks here
		29: Call("bpf_callx", K(3), Sym("h"), key(4)),
		30: Lookup("h", key(4)),
		31: Call("bpf_callx", K(2), Sym("h"), key(5), val(5), K(0)),
		32: Lookup("h", key(5)),
	}
	return StepsProgram{steps, data, payload}
}

// HashMapManyProgram fills an n-entry table whose keys share buckets,
// inserts one key too many (step n), then looks every key up and reads
// its value (3i+1) back to payload 8(n+1)+4i.
func HashMapManyProgram(n int) StepsProgram {
	data := MapObject("h", bpfrt.MapHash, 4, 4, uint32(n), "0")
	var payload []byte
	for i := range n + 1 {
		payload = binary.LittleEndian.AppendUint32(payload, uint32(i)*0x01010101)
	}
	for i := range n + 1 {
		payload = binary.LittleEndian.AppendUint32(payload, uint32(3*i+1))
	}
	payload = append(payload, make([]byte, 4*n)...)
	var steps []Step
	for i := range uint64(n + 1) {
		steps = append(steps, Update("h", Pay(4*i), Pay(4*(uint64(n)+1+i)), 0))
	}
	for i := range n {
		steps = append(steps, Lookup("h", Pay(4*uint64(i))), Readback(len(steps), 4, 8*(n+1)+4*i))
	}
	return StepsProgram{steps, data, payload}
}

// progData adds two programs, prog_a and prog_b: they return 0xa and 0xb.
const progData = "\t.text\nprog_a:\tli $v1, 0\n\tjr $ra\n\tli $v0, 0xa\nprog_b:\tli $v1, 0\n\tjr $ra\n\tli $v0, 0xb\n\t.data\n"

// ProgArrayProgram: tail-call targets from the initial contents (entry
// addresses, R_MIPS_32 in the data), after an update and a delete; the
// addresses are the programs' (a call through them runs them); and the
// program array results of the map helpers.
func ProgArrayProgram() StepsProgram {
	data := progData +
		MapObject("progs", bpfrt.MapProgArray, 4, 4, 4, "progs_init") +
		"progs_init:\t.word prog_a, 0, prog_b, 0\n" +
		"new_target:\t.word prog_b\n" +
		MapObject("empty", bpfrt.MapProgArray, 4, 4, 2, "0") +
		MapObject("arr", bpfrt.MapArray, 4, 4, 2, "0") +
		MapObject("other", 9, 4, 4, 2, "0")
	key := func(i uint64) Arg { return Pay(4 * i) }
	steps := []Step{
		0:  AddrOf("prog_a"),
		1:  AddrOf("prog_b"),
		2:  Tail("progs", 0),
		3:  Tail("progs", 1),
		4:  Tail("progs", 2),
		5:  Tail("progs", 4),
		6:  Tail("progs", 1<<32|2), // the index is a u32
		7:  Tail("progs", 0xffffffff),
		8:  Jump(2),
		9:  Lookup("progs", key(0)),
		10: Update("progs", key(1), Sym("new_target"), 0),
		11: Tail("progs", 1),
		12: Update("progs", key(1), Sym("new_target"), 1), // only BPF_ANY
		13: Update("progs", key(2), Sym("new_target"), 0), // index 4
		14: Delete("progs", key(0)),
		15: Tail("progs", 0),
		16: Delete("progs", key(0)),
		17: Delete("progs", key(3)), // index 9
		18: Jump(11),
		19: Tail("empty", 0),
		20: Tail("arr", 0),
		21: Tail("other", 0),
		22: Call("bpf_callx", K(3), Sym("progs"), key(1)),
		23: Tail("progs", 1),
	}
	return StepsProgram{steps, data, LE32(0, 1, 4, 9)}
}

// RuntimeErrorData holds the maps of RuntimeErrorCases: good ones, and
// bad ones of every kind the runtime refuses.
var RuntimeErrorData = progData +
	MapObject("arr", bpfrt.MapArray, 4, 4, 2, "0") +
	MapObject("h", bpfrt.MapHash, 4, 4, 2, "0") +
	MapObject("unknown", 4, 4, 4, 2, "0") +
	MapObject("arr_key8", bpfrt.MapArray, 8, 4, 2, "0") +
	MapObject("hash_key513", bpfrt.MapHash, 513, 4, 2, "0") +
	MapObject("hash_value0", bpfrt.MapHash, 4, 0, 2, "0") +
	MapObject("prog_value8", bpfrt.MapProgArray, 4, 8, 2, "0") +
	MapObject("arr_empty", bpfrt.MapArray, 4, 4, 0, "0") +
	MapObject("huge_array", bpfrt.MapArray, 4, 8, 0x10000000, "0") +
	MapObject("huge_hash", bpfrt.MapHash, 4, 4, 0xffffffff, "0") +
	MapObject("bad_init", bpfrt.MapArray, 4, 4, 2, "0x40") +
	"\t.align 2\nstale:\t.word 2, 4, 4, 2, 0, 0, 4, 0\n"

// RuntimeErrorCase is a call that stops the program (bad pointers, bad map
// objects, unknown helper IDs) or faults in the runtime. It runs as the
// third step of RuntimeErrorSteps.
type RuntimeErrorCase struct {
	Name string
	Last Step
	// MapSym is the map whose address the message shows (as %s, eight
	// hex digits), if any.
	MapSym string
	// Stop is the C runner's message; one ending in a space or "0x" is a
	// prefix. Empty: the runtime faults reading memory (SIGSEGV on qemu).
	Stop string
}

// RuntimeErrorSteps is the program of a case: a lookup that works, the
// address of the case's map (or arr's), the case's call (its jalr is
// "step2"); the payload is RuntimeErrorPayload.
func RuntimeErrorSteps(c RuntimeErrorCase) []Step {
	addr := "arr"
	if c.MapSym != "" {
		addr = c.MapSym
	}
	return []Step{Lookup("arr", Pay(0)), AddrOf(addr), c.Last}
}

// RuntimeErrorPayload is key 1.
var RuntimeErrorPayload = LE32(1)

// RuntimeErrorCases are the runtime's error stops and faults.
func RuntimeErrorCases() []RuntimeErrorCase {
	key := Pay(0)
	return []RuntimeErrorCase{
		{"map pointer", Call("bpf_helper_1", K(0x100000040), key), "", "map_lookup_elem: pointer 0x100000040 is not a 32-bit address"},
		{"key pointer", Call("bpf_helper_1", Sym("arr"), K(0x200000010)), "", "map_lookup_elem: pointer 0x200000010 is not a 32-bit address"},
		{"hash key pointer", Call("bpf_helper_3", Sym("h"), K(0xffffffff00000000)), "", "map_delete_elem: pointer 0xffffffff00000000 is not a 32-bit address"},
		{"value pointer", Update("h", key, K(0x500000000), 0), "", "map_update_elem: pointer 0x500000000 is not a 32-bit address"},
		{"high word of a map address", Call("bpf_helper_1", Arg{Sym: "arr", Hi: 1}, key), "arr", "map_lookup_elem: pointer 0x1%s is not a 32-bit address"},
		{"tail call map pointer", Call(TailCallTarget, K(0x300000000), K(0)), "", "bpf_tail_call_target: pointer 0x300000000 is not a 32-bit address"},
		{"misaligned map", Call("bpf_helper_1", SymAt("arr", 2), key), "arr+2", "map_lookup_elem: map pointer 0x%s is not 4-byte aligned"},
		{"misaligned tail call map", Call(TailCallTarget, SymAt("arr", 1), K(0)), "arr+1", "bpf_tail_call_target: map pointer 0x%s is not 4-byte aligned"},
		{"unsupported type", Delete("unknown", key), "unknown", "map_delete_elem: map at 0x%s: unsupported type 4 (the runtime has 1 hash, 2 array, 3 prog array)"},
		{"array key size", Lookup("arr_key8", key), "arr_key8", "map_lookup_elem: map at 0x%s: array key_size 8 (must be 4)"},
		{"hash key size", Update("hash_key513", key, key, 0), "hash_key513", "map_update_elem: map at 0x%s: hash key_size 513 (must be 1..512)"},
		{"hash value size", Lookup("hash_value0", key), "hash_value0", "map_lookup_elem: map at 0x%s: hash value_size 0 (must be at least 1)"},
		{"prog array value size", Tail("prog_value8", 0), "prog_value8", "bpf_tail_call_target: map at 0x%s: prog array value_size 8 (must be 4)"},
		{"no entries", Lookup("arr_empty", key), "arr_empty", "map_lookup_elem: map at 0x%s: array max_entries 0 (must be at least 1)"},
		{"stale state", Lookup("stale", key), "stale", "map_lookup_elem: map at 0x%s: state word 0x00000004 is not the runtime's (map objects start with state 0)"},
		// The heap's 256 MiB less arr's 16 bytes.
		{"huge array", Lookup("huge_array", key), "huge_array", "map_lookup_elem: map at 0x%s: its storage needs 2147483648 bytes, the runtime heap has 268435440 left"},
		{"huge hash", Lookup("huge_hash", key), "huge_hash", "map_lookup_elem: map at 0x%s: its storage needs 0x"},
		{"unknown callx id", Call("bpf_callx", K(4), K(0)), "", "unknown helper id 4 in bpf_callx"},
		{"huge callx id", Call("ubpf_callx", K(1<<40), K(0)), "", "unknown helper id 0x10000000000 in ubpf_callx"},
		{"unmapped key", Lookup("arr", K(0x40)), "", ""},
		{"unmapped initial contents", Lookup("bad_init", key), "", ""},
	}
}

// CallSnippet calls a runtime routine with the 64-bit arguments at 0(a0)
// and 8(a0), through a %hi/%lo-relocated t9, from a proper O32 frame. The
// word order of a 64-bit argument in a register pair is the memory order,
// so the snippet serves both byte orders. A helper function first makes
// the entry offset, f's, non-zero.
func CallSnippet(sym string) string {
	return fmt.Sprintf(`
helper:
	jr $ra
	li $v0, 99
f:	addiu $sp, $sp, -24
	sw $ra, 20($sp)
	lw $t0, 0($a0)
	lw $t1, 4($a0)
	lw $a2, 8($a0)
	lw $a3, 12($a0)
	move $a0, $t0
	move $a1, $t1
	lui $t9, %%hi(%[1]s)
	addiu $t9, $t9, %%lo(%[1]s)
	jalr $t9
	nop
	lw $ra, 20($sp)
	jr $ra
	addiu $sp, $sp, 24
`, sym)
}

// DivCase is a libgcc division routine's call: CallSnippet(Sym) on A, B.
type DivCase struct {
	Sym        string
	A, B, Want uint64
}

// DivCases are checked against Go's own 64-bit arithmetic.
func DivCases() []DivCase {
	x, y := uint64(0xfedcba9876543210), uint64(0x12345)
	sx, sy := int64(-0x123456789abcdef), int64(0x7777)
	return []DivCase{
		{"__udivdi3", x, y, x / y},
		{"__umoddi3", x, y, x % y},
		{"__divdi3", uint64(sx), uint64(sy), uint64(sx / sy)},
		{"__moddi3", uint64(sx), uint64(sy), uint64(sx % sy)},
		{"__udivdi3", 0x00000001_00000000, 3, 0x55555555},
	}
}

// AtomicSnippet calls an 8-byte atomic read-modify-write routine
// (ptr, uint64 val, int memorder): ptr = a0, val in a2/a3, memorder at
// 16(sp), on the word at 0(a0) with the operand at 8(a0).
func AtomicSnippet(sym string) string {
	return fmt.Sprintf(`
f:	addiu $sp, $sp, -32
	sw $ra, 28($sp)
	lw $a2, 8($a0)
	lw $a3, 12($a0)
	li $t0, 5
	sw $t0, 16($sp)
	lui $t9, %%hi(%[1]s)
	addiu $t9, $t9, %%lo(%[1]s)
	jalr $t9
	nop
	lw $ra, 28($sp)
	jr $ra
	addiu $sp, $sp, 32
`, sym)
}

// AtomicCase is a libatomic routine's call: AtomicSnippet(Sym) on the
// block {Old, Arg}. It returns Old and leaves Want in the first word.
type AtomicCase struct {
	Sym            string
	Old, Arg, Want uint64
}

// AtomicCases are checked against Go's own 64-bit arithmetic.
func AtomicCases() []AtomicCase {
	old, arg := uint64(0x00000001_ffffffff), uint64(0x80000000_00000003)
	return []AtomicCase{
		{"__atomic_fetch_add_8", old, arg, old + arg},
		{"__atomic_fetch_or_8", old, arg, old | arg},
		{"__atomic_fetch_and_8", old, arg, old & arg},
		{"__atomic_fetch_xor_8", old, arg, old ^ arg},
		{"__atomic_exchange_8", old, arg, arg},
	}
}

// ModuleSource is a module (code and data) f(block) that reads and
// writes a data word (counter, 40 in the image) and stores the value read
// at 0(block), calls a function through a pointer in the data (an
// R_MIPS_32 against .text; 0x2222 at 4), calls its own bpf_helper_5 (a
// module symbol shadows the runtime's; 0x5555 at 8), stores a byte of the
// data (9 at 12) and returns the address of the data object bytes, whose
// 3 bytes end the module.
const ModuleSource = `
	.globl f
f:	addiu $sp, $sp, -24
	sw $ra, 20($sp)
	sw $s0, 16($sp)
	move $s0, $a0
	lui $t0, %hi(counter)
	lw $v0, %lo(counter)($t0)
	addiu $t1, $v0, 1
	sw $t1, %lo(counter)($t0)
	sw $v0, 0($s0)
	lui $t9, %hi(fptr)
	lw $t9, %lo(fptr)($t9)
	jalr $t9
	nop
	sw $v0, 4($s0)
	lui $t9, %hi(bpf_helper_5)
	addiu $t9, $t9, %lo(bpf_helper_5)
	jalr $t9
	nop
	sw $v0, 8($s0)
	lui $t0, %hi(bytes+2)
	lbu $v0, %lo(bytes+2)($t0)
	sw $v0, 12($s0)
	lw $s0, 16($sp)
	lw $ra, 20($sp)
	lui $v0, %hi(bytes)
	addiu $v0, $v0, %lo(bytes)
	move $v1, $zero
	jr $ra
	addiu $sp, $sp, 24
twice:	jr $ra
	li $v0, 0x2222
	.globl bpf_helper_5
bpf_helper_5:
	jr $ra
	li $v0, 0x5555
	.data
counter: .word 40
fptr:	.word twice
bytes:	.byte 7, 8, 9
`

// CmpxchgSnippet calls __atomic_compare_exchange_8(ptr, expected *,
// uint64 desired, int success, int failure) on the block
// { object, expected, desired }: libatomic's signature, which has no
// weak flag (the builtin has).
const CmpxchgSnippet = `
f:	addiu $sp, $sp, -32
	sw $ra, 28($sp)
	lw $a2, 16($a0)
	lw $a3, 20($a0)
	addiu $a1, $a0, 8
	li $t0, 5
	sw $t0, 16($sp)
	sw $t0, 20($sp)
	lui $t9, %hi(__atomic_compare_exchange_8)
	addiu $t9, $t9, %lo(__atomic_compare_exchange_8)
	jalr $t9
	nop
	andi $v0, $v0, 0xff
	move $v1, $zero
	lw $ra, 28($sp)
	jr $ra
	addiu $sp, $sp, 32
`
