package mips32

import "github.com/bpfopt/bpfopt/ir"

// Hooks for the filetests (package mips32_test, which may import the
// simulator; this package may not).

// LowerText is the machine code instruction selection makes of f.
func LowerText(f *ir.Func, t Target) (string, error) {
	m, err := lower(f, t, nil)
	if err != nil {
		return "", err
	}
	return m.String(), nil
}

// FinalText is f's code as the backend emits it (allocated, framed, laid
// out, delay slots filled), with the allocation checker on.
func FinalText(f *ir.Func, t Target) (string, error) {
	insts, _, err := compileFunc(f, Options{Target: t, CheckAllocation: true}, map[string]int{})
	if err != nil {
		return "", err
	}
	return formatInsts(insts), nil
}
