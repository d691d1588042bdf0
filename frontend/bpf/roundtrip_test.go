package bpf

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// rfcOpcodes lists, by hand from RFC 9669's appendix, every opcode byte
// Decode must accept (with suitable fields), plus callx (0x8d).
var rfcOpcodes = []uint8{
	// ALU64: immediate, register (no neg or bswap with a register source)
	0x07, 0x17, 0x27, 0x37, 0x47, 0x57, 0x67, 0x77, 0x87, 0x97, 0xa7, 0xb7, 0xc7, 0xd7,
	0x0f, 0x1f, 0x2f, 0x3f, 0x4f, 0x5f, 0x6f, 0x7f, 0x9f, 0xaf, 0xbf, 0xcf,
	// ALU: immediate, register (0xdc is be16/32/64)
	0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x84, 0x94, 0xa4, 0xb4, 0xc4, 0xd4,
	0x0c, 0x1c, 0x2c, 0x3c, 0x4c, 0x5c, 0x6c, 0x7c, 0x9c, 0xac, 0xbc, 0xcc, 0xdc,
	// JMP: ja, conditionals, call, exit; register conditionals and callx
	0x05, 0x15, 0x25, 0x35, 0x45, 0x55, 0x65, 0x75, 0x85, 0x95, 0xa5, 0xb5, 0xc5, 0xd5,
	0x1d, 0x2d, 0x3d, 0x4d, 0x5d, 0x6d, 0x7d, 0x8d, 0xad, 0xbd, 0xcd, 0xdd,
	// JMP32: ja32 and conditionals (no call or exit)
	0x06, 0x16, 0x26, 0x36, 0x46, 0x56, 0x66, 0x76, 0xa6, 0xb6, 0xc6, 0xd6,
	0x1e, 0x2e, 0x3e, 0x4e, 0x5e, 0x6e, 0x7e, 0xae, 0xbe, 0xce, 0xde,
	// LD: lddw, legacy abs and ind (W, H, B)
	0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50,
	// LDX: mem W H B DW, memsx W H B
	0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91,
	// ST and STX mem, STX atomic W and DW
	0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb,
}

// randomSlot draws fields from values that make many opcodes valid.
func randomSlot(r *rand.Rand) slot {
	// Each field is 0 half of the time: most opcodes need most fields 0.
	pick := func(vals ...int) int {
		if r.Intn(2) == 0 {
			return 0
		}
		return vals[r.Intn(len(vals))]
	}
	return slot{
		op:  uint8(r.Intn(256)),
		dst: uint8(pick(1, 5, 9, 10, 11)),
		src: uint8(pick(1, 2, 4, 6, 10, 12)),
		off: int16(pick(1, 8, 16, 32, -1, 2, -300)),
		imm: int32(pick(1, 16, 32, 64, 0x41, 0xe1, 0xf1, -7, 0x7fffffff, -0x80000000, r.Int())),
	}
}

// TestRandomProgramsRoundTrip decodes random programs and checks that the
// valid ones survive Encode/Decode and Disassemble/ParseAsm, and that the
// opcodes Decode accepts are exactly the RFC's.
func TestRandomProgramsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(9669))
	accepted := map[uint8]bool{}
	valid := 0
	for range 200000 {
		var slots []slot
		for range 1 + r.Intn(4) {
			s := randomSlot(r)
			slots = append(slots, s)
			if s.op == OpLdImm64 {
				slots = append(slots, slot{imm: int32(r.Int())})
			}
		}
		slots = append(slots, exitSlot)
		p, err := Decode(le(slots...), nil)
		if err != nil {
			requireBPFError(t, err)
			continue
		}
		valid++
		for _, in := range p.Insns {
			accepted[in.Op] = true
		}
		checkRoundTrips(t, p)
		text := Disassemble(p)
		require.Equal(t, text, Disassemble(mustParse(t, text)))
	}
	t.Logf("%d valid random programs", valid)
	var got []uint8
	for op := range accepted {
		got = append(got, op)
	}
	slices.Sort(got)
	want := slices.Clone(rfcOpcodes)
	slices.Sort(want)
	require.Equal(t, want, got)
}

func mustParse(t *testing.T, text string) *Program {
	p, err := ParseAsm(text)
	require.NoError(t, err)
	return p
}
