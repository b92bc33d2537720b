package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/network"
	"github.com/branchline/branchline/sync/records"
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

// DemoNetwork is the rest of the demo brand network, run in this process
// so a newcomer can switch between the store, region and headquarters
// roles: headquarters, the Pacific Northwest region office and a second
// store, Copper Kettle Harbor. The nodes do not gossip: a relay in the
// process hands every change from one node's database to the others'.
// Nothing leaves the machine.
type DemoNetwork struct {
	HQ, Region, Harbor *Node
	store              *Node // the demo store the app runs on
	log                *slog.Logger
}

// Demo network folders, under the demo store's data folder.
const (
	demoRegionDir = "region"
	demoHarborDir = "harbor"
)

// OpenDemoNetwork opens the demo network around the demo store n, setting
// it up the first time: the region office and the second store join with
// invitations from the demo's headquarters, the second store gets its own
// three weeks of messages, headquarters publishes the guideline pack, the
// stores share their daily figures and the second store escalates its
// crises. Close it before n.
func (n *Node) OpenDemoNetwork(ctx context.Context) (*DemoNetwork, error) {
	if n.Demo == nil || n.Net == nil {
		return nil, errors.New("only the demo location has a demo network")
	}
	root := filepath.Join(n.Dir, DemoNetworkDir)
	opts := Options{NoDemo: true, Now: n.now, Logger: n.log}
	dn := &DemoNetwork{store: n, log: n.log}
	var err error
	if dn.HQ, err = Open(ctx, filepath.Join(root, "hq"), opts); err != nil {
		return nil, fmt.Errorf("demo headquarters: %w", err)
	}
	fresh := !network.IsMember(filepath.Join(root, demoRegionDir))
	if fresh {
		if err := dn.setUp(ctx, root); err != nil {
			dn.Close()
			return nil, err
		}
	}
	if dn.Region == nil {
		if dn.Region, err = Open(ctx, filepath.Join(root, demoRegionDir), opts); err != nil {
			dn.Close()
			return nil, fmt.Errorf("demo region: %w", err)
		}
	}
	if dn.Harbor == nil {
		if dn.Harbor, err = Open(ctx, filepath.Join(root, demoHarborDir), opts); err != nil {
			dn.Close()
			return nil, fmt.Errorf("demo second store: %w", err)
		}
	}
	if fresh {
		if err := dn.seed(ctx); err != nil {
			dn.Close()
			return nil, err
		}
	}
	for _, m := range []*Node{dn.HQ, dn.Region, dn.Harbor} {
		m.DemoRelayed = true
	}
	dn.Relay(ctx)
	return dn, nil
}

func (dn *DemoNetwork) setUp(ctx context.Context, root string) error {
	now := dn.store.now()
	invite := func(role, location, dir string) error {
		code, _, err := network.Invite(ctx, filepath.Join(root, "hq"), dn.HQ.Net.Book, network.InviteRequest{Role: role,
			Location: location, Region: demoRegion, Expires: time.Hour}, now)
		if err != nil {
			return fmt.Errorf("invite the demo %s: %w", role, err)
		}
		if _, err := network.Join(dir, code, demoBind, "", "lan", now); err != nil {
			return fmt.Errorf("join the demo %s: %w", role, err)
		}
		return nil
	}
	if err := invite(identity.RoleRegion, "", filepath.Join(root, demoRegionDir)); err != nil {
		return err
	}
	harborDir := filepath.Join(root, demoHarborDir)
	if err := invite(identity.RoleStore, harborSite.name, harborDir); err != nil {
		return err
	}
	if err := setupDemoSite(ctx, harborDir, now, harborSite); err != nil {
		return fmt.Errorf("demo second store: %w", err)
	}
	return nil
}

// seed gives the new demo network something to look at.
func (dn *DemoNetwork) seed(ctx context.Context) error {
	for _, m := range []*Node{dn.Region, dn.Harbor, dn.store} {
		if err := m.Net.Book.Announce(ctx, m.Net.Self.Cert.NodeID, ""); err != nil {
			return err
		}
	}
	if _, err := dn.HQ.Net.Book.PublishGuideline(ctx, guidelines.DefaultJSON()); err != nil {
		return fmt.Errorf("demo guideline pack: %w", err)
	}
	if err := dn.relay(ctx); err != nil {
		return err
	}
	// The second store escalates its crises.
	page, _, err := dn.Harbor.Store.Inbox(ctx, models.InboxQuery{Filter: models.FilterNeedsResponse, Limit: 200})
	if err != nil {
		return err
	}
	raised := 0
	for _, m := range page {
		if m.Crisis == "" || raised == 3 {
			continue
		}
		severity := "high"
		if m.Crisis == "food_safety" || m.Crisis == "injury" {
			severity = "critical"
		}
		key, err := dn.Harbor.Net.Book.Escalate(ctx, records.EscalateInput{Severity: severity, Category: m.Crisis,
			Note: "Raised by the Harbor manager: please advise before we answer in public.", Excerpt: m.Text,
			Platform: m.Platform, Author: m.AuthorName, PostedAt: m.CreatedAt})
		if err != nil {
			return fmt.Errorf("demo escalation: %w", err)
		}
		if err := dn.Harbor.Store.MarkEscalated(ctx, "system", m.ID, models.EscalationMark{EscalationID: key, Severity: severity, Category: m.Crisis}); err != nil {
			return err
		}
		raised++
	}
	if err := dn.relay(ctx); err != nil {
		return err
	}
	return dn.publishFigures(ctx, int(DemoHistory/(24*time.Hour))+1)
}

// publishFigures has both demo stores share their daily figures of the
// last days days.
func (dn *DemoNetwork) publishFigures(ctx context.Context, days int) error {
	for _, s := range []*Node{dn.store, dn.Harbor} {
		if _, err := s.publishFigures(ctx, days, true); err != nil {
			return fmt.Errorf("demo figures of %s: %w", s.Net.Self.Cert.Location, err)
		}
	}
	return dn.relay(ctx)
}

// relay hands every node every change the others hold.
func (dn *DemoNetwork) relay(ctx context.Context) error {
	return HandOver(ctx, dn.HQ, dn.Region, dn.store, dn.Harbor)
}

// HandOver gives each of nodes (nil ones skipped) every change the others
// hold and it lacks, as gossip would, straight from database to database:
// the demo network's relay, and tests'. A change refused on the way is an
// error.
func HandOver(ctx context.Context, nodes ...*Node) error {
	for _, from := range nodes {
		if from == nil {
			continue
		}
		heads, err := from.Store.FedHeads(ctx)
		if err != nil {
			return err
		}
		for _, to := range nodes {
			if to == nil || to == from {
				continue
			}
			have, err := to.Store.FedHeads(ctx)
			if err != nil {
				return err
			}
			for origin, head := range heads {
				if have[origin] >= head {
					continue
				}
				raws, err := from.Store.FedRange(ctx, origin, have[origin]+1, head, 0)
				if err != nil {
					return err
				}
				res, err := to.Net.Rep.Receive(ctx, from.Net.Self.Cert.NodeID, raws)
				if err != nil {
					return fmt.Errorf("hand over %s → %s: %w", from.Net.Self.Cert.NodeID, to.Net.Self.Cert.NodeID, err)
				}
				if res.Refused > 0 {
					return fmt.Errorf("hand over %s → %s: %d changes refused", from.Net.Self.Cert.NodeID, to.Net.Self.Cert.NodeID, res.Refused)
				}
			}
		}
	}
	return nil
}

// Relay keeps the demo network in step until ctx ends: every two seconds
// it hands changes over, and every ten minutes the stores share their
// figures.
func (dn *DemoNetwork) Relay(ctx context.Context) {
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if time.Since(last) > 10*time.Minute {
				last = time.Now()
				if err := dn.publishFigures(ctx, FiguresWindow); err != nil && ctx.Err() == nil {
					dn.log.Warn("demo figures", "err", err)
				}
			}
			if err := dn.relay(ctx); err != nil && ctx.Err() == nil {
				dn.log.Warn("demo relay", "err", err)
			}
		}
	}()
}

// Close closes the demo network's nodes (stop the relay's context first).
func (dn *DemoNetwork) Close() {
	for _, m := range []*Node{dn.HQ, dn.Region, dn.Harbor} {
		if m != nil {
			m.Close()
		}
	}
}
