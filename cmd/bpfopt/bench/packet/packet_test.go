package packet

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestChecksum(t *testing.T) {
	// RFC 1071, section 3: the sum of these words is 0xddf2.
	require.Equal(t, uint16(^uint16(0xddf2)), Checksum(unhex(t, "0001f203f4f5f6f7")))
	require.Equal(t, uint16(^uint16(0xddf2)), Checksum(unhex(t, "0001f203f4f5f6f7"+"0000")))
	require.Equal(t, uint16(0xffff), Checksum(nil))
}

func TestIPv4(t *testing.T) {
	// A header whose checksum (0xb861) is widely quoted (Wikipedia's example).
	want := unhex(t, "45000073"+"00004000"+"4011b861"+"c0a80001"+"c0a800c7")
	got := IPv4(IPv4Header{Src: IP4(192, 168, 0, 1), Dst: IP4(192, 168, 0, 199), Proto: ProtoUDP, FragOff: 0x4000}, make([]byte, 0x73-20))
	require.Equal(t, want, got[:20])
}

func TestL4Checksums(t *testing.T) {
	src, dst := IP4(10, 0, 0, 1), IP4(10, 0, 0, 2)
	pseudo := func(proto byte, seg []byte) []byte {
		return Cat(BE32(src), BE32(dst), []byte{0, proto}, BE16(uint16(len(seg))), seg)
	}
	u := UDP(src, dst, 1000, 53, []byte("odd"))
	require.Equal(t, uint16(0), Checksum(pseudo(ProtoUDP, u)), "a correct checksum sums to 0xffff")
	tc := TCP(src, dst, TCPHeader{Sport: 1, Dport: 2, Flags: SYN, Options: []byte{2, 4, 5, 0xb4}}, []byte("data"))
	require.Equal(t, byte(6<<4), tc[12], "data offset: 24 bytes")
	require.Equal(t, uint16(0), Checksum(pseudo(ProtoTCP, tc)))
	e := ICMPEcho(8, 1, 2, []byte("ping"))
	require.Equal(t, uint16(0), Checksum(e))
}

func TestLayouts(t *testing.T) {
	f := EtherTagged([]VLANTag{Tag(EtherQinQ, 0, 100), Tag(Ether8021Q, 3, 7)}, EtherIPv4, []byte{0xee})
	require.Equal(t, unhex(t, "88a80064"+"81006007"+"0800ee"), f[12:])
	require.Equal(t, Cat([]byte{3}, []byte("www"), []byte{7}, []byte("example"), []byte{3}, []byte("com"), []byte{0}, BE16(28), BE16(1)),
		DNSQuery(9, "www.example.com", 28)[12:])
	v6 := IPv6(1, 2, 64, 5, []IPv6Ext{Ext(ProtoHop, make([]byte, 6)), Ext(ProtoFrag, make([]byte, 6))}, ProtoUDP, []byte{1})
	require.Equal(t, byte(ProtoHop), v6[6], "the first next header")
	require.Equal(t, []byte{ProtoFrag, 0}, v6[40:42], "hop-by-hop: next header, 8 bytes long")
	require.Equal(t, byte(ProtoUDP), v6[48], "fragment header's next header")
	require.Equal(t, BE16(8+8+1), v6[4:6], "payload length")
	require.True(t, bytes.Equal(Random(1, 8), Random(1, 8)))
}
