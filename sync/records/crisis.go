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

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// CrisisView is a crisis broadcast and who has acknowledged it.
type CrisisView struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Statement string    `json:"statement"`
	Keywords  []string  `json:"keywords"`
	Regions   []string  `json:"regions,omitempty"`
	At        time.Time `json:"at"`
	Acks      []AckView `json:"acks"`
	// Acked says whether this node (a store) has acknowledged it.
	Acked bool `json:"acked"`
}

// AckView is a store's acknowledgement.
type AckView struct {
	Location string    `json:"location"`
	Region   string    `json:"region"`
	At       time.Time `json:"at"`
}

// PublishCrisis broadcasts a holding statement and watch keywords
// (headquarters only).
func (b *Book) PublishCrisis(ctx context.Context, cr change.Crisis) (string, error) {
	if strings.TrimSpace(cr.Title) == "" || strings.TrimSpace(cr.Statement) == "" {
		return "", errors.New("a crisis broadcast needs a title and a holding statement")
	}
	id := "crisis-" + b.now().UTC().Format("20060102-150405")
	body, _ := json.Marshal(cr)
	if _, err := b.rep.Author(ctx, change.KindCrisis, id, body); err != nil {
		return "", err
	}
	return id, nil
}

// Crises lists the crisis broadcasts for this node's region (headquarters:
// all), newest first.
func (b *Book) Crises(ctx context.Context) ([]CrisisView, error) {
	states, err := b.store.FedStates(ctx, uint8(change.KindCrisis), 0)
	if err != nil {
		return nil, err
	}
	var out []CrisisView
	for _, s := range states {
		var cr change.Crisis
		if json.Unmarshal(s.Body, &cr) != nil {
			continue
		}
		if b.self.Cert.Role != identity.RoleHQ && len(cr.Regions) > 0 && !slices.Contains(cr.Regions, b.self.Cert.Region) {
			continue
		}
		v := CrisisView{ID: s.Key, Title: cr.Title, Statement: cr.Statement, Keywords: cr.Keywords, Regions: cr.Regions, At: s.At.UTC(), Acks: []AckView{}}
		acks, err := b.store.FedChanges(ctx, uint8(change.KindCrisisAck), s.Key)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, a := range acks {
			if a.AuthorRole != identity.RoleStore || seen[a.AuthorLocation] {
				continue
			}
			seen[a.AuthorLocation] = true
			v.Acks = append(v.Acks, AckView{Location: a.AuthorLocation, Region: a.AuthorRegion, At: a.At.UTC()})
			if a.AuthorLocation == b.self.Cert.Location {
				v.Acked = true
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

// AckCrisis acknowledges a crisis broadcast (stores).
func (b *Book) AckCrisis(ctx context.Context, id string) error {
	if _, err := b.store.FedStateOf(ctx, uint8(change.KindCrisis), id); err != nil {
		return fmt.Errorf("crisis %s: %w", id, ErrNotFound)
	}
	body, _ := json.Marshal(change.CrisisAck{Location: b.self.Cert.Location, Region: b.self.Cert.Region})
	_, err := b.rep.Author(ctx, change.KindCrisisAck, id, body)
	return err
}

// PublishKPI shares this store's figures for a day.
func (b *Book) PublishKPI(ctx context.Context, day string, figures map[string]float64) error {
	c := b.self.Cert
	body, _ := json.Marshal(change.KPI{Location: c.Location, Region: c.Region, Day: day, Figures: figures})
	_, err := b.rep.Author(ctx, change.KindKPI, c.Location+"/"+day, body)
	return err
}

// KPIOf is the summary this node holds for a location's day.
func (b *Book) KPIOf(ctx context.Context, location, day string) (change.KPI, error) {
	st, err := b.store.FedStateOf(ctx, uint8(change.KindKPI), location+"/"+day)
	if errors.Is(err, models.ErrNotFound) {
		return change.KPI{}, fmt.Errorf("figures of %s on %s: %w", location, day, ErrNotFound)
	}
	if err != nil {
		return change.KPI{}, err
	}
	var k change.KPI
	if err := json.Unmarshal(st.Body, &k); err != nil {
		return change.KPI{}, fmt.Errorf("figures of %s on %s: %w", location, day, err)
	}
	return k, nil
}

// KPIs lists the daily summaries this node holds. A record whose body
// does not decode is skipped and counted in bad.
func (b *Book) KPIs(ctx context.Context) (out []change.KPI, bad int, err error) {
	err = b.store.FedStatesEach(ctx, uint8(change.KindKPI), func(st models.FedState) error {
		var k change.KPI
		if json.Unmarshal(st.Body, &k) != nil {
			bad++
			return nil
		}
		out = append(out, k)
		return nil
	})
	return out, bad, err
}
