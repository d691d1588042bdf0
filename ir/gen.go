package ir

// docs/ir.md's op reference, runtime-function table and worked examples are
// generated from this package's sources (op.go, types.go, runtime.go) and
// from the real passes and command-line tool; ir/internal/gendoc's test
// fails when the document is stale.
//go:generate go run ./internal/gendoc -ir . -doc ../docs/ir.md
