//go:build !linux

package qemu

import "os/exec"

// configureChild has nothing to do where there is no parent-death signal
// (qemu-user runs on Linux only anyway).
func configureChild(cmd *exec.Cmd) {}
