package main

import (
	"context"

	blapp "github.com/branchline/branchline/app"
	"github.com/branchline/branchline/node"
)

func runApp(ctx context.Context, n *node.Node) error { return blapp.Run(ctx, n) }
