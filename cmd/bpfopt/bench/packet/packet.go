// Package packet builds network packets for tests and benchmarks:
// Ethernet (with VLAN tags), ARP, IPv4 (correct header checksum), IPv6
// with extension headers, UDP, TCP (with options), ICMP echo, VXLAN and
// DNS queries, each as a plain byte slice in network byte order that the
// next layer's builder appends to. It depends on nothing but the standard
// library, so any test package can import it.
package packet

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
)

// EtherTypes and IP protocol numbers the builders use.
const (
	EtherIPv4  = 0x0800
	EtherARP   = 0x0806
	Ether8021Q = 0x8100
	EtherQinQ  = 0x88a8
	EtherIPv6  = 0x86dd
	ProtoICMP  = 1
	ProtoTCP   = 6
	ProtoUDP   = 17
	ProtoHop   = 0
	ProtoRoute = 43
	ProtoFrag  = 44
	ProtoDst   = 60
	ProtoNone  = 59
)

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
)

// Addresses used by default.
var (
	MACA = []byte{0x02, 0, 0, 0, 0, 1}
	MACB = []byte{0x02, 0, 0, 0, 0, 2}
)

// Cat concatenates byte slices.
func Cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// BE16 and BE32 are v in network byte order.
func BE16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func BE32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// IP4 is a dotted-quad address as a 32-bit value (a.b.c.d → 0xaabbccdd).
func IP4(a, b, c, d byte) uint32 { return uint32(a)<<24 | uint32(b)<<16 | uint32(c)<<8 | uint32(d) }

// Ether is an Ethernet frame from MACA to MACB.
func Ether(proto uint16, payload []byte) []byte { return Cat(MACB, MACA, BE16(proto), payload) }

// EtherFrom is an Ethernet frame with the given addresses.
func EtherFrom(dst, src []byte, proto uint16, payload []byte) []byte {
	return Cat(dst, src, BE16(proto), payload)
}

// VLANTag is one tag: the TPID that announced it, priority and VLAN ID.
type VLANTag struct {
	TPID     uint16
	PCP, VID uint16
}

// EtherTagged is an Ethernet frame with the given tags, outermost first.
func EtherTagged(tags []VLANTag, proto uint16, payload []byte) []byte {
	b := Cat(MACB, MACA)
	for _, t := range tags {
		b = append(b, BE16(t.TPID)...)
		b = append(b, BE16(t.PCP<<13|t.VID&0xfff)...)
	}
	b = append(b, BE16(proto)...)
	return append(b, payload...)
}

// Checksum is the Internet checksum (RFC 1071) of b.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// IPv4Header describes an IPv4 header; a zero TTL becomes 64.
type IPv4Header struct {
	Src, Dst uint32
	Proto    byte
	TTL      byte
	FragOff  uint16 // flags and fragment offset, as in the header
	Options  []byte // a multiple of 4 bytes
	ID       uint16
}

// IPv4 is the header h with a correct checksum, then payload.
func IPv4(h IPv4Header, payload []byte) []byte {
	if h.TTL == 0 {
		h.TTL = 64
	}
	hl := 20 + len(h.Options)
	b := make([]byte, 20, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(b[4:], h.ID)
	binary.BigEndian.PutUint16(b[6:], h.FragOff)
	b[8], b[9] = h.TTL, h.Proto
	binary.BigEndian.PutUint32(b[12:], h.Src)
	binary.BigEndian.PutUint32(b[16:], h.Dst)
	b = append(b, h.Options...)
	binary.BigEndian.PutUint16(b[10:], Checksum(b))
	return append(b, payload...)
}

// pseudoSum is the IPv4 pseudo-header the L4 checksums cover.
func pseudoSum(src, dst uint32, proto byte, length int) []byte {
	return Cat(BE32(src), BE32(dst), []byte{0, proto}, BE16(uint16(length)))
}

// UDP is a UDP datagram; with src and dst non-zero its checksum is
// computed over the IPv4 pseudo-header, else left 0.
func UDP(src, dst uint32, sport, dport uint16, payload []byte) []byte {
	b := Cat(BE16(sport), BE16(dport), BE16(uint16(8+len(payload))), BE16(0), payload)
	if src != 0 || dst != 0 {
		c := Checksum(Cat(pseudoSum(src, dst, ProtoUDP, len(b)), b))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(b[6:], c)
	}
	return b
}

// TCPHeader describes a TCP header.
type TCPHeader struct {
	Sport, Dport uint16
	Seq, Ack     uint32
	Flags        byte
	Window       uint16
	Options      []byte // a multiple of 4 bytes (pad with NOPs)
}

// TCP is a TCP segment with its checksum over the IPv4 pseudo-header of
// src and dst.
func TCP(src, dst uint32, h TCPHeader, payload []byte) []byte {
	if h.Window == 0 {
		h.Window = 65535
	}
	hl := 20 + len(h.Options)
	b := make([]byte, 20, hl+len(payload))
	binary.BigEndian.PutUint16(b, h.Sport)
	binary.BigEndian.PutUint16(b[2:], h.Dport)
	binary.BigEndian.PutUint32(b[4:], h.Seq)
	binary.BigEndian.PutUint32(b[8:], h.Ack)
	b[12], b[13] = byte(hl/4)<<4, h.Flags
	binary.BigEndian.PutUint16(b[14:], h.Window)
	b = append(b, h.Options...)
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[16:], Checksum(Cat(pseudoSum(src, dst, ProtoTCP, len(b)), b)))
	return b
}

// IPv4TCP is Ethernet, IPv4 and TCP from src to dst.
func IPv4TCP(src, dst uint32, h TCPHeader, payload []byte) []byte {
	return Ether(EtherIPv4, IPv4(IPv4Header{Src: src, Dst: dst, Proto: ProtoTCP}, TCP(src, dst, h, payload)))
}

// IPv4UDP is Ethernet, IPv4 and UDP from src to dst.
func IPv4UDP(src, dst uint32, sport, dport uint16, payload []byte) []byte {
	return Ether(EtherIPv4, IPv4(IPv4Header{Src: src, Dst: dst, Proto: ProtoUDP}, UDP(src, dst, sport, dport, payload)))
}

// ICMPEcho is an ICMP echo request (typ 8) or reply (0) with a correct
// checksum.
func ICMPEcho(typ byte, id, seq uint16, payload []byte) []byte {
	b := Cat([]byte{typ, 0, 0, 0}, BE16(id), BE16(seq), payload)
	binary.BigEndian.PutUint16(b[2:], Checksum(b))
	return b
}

// ARP is an Ethernet/IPv4 ARP message (op 1 request, 2 reply).
func ARP(op uint16, sha []byte, sip uint32, tha []byte, tip uint32) []byte {
	return Cat(BE16(1), BE16(EtherIPv4), []byte{6, 4}, BE16(op), sha, BE32(sip), tha, BE32(tip))
}

// IPv6Ext is an extension header: its type (the previous header's next
// header value) and body (options; padded to a multiple of 8 with the
// first two bytes, fragment headers exactly 8).
type IPv6Ext struct {
	Type byte
	Body []byte // after the next-header and length bytes
}

// IPv6 is an IPv6 header (source and destination from the low bytes
// given) followed by the extension headers and the transport payload of
// protocol proto.
func IPv6(src, dst byte, hopLimit byte, flow uint32, exts []IPv6Ext, proto byte, payload []byte) []byte {
	var rest []byte
	for i, e := range exts {
		next := proto
		if i+1 < len(exts) {
			next = exts[i+1].Type
		}
		h := append([]byte{next, 0}, e.Body...)
		for len(h)%8 != 0 {
			h = append(h, 0)
		}
		if e.Type != ProtoFrag {
			h[1] = byte(len(h)/8 - 1)
		}
		rest = append(rest, h...)
	}
	rest = append(rest, payload...)
	first := proto
	if len(exts) > 0 {
		first = exts[0].Type
	}
	addr := func(low byte) []byte {
		return []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, low}
	}
	h := Cat(BE32(6<<28|flow&0xfffff), BE16(uint16(len(rest))), []byte{first, hopLimit}, addr(src), addr(dst))
	return append(h, rest...)
}

// VXLAN is a VXLAN header with the VNI-present flag and vni.
func VXLAN(vni uint32, inner []byte) []byte { return Cat(BE32(0x08000000), BE32(vni<<8), inner) }

// DNSQuery is a DNS query for name (dotted) with qtype and class IN.
func DNSQuery(id uint16, name string, qtype uint16) []byte {
	b := Cat(BE16(id), BE16(0x0100), BE16(1), BE16(0), BE16(0), BE16(0))
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0)
	return Cat(b, BE16(qtype), BE16(1))
}

// Random is n pseudo-random bytes from seed.
func Random(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Tag is a VLANTag.
func Tag(tpid, pcp, vid uint16) VLANTag { return VLANTag{TPID: tpid, PCP: pcp, VID: vid} }

// Ext is an IPv6Ext.
func Ext(typ byte, body []byte) IPv6Ext { return IPv6Ext{Type: typ, Body: body} }
