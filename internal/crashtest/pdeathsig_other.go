//go:build !linux

package crashtest

import "os/exec"

// dieWithParent does nothing where the system cannot tie a child's life
// to its parent's; the test's cleanup still kills it.
func dieWithParent(*exec.Cmd) {}
