package mips32

import (
	"encoding/binary"
	"fmt"
)

// Revision is a MIPS32 ISA release.
type Revision uint8

const (
	R1 Revision = 1
	R2 Revision = 2
	R6 Revision = 6
)

// Target is the one description of the machine that every backend stage
// consults: ISA revision and byte order.
type Target struct {
	Rev       Revision
	BigEndian bool
}

// DefaultTarget is MIPS32 Release 2, little-endian.
var DefaultTarget = Target{Rev: R2}

// ParseMarch reads a -march value: mips32, mips32r2 (mips32r6 comes with its own issue).
func ParseMarch(s string) (Revision, error) {
	switch s {
	case "mips32", "mips32r1":
		return R1, nil
	case "mips32r2", "":
		return R2, nil
	}
	return 0, fmt.Errorf("unsupported -march=%s (supported: mips32, mips32r2)", s)
}

// March is the GNU -march name of the revision.
func (t Target) March() string {
	switch t.Rev {
	case R1:
		return "mips32"
	case R6:
		return "mips32r6"
	}
	return "mips32r2"
}

// HasR2 reports the Release 2 instructions (ext, ins, rotr, seb, seh, wsbh).
func (t Target) HasR2() bool { return t.Rev >= R2 }

// ByteOrder is the target's memory byte order.
func (t Target) ByteOrder() binary.ByteOrder {
	if t.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (t Target) String() string {
	e := "el"
	if t.BigEndian {
		e = "eb"
	}
	return t.March() + e
}
