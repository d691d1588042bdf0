package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// The split form of a 64-bit op is not described by hand: the generator
// builds a small function around the op, runs the real legalize64 pass on
// it (with the verifier before and after, NoI64 after), and prints both.
// When legalize64 changes, the docs change with it.

// splitForm is one op before and after legalize64, as printed IR.
type splitForm struct {
	Note          string // what the input function is, when not the generic shape
	Before, After string
}

// splitForms runs legalize64 on a function for every op that touches i64.
func splitForms(sections []*opSection) (map[string]*splitForm, error) {
	forms := map[string]*splitForm{}
	for _, s := range sections {
		for _, o := range s.Ops {
			if !touchesI64(o) {
				continue
			}
			sp, err := splitOne(o)
			if err != nil {
				return nil, fmt.Errorf("split form of %s: %w", o.Name, err)
			}
			forms[o.Name] = sp
		}
	}
	return forms, nil
}

func splitOne(o *opDoc) (*splitForm, error) {
	src, note, err := splitInput(o)
	if err != nil {
		return nil, err
	}
	f, err := ir.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("input does not parse: %w\n%s", err, src)
	}
	before := withoutArgs(f)
	if err := runLegalize64(f); err != nil {
		return nil, err
	}
	return &splitForm{Note: note, Before: before, After: withoutArgs(f)}, nil
}

// runLegalize64 runs the pass alone, verifying its input and its output.
func runLegalize64(f *ir.Func) error {
	_, err := passes.Run(f, 0, &passes.Config{Passes: []string{"legalize64"}, VerifyEach: true})
	return err
}

// withoutArgs prints f without its Arg lines, which are only scaffolding.
func withoutArgs(f *ir.Func) string {
	hide := map[string]bool{}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			if v.Op == ir.OpArg {
				hide[v.LongString()] = true
			}
		}
	}
	var sb strings.Builder
	for _, line := range strings.SplitAfter(f.String(), "\n") {
		if !hide[strings.TrimSpace(line)] {
			sb.WriteString(line)
		}
	}
	return sb.String()
}

// Inputs for the ops whose operands or result type the table leaves open.
var splitTemplates = map[string]struct{ note, src string }{
	"Copy": {"", `func Copy {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i64 = Int64Make v1, v0
    v3:i64 = Copy v2
    Ret v3
}`},
	"Phi": {"An `i64` phi joining two 64-bit values (the condition is `Arg [4]`).", `func Phi {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Arg [2]
    v3:i32 = Arg [3]
    v4:i32 = Arg [4]
    v5:i64 = Int64Make v1, v0
    v6:i64 = Int64Make v3, v2
    If v4 -> b1, b2
b1: <- b0
    Jump b3
b2: <- b0
    Jump b3
b3: <- b1, b2
    v7:i64 = Phi v5, v6
    Ret v7
}`},
	"Call": {"A BPF-convention call with two 64-bit arguments, as the lifter emits for `call 1` with r1, r2.", `func Call {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Arg [2]
    v3:i32 = Arg [3]
    v4:i64 = Int64Make v1, v0
    v5:i64 = Int64Make v3, v2
    v6:i64 = Call {bpf_helper_1} v4, v5
    Ret v6
}`},
	"CallRuntime": {"A runtime call in whole form (`i64` arguments and result); legalize64's own runtime calls are born split.", `func CallRuntime {
b0:
    v0:i32 = Arg [0]
    v1:i32 = Arg [1]
    v2:i32 = Arg [2]
    v3:i32 = Arg [3]
    v4:i64 = Int64Make v1, v0
    v5:i64 = Int64Make v3, v2
    v6:i64 = CallRuntime {__udivdi3} v4, v5
    Ret v6
}`},
}

// splitInput is the text of a function exercising o. Fixed-signature ops
// get the generic shape: Args, Int64Make for each i64 operand, the op, and
// a Ret of its result.
func splitInput(o *opDoc) (src, note string, err error) {
	if t, ok := splitTemplates[o.Name]; ok {
		return t.src, t.note, nil
	}
	if o.Variadic || o.ResultFromValue {
		return "", "", fmt.Errorf("no input for a variadic op or one that takes its type from the value: add one to splitTemplates")
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "func %s {\nb0:\n", o.Name)
	next := 0
	newID := func() int { next++; return next - 1 }
	// Arg words first, then the 64-bit operands made from them.
	words := make([][]int, len(o.Args))
	for i, t := range o.Args {
		n := 1
		if t == "i64" {
			n = 2
		}
		for range n {
			id := newID()
			words[i] = append(words[i], id)
			fmt.Fprintf(&sb, "    v%d:i32 = Arg [%d]\n", id, id)
		}
	}
	var operands []string
	for i, t := range o.Args {
		switch t {
		case "i32":
			operands = append(operands, "v"+strconv.Itoa(words[i][0]))
		case "i64":
			id := newID()
			fmt.Fprintf(&sb, "    v%d:i64 = Int64Make v%d, v%d\n", id, words[i][1], words[i][0])
			operands = append(operands, "v"+strconv.Itoa(id))
		default:
			return "", "", fmt.Errorf("no input for an operand of type %s", t)
		}
	}
	aux, suffix := "", ""
	switch o.Aux {
	case "AuxInt":
		aux = " [0x100000002]" // hi 1, lo 2
	case "AuxOffset":
		aux, suffix = " [8]", " align=8"
	case "AuxNone":
	default:
		return "", "", fmt.Errorf("no input for aux kind %s", o.Aux)
	}
	args := ""
	if len(operands) > 0 {
		args = " " + strings.Join(operands, ", ")
	}
	res := newID()
	switch o.Result {
	case "i64":
		fmt.Fprintf(&sb, "    v%d:i64 = %s%s%s%s\n    Ret v%d\n", res, o.Name, aux, args, suffix, res)
	case "i32":
		zero := newID()
		fmt.Fprintf(&sb, "    v%d:i32 = %s%s%s%s\n    v%d:i32 = Const32 [0]\n    Ret v%d, v%d\n",
			res, o.Name, aux, args, suffix, zero, res, zero)
	case "void":
		zero := newID()
		fmt.Fprintf(&sb, "    v%d = %s%s%s%s\n    v%d:i32 = Const32 [0]\n    Ret v%d, v%d\n",
			res, o.Name, aux, args, suffix, zero, zero, zero)
	default:
		return "", "", fmt.Errorf("no input for a result of type %s", o.Result)
	}
	sb.WriteString("}\n")
	return sb.String(), "", nil
}
