package qemu

// The wire protocol between the engine and runner/runner.c, over the runner's
// stdin and stdout. Every integer is a little-endian uint32, whatever the
// target's byte order (the runner encodes them byte by byte).
//
// Hello, sent once at start-up:
//
//	"BPFQRUN1"
//	code_base  code_max  data_base  data_size  nsyms
//	nsyms × { addr  name_len  name bytes }
//
// code_base is the RWX region programs are copied to (code_max bytes at most);
// data_base/data_size the region memory blocks are copied to. A memory block
// ends at data_base+data_size, rounded to 8 bytes, where a guard page starts.
//
// Request:
//
//	cmd=1  code_len  entry  mem_len  timeout_ms  code bytes  mem bytes
//
// Reply:
//
//	status  signo  pc  addr  si_code  r0_lo  r0_hi
//	11 × { before  after }   (s0..s7, fp, sp, gp around the call)
//	name_len  signal name bytes
//	mem_len  mem bytes
//
// status is statusReturned, statusSignal, statusTimeout or statusStopped
// (a runtime routine, such as a BPF helper given an unknown ID, stopped the
// program with an error: the name field holds its message and pc the jalr
// that called the routine); for statusBadRequest the reply is instead
// { status  msg_len  msg } and the runner exits.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

const (
	magic            = "BPFQRUN1"
	cmdRun           = 1
	statusReturned   = 0
	statusSignal     = 1
	statusTimeout    = 2
	statusBadRequest = 3
	statusStopped    = 4
)

// maxNameLen bounds the reply's name field: a signal name or a stop message
// (struct stop in runner/runner.h).
const maxNameLen = 128

// checkedRegs are the registers the runner's trampoline records around the
// call, in its order; all must be preserved under O32.
var checkedRegs = [...]mips32.Reg{
	mips32.S0, mips32.S1, mips32.S2, mips32.S3, mips32.S4, mips32.S5, mips32.S6, mips32.S7,
	mips32.FP, mips32.SP, mips32.GP,
}

// hello is what a runner reports at start-up.
type hello struct {
	codeBase, codeMax uint32
	dataBase, dataMax uint32
	symbols           map[string]uint32
}

// reply is a decoded run reply.
type reply struct {
	status, signo, pc, addr, code uint32
	r0                            uint64
	before, after                 [len(checkedRegs)]uint32
	signal                        string
	mem                           []byte
}

// proc is one runner process under qemu.
type proc struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	in     *bufio.Reader
	stderr *tailBuffer
	hello  hello
	exited chan struct{} // closed when the process has been waited for
	dead   bool          // the protocol is out of step: never reuse
}

// startupTimeout bounds qemu's start and the hello message.
const startupTimeout = 30 * time.Second

func startProc(qemuPath, cpu, runner string) (*proc, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	p := &proc{stdin: inW, stdout: outR, in: bufio.NewReaderSize(outR, 64<<10), stderr: &tailBuffer{max: 4096}, exited: make(chan struct{})}
	p.cmd = exec.Command(qemuPath, "-cpu", cpu, runner)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, p.stderr
	configureChild(p.cmd)
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("starting %s: %v", qemuPath, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	p.stdout.SetReadDeadline(time.Now().Add(startupTimeout))
	if p.hello, err = readHello(p.in); err != nil {
		p.kill()
		return nil, fmt.Errorf("qemu runner (%s -cpu %s) did not start: %v%s", qemuPath, cpu, err, p.stderrNote())
	}
	return p, nil
}

func readHello(r io.Reader) (hello, error) {
	var h hello
	head := make([]byte, len(magic)+5*4)
	if _, err := io.ReadFull(r, head); err != nil {
		return h, err
	}
	if string(head[:len(magic)]) != magic {
		return h, fmt.Errorf("bad hello %q", head[:len(magic)])
	}
	w := words(head[len(magic):])
	h.codeBase, h.codeMax, h.dataBase, h.dataMax = w[0], w[1], w[2], w[3]
	if w[4] > 4096 {
		return h, fmt.Errorf("bad hello: %d symbols", w[4])
	}
	h.symbols = make(map[string]uint32, w[4])
	for range w[4] {
		var addr [4]byte
		if _, err := io.ReadFull(r, addr[:]); err != nil {
			return h, err
		}
		name, err := readCounted(r, 256)
		if err != nil {
			return h, err
		}
		h.symbols[string(name)] = binary.LittleEndian.Uint32(addr[:])
	}
	return h, nil
}

// run sends one request and reads the reply. An error means the process is
// unusable (p.dead is set); a reply that does not come within the time-out
// plus grace (and a microsecond per byte sent) is reported as errDeadline.
func (p *proc) run(code []byte, entry uint32, mem []byte, timeout, grace time.Duration) (*reply, error) {
	p.dead = true // until the reply has been read in full
	deadline := time.Now().Add(timeout + grace + time.Duration(len(code)+len(mem))*time.Microsecond)
	p.stdin.SetWriteDeadline(deadline)
	p.stdout.SetReadDeadline(deadline)
	ms := uint32((timeout + time.Millisecond - 1) / time.Millisecond)
	// One write, so that the runner wakes up once.
	req := append(le32s(cmdRun, uint32(len(code)), entry, uint32(len(mem)), max(ms, 1)), code...)
	if _, err := p.stdin.Write(append(req, mem...)); err != nil {
		return nil, p.ioError(err)
	}
	var status [4]byte
	if _, err := io.ReadFull(p.in, status[:]); err != nil {
		return nil, p.ioError(err)
	}
	rep := &reply{status: binary.LittleEndian.Uint32(status[:])}
	if rep.status == statusBadRequest {
		msg, err := readCounted(p.in, 4096)
		if err != nil {
			return nil, p.ioError(err)
		}
		return nil, fmt.Errorf("qemu runner rejected the request: %s", msg)
	}
	fixed := make([]byte, 4*(6+2*len(checkedRegs)))
	if _, err := io.ReadFull(p.in, fixed); err != nil {
		return nil, p.ioError(err)
	}
	w := words(fixed)
	rep.signo, rep.pc, rep.addr, rep.code = w[0], w[1], w[2], w[3]
	rep.r0 = uint64(w[5])<<32 | uint64(w[4])
	for i := range checkedRegs {
		rep.before[i], rep.after[i] = w[6+2*i], w[7+2*i]
	}
	name, err := readCounted(p.in, maxNameLen)
	if err != nil {
		return nil, p.ioError(err)
	}
	rep.signal = string(name)
	if rep.mem, err = readCounted(p.in, len(mem)); err != nil {
		return nil, p.ioError(err)
	}
	p.dead = false
	return rep, nil
}

// errDeadline reports a runner that did not answer in time: the program hung
// in a way the runner's own alarm did not catch, or qemu is stuck.
var errDeadline = errors.New("qemu runner did not answer in time")

func (p *proc) ioError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.kill()
		return errDeadline
	}
	p.kill()
	return fmt.Errorf("qemu runner failed: %v (%s)%s", err, p.cmd.ProcessState, p.stderrNote())
}

// kill stops the process and waits for it, so that its exit status and
// stderr are known.
func (p *proc) kill() {
	p.dead = true
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(100 * time.Millisecond):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.stdout.Close()
}

func (p *proc) stderrNote() string {
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		return "\nqemu stderr: " + s
	}
	return ""
}

// readCounted reads a length-prefixed byte string of at most max bytes (a
// program that scribbles over the runner must not make us allocate 4 GiB).
func readCounted(r io.Reader, max int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if uint64(size) > uint64(max) {
		return nil, fmt.Errorf("reply field of %d bytes, at most %d expected", size, max)
	}
	b := make([]byte, size)
	_, err := io.ReadFull(r, b)
	return b, err
}

func words(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

func le32s(vs ...uint32) []byte {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// tailBuffer keeps the last max bytes written to it (qemu's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
