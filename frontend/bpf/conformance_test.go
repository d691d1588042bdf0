package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bpfopt/bpfopt/internal/conformance"
	"github.com/stretchr/testify/require"
)

// loadSuite reads the conformance suite; it fails (never skips) when the
// suite is missing.
func loadSuite(t testing.TB) []*conformance.Test {
	t.Helper()
	tests, err := conformance.LoadDir(conformance.Dir())
	require.NoError(t, err)
	require.NotEmpty(t, tests)
	return tests
}

// stripLines returns the instructions without source lines, for comparing
// programs from different sources.
func stripLines(p *Program) []Insn {
	out := append([]Insn(nil), p.Insns...)
	for i := range out {
		out[i].Line = 0
	}
	return out
}

func requireSameProgram(t testing.TB, want, got *Program, msg string) {
	t.Helper()
	require.Equal(t, stripLines(want), stripLines(got), msg)
	require.Equal(t, want.SlotIndex, got.SlotIndex, msg)
}

// runConformance runs one suite file through the assembler (and the raw
// words, when given) and the interpreter, returning what went wrong.
func runConformance(ct *conformance.Test) (err error) {
	p, err := ParseAsm(ct.Asm)
	if err != nil {
		return fmt.Errorf("asm (section starts at line %d): %w", ct.AsmLine, err)
	}
	if ct.Raw != nil {
		raw, err := Decode(ct.RawBytes(), binary.LittleEndian)
		if err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		if !reflect.DeepEqual(stripLines(raw), stripLines(p)) {
			return fmt.Errorf("raw section decodes to\n%s\nbut asm assembles to\n%s", Disassemble(raw), Disassemble(p))
		}
	}
	mem := append([]byte(nil), ct.Mem...)
	r0, err := Interpret(p, RunConfig{Mem: mem, Helpers: ConformanceHelpers()})
	switch {
	case ct.Error != "" && err == nil:
		return fmt.Errorf("expected error %q, got r0 = 0x%x", ct.Error, r0)
	case ct.Error != "":
		return nil
	case err != nil:
		return fmt.Errorf("run: %w", err)
	case r0 != ct.Result:
		return fmt.Errorf("r0 = 0x%x, want 0x%x", r0, ct.Result)
	}
	return nil
}

// TestConformance runs every file of the suite on the reference interpreter.
func TestConformance(t *testing.T) {
	tests := loadSuite(t)
	var failures []string
	for _, ct := range tests {
		if err := runConformance(ct); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", ct.Name, err))
		}
	}
	t.Logf("conformance: %d passed, %d failed", len(tests)-len(failures), len(failures))
	if len(failures) > 0 {
		t.Errorf("failures:\n%s", strings.Join(failures, "\n"))
	}
}

// TestConformanceRoundTrips checks, on every suite program, that encoding
// and decoding (both byte orders) and disassembling and reassembling
// reproduce the program.
func TestConformanceRoundTrips(t *testing.T) {
	for _, ct := range loadSuite(t) {
		p, err := ParseAsm(ct.Asm)
		require.NoError(t, err, ct.Name)
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			raw := Encode(p, order)
			require.Len(t, raw, 8*p.NumSlots(), ct.Name)
			q, err := Decode(raw, order)
			require.NoError(t, err, "%s (%v)", ct.Name, order)
			requireSameProgram(t, p, q, ct.Name)
			require.True(t, bytes.Equal(raw, Encode(q, order)), ct.Name)
		}
		text := Disassemble(p)
		q, err := ParseAsm(text)
		require.NoError(t, err, "%s: reassembling\n%s", ct.Name, text)
		requireSameProgram(t, p, q, ct.Name+"\n"+text)
		require.Equal(t, text, Disassemble(q), ct.Name)
	}
}

// TestConformanceRawMatchesLittleEndianLayout checks our reading of the raw
// section against a word written out by hand: lddw.data's first word
// 0x5566778800000018 is opcode 0x18, dst r0, imm 0x55667788.
func TestConformanceRawMatchesLittleEndianLayout(t *testing.T) {
	ct, err := conformance.Parse(conformance.Dir() + "/lddw.data")
	require.NoError(t, err)
	require.Equal(t, []uint64{0x5566778800000018, 0x1122334400000000, 0x95}, ct.Raw)
	p, err := Decode(ct.RawBytes(), nil)
	require.NoError(t, err)
	require.Len(t, p.Insns, 2)
	require.Equal(t, uint8(OpLdImm64), p.Insns[0].Op)
	require.Equal(t, uint64(0x1122334455667788), p.Insns[0].Imm64)
	require.True(t, p.Insns[1].IsExit())
}
