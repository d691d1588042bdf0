package pipeline

import (
	"testing"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

// BenchmarkCompileLong compiles a generated program of about 100,000
// instructions (long forward and backward jumps) at -O2.
func BenchmarkCompileLong(b *testing.B) {
	p, err := bpf.ParseAsm(longProgram(100_000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var code int
	for b.Loop() {
		res, err := Compile(p, "long", Options{Target: mips32.DefaultTarget, OptLevel: 2})
		if err != nil {
			b.Fatal(err)
		}
		code = len(res.Module.Code)
	}
	b.ReportMetric(float64(len(p.Insns)), "bpf_insns")
	b.ReportMetric(float64(code)/4/float64(len(p.Insns)), "mips_insns/bpf_insn")
}

// BenchmarkConformanceCodeSize compiles every conformance program that
// compiles and reports MIPS instructions emitted per BPF instruction.
func BenchmarkConformanceCodeSize(b *testing.B) {
	tests, err := conformance.LoadDir(conformance.Dir())
	if err != nil {
		b.Fatal(err)
	}
	var progs []*bpf.Program
	for _, tc := range tests {
		if p, err := bpf.ParseAsm(tc.Asm); err == nil {
			progs = append(progs, p)
		}
	}
	for _, level := range []int{0, 2} {
		b.Run(map[int]string{0: "O0", 2: "O2"}[level], func(b *testing.B) {
			var bpfInsns, mipsInsns int
			for b.Loop() {
				bpfInsns, mipsInsns = 0, 0
				for _, p := range progs {
					res, err := Compile(p, "f", Options{Target: mips32.DefaultTarget, OptLevel: level})
					if err != nil {
						continue
					}
					bpfInsns += len(p.Insns)
					mipsInsns += len(res.Module.Code) / 4
				}
			}
			b.ReportMetric(float64(mipsInsns)/float64(bpfInsns), "mips_insns/bpf_insn")
		})
	}
}
