package node

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/gossip"
	"github.com/branchline/branchline/sync/records"
)

// startNetwork runs gossip and keeps the desk in step with what
// headquarters publishes: the current guideline pack and templates.
func (n *Node) startNetwork(ctx context.Context, wg *sync.WaitGroup) error {
	if err := n.Net.Start(ctx, n.log); err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.writeMembers(ctx)
	}()
	if n.Desk == nil {
		return nil
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.figuresLoop(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.autoEscalateLoop(ctx)
	}()
	kick := make(chan struct{}, 1)
	n.Net.Rep.OnApplied(func(cs []*change.Change) {
		for _, c := range cs {
			if c.Kind == change.KindGuideline || c.Kind == change.KindTemplate {
				select {
				case kick <- struct{}{}:
				default:
				}
				return
			}
		}
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if err := n.SyncBrandContent(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("apply headquarters' guidelines and templates", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
		}
	}()
	return nil
}

// SyncBrandContent installs the network's current guideline pack and
// templates into this store's desk.
func (n *Node) SyncBrandContent(ctx context.Context) error {
	if n.Net == nil || n.Desk == nil {
		return nil
	}
	doc, err := n.Net.Book.CurrentGuideline(ctx, "")
	switch {
	case err == nil:
		active, aerr := n.Store.ActiveGuidelinePack(ctx)
		if aerr != nil || active.Document != string(doc) {
			if _, err := n.Desk.InstallPack(ctx, "hq", doc); err != nil {
				return err
			}
		}
	case errors.Is(err, records.ErrNotFound):
	default:
		return err
	}
	tvs, err := n.Net.Book.Templates(ctx)
	if err != nil || len(tvs) == 0 {
		return err
	}
	bySource := map[string][]templates.Template{}
	for _, tv := range tvs {
		source := "hq"
		if tv.Scope != "hq" {
			source = "region"
		}
		bySource[source] = append(bySource[source], tv.Template)
	}
	for source, ts := range bySource {
		if err := n.Desk.SaveTemplates(ctx, source, source, ts); err != nil {
			return err
		}
	}
	return nil
}

// MembersFile is where a running node writes the members it sees, for
// commands run beside it (`status`).
const MembersFile = "members.json"

type membersSnapshot struct {
	At      time.Time       `json:"at"`
	Members []gossip.Member `json:"members"`
}

// writeMembers keeps MembersFile fresh while the node runs.
func (n *Node) writeMembers(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if g := n.Net.Gossip; g != nil {
			b, _ := json.Marshal(membersSnapshot{At: n.now().UTC(), Members: g.Members()})
			tmp := filepath.Join(n.Dir, MembersFile+".tmp")
			if os.WriteFile(tmp, b, 0o600) == nil {
				os.Rename(tmp, filepath.Join(n.Dir, MembersFile))
			}
		}
		select {
		case <-ctx.Done():
			os.Remove(filepath.Join(n.Dir, MembersFile))
			return
		case <-t.C:
		}
	}
}

// ReadMembers returns the members a running node last saw, by name, and
// whether a node is running in dir (its snapshot is fresh).
func ReadMembers(dir string, now time.Time) (map[string]gossip.Member, bool) {
	b, err := os.ReadFile(filepath.Join(dir, MembersFile))
	if err != nil {
		return nil, false
	}
	var s membersSnapshot
	if json.Unmarshal(b, &s) != nil || now.Sub(s.At) > 10*time.Second {
		return nil, false
	}
	out := map[string]gossip.Member{}
	for _, m := range s.Members {
		out[m.Name] = m
	}
	return out, true
}

// TemplateLibrary lists the store's templates with their levels: what the
// network offers it (its region's over headquarters') is what a store's
// own version overrides.
func (n *Node) TemplateLibrary(ctx context.Context) ([]desk.LibraryEntry, error) {
	inherited := map[string]desk.LibraryEntry{}
	if n.Net != nil {
		tvs, err := n.Net.Book.Templates(ctx)
		if err != nil {
			return nil, err
		}
		for _, tv := range tvs {
			if tv.Deleted {
				continue
			}
			level := desk.LevelHQ
			if tv.Scope != "hq" {
				level = desk.LevelRegion
			}
			inherited[tv.Template.Name] = desk.LibraryEntry{Template: tv.Template, Level: level}
		}
	}
	return n.Desk.Library(ctx, inherited)
}
