package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/ir"
)

const (
	irDir   = "../.."
	docPath = "../../../docs/ir.md"
)

// TestDocIsFresh fails when docs/ir.md differs from what go generate writes.
func TestDocIsFresh(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			t.Skip("go not on PATH (BPFOPT_SKIP_EXTERNAL=1): the worked examples need it")
		}
		t.Fatal("go not on PATH: install golang-go (or set BPFOPT_SKIP_EXTERNAL=1); the worked examples build cmd/bpfopt")
	}
	old, err := os.ReadFile(docPath)
	require.NoError(t, err)
	doc, err := generate(irDir, old)
	require.NoError(t, err)
	if string(doc) == string(old) {
		return
	}
	oldLines, newLines := strings.Split(string(old), "\n"), strings.Split(string(doc), "\n")
	i := 0
	for i < len(oldLines) && i < len(newLines) && oldLines[i] == newLines[i] {
		i++
	}
	at := func(ls []string) string {
		if i < len(ls) {
			return ls[i]
		}
		return "(end of file)"
	}
	t.Fatalf("docs/ir.md is stale: run go generate ./ir\nfirst difference at line %d:\n  file:      %s\n  generated: %s",
		i+1, at(oldLines), at(newLines))
}

// TestOpsMatchIRTable checks the source reader against the op table the
// compiler uses: same ops, same order, same fields.
func TestOpsMatchIRTable(t *testing.T) {
	sections, err := readOps(filepath.Join(irDir, "op.go"), filepath.Join(irDir, "types.go"))
	require.NoError(t, err)
	typeName := func(ty ir.Type) string { return ty.String() }
	auxName := map[ir.AuxKind]string{ir.AuxNone: "AuxNone", ir.AuxInt: "AuxInt", ir.AuxSym: "AuxSym", ir.AuxOffset: "AuxOffset"}
	n := 0
	for _, s := range sections {
		assert.NotEmpty(t, s.Title)
		for _, o := range s.Ops {
			n++
			op := ir.Op(n)
			info := op.Info()
			require.Equal(t, info.Name, o.Name, "op %d (%s)", n, o.Const)
			assert.Equal(t, "Op"+o.Name, o.Const)
			var args []string
			for _, a := range info.Args {
				args = append(args, typeName(a))
			}
			assert.Equal(t, args, o.Args, o.Name)
			assert.Equal(t, info.Variadic, o.Variadic, o.Name)
			assert.Equal(t, typeName(info.Result), o.Result, o.Name)
			assert.Equal(t, info.ResultFromValue, o.ResultFromValue, o.Name)
			assert.Equal(t, auxName[info.Aux], o.Aux, o.Name)
			assert.Equal(t, info.ReadsMem, o.ReadsMem, o.Name)
			assert.Equal(t, info.SideEffect, o.SideEffect, o.Name)
			assert.Equal(t, info.Commutative, o.Commutative, o.Name)
			assert.NotEmpty(t, o.Semantics, o.Name)
		}
	}
	assert.Equal(t, ir.NumOps-1, n, "every op but Invalid is documented")
}

// TestEveryOpInDoc checks the committed document op by op: a table row for
// every op, and a split form for every op that touches i64.
func TestEveryOpInDoc(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	require.NoError(t, err)
	text := string(doc)
	for i := 1; i < ir.NumOps; i++ {
		op := ir.Op(i)
		assert.Contains(t, text, "\n| `"+op.String()+"` |", "no table row for %s", op)
		info := op.Info()
		if info.Result == ir.I64 || info.ResultFromValue || slices.Contains(info.Args, ir.I64) {
			assert.Contains(t, text, "\n#### Split "+op.String()+"\n", "no split form for %s", op)
		}
	}
}

// TestSemanticsComeFromSource edits a copy of op.go and sees the change in
// the rendered table, so the table really is derived from the comments.
func TestSemanticsComeFromSource(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(irDir, "op.go"))
	require.NoError(t, err)
	dir := t.TempDir()
	edited := regexp.MustCompile(`(?m)^(\s*OpAdd32\s*)//.*$`).ReplaceAllString(string(src), "$1// a, b → the sum | wrapped")
	require.NotEqual(t, string(src), edited, "OpAdd32's comment not found")
	opPath := filepath.Join(dir, "op.go")
	require.NoError(t, os.WriteFile(opPath, []byte(edited), 0o644))
	sections, err := readOps(opPath, filepath.Join(irDir, "types.go"))
	require.NoError(t, err)
	out := renderOps(sections, map[string]*splitForm{})
	assert.Contains(t, out, "| `Add32` | i32, i32 → i32 |  | commutative | a, b → the sum \\| wrapped | kept |")

	// An op without a comment is refused, naming the line.
	bare := regexp.MustCompile(`(?m)^(\s*OpSub32)\s*//.*$`).ReplaceAllString(string(src), "$1")
	require.NoError(t, os.WriteFile(opPath, []byte(bare), 0o644))
	_, err = readOps(opPath, filepath.Join(irDir, "types.go"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OpSub32 has no trailing comment")
	assert.Regexp(t, `op\.go:\d+`, err.Error())
}

func TestSplice(t *testing.T) {
	doc := "intro\n<!-- BEGIN GENERATED X -->\nold\nlines\n<!-- END GENERATED X -->\noutro\n"
	got, err := splice(doc, "X", "new\n")
	require.NoError(t, err)
	assert.Equal(t, "intro\n<!-- BEGIN GENERATED X -->\n"+generatedNote+"\n\nnew\n\n<!-- END GENERATED X -->\noutro\n", got)
	again, err := splice(got, "X", "new\n")
	require.NoError(t, err)
	assert.Equal(t, got, again, "splicing is idempotent")

	for _, tc := range []struct{ name, doc, want string }{
		{"no begin", "a\n<!-- END GENERATED X -->\n", `"<!-- BEGIN GENERATED X -->" is missing`},
		{"no end", "<!-- BEGIN GENERATED X -->\n", `"<!-- END GENERATED X -->" is missing`},
		{"reversed", "<!-- END GENERATED X -->\n<!-- BEGIN GENERATED X -->\n", "comes before"},
		{"twice", "<!-- BEGIN GENERATED X -->\n<!-- BEGIN GENERATED X -->\n<!-- END GENERATED X -->\n", "appears twice (lines 1 and 2)"},
	} {
		_, err := splice(tc.doc, "X", "new")
		if assert.Error(t, err, tc.name) {
			assert.Contains(t, err.Error(), tc.want, tc.name)
		}
	}
}

// TestSplitFormsAgreeWithInterpreter runs each split form's input in the
// IR interpreter before and after legalize64, on the same arguments and
// memory: what the document shows computes what the op computes.
func TestSplitFormsAgreeWithInterpreter(t *testing.T) {
	sections, err := readOps(filepath.Join(irDir, "op.go"), filepath.Join(irDir, "types.go"))
	require.NoError(t, err)
	// Arg [0] is the address operand of the memory ops; the others are
	// values with distinct, non-zero halves.
	const memBase, localBase = 0x10000, 0x20000
	args := []uint32{memBase + 16, 0x01234567, 0xfedcba98, 0x76543210, 0x89abcdef, 0x40}
	run := func(f *ir.Func) (uint64, []byte, error) {
		data := make([]byte, 64)
		for i := range data {
			data[i] = byte(0x11 * i)
		}
		mem := &ir.RegionMemory{Regions: []*ir.Region{
			{Base: memBase, Data: data, Name: "mem"},
			{Base: localBase, Data: make([]byte, 8*f.NumLocals), Name: "locals"},
		}}
		res, err := ir.Interpret(f, ir.InterpConfig{Args: args, Mem: mem, LocalBase: localBase,
			Call: func(_ string, a []uint64) (uint64, error) { return a[0] + 3*a[1], nil }})
		return res, data, err
	}
	n := 0
	for _, s := range sections {
		for _, o := range s.Ops {
			if !touchesI64(o) {
				continue
			}
			n++
			src, _, err := splitInput(o)
			require.NoError(t, err, o.Name)
			f, err := ir.Parse(src)
			require.NoError(t, err, o.Name)
			want, wantMem, err := run(f)
			require.NoError(t, err, o.Name)
			require.NoError(t, runLegalize64(f), o.Name)
			assert.NotContains(t, f.String(), ":i64", o.Name)
			got, gotMem, err := run(f)
			require.NoError(t, err, o.Name)
			assert.Equal(t, want, got, "%s: result before %#x, after legalize64 %#x", o.Name, want, got)
			assert.Equal(t, wantMem, gotMem, "%s: memory", o.Name)
		}
	}
	want := 0
	for i := 1; i < ir.NumOps; i++ {
		info := ir.Op(i).Info()
		if info.Result == ir.I64 || info.ResultFromValue || slices.Contains(info.Args, ir.I64) {
			want++
		}
	}
	assert.Equal(t, want, n, "split forms checked")
}

func TestRuntimeNames(t *testing.T) {
	names, err := readRuntimeNames(filepath.Join(irDir, "runtime.go"))
	require.NoError(t, err)
	for _, n := range []string{"__udivdi3", "__umoddi3", "__divdi3", "__moddi3",
		"__atomic_fetch_add_8", "__atomic_exchange_8", "__atomic_compare_exchange_8"} {
		assert.Contains(t, names, n)
	}
	out := renderRuntime(names)
	assert.Contains(t, out, "| `__udivdi3` | i64, i64 → i64 | i32 lo, i32 hi, i32 lo, i32 hi → pair |")
	assert.Contains(t, out, "| `__atomic_compare_exchange_8` | i32, i32, i64, i32, i32 → i32 | i32, i32, i32 lo, i32 hi, i32, i32 → i32 |")
}

// TestHandWrittenIRIsValid parses and verifies every IR function in the
// hand-written parts of docs/ir.md, so the prose examples stay valid too.
func TestHandWrittenIRIsValid(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	require.NoError(t, err)
	text := regexp.MustCompile(`(?s)<!-- BEGIN GENERATED (\w+) -->.*?<!-- END GENERATED (\w+) -->`).ReplaceAllString(string(doc), "")
	blocks := regexp.MustCompile("(?s)```\n(func .*?)```").FindAllStringSubmatch(text, -1)
	require.NotEmpty(t, blocks, "no IR example in the hand-written text")
	for _, b := range blocks {
		f, err := ir.Parse(b[1])
		if assert.NoError(t, err, b[1]) {
			assert.NoError(t, ir.Verify(f, ir.VerifyOptions{}), b[1])
		}
	}
}
