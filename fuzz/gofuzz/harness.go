//go:build gofuzz

package gofuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/fuzz/campaign"
)

// Fuzz is the differential harness: reference interpreter, IR interpreter
// after lift and after every pass, and compiled code on the simulator must
// agree (campaign.CheckInput). Every input is a valid program, so every
// input is worth keeping.
func Fuzz(data []byte) int {
	if f := campaign.CheckInput(data, nil); f != nil {
		panic(f.String())
	}
	return 1
}

// FuzzDeterminism: two compilations give identical IR after every pass
// and identical machine code.
func FuzzDeterminism(data []byte) int {
	p, _ := campaign.ProgramFromInput(data, campaign.InputOptions)
	if f := campaign.CheckDeterminism(p, nil); f != nil {
		panic(f.String())
	}
	return 1
}

// FuzzCompile: every generated program compiles at -O0 and -O2 for R1 and
// R2 with the IR verifier and the allocation checker on.
func FuzzCompile(data []byte) int {
	p, _ := campaign.CompileProgramFromInput(data)
	for _, level := range campaign.DefaultLevels {
		for _, t := range campaign.DefaultTargets {
			_, _, err := campaign.Compile(p, t, level, nil)
			if err != nil {
				panic(fmt.Sprintf("%s -O%d: %v\n%s", t, level, err, bpf.Disassemble(p)))
			}
		}
	}
	return 1
}

// FuzzDecode: raw bytecode either fails to decode with a *bpf.Error or
// survives encoding (byte for byte) and the assembly round trip, in both
// byte orders.
func FuzzDecode(data []byte) int {
	score := -1
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		p, err := bpf.Decode(data, order)
		if err != nil {
			mustBeBPFError(err)
			continue
		}
		if !bytes.Equal(bpf.Encode(p, order), data) {
			panic(fmt.Sprintf("Encode does not invert Decode (%v):\n%s", order, bpf.Disassemble(p)))
		}
		checkAsmRoundTrip(p)
		score = 1
	}
	return score
}

// FuzzParseAsm: assembly text either fails with a *bpf.Error or survives
// the disassembly round trip and the encoding round trip.
func FuzzParseAsm(data []byte) int {
	p, err := bpf.ParseAsm(string(data))
	if err != nil {
		mustBeBPFError(err)
		return 0
	}
	checkAsmRoundTrip(p)
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		q, err := bpf.Decode(bpf.Encode(p, order), order)
		if err != nil {
			panic(fmt.Sprintf("encoded program does not decode: %v\n%s", err, bpf.Disassemble(p)))
		}
		if bpf.Disassemble(q) != bpf.Disassemble(p) {
			panic("encode/decode changed the program:\n" + bpf.Disassemble(p) + "\nbecame\n" + bpf.Disassemble(q))
		}
	}
	return 1
}

func checkAsmRoundTrip(p *bpf.Program) {
	text := bpf.Disassemble(p)
	q, err := bpf.ParseAsm(text)
	if err != nil {
		panic(fmt.Sprintf("disassembly does not parse: %v\n%s", err, text))
	}
	if again := bpf.Disassemble(q); again != text {
		panic("disassemble/parse round trip changed the program:\n" + text + "\nbecame\n" + again)
	}
}

func mustBeBPFError(err error) {
	var e *bpf.Error
	if !errors.As(err, &e) {
		panic(fmt.Sprintf("error %v has type %T, want *bpf.Error", err, err))
	}
}
