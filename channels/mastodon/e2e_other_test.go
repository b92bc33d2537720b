//go:build !linux

package mastodon_test

import "os/exec"

// dieWithParent does nothing here: only Linux has a parent-death signal.
// The tests stop what they start when they end normally.
func dieWithParent(*exec.Cmd) {}
