package bpf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The assembler for the syntax of the BPF conformance suite (bpf_conformance's
// assembler, which uBPF's predates), extended so that every instruction
// Decode accepts has a spelling and Disassemble's output parses back to the
// same program:
//
//	mov %r0, 1            ALU64 (name), ALU32 (name32); sdiv/smod set off=1
//	movsx832 %r0, %r1     movsx<bits><width>: ALU32 8/16, ALU64 8/16/32
//	neg %r0, neg32 %r0    le16/le32/le64, be16.., bswap16.. (alias swap16..)
//	lddw %r1, 0x1122334455667788 [, map_fd|map_value|btf_id|func|map_idx|map_idx_value]
//	ldxw %r0, [%r1+4]     ldx{b,h,w,dw}, ldxs{b,h,w} (sign-extending)
//	stw [%r1+2], 0x12     st{b,h,w,dw} store an immediate, stx{b,h,w,dw} a register
//	lock [fetch] add [%r10-8], %r1     add/or/and/xor/xchg/cmpxchg, "32" suffix for W
//	jeq %r1, 0, label     jeq32..; targets are labels or +N/-N slot offsets
//	ja label, ja32 label (alias gotol)
//	call 5, call helper 5, call local func1, call kfunc 7, call %r2 (alias callx %r2)
//	ldabsw 0x10, ldindw %r2, 0x10      legacy packet loads
//	exit
//
// Labels are "name:" (alone or before an instruction); the label "exit",
// unless defined, means the first exit instruction, as in the suite.
// Comments start with #, ; or //. Numbers are decimal or 0x hex, optionally
// negative; 32-bit immediates may be written signed or unsigned.

// aluNames maps the high 4 bits of ALU opcodes (with off) to mnemonics.
var aluNames = []struct {
	name string
	code uint8
	off  int16
}{
	{"add", AluADD, 0}, {"sub", AluSUB, 0}, {"mul", AluMUL, 0},
	{"div", AluDIV, 0}, {"sdiv", AluDIV, 1}, {"or", AluOR, 0},
	{"and", AluAND, 0}, {"lsh", AluLSH, 0}, {"rsh", AluRSH, 0},
	{"mod", AluMOD, 0}, {"smod", AluMOD, 1}, {"xor", AluXOR, 0},
	{"mov", AluMOV, 0}, {"arsh", AluARSH, 0},
}

// jmpNames maps conditional jump codes to mnemonics.
var jmpNames = []struct {
	name string
	code uint8
}{
	{"jeq", JmpJEQ}, {"jgt", JmpJGT}, {"jge", JmpJGE}, {"jset", JmpJSET},
	{"jne", JmpJNE}, {"jsgt", JmpJSGT}, {"jsge", JmpJSGE}, {"jlt", JmpJLT},
	{"jle", JmpJLE}, {"jslt", JmpJSLT}, {"jsle", JmpJSLE},
}

// sizeNames are the size suffixes of load/store mnemonics.
var sizeNames = []struct {
	suffix string
	size   uint8
}{{"b", SizeB}, {"h", SizeH}, {"w", SizeW}, {"dw", SizeDW}}

// atomicNames are the operations after "lock" (imm of STX ATOMIC, without
// the fetch bit except for xchg and cmpxchg, which always fetch).
var atomicNames = []struct {
	name string
	imm  int32
}{
	{"add", AtomicADD}, {"or", AtomicOR}, {"and", AtomicAND}, {"xor", AtomicXOR},
	{"xchg", AtomicXCHG}, {"cmpxchg", AtomicCMPXCHG},
}

// pseudoNames name the lddw pseudo sources (index = src).
var pseudoNames = [...]string{
	PseudoMapFD: "map_fd", PseudoMapValue: "map_value", PseudoBTFID: "btf_id",
	PseudoFunc: "func", PseudoMapIdx: "map_idx", PseudoMapIdxValue: "map_idx_value",
}

// callKinds name the src of CALL.
var callKinds = [...]string{CallHelper: "helper", CallLocal: "local", CallKfunc: "kfunc"}

// memMnemonics maps every load/store mnemonic to its opcode; built from
// sizeNames so the two cannot disagree.
var memMnemonics = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, s := range sizeNames {
		m["ldx"+s.suffix] = ClassLDX | ModeMEM | s.size
		m["st"+s.suffix] = ClassST | ModeMEM | s.size
		m["stx"+s.suffix] = ClassSTX | ModeMEM | s.size
		if s.size != SizeDW {
			m["ldxs"+s.suffix] = ClassLDX | ModeMEMSX | s.size
			m["ldabs"+s.suffix] = ClassLD | ModeABS | s.size
			m["ldind"+s.suffix] = ClassLD | ModeIND | s.size
		}
	}
	return m
}()

// ParseAsm assembles src. Every instruction records its source line, and
// errors name the line. The result is validated like decoded bytecode.
func ParseAsm(src string) (*Program, error) {
	a := &assembler{labels: map[string]int{}, labelLine: map[string]int{}, firstExit: -1}
	for i, text := range strings.Split(src, "\n") {
		a.line = i + 1
		if err := a.parseLine(text); err != nil {
			return nil, err
		}
	}
	if err := a.resolve(); err != nil {
		return nil, err
	}
	if len(a.insns) == 0 {
		return nil, &Error{Slot: -1, Msg: "empty program: no instructions"}
	}
	p := &Program{Insns: a.insns}
	p.layout()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

type assembler struct {
	insns     []Insn
	slot      int            // slot of the next instruction
	line      int            // current source line
	labels    map[string]int // label -> slot
	labelLine map[string]int
	fixups    []fixup
	firstExit int // slot of the first exit, the default target of "exit"
}

// fixup is a jump or local call whose target is a label.
type fixup struct {
	index int // in insns
	label string
	line  int
}

func (a *assembler) errf(format string, args ...any) error {
	return &Error{Slot: -1, Line: a.line, Msg: fmt.Sprintf(format, args...)}
}

func (a *assembler) parseLine(text string) error {
	text = strings.TrimSpace(stripComment(text))
	for { // leading labels
		i := strings.IndexByte(text, ':')
		if i <= 0 || !isIdent(text[:i]) {
			break
		}
		name := text[:i]
		if prev, ok := a.labelLine[name]; ok {
			return a.errf("label %q already defined on line %d", name, prev)
		}
		a.labels[name], a.labelLine[name] = a.slot, a.line
		text = strings.TrimSpace(text[i+1:])
	}
	if text == "" {
		return nil
	}
	mnemonic, rest := text, ""
	if j := strings.IndexAny(text, " \t"); j >= 0 {
		mnemonic, rest = text[:j], text[j+1:]
	}
	in, err := a.instruction(strings.ToLower(mnemonic), strings.TrimSpace(rest))
	if err != nil {
		return err
	}
	in.Slot, in.Line = a.slot, a.line
	if in.IsExit() && a.firstExit < 0 {
		a.firstExit = a.slot
	}
	a.insns = append(a.insns, in)
	a.slot += in.SlotCount()
	return nil
}

// stripComment removes a #, ; or // comment.
func stripComment(s string) string {
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	return s
}

func isIdent(s string) bool {
	for i, c := range s {
		switch {
		case c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return s != ""
}

// splitOperands splits comma-separated operands.
func splitOperands(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	ops := strings.Split(s, ",")
	for i := range ops {
		ops[i] = strings.TrimSpace(ops[i])
	}
	return ops
}

func (a *assembler) want(m string, ops []string, n int) error {
	if len(ops) != n {
		return a.errf("%s takes %d operand(s), got %d", m, n, len(ops))
	}
	for _, o := range ops {
		if o == "" {
			return a.errf("%s: empty operand", m)
		}
	}
	return nil
}

// instruction parses one instruction (without slot and line).
func (a *assembler) instruction(m, rest string) (Insn, error) {
	ops := splitOperands(rest)
	switch m {
	case "exit":
		return Insn{Op: ClassJMP | JmpEXIT}, a.want(m, ops, 0)
	case "ja":
		if err := a.want(m, ops, 1); err != nil {
			return Insn{}, err
		}
		in := Insn{Op: ClassJMP | JmpJA}
		return in, a.target(&in, ops[0], false)
	case "ja32", "gotol":
		if err := a.want(m, ops, 1); err != nil {
			return Insn{}, err
		}
		in := Insn{Op: ClassJMP32 | JmpJA}
		return in, a.target(&in, ops[0], true)
	case "call":
		return a.call(rest)
	case "callx":
		if err := a.want(m, ops, 1); err != nil {
			return Insn{}, err
		}
		r, err := a.reg(ops[0])
		return Insn{Op: ClassJMP | JmpCALL | SrcX, Dst: r}, err
	case "lddw":
		return a.lddw(ops)
	case "lock":
		return a.atomic(rest)
	case "neg", "neg32", "neg64":
		if err := a.want(m, ops, 1); err != nil {
			return Insn{}, err
		}
		r, err := a.reg(ops[0])
		return Insn{Op: aluClass(m) | AluNEG, Dst: r}, err
	}
	if op, ok := memMnemonics[m]; ok {
		return a.memory(m, op, ops)
	}
	if in, ok, err := a.endian(m, ops); ok {
		return in, err
	}
	if strings.HasPrefix(m, "movsx") {
		return a.movsx(m, ops)
	}
	base, is32 := strings.CutSuffix(m, "32")
	if !is32 {
		base, _ = strings.CutSuffix(m, "64")
	}
	for _, o := range aluNames {
		if o.name == base {
			return a.alu(m, aluClass(m)|o.code, o.off, ops)
		}
	}
	for _, j := range jmpNames {
		if j.name == base {
			class := uint8(ClassJMP)
			if is32 {
				class = ClassJMP32
			}
			return a.condJump(m, class|j.code, ops)
		}
	}
	return Insn{}, a.errf("unknown mnemonic %q", m)
}

// aluClass is ALU for a "32" mnemonic, ALU64 otherwise.
func aluClass(m string) uint8 {
	if strings.HasSuffix(m, "32") {
		return ClassALU
	}
	return ClassALU64
}

func (a *assembler) alu(m string, op uint8, off int16, ops []string) (Insn, error) {
	if err := a.want(m, ops, 2); err != nil {
		return Insn{}, err
	}
	in := Insn{Op: op, Off: off}
	var err error
	if in.Dst, err = a.reg(ops[0]); err != nil {
		return in, err
	}
	return in, a.regOrImm(&in, ops[1])
}

// regOrImm sets the second operand of an ALU op or conditional jump.
func (a *assembler) regOrImm(in *Insn, s string) error {
	if isReg(s) {
		r, err := a.reg(s)
		in.Src, in.Op = r, in.Op|SrcX
		return err
	}
	imm, err := a.imm32(s)
	in.Imm = imm
	return err
}

func (a *assembler) movsx(m string, ops []string) (Insn, error) {
	spec := strings.TrimPrefix(m, "movsx") // <bits><width>, e.g. 832, 1664
	var class uint8
	switch {
	case strings.HasSuffix(spec, "32"):
		class = ClassALU
	case strings.HasSuffix(spec, "64"):
		class = ClassALU64
	default:
		return Insn{}, a.errf("unknown mnemonic %q (movsx<8|16|32><32|64>)", m)
	}
	bits, err := strconv.Atoi(spec[:len(spec)-2])
	if err != nil || bits != 8 && bits != 16 && bits != 32 {
		return Insn{}, a.errf("unknown mnemonic %q (movsx<8|16|32><32|64>)", m)
	}
	if err := a.want(m, ops, 2); err != nil {
		return Insn{}, err
	}
	in := Insn{Op: class | AluMOV | SrcX, Off: int16(bits)}
	if in.Dst, err = a.reg(ops[0]); err != nil {
		return in, err
	}
	in.Src, err = a.reg(ops[1])
	return in, err
}

// endian parses le16.., be16.., bswap16.. and swap16...
func (a *assembler) endian(m string, ops []string) (Insn, bool, error) {
	var op uint8
	var width string
	switch {
	case strings.HasPrefix(m, "le"):
		op, width = ClassALU|AluEND|SrcK, m[2:]
	case strings.HasPrefix(m, "be"):
		op, width = ClassALU|AluEND|SrcX, m[2:]
	case strings.HasPrefix(m, "bswap"):
		op, width = ClassALU64|AluEND, m[5:]
	case strings.HasPrefix(m, "swap"):
		op, width = ClassALU64|AluEND, m[4:]
	default:
		return Insn{}, false, nil
	}
	if width != "16" && width != "32" && width != "64" {
		return Insn{}, false, nil
	}
	if err := a.want(m, ops, 1); err != nil {
		return Insn{}, true, err
	}
	w, _ := strconv.Atoi(width)
	r, err := a.reg(ops[0])
	return Insn{Op: op, Dst: r, Imm: int32(w)}, true, err
}

func (a *assembler) condJump(m string, op uint8, ops []string) (Insn, error) {
	if err := a.want(m, ops, 3); err != nil {
		return Insn{}, err
	}
	in := Insn{Op: op}
	var err error
	if in.Dst, err = a.reg(ops[0]); err != nil {
		return in, err
	}
	if err := a.regOrImm(&in, ops[1]); err != nil {
		return in, err
	}
	return in, a.target(&in, ops[2], false)
}

// target sets a jump or call offset: a number (+N, -N, N) or a label
// resolved later. wide selects the 32-bit Imm instead of the 16-bit Off.
func (a *assembler) target(in *Insn, s string, wide bool) error {
	if isIdent(s) {
		a.fixups = append(a.fixups, fixup{index: len(a.insns), label: s, line: a.line})
		return nil
	}
	if wide {
		v, err := a.imm32(s)
		in.Imm = v
		return err
	}
	v, err := a.number(s, math.MinInt16, math.MaxInt16)
	in.Off = int16(v)
	return err
}

// resolve patches label targets once every label is known.
func (a *assembler) resolve() error {
	for _, f := range a.fixups {
		in := &a.insns[f.index]
		target, ok := a.labels[f.label]
		if !ok && f.label == "exit" && a.firstExit >= 0 {
			target, ok = a.firstExit, true
		}
		if !ok {
			return &Error{Slot: -1, Line: f.line, Msg: fmt.Sprintf("undefined label %q", f.label)}
		}
		off := target - (in.Slot + 1)
		if in.IsLocalCall() || in.Op == ClassJMP32|JmpJA {
			in.Imm = int32(off) // a program has far fewer than 2^31 slots
			continue
		}
		if off < math.MinInt16 || off > math.MaxInt16 {
			return &Error{Slot: -1, Line: f.line, Msg: fmt.Sprintf("label %q is out of reach of a 16-bit jump offset (%d)", f.label, off)}
		}
		in.Off = int16(off)
	}
	return nil
}

// call parses "call N", "call helper N", "call local T", "call kfunc N"
// (alias runtime) and "call %rN".
func (a *assembler) call(rest string) (Insn, error) {
	f := strings.Fields(rest)
	in := Insn{Op: ClassJMP | JmpCALL}
	switch {
	case len(f) == 1 && isReg(f[0]):
		r, err := a.reg(f[0])
		return Insn{Op: ClassJMP | JmpCALL | SrcX, Dst: r}, err
	case len(f) == 1 && slices.Contains(callKinds[:], f[0]):
		return in, a.errf("call %s needs a target", f[0])
	case len(f) == 1:
		v, err := a.imm32(f[0])
		in.Imm = v
		return in, err
	case len(f) == 2:
		switch f[0] {
		case "helper":
			in.Src = CallHelper
		case "local":
			in.Src = CallLocal
			return in, a.target(&in, f[1], true)
		case "kfunc", "runtime":
			in.Src = CallKfunc
		default:
			return in, a.errf("unknown call kind %q (helper, local or kfunc)", f[0])
		}
		v, err := a.imm32(f[1])
		in.Imm = v
		return in, err
	}
	return in, a.errf("call takes a helper ID, a register, or a kind and a target")
}

func (a *assembler) lddw(ops []string) (Insn, error) {
	if len(ops) != 2 && len(ops) != 3 {
		return Insn{}, a.errf("lddw takes 2 or 3 operands, got %d", len(ops))
	}
	in := Insn{Op: OpLdImm64}
	var err error
	if in.Dst, err = a.reg(ops[0]); err != nil {
		return in, err
	}
	v, err := a.number64(ops[1])
	if err != nil {
		return in, err
	}
	in.Imm64, in.Imm = v, int32(uint32(v))
	if len(ops) == 3 {
		src := -1
		for s, name := range pseudoNames {
			if name != "" && name == ops[2] {
				src = s
			}
		}
		if src < 0 {
			return in, a.errf("unknown lddw source %q", ops[2])
		}
		in.Src = uint8(src)
	}
	return in, nil
}

// memory parses loads and stores (and the legacy packet loads).
func (a *assembler) memory(m string, op uint8, ops []string) (Insn, error) {
	in := Insn{Op: op}
	var err error
	switch op & 0x07 {
	case ClassLD:
		if op&0xe0 == ModeABS {
			if err := a.want(m, ops, 1); err != nil {
				return in, err
			}
			in.Imm, err = a.imm32(ops[0])
			return in, err
		}
		if err := a.want(m, ops, 2); err != nil {
			return in, err
		}
		if in.Src, err = a.reg(ops[0]); err != nil {
			return in, err
		}
		in.Imm, err = a.imm32(ops[1])
		return in, err
	case ClassLDX:
		if err := a.want(m, ops, 2); err != nil {
			return in, err
		}
		if in.Dst, err = a.reg(ops[0]); err != nil {
			return in, err
		}
		in.Src, in.Off, err = a.mem(ops[1])
		return in, err
	}
	if err := a.want(m, ops, 2); err != nil {
		return in, err
	}
	if in.Dst, in.Off, err = a.mem(ops[0]); err != nil {
		return in, err
	}
	if op&0x07 == ClassST {
		in.Imm, err = a.imm32(ops[1])
	} else {
		in.Src, err = a.reg(ops[1])
	}
	return in, err
}

// atomic parses what follows "lock": [fetch] op[32] [%rD+off], %rS.
func (a *assembler) atomic(rest string) (Insn, error) {
	i := strings.IndexByte(rest, '[')
	if i < 0 {
		return Insn{}, a.errf("lock: missing memory operand")
	}
	words := strings.Fields(rest[:i])
	fetch := len(words) > 0 && words[0] == "fetch"
	if fetch {
		words = words[1:]
	}
	if len(words) != 1 {
		return Insn{}, a.errf("lock: expected [fetch] <operation>, got %q", strings.TrimSpace(rest[:i]))
	}
	name, is32 := strings.CutSuffix(words[0], "32")
	if !is32 {
		name, _ = strings.CutSuffix(name, "64")
	}
	in := Insn{Op: ClassSTX | ModeATOMIC | SizeDW, Imm: -1}
	if is32 {
		in.Op = ClassSTX | ModeATOMIC | SizeW
	}
	for _, o := range atomicNames {
		if o.name == name {
			in.Imm = o.imm
		}
	}
	if in.Imm == -1 {
		return in, a.errf("lock: unknown atomic operation %q", words[0])
	}
	if fetch {
		in.Imm |= AtomicFetch
	}
	ops := splitOperands(rest[i:])
	if err := a.want("lock "+words[0], ops, 2); err != nil {
		return in, err
	}
	var err error
	if in.Dst, in.Off, err = a.mem(ops[0]); err != nil {
		return in, err
	}
	in.Src, err = a.reg(ops[1])
	return in, err
}

// isReg reports a register operand: %rN or rN.
func isReg(s string) bool {
	s = strings.TrimPrefix(s, "%")
	if len(s) < 2 || s[0] != 'r' {
		return false
	}
	_, err := strconv.Atoi(s[1:])
	return err == nil
}

func (a *assembler) reg(s string) (uint8, error) {
	if !isReg(s) {
		return 0, a.errf("expected a register (%%r0..%%r10), got %q", s)
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(s, "%")[1:])
	if n < 0 || n > R10 {
		return 0, a.errf("bad register %q (registers are %%r0..%%r10)", s)
	}
	return uint8(n), nil
}

// mem parses [%rN], [%rN+off] or [%rN-off].
func (a *assembler) mem(s string) (uint8, int16, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return 0, 0, a.errf("expected a memory operand [%%rN+off], got %q", s)
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	regPart, offPart := inner, ""
	if i := strings.IndexAny(inner, "+-"); i >= 0 {
		regPart, offPart = strings.TrimSpace(inner[:i]), strings.ReplaceAll(inner[i:], " ", "")
	}
	r, err := a.reg(regPart)
	if err != nil {
		return 0, 0, err
	}
	if offPart == "" {
		return r, 0, nil
	}
	off, err := a.number(offPart, math.MinInt16, math.MaxInt16)
	return r, int16(off), err
}

// imm32 parses a 32-bit immediate, written signed or unsigned.
func (a *assembler) imm32(s string) (int32, error) {
	v, err := a.number(s, math.MinInt32, math.MaxUint32)
	return int32(uint32(v)), err
}

// number parses a decimal or 0x-hex integer, optionally signed, in [lo, hi].
func (a *assembler) number(s string, lo, hi int64) (int64, error) {
	neg, mag, err := parseNumber(s)
	if err != nil {
		return 0, a.errf("bad number %q", s)
	}
	var v int64
	switch {
	case !neg && mag <= uint64(hi):
		v = int64(mag)
	case neg && mag <= uint64(-lo):
		v = -int64(mag)
	default:
		return 0, a.errf("%s is out of range [%d, %d]", s, lo, hi)
	}
	return v, nil
}

// number64 parses a 64-bit constant, written signed or unsigned.
func (a *assembler) number64(s string) (uint64, error) {
	neg, mag, err := parseNumber(s)
	switch {
	case err != nil:
		return 0, a.errf("bad number %q", s)
	case neg && mag > 1<<63:
		return 0, a.errf("%s is out of the 64-bit range", s)
	case neg:
		return -mag, nil
	}
	return mag, nil
}

// parseNumber splits an optional sign from a decimal or 0x-hex magnitude.
func parseNumber(s string) (neg bool, mag uint64, err error) {
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		mag, err = strconv.ParseUint(h, 16, 64)
	} else {
		mag, err = strconv.ParseUint(s, 10, 64)
	}
	return neg, mag, err
}
