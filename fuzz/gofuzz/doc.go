// Package gofuzz holds the go-fuzz harnesses (github.com/dvyukov/go-fuzz):
// func Fuzz(data []byte) int entry points, built only with the gofuzz build
// tag, which go-fuzz-build sets. They check what the native Go fuzz targets
// check (fuzz/campaign's FuzzDifferential, FuzzCompile and FuzzDeterminism,
// frontend/bpf's FuzzDecode and FuzzParseAsm) and read inputs the same way,
// so corpora carry over (campaign.ProgramFromInput). go-fuzz adds what the native engine lacks:
// coordinator/worker mode across machines. docs/fuzzing.md shows how:
//
//	go-fuzz-build -o /tmp/bpfopt-fuzz.zip ./fuzz/gofuzz
//	mkdir -p /tmp/gf-diff/corpus && cp fuzz/gofuzz/corpus-progen/* /tmp/gf-diff/corpus/
//	go-fuzz -bin /tmp/bpfopt-fuzz.zip -func Fuzz -workdir /tmp/gf-diff -minimize 1s
//
// The corpus-* directories hold seeds: corpus-progen for Fuzz,
// FuzzDeterminism and FuzzCompile, corpus-decode (bytecode) for
// FuzzDecode, corpus-asm for FuzzParseAsm.
//
// A harness panics on a bug; it returns 1 for inputs worth keeping in the
// corpus, 0 otherwise, and -1 for inputs go-fuzz should drop.
//
// Import rule: like fuzz/campaign, it may import anything in the module;
// nothing may import it.
package gofuzz
