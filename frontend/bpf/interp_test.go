package bpf

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Edge cases of the reference interpreter. Every expected value is worked
// out by hand from RFC 9669 (noted where it is not obvious), never taken
// from a run.

type interpCase struct {
	name string
	asm  string // "exit" is appended
	want uint64
}

func runCases(t *testing.T, cases []interpCase) {
	t.Helper()
	for _, c := range cases {
		p, err := ParseAsm(c.asm + "\nexit\n")
		require.NoError(t, err, c.name)
		r0, err := Interpret(p, RunConfig{Helpers: ConformanceHelpers()})
		require.NoError(t, err, c.name)
		require.Equal(t, fmt.Sprintf("0x%x", c.want), fmt.Sprintf("0x%x", r0), c.name)
	}
}

func TestInterpShifts(t *testing.T) {
	runCases(t, []interpCase{
		{"lsh 0", "mov %r0, 1\nlsh %r0, 0", 1},
		{"lsh 31", "mov %r0, 1\nlsh %r0, 31", 0x80000000},
		{"lsh 32", "mov %r0, 1\nlsh %r0, 32", 0x1_0000_0000},
		{"lsh 33", "mov %r0, 1\nlsh %r0, 33", 0x2_0000_0000},
		{"lsh 63", "mov %r0, 1\nlsh %r0, 63", 0x8000_0000_0000_0000},
		{"lsh 64 masks to 0", "mov %r0, 1\nlsh %r0, 64", 1},
		{"lsh reg 65 masks to 1", "mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1", 2},
		{"rsh 63", "lddw %r0, 0x8000000000000000\nrsh %r0, 63", 1},
		{"arsh 63", "lddw %r0, 0x8000000000000000\narsh %r0, 63", 0xffff_ffff_ffff_ffff},
		{"arsh 64 masks to 0", "lddw %r0, 0x8000000000000000\narsh %r0, 64", 0x8000_0000_0000_0000},
		{"arsh 33", "lddw %r0, 0x8000000000000000\narsh %r0, 33", 0xffff_ffff_c000_0000},
		{"lsh32 0 clears upper", "lddw %r0, 0xffffffff00000001\nlsh32 %r0, 0", 1},
		{"lsh32 31", "mov32 %r0, 1\nlsh32 %r0, 31", 0x80000000},
		{"lsh32 32 masks to 0", "mov32 %r0, 1\nlsh32 %r0, 32", 1},
		{"lsh32 33 masks to 1", "mov32 %r0, 1\nlsh32 %r0, 33", 2},
		{"lsh32 63 masks to 31", "mov32 %r0, 1\nlsh32 %r0, 63", 0x80000000},
		{"lsh32 does not carry out", "mov32 %r0, 0x80000001\nlsh32 %r0, 1", 2},
		{"rsh32 31", "mov32 %r0, 0x80000000\nrsh32 %r0, 31", 1},
		{"rsh32 ignores upper", "lddw %r0, 0x180000000\nrsh32 %r0, 1", 0x40000000},
		{"arsh32 31", "mov32 %r0, 0x80000000\narsh32 %r0, 31", 0xffffffff},
		{"arsh32 63 masks to 31", "mov32 %r0, 0x80000000\narsh32 %r0, 63", 0xffffffff},
		{"arsh32 sign is bit 31", "lddw %r0, 0x8000000040000000\narsh32 %r0, 1", 0x20000000},
	})
}

func TestInterpDivMod(t *testing.T) {
	runCases(t, []interpCase{
		{"div by zero reg", "mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1", 0},
		{"div by zero imm", "mov %r0, 7\ndiv %r0, 0", 0},
		{"mod by zero keeps 64 bits", "lddw %r0, 0x100000007\nmod %r0, 0", 0x1_0000_0007},
		{"mod32 by zero zeroes upper", "lddw %r0, 0x100000007\nmod32 %r0, 0", 7},
		{"div32 by zero", "lddw %r0, 0x100000007\ndiv32 %r0, 0", 0},
		{"div32 by upper-only divisor is by zero", "mov %r0, 9\nlddw %r1, 0x100000000\ndiv32 %r0, %r1", 0},
		{"div64 imm -1 is 2^64-1", "mov %r0, -1\ndiv %r0, -1", 1},
		{"div64 2^63 by imm -1", "lddw %r0, 0x8000000000000000\ndiv %r0, -1", 0},
		{"mod64 imm -1", "lddw %r0, 0x8000000000000000\nmod %r0, -1", 0x8000_0000_0000_0000},
		{"div32 imm -1 is 2^32-1", "mov32 %r0, 0xfffffffe\ndiv32 %r0, -1", 0},
		{"sdiv INT64_MIN / -1", "lddw %r0, 0x8000000000000000\nsdiv %r0, -1", 0x8000_0000_0000_0000},
		{"smod INT64_MIN % -1", "lddw %r0, 0x8000000000000000\nsmod %r0, -1", 0},
		{"sdiv32 INT32_MIN / -1", "mov32 %r0, 0x80000000\nsdiv32 %r0, -1", 0x80000000},
		{"smod32 INT32_MIN % -1", "mov32 %r0, 0x80000000\nsmod32 %r0, -1", 0},
		{"sdiv truncates", "mov %r0, -7\nsdiv %r0, 2", 0xffff_ffff_ffff_fffd},              // -3
		{"smod sign of dividend", "mov %r0, -7\nsmod %r0, 2", 0xffff_ffff_ffff_ffff},       // -1
		{"smod pos by neg", "mov %r0, 7\nsmod %r0, -2", 1},                                 // 7 - (-2)(-3)
		{"smod neg by neg", "mov %r0, -7\nmov %r1, -2\nsmod %r0, %r1", 0xffffffffffffffff}, // -1
		{"sdiv32 truncates", "mov32 %r0, -7\nsdiv32 %r0, 2", 0xfffffffd},
		{"smod32", "mov32 %r0, -7\nsmod32 %r0, 2", 0xffffffff},
		{"sdiv32 uses low halves", "lddw %r0, 0x7ffffffffffffff9\nsdiv32 %r0, 2", 0xfffffffd},
		{"sdiv by zero", "mov %r0, -5\nsdiv %r0, 0", 0},
		{"smod by zero keeps dst", "mov %r0, -5\nsmod %r0, 0", 0xffff_ffff_ffff_fffb},
		{"smod32 by zero zeroes upper", "mov %r0, -5\nsmod32 %r0, 0", 0xfffffffb},
		{"unsigned div", "mov %r0, -1\nmov %r1, 16\ndiv %r0, %r1", 0x0fff_ffff_ffff_ffff},
		{"unsigned mod32", "mov32 %r0, 0xffffffff\nmod32 %r0, 10", 5}, // 4294967295 = 429496729*10 + 5
	})
}

func TestInterpMovNegEnd(t *testing.T) {
	runCases(t, []interpCase{
		{"mov imm sign-extends", "mov %r0, -1", 0xffff_ffff_ffff_ffff},
		{"mov32 imm zero-extends", "mov32 %r0, -1", 0xffffffff},
		{"mov32 reg truncates", "lddw %r1, 0x1122334455667788\nmov32 %r0, %r1", 0x55667788},
		{"movsx864 negative", "mov %r1, 0x80\nmovsx864 %r0, %r1", 0xffff_ffff_ffff_ff80},
		{"movsx864 positive", "mov %r1, 0x17f\nmovsx864 %r0, %r1", 0x7f},
		{"movsx1664", "mov %r1, 0x8000\nmovsx1664 %r0, %r1", 0xffff_ffff_ffff_8000},
		{"movsx3264", "mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1", 0xffff_ffff_8000_0000},
		{"movsx832 zero-extends", "mov %r1, 0x180\nmovsx832 %r0, %r1", 0xffffff80},
		{"movsx1632", "mov %r1, 0x18000\nmovsx1632 %r0, %r1", 0xffff8000},
		{"neg", "mov %r0, 1\nneg %r0", 0xffff_ffff_ffff_ffff},
		{"neg32", "mov %r0, 1\nneg32 %r0", 0xffffffff},
		{"neg32 INT32_MIN", "mov32 %r0, 0x80000000\nneg32 %r0", 0x80000000},
		{"neg INT64_MIN", "lddw %r0, 0x8000000000000000\nneg %r0", 0x8000_0000_0000_0000},
		{"be16", "lddw %r0, 0x0102030405060708\nbe16 %r0", 0x0807},
		{"be32", "lddw %r0, 0x0102030405060708\nbe32 %r0", 0x08070605},
		{"be64", "lddw %r0, 0x0102030405060708\nbe64 %r0", 0x0807060504030201},
		{"le16 truncates", "lddw %r0, 0x0102030405060708\nle16 %r0", 0x0708},
		{"le32 truncates", "lddw %r0, 0x0102030405060708\nle32 %r0", 0x05060708},
		{"le64 keeps", "lddw %r0, 0x0102030405060708\nle64 %r0", 0x0102030405060708},
		{"bswap16", "lddw %r0, 0x0102030405060708\nbswap16 %r0", 0x0807},
		{"bswap32", "lddw %r0, 0x0102030405060708\nbswap32 %r0", 0x08070605},
		{"bswap64", "lddw %r0, 0x0102030405060708\nbswap64 %r0", 0x0807060504030201},
		{"add32 wraps", "mov32 %r0, 0xffffffff\nadd32 %r0, 2", 1},
		{"add wraps", "mov %r0, -1\nadd %r0, 2", 1},
		{"mul32", "mov32 %r0, 0x10000\nmul32 %r0, 0x10000", 0},
		{"mul64", "mov32 %r0, 0x10000\nmul %r0, 0x10000", 0x1_0000_0000},
		{"sub32 borrows within 32", "mov %r0, 0\nsub32 %r0, 1", 0xffffffff},
		{"and imm sign-extends", "lddw %r0, 0x1122334455667788\nand %r0, -16", 0x1122334455667780},
		{"or32 zeroes upper", "lddw %r0, 0x1122334455667788\nor32 %r0, 0", 0x55667788},
		{"xor", "mov %r0, 0x0f\nxor %r0, 0xff", 0xf0},
	})
}

// TestInterpEndBigEndian: on a big-endian machine to-be is the truncation
// and to-le the swap; bswap does not depend on the machine.
func TestInterpEndBigEndian(t *testing.T) {
	for _, c := range []struct {
		op   string
		want uint64
	}{{"be16", 0x0708}, {"le16", 0x0807}, {"be32", 0x05060708}, {"le32", 0x08070605}, {"bswap16", 0x0807}, {"le64", 0x0807060504030201}} {
		p, err := ParseAsm("lddw %r0, 0x0102030405060708\n" + c.op + " %r0\nexit")
		require.NoError(t, err)
		r0, err := Interpret(p, RunConfig{ByteOrder: binary.BigEndian})
		require.NoError(t, err)
		require.Equal(t, c.want, r0, c.op)
	}
}

// cond builds "r0 = 1 if the jump is taken, else 0".
func cond(setup, jump string) string {
	return "mov %r0, 0\n" + setup + "\n" + jump + ", +1\nexit\nmov %r0, 1"
}

func TestInterpJumps(t *testing.T) {
	runCases(t, []interpCase{
		{"jset taken", cond("mov %r1, 0x10", "jset %r1, 0x11"), 1},
		{"jset not taken", cond("mov %r1, 0x10", "jset %r1, 0x01"), 0},
		{"jset64 sees upper", cond("lddw %r1, 0x100000000", "jset %r1, %r1"), 1},
		{"jset32 ignores upper", cond("lddw %r1, 0x100000000", "jset32 %r1, %r1"), 0},
		{"jset imm sign-extends", cond("lddw %r1, 0xffffffff00000000", "jset %r1, 0x80000000"), 1},
		{"jslt32 -1 < 0", cond("mov32 %r1, 0xffffffff", "jslt32 %r1, 0"), 1},
		{"jslt64 0xffffffff > 0", cond("mov32 %r1, 0xffffffff", "jslt %r1, 0"), 0},
		{"jsgt32 ignores upper", cond("lddw %r1, 0xffffffff00000001", "jsgt32 %r1, 0"), 1},
		{"jsgt64 negative", cond("lddw %r1, 0xffffffff00000001", "jsgt %r1, 0"), 0},
		{"jsge32 equal", cond("mov %r1, -1\nmov32 %r2, -1", "jsge32 %r1, %r2"), 1},
		{"jsle32 INT_MIN", cond("mov32 %r1, 0x80000000", "jsle32 %r1, 0x7fffffff"), 1},
		{"jsle64 0x80000000", cond("mov32 %r1, 0x80000000", "jsle %r1, 0x7fffffff"), 0},
		{"jgt32 unsigned", cond("mov32 %r1, 0xffffffff", "jgt32 %r1, -2"), 1},
		{"jge32 equal", cond("lddw %r1, 0x500000003", "jge32 %r1, 3"), 1},
		{"jlt32 upper ignored", cond("lddw %r1, 0x500000003", "jlt32 %r1, 4"), 1},
		{"jlt64 upper counts", cond("lddw %r1, 0x500000003", "jlt %r1, 4"), 0},
		{"jle", cond("mov %r1, 4", "jle %r1, 4"), 1},
		{"jeq imm sign-extends", cond("mov %r1, -1", "jeq %r1, -1"), 1},
		{"jeq64 0xffffffff != -1", cond("mov32 %r1, 0xffffffff", "jeq %r1, -1"), 0},
		{"jeq32 0xffffffff == -1", cond("mov32 %r1, 0xffffffff", "jeq32 %r1, -1"), 1},
		{"jne32 upper ignored", cond("lddw %r1, 0x100000000", "jne32 %r1, 0"), 0},
		{"jsgt reg", cond("mov %r1, 1\nmov %r2, -1", "jsgt %r1, %r2"), 1},
		{"jgt reg unsigned", cond("mov %r1, 1\nmov %r2, -1", "jgt %r1, %r2"), 0},
		{"ja32 backwards", "mov %r0, 0\nja32 +2\nadd %r0, 1\nexit\njeq %r0, 0, -3", 1},
	})
}

func TestInterpAtomics(t *testing.T) {
	runCases(t, []interpCase{
		{"add", "stdw [%r10-8], 5\nmov %r1, 3\nlock add [%r10-8], %r1\nldxdw %r0, [%r10-8]", 8},
		{"add leaves src", "stdw [%r10-8], 5\nmov %r1, 3\nlock add [%r10-8], %r1\nmov %r0, %r1", 3},
		{"fetch add returns old", "stdw [%r10-8], 5\nmov %r1, 3\nlock fetch add [%r10-8], %r1\nmov %r0, %r1", 5},
		{"add32 wraps in the low word", "lddw %r2, 0x00000001ffffffff\nstxdw [%r10-8], %r2\nmov %r1, 1\nlock add32 [%r10-8], %r1\nldxdw %r0, [%r10-8]", 0x1_0000_0000},
		{"fetch add32 zero-extends old", "lddw %r2, 0x00000001ffffffff\nstxdw [%r10-8], %r2\nlddw %r1, 0xffffffff00000001\nlock fetch add32 [%r10-8], %r1\nmov %r0, %r1", 0xffffffff},
		{"and", "stdw [%r10-8], 12\nmov %r1, 10\nlock and [%r10-8], %r1\nldxdw %r0, [%r10-8]", 8},
		{"or", "stdw [%r10-8], 12\nmov %r1, 10\nlock or [%r10-8], %r1\nldxdw %r0, [%r10-8]", 14},
		{"xor", "stdw [%r10-8], 12\nmov %r1, 10\nlock xor [%r10-8], %r1\nldxdw %r0, [%r10-8]", 6},
		{"fetch xor32", "stdw [%r10-8], 12\nmov %r1, 10\nlock fetch xor32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nadd %r0, %r1", 6<<8 | 12},
		{"xchg", "stdw [%r10-8], 7\nmov %r1, 9\nlock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r1, 4\nadd %r0, %r1", 7<<4 | 9},
		{"xchg32 keeps upper memory", "lddw %r2, 0xaaaaaaaa00000007\nstxdw [%r10-8], %r2\nlddw %r1, 0xbbbbbbbb00000009\nlock xchg32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1", 0xaaaaaaaa_00000009 + 7},
		{"cmpxchg success", "stdw [%r10-8], 7\nmov %r0, 7\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r0, 4\nadd %r0, %r2", 7<<4 | 9},
		{"cmpxchg failure", "stdw [%r10-8], 7\nmov %r0, 8\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r0, 4\nadd %r0, %r2", 7<<4 | 7},
		// W compares the low 32 bits of r0 and returns the zero-extended old value.
		{"cmpxchg32 ignores upper r0", "lddw %r2, 0xaaaaaaaa00000007\nstxdw [%r10-8], %r2\nlddw %r0, 0xffffffff00000007\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r2, [%r10-8]\nadd %r0, %r2", 0xaaaaaaaa_00000009 + 7},
		{"cmpxchg32 failure", "stdw [%r10-8], 7\nlddw %r0, 0x700000008\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r0, 4\nadd %r0, %r2", 7<<4 | 7},
	})
}

func TestInterpMemory(t *testing.T) {
	mem := []byte{0x01, 0x02, 0x03, 0x84}
	run := func(asm string, cfg RunConfig) (uint64, error) {
		p, err := ParseAsm(asm)
		require.NoError(t, err, asm)
		return Interpret(p, cfg)
	}
	r0, err := run("ldxh %r0, [%r1+1]\nexit", RunConfig{Mem: mem})
	require.NoError(t, err)
	require.Equal(t, uint64(0x0302), r0)
	r0, err = run("ldxh %r0, [%r1+1]\nexit", RunConfig{Mem: mem, ByteOrder: binary.BigEndian})
	require.NoError(t, err)
	require.Equal(t, uint64(0x0203), r0)
	r0, err = run("ldxsw %r0, [%r1]\nexit", RunConfig{Mem: mem})
	require.NoError(t, err)
	require.Equal(t, uint64(0xffff_ffff_8403_0201), r0)
	r0, err = run("ldxsb %r0, [%r1+2]\nexit", RunConfig{Mem: mem})
	require.NoError(t, err)
	require.Equal(t, uint64(3), r0)

	// Entry registers.
	r0, err = run("mov %r0, %r1\nexit", RunConfig{Mem: mem})
	require.NoError(t, err)
	require.Equal(t, MemBase, r0)
	r0, err = run("mov %r0, %r2\nexit", RunConfig{Mem: mem})
	require.NoError(t, err)
	require.Equal(t, uint64(4), r0)
	r0, err = run("mov %r0, %r1\nexit", RunConfig{})
	require.NoError(t, err)
	require.Equal(t, uint64(0), r0)
	r0, err = run("mov %r0, %r10\nexit", RunConfig{})
	require.NoError(t, err)
	require.Equal(t, StackTop, r0)

	// Stores modify the caller's memory in place.
	m := append([]byte(nil), mem...)
	_, err = run("stb [%r1+3], 0x55\nsth [%r1], -1\nexit", RunConfig{Mem: m})
	require.NoError(t, err)
	require.Equal(t, []byte{0xff, 0xff, 0x03, 0x55}, m)

	// The whole frame is usable, nothing beyond it.
	_, err = run("stdw [%r10-512], 1\nldxdw %r0, [%r10-512]\nexit", RunConfig{})
	require.NoError(t, err)
	for _, c := range []struct{ asm, msg string }{
		{"ldxw %r0, [%r1+1]\nexit", "line 1: load of 4 bytes at 0x10000001 is outside memory"},
		{"ldxb %r0, [%r1+4]\nexit", "load of 1 bytes at 0x10000004"},
		{"ldxb %r0, [%r1-1]\nexit", "load of 1 bytes at 0xfffffff"},
		{"mov %r0, 0\nstxw [%r10+0], %r0\nexit", "line 2: store of 4 bytes at 0x20000000 is outside memory"},
		{"ldxdw %r0, [%r10-520]\nexit", "load of 8 bytes at 0x1ffffdf8"},
		{"ldxdw %r0, [%r10-4]\nexit", "load of 8 bytes at 0x1ffffffc"},
		{"mov %r1, -1\nldxb %r0, [%r1+1]\nexit", "load of 1 bytes at 0x0"},
		{"lock add [%r10-2], %r1\nexit", "load of 8 bytes at 0x1ffffffe"},
	} {
		_, err := run(c.asm, RunConfig{Mem: mem})
		require.ErrorContains(t, err, c.msg, c.asm)
	}

	// Decoded programs name the slot.
	p, err := Decode(le(slot{op: 0x18}, slot{}, slot{op: 0x61, src: 1, off: 8}, exitSlot), nil)
	require.NoError(t, err)
	_, err = Interpret(p, RunConfig{Mem: mem})
	require.ErrorContains(t, err, "instruction 2: load of 4 bytes at 0x10000008 is outside memory")
}

func TestInterpCalls(t *testing.T) {
	// r1..r5 are passed, r6..r9 and r10 restored, r0 returned; the callee
	// has its own frame and may read its caller's through a pointer.
	src := `mov %r6, 6
mov %r9, 9
stdw [%r10-8], 42
mov %r1, %r10
add %r1, -8
mov %r2, 100
call local f
# r0 = 142 + 1000 (callee's own stack)
add %r0, %r6
add %r0, %r9
ldxdw %r3, [%r10-8]
add %r0, %r3
exit
f:
ldxdw %r0, [%r1]
add %r0, %r2
mov %r6, 0
mov %r9, 0
stdw [%r10-8], 1000
ldxdw %r3, [%r10-8]
add %r0, %r3
exit`
	p, err := ParseAsm(src)
	require.NoError(t, err)
	r0, err := Interpret(p, RunConfig{})
	require.NoError(t, err)
	require.Equal(t, uint64(42+100+1000+6+9+42), r0)

	// Depth: f(n) recurses n times; f(6) makes 1+7 = 8 frames, f(7) nine.
	recurse := func(n int) string {
		return fmt.Sprintf("mov %%r1, %d\ncall local f\nexit\nf:\njeq %%r1, 0, leaf\nsub %%r1, 1\ncall local f\nexit\nleaf:\nmov %%r0, %%r10\nexit", n)
	}
	p, err = ParseAsm(recurse(6))
	require.NoError(t, err)
	r0, err = Interpret(p, RunConfig{})
	require.NoError(t, err)
	require.Equal(t, StackTop-7*StackSize, r0, "r10 of the deepest frame")
	p, err = ParseAsm(recurse(7))
	require.NoError(t, err)
	_, err = Interpret(p, RunConfig{})
	require.ErrorContains(t, err, "call depth exceeds 8 frames")

	// A callee cannot reach below its own frame.
	p, err = ParseAsm("call local f\nexit\nf:\nldxdw %r0, [%r10-520]\nexit")
	require.NoError(t, err)
	_, err = Interpret(p, RunConfig{})
	require.ErrorContains(t, err, "line 4: load of 8 bytes")
}

func TestInterpHelpers(t *testing.T) {
	runCases(t, []interpCase{
		{"gather_bytes", "mov %r1, 0x101\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 0x205\ncall 0", 0x01_02_03_04_05},
		{"no_op", "mov %r0, 9\ncall 2", 0},
		{"sqrti 16", "mov %r1, 16\ncall 3", 4},
		{"sqrti 17", "mov %r1, 17\ncall 3", 4},
		{"unwind nonzero continues", "mov %r1, 9\ncall 5", 9},
		{"unwind zero stops", "mov %r1, 0\ncall 5\nmov %r0, 2", 0},
		{"callx", "mov %r1, 9\nmov %r3, 5\ncall %r3", 9},
	})
	// memfrob and strcmp use memory: "ab\0" and "ac\0".
	mem := []byte{'a', 'b', 0, 'a', 'c', 0}
	p, err := ParseAsm("mov %r6, %r1\nmov %r2, %r1\nadd %r2, 3\ncall 4\nexit")
	require.NoError(t, err)
	r0, err := Interpret(p, RunConfig{Mem: mem, Helpers: ConformanceHelpers()})
	require.NoError(t, err)
	require.Equal(t, uint64(0xffff_ffff_ffff_ffff), r0, "'b' - 'c'")
	p, err = ParseAsm("mov %r2, 2\ncall 1\nexit")
	require.NoError(t, err)
	_, err = Interpret(p, RunConfig{Mem: mem, Helpers: ConformanceHelpers()})
	require.NoError(t, err)
	require.Equal(t, []byte{'a' ^ 42, 'b' ^ 42, 0, 'a', 'c', 0}, mem)
}

func TestInterpErrors(t *testing.T) {
	for _, c := range []struct {
		asm string
		cfg RunConfig
		msg string
	}{
		{"ja -1", RunConfig{MaxSteps: 100}, "line 1: step limit of 100 instructions exceeded"},
		{"call 99\nexit", RunConfig{Helpers: ConformanceHelpers()}, "line 1: call to unknown helper 99"},
		{"call 1\nexit", RunConfig{}, "call to unknown helper 1"},
		{"mov %r1, -1\ncall %r1\nexit", RunConfig{Helpers: ConformanceHelpers()}, "line 2: callx: r1 = 0xffffffffffffffff is not a helper ID"},
		{"call kfunc 5\nexit", RunConfig{}, "kfunc calls"},
		{"lddw %r1, 5, map_fd\nexit", RunConfig{}, "line 1: lddw with pseudo source map_fd"},
		{"ldabsw 4\nexit", RunConfig{}, "legacy packet access"},
		{"mov %r2, 16\ncall 1\nexit", RunConfig{Helpers: ConformanceHelpers()}, "helper 1: 16 bytes at 0x0 are outside memory"},
	} {
		p, err := ParseAsm(c.asm)
		require.NoError(t, err, c.asm)
		_, err = Interpret(p, c.cfg)
		require.ErrorContains(t, err, c.msg, c.asm)
	}
	_, err := Interpret(&Program{}, RunConfig{})
	require.ErrorContains(t, err, "empty program")
}

// TestInterpDefaultStepLimit checks that an endless loop ends by itself.
func TestInterpDefaultStepLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 16M instructions")
	}
	p, err := ParseAsm("ja -1")
	require.NoError(t, err)
	_, err = Interpret(p, RunConfig{})
	require.ErrorContains(t, err, fmt.Sprintf("step limit of %d", DefaultMaxSteps))
	require.True(t, strings.HasPrefix(err.Error(), "line 1:"))
}
