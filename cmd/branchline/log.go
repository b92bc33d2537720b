package main

import (
	"log/slog"
	"os"
	"strings"
)

// logger logs to standard error at the level $BRANCHLINE_LOG names (debug,
// info, warn, error; default warn).
func logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(os.Getenv("BRANCHLINE_LOG")))); err != nil || os.Getenv("BRANCHLINE_LOG") == "" {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}
