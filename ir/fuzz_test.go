package ir

import (
	"strings"
	"testing"
)

// FuzzParse: any text either fails to parse with an error or parses into a
// function that prints and parses back identically; verifying and
// interpreting it return rather than panic.
func FuzzParse(f *testing.F) {
	for _, src := range loadTestFiles(f) {
		for _, chunk := range strings.SplitAfter(src, "\n}\n") {
			f.Add(chunk)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		fs, err := ParseAll(src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		for _, fn := range fs {
			text := fn.String()
			g, err := Parse(text)
			if err != nil {
				t.Fatalf("printed function does not parse: %v\n%s", err, text)
			}
			if g.String() != text {
				t.Fatalf("round trip changed the text:\n%s\n%s", text, g.String())
			}
			verr := Verify(fn, VerifyOptions{})
			_, ierr := Interpret(fn, InterpConfig{Args: []uint32{1, 2, 3, 4, 5, 6, 7}, MaxSteps: 10000})
			if ierr != nil && strings.Contains(ierr.Error(), "internal error") {
				t.Fatalf("interpreter panicked: %v\n%s", ierr, text)
			}
			_ = verr
		}
	})
}
