package sim

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32/internal/mipstest"
	"github.com/bpfopt/bpfopt/ir"
)

// Modules with data (RunModule), the runtime heap and the Env externs get.
// The module tests cross-check against the qemu engine's RunModule, which
// lays a module out the same way.

func TestRunModule(t *testing.T) {
	for _, target := range crossTargets {
		t.Run(target.String(), func(t *testing.T) {
			obj := assemble(t, target, mipstest.ModuleSource)
			mod := moduleOf(obj)
			e := requireQemu(t, target)
			m := newMachine(t, Options{Target: target})
			// The data word written by the first run is back to 40 in the
			// second: every run starts from the module as linked.
			for run := range 2 {
				got, err := m.RunModule(mod, mod.Symbols["f"], make([]byte, 16))
				require.NoError(t, err)
				requireReturned(t, got)
				assert.Equal(t, words(target, 40, 0x2222, 0x5555, 9), got.Mem, "run %d", run)
				assert.Equal(t, uint64(CodeBase+mod.Symbols["bytes"]), got.R0, "data symbols are at CodeBase + their image offset")
				want, err := e.RunModule(mod.Image, mod.Relocs, mod.Symbols, mod.Symbols["f"], make([]byte, 16))
				require.NoError(t, err)
				compareWithQemu(t, fmt.Sprintf("run %d", run), got, want)
			}
		})
	}
}

// TestModuleData: the data is writable, the code is not readable, and a
// fetch from the data faults (qemu would execute it; the simulator is
// stricter, as with the code).
func TestModuleData(t *testing.T) {
	obj := assemble(t, r2el, `
f:	lui $t0, %hi(word)
	lw $v0, %lo(word)($t0)
	lui $t1, %hi(f)
	jr $ra
	lw $v1, %lo(f)($t1)
g:	lui $t9, %hi(word)
	addiu $t9, $t9, %lo(word)
	jr $t9
	nop
	.data
	.word 0
word:	.word 0x12345678
`)
	mod := moduleOf(obj)
	m := newMachine(t, Options{Target: r2el})
	res, err := m.RunModule(mod, mod.Symbols["f"], nil)
	require.NoError(t, err)
	require.NotNil(t, res.Fault)
	assert.Equal(t, Unmapped, res.Fault.Kind, "the code is not data: %v", res.Fault)
	assert.Equal(t, CodeBase, res.Fault.Addr)

	res, err = m.RunModule(mod, mod.Symbols["g"], nil)
	require.NoError(t, err)
	require.NotNil(t, res.Fault)
	assert.Equal(t, Unmapped, res.Fault.Kind)
	assert.Equal(t, CodeBase+mod.Symbols["word"], res.Fault.Addr, "a fetch from the data: %v", res.Fault)
	assert.False(t, res.Fault.InCode)
}

func TestRunModuleErrors(t *testing.T) {
	mod := moduleOf(assemble(t, r2el, mipstest.ModuleSource))
	m := newMachine(t, Options{Target: r2el})
	for _, c := range []struct {
		name  string
		edit  func(*Module)
		entry uint32
		want  string
	}{
		{"symbol outside", func(m *Module) { m.Symbols = map[string]uint32{"far": uint32(len(m.Image)) + 1} }, 0, `module symbol "far" at offset`},
		{"code size", func(m *Module) { m.CodeSize = 6 }, 0, "code size 6 is not a positive multiple of 4 within the"},
		{"code beyond the image", func(m *Module) { m.CodeSize = uint32(len(m.Image)) + 4 }, 0, "code size"},
		{"entry in the data", func(*Module) {}, mod.CodeSize, "is not an instruction of the"},
		{"no module symbols", func(m *Module) { m.Symbols = nil }, 0, `unknown symbol ".data"`},
	} {
		edited := *mod
		c.edit(&edited)
		_, err := m.RunModule(&edited, c.entry, nil)
		assert.ErrorContains(t, err, c.want, c.name)
	}
}

// TestEnv: an extern allocates from the heap, keeps per-run state, reads
// and writes through byte views, and a failing view reports the first
// unmapped byte as the run's fault.
func TestEnv(t *testing.T) {
	type state struct{ calls int }
	env := func(m ir.Memory) *Env { return m.(*Env) }
	opts := Options{Target: r2el, HeapSize: 64, NewRunState: func() any { return &state{} },
		Externs: map[string]*ir.RuntimeFunc{
			// alloc(n): the address of n fresh bytes, filled with the call count; 0 when full.
			"alloc": {Name: "alloc", Params: []ir.Type{ir.I32}, Result: ir.I32, Eval: func(m ir.Memory, a []uint64) (uint64, error) {
				st := env(m).RunState().(*state)
				st.calls++
				addr, ok := env(m).Alloc(a[0])
				if !ok {
					return 0, nil
				}
				b, err := env(m).Bytes(addr, uint32(a[0]))
				if err != nil {
					return 0, err
				}
				for i := range b {
					b[i] = byte(st.calls)
				}
				return uint64(addr), nil
			}},
			// touch(p, n): view n bytes at p.
			"touch": {Name: "touch", Params: []ir.Type{ir.I32, ir.I32}, Result: ir.I32, Eval: func(m ir.Memory, a []uint64) (uint64, error) {
				_, err := env(m).Bytes(uint32(a[0]), uint32(a[1]))
				return 0, err
			}},
		}}
	m := newMachine(t, opts)
	call := func(sym string, a0, a1 string) string {
		return fmt.Sprintf("\t%s\n\t%s\n\tlui $t9, %%hi(%s)\n\taddiu $t9, $t9, %%lo(%s)\n\tjalr $t9\n\tnop\n", a0, a1, sym, sym)
	}
	// Three allocations of 20 bytes (24 with rounding): the third does not
	// fit in 64; then the first byte of each block and the heap's end.
	src := "f:\taddiu $sp, $sp, -24\n\tsw $ra, 20($sp)\n\tsw $s0, 16($sp)\n\tmove $s0, $a0\n" +
		call("alloc", "li $a0, 20", "nop") + "\tsw $v0, 0($s0)\n" +
		call("alloc", "li $a0, 20", "nop") + "\tsw $v0, 4($s0)\n" +
		call("alloc", "li $a0, 20", "nop") + "\tsw $v0, 8($s0)\n" +
		"\tlw $t0, 0($s0)\n\tlbu $t1, 0($t0)\n\tsw $t1, 12($s0)\n" +
		"\tlw $t0, 4($s0)\n\tlbu $t1, 19($t0)\n\tsw $t1, 16($s0)\n" +
		call("touch", "lw $a0, 4($s0)", "li $a1, 30") +
		"\tlw $s0, 16($sp)\n\tlw $ra, 20($sp)\n\tjr $ra\n\taddiu $sp, $sp, 24\n"
	obj := assemble(t, r2el, src)
	for run := range 2 { // the heap and the state start afresh every run
		res, err := m.Run(obj.Code, obj.Relocs, obj.Labels["f"], make([]byte, 20))
		require.NoError(t, err)
		require.NotNil(t, res.Fault, "run %d", run)
		assert.Equal(t, words(r2el, HeapBase, HeapBase+24, 0, 1, 2), res.Mem, "run %d", run)
		assert.Equal(t, Unmapped, res.Fault.Kind, "%v", res.Fault)
		assert.Equal(t, HeapBase+48, res.Fault.Addr, "the first unmapped byte: %v", res.Fault)
		assert.Contains(t, res.Fault.Msg, "touch (called from code offset")
	}

	// Loads and stores through Env; errors for a bad size and an unmapped
	// address.
	ldSrc := "f:\taddiu $sp, $sp, -24\n\tsw $ra, 20($sp)\n" + call("load8", "nop", "nop") +
		"\tlw $ra, 20($sp)\n\tjr $ra\n\taddiu $sp, $sp, 24\n"
	ld := assemble(t, r2el, ldSrc)
	lm := newMachine(t, Options{Target: r2el, Externs: map[string]*ir.RuntimeFunc{
		"load8": {Name: "load8", Params: []ir.Type{ir.I32}, Result: ir.I64, Eval: func(m ir.Memory, a []uint64) (uint64, error) {
			if _, err := m.Load(uint32(a[0]), 3); err == nil {
				return 0, errors.New("a 3-byte load succeeded")
			}
			v, err := m.Load(uint32(a[0]), 8)
			if err != nil {
				return 0, err
			}
			return v, m.Store(uint32(a[0]), 8, v+1)
		}},
	}})
	res, err := lm.Run(ld.Code, ld.Relocs, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	require.NoError(t, err)
	requireReturned(t, res)
	assert.Equal(t, uint64(0x0807060504030201), res.R0)
	assert.Equal(t, []byte{2, 2, 3, 4, 5, 6, 7, 8}, res.Mem)
	res, err = lm.Run(ld.Code, ld.Relocs, 0, []byte{1, 2, 3})
	require.NoError(t, err)
	require.NotNil(t, res.Fault)
	assert.Equal(t, Unmapped, res.Fault.Kind)
	assert.Equal(t, res.MemAddr+3, res.Fault.Addr, "the first byte past the block: %v", res.Fault)

	_, err = New(Options{Target: r2el, HeapSize: MaxHeapSize + 1})
	assert.ErrorContains(t, err, "heap size")
}
