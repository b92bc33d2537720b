// Command branchline is Branchline's desktop app and command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/branchline/branchline/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		RunApp: runApp, Logger: logger(),
	})
	stop()
	os.Exit(code)
}
