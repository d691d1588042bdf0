package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/cmd/bpfopt/bench/packet"
	"github.com/bpfopt/bpfopt/frontend/bpf"
)

// The corpus test: realistic C programs (testdata/corpus/*.c: packet
// parsers, filters, map counters, a flow table, checksums, tail-call
// chains, subprograms, globals) compiled by Debian's clang at test time,
// loaded as ELF objects with their maps and sections, compiled by bpfopt
// into one module per object at -O0 and -O2 for MIPS32 R2 and R1, and run
// on both engines (qemu with the C runner, the simulator with its Go twin)
// on several inputs each; the reference interpreter, given the same object
// and the kernel helper set, runs the same programs on the same inputs,
// and r0 and the final memory must agree. The programs write what their
// maps hold into the ctx (counters, flow state), so the final memory
// covers the maps' contents. A few results are
// also checked against values worked out by hand from the C source, so
// that a bug both oracles share still shows.
//
// The programs' ctx is struct ctx of testdata/corpus/corpus.h: a 32-byte
// header (len, out[7]) followed by the packet.

const (
	corpusDir       = "../../../testdata/corpus"
	corpusHeaderLen = 32
)

// corpusCtx builds a ctx for packet: len, out[] zero, then the bytes.
func corpusCtx(packet []byte) []byte {
	b := make([]byte, corpusHeaderLen, corpusHeaderLen+len(packet))
	binary.LittleEndian.PutUint32(b, uint32(len(packet)))
	return append(b, packet...)
}

// corpusOut is out[i] of a ctx.
func corpusOut(mem []byte, i int) uint32 { return binary.LittleEndian.Uint32(mem[4+4*i:]) }

// loadCorpus builds a corpus file as the benchmark does (ClangBPF) and
// loads the object.
func loadCorpus(t *testing.T, file, cpu string) *bpf.Object {
	t.Helper()
	o32Tool(t, "clang", "clang")
	data, err := ClangBPF(filepath.Join(corpusDir, file), cpu)
	require.NoError(t, err)
	obj, err := bpf.LoadELFObject(bytes.NewReader(data))
	require.NoError(t, err)
	return obj
}

// corpusRun is what a program of an object does with one input.
type corpusRun struct {
	prog  string
	input []byte // the ctx
}

// corpusCheck checks one reference result by hand-worked values.
type corpusCheck func(t *testing.T, prog string, packet []byte, r0 uint64, mem []byte)

type corpusCase struct {
	file    string
	entries []string    // programs run from outside (others may be tail-called)
	packets [][]byte    // inputs, each wrapped by corpusCtx
	check   corpusCheck // optional hand-worked expectations
}

func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.c"))
	require.NoError(t, err)
	cases := corpusCases()
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.file] = true
	}
	for _, f := range files {
		require.True(t, covered[filepath.Base(f)], "corpus file %s has no test case", f)
	}
	configs := []Options{
		{Target: mips32.Target{Rev: mips32.R2}, OptLevel: 0},
		{Target: mips32.Target{Rev: mips32.R2}, OptLevel: 2},
		{Target: mips32.Target{Rev: mips32.R1}, OptLevel: 0},
		{Target: mips32.Target{Rev: mips32.R1}, OptLevel: 2},
	}
	for _, c := range cases {
		for _, cpu := range []string{"v1", "v3"} { // v3: 32-bit ALU and jumps
			t.Run(strings.TrimSuffix(c.file, ".c")+"/"+cpu, func(t *testing.T) {
				t.Parallel()
				runCorpusCase(t, c, loadCorpus(t, c.file, cpu), configs)
			})
		}
	}
}

func runCorpusCase(t *testing.T, c corpusCase, obj *bpf.Object, configs []Options) {
	progs := map[string]*bpf.Program{}
	for _, p := range obj.Programs {
		progs[p.Name] = p
	}
	// The reference results, once per program and input.
	var runs []corpusRun
	var want []execution
	for _, name := range c.entries {
		p := progs[name]
		require.NotNil(t, p, "object %s has no program %s", c.file, name)
		for _, packet := range c.packets {
			in := corpusCtx(packet)
			mem := bytes.Clone(in)
			r0, err := bpf.Interpret(p, bpf.RunConfig{Mem: mem, Helpers: bpf.KernelHelpers(), Object: obj})
			require.NoError(t, err, "reference interpreter: %s on %x", name, packet)
			if c.check != nil {
				c.check(t, name, packet, r0, mem)
			}
			runs = append(runs, corpusRun{name, in})
			want = append(want, execution{r0, mem})
		}
	}
	for _, opts := range configs {
		opts.CheckAllocation, opts.VerifyEach = true, true
		res, err := CompileObject(obj, nil, opts)
		require.NoError(t, err, "compile at -O%d for %s", opts.OptLevel, opts.Target)
		for _, eng := range Engines {
			for i, msg := range runCorpusModule(t, namedEngine(t, eng, opts.Target), res.Module, runs, want) {
				if msg != "" {
					t.Errorf("%s -O%d %s: %s on %x: %s", eng, opts.OptLevel, opts.Target, runs[i].prog, runs[i].input[corpusHeaderLen:], msg)
				}
			}
		}
	}
}

// runCorpusModule runs every run on e, in parallel, and returns for each a
// description of how it differs from want ("" when it agrees).
func runCorpusModule(t *testing.T, e Engine, mod *mips32.Module, runs []corpusRun, want []execution) []string {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, len(runs))
	for i, r := range runs {
		entry, ok := mod.Entry(r.prog)
		require.True(t, ok, "no program %s in the module", r.prog)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.Run(mod, entry, r.input)
			switch {
			case err != nil:
				errs[i] = err.Error()
			case out.Fault != nil:
				errs[i] = "fault: " + out.Fault.Error()
			case out.R0 != want[i].r0:
				errs[i] = fmt.Sprintf("r0 = %#x, reference %#x", out.R0, want[i].r0)
			case !bytes.Equal(out.Mem, want[i].mem):
				errs[i] = fmt.Sprintf("memory\n got  %x\n want %x", out.Mem, want[i].mem)
			}
		}()
	}
	wg.Wait()
	return errs
}

// TestCorpusSimMatchesQemu runs every corpus program, compiled once at -O2
// and once at -O0 for R2, on both engines with more inputs than TestCorpus
// (random packets, the cases' packets cut short at every length), and
// requires the simulator's r0 and final memory to be qemu's exactly: the
// sim engine's Go runtime (backend/mips32/sim/runner) against the C
// runner, maps, tail calls and globals included.
func TestCorpusSimMatchesQemu(t *testing.T) {
	target := mips32.Target{Rev: mips32.R2}
	for _, c := range corpusCases() {
		t.Run(strings.TrimSuffix(c.file, ".c"), func(t *testing.T) {
			t.Parallel()
			obj := loadCorpus(t, c.file, "v3")
			var runs []corpusRun
			for _, prog := range c.entries {
				for _, pkt := range c.packets {
					for n := 0; n <= len(pkt) && n <= 64; n += 7 {
						runs = append(runs, corpusRun{prog, corpusCtx(pkt[:n])})
					}
				}
				for seed := range uint64(8) {
					runs = append(runs, corpusRun{prog, corpusCtx(randomBytes(100+seed, int(seed*23)))})
				}
			}
			for _, level := range []int{0, 2} {
				res, err := CompileObject(obj, nil, Options{Target: target, OptLevel: level, CheckAllocation: true})
				require.NoError(t, err)
				var want []execution
				for _, r := range runs {
					entry, _ := res.Module.Entry(r.prog)
					out, err := namedEngine(t, "qemu", target).Run(res.Module, entry, r.input)
					require.NoError(t, err)
					require.Nil(t, out.Fault, "qemu: %s on %x", r.prog, r.input)
					want = append(want, execution{out.R0, out.Mem})
				}
				for i, msg := range runCorpusModule(t, namedEngine(t, "sim", target), res.Module, runs, want) {
					if msg != "" {
						t.Errorf("-O%d %s on %x: sim differs from qemu: %s", level, runs[i].prog, runs[i].input[corpusHeaderLen:], msg)
					}
				}
			}
		})
	}
}

// --- inputs -------------------------------------------------------------

// Packets of the cases, built with the benchmark's package packet: from
// ipA to ipB, UDP without checksum, TCP with sequence number 1000.
var (
	ipA = packet.IP4(10, 0, 0, 1)
	ipB = packet.IP4(192, 168, 1, 20)
)

func ether(proto uint16, payload []byte) []byte { return packet.Ether(proto, payload) }

func vlanEther(vid, proto uint16, payload []byte) []byte {
	return packet.EtherTagged([]packet.VLANTag{packet.Tag(packet.Ether8021Q, 0, vid)}, proto, payload)
}

// ipv4 is an IPv4 header with options (a multiple of 4 bytes) and a
// correct checksum, then the payload.
func ipv4(proto byte, fragOff uint16, opts, payload []byte) []byte {
	return packet.IPv4(packet.IPv4Header{Src: ipA, Dst: ipB, Proto: proto, FragOff: fragOff, Options: opts, ID: 0x1234}, payload)
}

func udp(sport, dport uint16, payload []byte) []byte { return packet.UDP(0, 0, sport, dport, payload) }

func tcp(sport, dport uint16, flags byte, payload []byte) []byte {
	return packet.TCP(ipA, ipB, packet.TCPHeader{Sport: sport, Dport: dport, Seq: 1000, Flags: flags}, payload)
}

var (
	cat         = packet.Cat
	randomBytes = packet.Random
)

// flowRecord is flow_table.c's struct record (16 bytes, little-endian).
func flowRecord(saddr, daddr uint32, sport, dport uint16, proto, flags byte, nbytes uint16) []byte {
	b := binary.LittleEndian.AppendUint32(nil, saddr)
	b = binary.LittleEndian.AppendUint32(b, daddr)
	b = binary.LittleEndian.AppendUint16(b, sport)
	b = binary.LittleEndian.AppendUint16(b, dport)
	b = append(b, proto, flags)
	return binary.LittleEndian.AppendUint16(b, nbytes)
}

func corpusCases() []corpusCase {
	dns := ether(0x0800, ipv4(17, 0, nil, udp(40000, 53, []byte("query"))))
	discard := ether(0x0800, ipv4(17, 0, nil, udp(1234, 9, []byte{1, 2, 3})))
	echo := ether(0x0800, ipv4(17, 0, nil, udp(5555, 7, []byte("ping!"))))
	web := ether(0x0800, ipv4(6, 0, nil, tcp(50000, 80, 0x02, nil)))
	withOpts := ether(0x0800, ipv4(17, 0, []byte{1, 1, 1, 0}, udp(1, 2, nil)))
	fragment := ether(0x0800, ipv4(17, 0x2010, nil, udp(1, 9, nil)))
	badVersion := bytes.Clone(dns)
	badVersion[14] = 0x65
	flowA := func(flags byte, n uint16) []byte { return flowRecord(0x0a000001, 0x0a000002, 1000, 80, 6, flags, n) }
	flowN := func(i uint32) []byte {
		return flowRecord(0x0a000001+i, 0x0a0000ff, uint16(2000+i), 443, 6, 0, uint16(100*i))
	}
	badSum := ether(0x0800, ipv4(17, 0, []byte{7, 7, 7, 7}, udp(9, 9, []byte("xyz"))))
	badSum[24] ^= 0x40 // the checksum's first byte

	return []corpusCase{
		{
			file: "xdp_parse.c", entries: []string{"xdp_parse"},
			packets: [][]byte{dns, discard, echo, web, withOpts, fragment, badVersion,
				ether(0x0806, make([]byte, 28)), vlanEther(42, 0x0800, ipv4(17, 0, nil, udp(3, 53, nil))),
				dns[:14+10], dns[:14+20+4], {}, vlanEther(1, 0x0800, nil)[:16]},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				want := map[string]uint64{"dns": 2, "discard": 1, "echo": 3, "web": 2, "empty": 1, "badVersion": 1}
				for name, p := range map[string][]byte{"dns": dns, "discard": discard, "echo": echo, "web": web, "empty": {}, "badVersion": badVersion} {
					if bytes.Equal(p, pkt) {
						require.Equal(t, want[name], r0, name)
						require.Equal(t, uint32(1), corpusOut(mem, 5), "%s: verdict count", name)
					}
				}
				if bytes.Equal(pkt, echo) { // ports and addresses swapped
					udpOff := corpusHeaderLen + 14 + 20
					require.Equal(t, []byte{0, 7, 0x15, 0xb3}, mem[udpOff:udpOff+4])
					require.Equal(t, cat(packet.BE32(ipB), packet.BE32(ipA)), mem[corpusHeaderLen+14+12:corpusHeaderLen+14+20])
				}
			},
		},
		{
			file: "socket_filter.c", entries: []string{"sock_filter"},
			packets: [][]byte{web,
				ether(0x0800, ipv4(6, 0, nil, tcp(443, 50001, 0x18, []byte("hello")))),
				ether(0x0800, ipv4(6, 0, nil, tcp(50002, 80, 0x10, nil))),
				ether(0x0800, ipv4(6, 0, nil, tcp(50003, 8080, 0x04, nil))),
				ether(0x0800, ipv4(6, 0, nil, tcp(50004, 22, 0x02, nil))),
				dns, discard, ether(0x86dd, make([]byte, 40)), web[:40], withOpts},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				switch {
				case bytes.Equal(pkt, web):
					require.Equal(t, uint64(0xffff), r0)
					require.Equal(t, uint32(1), corpusOut(mem, 0))
				case bytes.Equal(pkt, dns):
					require.Equal(t, uint64(96), r0)
				case len(pkt) > 40 && pkt[14+20+3] == 22: // ssh
					require.Equal(t, uint64(0), r0)
				}
			},
		},
		{
			file: "counter.c", entries: []string{"count_bytes"},
			packets: [][]byte{{}, {0x00}, make([]byte, 10), randomBytes(1, 100), randomBytes(2, 300), dns},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				if len(pkt) == 10 { // ten zero bytes: bucket 0 only
					require.Equal(t, uint64(1), r0)
					require.Equal(t, []uint32{1, 10, 10, 0, 0, 0, 0}, []uint32{corpusOut(mem, 0), corpusOut(mem, 1),
						corpusOut(mem, 2), corpusOut(mem, 3), corpusOut(mem, 4), corpusOut(mem, 5), corpusOut(mem, 6)})
				}
			},
		},
		{
			file: "flow_table.c", entries: []string{"track"},
			packets: [][]byte{
				cat(flowA(0, 100), flowA(0, 200), flowA(1, 300)),
				cat(flowN(1), flowN(2), flowN(3), flowN(4), flowN(5), flowN(6)),
				cat(flowN(1), flowN(2), flowN(3), flowN(4), flowA(1, 5), flowN(2)),
				cat(flowA(0, 1), flowA(1, 2), flowN(7), flowA(0, 3), flowN(7), flowN(8)),
				cat(flowN(1), flowN(2), flowN(3), flowN(4), flowN(1), flowN(2), flowN(3), flowN(4), flowN(5)),
				cat(flowA(0, 7), flowA(0, 9)[:10]), {},
			},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				switch len(pkt) {
				case 48: // one flow, three packets, closed by the third
					require.Equal(t, uint64(0), r0)
					require.Equal(t, []uint32{1, 2, 1, 0, 3}, []uint32{corpusOut(mem, 0), corpusOut(mem, 1),
						corpusOut(mem, 2), corpusOut(mem, 3), corpusOut(mem, 5)})
				case 96:
					if bytes.Equal(pkt[80:], flowN(6)) { // six flows, room for four
						require.Equal(t, uint64(4), r0)
						require.Equal(t, []uint32{4, 2, uint32(0xfffffff9)}, []uint32{corpusOut(mem, 0), corpusOut(mem, 3), corpusOut(mem, 4)})
					}
				}
			},
		},
		{
			file: "checksum.c", entries: []string{"checksum"},
			packets: [][]byte{dns, badSum, withOpts, ether(0x0806, make([]byte, 28)), []byte("odd"),
				randomBytes(3, 1600), {}, dns[:30]},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				if len(pkt) > 1500 {
					pkt = pkt[:1500]
				}
				require.Equal(t, uint32(packet.Checksum(pkt)), corpusOut(mem, 0), "internet checksum of %x", pkt)
				require.Equal(t, crc32.ChecksumIEEE(pkt), corpusOut(mem, 2), "crc32 of %x", pkt)
				switch {
				case bytes.Equal(pkt, dns) || bytes.Equal(pkt, withOpts):
					require.Equal(t, uint32(1), uint32(r0))
				case bytes.Equal(pkt, badSum):
					require.Equal(t, uint32(0), uint32(r0))
				case len(pkt) < 34:
					require.Equal(t, uint32(0xffffffff), uint32(r0))
				}
			},
		},
		{
			file: "tailcall.c", entries: []string{"dispatch", "spin", "stage_sum"},
			packets: [][]byte{{0, 1, 2, 3}, {0, 0xee, 5}, {1, 9}, {2}, {3, 3, 3}, {}, randomBytes(4, 80)},
			check: func(t *testing.T, prog string, pkt []byte, r0 uint64, mem []byte) {
				switch {
				case prog == "spin": // the entry, then 33 tail calls
					require.Equal(t, uint32(34), uint32(r0))
					require.Equal(t, uint32(34), corpusOut(mem, 1))
				case prog == "dispatch" && len(pkt) > 0 && pkt[0]&3 == 3: // the first tail call is dispatch's
					require.Equal(t, uint32(33), uint32(r0))
					require.Equal(t, uint32(1|8), corpusOut(mem, 0))
				}
				if prog == "dispatch" && bytes.Equal(pkt, []byte{0, 1, 2, 3}) {
					require.Equal(t, uint32(6^0x5a5a), uint32(r0))
					require.Equal(t, uint32(1|2|4), corpusOut(mem, 0))
				}
				if prog == "dispatch" && bytes.Equal(pkt, []byte{2}) {
					require.Equal(t, uint32(0x102), uint32(r0))
				}
			},
		},
		{
			file: "subprogs.c", entries: []string{"subprogs"},
			packets: [][]byte{randomBytes(5, 32), randomBytes(6, 40), make([]byte, 32), randomBytes(7, 8), {},
				cat(binary.LittleEndian.AppendUint64(nil, 48), binary.LittleEndian.AppendUint64(nil, 18),
					binary.LittleEndian.AppendUint64(nil, 1<<40), binary.LittleEndian.AppendUint64(nil, ^uint64(0)))},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				if len(pkt) == 32 && pkt[0] == 48 {
					require.Equal(t, uint32(6), corpusOut(mem, 2))     // gcd(48, 18)
					require.Equal(t, uint32(1<<20), corpusOut(mem, 3)) // isqrt(2^40)
					require.Equal(t, uint32(2|2<<8|1<<16|64<<24), corpusOut(mem, 4))
				}
			},
		},
		{
			file: "globals.c", entries: []string{"globals"},
			packets: [][]byte{[]byte("bpfopt-mips32"), []byte("bpfOPT"), randomBytes(8, 40), {}},
			check: func(t *testing.T, _ string, pkt []byte, r0 uint64, mem []byte) {
				n := min(len(pkt), 32)
				require.Equal(t, uint32(n), corpusOut(mem, 3), "calls")
				require.Equal(t, uint32(3*len(pkt)), corpusOut(mem, 5), "len * scale")
				if string(pkt) == "bpfOPT" {
					require.Equal(t, uint32(3), corpusOut(mem, 4), "bytes matching the magic")
				}
				if n == 0 { // the LCG state as initialized in .data
					require.Equal(t, []uint32{0x89abcdef, 0x01234567}, []uint32{corpusOut(mem, 1), corpusOut(mem, 2)})
				}
			},
		},
	}
}

// TestCorpusLinkedWithC embeds a compiled corpus program the way a user
// would: xdp_parse.c compiled by bpfopt and written as an ELF32 object
// (its map object in .data), linked by GCC with a C driver that supplies
// bpf_map_lookup_elem (testdata/corpus/link/xdp_main.c) and libatomic,
// and run under qemu on the same inputs as TestCorpus; every run's r0 and
// final ctx must match the reference interpreter's.
func TestCorpusLinkedWithC(t *testing.T) {
	gcc := o32Tool(t, "mipsel-linux-gnu-gcc", "gcc-mipsel-linux-gnu")
	qemu := o32Tool(t, "qemu-mipsel", "qemu-user")
	obj := loadCorpus(t, "xdp_parse.c", "v1")
	var c corpusCase
	for _, cc := range corpusCases() {
		if cc.file == "xdp_parse.c" {
			c = cc
		}
	}
	require.NotEmpty(t, c.packets)
	var prog *bpf.Program
	for _, p := range obj.Programs {
		if p.Name == "xdp_parse" {
			prog = p
		}
	}
	require.NotNil(t, prog)

	target := mips32.Target{Rev: mips32.R2}
	res, err := CompileObject(obj, nil, Options{Target: target, OptLevel: 2, CheckAllocation: true})
	require.NoError(t, err)
	tmp := t.TempDir()
	progObj := filepath.Join(tmp, "xdp_parse.o")
	var elf bytes.Buffer
	require.NoError(t, mips32.WriteObject(&elf, res.Module.ELFFuncs(), &res.Module.Data, target))
	require.NoError(t, os.WriteFile(progObj, elf.Bytes(), 0o644))
	exe := filepath.Join(tmp, "xdp")
	o32Exec(t, gcc, "-static", "-no-pie", "-O2", "-Wall", "-Werror", "-o", exe,
		filepath.Join(corpusDir, "link", "xdp_main.c"), progObj, "-latomic")

	args := []string{"-cpu", "24Kf", exe}
	var want []string
	for i, packet := range c.packets {
		in := corpusCtx(packet)
		file := filepath.Join(tmp, fmt.Sprintf("ctx%d", i))
		require.NoError(t, os.WriteFile(file, in, 0o644))
		args = append(args, file)
		mem := bytes.Clone(in)
		r0, err := bpf.Interpret(prog, bpf.RunConfig{Mem: mem, Helpers: bpf.KernelHelpers(), Object: obj})
		require.NoError(t, err)
		want = append(want, fmt.Sprintf("r0 %016x ctx %x", r0, mem))
	}
	out, err := exec.Command(qemu, args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, strings.Join(want, "\n")+"\n", string(out))
}
