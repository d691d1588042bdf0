package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Fuzz targets: no input may panic, errors are *Error (or, for ELF, plain
// errors), and whatever decodes survives every round trip.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=20s ./frontend/bpf/
//	go test -run='^$' -fuzz=FuzzParseAsm -fuzztime=20s ./frontend/bpf/
//	go test -run='^$' -fuzz=FuzzLoadELF -fuzztime=20s -fuzzminimizetime=1s ./frontend/bpf/
//
// (FuzzLoadELF needs the short minimization time: minimizing an interesting
// multi-kilobyte object takes the default minute per input.)

var byteOrders = []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}

// fuzzRun interprets p with small limits: it must not panic.
func fuzzRun(p *Program) {
	_, _ = Interpret(p, RunConfig{Mem: make([]byte, 64), Helpers: ConformanceHelpers(), MaxSteps: 2000})
}

// checkRoundTrips asserts that p survives Encode/Decode in both byte orders
// and Disassemble/ParseAsm.
func checkRoundTrips(t *testing.T, p *Program) {
	for _, order := range byteOrders {
		raw := Encode(p, order)
		q, err := Decode(raw, order)
		require.NoError(t, err)
		requireSameProgram(t, p, q, "encode/decode")
	}
	text := Disassemble(p)
	q, err := ParseAsm(text)
	require.NoError(t, err, text)
	requireSameProgram(t, p, q, text)
}

func requireBPFError(t *testing.T, err error) {
	var e *Error
	require.True(t, errors.As(err, &e), "error %v has type %T, want *Error", err, err)
}

func FuzzDecode(f *testing.F) {
	for _, ct := range loadSuite(f) {
		p, err := ParseAsm(ct.Asm)
		require.NoError(f, err)
		f.Add(Encode(p, binary.LittleEndian))
	}
	f.Add([]byte{0x18, 0x01, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, order := range byteOrders {
			p, err := Decode(data, order)
			if err != nil {
				requireBPFError(t, err)
				continue
			}
			require.Equal(t, data, Encode(p, order), "Encode inverts Decode byte for byte")
			checkRoundTrips(t, p)
			fuzzRun(p)
		}
	})
}

func FuzzParseAsm(f *testing.F) {
	for _, ct := range loadSuite(f) {
		f.Add(ct.Asm)
	}
	f.Add("lock fetch xor32 [%r1-4], %r2\nldabsh 3\nlddw %r1, -1, map_value\ncall kfunc 3\nexit")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParseAsm(src)
		if err != nil {
			requireBPFError(t, err)
			return
		}
		checkRoundTrips(t, p)
		fuzzRun(p)
	})
}

func FuzzLoadELF(f *testing.F) {
	for _, path := range elfObjects {
		obj, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(obj)
		f.Add(obj[:len(obj)/2])
	}
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := LoadELFPrograms(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, ep := range eps {
			require.NoError(t, ep.Validate())
			checkRoundTrips(t, ep.Program)
			fuzzRun(ep.Program)
		}
	})
}
