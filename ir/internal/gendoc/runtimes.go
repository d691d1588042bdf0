package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	"github.com/bpfopt/bpfopt/ir"
)

// The runtime functions are registered in ir/runtime.go by name, either as
// a RuntimeFunc literal's Name or as the name argument of a registering
// helper (div("__udivdi3", ...)). ir offers no way to list them, so the
// generator takes the string literals in those two places, in source
// order, keeps the ones that name a registered function, and asks the ir
// package for their signatures: names from the source, types from the
// table the compiler uses.

func readRuntimeNames(path string) ([]string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	add := func(e ast.Expr) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil || seen[s] {
			return
		}
		if _, ok := ir.LookupRuntime(s); ok {
			seen[s] = true
			names = append(names, s)
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			for _, a := range n.Args {
				add(a)
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Name" {
				add(n.Value)
			}
		}
		return true
	})
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no registered runtime function found", path)
	}
	return names, nil
}

func renderRuntime(names []string) string {
	var sb strings.Builder
	sb.WriteString("Read from `ir/runtime.go` (names) and `ir.LookupRuntime` (signatures).\n\n")
	sb.WriteString("| Function | C parameters → result | Arguments after legalize64 |\n")
	sb.WriteString("|---|---|---|\n")
	for _, n := range names {
		rf, _ := ir.LookupRuntime(n)
		var whole, split []string
		for _, p := range rf.Params {
			whole = append(whole, p.String())
			if p == ir.I64 {
				split = append(split, "i32 lo", "i32 hi")
			} else {
				split = append(split, p.String())
			}
		}
		res := rf.Result.String()
		splitRes := res
		if rf.Result == ir.I64 {
			splitRes = "pair"
		}
		fmt.Fprintf(&sb, "| `%s` | %s → %s | %s → %s |\n", n,
			strings.Join(whole, ", "), res, strings.Join(split, ", "), splitRes)
	}
	return sb.String()
}
