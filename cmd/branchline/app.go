package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	blapp "github.com/branchline/branchline/app"
	"github.com/branchline/branchline/node"
)

// started is as close to the process's start as main's package can see.
var started = time.Now()

// runApp opens the desktop app. With BRANCHLINE_FIRST_FRAME set it prints
// the time from start to the first frame and the resident memory then,
// and quits (the start-up measurement, scripts/bench-startup.sh).
func runApp(ctx context.Context, n *node.Node) error {
	opts := blapp.Options{Logger: logger()}
	if os.Getenv("BRANCHLINE_FIRST_FRAME") != "" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		opts.FirstFrame = func() {
			took := time.Since(started)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("first frame after %d ms; resident %s; Go heap in use %.1f MB\n",
				took.Milliseconds(), residentMemory(), float64(ms.HeapInuse)/(1<<20))
			cancel()
		}
	}
	return blapp.Run(ctx, n, opts)
}

// residentMemory reads VmRSS from /proc (Linux), or says it cannot.
func residentMemory() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
