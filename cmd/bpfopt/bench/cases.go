package bench

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strconv"

	// The packet builders read best unqualified in the input lists.
	. "github.com/bpfopt/bpfopt/cmd/bpfopt/bench/packet"
	"github.com/bpfopt/bpfopt/fuzz/progen"
)

// ctxHeaderLen is the size of corpus.h's struct ctx before data[]: len
// and out[7].
const ctxHeaderLen = 32

// netIPAlign is bench.h's NET_IP_ALIGN: padding before the Ethernet
// header of the testdata/bench programs.
const netIPAlign = 2

// ctxInput is a struct ctx for packet: len, out[] zero, pad zero bytes,
// the packet.
func ctxInput(pad int, packet []byte) []byte {
	b := make([]byte, ctxHeaderLen+pad, ctxHeaderLen+pad+len(packet))
	binary.LittleEndian.PutUint32(b, uint32(pad+len(packet)))
	return append(b, packet...)
}

// corpusInputs are ctx inputs for the testdata/corpus programs (no
// padding); netInputs for the testdata/bench ones (NET_IP_ALIGN).
func corpusInputs(packets ...[]byte) [][]byte { return inputs(0, packets) }
func netInputs(packets ...[]byte) [][]byte    { return inputs(netIPAlign, packets) }

func inputs(pad int, packets [][]byte) [][]byte {
	var in [][]byte
	for _, p := range packets {
		in = append(in, ctxInput(pad, p))
	}
	return in
}

// progenBytes is the choice stream of a progen case: enough bytes for
// maxInsns body instructions (FromBytes stops when they run out).
func progenBytes(seed uint64, maxInsns int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, 64*maxInsns)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Addresses of the packets.
var (
	client  = IP4(192, 168, 1, 20)
	server  = IP4(10, 0, 2, 7)
	router  = IP4(192, 168, 1, 1) // bench.h programs' MY_ADDR / MY_IP
	outside = IP4(8, 8, 8, 8)
)

func syn(sport, dport uint16) TCPHeader {
	return TCPHeader{Sport: sport, Dport: dport, Seq: 1000, Flags: SYN}
}

func data(sport, dport uint16) TCPHeader {
	return TCPHeader{Sport: sport, Dport: dport, Seq: 5000, Ack: 7000, Flags: ACK | PSH}
}

// Corpus is the benchmark set: the testdata/corpus programs, the
// testdata/bench programs, a selection of conformance tests and generated
// programs.
func Corpus() []Case {
	var cs []Case
	cs = append(cs, corpusCases()...)
	cs = append(cs, benchCases()...)
	cs = append(cs, conformanceCases()...)
	cs = append(cs, progenCases()...)
	return cs
}

// corpusCases are testdata/corpus's programs (Options.Dir/../corpus) on
// inputs like TestCorpus's.
func corpusCases() []Case {
	dns := IPv4UDP(client, outside, 40000, 53, DNSQuery(0x1234, "example.com", 1))
	echo := IPv4UDP(client, server, 5555, 7, []byte("ping!"))
	web := IPv4TCP(client, server, syn(50000, 80), nil)
	webData := IPv4TCP(server, client, data(443, 50001), []byte("hello, world"))
	ssh := IPv4TCP(client, server, syn(50004, 22), nil)
	withOpts := Ether(EtherIPv4, IPv4(IPv4Header{Src: client, Dst: server, Proto: ProtoUDP, Options: []byte{1, 1, 1, 0}},
		UDP(client, server, 1, 2, nil)))
	vlan := EtherTagged([]VLANTag{Tag(Ether8021Q, 0, 42)}, EtherIPv4,
		IPv4(IPv4Header{Src: client, Dst: outside, Proto: ProtoUDP}, UDP(client, outside, 3, 53, nil)))
	arp := Ether(EtherARP, ARP(1, MACA, client, make([]byte, 6), router))
	flow := func(i uint32, flags byte, n uint16) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 0x0a000001+i)
		b = binary.LittleEndian.AppendUint32(b, 0x0a0000ff)
		b = binary.LittleEndian.AppendUint16(b, uint16(2000+i))
		b = binary.LittleEndian.AppendUint16(b, 443)
		b = append(b, ProtoTCP, flags)
		return binary.LittleEndian.AppendUint16(b, n)
	}
	u64s := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		return b
	}
	return []Case{
		{Name: "xdp_parse", Kind: KindC, Source: "../corpus/xdp_parse.c",
			Inputs: corpusInputs(dns, echo, web, withOpts, vlan, arp)},
		{Name: "socket_filter", Kind: KindC, Source: "../corpus/socket_filter.c", Entry: "sock_filter",
			Inputs: corpusInputs(web, webData, ssh, dns, withOpts, arp)},
		{Name: "counter", Kind: KindC, Source: "../corpus/counter.c", Entry: "count_bytes",
			Inputs: corpusInputs(dns, Random(2, 300), make([]byte, 10))},
		{Name: "flow_table", Kind: KindC, Source: "../corpus/flow_table.c", Entry: "track",
			Inputs: corpusInputs(Cat(flow(1, 0, 100), flow(1, 0, 200), flow(1, 1, 300)),
				Cat(flow(1, 0, 1), flow(2, 0, 2), flow(3, 0, 3), flow(4, 0, 4), flow(5, 0, 5), flow(2, 1, 6)))},
		{Name: "checksum", Kind: KindC, Source: "../corpus/checksum.c",
			Inputs: corpusInputs(dns, withOpts, webData, Random(3, 600))},
		{Name: "tailcall", Kind: KindC, Source: "../corpus/tailcall.c", Entry: "dispatch",
			Inputs: corpusInputs([]byte{0, 1, 2, 3}, []byte{3, 3, 3}, Random(4, 80))},
		{Name: "subprogs", Kind: KindC, Source: "../corpus/subprogs.c",
			Inputs: corpusInputs(Random(5, 32), u64s(48, 18, 1<<40, ^uint64(0)), Random(6, 40))},
		{Name: "globals", Kind: KindC, Source: "../corpus/globals.c",
			Inputs: corpusInputs([]byte("bpfopt-mips32"), Random(8, 40))},
	}
}

// benchCases are testdata/bench's programs, each on realistic packets.
func benchCases() []Case {
	c := func(name string, packets ...[]byte) Case {
		return Case{Name: name, Kind: KindC, Source: name + ".c", Inputs: netInputs(packets...)}
	}
	tcpOpts := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7} // MSS 1460, SACK ok, TS, NOP, WS 7
	synOpts := IPv4TCP(client, server, TCPHeader{Sport: 40001, Dport: 443, Seq: 1, Flags: SYN, Options: tcpOpts}, nil)
	sackOpts := []byte{1, 1, 5, 18, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0, 0, 0x30, 0, 0, 0, 0x40, 0, 1, 1, 8, 10, 0, 1, 0, 0, 0, 2, 0, 0}
	httpGet := IPv4TCP(client, server, data(50010, 80), []byte("GET /api/v1/users/42/profile?fields=name,email HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	httpPost := IPv4TCP(client, server, data(50011, 80), []byte("POST /upload/images/new HTTP/1.1\r\nContent-Length: 0\r\n\r\n"))
	payload := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog.\n"), 12)
	binaryPayload := Random(11, 512)
	udpTo := func(dst uint32, dport uint16, p []byte) []byte { return IPv4UDP(client, dst, 41000, dport, p) }
	ping := func(dst uint32, n int) []byte {
		return Ether(EtherIPv4, IPv4(IPv4Header{Src: client, Dst: dst, Proto: ProtoICMP}, ICMPEcho(8, 0x77, 3, Random(12, n))))
	}
	badPing := ping(router, 56)
	badPing[len(badPing)-1] ^= 0xff
	ttl1 := Ether(EtherIPv4, IPv4(IPv4Header{Src: client, Dst: server, Proto: ProtoUDP, TTL: 1}, UDP(client, server, 1, 2, nil)))
	v6 := func(exts []IPv6Ext, proto byte, l4 []byte) []byte {
		return Ether(EtherIPv6, IPv6(0x20, 0x07, 64, 0x12345, exts, proto, l4))
	}
	v6udp := UDP(0, 0, 5353, 53, []byte("query"))
	v6tcp := make([]byte, 20)
	copy(v6tcp, Cat(BE16(51000), BE16(443)))
	tagged := func(tags []VLANTag) []byte {
		return EtherTagged(tags, EtherIPv4, IPv4(IPv4Header{Src: client, Dst: server, Proto: ProtoUDP}, UDP(client, server, 9, 9, nil)))
	}
	vx := func(vni uint32, inner []byte) []byte {
		return Ether(EtherIPv4, IPv4(IPv4Header{Src: IP4(172, 16, 0, 1), Dst: IP4(172, 16, 0, 2), Proto: ProtoUDP},
			UDP(0, 0, 49152+uint16(vni), 4789, VXLAN(vni, inner))))
	}
	innerTCP := IPv4TCP(IP4(10, 1, 0, 5), IP4(10, 1, 0, 9), data(33000, 8080), []byte("inner"))
	sctpLike := func(n int) []byte { // a payload whose last 4 bytes are its CRC-32C (little-endian)
		p := Ether(EtherIPv4, Random(13, n))
		return binary.LittleEndian.AppendUint32(p, crc32c(p[14:]))
	}
	natUDP := IPv4UDP(IP4(192, 168, 3, 44), outside, 5353, 53, DNSQuery(7, "printer.local", 1))
	natTCP := IPv4TCP(IP4(192, 168, 1, 20), server, data(50555, 443), []byte("tls record"))
	return []Case{
		c("parse_tcp4", IPv4TCP(client, server, syn(40000, 80), nil), httpGet,
			IPv4TCP(client, server, TCPHeader{Sport: 1, Dport: 7, Flags: SYN}, nil),
			IPv4TCP(client, server, TCPHeader{Sport: 1, Dport: 2, Flags: FIN | PSH | URG}, nil),
			synOpts, udpTo(server, 53, nil)),
		c("parse_ipv6", v6(nil, ProtoTCP, v6tcp),
			v6([]IPv6Ext{Ext(ProtoHop, []byte{1, 4, 0, 0, 0, 0}), Ext(ProtoDst, make([]byte, 14))}, ProtoUDP, v6udp),
			v6([]IPv6Ext{Ext(ProtoHop, make([]byte, 6)), Ext(ProtoRoute, make([]byte, 22)), Ext(ProtoFrag, make([]byte, 6)), Ext(ProtoDst, make([]byte, 6))}, ProtoTCP, v6tcp),
			v6([]IPv6Ext{Ext(ProtoFrag, []byte{0x05, 0xa8, 0, 0, 0, 1})}, ProtoUDP, v6udp),
			v6(nil, ProtoNone, nil)),
		c("vxlan_decap", vx(100, innerTCP), vx(5042, innerTCP), vx(7, innerTCP),
			vx(200, IPv4UDP(IP4(10, 2, 0, 1), IP4(10, 2, 0, 2), 68, 67, make([]byte, 30))), httpGet),
		c("ipv4_forward", IPv4TCP(client, server, syn(40000, 80), nil), udpTo(IP4(172, 16, 5, 5), 53, nil),
			Ether(EtherIPv4, IPv4(IPv4Header{Src: client, Dst: IP4(10, 9, 9, 9), Proto: ProtoUDP, Options: []byte{7, 7, 4, 0, 0, 0, 0, 0}}, UDP(0, 0, 1, 2, nil))),
			ttl1, udpTo(router, 53, nil), udpTo(outside, 123, Random(14, 48))),
		c("vlan_walk", tagged(nil), tagged([]VLANTag{Tag(Ether8021Q, 3, 150)}),
			tagged([]VLANTag{Tag(EtherQinQ, 5, 120), Tag(Ether8021Q, 0, 7)}),
			tagged([]VLANTag{Tag(EtherQinQ, 1, 101), Tag(Ether8021Q, 0, 4095)}),
			tagged([]VLANTag{Tag(EtherQinQ, 1, 110), Tag(Ether8021Q, 0, 20), Tag(Ether8021Q, 0, 30), Tag(Ether8021Q, 0, 40)}),
			tagged([]VLANTag{Tag(Ether8021Q, 0, 300)})),
		c("acl", IPv4TCP(IP4(10, 3, 3, 3), server, syn(40000, 22), nil), IPv4TCP(outside, server, syn(40000, 22), nil),
			udpTo(outside, 53, nil), IPv4TCP(IP4(172, 20, 1, 1), server, syn(40000, 8443), nil),
			IPv4TCP(outside, server, syn(40000, 443), nil), IPv4UDP(outside, server, 40000, 161, nil),
			IPv4UDP(IP4(203, 0, 113, 9), server, 40000, 5000, nil)),
		c("jhash", httpGet, IPv4UDP(client, outside, 40000, 53, DNSQuery(9, "www.example.org", 28)),
			IPv4UDP(client, server, 1, 2, Random(15, 200)), web(client, server)),
		c("fnv1a", udpTo(outside, 53, DNSQuery(0x55, "mail.example.net", 15)), udpTo(server, 9999, payload),
			udpTo(server, 5000, binaryPayload), udpTo(server, 5001, nil)),
		c("crc32c", sctpLike(48), sctpLike(200), sctpLike(300), IPv4TCP(client, server, syn(1, 2), nil)),
		c("nat44", natUDP, natTCP, IPv4TCP(outside, client, data(443, 50555), nil),
			Ether(EtherIPv4, IPv4(IPv4Header{Src: IP4(192, 168, 9, 9), Dst: outside, Proto: ProtoUDP}, UDP(0, 0, 4000, 4001, []byte("no checksum"))))),
		c("arp_reply", Ether(EtherARP, ARP(1, MACA, client, make([]byte, 6), router)),
			Ether(EtherARP, ARP(1, MACA, client, make([]byte, 6), IP4(192, 168, 1, 99))),
			Ether(EtherARP, ARP(2, MACA, client, MACB, router)),
			Ether(EtherARP, ARP(1, MACB, client, make([]byte, 6), router)), // spoofed: sender MAC ≠ source
			web(client, server)),
		c("dns_walk", udpTo(outside, 53, DNSQuery(0x1001, "www.Example.COM", 1)),
			udpTo(outside, 53, DNSQuery(0x1002, "a.very.long.subdomain.chain.of.labels.in.a.query.example.org", 28)),
			udpTo(outside, 53, DNSQuery(0x1003, "example.com", 255)),
			udpTo(outside, 53, DNSQuery(0x1004, "ads.tracker.example", 1)), udpTo(outside, 5353, nil)),
		c("byte_classes", httpGet, IPv4TCP(client, server, data(40000, 80), binaryPayload),
			udpTo(server, 9999, payload), udpTo(server, 9999, make([]byte, 300))),
		c("tcp_options", synOpts, IPv4TCP(client, server, TCPHeader{Sport: 40002, Dport: 80, Flags: ACK, Options: sackOpts}, nil),
			IPv4TCP(client, server, syn(40003, 80), nil),
			IPv4TCP(client, server, TCPHeader{Sport: 40004, Dport: 80, Flags: SYN, Options: []byte{2, 4, 5, 0xb4, 3, 3, 14, 1, 4, 2, 0, 0}}, nil)),
		c("icmp_echo", ping(router, 56), ping(router, 1000), ping(server, 56), badPing,
			ping(router, 7)),
		c("http_method", httpGet, httpPost,
			IPv4TCP(client, server, data(50012, 80), []byte("CONNECT example.com:443 HTTP/1.1\r\n\r\n")),
			IPv4TCP(client, server, data(50013, 80), []byte("OPTIONS * HTTP/1.1\r\n\r\n")),
			IPv4TCP(client, server, data(50014, 80), binaryPayload)),
	}
}

func web(src, dst uint32) []byte { return IPv4TCP(src, dst, syn(50000, 80), nil) }

// crc32c is the CRC-32C of b (Castagnoli, reflected), as crc32c.c
// computes it.
func crc32c(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			crc = crc>>1 ^ 0x82f63b78&-(crc&1)
		}
	}
	return ^crc
}

// conformanceCases are the conformance tests whose work is not decided
// at compile time (most of the suite computes on constants, which -O2
// folds to a constant return): a loop with 64-bit division, a packet
// match, loads of every width, subprogram calls, atomics and a chain of
// stores.
func conformanceCases() []Case {
	var cs []Case
	for _, name := range conformanceSelection {
		cs = append(cs, Case{Name: "conf_" + name, Kind: KindConformance, Source: name})
	}
	return cs
}

var conformanceSelection = []string{
	"prime", "subnet", "ldxb-all", "ldxh-all", "ldxh-all2", "ldxw-all", "call_local",
	"rfc9669_call_local", "lock_cmpxchg", "rfc9669_lock_cmpxchg64", "rfc9669_lock_xor64",
	"lock_xchg32", "stxb-chain",
}

// progenCases are large generated programs (64 bytes of memory each).
// Their bodies are random: an early conditional exit ends most runs
// after a few thousand instructions, and -O2 proves much of the code
// dead, so these rows measure compile time and dead-code removal rather
// than code quality (GeoMeans leaves them out).
func progenCases() []Case {
	gen := func(seed uint64, insns int) Case {
		o := progen.Options{MemSize: 64, MaxInsns: insns, AllowAtomics: true, AllowV4: true, AllowDiv: true, Loops: true}
		return Case{Name: "progen_" + strconv.Itoa(insns), Kind: KindProgen, Gen: o, Seed: seed, Inputs: [][]byte{Random(seed, 64)}}
	}
	return []Case{gen(1, 1000), gen(2, 4000), gen(3, 12000)}
}
