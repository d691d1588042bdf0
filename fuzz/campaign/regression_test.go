package campaign

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRegressions replays every reduced fuzz finding in RegressionDir:
// the reference interpreter must still give the file's result (the file
// is sound), and every oracle must agree with it (the bug stays fixed).
func TestRegressions(t *testing.T) {
	regs, err := LoadRegressions(RegressionDir)
	require.NoError(t, err)
	require.NotEmpty(t, regs)
	for _, r := range regs {
		t.Run(r.Name, func(t *testing.T) {
			want, err := runReference(r.Program, r.Mem, false, 1<<24)
			require.NoError(t, err)
			require.Equal(t, r.Result, want.R0, "the reference interpreter disagrees with the file's result")
			if f := CheckProgram(r.Program, r.Mem, nil); f != nil {
				t.Fatal(f.String())
			}
			if f := CheckDeterminism(r.Program, nil); f != nil {
				t.Fatal(f.String())
			}
		})
	}
}
