package mips32

// The GNU assembly printer. FormatAsm prints an assembled function so that
//
//	mipsel-linux-gnu-as -march=mips32r2 -mabi=32 -mno-fix-loongson3-llsc
//
// (-EB for big-endian, -march=mips32 for R1) produces exactly the bytes of
// Assembled.Code, with equivalent relocations. -mno-fix-loongson3-llsc
// matters: Debian's binutils otherwise inserts a sync before every ll.
// The function is printed under .set noreorder/noat/nomacro: delay slots are
// explicit, $at is ours, and no mnemonic may expand into several
// instructions. ".abicalls" with ".option pic0" gives the object the e_flags
// WriteELF uses (non-PIC code under the abicalls convention). Labels are
// .L<function>.<n>, named after the function they are in, so that several
// functions and modules can share one file.

import (
	"cmp"
	"fmt"
	"io"
	"strings"
)

// String prints the instruction for dumps: ABI register names without "$",
// virtual registers as %N, labels as .L<n>.
func (in Inst) String() string {
	return in.format(Reg.String, func(l int) string { return fmt.Sprintf(".L%d", l) })
}

// format prints in with the given register and label spellings. It never
// fails, so that error messages can always show the instruction.
func (in Inst) format(reg func(Reg) string, label func(int) string) string {
	info := in.Op.Info()
	name := info.Name
	mem := func() string { return fmt.Sprintf("%s(%s)", in.immText(), reg(in.Rs)) }
	switch info.Format {
	case FmtNone:
		return name
	case FmtR3, FmtCondMove:
		return fmt.Sprintf("%s %s, %s, %s", name, reg(in.Rd), reg(in.Rs), reg(in.Rt))
	case FmtR2:
		return fmt.Sprintf("%s %s, %s", name, reg(in.Rd), reg(in.Rt))
	case FmtRI:
		return fmt.Sprintf("%s %s, %s, %s", name, reg(in.Rt), reg(in.Rs), in.immText())
	case FmtLUI:
		return fmt.Sprintf("%s %s, %s", name, reg(in.Rt), in.immText())
	case FmtLI:
		return fmt.Sprintf("%s %s, %#x", name, reg(in.Rt), uint32(in.Imm))
	case FmtShift:
		return fmt.Sprintf("%s %s, %s, %d", name, reg(in.Rd), reg(in.Rt), in.Imm)
	case FmtShiftV:
		return fmt.Sprintf("%s %s, %s, %s", name, reg(in.Rd), reg(in.Rt), reg(in.Rs))
	case FmtMulDiv:
		if in.Op == DIV || in.Op == DIVU {
			// GNU as takes two-operand div as a macro that checks for
			// zero; "div $zero, rs, rt" is the bare instruction.
			return fmt.Sprintf("%s %s, %s, %s", name, reg(ZERO), reg(in.Rs), reg(in.Rt))
		}
		return fmt.Sprintf("%s %s, %s", name, reg(in.Rs), reg(in.Rt))
	case FmtMoveHiLo:
		return fmt.Sprintf("%s %s", name, reg(in.Rd))
	case FmtLoad, FmtLoadMerge, FmtStore, FmtSC:
		return fmt.Sprintf("%s %s, %s", name, reg(in.Rt), mem())
	case FmtExt, FmtIns:
		return fmt.Sprintf("%s %s, %s, %d, %d", name, reg(in.Rt), reg(in.Rs), in.Imm, in.Imm2)
	case FmtBranch2:
		return fmt.Sprintf("%s %s, %s, %s", name, reg(in.Rs), reg(in.Rt), label(in.Target))
	case FmtBranch1:
		return fmt.Sprintf("%s %s, %s", name, reg(in.Rs), label(in.Target))
	case FmtJump, FmtBAL:
		return fmt.Sprintf("%s %s", name, label(in.Target))
	case FmtJR, FmtJALR:
		return fmt.Sprintf("%s %s", name, reg(in.Rs))
	case FmtMove:
		return fmt.Sprintf("%s %s, %s", name, reg(in.Rd), reg(in.Rs))
	case FmtLabel:
		return label(in.Target) + ":"
	}
	return fmt.Sprintf("%s(op %d)", name, uint16(in.Op))
}

// immText is the immediate operand: %hi(sym)/%lo(sym) when symbolic,
// hexadecimal for the zero-extended immediates, decimal otherwise.
func (in Inst) immText() string {
	switch {
	case in.Reloc == RelocHi16:
		return "%hi(" + in.Sym + ")"
	case in.Reloc == RelocLo16:
		return "%lo(" + in.Sym + ")"
	case in.Reloc != RelocNone || in.Sym != "":
		return fmt.Sprintf("%%reloc%d(%s)", in.Reloc, in.Sym) // refused by Encode; printed for diagnostics
	case in.Op < numOpcodes && encodings[in.Op].unsignedImm && in.Imm >= 0:
		return fmt.Sprintf("0x%x", in.Imm)
	}
	return fmt.Sprintf("%d", in.Imm)
}

// asmRegName is the GNU spelling of a physical register: "$a0".
func asmRegName(r Reg) string { return "$" + r.String() }

// FormatAsm writes the function as GNU assembler source (see the file
// comment for the flags that reproduce a.Code exactly).
func FormatAsm(w io.Writer, name string, a *Assembled, t Target) error {
	return formatFuncs(w, name, a, t, []Symbol{{Name: name, entryLabel: -1}})
}

// FormatModuleAsm writes a whole module: each function with its own
// directives (.globl for the program entries, .local for subprograms) and
// its labels named after it.
func FormatModuleAsm(w io.Writer, m *Module, t Target) error {
	if len(m.Funcs) == 0 {
		return fmt.Errorf("module without functions")
	}
	if err := formatFuncs(w, m.Funcs[0].Name, m.Assembled, t, m.Funcs); err != nil {
		return err
	}
	return formatData(w, &m.Data)
}

// formatData writes a module's data as a .data section: bytes, with each
// relocated word as ".word symbol".
func formatData(w io.Writer, d *ELFData) error {
	if len(d.Bytes) == 0 {
		return nil
	}
	relocs := map[uint32]string{}
	for _, r := range d.Relocs {
		relocs[r.Offset] = r.Sym
	}
	starts := map[uint32][]DataSymbol{}
	for _, s := range d.Syms {
		if err := checkSymbolName(s.Name); err != nil {
			return err
		}
		starts[s.Offset] = append(starts[s.Offset], s)
	}
	var b strings.Builder
	b.WriteString("\t.data\n\t.align\t3\n")
	for off := uint32(0); off < uint32(len(d.Bytes)); {
		for _, s := range starts[off] {
			bind := ".globl"
			if s.Local {
				bind = ".local"
			}
			fmt.Fprintf(&b, "\t%s\t%s\n\t.type\t%s, @object\n\t.size\t%s, %d\n%s:\n", bind, s.Name, s.Name, s.Name, s.Size, s.Name)
		}
		if sym, ok := relocs[off]; ok {
			fmt.Fprintf(&b, "\t.word\t%s\n", sym)
			off += 4
			continue
		}
		fmt.Fprintf(&b, "\t.byte\t%d\n", d.Bytes[off])
		off++
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatFuncs prints a's instructions; each function starts at its entry
// label (entryLabel -1: at the first instruction). Label n of function f
// prints as .Lf.n: the numbers are unique in a, the name tells the reader
// whose label a branch or call targets.
func formatFuncs(w io.Writer, first string, a *Assembled, t Target, funcs []Symbol) error {
	for _, f := range funcs {
		if err := checkSymbolName(f.Name); err != nil {
			return err
		}
	}
	starts := map[int]Symbol{}
	for _, f := range funcs {
		if f.entryLabel >= 0 {
			starts[f.entryLabel] = f
		}
	}
	owner := map[int]string{} // label → the function it is in
	cur := first
	for _, in := range a.Insts {
		if in.Op == LABEL {
			if f, ok := starts[in.Target]; ok {
				cur = f.Name
			}
			owner[in.Target] = cur
		}
	}
	label := func(l int) string {
		f, ok := owner[l]
		if !ok {
			f = first // undefined: GNU as reports it
		}
		return fmt.Sprintf(".L%s.%d", f, l)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\t# %s: %s\n", first, t)
	b.WriteString("\t.abicalls\n\t.option\tpic0\n\t.text\n\t.align\t2\n")
	b.WriteString("\t.set\tpush\n\t.set\tnoreorder\n\t.set\tnoat\n\t.set\tnomacro\n")
	open := ""
	begin := func(f Symbol) {
		if open != "" {
			fmt.Fprintf(&b, "\t.end\t%s\n\t.size\t%s, .-%s\n", open, open, open)
		}
		bind := ".globl"
		if f.Local {
			bind = ".local"
		}
		fmt.Fprintf(&b, "\t%s\t%s\n\t.type\t%s, @function\n\t.ent\t%s\n%s:\n", bind, f.Name, f.Name, f.Name, f.Name)
		open = f.Name
	}
	for _, f := range funcs {
		if f.entryLabel < 0 {
			begin(f)
		}
	}
	for i, in := range a.Insts {
		if in.Op == LABEL {
			if f, ok := starts[in.Target]; ok {
				begin(f)
			}
			b.WriteString(label(in.Target) + ":\n")
			continue
		}
		// Re-encoding checks what GNU as would otherwise reject or, worse,
		// accept differently (virtual registers, ranges, revision).
		if _, err := Encode(in, t); err != nil {
			return fmt.Errorf("%s: instruction %d: %w", cmp.Or(open, first), i, err)
		}
		if in.Sym != "" {
			if err := checkSymbolName(in.Sym); err != nil {
				return fmt.Errorf("%s: instruction %d (%v): %w", cmp.Or(open, first), i, in, err)
			}
		}
		text := in.format(asmRegName, label)
		if op, args, ok := strings.Cut(text, " "); ok {
			text = op + "\t" + args
		}
		b.WriteString("\t" + text + "\n")
	}
	fmt.Fprintf(&b, "\t.end\t%s\n\t.size\t%s, .-%s\n\t.set\tpop\n", open, open, open)
	_, err := io.WriteString(w, b.String())
	return err
}

// checkSymbolName accepts names that GNU as and ELF take as plain symbols.
func checkSymbolName(name string) error {
	if name == "" {
		return fmt.Errorf("empty symbol name")
	}
	for i, c := range name {
		ok := c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("symbol name %q: use letters, digits, '_' and '.', not starting with a digit", name)
		}
	}
	return nil
}
