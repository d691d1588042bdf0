package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/internal/bpfrt"
	"github.com/bpfopt/bpfopt/ir"
)

// The memory effects of helpers.go against what internal/bpfrt's helpers
// do. Each helper runs with every argument register pointing into a
// region of its own (the map argument's region is also where the map's
// storage lies: the runtimes reach the storage through the map), over a
// memory that records every access; an access to a region whose register
// the effect does not list, a change to one it lists only for reading, an
// access below the register's address (the effect promises the bytes from
// there up), or a result pointing into an argument's region fails.

const (
	effectRegionSize = 256
	effectBelow      = 64 // bytes of each region below its argument's address
)

// recordingMemory is a run's memory: one region per argument register,
// recording the lowest offset accessed in each.
type recordingMemory struct {
	regions  [5][]byte
	lowest   [5]int // offset from the argument's address; effectRegionSize when untouched
	accessed [5]bool
}

func regionBase(i int) uint64 { return 0x10000 * uint64(i+1) }

// argAddr is the address argument register i holds.
func argAddr(i int) uint64 { return regionBase(i) + effectBelow }

func (m *recordingMemory) Bytes(addr, n uint64) ([]byte, error) {
	for i := range m.regions {
		if addr >= regionBase(i) && addr+n <= regionBase(i)+effectRegionSize {
			off := int(addr - regionBase(i))
			m.accessed[i] = true
			m.lowest[i] = min(m.lowest[i], off-effectBelow)
			return m.regions[i][off : off+int(n)], nil
		}
	}
	return nil, fmt.Errorf("%d bytes at %#x are outside every region", n, addr)
}

func (m *recordingMemory) Order() binary.ByteOrder { return binary.LittleEndian }

// effectEnv serves one map, whose handle is argument 0's address and
// whose storage lies in argument 0's region above it.
type effectEnv struct {
	*recordingMemory
	kernel bpfrt.Kernel
	m      *bpfrt.Map
}

func (e *effectEnv) Kernel() *bpfrt.Kernel { return &e.kernel }

func (e *effectEnv) Map(arg uint64) (*bpfrt.Map, error) {
	if arg != argAddr(0) {
		return nil, fmt.Errorf("%#x is not the map", arg)
	}
	return e.m, nil
}

// regionStorage places a map's values in argument 0's region.
type regionStorage struct{ stride uint64 }

func (s regionStorage) Open() (uint64, map[uint32]uint64, error) { return argAddr(0), nil, nil }
func (s regionStorage) HashValue(i uint32) (uint64, error) {
	return argAddr(0) + uint64(i)*s.stride, nil
}
func (s regionStorage) ProgSlot(bpfrt.Memory, uint64) (uint64, error) { return 0, nil }

func TestKernelHelperEffects(t *testing.T) {
	maps := []bpfrt.Def{
		{Type: bpfrt.MapArray, KeySize: 4, ValueSize: 16, MaxEntries: 4},
		{Type: bpfrt.MapHash, KeySize: 8, ValueSize: 16, MaxEntries: 4},
	}
	checked := 0
	for _, def := range maps {
		env := &effectEnv{kernel: bpfrt.NewKernel(), m: bpfrt.NewMap(def, regionStorage{stride: def.ValueStride()})}
		// In ID order, so that an update puts the key in before the lookup
		// and the delete find it.
		for _, id := range []int32{bpfrt.MapUpdateElem, bpfrt.MapLookupElem, bpfrt.MapDeleteElem, bpfrt.KtimeGetNs, bpfrt.GetPrandomU32, bpfrt.GetSmpProcessorID} {
			h := bpfrt.Table(bpfrt.KernelHelpers)[id]
			require.NotNil(t, h.Func, "helper %d", id)
			effect := KernelHelperEffect(id)
			require.True(t, effect.Known(), "%s: the table gives no effect", h.Name)
			mem := &recordingMemory{lowest: [5]int{effectRegionSize, effectRegionSize, effectRegionSize, effectRegionSize, effectRegionSize}}
			for i := range mem.regions {
				// The map's storage starts zeroed, as the runtimes allocate
				// it; the other regions hold a pattern, so that a copy
				// shows, but key 0 (an array's first element).
				mem.regions[i] = make([]byte, effectRegionSize)
				for k := range mem.regions[i] {
					if i > 0 && !(i == 1 && k >= effectBelow && k < effectBelow+8) {
						mem.regions[i][k] = byte(0xa0 + i)
					}
				}
			}
			env.recordingMemory = mem
			var regs [5]uint64
			for i := range regs {
				regs[i] = argAddr(i)
			}
			if id == bpfrt.MapUpdateElem {
				regs[3] = bpfrt.UpdateAny // flags
			}
			var before [5][]byte
			for i := range before {
				before[i] = bytes.Clone(mem.regions[i])
			}
			r0, err := h.Func(env, regs)
			require.NoError(t, err, h.Name)
			where := fmt.Sprintf("%s (map type %d)", h.Name, def.Type)
			for i := range mem.regions {
				p := uint8(1) << i
				if mem.accessed[i] {
					require.NotZero(t, (effect.ReadMask()|effect.WriteMask())&p, "%s accesses memory through r%d; the table says %s", where, i+1, effect)
					require.GreaterOrEqual(t, mem.lowest[i], 0, "%s accesses memory below r%d", where, i+1)
				}
				if !bytes.Equal(before[i], mem.regions[i]) {
					require.NotZero(t, effect.WriteMask()&p, "%s writes through r%d; the table says %s", where, i+1, effect)
				}
				inRegion := r0 >= regionBase(i) && r0 < regionBase(i)+effectRegionSize
				require.False(t, inRegion && i > 0, "%s returns a pointer into r%d's memory", where, i+1)
			}
			checked++
		}
	}
	require.Equal(t, 2*len(bpfrt.KernelHelpers), checked, "every helper of the runtime is checked")
}

// Every effect in the table names only argument registers the helper has
// (the verifier rejects a call whose effect does not).
func TestKernelHelperEffectsFitArgs(t *testing.T) {
	for id, h := range kernelHelpers {
		if !h.effect.Known() {
			continue
		}
		require.Zero(t, (h.effect.ReadMask()|h.effect.WriteMask())>>h.args, "%s: effect %s beyond its %d arguments", h.name, h.effect, h.args)
		require.Equal(t, h.effect, KernelHelperEffect(id))
	}
	require.Equal(t, ir.CallEffect(0), KernelHelperEffect(9999), "an unknown helper has the unknown effect")
}
