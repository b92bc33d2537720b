package mastodon_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent has Linux kill cmd if the test process dies first, so no
// server or child is left behind by a crashed or killed test run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
