package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// slot is one raw instruction, written field by field.
type slot struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
}

// le encodes slots as little-endian bytecode, by hand (not with Encode).
func le(slots ...slot) []byte {
	var out []byte
	for _, s := range slots {
		out = append(out, s.op, s.src<<4|s.dst, byte(s.off), byte(uint16(s.off)>>8),
			byte(s.imm), byte(s.imm>>8), byte(s.imm>>16), byte(s.imm>>24))
	}
	return out
}

var exitSlot = slot{op: 0x95}

func TestDecodeLittleAndBigEndian(t *testing.T) {
	// mov r1, 0x12345678; jeq r1, r2, +1; exit; exit
	little := []byte{
		0xb7, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12,
		0x1d, 0x21, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x95, 0, 0, 0, 0, 0, 0, 0,
		0x95, 0, 0, 0, 0, 0, 0, 0,
	}
	big := []byte{
		0xb7, 0x10, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78,
		0x1d, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x95, 0, 0, 0, 0, 0, 0, 0,
		0x95, 0, 0, 0, 0, 0, 0, 0,
	}
	want := []Insn{
		{Op: 0xb7, Dst: 1, Imm: 0x12345678, Slot: 0},
		{Op: 0x1d, Dst: 1, Src: 2, Off: 1, Slot: 1},
		{Op: 0x95, Slot: 2},
		{Op: 0x95, Slot: 3},
	}
	for _, c := range []struct {
		raw   []byte
		order binary.ByteOrder
	}{{little, binary.LittleEndian}, {little, nil}, {big, binary.BigEndian}} {
		p, err := Decode(c.raw, c.order)
		require.NoError(t, err)
		require.Equal(t, want, p.Insns)
		require.Equal(t, []int{0, 1, 2, 3}, p.SlotIndex)
		require.Equal(t, c.raw, Encode(p, c.order))
	}
}

func TestDecodeLddw(t *testing.T) {
	// lddw r3, 0x1122334455667788 (RFC 9669 section 4.4 layout: low half in
	// the first slot's imm, high half in the second's)
	raw := le(slot{op: 0x18, dst: 3, imm: 0x55667788}, slot{imm: 0x11223344}, exitSlot)
	p, err := Decode(raw, nil)
	require.NoError(t, err)
	require.Len(t, p.Insns, 2)
	require.Equal(t, uint64(0x1122334455667788), p.Insns[0].Imm64)
	require.Equal(t, []int{0, -1, 1}, p.SlotIndex)
	require.Equal(t, 2, p.Insns[1].Slot)
	require.Nil(t, p.InsnAtSlot(1))
	require.Equal(t, 3, p.NumSlots())
	require.Equal(t, raw, Encode(p, nil))
}

// TestDecodeAccepts lists instructions that must decode although later
// stages may reject them.
func TestDecodeAccepts(t *testing.T) {
	for _, c := range []struct {
		name  string
		slots []slot
	}{
		{"ldabsw", []slot{{op: 0x20, imm: 12}, exitSlot}},
		{"ldindh", []slot{{op: 0x48, src: 3, imm: 12}, exitSlot}},
		{"lddw map_fd", []slot{{op: 0x18, dst: 1, src: 1, imm: 5}, {}, exitSlot}},
		{"lddw map_idx_value", []slot{{op: 0x18, dst: 1, src: 6, imm: 5}, {imm: 8}, exitSlot}},
		{"kfunc call", []slot{{op: 0x85, src: 2, imm: 1234}, exitSlot}},
		{"helper call negative id", []slot{{op: 0x85, imm: -1}, exitSlot}},
		{"callx", []slot{{op: 0x8d, dst: 2}, exitSlot}},
		{"store to r10 base", []slot{{op: 0x7b, dst: 10, src: 1, off: -8}, {op: 0x62, dst: 10, off: -4, imm: 1}, exitSlot}},
		{"atomic with r10 base", []slot{{op: 0xdb, dst: 10, src: 1, off: -8, imm: 0x01}, exitSlot}},
		{"store r10 itself", []slot{{op: 0x7b, dst: 10, src: 10, off: -8}, exitSlot}},
		{"compare r10", []slot{{op: 0x1d, dst: 10, src: 10}, exitSlot}},
		{"div by imm 0", []slot{{op: 0x37, dst: 1}, exitSlot}},
		{"shift by 64", []slot{{op: 0x67, dst: 1, imm: 64}, exitSlot}},
		{"ends with ja", []slot{{op: 0x05, off: -1}}},
		{"ends with ja32", []slot{{op: 0x06, imm: -1}}},
		{"sdiv32 sdiv smod", []slot{{op: 0x34, dst: 1, off: 1, imm: 3}, {op: 0x3f, dst: 1, src: 2, off: 1}, {op: 0x97, dst: 1, off: 1, imm: 3}, exitSlot}},
		{"movsx", []slot{{op: 0xbf, dst: 1, src: 2, off: 32}, {op: 0xbc, dst: 1, src: 2, off: 16}, exitSlot}},
		{"ldxsw", []slot{{op: 0x81, dst: 1, src: 2, off: 4}, exitSlot}},
		{"cmpxchg32", []slot{{op: 0xc3, dst: 1, src: 2, imm: 0xf1}, exitSlot}},
		{"jump to last slot", []slot{{op: 0x15, dst: 1, off: 1}, exitSlot, exitSlot}},
	} {
		_, err := Decode(le(c.slots...), nil)
		require.NoError(t, err, c.name)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		raw  []byte
		slot int    // slot named by the error, -1 for none
		msg  string // substring of the message
	}{
		{"empty", nil, -1, "empty program"},
		{"truncated", le(exitSlot)[:5], 0, "truncated program: 5 bytes"},
		{"truncated tail", append(le(exitSlot), 1, 2, 3), 1, "not a multiple of 8"},
		{"truncated lddw", le(exitSlot, slot{op: 0x18, dst: 1}), 1, "truncated lddw"},
		{"lddw second opcode", le(slot{op: 0x18, dst: 1}, exitSlot, exitSlot), 1, "second slot of lddw"},
		{"lddw second regs", le(slot{op: 0x18, dst: 1}, slot{dst: 1}, exitSlot), 1, "second slot of lddw"},
		{"lddw second off", le(slot{op: 0x18, dst: 1}, slot{off: 1}, exitSlot), 1, "second slot of lddw"},
		{"lddw bad source", le(slot{op: 0x18, dst: 1, src: 7}, slot{}, exitSlot), 0, "lddw source 7"},
		{"lddw off", le(slot{op: 0x18, dst: 1, off: 2}, slot{}, exitSlot), 0, "reserved field off"},
		{"lddw r10", le(slot{op: 0x18, dst: 10}, slot{}, exitSlot), 0, "writes r10"},

		{"opcode 0xff", le(exitSlot, slot{op: 0xff}, exitSlot), 1, "unknown opcode 0xff"},
		{"neg reg source", le(slot{op: 0x8f, dst: 1}, exitSlot), 0, "unknown opcode 0x8f"},
		{"alu64 end reg source", le(slot{op: 0xdf, dst: 1, imm: 16}, exitSlot), 0, "unknown opcode 0xdf"},
		{"alu code 0xe0", le(slot{op: 0xe7, dst: 1}, exitSlot), 0, "unknown opcode 0xe7"},
		{"alu code 0xf0", le(slot{op: 0xf4, dst: 1}, exitSlot), 0, "unknown opcode 0xf4"},
		{"jmp32 exit", le(slot{op: 0x96}, exitSlot), 0, "unknown opcode 0x96"},
		{"jmp32 call", le(slot{op: 0x86, imm: 1}, exitSlot), 0, "unknown opcode 0x86"},
		{"exit reg source", le(slot{op: 0x9d}, exitSlot), 0, "unknown opcode 0x9d"},
		{"ja reg source", le(slot{op: 0x0d}, exitSlot), 0, "unknown opcode 0x0d"},
		{"jmp code 0xe0", le(slot{op: 0xe5}, exitSlot), 0, "unknown opcode 0xe5"},
		{"ld imm w", le(slot{op: 0x00}, exitSlot), 0, "unknown opcode 0x00"},
		{"ld mem", le(slot{op: 0x61 &^ 0x01}, exitSlot), 0, "unknown opcode 0x60"},
		{"ldabs dw", le(slot{op: 0x38}, exitSlot), 0, "unknown opcode 0x38"},
		{"ldxsdw", le(slot{op: 0x99, dst: 1, src: 2}, exitSlot), 0, "unknown opcode 0x99"},
		{"ldx mode 0xa0", le(slot{op: 0xa1, dst: 1, src: 2}, exitSlot), 0, "unknown opcode 0xa1"},
		{"ldx atomic", le(slot{op: 0xdb &^ 0x02, dst: 1, src: 2}, exitSlot), 0, "unknown opcode 0xd9"},
		{"st atomic", le(slot{op: 0xda, dst: 1, imm: 1}, exitSlot), 0, "unknown opcode 0xda"},
		{"stx mode imm", le(slot{op: 0x03, dst: 1, src: 2}, exitSlot), 0, "unknown opcode 0x03"},

		{"alu imm with src", le(slot{op: 0x07, dst: 1, src: 1, imm: 1}, exitSlot), 0, "reserved field src must be 0, is 1"},
		{"alu reg with imm", le(slot{op: 0x0f, dst: 1, src: 2, imm: 5}, exitSlot), 0, "reserved field imm must be 0, is 5"},
		{"add with off", le(slot{op: 0x07, dst: 1, off: 3}, exitSlot), 0, "reserved field off must be 0, is 3"},
		{"mov imm with off", le(slot{op: 0xb7, dst: 1, off: 8}, exitSlot), 0, "reserved field off"},
		{"neg with imm", le(slot{op: 0x87, dst: 1, imm: 1}, exitSlot), 0, "reserved field imm"},
		{"end with off", le(slot{op: 0xd4, dst: 1, off: 1, imm: 16}, exitSlot), 0, "reserved field off"},
		{"exit with imm", le(slot{op: 0x95, imm: 1}), 0, "reserved field imm"},
		{"exit with dst", le(slot{op: 0x95, dst: 1}), 0, "reserved field dst"},
		{"ja with imm", le(slot{op: 0x05, imm: 1}, exitSlot), 0, "reserved field imm"},
		{"ja32 with off", le(slot{op: 0x06, off: 1}, exitSlot), 0, "reserved field off"},
		{"ja with dst", le(slot{op: 0x05, dst: 1}, exitSlot), 0, "reserved field dst"},
		{"jeq imm with src", le(slot{op: 0x15, dst: 1, src: 2}, exitSlot), 0, "reserved field src"},
		{"jeq reg with imm", le(slot{op: 0x1d, dst: 1, src: 2, imm: 1}, exitSlot), 0, "reserved field imm"},
		{"call with dst", le(slot{op: 0x85, dst: 1, imm: 1}, exitSlot), 0, "reserved field dst"},
		{"call with off", le(slot{op: 0x85, off: 1, imm: 1}, exitSlot), 0, "reserved field off"},
		{"callx with imm", le(slot{op: 0x8d, dst: 1, imm: 1}, exitSlot), 0, "reserved field imm"},
		{"callx with src", le(slot{op: 0x8d, dst: 1, src: 1}, exitSlot), 0, "reserved field src"},
		{"ldabs with dst", le(slot{op: 0x20, dst: 1}, exitSlot), 0, "reserved field dst"},
		{"ldabs with src", le(slot{op: 0x20, src: 1}, exitSlot), 0, "reserved field src"},
		{"ldind with off", le(slot{op: 0x40, src: 1, off: 1}, exitSlot), 0, "reserved field off"},
		{"ldx with imm", le(slot{op: 0x61, dst: 1, src: 2, imm: 1}, exitSlot), 0, "reserved field imm"},
		{"st with src", le(slot{op: 0x62, dst: 1, src: 2, imm: 1}, exitSlot), 0, "reserved field src"},
		{"stx with imm", le(slot{op: 0x63, dst: 1, src: 2, imm: 1}, exitSlot), 0, "reserved field imm"},

		{"dst r11", le(slot{op: 0xb7, dst: 11}, exitSlot), 0, "bad register: dst r11"},
		{"src r12", le(exitSlot, slot{op: 0x0f, dst: 1, src: 12}, exitSlot), 1, "bad register: src r12"},
		{"ldx src r15", le(slot{op: 0x61, dst: 1, src: 15}, exitSlot), 0, "bad register: src r15"},
		{"stx dst r11", le(slot{op: 0x63, dst: 11, src: 1}, exitSlot), 0, "bad register: dst r11"},
		{"jeq dst r11", le(slot{op: 0x15, dst: 11}, exitSlot), 0, "bad register: dst r11"},
		{"callx r11", le(slot{op: 0x8d, dst: 11}, exitSlot), 0, "bad register: dst r11"},
		{"ldind src r11", le(slot{op: 0x40, src: 11}, exitSlot), 0, "bad register: src r11"},

		{"mov r10", le(slot{op: 0xb7, dst: 10, imm: 1}, exitSlot), 0, "writes r10"},
		{"add32 r10", le(slot{op: 0x04, dst: 10, imm: 1}, exitSlot), 0, "writes r10"},
		{"neg r10", le(slot{op: 0x87, dst: 10}, exitSlot), 0, "writes r10"},
		{"be16 r10", le(slot{op: 0xdc, dst: 10, imm: 16}, exitSlot), 0, "writes r10"},
		{"ldx r10", le(slot{op: 0x79, dst: 10, src: 1}, exitSlot), 0, "writes r10"},
		{"atomic fetch into r10", le(slot{op: 0xdb, dst: 1, src: 10, imm: 0x01}, exitSlot), 0, "writes r10"},
		{"xchg into r10", le(slot{op: 0xdb, dst: 1, src: 10, imm: 0xe1}, exitSlot), 0, "writes r10"},

		{"ja past end", le(slot{op: 0x05, off: 5}, exitSlot), 0, "jump target 6 is outside the program"},
		{"ja before start", le(exitSlot, slot{op: 0x05, off: -3}), 1, "jump target -1 is outside the program"},
		{"ja into lddw", le(slot{op: 0x05, off: 1}, slot{op: 0x18, dst: 1}, slot{}, exitSlot), 0, "jump target 2 is the second slot of lddw"},
		{"jeq into lddw", le(slot{op: 0x18, dst: 1}, slot{}, slot{op: 0x15, dst: 1, off: -2}, exitSlot), 2, "jump target 1 is the second slot of lddw"},
		{"ja32 past end", le(slot{op: 0x06, imm: 100}, exitSlot), 0, "jump target 101 is outside"},
		{"ja32 into lddw", le(slot{op: 0x06, imm: 1}, slot{op: 0x18, dst: 1}, slot{}, exitSlot), 0, "second slot of lddw"},
		{"call local past end", le(slot{op: 0x85, src: 1, imm: 7}, exitSlot), 0, "call target 8 is outside"},
		{"call local into lddw", le(slot{op: 0x85, src: 1, imm: 2}, exitSlot, slot{op: 0x18, dst: 1}, slot{}, exitSlot), 0, "call target 3 is the second slot of lddw"},

		{"div off 2", le(slot{op: 0x37, dst: 1, off: 2, imm: 1}, exitSlot), 0, "division offset must be 0 (unsigned) or 1 (signed), is 2"},
		{"mod32 off -1", le(slot{op: 0x9c, dst: 1, src: 2, off: -1}, exitSlot), 0, "division offset must be 0 (unsigned) or 1 (signed), is -1"},
		{"movsx off 7", le(slot{op: 0xbf, dst: 1, src: 2, off: 7}, exitSlot), 0, "movsx offset must be 8, 16 or 32, is 7"},
		{"movsx32 off 32", le(slot{op: 0xbc, dst: 1, src: 2, off: 32}, exitSlot), 0, "movsx32 offset must be 8 or 16, is 32"},
		{"end imm 8", le(slot{op: 0xd4, dst: 1, imm: 8}, exitSlot), 0, "byte swap width must be 16, 32 or 64, is 8"},
		{"bswap imm 0", le(slot{op: 0xd7, dst: 1}, exitSlot), 0, "byte swap width must be 16, 32 or 64, is 0"},
		{"atomic imm 2", le(slot{op: 0xdb, dst: 1, src: 2, imm: 2}, exitSlot), 0, "unknown atomic operation 0x2"},
		{"xchg without fetch", le(slot{op: 0xdb, dst: 1, src: 2, imm: 0xe0}, exitSlot), 0, "unknown atomic operation 0xe0"},
		{"cmpxchg without fetch", le(slot{op: 0xc3, dst: 1, src: 2, imm: 0xf0}, exitSlot), 0, "unknown atomic operation 0xf0"},
		{"load acquire", le(slot{op: 0xdb, dst: 1, src: 2, imm: 0x100}, exitSlot), 0, "unknown atomic operation 0x100"},
		{"atomic half", le(slot{op: 0xcb, dst: 1, src: 2, imm: 0}, exitSlot), 0, "atomic operations need size W or DW"},
		{"atomic byte", le(slot{op: 0xd3, dst: 1, src: 2, imm: 0}, exitSlot), 0, "atomic operations need size W or DW"},
		{"call src 3", le(slot{op: 0x85, src: 3, imm: 1}, exitSlot), 0, "call src must be 0 (helper), 1 (local) or 2 (kfunc), is 3"},

		{"falls off after mov", le(slot{op: 0xb7}), 0, "program ends with opcode 0xb7"},
		{"falls off after jeq", le(slot{op: 0x15, off: -1}), 0, "fall off the end"},
		{"falls off after call", le(exitSlot, slot{op: 0x85, imm: 1}), 1, "fall off the end"},
		{"falls off after lddw", le(exitSlot, slot{op: 0x18}, slot{}), 1, "fall off the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.raw, nil)
			require.Error(t, err)
			var e *Error
			require.True(t, errors.As(err, &e), "error type %T", err)
			require.Equal(t, c.slot, e.Slot)
			require.Contains(t, err.Error(), c.msg)
			if c.slot >= 0 {
				require.Contains(t, err.Error(), fmt.Sprintf("instruction %d: ", c.slot))
			}
		})
	}
}

func TestNewProgram(t *testing.T) {
	p, err := NewProgram("f", []Insn{
		{Op: OpLdImm64, Dst: 1, Imm64: 1 << 40},
		{Op: ClassJMP | JmpJEQ, Dst: 1, Off: 1},
		{Op: ClassJMP | JmpEXIT},
		{Op: ClassJMP | JmpEXIT},
	})
	require.NoError(t, err)
	require.Equal(t, "f", p.Name)
	require.Equal(t, []int{0, -1, 1, 2, 3}, p.SlotIndex)
	require.Equal(t, []int{0, 2, 3, 4}, []int{p.Insns[0].Slot, p.Insns[1].Slot, p.Insns[2].Slot, p.Insns[3].Slot})

	_, err = NewProgram("g", []Insn{{Op: ClassALU64 | AluMOV, Dst: R10}})
	require.ErrorContains(t, err, "instruction 0: opcode 0xb7 writes r10")
}
