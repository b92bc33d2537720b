// Package crashtest runs a test binary again as a child process, for the
// tests that kill a process for real (the outbox's and each connector's
// crash tests): the child's standard output comes back line by line, with
// bounded waits, and the child can be killed and waited for. The test
// package's TestMain recognises the environment it passes and runs the
// child's work instead of the tests.
package crashtest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// LineWait bounds how long a test waits for the child's next line.
const LineWait = time.Minute

// Child is this test binary, started again.
type Child struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{} // closed once the child has ended and been waited for
	err   error         // how it ended
}

// Start runs this test binary again with no tests selected and env
// ("NAME=value") added to its environment. The child's standard error goes
// to the test's output; it is killed, if still running, when the test
// ends, and (on Linux) when the test process dies.
func Start(t testing.TB, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The children print a few lines; the buffer never fills.
	c := &Child{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.err = cmd.Wait() // after the last read from the pipe, as exec requires
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	return c
}

// Next returns the child's next line, failing the test if the child ends
// first or says nothing for LineWait.
func (c *Child) Next(t testing.TB) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatal("the child ended without a word")
		}
		return l
	case <-time.After(LineWait):
		t.Fatalf("the child said nothing for %s", LineWait)
	}
	return ""
}

// Expect returns the child's first line that starts with prefix, skipping
// others, failing the test if the child ends first or the line does not
// come within LineWait.
func (c *Child) Expect(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.NewTimer(LineWait)
	defer timeout.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("the child ended without printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout.C:
			t.Fatalf("the child did not print %q within %s", prefix, LineWait)
		}
	}
}

// Kill kills the child with SIGKILL and waits for it to end.
func (c *Child) Kill(t testing.TB) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		select {
		case <-c.done: // it had already ended
		default:
			t.Fatal(err)
		}
	}
	<-c.done
}

// Wait waits for the child to end and says how it ended.
func (c *Child) Wait() error {
	<-c.done
	return c.err
}

// Done is closed once the child has ended.
func (c *Child) Done() <-chan struct{} { return c.done }

// Rest returns the lines the child printed that have not been read, once
// it has ended.
func (c *Child) Rest() []string {
	<-c.done
	var rest []string
	for l := range c.lines {
		rest = append(rest, l)
	}
	return rest
}
