package main

import (
	"fmt"
	"slices"
	"strings"
)

// renderOps writes the op reference: one table per heading of op.go, then
// the split form of every op that legalize64 removes, produced by running
// the pass (see split.go).
func renderOps(sections []*opSection, splits map[string]*splitForm) string {
	var sb strings.Builder
	sb.WriteString("Read from `ir/op.go`: the name, operands, result, aux field and effects\n" +
		"come from `opTable`, the semantics from the comment after each `Op` constant.\n" +
		"In the signatures `any` is any non-void type and `own type` means the result\n" +
		"type is the value's own `Type`, which the verifier checks op by op.\n" +
		"The last column says what legalize64 does with the op: `kept` ops are legal\n" +
		"at both stages; the others are replaced by 32-bit code shown under\n" +
		"[Split forms](#split-forms).\n")
	for _, s := range sections {
		fmt.Fprintf(&sb, "\n### %s\n\n", s.Title)
		if s.Note != "" {
			sb.WriteString(s.Note + "\n\n")
		}
		sb.WriteString("| Op | Operands → result | Aux | Effects | Semantics | After legalize64 |\n")
		sb.WriteString("|---|---|---|---|---|---|\n")
		for _, o := range s.Ops {
			fmt.Fprintf(&sb, "| `%s` | %s | %s | %s | %s | %s |\n",
				o.Name, cell(signature(o)), auxCell(o.Aux), effects(o), cell(o.Semantics), widthCell(o, splits))
		}
	}
	sb.WriteString("\n### Split forms\n\n" + splitIntro)
	for _, s := range sections {
		for _, o := range s.Ops {
			sp, ok := splits[o.Name]
			if !ok {
				continue
			}
			fmt.Fprintf(&sb, "\n#### Split %s\n\n", o.Name)
			if sp.Note != "" {
				sb.WriteString(sp.Note + "\n\n")
			}
			fmt.Fprintf(&sb, "```\n%s; after legalize64\n%s```\n", sp.Before, sp.After)
		}
	}
	return sb.String()
}

const splitIntro = "Each block below is a function made for one op, before and after the\n" +
	"`legalize64` pass alone (little-endian target), printed by the IR printer. The\n" +
	"`i32` operands are `Arg` values whose lines are left out; a 64-bit operand\n" +
	"is `Int64Make hi, lo` of two of them, so after the pass the halves are the\n" +
	"`Arg` values themselves. An `i32` result is returned as `Ret result, zero`.\n" +
	"Comments such as `lo of v6` are the pass's own annotations.\n"

// signature is "i64, i32 → i64": operand and result types from the table.
func signature(o *opDoc) string {
	var args []string
	for _, a := range o.Args {
		if a == "void" { // TypeVoid in Args: any operand type
			a = "any"
		}
		args = append(args, a)
	}
	in := strings.Join(args, ", ")
	switch {
	case o.Variadic && in == "":
		in = "any…"
	case o.Variadic:
		in += "…"
	case in == "":
		in = "—"
	}
	out := o.Result
	if o.ResultFromValue {
		out = "own type"
	}
	return in + " → " + out
}

func auxCell(aux string) string {
	switch aux {
	case "AuxInt":
		return "`[n]`"
	case "AuxSym":
		return "`{sym}`"
	case "AuxOffset":
		return "`[off]` `align=`"
	case "AuxNone":
		return ""
	}
	return aux
}

func effects(o *opDoc) string {
	var e []string
	if o.ReadsMem {
		e = append(e, "reads memory")
	}
	if o.SideEffect {
		e = append(e, "side effect")
	}
	if o.Commutative {
		e = append(e, "commutative")
	}
	return strings.Join(e, ", ")
}

// widthCell links an op to its split form, or says it is kept.
func widthCell(o *opDoc, splits map[string]*splitForm) string {
	if _, ok := splits[o.Name]; !ok {
		return "kept"
	}
	link := fmt.Sprintf("[split](#split-%s)", strings.ToLower(o.Name))
	if o.ResultFromValue {
		return link + " if an operand or the result is i64, else kept"
	}
	return link
}

// touchesI64 reports whether legalize64 must remove the op: an i64 operand
// or result, or a result type of the value's choosing (which may be i64).
func touchesI64(o *opDoc) bool {
	return o.Result == "i64" || o.ResultFromValue || slices.Contains(o.Args, "i64")
}

// cell escapes text for a Markdown table cell. Only '|' needs it: the
// op comments use no other Markdown syntax, and the raw file stays readable.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
