package sim

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// memCase is a snippet run on a memory block (a0 = its address); the
// expected registers and final memory are worked out by hand, per byte
// order where they differ.
type memCase struct {
	name   string
	body   string
	mem    []byte
	le, be memWant
	r2     bool
	// qemuDiffers, when set, says why the case is not cross-checked.
	qemuDiffers string
}

type memWant struct {
	v0, v1 uint32
	mem    []byte // nil: unchanged
}

func (c memCase) src() string { return "f:\n" + c.body + "\n\tjr $ra\n\tnop\n" }

func (c memCase) want(target mips32.Target) memWant {
	if target.BigEndian {
		return c.be
	}
	return c.le
}

var b0to7 = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}

func memCases() []memCase {
	cases := []memCase{
		{name: "lb lbu", body: `
	lb $v0, 0($a0)
	lbu $v1, 0($a0)`, mem: []byte{0x80, 0xff, 0x01, 0x80, 0x78, 0x56, 0x34, 0x12},
			le: memWant{0xffffff80, 0x80, nil}, be: memWant{0xffffff80, 0x80, nil}},
		{name: "lh lhu", body: `
	lh $v0, 0($a0)
	lhu $v1, 2($a0)`, mem: []byte{0x80, 0xff, 0x01, 0x80, 0x78, 0x56, 0x34, 0x12},
			le: memWant{0xffffff80, 0x8001, nil}, be: memWant{0xffff80ff, 0x0180, nil}},
		{name: "lw, negative offset", body: `
	addiu $t0, $a0, 8
	lw $v0, -4($t0)
	lw $v1, -8($t0)`, mem: []byte{0x80, 0xff, 0x01, 0x80, 0x78, 0x56, 0x34, 0x12},
			le: memWant{0x12345678, 0x8001ff80, nil}, be: memWant{0x78563412, 0x80ff0180, nil}},
		{name: "sb sh sw", body: `
	li $t0, 0xa1b2c3d4
	sb $t0, 1($a0)
	sh $t0, 2($a0)
	sw $t0, 4($a0)
	move $v0, $zero
	move $v1, $zero`, mem: make([]byte, 8),
			le: memWant{0, 0, []byte{0, 0xd4, 0xd4, 0xc3, 0xd4, 0xc3, 0xb2, 0xa1}},
			be: memWant{0, 0, []byte{0, 0xd4, 0xc3, 0xd4, 0xa1, 0xb2, 0xc3, 0xd4}}},
		{name: "ulw (lwl/lwr pairs in the byte order's arrangement)", body: `
	ulw $v0, 1($a0)
	ulw $v1, 3($a0)`, mem: b0to7,
			le: memWant{0x44332211, 0x66554433, nil}, be: memWant{0x11223344, 0x33445566, nil}},
		{name: "usw", body: `
	li $t0, 0xaabbccdd
	usw $t0, 1($a0)
	move $v0, $zero
	move $v1, $zero`, mem: b0to7,
			le: memWant{0, 0, []byte{0x00, 0xdd, 0xcc, 0xbb, 0xaa, 0x55, 0x66, 0x77}},
			be: memWant{0, 0, []byte{0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0x55, 0x66, 0x77}}},
		{name: "ll sc succeeds", body: `
	ll $t0, 0($a0)
	addiu $t0, $t0, 1
	sc $t0, 0($a0)
	move $v0, $t0
	lw $v1, 0($a0)`, mem: make([]byte, 4), le: memWant{1, 1, []byte{1, 0, 0, 0}}, be: memWant{1, 1, []byte{0, 0, 0, 1}}},
		{name: "sc without ll fails", body: `
	li $t0, 5
	sc $t0, 0($a0)
	move $v0, $t0
	move $v1, $zero`, mem: make([]byte, 4), le: memWant{0, 0, nil}, be: memWant{0, 0, nil},
			qemuDiffers: "qemu-user keeps the LL address and value across runs (no exception return clears them), so there this sc succeeds when the previous run's ll was at the same address"},
		{name: "a second sc fails", body: `
	ll $t0, 0($a0)
	li $t0, 5
	sc $t0, 0($a0)
	li $t1, 6
	sc $t1, 0($a0)
	move $v0, $t0
	move $v1, $t1`, mem: make([]byte, 4), le: memWant{1, 0, []byte{5, 0, 0, 0}}, be: memWant{1, 0, []byte{0, 0, 0, 5}}},
		{name: "sc fails after a store changed the word", body: `
	ll $t0, 0($a0)
	li $t1, 9
	sw $t1, 0($a0)
	li $t0, 5
	sc $t0, 0($a0)
	move $v0, $t0
	move $v1, $zero`, mem: make([]byte, 4), le: memWant{0, 0, []byte{9, 0, 0, 0}}, be: memWant{0, 0, []byte{0, 0, 0, 9}}},
		{name: "sc succeeds after a store of the same value or to another word", body: `
	ll $t0, 0($a0)
	sw $zero, 0($a0)
	li $t1, 9
	sw $t1, 4($a0)
	li $t0, 5
	sc $t0, 0($a0)
	move $v0, $t0
	move $v1, $zero`, mem: make([]byte, 8), le: memWant{1, 0, []byte{5, 0, 0, 0, 9, 0, 0, 0}}, be: memWant{1, 0, []byte{0, 0, 0, 5, 0, 0, 0, 9}}},
		{name: "sc to another address than ll fails", body: `
	ll $t0, 0($a0)
	li $t0, 5
	sc $t0, 4($a0)
	move $v0, $t0
	move $v1, $zero`, mem: make([]byte, 8), le: memWant{0, 0, nil}, be: memWant{0, 0, nil}},
	}
	return append(cases, partialCases()...)
}

// The partial-word instructions at each byte offset k of the word
// 00 11 22 33, with rt = 0xaabbccdd, worked out from the manual's
// description: lwl/swl move the register's high-order bytes, lwr/swr its
// low-order bytes, and which memory bytes those are depends on the byte
// order.
var (
	lwlLE = [4]uint32{0x00bbccdd, 0x1100ccdd, 0x221100dd, 0x33221100}
	lwrLE = [4]uint32{0x33221100, 0xaa332211, 0xaabb3322, 0xaabbcc33}
	lwlBE = [4]uint32{0x00112233, 0x112233dd, 0x2233ccdd, 0x33bbccdd}
	lwrBE = [4]uint32{0xaabbcc00, 0xaabb0011, 0xaa001122, 0x00112233}
	swlLE = [4][]byte{{0xaa, 0x11, 0x22, 0x33}, {0xbb, 0xaa, 0x22, 0x33}, {0xcc, 0xbb, 0xaa, 0x33}, {0xdd, 0xcc, 0xbb, 0xaa}}
	swrLE = [4][]byte{{0xdd, 0xcc, 0xbb, 0xaa}, {0x00, 0xdd, 0xcc, 0xbb}, {0x00, 0x11, 0xdd, 0xcc}, {0x00, 0x11, 0x22, 0xdd}}
	swlBE = [4][]byte{{0xaa, 0xbb, 0xcc, 0xdd}, {0x00, 0xaa, 0xbb, 0xcc}, {0x00, 0x11, 0xaa, 0xbb}, {0x00, 0x11, 0x22, 0xaa}}
	swrBE = [4][]byte{{0xdd, 0x11, 0x22, 0x33}, {0xcc, 0xdd, 0x22, 0x33}, {0xbb, 0xcc, 0xdd, 0x33}, {0xaa, 0xbb, 0xcc, 0xdd}}
)

func partialCases() []memCase {
	var cases []memCase
	word := []byte{0x00, 0x11, 0x22, 0x33}
	for k := 0; k < 4; k++ {
		for _, l := range []struct {
			name   string
			le, be uint32
		}{{"lwl", lwlLE[k], lwlBE[k]}, {"lwr", lwrLE[k], lwrBE[k]}} {
			cases = append(cases, memCase{
				name: fmt.Sprintf("%s at offset %d", l.name, k),
				body: fmt.Sprintf("\tli $v0, 0xaabbccdd\n\t%s $v0, %d($a0)\n\tmove $v1, $zero", l.name, k),
				mem:  word, le: memWant{l.le, 0, nil}, be: memWant{l.be, 0, nil},
			})
		}
		for _, s := range []struct {
			name   string
			le, be []byte
		}{{"swl", swlLE[k], swlBE[k]}, {"swr", swrLE[k], swrBE[k]}} {
			cases = append(cases, memCase{
				name: fmt.Sprintf("%s at offset %d", s.name, k),
				body: fmt.Sprintf("\tli $t0, 0xaabbccdd\n\t%s $t0, %d($a0)\n\tmove $v0, $zero\n\tmove $v1, $zero", s.name, k),
				mem:  word, le: memWant{0, 0, s.le}, be: memWant{0, 0, s.be},
			})
		}
	}
	// At the end of a 5-byte block, the byte-4 halves touch only byte 4:
	// they work although the rest of the aligned word is unmapped.
	five := []byte{0, 0, 0, 0, 0x44}
	cases = append(cases,
		memCase{name: "lwl (LE) / lwr (BE) touching only the block's last byte", body: `
	li $v0, 0xaabbccdd
	.ifdef BIG
	lwr $v0, 4($a0)
	.else
	lwl $v0, 4($a0)
	.endif
	move $v1, $zero`, mem: five, le: memWant{0x44bbccdd, 0, nil}, be: memWant{0xaabbcc44, 0, nil}},
		memCase{name: "swl (LE) / swr (BE) touching only the block's last byte", body: `
	li $t0, 0xaabbccdd
	.ifdef BIG
	swr $t0, 4($a0)
	.else
	swl $t0, 4($a0)
	.endif
	move $v0, $zero
	move $v1, $zero`, mem: five, le: memWant{0, 0, []byte{0, 0, 0, 0, 0xaa}}, be: memWant{0, 0, []byte{0, 0, 0, 0, 0xdd}}},
	)
	return cases
}

func TestMemory(t *testing.T) {
	for _, target := range allTargets {
		t.Run(target.String(), func(t *testing.T) {
			cases := memCases()
			srcs := make([]string, len(cases))
			for i, c := range cases {
				srcs[i] = c.src()
			}
			srcs[0] = bigDefine(target) + srcs[0] // .set applies to the whole batch
			obj, entries := assembleBatch(t, target, srcs)
			m := newMachine(t, Options{Target: target})
			for i, c := range cases {
				res, err := m.Run(obj.Code, obj.Relocs, entries[i], c.mem)
				require.NoError(t, err)
				if !assert.Nil(t, res.Fault, c.name) {
					continue
				}
				w := c.want(target)
				assert.Equal(t, r0Of(target, w.v0, w.v1), res.R0, "%s: got v0/v1 = %#x", c.name, res.R0)
				wantMem := w.mem
				if wantMem == nil {
					wantMem = c.mem
				}
				assert.Equal(t, wantMem, res.Mem, c.name)
			}
		})
	}
}

// bigDefine defines the assembler symbol BIG for big-endian targets, for
// snippets whose instructions differ by byte order.
func bigDefine(target mips32.Target) string {
	if target.BigEndian {
		return "\t.set BIG, 1\n"
	}
	return ""
}

// TestMemoryBounds: the block is 8-byte aligned and ends where memory ends;
// an empty block still gets a valid, aligned, non-null pointer.
func TestMemoryBounds(t *testing.T) {
	const src = "f:\tmove $v0, $a0\n\tjr $ra\n\tmove $v1, $a1\n"
	for _, n := range []int{0, 1, 5, 8, 13, 4096} {
		res, _ := runSim(t, r2el, src, make([]byte, n))
		requireReturned(t, res)
		ctx := uint32(res.R0)
		assert.Equal(t, uint32(n), uint32(res.R0>>32), "len")
		assert.Equal(t, res.MemAddr, ctx, "MemAddr")
		assert.Equal(t, MemEnd-uint32((n+7)&^7), ctx)
		assert.Zero(t, ctx%8)
		assert.Len(t, res.Mem, n)
	}
	for _, n := range []int{0, 5, 8} {
		res, _ := runSim(t, r2el, fmt.Sprintf("f:\tjr $ra\n\tlbu $v0, %d($a0)\n", n), make([]byte, n))
		require.NotNil(t, res.Fault, "len %d", n)
		assert.Equal(t, Unmapped, res.Fault.Kind)
		assert.Equal(t, res.MemAddr+uint32(n), res.Fault.Addr)
	}
}
