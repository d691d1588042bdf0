package mips32

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeRow is one row of testdata/encode.txt.
type encodeRow struct {
	line     int
	asm      string
	le, be   []byte
	needsR2  bool
	parsed   Inst
	parseErr error
}

func readEncodeTable(t *testing.T) []encodeRow {
	t.Helper()
	data, err := os.ReadFile("testdata/encode.txt")
	require.NoError(t, err)
	var rows []encodeRow
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cols := strings.Split(l, "|")
		require.Len(t, cols, 4, "line %d: want asm | le | be | revision (run go run ./internal/genenc)", i+1)
		r := encodeRow{line: i + 1, asm: strings.TrimSpace(cols[0])}
		r.le, err = hex.DecodeString(strings.ReplaceAll(cols[1], " ", ""))
		require.NoError(t, err, "line %d", i+1)
		r.be, err = hex.DecodeString(strings.ReplaceAll(cols[2], " ", ""))
		require.NoError(t, err, "line %d", i+1)
		rev := strings.TrimSpace(cols[3])
		require.Contains(t, []string{"mips32", "mips32r2"}, rev, "line %d", i+1)
		r.needsR2 = rev == "mips32r2"
		r.parsed, r.parseErr = parseTableAsm(r.asm)
		rows = append(rows, r)
	}
	return rows
}

// TestEncodeTable compares Encode with GNU as on every row of the table,
// for both byte orders, and checks that R1 refuses exactly the rows GNU as
// refuses under -march=mips32.
func TestEncodeTable(t *testing.T) {
	rows := readEncodeTable(t)
	seen := map[Opcode]bool{}
	for _, r := range rows {
		require.NoError(t, r.parseErr, "line %d: %s", r.line, r.asm)
		in := r.parsed
		seen[in.Op] = true
		for _, tg := range []Target{{Rev: R2}, {Rev: R2, BigEndian: true}, {Rev: R1}, {Rev: R1, BigEndian: true}} {
			w, err := Encode(in, tg)
			if tg.Rev == R1 && r.needsR2 {
				assert.Error(t, err, "line %d: %s accepted on %s", r.line, r.asm, tg)
				continue
			}
			if !assert.NoError(t, err, "line %d: %s on %s", r.line, r.asm, tg) {
				continue
			}
			want := r.le
			if tg.BigEndian {
				want = r.be
			}
			got := make([]byte, 4)
			tg.ByteOrder().PutUint32(got, w)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "line %d: %s on %s", r.line, r.asm, tg)
		}
	}
	for op := Opcode(1); op < numOpcodes; op++ {
		if op.Encodable() {
			assert.True(t, seen[op], "opcode %v has no row in testdata/encode.txt", op)
		}
	}
}

// TestEncodeTableFresh regenerates the table with GNU as and compares.
func TestEncodeTableFresh(t *testing.T) {
	requireTools(t, "go", "mipsel-linux-gnu-as", "mipsel-linux-gnu-objcopy")
	out, err := exec.Command("go", "run", "./internal/genenc", "-check").CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// parseTableAsm reads the GNU syntax of the table rows into an Inst. It is
// written independently of the printer, so the table checks the encoder
// alone.
func parseTableAsm(s string) (Inst, error) {
	mn, rest, _ := strings.Cut(s, " ")
	var ops []string
	if rest = strings.TrimSpace(rest); rest != "" {
		for _, o := range strings.Split(rest, ",") {
			ops = append(ops, strings.TrimSpace(o))
		}
	}
	op := OpInvalid
	for o := Opcode(1); o < numOpcodes; o++ {
		if o.String() == mn {
			op = o
		}
	}
	if op == OpInvalid || !op.Encodable() {
		return Inst{}, fmt.Errorf("unknown mnemonic %q", mn)
	}
	in := Inst{Op: op}
	var err error
	reg := func(s string) Reg {
		for r := ZERO; r < NumGPR; r++ {
			if s == "$"+r.String() {
				return r
			}
		}
		if s == "$s8" {
			return FP
		}
		if err == nil {
			err = fmt.Errorf("bad register %q", s)
		}
		return 0
	}
	num := func(s string) int32 {
		v, e := strconv.ParseInt(s, 0, 32)
		if e != nil && err == nil {
			err = e
		}
		return int32(v)
	}
	// branch parses ".+N", ".-N", ".+A-B", ".+A+B" into a word offset.
	branch := func(s string) int32 {
		if !strings.HasPrefix(s, ".") {
			err = fmt.Errorf("branch target %q: want .+N", s)
			return 0
		}
		sum := int32(0)
		s = s[1:]
		for s != "" {
			j := strings.IndexAny(s[1:], "+-") + 1
			if j == 0 {
				j = len(s)
			}
			sum += num(s[:j])
			s = s[j:]
		}
		return (sum - 4) / 4
	}
	mem := func(s string) (int32, Reg) {
		off, base, ok := strings.Cut(strings.TrimSuffix(s, ")"), "(")
		if !ok {
			err = fmt.Errorf("bad memory operand %q", s)
			return 0, 0
		}
		return num(off), reg(base)
	}
	want := map[Format]int{
		FmtNone: 0, FmtR3: 3, FmtCondMove: 3, FmtR2: 2, FmtRI: 3, FmtLUI: 2, FmtShift: 3, FmtShiftV: 3,
		FmtMulDiv: 2, FmtMoveHiLo: 1, FmtLoad: 2, FmtLoadMerge: 2, FmtStore: 2, FmtSC: 2, FmtExt: 4,
		FmtIns: 4, FmtBranch2: 3, FmtBranch1: 2, FmtJump: 1, FmtBAL: 1, FmtJR: 1, FmtJALR: 1, FmtMove: 2,
	}
	f := op.Info().Format
	if op == DIV || op == DIVU {
		if len(ops) != 3 || ops[0] != "$zero" {
			return in, fmt.Errorf("%s: want div $zero, rs, rt", s)
		}
		ops = ops[1:]
	}
	if len(ops) != want[f] {
		return in, fmt.Errorf("%s: want %d operands", s, want[f])
	}
	switch f {
	case FmtR3, FmtCondMove:
		in.Rd, in.Rs, in.Rt = reg(ops[0]), reg(ops[1]), reg(ops[2])
	case FmtR2:
		in.Rd, in.Rt = reg(ops[0]), reg(ops[1])
	case FmtRI:
		in.Rt, in.Rs, in.Imm = reg(ops[0]), reg(ops[1]), num(ops[2])
	case FmtLUI:
		in.Rt, in.Imm = reg(ops[0]), num(ops[1])
	case FmtShift:
		in.Rd, in.Rt, in.Imm = reg(ops[0]), reg(ops[1]), num(ops[2])
	case FmtShiftV:
		in.Rd, in.Rt, in.Rs = reg(ops[0]), reg(ops[1]), reg(ops[2])
	case FmtMulDiv:
		in.Rs, in.Rt = reg(ops[0]), reg(ops[1])
	case FmtMoveHiLo:
		in.Rd = reg(ops[0])
	case FmtLoad, FmtLoadMerge, FmtStore, FmtSC:
		in.Rt = reg(ops[0])
		in.Imm, in.Rs = mem(ops[1])
	case FmtExt, FmtIns:
		in.Rt, in.Rs, in.Imm, in.Imm2 = reg(ops[0]), reg(ops[1]), num(ops[2]), num(ops[3])
	case FmtBranch2:
		in.Rs, in.Rt, in.Imm = reg(ops[0]), reg(ops[1]), branch(ops[2])
	case FmtBranch1:
		in.Rs, in.Imm = reg(ops[0]), branch(ops[1])
	case FmtJump, FmtBAL:
		in.Imm = branch(ops[0])
	case FmtJR, FmtJALR:
		in.Rs = reg(ops[0])
	case FmtMove:
		in.Rd, in.Rs = reg(ops[0]), reg(ops[1])
	}
	return in, err
}

func TestEncodeErrors(t *testing.T) {
	r2, r1 := Target{Rev: R2}, Target{Rev: R1}
	cases := []struct {
		name string
		in   Inst
		tg   Target
		want string
	}{
		{"virtual register", Inst{Op: ADDU, Rd: FirstVirtual + 3, Rs: A0, Rt: A1}, r2, "virtual register %3"},
		{"register 40", Inst{Op: ADDU, Rd: V0, Rs: 40, Rt: A1}, r2, "invalid register"},
		{"addiu too big", Inst{Op: ADDIU, Rt: V0, Rs: A0, Imm: 32768}, r2, "out of range -32768..32767"},
		{"addiu too small", Inst{Op: ADDIU, Rt: V0, Rs: A0, Imm: -32769}, r2, "out of range -32768..32767"},
		{"lw offset", Inst{Op: LW, Rt: V0, Rs: SP, Imm: 40000}, r2, "out of range -32768..32767"},
		{"ori negative", Inst{Op: ORI, Rt: V0, Rs: A0, Imm: -1}, r2, "out of range 0..65535"},
		{"andi too big", Inst{Op: ANDI, Rt: V0, Rs: A0, Imm: 0x10000}, r2, "out of range 0..65535"},
		{"lui negative", Inst{Op: LUI, Rt: V0, Imm: -1}, r2, "out of range 0..65535"},
		{"shift 32", Inst{Op: SLL, Rd: V0, Rt: A0, Imm: 32}, r2, "shift amount 32"},
		{"shift -1", Inst{Op: SRA, Rd: V0, Rt: A0, Imm: -1}, r2, "shift amount -1"},
		{"rotr on R1", Inst{Op: ROTR, Rd: V0, Rt: A0, Imm: 3}, r1, "needs mips32r2"},
		{"seb on R1", Inst{Op: SEB, Rd: V0, Rt: A0}, r1, "needs mips32r2"},
		{"ext size 0", Inst{Op: EXT, Rt: V0, Rs: A0, Imm: 0, Imm2: 0}, r2, "bit field"},
		{"ext past 32", Inst{Op: EXT, Rt: V0, Rs: A0, Imm: 16, Imm2: 17}, r2, "bit field"},
		{"ins pos 32", Inst{Op: INS, Rt: V0, Rs: A0, Imm: 32, Imm2: 1}, r2, "bit field"},
		{"ins negative pos", Inst{Op: INS, Rt: V0, Rs: A0, Imm: -1, Imm2: 2}, r2, "bit field"},
		{"branch too far", Inst{Op: BEQ, Rs: A0, Rt: A1, Imm: 32768}, r2, "branch offset 32768"},
		{"branch too far back", Inst{Op: B, Imm: -32769}, r2, "branch offset -32769"},
		{"jalr ra", Inst{Op: JALR, Rs: RA}, r2, "unpredictable"},
		{"label", Inst{Op: LABEL, Target: 3}, r2, "not a machine instruction"},
		{"invalid opcode", Inst{Op: 999}, r2, "invalid opcode"},
		{"R6", Inst{Op: NOP}, Target{Rev: R6}, "only mips32 and mips32r2"},
		{"hi on addiu", Inst{Op: ADDIU, Rt: V0, Rs: V0, Sym: "x", Reloc: RelocHi16}, r2, "only lui %hi"},
		{"lo on ori", Inst{Op: ORI, Rt: V0, Rs: V0, Sym: "x", Reloc: RelocLo16}, r2, "only lui %hi"},
		{"reloc without symbol", Inst{Op: LUI, Rt: V0, Reloc: RelocHi16}, r2, "without a symbol"},
		{"symbol without reloc", Inst{Op: LUI, Rt: V0, Sym: "x"}, r2, "only lui %hi"},
		{"addend", Inst{Op: LUI, Rt: V0, Sym: "x", Reloc: RelocHi16, Imm: 4}, r2, "addends are not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(c.in, c.tg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestEncodeSymbolic checks that relocated immediates encode as zero.
func TestEncodeSymbolic(t *testing.T) {
	tg := Target{Rev: R2}
	for _, c := range []struct {
		in   Inst
		want uint32
	}{
		{Inst{Op: LUI, Rt: T9, Sym: "f", Reloc: RelocHi16}, 0x3c190000},
		{Inst{Op: ADDIU, Rt: T9, Rs: T9, Sym: "f", Reloc: RelocLo16}, 0x27390000},
		{Inst{Op: LW, Rt: T9, Rs: T9, Sym: "f", Reloc: RelocLo16}, 0x8f390000},
		{Inst{Op: SW, Rt: V0, Rs: AT, Sym: "f", Reloc: RelocLo16}, 0xac220000},
	} {
		w, err := Encode(c.in, tg)
		require.NoError(t, err, "%v", c.in)
		assert.Equal(t, c.want, w, "%v", c.in)
	}
}
