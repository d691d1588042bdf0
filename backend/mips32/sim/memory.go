package sim

import "encoding/binary"

// The simulated address space (see the package documentation). Addresses
// match the qemu engine's where they can (its code and data hints), so that
// a program that returns a pointer gives the same value on both.
const (
	// CodeBase is where the code is linked and fetched from. It is not
	// readable as data.
	CodeBase uint32 = 0x2000_0000
	// MaxCodeSize bounds the code (as the qemu runner's code region).
	MaxCodeSize = 64 << 20
	// MemEnd is where the memory block ends (rounded up to 8 bytes):
	// MemAddr = MemEnd - roundup(len, 8). Nothing is mapped from MemAddr+len on.
	MemEnd uint32 = 0x3100_0000
	// MaxMemSize bounds the memory block (as the qemu runner's).
	MaxMemSize = 16 << 20
	// StackTop is the end of the stack region. The function is entered
	// with sp = StackTop - 16: the 16 bytes above sp are its caller's home
	// area for a0..a3, which O32 lets it use.
	StackTop uint32 = 0x7fff_0000
	// DefaultStackSize is the stack region's size when Options.StackSize is 0.
	DefaultStackSize = 64 << 10
	// MaxStackSize bounds Options.StackSize.
	MaxStackSize = 16 << 20
	// stackGuard is how far below the stack region an access counts as a
	// stack overflow rather than a wild address.
	stackGuard = 1 << 20
	// RuntimeBase is where the runtime routines live, one every
	// runtimeStride bytes, in the order of their names: a jump there is
	// served in Go. The page is not readable as data.
	RuntimeBase   uint32 = 0x0f00_0000
	runtimeStride        = 16
	// ExitAddress is the return address the function is called with:
	// reaching it ends the run.
	ExitAddress uint32 = 0x0ff0_0000
	// HeapBase is where the runtime heap starts: externs allocate from it
	// with Env.Alloc, and only what a run allocated is mapped. It is the
	// qemu runner's heap hint (HEAP_HINT in qemu/runner/runner.c; the qemu
	// map tests check the heap lands there), so that map value pointers
	// agree on both engines.
	HeapBase uint32 = 0x1000_0000
	// DefaultHeapSize is the heap's size when Options.HeapSize is 0: the
	// qemu runner's.
	DefaultHeapSize = 256 << 20
	// MaxHeapSize bounds Options.HeapSize: the heap ends at CodeBase.
	MaxHeapSize = int(CodeBase - HeapBase)
)

// memory is the data address space: the memory block, the stack, and for
// a module the module's data and the runtime heap.
type memory struct {
	be        bool
	dataBase  uint32
	data      []byte
	stackBase uint32
	stack     []byte
	// dirty is the lowest stack offset written, so that a pooled stack is
	// refilled only where it was used.
	dirty uint32
	// mod is a per-run copy of the module's data, at modBase.
	modBase uint32
	mod     []byte
	// heap is what the run allocated of the runtime heap, at HeapBase.
	heap []byte
}

// at returns the n bytes at a when they lie wholly in one region, else nil.
func (m *memory) at(a, n uint32) []byte {
	if o := a - m.stackBase; o < uint32(len(m.stack)) && uint32(len(m.stack))-o >= n {
		return m.stack[o : o+n : o+n]
	}
	if o := a - m.dataBase; o < uint32(len(m.data)) && uint32(len(m.data))-o >= n {
		return m.data[o : o+n : o+n]
	}
	return m.runtimeAt(a, n)
}

// runtimeAt is at for the regions a module brings: its data and the heap.
func (m *memory) runtimeAt(a, n uint32) []byte {
	if o := a - m.modBase; o < uint32(len(m.mod)) && uint32(len(m.mod))-o >= n {
		return m.mod[o : o+n : o+n]
	}
	if o := a - HeapBase; o < uint32(len(m.heap)) && uint32(len(m.heap))-o >= n {
		return m.heap[o : o+n : o+n]
	}
	return nil
}

// storeAt is at for a store: it keeps the stack's dirty mark.
func (m *memory) storeAt(a, n uint32) []byte {
	if o := a - m.stackBase; o < uint32(len(m.stack)) && uint32(len(m.stack))-o >= n {
		if o < m.dirty {
			m.dirty = o
		}
		return m.stack[o : o+n : o+n]
	}
	if o := a - m.dataBase; o < uint32(len(m.data)) && uint32(len(m.data))-o >= n {
		return m.data[o : o+n : o+n]
	}
	return m.runtimeAt(a, n)
}

func (m *memory) load8(a uint32) (uint32, bool) {
	if b := m.at(a, 1); b != nil {
		return uint32(b[0]), true
	}
	return 0, false
}

func (m *memory) load16(a uint32) (uint32, bool) {
	b := m.at(a, 2)
	if b == nil {
		return 0, false
	}
	if m.be {
		return uint32(binary.BigEndian.Uint16(b)), true
	}
	return uint32(binary.LittleEndian.Uint16(b)), true
}

func (m *memory) load32(a uint32) (uint32, bool) {
	b := m.at(a, 4)
	if b == nil {
		return 0, false
	}
	if m.be {
		return binary.BigEndian.Uint32(b), true
	}
	return binary.LittleEndian.Uint32(b), true
}

func (m *memory) store8(a, v uint32) bool {
	if b := m.storeAt(a, 1); b != nil {
		b[0] = byte(v)
		return true
	}
	return false
}

func (m *memory) store16(a, v uint32) bool {
	b := m.storeAt(a, 2)
	if b == nil {
		return false
	}
	if m.be {
		binary.BigEndian.PutUint16(b, uint16(v))
	} else {
		binary.LittleEndian.PutUint16(b, uint16(v))
	}
	return true
}

func (m *memory) store32(a, v uint32) bool {
	b := m.storeAt(a, 4)
	if b == nil {
		return false
	}
	if m.be {
		binary.BigEndian.PutUint32(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, v)
	}
	return true
}

// missKind classifies an access at a that at rejected.
func (m *memory) missKind(a uint32) FaultKind {
	if a < m.stackBase && m.stackBase-a <= stackGuard {
		return StackOverflow // also an access straddling the region's bottom
	}
	return Unmapped
}

// accessFault classifies a faulting access at a that must be aligned to
// alignMask+1 bytes: misalignment first, as the CPU checks it first.
func (m *memory) accessFault(a, alignMask uint32) FaultKind {
	if a&alignMask != 0 {
		return AddressError
	}
	return m.missKind(a)
}

// inStack reports whether [a, a+n) lies in the stack region.
func (m *memory) inStack(a, n uint32) bool {
	o := a - m.stackBase
	return o < uint32(len(m.stack)) && uint32(len(m.stack))-o >= n
}

func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
