package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/records"
)

// KPIQuery asks for figures: a location's, a region's or the brand's, over
// local days From to To inclusive (YYYY-MM-DD). With no scope it asks for
// this node's own: a store's location, a region's region, headquarters'
// brand.
type KPIQuery struct {
	Location string
	Region   string
	Brand    bool
	From, To string
}

// ErrNoFigures means the figures asked for are not on this node.
var ErrNoFigures = errors.New("no figures")

// KPI answers q. A store's own figures are computed from its messages
// (exact percentiles); everything else is rolled up from the daily
// summaries the network carries, with this store's own days fresh from
// its messages.
func (n *Node) KPI(ctx context.Context, q KPIQuery) (kpi.Report, error) {
	if q.From == "" || q.To == "" {
		return kpi.Report{}, fmt.Errorf("%w: a range needs both ends", ErrNoFigures)
	}
	own := ""
	if n.Desk != nil {
		own = n.Desk.Location().Name
	}
	var self *identity.Cert
	if n.Net != nil {
		self = n.Net.Self.Cert
	}
	if q.Location == "" && q.Region == "" && !q.Brand {
		switch {
		case own != "":
			q.Location = own
		case self != nil && self.Role == identity.RoleRegion:
			q.Region = self.Region
		default:
			q.Brand = true
		}
	}
	if q.Location != "" && q.Location == own {
		rep, _, err := n.Desk.Figures(ctx, q.From, q.To)
		return rep, err
	}
	if n.Net == nil {
		what := "the brand"
		switch {
		case q.Location != "":
			what = fmt.Sprintf("location %q", q.Location)
		case q.Region != "":
			what = fmt.Sprintf("region %q", q.Region)
		}
		return kpi.Report{}, fmt.Errorf("%w of %s here: figures other than this store's come over the brand network, which this data folder has not joined", ErrNoFigures, what)
	}
	if self != nil && self.Role == identity.RoleStore {
		own = self.Location // as the network names it
	}
	f := kpi.Filter{Location: q.Location, Region: q.Region, From: q.From, To: q.To}
	rep, err := n.rollupNetwork(ctx, own, f)
	if err != nil {
		return kpi.Report{}, err
	}
	rep.From, rep.To = q.From, q.To
	if q.Location != "" && rep.Locations == 0 {
		return rep, fmt.Errorf("%w: no daily figures of %q between %s and %s on this node", ErrNoFigures, q.Location, q.From, q.To)
	}
	switch {
	case n.Desk != nil:
		rep.TargetMinutes = n.Desk.ResponseTarget().Minutes()
	default: // headquarters and regions: the brand's pack
		if doc, err := n.Net.Book.CurrentGuideline(ctx, ""); err == nil {
			if p, err := guidelines.Parse(doc); err == nil {
				rep.TargetMinutes = float64(p.ResponseTime.TargetMinutes)
			}
		}
	}
	return rep, nil
}

// rollupNetwork rolls up the daily summaries this node holds, with this
// store's own days (if any) computed fresh from its messages in place of
// the ones it published.
func (n *Node) rollupNetwork(ctx context.Context, own string, f kpi.Filter) (kpi.Report, error) {
	c, err := n.cube(ctx)
	if err != nil {
		return kpi.Report{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if own == "" || (f.Location != "" && f.Location != own) {
		return kpi.Rollup(c.days, f), nil
	}
	days := make([]kpi.Day, 0, len(c.days))
	for _, d := range c.days {
		if d.Location != own {
			days = append(days, d)
		}
	}
	ownDays, err := n.ownDays(ctx, 400)
	if err != nil {
		return kpi.Report{}, err
	}
	return kpi.Rollup(append(days, ownDays...), f), nil
}

// ownDays computes this store's Days for the last back days to today.
func (n *Node) ownDays(ctx context.Context, back int) ([]kpi.Day, error) {
	today := n.now().In(n.Desk.Location().Zone())
	from := today.AddDate(0, 0, -back).Format(time.DateOnly)
	_, days, err := n.Desk.Figures(ctx, from, today.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	if n.Net != nil {
		for i := range days {
			days[i].Location, days[i].Region = n.Net.Self.Cert.Location, n.Net.Self.Cert.Region
		}
	}
	return days, nil
}

// FiguresWindow is how many finished days a store keeps publishing: its
// figures for a day still change for a while (late answers, what turns
// 72 hours old).
const FiguresWindow = 7

// PublishFigures shares this store's figures for each of the last
// FiguresWindow finished days whose figures differ from what it shared
// before, and returns how many it published. Nothing personal is in them.
func (n *Node) PublishFigures(ctx context.Context) (int, error) {
	return n.publishFigures(ctx, FiguresWindow, false)
}

// publishFigures publishes the changed figures of the last days finished
// days; withToday adds today's so far (the demo, which has no tomorrow).
func (n *Node) publishFigures(ctx context.Context, days int, withToday bool) (int, error) {
	if n.Net == nil || n.Desk == nil || n.Net.Self.Cert.Role != identity.RoleStore {
		return 0, nil
	}
	zone := n.Desk.Location().Zone()
	today := n.now().In(zone)
	from := today.AddDate(0, 0, -days).Format(time.DateOnly)
	to := today.AddDate(0, 0, -1).Format(time.DateOnly)
	if withToday {
		to = today.Format(time.DateOnly)
	}
	_, list, err := n.Desk.Figures(ctx, from, to)
	if err != nil {
		return 0, err
	}
	loc := n.Net.Self.Cert.Location
	published := 0
	for _, d := range list {
		figures := d.Figures()
		held, err := n.Net.Book.KPIOf(ctx, loc, d.Day)
		switch {
		case err == nil && maps.Equal(held.Figures, figures):
			continue
		case err == nil, errors.Is(err, records.ErrNotFound):
		default:
			return published, err
		}
		if err := n.Net.Book.PublishKPI(ctx, d.Day, figures); err != nil {
			return published, fmt.Errorf("publish figures of %s: %w", d.Day, err)
		}
		published++
	}
	return published, nil
}

// figuresLoop publishes the store's figures now and every hour.
func (n *Node) figuresLoop(ctx context.Context) {
	for {
		if k, err := n.PublishFigures(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("publish daily figures", "err", err)
		} else if k > 0 {
			n.log.Info("published daily figures", "days", k)
		}
		t := time.NewTimer(time.Hour)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
