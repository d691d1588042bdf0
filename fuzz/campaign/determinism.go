package campaign

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/ir"
)

// compilation is everything one compilation shows: the IR after lift and
// after every pass, the machine code, its relocations and its assembly.
type compilation struct {
	dumps []dump // in pipeline order
	code  []byte
	asm   string
}

type dump struct{ name, text string }

// CheckDeterminism compiles p twice for every level and target of cfg
// the way the command-line tool does (Compile), and requires the
// IR after lift and after every pass, the machine code and the assembly
// to be identical; it also requires the backend to leave its input IR
// unchanged. It returns the first difference, or nil. Map iteration order
// and pointer-keyed sorting are what it catches.
func CheckDeterminism(p *bpf.Program, cfg *Config) *Finding {
	c := cfg.withDefaults()
	for _, level := range c.Levels {
		for _, t := range c.Targets {
			base := Finding{Stage: StageDeterminism, Program: p, Target: t, Level: level}
			a, f := compileForDeterminism(p, t, level, base)
			if f != nil {
				return f
			}
			b, f := compileForDeterminism(p, t, level, base)
			if f != nil {
				return f
			}
			if f := compareCompilations(a, b, base); f != nil {
				return f
			}
		}
	}
	return nil
}

func compileForDeterminism(p *bpf.Program, t mips32.Target, level int, base Finding) (*compilation, *Finding) {
	var out bytes.Buffer
	var mod *mips32.Module
	var funcs []*ir.Func
	err := guard(func() (err error) {
		mod, funcs, err = Compile(p, t, level, &out)
		return err
	})
	if err != nil {
		f := base
		f.Stage, f.Msg = StageBackend, "compilation failed: "+err.Error()
		return nil, &f
	}
	comp := &compilation{dumps: splitDumps(out.String()), code: mod.Code}
	if f := backendChangedIR(comp.dumps, funcs, base); f != nil {
		return nil, f
	}
	var asm bytes.Buffer
	if err := mips32.FormatModuleAsm(&asm, mod, t); err != nil {
		f := base
		f.Stage, f.Msg = StageBackend, "assembly listing failed: "+err.Error()
		return nil, &f
	}
	comp.asm = asm.String()
	relocs := fmt.Sprint(mod.Relocs)
	comp.asm += "; relocations " + relocs + "\n"
	return comp, nil
}

// backendChangedIR checks that the backend left the IR it compiled
// unchanged: each function's last dump (the pipeline dumps a function's
// IR after lift and after each pass, then the next function's) is its IR
// before the backend ran.
func backendChangedIR(dumps []dump, funcs []*ir.Func, base Finding) *Finding {
	var last []string // by function
	for _, d := range dumps {
		if d.name == "lift" {
			last = append(last, "")
		}
		if len(last) > 0 {
			last[len(last)-1] = d.text
		}
	}
	if len(last) != len(funcs) {
		f := base
		f.Pass, f.Msg = "the pipeline", fmt.Sprintf("%d functions compiled, %d dumped after lift", len(funcs), len(last))
		return &f
	}
	for i, fn := range funcs {
		if after := fn.String(); after != last[i] {
			f := base
			f.Pass, f.Msg = "backend input", "the backend changed the IR it compiled"+inFunc(fn)
			f.Detail = "; before the backend\n" + last[i] + "; after the backend\n" + after
			return &f
		}
	}
	return nil
}

// splitDumps cuts pipeline dump output at its "; after NAME" lines.
func splitDumps(s string) []dump {
	var out []dump
	const marker = "; after "
	for len(s) > 0 {
		// s starts at a marker line (or at text before the first one).
		nl := strings.IndexByte(s, '\n')
		if nl < 0 {
			nl = len(s) - 1
		}
		header, body := s[:nl+1], s[nl+1:]
		end := strings.Index(body, "\n"+marker)
		if end < 0 {
			end = len(body)
		} else {
			end++
		}
		if name, ok := strings.CutPrefix(header, marker); ok {
			out = append(out, dump{name: strings.TrimSpace(name), text: body[:end]})
		}
		s = body[end:]
	}
	return out
}

func compareCompilations(a, b *compilation, base Finding) *Finding {
	fail := func(what, x, y string) *Finding {
		f := base
		f.Pass = what
		f.Msg = "two compilations differ after " + what + ": " + firstDifference(x, y)
		f.Detail = "; first compilation\n" + x + "; second compilation\n" + y
		return &f
	}
	if len(a.dumps) != len(b.dumps) {
		return fail("the pipeline", fmt.Sprint(len(a.dumps), " dumps\n"), fmt.Sprint(len(b.dumps), " dumps\n"))
	}
	for i := range a.dumps {
		if a.dumps[i] != b.dumps[i] {
			return fail(a.dumps[i].name, a.dumps[i].text, b.dumps[i].text)
		}
	}
	if a.asm != b.asm {
		return fail("machine code", a.asm, b.asm)
	}
	if !bytes.Equal(a.code, b.code) {
		return fail("machine code", hexLines(a.code, ""), hexLines(b.code, ""))
	}
	return nil
}

// firstDifference quotes the first line where x and y differ.
func firstDifference(x, y string) string {
	xl, yl := strings.Split(x, "\n"), strings.Split(y, "\n")
	for i := range max(len(xl), len(yl)) {
		var l1, l2 string
		if i < len(xl) {
			l1 = xl[i]
		}
		if i < len(yl) {
			l2 = yl[i]
		}
		if l1 != l2 {
			return fmt.Sprintf("line %d: %q vs %q", i+1, l1, l2)
		}
	}
	return "no line differs"
}
