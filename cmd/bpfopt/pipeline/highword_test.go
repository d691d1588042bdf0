package pipeline

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/bench/packet"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// TestU32ProgramHasNoHighWordWork checks issue #5's claim for a program
// that does only 32-bit work in 64-bit registers
// (testdata/examples/u32_parser.c, a packet parser written with u32
// variables): its -O2 code contains no instruction for a high word.
//
// The oracle is the same program on a 32-bit machine: its lifted IR with
// every i64 narrowed to i32 (narrowTo32 below), which has no high words at
// all. Both go through the same -O2 pipeline; the real program must
// compute the same results, and be no larger and execute no more
// instructions than its twin. Any high-word instruction left in the real
// program's code makes it larger than the twin's.
func TestU32ProgramHasNoHighWordWork(t *testing.T) {
	obj, err := ClangBPF(filepath.Join("../../../testdata/examples", "u32_parser.c"), "v3")
	require.NoError(t, err)
	progs, err := LoadBytes(obj, "u32_parser.o", LoadOptions{})
	require.NoError(t, err)
	require.Len(t, progs, 1)
	p := progs[0]

	compile := func(narrow bool) *mips32.Module {
		funcs, err := bpf.Lift(p, "u32_parser", bpf.LiftOptions{})
		require.NoError(t, err)
		require.Len(t, funcs, 1)
		f := funcs[0]
		if narrow {
			require.NoError(t, narrowTo32(f))
		}
		_, err = passes.Run(f, 2, &passes.Config{VerifyEach: true})
		require.NoError(t, err)
		mod, err := mips32.CompileModule([]*ir.Func{f}, 1, mips32.Options{Target: mips32.DefaultTarget, CheckAllocation: true})
		require.NoError(t, err)
		return mod
	}
	real, twin := compile(false), compile(true)

	eng, err := NewEngine("sim", mips32.DefaultTarget)
	require.NoError(t, err)
	packets := u32ParserPackets()
	var realInsns, twinInsns int64
	verdicts := map[uint64]int{}
	for i, pkt := range packets {
		in := corpusCtx(pkt)
		want := bytes.Clone(in)
		r0, err := bpf.Interpret(p, bpf.RunConfig{Mem: want})
		require.NoError(t, err)
		verdicts[r0]++
		for _, run := range []struct {
			mod   *mips32.Module
			insns *int64
		}{{real, &realInsns}, {twin, &twinInsns}} {
			x, err := eng.Run(run.mod, 0, in)
			require.NoError(t, err)
			require.NoError(t, x.Fault, "packet %d", i)
			require.Equal(t, r0, x.R0, "packet %d", i)
			require.Equal(t, want, x.Mem, "packet %d", i)
			*run.insns += x.Stats.Insns
		}
	}
	// The inputs reach both verdicts and the loop.
	require.Positive(t, verdicts[2], "no packet passes")
	require.Positive(t, verdicts[1], "no packet is dropped")
	t.Logf("code bytes %d (32-bit twin %d), executed %d (twin %d)", len(real.Code), len(twin.Code), realInsns, twinInsns)
	require.LessOrEqual(t, len(real.Code), len(twin.Code), "-O2 code is larger than the same program on a 32-bit machine: high-word work remains")
	require.LessOrEqual(t, realInsns, twinInsns, "-O2 code executes more than the same program on a 32-bit machine: high-word work remains")
}

// u32ParserPackets are inputs for u32_parser: TCP and UDP with correct and
// wrong IPv4 checksums, IPv4 options, other protocols, truncations.
func u32ParserPackets() [][]byte {
	var pkts [][]byte
	for _, opts := range [][]byte{nil, {1, 1, 1, 0, 7, 3, 4, 0}} {
		for _, proto := range []byte{6, 17, 1} {
			h := packet.IPv4Header{Src: packet.IP4(10, 0, 0, 1), Dst: packet.IP4(10, 0, 0, 2), Proto: proto, Options: opts}
			b := packet.Ether(0x0800, packet.IPv4(h, packet.Random(uint64(proto), 24)))
			pkts = append(pkts, b)
			bad := bytes.Clone(b)
			bad[24] ^= 0x5a // the IPv4 checksum's first byte
			pkts = append(pkts, bad)
		}
	}
	full := pkts[0]
	return append(pkts, full[:33], full[:40], nil)
}

// narrowTo32 rewrites a lifted function into the same program for a 32-bit
// machine: every i64 value becomes the i32 value of its low word (64-bit
// operations become their 32-bit forms, extensions and Int64Lo become
// copies), and the returned r0 is zero-extended. For a program whose
// values all fit in 32 bits this computes the same results, with no high
// word anywhere.
func narrowTo32(f *ir.Func) error {
	to32 := map[ir.Op]ir.Op{
		ir.OpConst64: ir.OpConst32,
		ir.OpAdd64:   ir.OpAdd32, ir.OpSub64: ir.OpSub32, ir.OpMul64: ir.OpMul32,
		ir.OpAnd64: ir.OpAnd32, ir.OpOr64: ir.OpOr32, ir.OpXor64: ir.OpXor32,
		ir.OpShl64: ir.OpShl32, ir.OpShrU64: ir.OpShrU32,
		ir.OpEq64: ir.OpEq32, ir.OpNe64: ir.OpNe32, ir.OpLtU64: ir.OpLtU32, ir.OpLeU64: ir.OpLeU32,
		ir.OpZeroExt32to64: ir.OpCopy, ir.OpInt64Lo: ir.OpCopy,
	}
	for _, b := range f.Blocks {
		for _, v := range b.Values {
			switch {
			case v.Op == ir.OpPhi:
				if v.Type == ir.I64 {
					v.Type = ir.I32
				}
			case to32[v.Op] != 0:
				if v.Op == ir.OpConst64 {
					v.AuxInt = int64(int32(v.AuxInt))
				}
				if v.Type == ir.I64 {
					v.Type = ir.I32
				}
				v.Op = to32[v.Op]
			default:
				for _, a := range v.Args {
					if a.Type == ir.I64 {
						return fmt.Errorf("narrowTo32: %s has an i64 operand", v.LongString())
					}
				}
				if v.Type == ir.I64 {
					return fmt.Errorf("narrowTo32: no 32-bit form of %s", v.LongString())
				}
			}
		}
	}
	for _, b := range f.Blocks {
		if b.Kind == ir.BlockRet {
			b.SetControls(b.NewValue(ir.OpZeroExt32to64, ir.I64, b.Controls[0]))
		}
	}
	return ir.Verify(f, ir.VerifyOptions{})
}
