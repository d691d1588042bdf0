//go:build tools

package gofuzz

// go-fuzz-build needs go-fuzz-dep in the module graph; this import (never
// compiled: no build uses the tools tag) keeps `go mod tidy` from dropping
// the requirement.
import _ "github.com/dvyukov/go-fuzz/go-fuzz-dep"
