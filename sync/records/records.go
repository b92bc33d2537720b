// Package records reads and writes the brand network's shared records in
// the terms people use: guideline packs and templates, escalations with
// their status and comments, crisis broadcasts and acknowledgements, KPI
// summaries and the node directory. It signs through the replica and
// reads what the replica stored, opening sealed content when this node is
// one of its readers.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/replica"
)

// Book is this node's view of the shared records.
type Book struct {
	rep   *replica.Replica
	store *models.Store
	self  *identity.Identity
	now   func() time.Time
}

// New makes a book over a replica and its store.
func New(rep *replica.Replica, store *models.Store, now func() time.Time) *Book {
	if now == nil {
		now = time.Now
	}
	return &Book{rep: rep, store: store, self: rep.Self(), now: now}
}

// Self is this node's certificate.
func (b *Book) Self() *identity.Cert { return b.self.Cert }

// ErrNotFound means no such record.
var ErrNotFound = errors.New("no such record")

// Guidelines

// GuidelineVersion is one published version of a pack.
type GuidelineVersion struct {
	ID          string    `json:"id"`
	Version     int       `json:"version"`
	Title       string    `json:"title"`
	PublishedAt time.Time `json:"published_at"`
	Author      string    `json:"author"`
	Current     bool      `json:"current"`
}

// PublishGuideline signs and shares a pack document (headquarters only).
func (b *Book) PublishGuideline(ctx context.Context, doc []byte) (*guidelines.Pack, error) {
	p, err := guidelines.Parse(doc)
	if err != nil {
		return nil, err
	}
	if _, err := b.rep.Author(ctx, change.KindGuideline, p.ID, doc); err != nil {
		return nil, err
	}
	return p, nil
}

// Guidelines lists every version of every pack this node holds, newest
// first.
func (b *Book) Guidelines(ctx context.Context) ([]GuidelineVersion, error) {
	cs, err := b.store.FedChangesOfKind(ctx, uint8(change.KindGuideline), 10000)
	if err != nil {
		return nil, err
	}
	cur, err := b.store.FedStates(ctx, uint8(change.KindGuideline), 0)
	if err != nil {
		return nil, err
	}
	out := []GuidelineVersion{}
	for _, c := range cs {
		p, err := guidelines.Parse(c.Body)
		if err != nil {
			continue // verified on arrival; cannot happen
		}
		isCur := slices.ContainsFunc(cur, func(s models.FedState) bool { return s.Origin == c.Origin && s.Seq == c.Seq })
		out = append(out, GuidelineVersion{ID: p.ID, Version: p.Version, Title: p.Title, PublishedAt: c.At.UTC(), Author: c.Origin, Current: isCur})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Version > out[j].Version
	})
	return out, nil
}

// GuidelineDoc returns the document of one version of a pack.
func (b *Book) GuidelineDoc(ctx context.Context, id string, version int) ([]byte, error) {
	cs, err := b.store.FedChanges(ctx, uint8(change.KindGuideline), id)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if p, err := guidelines.Parse(c.Body); err == nil && p.Version == version {
			return c.Body, nil
		}
	}
	return nil, fmt.Errorf("guideline pack %q version %d: %w", id, version, ErrNotFound)
}

// CurrentGuideline returns the current document of a pack ("" for the
// only or first pack).
func (b *Book) CurrentGuideline(ctx context.Context, id string) ([]byte, error) {
	if id == "" {
		all, err := b.store.FedStates(ctx, uint8(change.KindGuideline), 1)
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("guideline pack: %w (headquarters has published none yet)", ErrNotFound)
		}
		return all[0].Body, nil
	}
	st, err := b.store.FedStateOf(ctx, uint8(change.KindGuideline), id)
	if err != nil {
		return nil, fmt.Errorf("guideline pack %q: %w", id, ErrNotFound)
	}
	return st.Body, nil
}

// Templates

// TemplateVersion is a published template.
type TemplateVersion struct {
	Key         string             `json:"key"`
	Scope       string             `json:"scope"`
	Template    templates.Template `json:"template"`
	Deleted     bool               `json:"deleted,omitempty"`
	PublishedAt time.Time          `json:"published_at"`
	Author      string             `json:"author"`
}

// TemplateScope is the scope this node publishes templates in:
// headquarters "hq", a region "region:NAME".
func (b *Book) TemplateScope() (string, error) {
	switch b.self.Cert.Role {
	case identity.RoleHQ:
		return "hq", nil
	case identity.RoleRegion:
		return "region:" + b.self.Cert.Region, nil
	}
	return "", fmt.Errorf("%w: stores do not publish templates", change.ErrRole)
}

// PublishTemplates signs and shares templates in this node's scope.
func (b *Book) PublishTemplates(ctx context.Context, ts []templates.Template) error {
	scope, err := b.TemplateScope()
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	for _, t := range ts {
		raw, _ := json.Marshal(t)
		body, _ := json.Marshal(change.Template{Scope: scope, Template: raw})
		if _, err := b.rep.Author(ctx, change.KindTemplate, scope+"/"+t.Name, body); err != nil {
			return err
		}
	}
	return nil
}

// Templates lists the current templates this node sees: headquarters'
// and, for a store or region, its region's. A region's template overrides
// headquarters' of the same name for that region's stores.
func (b *Book) Templates(ctx context.Context) ([]TemplateVersion, error) {
	states, err := b.store.FedStates(ctx, uint8(change.KindTemplate), 0)
	if err != nil {
		return nil, err
	}
	myRegion := "region:" + b.self.Cert.Region
	byName := map[string]TemplateVersion{}
	for _, s := range states {
		var body change.Template
		if json.Unmarshal(s.Body, &body) != nil {
			continue
		}
		if body.Scope != "hq" && body.Scope != myRegion && b.self.Cert.Role != identity.RoleHQ {
			continue
		}
		var t templates.Template
		if !body.Deleted && json.Unmarshal(body.Template, &t) != nil {
			continue
		}
		tv := TemplateVersion{Key: s.Key, Scope: body.Scope, Template: t, Deleted: body.Deleted, PublishedAt: s.At.UTC(), Author: s.Origin}
		name := strings.TrimPrefix(s.Key, body.Scope+"/")
		if b.self.Cert.Role == identity.RoleHQ {
			name = s.Key
		}
		if old, ok := byName[name]; ok && old.Scope != "hq" && body.Scope == "hq" {
			continue // the region's override wins for its stores
		}
		byName[name] = tv
	}
	out := make([]TemplateVersion, 0, len(byName))
	for _, tv := range byName {
		if !tv.Deleted {
			out = append(out, tv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// TemplateLevels lists every current template this node sees at every
// level, without letting a region's version hide headquarters' (the
// template library shows both): headquarters sees every region's, a
// region or store headquarters' and its own region's.
func (b *Book) TemplateLevels(ctx context.Context) ([]TemplateVersion, error) {
	states, err := b.store.FedStates(ctx, uint8(change.KindTemplate), 0)
	if err != nil {
		return nil, err
	}
	myRegion := "region:" + b.self.Cert.Region
	var out []TemplateVersion
	for _, s := range states {
		var body change.Template
		if json.Unmarshal(s.Body, &body) != nil || body.Deleted {
			continue
		}
		if body.Scope != "hq" && body.Scope != myRegion && b.self.Cert.Role != identity.RoleHQ {
			continue
		}
		var t templates.Template
		if json.Unmarshal(body.Template, &t) != nil {
			continue
		}
		out = append(out, TemplateVersion{Key: s.Key, Scope: body.Scope, Template: t, PublishedAt: s.At.UTC(), Author: s.Origin})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Template.Name != out[j].Template.Name {
			return out[i].Template.Name < out[j].Template.Name
		}
		return out[i].Scope < out[j].Scope // "hq" before "region:…"
	})
	return out, nil
}

// Directory

// Announce publishes this node's directory entry.
func (b *Book) Announce(ctx context.Context, name, address string) error {
	body, _ := json.Marshal(change.Node{Name: name, Address: address})
	if st, err := b.store.FedStateOf(ctx, uint8(change.KindNode), b.self.Cert.NodeID); err == nil && string(st.Body) == string(body) {
		return nil // unchanged
	}
	_, err := b.rep.Author(ctx, change.KindNode, b.self.Cert.NodeID, body)
	return err
}

// Revoke revokes a node (headquarters only): its changes after the last
// one this node holds are refused everywhere.
func (b *Book) Revoke(ctx context.Context, nodeID, reason string) (uint64, error) {
	heads, err := b.store.FedHeads(ctx)
	if err != nil {
		return 0, err
	}
	upTo := heads[nodeID]
	body, _ := json.Marshal(change.Revocation{UpTo: upTo, Reason: reason})
	_, err = b.rep.Author(ctx, change.KindRevocation, nodeID, body)
	return upTo, err
}

// DirectoryEntry is a node the network knows.
type DirectoryEntry struct {
	NodeID   string `json:"node"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Role     string `json:"role"`
	Location string `json:"location,omitempty"`
	Region   string `json:"region,omitempty"`
	Revoked  bool   `json:"revoked,omitempty"`
	Head     uint64 `json:"head"` // how many of its changes this node holds
	BoxKey   [32]byte
}

// Directory lists the nodes that have announced themselves.
func (b *Book) Directory(ctx context.Context) ([]DirectoryEntry, error) {
	states, err := b.store.FedStates(ctx, uint8(change.KindNode), 0)
	if err != nil {
		return nil, err
	}
	heads, err := b.store.FedHeads(ctx)
	if err != nil {
		return nil, err
	}
	revoked, err := b.store.FedRevocations(ctx)
	if err != nil {
		return nil, err
	}
	var out []DirectoryEntry
	for _, s := range states {
		var n change.Node
		json.Unmarshal(s.Body, &n)
		cert, err := b.certOf(ctx, s.Origin, s.Seq)
		if err != nil {
			continue
		}
		_, rv := revoked[s.Origin]
		out = append(out, DirectoryEntry{NodeID: s.Origin, Name: n.Name, Address: n.Address, Role: cert.Role,
			Location: cert.Location, Region: cert.Region, Revoked: rv, Head: heads[s.Origin], BoxKey: cert.BoxKey})
	}
	return out, nil
}

// certOf returns the certificate a stored change was signed with.
func (b *Book) certOf(ctx context.Context, origin string, seq uint64) (*identity.Cert, error) {
	raws, err := b.store.FedRange(ctx, origin, seq, seq, 1)
	if err != nil || len(raws) == 0 {
		return nil, fmt.Errorf("change %s/%d: %w", origin, seq, ErrNotFound)
	}
	c, err := change.Unmarshal(raws[0])
	if err != nil {
		return nil, err
	}
	return identity.ParseCert(c.Cert)
}

// Refusals lists the changes this node refused, newest first.
func (b *Book) Refusals(ctx context.Context, limit int) ([]models.FedRefusal, error) {
	return b.store.FedRefusals(ctx, limit)
}
