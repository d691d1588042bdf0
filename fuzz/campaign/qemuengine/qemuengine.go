// Package qemuengine is campaign's machine-code engine on qemu-user
// (backend/mips32/qemu), the alternative to the in-process simulator:
//
//	campaign.CheckProgram(p, mem, &campaign.Config{Engine: qemuengine.New})
//
// It lives apart from campaign because go-fuzz-build cannot copy the qemu
// runner's //go:embed'ed C sources, so the go-fuzz harnesses must not
// import it.
//
// Import rule: campaign and backend/mips32/qemu; nothing in the compiler
// may import it.
package qemuengine

import (
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/backend/mips32/qemu"
	"github.com/bpfopt/bpfopt/fuzz/campaign"
)

type engine struct{ e *qemu.Engine }

func (engine) Name() string { return "qemu" }

func (e engine) Run(code []byte, relocs []mips32.Reloc, entry uint32, mem []byte) (campaign.Execution, error) {
	res, err := e.e.Run(code, relocs, entry, mem)
	if err != nil {
		return campaign.Execution{}, err
	}
	x := campaign.Execution{R0: res.R0, Mem: res.Mem}
	if res.Fault != nil {
		x.Err = res.Fault.Error()
	}
	return x, nil
}

// New is a campaign.EngineFactory: it runs code under qemu-user through
// the shared engine of the target (Debian packages qemu-user and
// gcc-mipsel-linux-gnu). qemu bounds runs by time, so maxSteps is unused.
func New(t mips32.Target, maxSteps int64) (campaign.Engine, error) {
	e, err := qemu.Shared(t)
	if err != nil {
		return nil, fmt.Errorf("qemu engine for %s: %w (install qemu-user and gcc-mipsel-linux-gnu)", t, err)
	}
	return engine{e}, nil
}

var _ campaign.EngineFactory = New
