package qemu

import (
	"os/exec"
	"syscall"
)

// configureChild makes the kernel kill qemu if the Go process dies, so that
// a program spinning with SIGALRM blocked does not outlive a killed test.
func configureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
