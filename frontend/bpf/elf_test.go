package bpf

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The objects are built from testdata/progs.c (its header gives the
// commands), little- and big-endian.
var elfObjects = []string{"testdata/progs_el.o", "testdata/progs_eb.o"}

func readObject(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestLoadELFPrograms(t *testing.T) {
	for _, path := range elfObjects {
		t.Run(path, func(t *testing.T) {
			eps, err := LoadELFPrograms(bytes.NewReader(readObject(t, path)))
			require.NoError(t, err)
			require.Len(t, eps, 2)
			require.Equal(t, "counted", eps[0].Name) // sorted by name
			require.Equal(t, "pure", eps[1].Name)
			require.Equal(t, "xdp", eps[0].Section)
			require.Equal(t, "socket", eps[1].Section)

			// counted: lddw of the map at slot 4, of .rodata at slot 9, the
			// call to fib at slot 14 (see llvm-objdump -d -r progs_el.o).
			counted := eps[0]
			require.Equal(t, map[int]string{4: "counters", 9: ".rodata"}, counted.MapRefs)
			require.Equal(t, map[int]string{14: "fib"}, counted.FuncRefs)
			require.Equal(t, uint8(PseudoMapFD), counted.InsnAtSlot(4).Src)
			require.Equal(t, uint8(PseudoMapValue), counted.InsnAtSlot(9).Src)
			call := counted.InsnAtSlot(14)
			require.True(t, call.IsLocalCall())
			require.Equal(t, "fib", counted.Funcs[call.CallTarget()], "the linked call lands on fib")
			require.Equal(t, "counted", counted.Funcs[0])
			atomic := counted.InsnAtSlot(12)
			require.Equal(t, uint8(ClassSTX|ModeATOMIC|SizeDW), atomic.Op)
			require.Equal(t, int32(AtomicADD), atomic.Imm)

			// pure (slots 0-5) calls fib and twice; the linker appends fib
			// (13 slots: 6-18) and twice (19-22), whose call to fib is at 20.
			pure := eps[1]
			require.Empty(t, pure.MapRefs)
			require.Equal(t, map[int]string{0: "pure", 6: "fib", 19: "twice"}, pure.Funcs)
			require.Equal(t, map[int]string{1: "fib", 3: "twice", 20: "fib"}, pure.FuncRefs)
			for slot, name := range pure.FuncRefs {
				require.Equal(t, name, pure.Funcs[pure.InsnAtSlot(slot).CallTarget()])
			}
		})
	}
}

// TestLoadELFRun runs the program that needs no runtime: fib(10) + 2*fib(7)
// = 55 + 26, per the C source.
func TestLoadELFRun(t *testing.T) {
	for _, path := range elfObjects {
		p, err := LoadELFProgram(bytes.NewReader(readObject(t, path)), "pure")
		require.NoError(t, err, path)
		require.Equal(t, "pure", p.Name)
		r0, err := Interpret(p, RunConfig{})
		require.NoError(t, err, path)
		require.Equal(t, uint64(81), r0, path)
	}
}

func TestLoadELFAgreesAcrossByteOrders(t *testing.T) {
	el, err := LoadELF(bytes.NewReader(readObject(t, elfObjects[0])))
	require.NoError(t, err)
	eb, err := LoadELF(bytes.NewReader(readObject(t, elfObjects[1])))
	require.NoError(t, err)
	require.Len(t, eb, len(el))
	for i := range el {
		requireSameProgram(t, el[i], eb[i], el[i].Name)
	}
}

func TestLoadELFErrors(t *testing.T) {
	obj := readObject(t, elfObjects[0])

	_, err := LoadELFProgram(bytes.NewReader(obj), "nosuch")
	require.ErrorContains(t, err, `no program "nosuch"`)
	require.ErrorContains(t, err, "counted")

	_, err = LoadELF(bytes.NewReader([]byte("this is not an ELF object")))
	require.ErrorContains(t, err, "ELF")

	_, err = LoadELF(bytes.NewReader(nil))
	require.ErrorContains(t, err, "ELF")

	for _, n := range []int{4, 16, 64, 200, len(obj) / 2, len(obj) - 1} {
		_, err = LoadELF(bytes.NewReader(obj[:n]))
		require.Error(t, err, "truncated to %d bytes", n)
	}

	// A foreign ELF: the test binary itself.
	exe, err := os.Executable()
	require.NoError(t, err)
	f, err := os.Open(exe)
	require.NoError(t, err)
	defer f.Close()
	_, err = LoadELF(f)
	require.ErrorContains(t, err, "machine")
}
