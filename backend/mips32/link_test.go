package mips32_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
)

// relocSource exercises every relocation form with in-place addends,
// symbol values whose bit 15 is set (the %hi carry), and two HI16s sharing
// one LO16 (GNU as reorders those relocations to precede their LO16).
const relocSource = `
other:
	jr $ra
	li $v0, 99
entry:
	lui $t9, %hi(alpha)
	addiu $t9, $t9, %lo(alpha)
	lui $t9, %hi(alpha+0x8000)
	addiu $t9, $t9, %lo(alpha+0x8000)
	lui $t8, %hi(beta)
	lw $t8, %lo(beta)($t8)
	lui $t7, %hi(beta+4)
	lui $t6, %hi(beta+4)
	addiu $t6, $t6, %lo(beta+4)
	lui $t5, %hi(gamma-0x10)
	sw $t5, %lo(gamma-0x10)($t5)
	.word alpha
	.word gamma+12
`

var relocSymbols = map[string]uint32{
	"alpha": 0x12348000, // bit 15 set: %hi rounds up
	"beta":  0x7ffc,     // beta+4 crosses into the carry
	"gamma": 0x00400010,
}

// lookup resolves symbols from a map, as the simulator does.
func lookup(syms map[string]uint32) func(string) (uint32, bool) {
	return func(sym string) (uint32, bool) {
		addr, ok := syms[sym]
		return addr, ok
	}
}

// TestLinkMatchesGNULd links the same object with GNU ld and with Link and
// compares the bytes.
func TestLinkMatchesGNULd(t *testing.T) {
	for _, target := range []mips32.Target{{Rev: mips32.R2}, {Rev: mips32.R2, BigEndian: true}} {
		t.Run(target.String(), func(t *testing.T) {
			obj := mipstest.Assemble(t, target, "mips32r2", relocSource)
			require.Len(t, obj.Relocs, 13)
			const base = 0x20000000
			got, err := mips32.Link(obj.Code, obj.Relocs, lookup(relocSymbols), target.ByteOrder())
			require.NoError(t, err)

			dir := t.TempDir()
			src := filepath.Join(dir, "r.s")
			objPath, exe := filepath.Join(dir, "r.o"), filepath.Join(dir, "r.x")
			require.NoError(t, os.WriteFile(src, []byte("\t.text\n\t.set noreorder\n"+relocSource), 0o644))
			runTool(t, mipstest.GNUTool(t, "as"), mipstest.EndianFlag(target), "-march=mips32r2", "-mabi=32", "-o", objPath, src)
			args := []string{mipstest.EndianFlag(target), fmt.Sprintf("-Ttext=%#x", base), "-e", "0", "-o", exe, objPath}
			for s, v := range relocSymbols {
				args = append(args, "--defsym", fmt.Sprintf("%s=%#x", s, v))
			}
			runTool(t, mipstest.GNUTool(t, "ld"), args...)
			want := mipstest.ReadObject(t, exe).Code
			assert.Equal(t, words32(want, target.ByteOrder()), words32(got, target.ByteOrder()))
		})
	}
}

// TestLinkHandComputed checks the %hi carry with values worked out by hand.
func TestLinkHandComputed(t *testing.T) {
	order := binary.LittleEndian
	code := make([]byte, 12)
	order.PutUint32(code[0:], 0x3c190000) // lui t9, 0
	order.PutUint32(code[4:], 0x27390000) // addiu t9, t9, 0
	order.PutUint32(code[8:], 0x00000004) // .word 4 (addend)
	relocs := []mips32.Reloc{rel(0, mips32.RelocHi16, "f"), rel(4, mips32.RelocLo16, "f"), rel(8, mips32.Reloc32, "f")}
	got, err := mips32.Link(code, relocs, lookup(map[string]uint32{"f": 0x0040_8010}), order)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x3c190041), order.Uint32(got[0:]), "%hi(0x408010) = 0x41 (0x40 + carry)")
	assert.Equal(t, uint32(0x27398010), order.Uint32(got[4:]), "%lo(0x408010) = 0x8010 (-0x7ff0)")
	assert.Equal(t, uint32(0x00408014), order.Uint32(got[8:]))
	assert.Equal(t, uint32(0x3c190000), order.Uint32(code[0:]), "Link must not modify its input")
}

func TestLinkErrors(t *testing.T) {
	order := binary.LittleEndian
	code := make([]byte, 8)
	syms := lookup(map[string]uint32{"__udivdi3": 0x400000, "__umoddi3": 0x400100})
	for _, tc := range []struct {
		name   string
		relocs []mips32.Reloc
		want   string
	}{
		{"unknown symbol", []mips32.Reloc{rel(4, mips32.Reloc32, "bpf_map_lookup")},
			`relocation 0 (R_MIPS_32) at code offset 0x4: unknown symbol "bpf_map_lookup"`},
		{"hi without lo", []mips32.Reloc{rel(0, mips32.RelocHi16, "__udivdi3"), rel(4, mips32.RelocLo16, "__umoddi3")},
			"relocation 0 (R_MIPS_HI16 __udivdi3) at code offset 0x0: no R_MIPS_LO16 of the same symbol follows it"},
		{"outside", []mips32.Reloc{rel(8, mips32.Reloc32, "__udivdi3")},
			"relocation 0 (R_MIPS_32 __udivdi3) at offset 0x8: outside the 8-byte image or unaligned"},
		{"unaligned", []mips32.Reloc{rel(2, mips32.Reloc32, "__udivdi3")},
			"relocation 0 (R_MIPS_32 __udivdi3) at offset 0x2: outside the 8-byte image or unaligned"},
		{"unaligned, unknown type", []mips32.Reloc{rel(2, mips32.RelocType(4), "__udivdi3")},
			"relocation 0 (type 4 __udivdi3) at offset 0x2: outside the 8-byte image or unaligned"},
		{"unsupported type", []mips32.Reloc{rel(0, mips32.RelocType(4), "__udivdi3")},
			"relocation 0 at code offset 0x0: unsupported type 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mips32.Link(code, tc.relocs, syms, order)
			require.EqualError(t, err, tc.want)
		})
	}
	_, err := mips32.Link(code, []mips32.Reloc{rel(4, mips32.RelocLo16, "nope")}, syms, order)
	var unknown *mips32.UnknownSymbolError
	require.ErrorAs(t, err, &unknown, "callers add what they offer to this error")
	assert.Equal(t, mips32.UnknownSymbolError{Index: 0, Reloc: rel(4, mips32.RelocLo16, "nope")}, *unknown)
}

func words32(b []byte, order binary.ByteOrder) []string {
	var s []string
	for i := 0; i+4 <= len(b); i += 4 {
		s = append(s, fmt.Sprintf("%#x: %08x", i, order.Uint32(b[i:])))
	}
	return s
}

func runTool(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v:\n%s", name, args, out)
}

func rel(off uint32, typ mips32.RelocType, sym string) mips32.Reloc {
	return mips32.Reloc{Offset: off, Type: typ, Sym: sym}
}
