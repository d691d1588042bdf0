package campaign

import (
	"io"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/ir"
	"github.com/bpfopt/bpfopt/passes"
)

// Compile compiles p as the command-line tool does (cmd/bpfopt/pipeline's
// Compile: lift, the level's passes with the verifier after each, the
// backend with the allocation checker), writing the IR after lift and
// after every pass to dump (nil: none) under "; after NAME" lines.
//
// It repeats pipeline.Compile's few calls instead of importing it, because
// pipeline imports the qemu engine, whose //go:embed of its C runner
// go-fuzz-build cannot copy; TestCompileMatchesPipeline keeps the two
// identical.
func Compile(p *bpf.Program, t mips32.Target, level int, dump io.Writer) (*mips32.Module, []*ir.Func, error) {
	funcs, err := bpf.Lift(p, "prog", bpf.LiftOptions{BigEndian: t.BigEndian})
	if err != nil {
		return nil, nil, err
	}
	cfg := &passes.Config{BigEndian: t.BigEndian, VerifyEach: true}
	if dump != nil {
		cfg.DumpAfter, cfg.Dump = "all", dump
	}
	for _, f := range funcs {
		if dump != nil {
			if _, err := io.WriteString(dump, "; after lift\n"+f.String()); err != nil {
				return nil, nil, err
			}
		}
		if _, err := passes.Run(f, level, cfg); err != nil {
			return nil, nil, err
		}
	}
	mod, err := mips32.CompileModule(funcs, 1, mips32.Options{Target: t, CheckAllocation: true, Unoptimized: level == 0})
	if err != nil {
		return nil, nil, err
	}
	return mod, funcs, nil
}
