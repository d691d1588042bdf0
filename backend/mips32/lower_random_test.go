package mips32_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/ir"
)

// A differential test of instruction selection's fused patterns: random
// functions over the bytes of a memory block, built from the shapes the
// patterns match (words gathered from byte and halfword loads, 64-bit
// compares, masked differences compared with a bound, equalities anded
// with a flag, byte swaps and their uses, selects of zero, identities)
// and near misses of them (a gathered byte shifted wrongly, stores
// between, constants where registers were), each compiled for R2 and R1,
// both byte orders, and run on random memory by the IR interpreter and
// the simulator, which must agree on the result and the memory after.

// randomIselFunc returns a function's text.
func randomIselFunc(r *rand.Rand) string {
	var b strings.Builder
	n := 2
	vals := []string{}
	emit := func(format string, a ...any) string {
		name := fmt.Sprintf("v%d", n)
		n++
		fmt.Fprintf(&b, "    %s:i32 = %s\n", name, fmt.Sprintf(format, a...))
		return name
	}
	c := func(x uint32) string { return emit("Const32 [%d]", int32(x)) }
	pick := func() string { return vals[r.Intn(len(vals))] }
	b.WriteString("func f {\nb0:\n    v1:i32 = Arg [0]\n")
	for i := 0; i < 6; i++ {
		op := []string{"Load8", "Load16", "Load32", "Load8", "Load16"}[r.Intn(5)]
		off := r.Intn(28)
		align := ""
		if op == "Load16" && off%2 == 0 && r.Intn(2) == 0 {
			align = " align=2"
		}
		if op == "Load32" {
			off &^= 3
			align = " align=4"
		}
		vals = append(vals, emit("%s [%d] v1%s", op, off, align))
	}
	// Words gathered from bytes (in either order, now and then one
	// shifted wrongly) or from two halfwords.
	for t := 0; t < 2; t++ {
		base := r.Intn(24)
		var parts []string
		order := r.Perm(4)
		be := r.Intn(2) == 0
		half := r.Intn(3) == 0
		if half {
			lo := emit("Load16 [%d] v1", base)
			hi := emit("Load16 [%d] v1", base+2)
			parts = []string{lo, emit("Shl32 %s, %s", hi, c(16))}
		} else {
			for _, i := range order {
				l := emit("Load8 [%d] v1", base+i)
				sh := 8 * i
				if be {
					sh = 24 - 8*i
				}
				if r.Intn(8) == 0 {
					sh = 8 * r.Intn(4)
				}
				if sh != 0 {
					l = emit("Shl32 %s, %s", l, c(uint32(sh)))
				}
				parts = append(parts, l)
			}
		}
		acc := parts[0]
		for _, p := range parts[1:] {
			acc = emit("Or32 %s, %s", acc, p)
		}
		vals = append(vals, acc)
	}
	for i := 0; i < 14; i++ {
		x, y := pick(), pick()
		var v string
		switch r.Intn(16) {
		case 0:
			v = emit("Bswap16 %s", x)
		case 1:
			v = emit("Bswap32 %s", x)
		case 2:
			v = emit("ShrU32 %s, %s", x, c(uint32(r.Intn(32))))
		case 3:
			v = emit("And32 %s, %s", x, c([]uint32{0xff, 0xffff, 0xfff, 0x1f, uint32(r.Int31())}[r.Intn(5)]))
		case 4:
			v = emit("Add32 %s, %s", x, c(uint32(-r.Intn(300))))
		case 5:
			v = emit("%s %s, %s", []string{"Eq32", "Ne32", "LtU32", "LeU32", "LtS32", "LeS32"}[r.Intn(6)], x, y)
		case 6:
			v = emit("%s %s, %s", []string{"LtU32", "LeU32"}[r.Intn(2)], x, c(uint32(r.Intn(300))))
		case 7:
			v = emit("Select32 %s, %s, %s", x, y, []string{pick(), c(0), c(uint32(r.Intn(5)))}[r.Intn(3)])
		case 8:
			v = emit("Xor32 %s, %s", x, y)
		case 9:
			v = emit("Shl32 %s, %s", x, c(uint32(r.Intn(32))))
		case 10: // legalize64's ordered compare
			h1, h2, l1, l2 := x, y, pick(), pick()
			if r.Intn(3) == 0 {
				h2 = c(uint32(r.Intn(3)))
			}
			lt := emit("%s %s, %s", []string{"LtU32", "LtS32"}[r.Intn(2)], h1, h2)
			eq := emit("Eq32 %s, %s", h2, h1)
			lo := emit("%s %s, %s", []string{"LtU32", "LeU32"}[r.Intn(2)], l1, l2)
			and := emit("And32 %s, %s", eq, lo)
			v = emit("Or32 %s, %s", and, lt)
		case 11: // masked difference compare
			d := emit("Add32 %s, %s", x, c(uint32(-1-r.Intn(255))))
			m := emit("And32 %s, %s", d, c([]uint32{0xff, 0xffff}[r.Intn(2)]))
			v = emit("%s %s, %s", []string{"LtU32", "LeU32"}[r.Intn(2)], m, c(uint32(r.Intn(300))))
		case 12: // eq & flag
			e := emit("%s %s, %s", []string{"Eq32", "Ne32"}[r.Intn(2)], x, []string{y, c(uint32(r.Intn(4)))}[r.Intn(2)])
			f := emit("LtU32 %s, %s", pick(), pick())
			v = emit("And32 %s, %s", e, f)
		case 13:
			v = emit("Or32 %s, %s", x, c(0))
		case 14:
			st := []string{"Store8", "Store16", "Store32"}[r.Intn(3)]
			off := r.Intn(28)
			if st == "Store32" {
				off &^= 3
			}
			fmt.Fprintf(&b, "    v%d = %s [%d] v1, %s\n", n, st, off, x)
			n++
			continue
		default:
			v = emit("Add32 %s, %s", x, y)
		}
		vals = append(vals, v)
	}
	// Everything into the two result words; the branch on a pattern too.
	acc1, acc2 := vals[0], vals[1]
	for i, v := range vals[2:] {
		switch r.Intn(4) { // through uses that read the low half only, or not quite
		case 0:
			v = emit("Shl32 %s, %s", v, c(uint32(r.Intn(32))))
		case 1:
			v = emit("And32 %s, %s", c([]uint32{0xff, 0xfff, 0xffff}[r.Intn(3)]), v)
		}
		if i%2 == 0 {
			acc1 = emit("Xor32 %s, %s", acc1, v)
		} else {
			acc2 = emit("Add32 %s, %s", acc2, v)
		}
	}
	var cond string
	switch r.Intn(4) {
	case 0:
		cond = emit("LtU32 %s, %s", pick(), pick())
	case 1:
		h1, h2, l1, l2 := pick(), pick(), pick(), pick()
		if r.Intn(3) == 0 {
			h2 = c(uint32(r.Intn(3)))
		}
		if r.Intn(3) == 0 {
			l1 = c(uint32(r.Intn(300)))
		}
		lt := emit("%s %s, %s", []string{"LtU32", "LtS32"}[r.Intn(2)], h1, h2)
		eq := emit("Eq32 %s, %s", h1, h2)
		lo := emit("%s %s, %s", []string{"LtU32", "LeU32", "LtS32", "LeS32", "Ne32"}[r.Intn(5)], l1, l2)
		and := emit("And32 %s, %s", lo, eq)
		cond = emit("Or32 %s, %s", lt, and)
	case 2:
		e := emit("%s %s, %s", []string{"Eq32", "Ne32"}[r.Intn(2)], pick(), c(uint32(r.Intn(4))))
		f := emit("LeU32 %s, %s", pick(), pick())
		cond = emit("And32 %s, %s", f, e)
	default:
		d := emit("Add32 %s, %s", pick(), c(uint32(-1-r.Intn(255))))
		m := emit("And32 %s, %s", d, c([]uint32{0xff, 0xffff}[r.Intn(2)]))
		cond = emit("%s %s, %s", []string{"LtU32", "LeU32"}[r.Intn(2)], m, c(uint32(r.Intn(300))))
	}
	fmt.Fprintf(&b, "    If %s -> b1, b2\nb1: <- b0\n    Ret %s, %s\nb2: <- b0\n    Ret %s, %s\n}\n", cond, acc1, acc2, acc2, acc1)
	return b.String()
}

func TestRandomIsel(t *testing.T) {
	funcs := 400
	if testing.Short() {
		funcs = 50
	}
	r := rand.New(rand.NewSource(1))
	for _, target := range []mips32.Target{{Rev: mips32.R2}, {Rev: mips32.R1}, {Rev: mips32.R2, BigEndian: true}} {
		machine, err := sim.New(sim.Options{Target: target})
		if err != nil {
			t.Fatal(err)
		}
		for range funcs {
			src := randomIselFunc(r)
			f, err := ir.Parse(src)
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			if err := ir.Verify(f, ir.VerifyOptions{NoI64: true}); err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			mod, err := mips32.Compile(f, mips32.Options{Target: target, CheckAllocation: true})
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			for k := 0; k < 4; k++ {
				mem := make([]byte, 32)
				for j := range mem {
					switch r.Intn(4) {
					case 0:
						mem[j] = 0
					case 1:
						mem[j] = 0xff
					default:
						mem[j] = byte(r.Intn(256))
					}
				}
				res, err := machine.RunModule(&sim.Module{Image: mod.Code, CodeSize: uint32(len(mod.Code)), Relocs: mod.Relocs}, 0, append([]byte(nil), mem...))
				if err != nil || res.Fault != nil {
					t.Fatalf("sim: %v %v\n%s", err, res.Fault, src)
				}
				irMem := append([]byte(nil), mem...)
				want, err := ir.Interpret(f, ir.InterpConfig{
					Args: []uint32{res.MemAddr, uint32(len(mem))},
					Mem: &ir.RegionMemory{BigEndian: target.BigEndian, Regions: []*ir.Region{
						{Base: res.MemAddr, Data: irMem, Name: "mem"},
					}},
					FramePtr: 0x7000_0000,
				})
				if err != nil {
					t.Fatalf("interp: %v\n%s", err, src)
				}
				if want != res.R0 || string(irMem) != string(res.Mem) {
					text, _ := mips32.LowerText(f, target)
					t.Fatalf("target %+v mismatch: ir %#x sim %#x\nmem %x\nir mem %x\nsim mem %x\n%s\n%s", target, want, res.R0, mem, irMem, res.Mem, src, text)
				}
			}
		}
	}
}
