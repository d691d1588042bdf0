package ir

import "fmt"

// Type is the type of an SSA value.
type Type uint8

const (
	TypeVoid Type = iota // no result (stores, void calls)
	I32                  // 32-bit integer
	I64                  // 64-bit integer; gone after legalize64
	Pair                 // two i32 results of a call, read with PairLo/PairHi
)

var typeNames = [...]string{TypeVoid: "void", I32: "i32", I64: "i64", Pair: "pair"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseType maps a type name back to its Type.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return TypeVoid, false
}

// Bits is the width of an integer type.
func (t Type) Bits() int {
	switch t {
	case I32:
		return 32
	case I64, Pair:
		return 64
	}
	return 0
}
