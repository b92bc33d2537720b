package crashtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has Linux kill the child if the test process dies first.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
