package main

import (
	"context"
	"log/slog"

	"github.com/branchline/branchline/node"
)

var runApp func(ctx context.Context, n *node.Node) error

func logger() *slog.Logger { return slog.New(slog.DiscardHandler) }
