package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bpfopt/bpfopt/backend/mips32"
)

// link returns a copy of code with relocs applied (mips32.Link) for code
// loaded at base, resolving a symbol in local (offsets into code) first,
// then in runtime (addresses). An unknown symbol's error lists both sets.
func link(code []byte, relocs []mips32.Reloc, base uint32, local, runtime map[string]uint32, order binary.ByteOrder) ([]byte, error) {
	resolve := func(sym string) (uint32, bool) {
		if off, ok := local[sym]; ok {
			return base + off, true
		}
		addr, ok := runtime[sym]
		return addr, ok
	}
	linked, err := mips32.Link(code, relocs, resolve, order)
	if unknown := (*mips32.UnknownSymbolError)(nil); errors.As(err, &unknown) {
		offered := "the runner offers " + symbolList(runtime)
		if len(local) > 0 {
			offered = "the module defines " + symbolList(local) + "; " + offered
		}
		return nil, fmt.Errorf("%w (%s)", err, offered)
	}
	return linked, err
}

func symbolList(syms map[string]uint32) string {
	names := make([]string, 0, len(syms))
	for n := range syms {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
