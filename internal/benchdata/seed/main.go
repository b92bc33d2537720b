// Command seed builds a benchmark data folder (see package benchdata):
//
//	go run ./internal/benchdata/seed [-messages 1000000] DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/branchline/branchline/internal/benchdata"
)

func main() {
	total := flag.Int("messages", 1_000_000, "synthetic messages to add to the demo location")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: seed [-messages N] DIR")
		os.Exit(2)
	}
	start := time.Now()
	if err := benchdata.Folder(context.Background(), flag.Arg(0), *total, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	fmt.Printf("%s ready (%d synthetic messages) in %s\n", flag.Arg(0), *total, time.Since(start).Round(time.Second))
}
