package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// The op reference is read from ir/op.go's source rather than from the ir
// package at run time, because the semantics of each op live only in the
// trailing comment of its constant. Everything else (name, operand and
// result types, aux kind, effects) comes from the opTable entry, and the
// section headings from the comment groups that open each run of constants.
// Anything this reader does not understand is an error naming the line, so
// a new kind of table entry cannot silently drop out of the docs; the test
// checks the result against the ir package's own table.

// opDoc is one op as op.go describes it.
type opDoc struct {
	Const     string // Go constant, e.g. OpAdd32
	Name      string // printed name, e.g. Add32
	Semantics string // the constant's trailing comment
	Args      []string
	Variadic  bool
	Result    string
	// ResultFromValue: the result type is the value's own Type.
	ResultFromValue bool
	Aux             string // AuxNone, AuxInt, AuxSym or AuxOffset
	ReadsMem        bool
	SideEffect      bool
	Commutative     bool
}

// opSection is a run of constants under one heading comment.
type opSection struct {
	Title string // the heading's first sentence, without its period
	Note  string // the rest of the heading, if any
	Ops   []*opDoc
}

// readOps parses op.go (and types.go beside it, for the printed type
// names) and returns the ops in declaration order, grouped by heading.
func readOps(opPath, typesPath string) ([]*opSection, error) {
	typeNames, err := readTypeNames(typesPath)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, opPath, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	r := &opReader{fset: fset, typeNames: typeNames, typeLists: map[string][]string{}}
	var sections []*opSection
	var table *ast.CompositeLit
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		switch gd.Tok {
		case token.CONST:
			if s, ok, err := r.readOpConsts(gd); err != nil {
				return nil, err
			} else if ok {
				sections = s
			}
		case token.VAR:
			t, err := r.readVars(gd)
			if err != nil {
				return nil, err
			}
			if t != nil {
				table = t
			}
		}
	}
	if sections == nil {
		return nil, fmt.Errorf("%s: no const block starting with OpInvalid", opPath)
	}
	if table == nil {
		return nil, fmt.Errorf("%s: no opTable", opPath)
	}
	entries, err := r.readTable(table)
	if err != nil {
		return nil, err
	}
	for _, s := range sections {
		for _, o := range s.Ops {
			e, ok := entries[o.Const]
			if !ok {
				return nil, fmt.Errorf("%s: %s has no opTable entry", opPath, o.Const)
			}
			e.Const, e.Semantics = o.Const, o.Semantics
			*o = *e
			delete(entries, o.Const)
		}
	}
	for c := range entries {
		if c != "OpInvalid" {
			return nil, fmt.Errorf("%s: opTable has an entry for %s, which is not an op constant", opPath, c)
		}
	}
	return sections, nil
}

type opReader struct {
	fset      *token.FileSet
	typeNames map[string]string   // Go identifier → printed name (I32 → i32)
	typeLists map[string][]string // package-level []Type variables (i32x2 → [i32 i32])
}

func (r *opReader) errorf(n ast.Node, format string, args ...any) error {
	return fmt.Errorf("%s: %s", r.fset.Position(n.Pos()), fmt.Sprintf(format, args...))
}

// readOpConsts reads the Op constants, if gd is their block.
func (r *opReader) readOpConsts(gd *ast.GenDecl) ([]*opSection, bool, error) {
	if len(gd.Specs) == 0 || gd.Specs[0].(*ast.ValueSpec).Names[0].Name != "OpInvalid" {
		return nil, false, nil
	}
	var sections []*opSection
	for _, s := range gd.Specs[1:] {
		vs := s.(*ast.ValueSpec)
		name := vs.Names[0].Name
		if name == "opCount" {
			break
		}
		if len(vs.Names) != 1 || len(vs.Values) != 0 {
			return nil, false, r.errorf(vs, "expected one op constant per line, found %s", name)
		}
		if vs.Doc != nil || sections == nil {
			if vs.Doc == nil {
				return nil, false, r.errorf(vs, "%s: the first op after OpInvalid needs a heading comment", name)
			}
			sections = append(sections, newSection(vs.Doc.Text()))
		}
		if vs.Comment == nil {
			return nil, false, r.errorf(vs, "%s has no trailing comment giving its arguments and semantics", name)
		}
		sem := strings.Join(strings.Fields(vs.Comment.Text()), " ")
		cur := sections[len(sections)-1]
		cur.Ops = append(cur.Ops, &opDoc{Const: name, Semantics: sem})
	}
	return sections, true, nil
}

func newSection(doc string) *opSection {
	text := strings.Join(strings.Fields(doc), " ")
	title, note, _ := strings.Cut(text, ". ")
	return &opSection{Title: strings.TrimSuffix(title, "."), Note: note}
}

// readVars records []Type variables and returns opTable's literal.
func (r *opReader) readVars(gd *ast.GenDecl) (*ast.CompositeLit, error) {
	var table *ast.CompositeLit
	for _, s := range gd.Specs {
		vs := s.(*ast.ValueSpec)
		for i, n := range vs.Names {
			if i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.CompositeLit)
			if !ok {
				continue
			}
			if n.Name == "opTable" {
				table = lit
				continue
			}
			if isTypeSlice(lit) {
				ts, err := r.typeList(lit)
				if err != nil {
					return nil, err
				}
				r.typeLists[n.Name] = ts
			}
		}
	}
	return table, nil
}

func isTypeSlice(lit *ast.CompositeLit) bool {
	at, ok := lit.Type.(*ast.ArrayType)
	if !ok || at.Len != nil {
		return false
	}
	id, ok := at.Elt.(*ast.Ident)
	return ok && id.Name == "Type"
}

func (r *opReader) typeList(lit *ast.CompositeLit) ([]string, error) {
	var ts []string
	for _, e := range lit.Elts {
		t, err := r.typeName(e)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func (r *opReader) typeName(e ast.Expr) (string, error) {
	id, ok := e.(*ast.Ident)
	if !ok {
		return "", r.errorf(e, "expected a type constant")
	}
	t, ok := r.typeNames[id.Name]
	if !ok {
		return "", r.errorf(e, "unknown type %s", id.Name)
	}
	return t, nil
}

// readTable reads every "OpX: {Field: value, ...}" entry of opTable.
func (r *opReader) readTable(table *ast.CompositeLit) (map[string]*opDoc, error) {
	entries := map[string]*opDoc{}
	for _, e := range table.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			return nil, r.errorf(e, "opTable entries must be keyed by op")
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok {
			return nil, r.errorf(kv.Key, "opTable key must be an op constant")
		}
		lit, ok := kv.Value.(*ast.CompositeLit)
		if !ok {
			return nil, r.errorf(kv.Value, "opTable entry of %s must be a literal", key.Name)
		}
		o := &opDoc{Aux: "AuxNone", Result: r.typeNames["TypeVoid"]}
		for _, fe := range lit.Elts {
			if err := r.readField(o, fe); err != nil {
				return nil, err
			}
		}
		if _, dup := entries[key.Name]; dup {
			return nil, r.errorf(kv, "second opTable entry for %s", key.Name)
		}
		entries[key.Name] = o
	}
	return entries, nil
}

func (r *opReader) readField(o *opDoc, e ast.Expr) error {
	kv, ok := e.(*ast.KeyValueExpr)
	if !ok {
		return r.errorf(e, "OpInfo fields must be named")
	}
	field := kv.Key.(*ast.Ident).Name
	ident := func() (string, error) {
		id, ok := kv.Value.(*ast.Ident)
		if !ok {
			return "", r.errorf(kv.Value, "%s: expected an identifier", field)
		}
		return id.Name, nil
	}
	flag := func(dst *bool) error {
		v, err := ident()
		if err != nil {
			return err
		}
		if v != "true" && v != "false" {
			return r.errorf(kv.Value, "%s: expected true or false", field)
		}
		*dst = v == "true"
		return nil
	}
	switch field {
	case "Name":
		lit, ok := kv.Value.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return r.errorf(kv.Value, "Name: expected a string literal")
		}
		o.Name, _ = strconv.Unquote(lit.Value)
	case "Args":
		switch v := kv.Value.(type) {
		case *ast.Ident:
			ts, ok := r.typeLists[v.Name]
			if !ok {
				return r.errorf(v, "Args: unknown type list %s", v.Name)
			}
			o.Args = ts
		case *ast.CompositeLit:
			ts, err := r.typeList(v)
			if err != nil {
				return err
			}
			o.Args = ts
		default:
			return r.errorf(kv.Value, "Args: expected a []Type literal or variable")
		}
	case "Result":
		t, err := r.typeName(kv.Value)
		if err != nil {
			return err
		}
		o.Result = t
	case "Aux":
		v, err := ident()
		if err != nil {
			return err
		}
		o.Aux = v
	case "Variadic":
		return flag(&o.Variadic)
	case "ResultFromValue":
		return flag(&o.ResultFromValue)
	case "ReadsMem":
		return flag(&o.ReadsMem)
	case "SideEffect":
		return flag(&o.SideEffect)
	case "Commutative":
		return flag(&o.Commutative)
	default:
		return r.errorf(kv, "OpInfo field %s is new to gendoc: teach opsource.go and opdoc.go to show it", field)
	}
	return nil
}

// readTypeNames reads types.go's typeNames table: TypeVoid → "void", ...
func readTypeNames(path string) (map[string]string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "typeNames" || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return false
		}
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			id, ok1 := kv.Key.(*ast.Ident)
			s, ok2 := kv.Value.(*ast.BasicLit)
			if ok1 && ok2 && s.Kind == token.STRING {
				names[id.Name], _ = strconv.Unquote(s.Value)
			}
		}
		return false
	})
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no typeNames table", path)
	}
	return names, nil
}
