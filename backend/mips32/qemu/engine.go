// Package qemu runs compiled MIPS32 functions under qemu-user (qemu-mipsel,
// qemu-mips): a small freestanding C program, runner/runner.c, is cross-compiled on
// first use, started under qemu, and then executes any number of functions
// sent to it over a pipe, reporting results, final memory, faults and
// time-outs. It is the "real MIPS execution" oracle of the tests.
//
// It knows MIPS (it imports backend/mips32) but nothing of eBPF or the IR:
// it runs machine code with relocations against a memory block. The BPF
// helpers the runner offers (runner/helpers.c) are, to this side, runtime
// symbols like any other; a helper that stops the program with an error is
// reported as Fault.Stop.
//
// External tools: the Debian packages gcc-mipsel-linux-gnu (or
// gcc-mips-linux-gnu for big-endian) and qemu-user.
package qemu

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// Options configure an Engine.
type Options struct {
	Target mips32.Target
	// CPU is qemu's -cpu model; by default 24Kf for Release 2 and 4Kc for
	// Release 1 (an R1 CPU, so that a stray R2 instruction faults).
	CPU string
	// Timeout bounds one run; by default DefaultTimeout.
	Timeout time.Duration
	// Procs is the number of qemu processes runs may use in parallel; by
	// default GOMAXPROCS.
	Procs int
}

// DefaultTimeout bounds a run when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultCPU is the qemu -cpu model used for t when Options.CPU is empty.
func DefaultCPU(t mips32.Target) string {
	if t.Rev == mips32.R1 {
		return "4Kc"
	}
	return "24Kf"
}

// Engine runs functions on a pool of runner processes. It is safe for
// concurrent use.
type Engine struct {
	opts   Options
	qemu   string
	runner string
	first  hello // of the first process: the symbol table every process shares
	// grace is how much longer than the time-out the engine waits for a
	// reply before it kills the process (qemu start-up, translation).
	grace time.Duration

	idle  chan *proc    // processes ready for a run
	slots chan struct{} // one token per live process

	mu     sync.Mutex
	closed bool
}

// Start builds the runner if needed and starts one runner process, so that a
// missing tool or a bad CPU model is reported here.
func Start(opts Options) (*Engine, error) {
	if opts.Target.Rev != mips32.R1 && opts.Target.Rev != mips32.R2 {
		return nil, fmt.Errorf("qemu engine: target %s is not supported (only MIPS32 R1 and R2)", opts.Target)
	}
	if opts.CPU == "" {
		opts.CPU = DefaultCPU(opts.Target)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Procs <= 0 {
		opts.Procs = runtime.GOMAXPROCS(0)
	}
	tc := toolchainFor(opts.Target)
	qemuPath, err := lookTool(tc.qemu, "qemu-user")
	if err != nil {
		return nil, err
	}
	runnerPath, err := runnerBinary(tc)
	if err != nil {
		return nil, err
	}
	p, err := startProc(qemuPath, opts.CPU, runnerPath)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts: opts, qemu: qemuPath, runner: runnerPath, first: p.hello, grace: 10 * time.Second,
		idle: make(chan *proc, opts.Procs), slots: make(chan struct{}, opts.Procs),
	}
	e.slots <- struct{}{}
	e.idle <- p
	return e, nil
}

// Symbols returns the runtime symbols generated code may call (libgcc's
// 64-bit division, libatomic's 8-byte atomics, the BPF helpers
// ubpf_helper_N, ubpf_callx, bpf_helper_N, bpf_callx, and
// bpf_tail_call_target) and their addresses.
func (e *Engine) Symbols() map[string]uint32 { return maps.Clone(e.first.symbols) }

// Options returns the engine's options with defaults filled in.
func (e *Engine) Options() Options { return e.opts }

// Close stops the idle processes; busy ones stop when their run ends.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for {
		select {
		case p := <-e.idle:
			p.kill()
			<-e.slots
		default:
			return nil
		}
	}
}

// Result is the outcome of a run.
type Result struct {
	// R0 is the function's 64-bit return value (v0/v1 under O32), valid
	// when Fault is nil or an ABI violation.
	R0 uint64
	// Mem is the memory block after the run (nil after a time-out that
	// killed the process).
	Mem []byte
	// MemAddr is the address the memory block was at: the first argument.
	MemAddr uint32
	// Fault is nil when the function returned normally.
	Fault *Fault
}

// Run links code at the runner's code region (applying relocs against the
// runtime symbols), calls uint64 fn(void *ctx, uint32 len) at byte offset
// entry with ctx pointing to an 8-byte-aligned copy of mem and len =
// len(mem), and returns the result and the final memory. The block ends
// at a guard page (after rounding its length up to 8), so an access past
// its end faults; for an empty block ctx is valid and non-null but any
// access through it faults. An error means the engine failed (bad input,
// runner crash); a program's own faults and time-outs are in Result.Fault.
func (e *Engine) Run(code []byte, relocs []mips32.Reloc, entry uint32, mem []byte) (*Result, error) {
	if len(code) == 0 || len(code)%4 != 0 {
		return nil, fmt.Errorf("qemu engine: code size %d is not a positive multiple of 4", len(code))
	}
	return e.RunModule(code, relocs, nil, entry, mem)
}

// RunModule is Run for a module that carries data: code is the module's
// image, its machine code followed by its data (map objects, the bytes of
// .rodata/.data/.bss, prog-array contents; see runner/maps.c for the map
// object layout), and local gives the module's own symbols as byte offsets
// into code. A relocation's symbol is looked up in local first, resolving
// to the address of that offset, then among the runtime symbols (Symbols).
// Relocations may lie anywhere in code, data included (R_MIPS_32 words of a
// prog array). The image is padded with zeros to a multiple of 4 bytes.
//
// The image is copied afresh for every run, data included, so writes to
// data and the maps' contents never outlive a run: every run starts from
// the image as given.
func (e *Engine) RunModule(code []byte, relocs []mips32.Reloc, local map[string]uint32, entry uint32, mem []byte) (*Result, error) {
	if len(code) == 0 {
		return nil, fmt.Errorf("qemu engine: empty module")
	}
	for name, off := range local {
		if uint64(off) > uint64(len(code)) {
			return nil, fmt.Errorf("qemu engine: module symbol %q at offset %#x lies outside the %d-byte module", name, off, len(code))
		}
	}
	if len(code)%4 != 0 {
		code = append(slices.Clip(code), make([]byte, 4-len(code)%4)...)
	}
	if entry%4 != 0 || uint64(entry) >= uint64(len(code)) {
		return nil, fmt.Errorf("qemu engine: entry offset %#x is not an instruction of the %d-byte code", entry, len(code))
	}
	if uint64(len(code)) > uint64(e.first.codeMax) {
		return nil, fmt.Errorf("qemu engine: code of %d bytes exceeds the runner's %d-byte code region", len(code), e.first.codeMax)
	}
	if uint64(len(mem)) > uint64(e.first.dataMax) {
		return nil, fmt.Errorf("qemu engine: memory block of %d bytes exceeds the runner's %d-byte limit", len(mem), e.first.dataMax)
	}
	p, err := e.get()
	if err != nil {
		return nil, err
	}
	defer e.put(p)
	linked, err := link(code, relocs, p.hello.codeBase, local, p.hello.symbols, e.opts.Target.ByteOrder())
	if err != nil {
		return nil, fmt.Errorf("qemu engine: %v", err)
	}
	rep, err := p.run(linked, entry, mem, e.opts.Timeout, e.grace)
	if err == errDeadline {
		return &Result{Fault: &Fault{Timeout: true, limit: e.opts.Timeout, killed: true}}, nil
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Mem: rep.mem, MemAddr: p.hello.dataBase + p.hello.dataMax - uint32((len(mem)+7)&^7)}
	switch rep.status {
	case statusReturned:
		res.R0 = rep.r0
		res.Fault = abiFault(rep)
	case statusTimeout:
		res.Fault = &Fault{Timeout: true, limit: e.opts.Timeout}
	case statusSignal:
		f := &Fault{Signal: rep.signal, PC: rep.pc, Addr: rep.addr, Code: int32(rep.code), codeLen: uint32(len(code))}
		if rep.signal == "" {
			f.Signal = fmt.Sprintf("signal %d", rep.signo)
		}
		// The end of the code counts as in it: a function that runs off
		// its end traps on the break the runner puts there.
		if rep.pc >= p.hello.codeBase && uint64(rep.pc) <= uint64(p.hello.codeBase)+uint64(len(code)) {
			f.PC, f.InCode = rep.pc-p.hello.codeBase, true
		}
		res.Fault = f
	case statusStopped:
		f := &Fault{Stop: rep.signal, PC: rep.pc}
		if rep.pc >= p.hello.codeBase && uint64(rep.pc) < uint64(p.hello.codeBase)+uint64(len(code)) {
			f.PC, f.InCode = rep.pc-p.hello.codeBase, true
		}
		res.Fault = f
	default:
		p.kill()
		return nil, fmt.Errorf("qemu engine: runner replied with unknown status %d", rep.status)
	}
	return res, nil
}

// get takes an idle process, or starts one while fewer than Procs live.
func (e *Engine) get() (*proc, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("qemu engine: Run after Close")
	}
	select {
	case p := <-e.idle:
		return p, nil
	default:
	}
	select {
	case p := <-e.idle:
		return p, nil
	case e.slots <- struct{}{}:
		p, err := startProc(e.qemu, e.opts.CPU, e.runner)
		if err != nil {
			<-e.slots
			return nil, err
		}
		return p, nil
	}
}

// put returns a process to the pool, or retires it when it is out of step
// with the protocol or the engine is closed; its slot is then free for a
// fresh process.
func (e *Engine) put(p *proc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.dead || e.closed {
		p.kill()
		<-e.slots
		return
	}
	e.idle <- p // never blocks: at most Procs processes live
}

var shared struct {
	mu      sync.Mutex
	engines map[mips32.Target]*sharedEngine
}

type sharedEngine struct {
	once sync.Once
	e    *Engine
	err  error
}

// Shared returns an engine for t with default options, started once per
// process and never closed (the runners exit when the process does, as their
// stdin closes). A start-up failure is remembered and returned every time.
func Shared(t mips32.Target) (*Engine, error) {
	shared.mu.Lock()
	if shared.engines == nil {
		shared.engines = make(map[mips32.Target]*sharedEngine)
	}
	s := shared.engines[t]
	if s == nil {
		s = &sharedEngine{}
		shared.engines[t] = s
	}
	shared.mu.Unlock()
	s.once.Do(func() { s.e, s.err = Start(Options{Target: t}) })
	return s.e, s.err
}
