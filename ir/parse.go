package ir

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The parser reads exactly the text form print.go writes (its grammar is at
// the top of that file), so that any dump can be fed back in and tests can
// start from text rather than from builder calls.
//
// Parsing is two-phase per function: the first phase reads every line into
// blocks and values, remembering argument, control, successor and
// predecessor IDs; the second resolves those IDs once all definitions are
// known, which is what lets a phi name a value defined further down. Value
// and block IDs are kept as written, so Parse(f.String()).String() ==
// f.String().
//
// The parser checks syntax and references (unknown ops, undefined or
// duplicate values and blocks, fixed-arity ops given the wrong number of
// arguments, predecessor lists that disagree with the terminators). Type
// rules and SSA dominance are the verifier's business, so tests can parse a
// malformed function on purpose and hand it to Verify.

// ParseError is a syntax or reference error in IR text.
type ParseError struct {
	Line int // 1-based
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads one function.
func Parse(src string) (*Func, error) {
	fs, err := ParseAll(src)
	if err != nil {
		return nil, err
	}
	if len(fs) != 1 {
		return nil, fmt.Errorf("expected one function, found %d", len(fs))
	}
	return fs[0], nil
}

// ParseAll reads every function in src, in order. Outside functions only
// blank lines and comments are allowed.
func ParseAll(src string) ([]*Func, error) {
	p := &parser{lines: strings.Split(src, "\n")}
	var fs []*Func
	for p.next() {
		if p.text == "" {
			continue
		}
		if !strings.HasPrefix(p.text, "func ") {
			return nil, p.errorf("expected \"func NAME {\", found %q", p.text)
		}
		f, err := p.parseFunc()
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

type parser struct {
	lines []string
	line  int    // 1-based number of the current line
	text  string // current line without comment, trimmed
}

// next advances to the following line, stripping its comment.
func (p *parser) next() bool {
	if p.line >= len(p.lines) {
		return false
	}
	s := p.lines[p.line]
	p.line++
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	p.text = strings.TrimSpace(s)
	return true
}

func (p *parser) errorf(format string, args ...any) error {
	return &ParseError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func errorAt(line int, format string, args ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Unresolved references, kept until the whole function has been read.
type pendingValue struct {
	v    *Value
	line int
	args []int
}

type pendingBlock struct {
	b          *Block
	line       int // header line
	termLine   int // 0 until the terminator is read
	preds      []int
	controls   []int
	succs      []int
	valueLines []int // line of each entry of b.Values
}

type funcParser struct {
	f         *Func
	blocks    []*pendingBlock
	values    []*pendingValue
	valueByID map[int]*pendingValue
	blockByID map[int]*pendingBlock
}

func (p *parser) parseFunc() (*Func, error) {
	f, err := p.parseFuncHeader()
	if err != nil {
		return nil, err
	}
	fp := &funcParser{f: f, valueByID: map[int]*pendingValue{}, blockByID: map[int]*pendingBlock{}}
	startLine := p.line
	var cur *pendingBlock
	for {
		if !p.next() {
			return nil, errorAt(startLine, "function %s has no closing \"}\"", f.Name)
		}
		switch {
		case p.text == "":
			continue
		case p.text == "}":
			if cur != nil && cur.termLine == 0 {
				return nil, p.errorf("block b%d has no terminator", cur.b.ID)
			}
			if err := fp.resolve(startLine); err != nil {
				return nil, err
			}
			return f, nil
		}
		toks, err := lexLine(p.text)
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		if id, ok := numbered(toks[0].text, 'b'); ok && toks[0].kind == tokWord && len(toks) > 1 && toks[1].is(":") {
			if cur != nil && cur.termLine == 0 {
				return nil, p.errorf("block b%d has no terminator", cur.b.ID)
			}
			if cur, err = fp.parseBlockHeader(p, id, toks[2:]); err != nil {
				return nil, err
			}
			continue
		}
		if cur == nil {
			return nil, p.errorf("expected a block label like \"b0:\", found %q", p.text)
		}
		if cur.termLine != 0 {
			return nil, p.errorf("block b%d continues after its terminator", cur.b.ID)
		}
		if _, ok := numbered(toks[0].text, 'v'); ok {
			err = fp.parseValue(p, cur, toks)
		} else {
			err = fp.parseTerminator(p, cur, toks)
		}
		if err != nil {
			return nil, err
		}
	}
}

// parseFuncHeader reads "func NAME [locals=N] {".
func (p *parser) parseFuncHeader() (*Func, error) {
	rest, ok := strings.CutSuffix(p.text, "{")
	if !ok {
		return nil, p.errorf("function header must end with \"{\"")
	}
	fields := strings.Fields(strings.TrimPrefix(rest, "func "))
	if len(fields) == 0 {
		return nil, p.errorf("function header has no name")
	}
	f := NewFunc(fields[0])
	for _, fl := range fields[1:] {
		val, ok := strings.CutPrefix(fl, "locals=")
		if !ok {
			return nil, p.errorf("unknown function attribute %q", fl)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return nil, p.errorf("bad locals count %q", val)
		}
		f.NumLocals = n
	}
	return f, nil
}

// parseBlockHeader reads the part of "bN: <- bA, bB" after the colon.
func (fp *funcParser) parseBlockHeader(p *parser, id int, toks []token) (*pendingBlock, error) {
	if prev, dup := fp.blockByID[id]; dup {
		return nil, p.errorf("block b%d is already defined at line %d", id, prev.line)
	}
	pb := &pendingBlock{b: &Block{ID: id, Func: fp.f, Likely: -1}, line: p.line}
	if len(toks) > 0 {
		if !toks[0].is("<-") {
			return nil, p.errorf("expected \"<-\" after the block label, found %q", toks[0].text)
		}
		ids, rest, err := idList(toks[1:], 'b')
		if err != nil {
			return nil, p.errorf("predecessor list: %v", err)
		}
		if len(ids) == 0 || len(rest) > 0 {
			return nil, p.errorf("malformed predecessor list")
		}
		pb.preds = ids
	}
	fp.blockByID[id] = pb
	fp.blocks = append(fp.blocks, pb)
	fp.f.Blocks = append(fp.f.Blocks, pb.b)
	return pb, nil
}

// parseValue reads "vN[:type] = Op [aux]|{sym} args... [attributes]".
func (fp *funcParser) parseValue(p *parser, pb *pendingBlock, toks []token) error {
	id, _ := numbered(toks[0].text, 'v')
	if prev, dup := fp.valueByID[id]; dup {
		return p.errorf("value v%d is already defined at line %d", id, prev.line)
	}
	v := &Value{ID: id, Block: pb.b}
	toks = toks[1:]
	if len(toks) >= 2 && toks[0].is(":") {
		t, ok := ParseType(toks[1].text)
		if !ok || toks[1].kind != tokWord {
			return p.errorf("unknown type %q", toks[1].text)
		}
		v.Type = t
		toks = toks[2:]
	}
	if len(toks) == 0 || !toks[0].is("=") {
		return p.errorf("expected \"=\" after v%d", id)
	}
	if len(toks) < 2 || toks[1].kind != tokWord {
		return p.errorf("missing op after \"=\"")
	}
	op, ok := OpByName(toks[1].text)
	if !ok {
		return p.errorf("unknown op %q", toks[1].text)
	}
	v.Op = op
	info := op.Info()
	toks = toks[2:]

	// Auxiliary field.
	switch {
	case len(toks) > 0 && toks[0].kind == tokAux:
		if info.Aux != AuxInt && info.Aux != AuxOffset {
			return p.errorf("%s takes no [aux]", op)
		}
		n, err := parseAuxInt(toks[0].text)
		if err != nil {
			return p.errorf("%s: %v", op, err)
		}
		if op == OpConst32 {
			if n < math.MinInt32 || n > math.MaxUint32 {
				return p.errorf("Const32 constant %s does not fit in 32 bits", toks[0].text)
			}
			n = int64(int32(n)) // the printer's canonical form
		}
		v.AuxInt = n
		toks = toks[1:]
	case len(toks) > 0 && toks[0].kind == tokSym:
		if info.Aux != AuxSym {
			return p.errorf("%s takes no {sym}", op)
		}
		if toks[0].text == "" {
			return p.errorf("empty {sym}")
		}
		v.Sym = toks[0].text
		toks = toks[1:]
	case info.Aux == AuxInt || info.Aux == AuxOffset:
		return p.errorf("%s needs an [aux] field", op)
	case info.Aux == AuxSym:
		return p.errorf("%s needs a {sym} field", op)
	}

	args, rest, err := idList(toks, 'v')
	if err != nil {
		return p.errorf("arguments of v%d: %v", id, err)
	}
	if err := parseAttributes(v, rest); err != nil {
		return p.errorf("%v", err)
	}
	if !info.Variadic && len(args) != len(info.Args) {
		return p.errorf("%s takes %d argument(s), v%d has %d", op, len(info.Args), id, len(args))
	}
	pv := &pendingValue{v: v, line: p.line, args: args}
	fp.valueByID[id] = pv
	fp.values = append(fp.values, pv)
	pb.b.Values = append(pb.b.Values, v)
	pb.valueLines = append(pb.valueLines, p.line)
	return nil
}

// parseAttributes reads what follows a value's arguments: "align=N" on
// ops that take an Align, "reads=LIST writes=LIST" (both or neither) on a
// Call, its memory effect.
func parseAttributes(v *Value, toks []token) error {
	var reads, writes uint8
	var sawReads, sawWrites bool
	for len(toks) > 0 {
		key := toks[0].text
		if toks[0].kind != tokWord || len(toks) < 3 || !toks[1].is("=") || toks[2].kind != tokWord {
			return fmt.Errorf("unexpected %q after the arguments of v%d", key, v.ID)
		}
		switch {
		case key == "align" && takesAlign(v.Op) && v.Align == 0:
			a, err := strconv.ParseUint(toks[2].text, 10, 8)
			if err != nil {
				return fmt.Errorf("bad alignment %q", toks[2].text)
			}
			v.Align = uint8(a)
			toks = toks[3:]
		case key == "reads" && v.Op == OpCall && !sawReads, key == "writes" && v.Op == OpCall && !sawWrites:
			mask, rest, err := paramMaskList(toks[2:])
			if err != nil {
				return fmt.Errorf("v%d: %s=: %v", v.ID, key, err)
			}
			if key == "reads" {
				reads, sawReads = mask, true
			} else {
				writes, sawWrites = mask, true
			}
			toks = rest
		default:
			return fmt.Errorf("unexpected %q after the arguments of v%d", key, v.ID)
		}
	}
	if sawReads != sawWrites {
		return fmt.Errorf("v%d: a call effect needs both reads= and writes=", v.ID)
	}
	if sawReads {
		v.SetCallEffect(KnownEffect(reads, writes))
	}
	return nil
}

// paramMaskList reads "none" or "r1,r3" and returns the parameter mask and
// the tokens after the list.
func paramMaskList(toks []token) (uint8, []token, error) {
	if toks[0].is("none") {
		return 0, toks[1:], nil
	}
	var mask uint8
	for {
		bit, err := parseParam(toks[0].text)
		if err == nil && toks[0].kind != tokWord {
			err = fmt.Errorf("%q is not a parameter register", toks[0].text)
		}
		if err != nil {
			return 0, nil, err
		}
		if mask&bit != 0 {
			return 0, nil, fmt.Errorf("%s listed twice", toks[0].text)
		}
		mask |= bit
		toks = toks[1:]
		if len(toks) < 2 || !toks[0].is(",") {
			return mask, toks, nil
		}
		toks = toks[1:]
	}
}

// parseTerminator reads "Kind [controls] [-> succs] [likely=N]"; without
// controls the successors follow the kind directly ("Jump b1").
func (fp *funcParser) parseTerminator(p *parser, pb *pendingBlock, toks []token) error {
	kind := BlockInvalid
	for k, name := range blockKindNames {
		if k != int(BlockInvalid) && toks[0].is(name) {
			kind = BlockKind(k)
		}
	}
	if kind == BlockInvalid || toks[0].kind != tokWord {
		return p.errorf("expected a value or a terminator (Jump, If, Ret), found %q", toks[0].text)
	}
	pb.b.Kind = kind
	pb.termLine = p.line
	controls, rest, err := idList(toks[1:], 'v')
	if err != nil {
		return p.errorf("controls: %v", err)
	}
	pb.controls = controls
	if len(controls) > 0 && len(rest) > 0 {
		if !rest[0].is("->") {
			return p.errorf("expected \"->\" before the successors, found %q", rest[0].text)
		}
		rest = rest[1:]
	}
	succs, rest, err := idList(rest, 'b')
	if err != nil {
		return p.errorf("successors: %v", err)
	}
	pb.succs = succs
	if len(rest) > 0 {
		if len(rest) != 3 || !rest[0].is("likely") || !rest[1].is("=") {
			return p.errorf("unexpected %q in terminator", rest[0].text)
		}
		n, err := strconv.Atoi(rest[2].text)
		if err != nil || n < 0 || n >= len(succs) {
			return p.errorf("likely=%s is not a successor index", rest[2].text)
		}
		pb.b.Likely = n
	}
	return nil
}

// resolve turns IDs into pointers and checks predecessor lists.
func (fp *funcParser) resolve(startLine int) error {
	f := fp.f
	if len(fp.blocks) == 0 {
		return errorAt(startLine, "function %s has no blocks", f.Name)
	}
	maxValue, maxBlock := -1, -1
	for _, pv := range fp.values {
		maxValue = max(maxValue, pv.v.ID)
		if len(pv.args) > 0 {
			pv.v.Args = make([]*Value, len(pv.args))
		}
		for i, id := range pv.args {
			a, ok := fp.valueByID[id]
			if !ok {
				return errorAt(pv.line, "undefined value v%d", id)
			}
			pv.v.Args[i] = a.v
		}
	}
	block := func(line, id int) (*Block, error) {
		pb, ok := fp.blockByID[id]
		if !ok {
			return nil, errorAt(line, "undefined block b%d", id)
		}
		return pb.b, nil
	}
	for _, pb := range fp.blocks {
		b := pb.b
		maxBlock = max(maxBlock, b.ID)
		for _, id := range pb.controls {
			c, ok := fp.valueByID[id]
			if !ok {
				return errorAt(pb.termLine, "undefined value v%d", id)
			}
			b.Controls = append(b.Controls, c.v)
		}
		for _, id := range pb.succs {
			s, err := block(pb.termLine, id)
			if err != nil {
				return err
			}
			b.Succs = append(b.Succs, s)
		}
		for _, id := range pb.preds {
			pr, err := block(pb.line, id)
			if err != nil {
				return err
			}
			b.Preds = append(b.Preds, pr)
		}
	}
	// The header's predecessor list must be a permutation of the edges the
	// terminators make (multiplicity included: "If v1 -> b2, b2" makes b2
	// list b1 twice).
	implied := map[*Block][]int{}
	for _, pb := range fp.blocks {
		for _, s := range pb.b.Succs {
			implied[s] = append(implied[s], pb.b.ID)
		}
	}
	for _, pb := range fp.blocks {
		want := implied[pb.b]
		got := slices.Clone(pb.preds)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return errorAt(pb.line, "b%d lists predecessors %s but the terminators jumping to it are in %s",
				pb.b.ID, blockList(pb.preds), blockList(want))
		}
	}
	f.nextValueID = maxValue + 1
	f.nextBlockID = maxBlock + 1
	f.ComputeUses()
	return nil
}

func blockList(ids []int) string {
	if len(ids) == 0 {
		return "(none)"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = "b" + strconv.Itoa(id)
	}
	return strings.Join(s, ", ")
}

func parseAuxInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return n, nil
	}
	// Hex constants with the top bit set, like [0xffffffffffffffff].
	if u, err := strconv.ParseUint(s, 0, 64); err == nil {
		return int64(u), nil
	}
	return 0, fmt.Errorf("bad constant [%s]", s)
}

// numbered parses "v12" or "b3" into 12 or 3.
func numbered(s string, prefix byte) (int, bool) {
	if len(s) < 2 || s[0] != prefix {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s[1:])
	return n, err == nil
}

// idList reads a possibly empty comma-separated list of prefixed IDs ("v1,
// v2" or "b1, b2") and returns the tokens after it.
func idList(toks []token, prefix byte) (ids []int, rest []token, err error) {
	for len(toks) > 0 {
		id, ok := numbered(toks[0].text, prefix)
		if !ok || toks[0].kind != tokWord {
			if len(ids) > 0 {
				return nil, nil, fmt.Errorf("expected %c<number> after \",\", found %q", prefix, toks[0].text)
			}
			return nil, toks, nil
		}
		ids = append(ids, id)
		toks = toks[1:]
		if len(toks) == 0 || !toks[0].is(",") {
			return ids, toks, nil
		}
		toks = toks[1:]
		if len(toks) == 0 {
			return nil, nil, fmt.Errorf("list ends with \",\"")
		}
	}
	return ids, toks, nil
}

type tokKind uint8

const (
	tokWord  tokKind = iota // names, numbers, v12, b3
	tokPunct                // : = , <- ->
	tokAux                  // [text]
	tokSym                  // {text}
)

type token struct {
	kind tokKind
	text string
}

func (t token) is(s string) bool { return t.text == s && t.kind != tokAux && t.kind != tokSym }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '$'
}

// lexLine splits a non-empty, comment-free line into tokens.
func lexLine(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == ':' || c == '=' || c == ',':
			toks = append(toks, token{tokPunct, s[i : i+1]})
			i++
		case strings.HasPrefix(s[i:], "<-") || strings.HasPrefix(s[i:], "->"):
			toks = append(toks, token{tokPunct, s[i : i+2]})
			i += 2
		case c == '[' || c == '{':
			kind, closer := tokAux, byte(']')
			if c == '{' {
				kind, closer = tokSym, '}'
			}
			j := strings.IndexByte(s[i:], closer)
			if j < 0 {
				return nil, fmt.Errorf("unclosed %q", c)
			}
			toks = append(toks, token{kind, s[i+1 : i+j]})
			i += j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}
