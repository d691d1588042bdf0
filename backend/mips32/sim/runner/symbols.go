package runner

import (
	"errors"
	"fmt"

	"github.com/bpfopt/bpfopt/backend/mips32/sim"
	"github.com/bpfopt/bpfopt/internal/bpfrt"
	"github.com/bpfopt/bpfopt/ir"
)

// symbols are the routines the runtime serves, by symbol (see the package
// documentation). Under O32 a helper is
//
//	uint64_t helper(uint64_t r1, ..., uint64_t rN);
//
// with N its bpfrt.Helper.Args (a caller may pass more: they are ignored),
// a dispatcher uint64_t callx(uint64_t id, uint64_t r1, ..., uint64_t r5),
// and bpf_tail_call_target(uint64_t map, uint64_t index).
var symbols = func() map[string]*ir.RuntimeFunc {
	syms := map[string]*ir.RuntimeFunc{}
	add := func(name string, params int, eval func(c *call, a []uint64) (uint64, error)) {
		types := make([]ir.Type, params)
		for i := range types {
			types[i] = ir.I64
		}
		syms[name] = &ir.RuntimeFunc{Name: name, Params: types, Result: ir.I64,
			Eval: func(m ir.Memory, a []uint64) (uint64, error) {
				c, err := newCall(m)
				if err != nil {
					return 0, fmt.Errorf("%s: %w", name, err)
				}
				return eval(c, a)
			}}
	}
	set := func(prefix string, helpers []bpfrt.Helper) {
		table := bpfrt.Table(helpers)
		for _, h := range helpers {
			add(fmt.Sprintf("%s_helper_%d", prefix, h.ID), h.Args, func(c *call, a []uint64) (uint64, error) {
				return serve(c, h, a)
			})
		}
		callx := prefix + "_callx"
		add(callx, 6, func(c *call, a []uint64) (uint64, error) {
			h, ok := table[int32(a[0])]
			if a[0] > 1<<31-1 || !ok {
				return 0, fmt.Errorf("unknown helper id %s in %s", cNumber(a[0]), callx)
			}
			return serve(c, h, a[1:])
		})
	}
	set("bpf", bpfrt.KernelHelpers)
	set("ubpf", bpfrt.ConformanceHelpers)
	add(TailCallTargetSymbol, 2, func(c *call, a []uint64) (uint64, error) {
		r, err := c.tailCallTarget(a[0], a[1])
		if err != nil {
			return 0, fmt.Errorf("%s: %w", TailCallTargetSymbol, err)
		}
		return r, nil
	})
	return syms
}()

// serve runs helper h on the arguments a (r1.. as many as the caller
// passed); an error names the helper as the C runner's messages do.
func serve(c *call, h bpfrt.Helper, a []uint64) (uint64, error) {
	var r [5]uint64
	copy(r[:], a)
	res, err := h.Func(c, r)
	switch {
	case errors.Is(err, bpfrt.ErrStop):
		return 0, &sim.Stop{R0: res}
	case err != nil:
		return 0, fmt.Errorf("%s: %w", h.Name, err)
	}
	return res, nil
}
