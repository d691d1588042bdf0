package sim

import (
	"fmt"
)

// Env is the ir.Memory the simulator passes an extern's Eval: the run's
// address space, with what a runtime written in Go needs beyond loads and
// stores: byte views, the runtime heap and per-run state. An extern reaches
// it by a type assertion (m.(*sim.Env)); it is valid during the call only.
//
// Values are in the target's byte order; accesses need no alignment (the
// routines are C code that memcpy-s as it likes). The first failing
// access is kept, to be reported as the run's fault with its address, as a
// C routine's SIGSEGV would be.
type Env struct {
	c    *cpu
	miss *Fault
}

// Load reads a 1-, 2-, 4- or 8-byte value.
func (e *Env) Load(addr uint32, size int) (uint64, error) {
	b, err := e.sized(addr, size)
	if err != nil {
		return 0, err
	}
	if e.c.mem.be {
		return beUint(b), nil
	}
	return leUint(b), nil
}

// Store writes a 1-, 2-, 4- or 8-byte value.
func (e *Env) Store(addr uint32, size int, val uint64) error {
	b, err := e.sized(addr, size)
	if err != nil {
		return err
	}
	for i := range b {
		sh := 8 * i
		if e.c.mem.be {
			sh = 8 * (len(b) - 1 - i)
		}
		b[i] = byte(val >> sh)
	}
	return nil
}

func (e *Env) sized(addr uint32, size int) ([]byte, error) {
	switch size {
	case 1, 2, 4, 8:
		return e.Bytes(addr, uint32(size))
	}
	return nil, fmt.Errorf("memory access of unsupported size %d at %#x", size, addr)
}

// Bytes returns the n bytes at addr as a slice of the live memory, for
// reading and writing, or an error when they do not lie in one mapped
// region; then the first unmapped byte is the fault's address. The slice
// is valid until the next Alloc.
func (e *Env) Bytes(addr, n uint32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if b := e.c.mem.storeAt(addr, n); b != nil { // storeAt: the caller may write
		return b, nil
	}
	bad := addr
	for i := uint32(0); i < n && e.c.mem.at(addr+i, 1) != nil; i++ {
		bad = addr + i + 1
	}
	kind := e.c.mem.missKind(bad)
	err := fmt.Errorf("%d bytes at 0x%08x: %s at 0x%08x", n, addr, kind, bad)
	if e.miss == nil {
		e.miss = &Fault{Kind: kind, Addr: bad, Msg: err.Error()}
	}
	return nil, err
}

// BigEndian reports the target's byte order.
func (e *Env) BigEndian() bool { return e.c.mem.be }

// HeapFree is how many bytes of the runtime heap are not allocated yet.
func (e *Env) HeapFree() uint64 { return uint64(e.c.m.opts.HeapSize - len(e.c.mem.heap)) }

// Alloc allocates size zeroed bytes of the runtime heap, rounded up to 8,
// and returns their address; ok is false when they do not fit. The heap
// is emptied before every run and only what a run allocated is mapped.
func (e *Env) Alloc(size uint64) (addr uint32, ok bool) {
	size = (size + 7) &^ 7
	if size > e.HeapFree() {
		return 0, false
	}
	h := &e.c.mem.heap
	addr = HeapBase + uint32(len(*h))
	n := len(*h) + int(size)
	if n > cap(*h) {
		grown := make([]byte, len(*h), max(n, 2*cap(*h), 4096))
		copy(grown, *h)
		*h = grown
	}
	*h = (*h)[:n]
	clear((*h)[n-int(size):])
	return addr, true
}

// RunState is the externs' state for this run: made by
// Options.NewRunState at the first call of a run that asks for it, and
// dropped when the run ends. It is nil without Options.NewRunState.
func (e *Env) RunState() any {
	c := e.c
	if c.runState == nil && c.m.opts.NewRunState != nil {
		c.runState = c.m.opts.NewRunState()
	}
	return c.runState
}
