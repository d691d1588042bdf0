package qemu

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// The relocation arithmetic is mips32.Link's (backend/mips32/link_test.go
// checks it against GNU ld); these tests check what the engine adds: where
// symbols resolve and what an unknown one's error offers.

// TestLinkResolvesLocalFirst checks that a module symbol resolves to base
// plus its offset and takes precedence over a runtime symbol of that name.
func TestLinkResolvesLocalFirst(t *testing.T) {
	order := binary.LittleEndian
	code := make([]byte, 8)
	order.PutUint32(code[4:], 8) // addend
	relocs := []mips32.Reloc{rel(0, mips32.Reloc32, "f"), rel(4, mips32.Reloc32, "__udivdi3")}
	local := map[string]uint32{"f": 0x40}
	runtime := map[string]uint32{"f": 0x999, "__udivdi3": 0x400000}
	got, err := link(code, relocs, 0x2000_0000, local, runtime, order)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x2000_0040), order.Uint32(got[0:]), "f: the module's, at base + 0x40")
	assert.Equal(t, uint32(0x400008), order.Uint32(got[4:]), "__udivdi3: the runner's, plus the addend")
}

func TestLinkUnknownSymbol(t *testing.T) {
	order := binary.LittleEndian
	code := make([]byte, 8)
	runtime := map[string]uint32{"__udivdi3": 0x400000, "__umoddi3": 0x400100}
	relocs := []mips32.Reloc{rel(4, mips32.Reloc32, "bpf_map_lookup")}
	_, err := link(code, relocs, 0x20000000, nil, runtime, order)
	require.EqualError(t, err, `relocation 0 (R_MIPS_32) at code offset 0x4: unknown symbol "bpf_map_lookup" (the runner offers __udivdi3, __umoddi3)`)
	_, err = link(code, relocs, 0x20000000, map[string]uint32{"g": 4, "f": 0}, runtime, order)
	require.EqualError(t, err, `relocation 0 (R_MIPS_32) at code offset 0x4: unknown symbol "bpf_map_lookup" (the module defines f, g; the runner offers __udivdi3, __umoddi3)`)

	// Other errors pass through unchanged.
	_, err = link(code, []mips32.Reloc{rel(8, mips32.Reloc32, "__udivdi3")}, 0x20000000, nil, runtime, order)
	require.EqualError(t, err, "relocation 0 (R_MIPS_32 __udivdi3) at offset 0x8: outside the 8-byte image or unaligned")
}

func rel(off uint32, typ mips32.RelocType, sym string) mips32.Reloc {
	return mips32.Reloc{Offset: off, Type: typ, Sym: sym}
}
