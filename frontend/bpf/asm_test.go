package bpf

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAsmEncoding: one row per instruction form, the assembly text beside
// the little-endian bytes worked out by hand from RFC 9669's encoding
// (opcode, src<<4|dst, offset, imm).
func TestAsmEncoding(t *testing.T) {
	for _, c := range []struct{ asm, hex string }{
		{"mov %r0, 1", "b700000001000000"},
		{"mov %r0, 0xffffffff", "b7000000ffffffff"},
		{"mov32 %r1, -1", "b4010000ffffffff"},
		{"add32 %r0, %r1", "0c10000000000000"},
		{"sub %r2, 0x10", "1702000010000000"},
		{"mul %r3, %r4", "2f43000000000000"},
		{"div32 %r1, 3", "3401000003000000"},
		{"sdiv %r1, %r2", "3f21010000000000"},
		{"smod32 %r1, -3", "94010100fdffffff"},
		{"mod %r1, 7", "9701000007000000"},
		{"or %r5, 0xff", "47050000ff000000"},
		{"and32 %r5, %r6", "5c65000000000000"},
		{"lsh %r1, 63", "670100003f000000"},
		{"rsh32 %r1, %r9", "7c91000000000000"},
		{"neg %r7", "8707000000000000"},
		{"neg32 %r7", "8407000000000000"},
		{"xor %r1, %r1", "af11000000000000"},
		{"arsh %r1, 3", "c701000003000000"},
		{"movsx832 %r2, %r1", "bc12080000000000"},
		{"movsx3264 %r0, %r9", "bf90200000000000"},
		{"movsx1664 %r8, %r7", "bf78100000000000"},
		{"le16 %r0", "d400000010000000"},
		{"be32 %r3", "dc03000020000000"},
		{"bswap64 %r1", "d701000040000000"},
		{"swap16 %r1", "d701000010000000"},
		{"lddw %r1, 0x1122334455667788", "18010000887766550000000044332211"},
		{"lddw %r0, -1", "18000000ffffffff00000000ffffffff"},
		{"lddw %r2, 0x5, map_fd", "18120000050000000000000000000000"},
		{"lddw %r2, 0x800000003, map_value", "18220000030000000000000008000000"},
		{"ldxw %r0, [%r1+4]", "6110040000000000"},
		{"ldxdw %r0, [%r10-8]", "79a0f8ff00000000"},
		{"ldxb %r2, [%r3]", "7132000000000000"},
		{"ldxh %r2, [%r3+0x10]", "6932100000000000"},
		{"ldxsb %r0, [%r10-1]", "91a0ffff00000000"},
		{"ldxsh %r0, [%r10-2]", "89a0feff00000000"},
		{"ldxsw %r0, [%r10-4]", "81a0fcff00000000"},
		{"stxdw [%r10-8], %r3", "7b3af8ff00000000"},
		{"stxb [%r1+2], %r2", "7321020000000000"},
		{"stxh [%r1 + 2], %r2", "6b21020000000000"},
		{"stxw [%r1-4], %r2", "6321fcff00000000"},
		{"stw [%r1+2], 0x12", "6201020012000000"},
		{"sth [%r1], -2", "6a010000feffffff"},
		{"stdw [%r10-16], 0xab", "7a0af0ffab000000"},
		{"stb [%r10-1], 0xff", "720affffff000000"},
		{"lock add [%r10-8], %r1", "db1af8ff00000000"},
		{"lock add32 [%r10-4], %r1", "c31afcff00000000"},
		{"lock fetch add [%r10-8], %r1", "db1af8ff01000000"},
		{"lock or [%r10-8], %r1", "db1af8ff40000000"},
		{"lock fetch and [%r10-8], %r3", "db3af8ff51000000"},
		{"lock fetch xor32 [%r1+0], %r3", "c3310000a1000000"},
		{"lock xchg [%r10-8], %r1", "db1af8ffe1000000"},
		{"lock cmpxchg32 [%r10-8], %r1", "c31af8fff1000000"},
		{"jeq %r1, 0, +2", "1501020000000000"},
		{"jne32 %r1, %r2, -1", "5e21ffff00000000"},
		{"jset %r1, 0x80000000, +1", "4501010000000080"},
		{"jsgt %r1, -1, +0", "65010000ffffffff"},
		{"jslt32 %r2, 5, +3", "c602030005000000"},
		{"jge %r1, %r2, +1", "3d21010000000000"},
		{"jgt %r1, 7, +1", "2501010007000000"},
		{"jle %r1, %r2, +1", "bd21010000000000"},
		{"jlt %r1, 1, +1", "a501010001000000"},
		{"jsge %r1, %r2, +1", "7d21010000000000"},
		{"jsle32 %r1, 1, +1", "d601010001000000"},
		{"ja +2", "0500020000000000"},
		{"ja32 -1", "06000000ffffffff"},
		{"gotol +1", "0600000001000000"},
		{"call 5", "8500000005000000"},
		{"call helper 7", "8500000007000000"},
		{"call local +1", "8510000001000000"},
		{"call kfunc 42", "852000002a000000"},
		{"call %r2", "8d02000000000000"},
		{"callx %r3", "8d03000000000000"},
		{"exit", "9500000000000000"},
		{"ldabsw 0x10", "2000000010000000"},
		{"ldindh %r2, 4", "4820000004000000"},
	} {
		// Trailing exits give the forward jumps somewhere to land.
		p, err := ParseAsm(c.asm + "\nexit\nexit\nexit\nexit\n")
		require.NoError(t, err, c.asm)
		want, err := hex.DecodeString(c.hex)
		require.NoError(t, err)
		got := Encode(p, nil)
		require.Equal(t, c.hex, hex.EncodeToString(got[:len(want)]), c.asm)
		require.Equal(t, 1, p.Insns[0].Line)
	}
}

func TestAsmLabelsAndComments(t *testing.T) {
	src := `# a comment
start:  mov %r0, 0     ; trailing comment
	jeq %r1, 0, done   // another
loop: add %r0, 1
	jlt %r0, 10, loop
	ja exit
done:
	mov %r0, 7
	exit
	mov %r0, 9
	exit
`
	p, err := ParseAsm(src)
	require.NoError(t, err)
	require.Len(t, p.Insns, 9)
	require.Equal(t, []int{2, 3, 4, 5, 6, 8, 9, 10, 11}, lines(p))
	require.Equal(t, int16(3), p.Insns[1].Off)  // slot 1 -> done (slot 5)
	require.Equal(t, int16(-2), p.Insns[3].Off) // slot 3 -> loop (slot 2)
	require.Equal(t, int16(1), p.Insns[4].Off)  // "exit" is the first exit (slot 6)
	r0, err := Interpret(p, RunConfig{})
	require.NoError(t, err)
	require.Equal(t, uint64(7), r0)

	// An explicit "exit" label wins over the first exit instruction.
	p, err = ParseAsm("ja exit\nexit\nexit:\nexit\n")
	require.NoError(t, err)
	require.Equal(t, int16(1), p.Insns[0].Off)

	// call local targets a label through imm.
	p, err = ParseAsm("call local f\nexit\nf:\nmov %r0, 3\nexit\n")
	require.NoError(t, err)
	require.Equal(t, int32(1), p.Insns[0].Imm)
	require.Equal(t, 2, p.Insns[0].CallTarget())
}

func lines(p *Program) []int {
	var out []int
	for _, in := range p.Insns {
		out = append(out, in.Line)
	}
	return out
}

func TestAsmErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		line int
		msg  string
	}{
		{"mov %r0, 1\nfrob %r0\nexit", 2, `unknown mnemonic "frob"`},
		{"ja nowhere\nexit", 1, `undefined label "nowhere"`},
		{"a:\nexit\na:\nexit", 3, `label "a" already defined on line 1`},
		{"mov %r0, 0x100000000\nexit", 1, "out of range"},
		{"mov %r0, -0x80000001\nexit", 1, "out of range"},
		{"ldxw %r0, [%r1+40000]\nexit", 1, "out of range"},
		{"jeq %r1, 0, +32768\nexit", 1, "out of range"},
		{"lddw %r0, 0x10000000000000000\nexit", 1, "bad number"},
		{"mov %r11, 1\nexit", 1, `bad register "%r11"`},
		{"mov %r0\nexit", 1, "mov takes 2 operand(s), got 1"},
		{"exit %r0", 1, "exit takes 0 operand(s), got 1"},
		{"add %r0, foo\nexit", 1, `bad number "foo"`},
		{"ldxw %r0, %r1\nexit", 1, "expected a memory operand"},
		{"stxw [%r1], 5\nexit", 1, "expected a register"},
		{"lock frob [%r1], %r2\nexit", 1, `unknown atomic operation "frob"`},
		{"lock add %r1, %r2\nexit", 1, "missing memory operand"},
		{"call local\nexit", 1, "call local needs a target"},
		{"call far 5\nexit", 1, `unknown call kind "far"`},
		{"lddw %r1, 5, map_thing\nexit", 1, `unknown lddw source "map_thing"`},
		{"movsx8 %r0, %r1\nexit", 1, "unknown mnemonic"},
		{"le8 %r0\nexit", 1, `unknown mnemonic "le8"`},
		// Validation errors name the line too.
		{"mov %r0, 1\nmov %r10, 1\nexit", 2, "writes r10"},
		{"exit\nja +5", 2, "jump target 7 is outside the program"},
		{"exit\nmov %r0, 1", 2, "fall off the end"},
		{"movsx3232 %r0, %r1\nexit", 1, "movsx32 offset must be 8 or 16"},
		{"# nothing\n", 0, "empty program"},
	} {
		_, err := ParseAsm(c.src)
		require.Error(t, err, c.src)
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, c.line, e.Line, "%q: %v", c.src, err)
		require.Contains(t, err.Error(), c.msg, c.src)
	}
}

func TestAsmFarLabel(t *testing.T) {
	var b strings.Builder
	b.WriteString("jeq %r1, 0, far\nja32 far\n")
	for range 40000 {
		b.WriteString("mov %r0, 1\n")
	}
	b.WriteString("far:\nexit\n")
	_, err := ParseAsm(b.String())
	require.ErrorContains(t, err, `line 1: label "far" is out of reach of a 16-bit jump offset (40001)`)

	// ja32 reaches it.
	text := strings.Replace(b.String(), "jeq %r1, 0, far\n", "", 1)
	p, err := ParseAsm(text)
	require.NoError(t, err)
	require.Equal(t, int32(40000), p.Insns[0].Imm)
}

func TestDisassemble(t *testing.T) {
	p, err := ParseAsm(`mov32 %r0, 0
lddw %r1, 0x1122334455667788
jeq %r1, %r0, +1
call local +2
ja32 -5
exit
stdw [%r10-8], -0x12345678
lock fetch or32 [%r10-8], %r2
ldxsh %r3, [%r10-8]
ja -4
`)
	require.NoError(t, err)
	// Slots: 0 mov32, 1-2 lddw, 3 jeq (+1 -> 5), 4 call (+2 -> 7),
	// 5 ja32 (-5 -> 1), 6 exit, 7 stdw, 8 lock, 9 ldxsh, 10 ja (-4 -> 7).
	want := `mov32 %r0, 0
L1:
lddw %r1, 0x1122334455667788
jeq %r1, %r0, L5
call local L7
L5:
ja32 L1
exit
L7:
stdw [%r10-8], -0x12345678
lock fetch or32 [%r10-8], %r2
ldxsh %r3, [%r10-8]
ja L7
`
	require.Equal(t, want, Disassemble(p))
	require.Equal(t, "jeq %r1, %r0, +1", FormatInsn(p.Insns[2]))
	require.Equal(t, "mov32 %r0, 0", p.Insns[0].String())
}
