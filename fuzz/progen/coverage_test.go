package progen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// rfcOps lists every instruction variant of RFC 9669 (its Appendix A opcode
// table) that the generator must produce, minus calls and the legacy packet
// loads. Written out by hand with the RFC's literal opcode bytes, so that a
// change in the generator or in the opcode constants cannot silently shrink
// the coverage. Each entry is "key description"; the key is the opcode byte
// in hex, plus /off= or /imm= where those select the variant.
var rfcOps = `
04 add32 imm
0c add32 reg
07 add imm
0f add reg
14 sub32 imm
1c sub32 reg
17 sub imm
1f sub reg
24 mul32 imm
2c mul32 reg
27 mul imm
2f mul reg
34/off=0 div32 imm
34/off=1 sdiv32 imm
3c/off=0 div32 reg
3c/off=1 sdiv32 reg
37/off=0 div imm
37/off=1 sdiv imm
3f/off=0 div reg
3f/off=1 sdiv reg
44 or32 imm
4c or32 reg
47 or imm
4f or reg
54 and32 imm
5c and32 reg
57 and imm
5f and reg
64 lsh32 imm
6c lsh32 reg
67 lsh imm
6f lsh reg
74 rsh32 imm
7c rsh32 reg
77 rsh imm
7f rsh reg
84 neg32
87 neg
94/off=0 mod32 imm
94/off=1 smod32 imm
9c/off=0 mod32 reg
9c/off=1 smod32 reg
97/off=0 mod imm
97/off=1 smod imm
9f/off=0 mod reg
9f/off=1 smod reg
a4 xor32 imm
ac xor32 reg
a7 xor imm
af xor reg
b4 mov32 imm
bc/off=0 mov32 reg
bc/off=8 movsx32 8
bc/off=16 movsx32 16
b7 mov imm
bf/off=0 mov reg
bf/off=8 movsx 8
bf/off=16 movsx 16
bf/off=32 movsx 32
c4 arsh32 imm
cc arsh32 reg
c7 arsh imm
cf arsh reg
d4/imm=16 le16
d4/imm=32 le32
d4/imm=64 le64
dc/imm=16 be16
dc/imm=32 be32
dc/imm=64 be64
d7/imm=16 bswap16
d7/imm=32 bswap32
d7/imm=64 bswap64
18 lddw
61 ldxw
69 ldxh
71 ldxb
79 ldxdw
81 ldxsw
89 ldxsh
91 ldxsb
62 stw
6a sth
72 stb
7a stdw
63 stxw
6b stxh
73 stxb
7b stxdw
c3/imm=0x0 lock add32
c3/imm=0x1 lock fetch add32
c3/imm=0x40 lock or32
c3/imm=0x41 lock fetch or32
c3/imm=0x50 lock and32
c3/imm=0x51 lock fetch and32
c3/imm=0xa0 lock xor32
c3/imm=0xa1 lock fetch xor32
c3/imm=0xe1 xchg32
c3/imm=0xf1 cmpxchg32
db/imm=0x0 lock add
db/imm=0x1 lock fetch add
db/imm=0x40 lock or
db/imm=0x41 lock fetch or
db/imm=0x50 lock and
db/imm=0x51 lock fetch and
db/imm=0xa0 lock xor
db/imm=0xa1 lock fetch xor
db/imm=0xe1 xchg
db/imm=0xf1 cmpxchg
05 ja
06 gotol (ja32)
15 jeq imm
1d jeq reg
16 jeq32 imm
1e jeq32 reg
25 jgt imm
2d jgt reg
26 jgt32 imm
2e jgt32 reg
35 jge imm
3d jge reg
36 jge32 imm
3e jge32 reg
45 jset imm
4d jset reg
46 jset32 imm
4e jset32 reg
55 jne imm
5d jne reg
56 jne32 imm
5e jne32 reg
65 jsgt imm
6d jsgt reg
66 jsgt32 imm
6e jsgt32 reg
75 jsge imm
7d jsge reg
76 jsge32 imm
7e jsge32 reg
a5 jlt imm
ad jlt reg
a6 jlt32 imm
ae jlt32 reg
b5 jle imm
bd jle reg
b6 jle32 imm
be jle32 reg
c5 jslt imm
cd jslt reg
c6 jslt32 imm
ce jslt32 reg
d5 jsle imm
dd jsle reg
d6 jsle32 imm
de jsle32 reg
95 exit
`

// variantKey names an instruction's variant in rfcOps' key format.
func variantKey(in bpf.Insn) string {
	key := fmt.Sprintf("%02x", in.Op)
	switch in.Op {
	case 0x34, 0x3c, 0x37, 0x3f, 0x94, 0x9c, 0x97, 0x9f, 0xbc, 0xbf:
		key += fmt.Sprintf("/off=%d", in.Off)
	case 0xd4, 0xdc, 0xd7:
		key += fmt.Sprintf("/imm=%d", in.Imm)
	case 0xc3, 0xdb:
		key += fmt.Sprintf("/imm=%#x", in.Imm)
	}
	return key
}

// Extra properties the corpus must show besides the opcodes.
const (
	propUnalignedMem   = "unaligned access at r1"
	propUnalignedStack = "unaligned access at r10"
	propMemEnd         = "access ending at the last byte of memory"
	propStackBottom    = "access at r10-512"
	propBackCond       = "loop with conditional back edge"
	propBackJA         = "loop with ja back edge"
	propBackGotol      = "loop with gotol back edge"
	propEarlyExit      = "exit before the end"
)

func TestOpCoverage(t *testing.T) {
	progs, opts := corpus()
	seen := map[string]int{}
	for n, p := range progs {
		o := opts[n]
		for i, in := range p.Insns {
			seen[variantKey(in)]++
			size := 0
			switch in.Class() {
			case bpf.ClassLDX, bpf.ClassST, bpf.ClassSTX:
				size = bpf.SizeBytes(in.Size())
				base := in.Dst
				if in.Class() == bpf.ClassLDX {
					base = in.Src
				}
				switch {
				case base == bpf.R1 && int(in.Off)%size != 0:
					seen[propUnalignedMem]++
				case base == bpf.R10 && int(in.Off)%size != 0:
					seen[propUnalignedStack]++
				}
				if base == bpf.R1 && int(in.Off)+size == o.MemSize {
					seen[propMemEnd]++
				}
				if base == bpf.R10 && in.Off == -bpf.StackSize {
					seen[propStackBottom]++
				}
			case bpf.ClassJMP, bpf.ClassJMP32:
				if in.IsExit() && i != len(p.Insns)-1 {
					seen[propEarlyExit]++
				}
				if !in.IsExit() && in.JumpTarget() <= in.Slot {
					switch {
					case in.Op == 0x05:
						seen[propBackJA]++
					case in.Op == 0x06:
						seen[propBackGotol]++
					default:
						seen[propBackCond]++
					}
				}
			}
		}
	}
	var missing []string
	for _, line := range strings.Split(strings.TrimSpace(rfcOps), "\n") {
		key, desc, _ := strings.Cut(line, " ")
		if seen[key] == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s)", desc, key))
		}
	}
	for _, prop := range []string{propUnalignedMem, propUnalignedStack, propMemEnd, propStackBottom,
		propBackCond, propBackJA, propBackGotol, propEarlyExit} {
		if seen[prop] == 0 {
			missing = append(missing, prop)
		}
	}
	require.Empty(t, missing, "never generated in %d programs", corpusSize)
}

// The prologue constants must include every boundary value the 32-bit
// split gets wrong most easily.
func TestBoundaryConstantsAreLoaded(t *testing.T) {
	progs, _ := corpus()
	want := []uint64{0, 1, 0xffffffffffffffff, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32,
		0x8000000000000000, 0x7fffffffffffffff}
	seen := map[uint64]bool{}
	for _, p := range progs {
		for _, in := range p.Insns {
			for _, v := range want {
				if loadsConst(in, in.Dst, v) {
					seen[v] = true
				}
			}
		}
	}
	for _, v := range want {
		require.True(t, seen[v], "constant %#x never loaded", v)
	}
}
