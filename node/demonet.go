package node

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/network"
)

// The demo location belongs to a demo brand network, so that a newcomer
// can escalate and follow the escalation: a headquarters identity is
// created in the demo folder's demo-network/hq (it does not run), the
// store joins with an invitation from it, and headquarters' directory
// entry is handed over so escalations can be sealed for it. The demo
// store does not gossip: nothing of it leaves the machine.

// DemoNetworkDir is where the demo's headquarters keeps its identity.
const DemoNetworkDir = "demo-network"

// demoBind is the address a demo node would bind: loopback, any port. The
// demo store never starts gossip.
const demoBind = "127.0.0.1:0"

func setupDemoNetwork(ctx context.Context, dir, location, region string, now time.Time) error {
	hqDir := filepath.Join(dir, DemoNetworkDir, "hq")
	if _, err := network.InitHQ(hqDir, "Copper Kettle HQ (demo)", demoBind, "", "lan", now); err != nil {
		return fmt.Errorf("demo headquarters: %w", err)
	}
	hqStore, err := models.Open(ctx, filepath.Join(hqDir, DatabaseFile), models.WithClock(func() time.Time { return now }))
	if err != nil {
		return err
	}
	defer hqStore.Close()
	hq, err := network.Open(ctx, hqDir, hqStore, nil, func() time.Time { return now })
	if err != nil {
		return err
	}
	if err := hq.Book.Announce(ctx, hq.Config.Name, ""); err != nil {
		return err
	}
	code, _, err := network.Invite(ctx, hqDir, hq.Book, network.InviteRequest{Role: identity.RoleStore,
		Location: location, Region: region, Expires: time.Hour}, now)
	if err != nil {
		return fmt.Errorf("invite the demo store: %w", err)
	}
	if _, err := network.Join(dir, code, demoBind, "", "lan", now); err != nil {
		return fmt.Errorf("join the demo network: %w", err)
	}
	// Hand headquarters' changes (its directory entry) to the store.
	store, err := models.Open(ctx, filepath.Join(dir, DatabaseFile), models.WithClock(func() time.Time { return now }))
	if err != nil {
		return err
	}
	defer store.Close()
	rt, err := network.Open(ctx, dir, store, nil, func() time.Time { return now })
	if err != nil {
		return err
	}
	heads, err := hqStore.FedHeads(ctx)
	if err != nil {
		return err
	}
	for origin, head := range heads {
		raws, err := hqStore.FedRange(ctx, origin, 1, head, 0)
		if err != nil {
			return err
		}
		if res, err := rt.Rep.Receive(ctx, "demo-hq", raws); err != nil || res.Refused > 0 {
			return fmt.Errorf("hand headquarters' records to the demo store: %d refused, %v", res.Refused, err)
		}
	}
	return nil
}
