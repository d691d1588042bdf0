package bpf

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Maps and data sections in the reference interpreter. Programs are
// assembly whose pseudo lddws are given their map names in program order
// (as LoadELF's relocations would); every expected value is worked out by
// hand from the semantics in interp_maps.go's comment and Linux's.

// asmWithRefs parses src and names the pseudo lddws' targets in order.
func asmWithRefs(t *testing.T, src string, refs ...string) *Program {
	t.Helper()
	p, err := ParseAsm(src)
	require.NoError(t, err)
	p.Name = "prog"
	p.Refs = map[int]string{}
	for _, in := range p.Insns {
		if in.Class() == ClassLD && in.Src != 0 {
			require.NotEmpty(t, refs, "more pseudo lddws than names")
			p.Refs[in.Slot], refs = refs[0], refs[1:]
		}
	}
	require.Empty(t, refs, "fewer pseudo lddws than names")
	return p
}

// testObject has an array, a hash map, a program array and two sections.
func testObject(progs ...*Program) *Object {
	return &Object{Programs: progs, Maps: []*MapSpec{
		{Symbol: "__data", Section: true, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Symbol: "__rodata", Section: true, Data: []byte{0x10, 0, 0, 0, 0x20, 0, 0, 0}},
		{Symbol: "arr", Type: MapTypeArray, KeySize: 4, ValueSize: 8, MaxEntries: 4,
			Values: map[uint32][]byte{2: {42, 0, 0, 0, 0, 0, 0, 0}}},
		{Symbol: "flows", Type: MapTypeHash, KeySize: 4, ValueSize: 4, MaxEntries: 2},
		{Symbol: "jmp", Type: MapTypeProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4,
			Programs: map[uint32]string{0: "target"}},
		{Symbol: "percpu", Type: 6, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Symbol: "wide", Type: MapTypeArray, KeySize: 8, ValueSize: 8, MaxEntries: 4},
		{Symbol: "bighash", Type: MapTypeHash, KeySize: 513, ValueSize: 8, MaxEntries: 4},
	}}
}

func runObject(t *testing.T, p *Program, obj *Object, mem []byte) uint64 {
	t.Helper()
	r0, err := Interpret(p, RunConfig{Mem: mem, Helpers: KernelHelpers(), Object: obj})
	require.NoError(t, err)
	return r0
}

func TestInterpSections(t *testing.T) {
	// .rodata word at offset 4 (0x20) + .data byte 2 (3); then .data
	// byte 2 := 9 and read back: 0x20 + 3 + 9.
	p := asmWithRefs(t, `
		lddw %r1, 0x400000000, map_value
		ldxw %r0, [%r1+0]
		lddw %r2, 0, map_value
		ldxb %r3, [%r2+2]
		add %r0, %r3
		stb [%r2+2], 9
		ldxb %r3, [%r2+2]
		add %r0, %r3
		exit`, ".rodata", ".data")
	obj := testObject()
	require.Equal(t, uint64(0x20+3+9), runObject(t, p, obj, nil))
	// Every run starts from the object's contents, which stay untouched.
	require.Equal(t, uint64(0x20+3+9), runObject(t, p, obj, nil))
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, obj.Maps[0].Data)
}

func TestInterpArrayMap(t *testing.T) {
	// r6 = &arr[2] (initially 42); add 8 atomically; arr[4] is out of
	// range (lookup 0); update arr[1] := 5 with BPF_ANY (0), then with
	// BPF_NOEXIST (-EEXIST), index 4 (-E2BIG), flags 3 (-EINVAL); delete
	// (-EINVAL). The results go to mem as u64s.
	p := asmWithRefs(t, `
		mov %r9, %r1
		stw [%r10-4], 2
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		call 1
		mov %r6, %r0
		mov %r1, 8
		lock add [%r6+0], %r1
		stw [%r10-4], 4
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		call 1
		stxdw [%r9+0], %r0
		stw [%r10-4], 1
		stdw [%r10-16], 5
		mov %r8, 0
	upd:
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, %r8
		call 2
		mov %r1, %r8
		lsh %r1, 3
		add %r1, %r9
		stxdw [%r1+8], %r0
		add %r8, 1
		jle %r8, 1, upd
		stw [%r10-4], 4
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, 0
		call 2
		stxdw [%r9+24], %r0
		stw [%r10-4], 1
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, 3
		call 2
		stxdw [%r9+32], %r0
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		call 3
		stxdw [%r9+40], %r0
		stw [%r10-4], 1
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		call 1
		ldxdw %r0, [%r0+0]
		ldxdw %r1, [%r6+0]
		lsh %r1, 8
		or %r0, %r1
		exit`, "arr", "arr", "arr", "arr", "arr", "arr", "arr")
	mem := make([]byte, 48)
	r0 := runObject(t, p, testObject(), mem)
	require.Equal(t, uint64(50<<8|5), r0) // arr[2] = 42+8, arr[1] = 5
	want := make([]byte, 48)
	le := func(off int, v int64) {
		for i := range 8 {
			want[off+i] = byte(uint64(v) >> (8 * i))
		}
	}
	le(0, 0)    // lookup of index 4
	le(8, 0)    // BPF_ANY
	le(16, -17) // BPF_NOEXIST: -EEXIST
	le(24, -7)  // index 4: -E2BIG
	le(32, -22) // flags 3: -EINVAL
	le(40, -22) // delete from an array: -EINVAL
	require.Equal(t, want, mem)
}

func TestInterpHashMap(t *testing.T) {
	// max_entries 2. Results, one u64 each in mem:
	//  0 update k=1 v=10 NOEXIST → 0      1 update k=1 v=11 NOEXIST → -EEXIST
	//  2 update k=2 v=20 EXIST → -ENOENT  3 update k=2 v=20 ANY → 0
	//  4 update k=3 ANY → -E2BIG (full)   5 *lookup(k=1) → 10
	//  6 update k=1 v=12 EXIST → 0, then *(earlier pointer) → 12 (in place)
	//  7 delete k=1 → 0                   8 delete k=1 → -ENOENT
	//  9 lookup(k=1) → 0                 10 update k=3 v=30 ANY → 0 (room again)
	p := asmWithRefs(t, `
		mov %r9, %r1
		lddw %r6, 0, map_fd
		# upd key=%r7 val=%r8 flags=%r4 → mem[%r5]
		mov %r7, 1
		mov %r8, 10
		mov %r4, 1
		call local upd
		stxdw [%r9+0], %r0
		mov %r8, 11
		mov %r4, 1
		call local upd
		stxdw [%r9+8], %r0
		mov %r7, 2
		mov %r8, 20
		mov %r4, 2
		call local upd
		stxdw [%r9+16], %r0
		mov %r4, 0
		call local upd
		stxdw [%r9+24], %r0
		mov %r7, 3
		mov %r4, 0
		call local upd
		stxdw [%r9+32], %r0
		stw [%r10-4], 1
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -4
		call 1
		mov %r5, %r0
		ldxw %r0, [%r0+0]
		stxdw [%r9+40], %r0
		stxdw [%r10-16], %r5
		mov %r7, 1
		mov %r8, 12
		mov %r4, 2
		call local upd
		ldxdw %r5, [%r10-16]
		ldxw %r0, [%r5+0]
		stxdw [%r9+48], %r0
		stw [%r10-4], 1
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -4
		call 3
		stxdw [%r9+56], %r0
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -4
		call 3
		stxdw [%r9+64], %r0
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -4
		call 1
		stxdw [%r9+72], %r0
		mov %r7, 3
		mov %r8, 30
		mov %r4, 0
		call local upd
		stxdw [%r9+80], %r0
		mov %r0, 0
		exit
	upd:
		stxw [%r10-4], %r7
		stxw [%r10-8], %r8
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -8
		call 2
		exit`, "flows")
	mem := make([]byte, 88)
	require.Equal(t, uint64(0), runObject(t, p, testObject(), mem))
	var want []byte
	for _, v := range []int64{0, -17, -2, 0, -7, 10, 12, 0, -2, 0, 0} {
		for i := range 8 {
			want = append(want, byte(uint64(v)>>(8*i)))
		}
	}
	require.Equal(t, want, mem)
}

func TestInterpMapErrors(t *testing.T) {
	for _, c := range []struct {
		asm  string
		refs []string
		obj  *Object
		msg  string
	}{
		{"lddw %r1, 0, map_fd\nldxw %r0, [%r1+0]\nexit", []string{"arr"}, testObject(),
			"line 2: load of 4 bytes at 0x28000200 is outside memory"},
		{"lddw %r1, 0, map_fd\nexit", []string{"nope"}, testObject(),
			`line 1: lddw refers to "nope", which the object does not define`},
		{"lddw %r1, 0, map_fd\nexit", []string{"arr"}, nil, "line 1: lddw with pseudo source map_fd (1) needs a loader"},
		{"lddw %r1, 0, map_value\nexit", []string{"flows"}, testObject(),
			`line 1: lddw takes a value address of map "flows"`},
		{"mov %r1, 5\ncall 1\nexit", nil, testObject(), "line 2: helper 1: 0x5 is not a map"},
		{"lddw %r1, 0, map_fd\nmov %r2, 0\ncall 1\nexit", []string{"arr"}, testObject(),
			"line 3: helper 1: 4 bytes at 0x0 are outside memory"},
		{"lddw %r1, 0, map_fd\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit", []string{"percpu"}, testObject(),
			"line 4: helper 1: map percpu: unsupported type 6 (the runtime has 1 hash, 2 array, 3 prog array)"},
		{"lddw %r1, 0, map_fd\nmov %r2, %r10\nadd %r2, -4\ncall 3\nexit", []string{"wide"}, testObject(),
			"line 4: helper 3: map wide: array key_size 8 (must be 4)"},
		{"lddw %r1, 0, map_value\nexit", []string{"wide"}, testObject(),
			"line 1: map wide: array key_size 8 (must be 4)"},
		{"lddw %r1, 0, map_fd\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit", []string{"bighash"}, testObject(),
			"line 4: helper 1: map bighash: hash key_size 513 (must be 1..512)"},
		{"stw [%r10-4], 1\nlddw %r1, 0, map_fd\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r2\nmov %r4, 0\ncall 2\nexit",
			[]string{"jmp"}, testObject(), "line 7: helper 2: map jmp: setting a program array slot from a program is not supported"},
		// A hash value is exactly value_size bytes.
		{`stw [%r10-4], 1
		  stw [%r10-8], 1
		  lddw %r1, 0, map_fd
		  mov %r2, %r10
		  add %r2, -4
		  mov %r3, %r10
		  add %r3, -8
		  mov %r4, 0
		  call 2
		  lddw %r1, 0, map_fd
		  mov %r2, %r10
		  add %r2, -4
		  call 1
		  ldxw %r0, [%r0+2]
		  exit`, []string{"flows", "flows"}, testObject(), "line 14: load of 4 bytes at 0x"},
	} {
		p := asmWithRefs(t, c.asm, c.refs...)
		_, err := Interpret(p, RunConfig{Helpers: KernelHelpers(), Object: c.obj})
		require.ErrorContains(t, err, c.msg, c.asm)
	}
}

// TestInterpELFObject runs progs.c's "counted" with its object: it adds
// the .rodata constant scale (3) to counters[1] and returns fib(5) = 5.
func TestInterpELFObject(t *testing.T) {
	data, err := os.ReadFile("testdata/progs_el.o")
	require.NoError(t, err)
	obj, err := LoadELFObject(bytes.NewReader(data))
	require.NoError(t, err)
	var counted *Program
	for _, p := range obj.Programs {
		if p.Name == "counted" {
			counted = p
		}
	}
	require.NotNil(t, counted)
	require.Equal(t, uint64(5), runObject(t, counted, obj, make([]byte, 8)))
}

// TestInterpRuntimeDetails covers what the runtime does beyond Linux's
// documented results: prog-array lookups and deletes, and hash elements
// reused after a delete (the last deleted first, zeroed, then written).
func TestInterpRuntimeDetails(t *testing.T) {
	// Results, one u64 each in mem:
	//  0 lookup jmp[0] → 0             1 update jmp[0] flags 1 → -EINVAL
	//  2 update jmp[9] → -E2BIG        3 delete jmp[1] (empty) → -ENOENT
	//  4 delete jmp[9] → -E2BIG        5 delete jmp[0] → 0
	//  6 tail call jmp[0], now empty, and through the array arr: r0
	//    unchanged (6)
	//  7 *p after flows{1: 10}, p = lookup(1), delete(1) → 10 (kept)
	//  8 *p after insert flows{2: 20} → 20 (the node is reused)
	p := asmWithRefs(t, `
		mov %r9, %r1
		stw [%r10-4], 0
		stw [%r10-8], 9
		stw [%r10-12], 1
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		call 1
		stxdw [%r9+0], %r0
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r2
		mov %r4, 1
		call 2
		stxdw [%r9+8], %r0
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -8
		mov %r3, %r2
		mov %r4, 0
		call 2
		stxdw [%r9+16], %r0
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -12
		call 3
		stxdw [%r9+24], %r0
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -8
		call 3
		stxdw [%r9+32], %r0
		lddw %r1, 0, map_fd
		mov %r2, %r10
		add %r2, -4
		call 3
		stxdw [%r9+40], %r0
		mov %r0, 6
		mov %r1, %r9
		lddw %r2, 0, map_fd
		mov %r3, 0
		call 12
		mov %r1, %r9
		lddw %r2, 0, map_fd
		mov %r3, 0
		call 12
		stxdw [%r9+48], %r0
		lddw %r6, 0, map_fd
		stw [%r10-16], 10
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -12
		mov %r3, %r10
		add %r3, -16
		mov %r4, 0
		call 2
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -12
		call 1
		mov %r7, %r0
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -12
		call 3
		ldxw %r0, [%r7+0]
		stxdw [%r9+56], %r0
		stw [%r10-12], 2
		stw [%r10-16], 20
		mov %r1, %r6
		mov %r2, %r10
		add %r2, -12
		mov %r3, %r10
		add %r3, -16
		mov %r4, 0
		call 2
		ldxw %r0, [%r7+0]
		stxdw [%r9+64], %r0
		mov %r0, 0
		exit`, "jmp", "jmp", "jmp", "jmp", "jmp", "jmp", "jmp", "arr", "flows")
	mem := make([]byte, 72)
	runObject(t, p, testObject(), mem)
	var want []byte
	for _, v := range []int64{0, -22, -7, -2, -7, 0, 6, 10, 20} {
		for i := range 8 {
			want = append(want, byte(uint64(v)>>(8*i)))
		}
	}
	require.Equal(t, want, mem)
}
