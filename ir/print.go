package ir

import (
	"fmt"
	"strings"
)

// The text form, read back by Parse:
//
//	func NAME [locals=N] {
//	b0:
//	    v1:i32 = Arg [0]
//	    v2:i64 = ZeroExt32to64 v1
//	    v3 = Store32 [-8] v4, v1 align=4     ; void values print no type
//	    v5:i64 = Call {h} v6, v7 reads=r2 writes=none ; memory effect (effect.go)
//	    If v7 -> b1, b2
//	b1: <- b0, b3                            ; predecessors, in phi-argument order
//	    v8:i64 = Phi v2, v9
//	    Ret v8
//	}
//
// Anything after ';' on a line is a comment.

// String prints the whole function.
func (f *Func) String() string {
	var sb strings.Builder
	f.Fprint(&sb)
	return sb.String()
}

// Fprint writes the function's text form.
func (f *Func) Fprint(sb *strings.Builder) {
	sb.WriteString("func ")
	sb.WriteString(f.Name)
	if f.NumLocals > 0 {
		fmt.Fprintf(sb, " locals=%d", f.NumLocals)
	}
	sb.WriteString(" {\n")
	for _, b := range f.Blocks {
		fmt.Fprintf(sb, "b%d:", b.ID)
		if len(b.Preds) > 0 {
			sb.WriteString(" <-")
			for i, p := range b.Preds {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(sb, " b%d", p.ID)
			}
		}
		sb.WriteByte('\n')
		for _, v := range b.Values {
			sb.WriteString("    ")
			sb.WriteString(formatValue(v))
			sb.WriteByte('\n')
		}
		sb.WriteString("    ")
		sb.WriteString(formatTerminator(b))
		sb.WriteByte('\n')
	}
	sb.WriteString("}\n")
}

// takesAlign reports whether op carries an Align: a memory op (the
// alignment proven for address+offset) or Arg (the alignment the caller
// guarantees for the argument's value, e.g. the entry's ctx).
func takesAlign(op Op) bool {
	return op.Info().Aux == AuxOffset || op == OpArg
}

func formatValue(v *Value) string {
	var sb strings.Builder
	if v.Type == TypeVoid {
		fmt.Fprintf(&sb, "v%d = %s", v.ID, v.Op)
	} else {
		fmt.Fprintf(&sb, "v%d:%s = %s", v.ID, v.Type, v.Op)
	}
	info := v.Op.Info()
	switch info.Aux {
	case AuxInt, AuxOffset:
		aux := v.AuxInt
		if v.Op == OpConst32 {
			aux = int64(int32(aux))
		}
		fmt.Fprintf(&sb, " [%d]", aux)
	case AuxSym:
		fmt.Fprintf(&sb, " {%s}", v.Sym)
	}
	for i, a := range v.Args {
		if i == 0 {
			sb.WriteByte(' ')
		} else {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "v%d", a.ID)
	}
	if takesAlign(v.Op) && v.Align > 1 {
		fmt.Fprintf(&sb, " align=%d", v.Align)
	}
	if e := v.CallEffect(); e.Known() {
		sb.WriteByte(' ')
		sb.WriteString(e.String())
	}
	if v.Comment != "" {
		sb.WriteString("  ; ")
		sb.WriteString(v.Comment)
	}
	return sb.String()
}

func formatTerminator(b *Block) string {
	var sb strings.Builder
	sb.WriteString(b.Kind.String())
	for i, c := range b.Controls {
		if i == 0 {
			sb.WriteByte(' ')
		} else {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "v%d", c.ID)
	}
	if len(b.Succs) > 0 {
		if len(b.Controls) > 0 {
			sb.WriteString(" ->")
		}
		for i, s := range b.Succs {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, " b%d", s.ID)
		}
	}
	if b.Likely >= 0 && len(b.Succs) > 1 {
		fmt.Fprintf(&sb, " likely=%d", b.Likely)
	}
	return sb.String()
}
