package progen

import "math/rand/v2"

// source supplies every choice the generator makes. Generate draws them from
// a seeded PRNG; FromBytes reads them from the fuzzer's input, so that a
// mutation of the bytes is a local mutation of the program and a short input
// is a short program.
type source interface {
	intn(n int) int // in [0, n); 0 once the source is exhausted
	u64() uint64
	exhausted() bool
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return s.r.IntN(n)
}

func (s randSource) u64() uint64     { return s.r.Uint64() }
func (s randSource) exhausted() bool { return false }

// byteSource reads choices from a byte slice: one byte per choice among at
// most 256 alternatives, two for up to 65536, eight for a 64-bit value.
// Past the end every byte reads as zero, which always selects the first,
// simplest alternative.
type byteSource struct{ data []byte }

func (s *byteSource) next() byte {
	if len(s.data) == 0 {
		return 0
	}
	b := s.data[0]
	s.data = s.data[1:]
	return b
}

func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	v := 0
	for span := 1; span < n; span <<= 8 {
		v = v<<8 | int(s.next())
	}
	return v % n
}

func (s *byteSource) u64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(s.next())
	}
	return v
}

func (s *byteSource) exhausted() bool { return len(s.data) == 0 }
