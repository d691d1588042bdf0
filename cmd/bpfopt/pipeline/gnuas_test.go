package pipeline

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfopt/bpfopt/backend/mips32"
	"github.com/bpfopt/bpfopt/frontend/bpf"
	"github.com/bpfopt/bpfopt/internal/conformance"
)

// TestAsmOutputAssemblesToSameBytes compiles every conformance program,
// prints all of them as one GNU assembly file (what -S writes), assembles
// it with GNU as and compares each function's bytes with our encoder's.
func TestAsmOutputAssemblesToSameBytes(t *testing.T) {
	if _, err := exec.LookPath("mipsel-linux-gnu-as"); err != nil {
		if os.Getenv("BPFOPT_SKIP_EXTERNAL") == "1" {
			t.Skip("mipsel-linux-gnu-as missing (BPFOPT_SKIP_EXTERNAL=1)")
		}
		t.Fatal("mipsel-linux-gnu-as not found: install binutils-mipsel-linux-gnu")
	}
	tests, err := conformance.LoadDir(conformance.Dir())
	require.NoError(t, err)
	for _, target := range []mips32.Target{{Rev: mips32.R2}, {Rev: mips32.R1}} {
		t.Run(target.String(), func(t *testing.T) {
			var src bytes.Buffer
			want := map[string][]byte{}
			for _, tc := range tests {
				p, err := bpf.ParseAsm(tc.Asm)
				if err != nil {
					continue // programs the suite expects to be rejected
				}
				name := "f_" + symbolName(tc.Name)
				res, err := Compile(p, name, Options{Target: target, OptLevel: 2})
				if err != nil {
					continue // unsupported features are covered by the conformance test
				}
				require.NoError(t, mips32.FormatModuleAsm(&src, res.Module, target))
				for _, f := range res.Module.Funcs {
					want[f.Name] = res.Module.Code[f.Offset : f.Offset+f.Size]
				}
			}
			require.Greater(t, len(want), 300)
			dir := t.TempDir()
			s, o := filepath.Join(dir, "all.s"), filepath.Join(dir, "all.o")
			require.NoError(t, os.WriteFile(s, src.Bytes(), 0o644))
			out, err := exec.Command("mipsel-linux-gnu-as", "-EL", "-march="+target.March(), "-mabi=32",
				"-mno-fix-loongson3-llsc", "-o", o, s).CombinedOutput()
			require.NoError(t, err, "GNU as: %s", out)
			require.Empty(t, string(out), "GNU as warned")

			f, err := elf.Open(o)
			require.NoError(t, err)
			defer f.Close()
			text, err := f.Section(".text").Data()
			require.NoError(t, err)
			syms, err := f.Symbols()
			require.NoError(t, err)
			seen := 0
			for _, sym := range syms {
				code, ok := want[sym.Name]
				if !ok {
					continue
				}
				seen++
				require.Equal(t, uint64(len(code)), sym.Size, "%s: size", sym.Name)
				require.Equal(t, code, text[sym.Value:sym.Value+sym.Size], "%s: bytes differ from GNU as", sym.Name)
			}
			require.Equal(t, len(want), seen, "every function must appear in GNU's object")
		})
	}
}
