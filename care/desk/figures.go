package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/branchline/branchline/care/kpi"
)

// Figures computes the location's figures for the local days from to to,
// inclusive (YYYY-MM-DD, in the location's time zone), from its own
// messages: a Report with exact percentiles, and the Days it adds up
// (what the location shares over federation).
func (d *Desk) Figures(ctx context.Context, from, to string) (kpi.Report, []kpi.Day, error) {
	loc := d.Location()
	zone := loc.Zone()
	start, err := time.ParseInLocation(time.DateOnly, from, zone)
	if err != nil {
		return kpi.Report{}, nil, fmt.Errorf("%w: from %q is not a date like 2026-11-01", ErrInvalid, from)
	}
	end, err := time.ParseInLocation(time.DateOnly, to, zone)
	if err != nil {
		return kpi.Report{}, nil, fmt.Errorf("%w: to %q is not a date like 2026-11-30", ErrInvalid, to)
	}
	if end.Before(start) {
		return kpi.Report{}, nil, fmt.Errorf("%w: the range ends (%s) before it starts (%s)", ErrInvalid, to, from)
	}
	byDay, err := loc.Hours()
	if err != nil {
		return kpi.Report{}, nil, err
	}
	hours, err := kpi.NewHours(zone, byDay)
	if err != nil {
		return kpi.Report{}, nil, fmt.Errorf("location %s: %w", loc.Name, err)
	}
	rows, err := d.store.FigureRows(ctx, start, time.Date(end.Year(), end.Month(), end.Day()+1, 0, 0, 0, 0, zone))
	if err != nil {
		return kpi.Report{}, nil, err
	}
	msgs := make([]kpi.Message, len(rows))
	for i, r := range rows {
		msgs[i] = kpi.Message{CreatedAt: r.CreatedAt, FirstResponse: r.FirstResponse, NeedsResponse: r.NeedsResponse,
			Dismissed: r.Dismissed, Platform: r.Platform, Stage: r.Stage, Department: r.Department, Sentiment: r.Sentiment}
	}
	target := d.ResponseTarget()
	days, frt := kpi.Compute(msgs, kpi.Options{Location: loc.Name, Region: loc.Region, Hours: hours, Target: target, Now: d.now()})
	rep := kpi.ForLocation(loc.Name, days, frt, kpi.Filter{From: from, To: to}, target)
	rep.From, rep.To = from, to
	return rep, days, nil
}

// OpenBetween is how much of [a, b) falls in the location's opening
// hours: the response clock, which does not run while the store is
// closed. Without opening hours it is the wall clock.
func (d *Desk) OpenBetween(a, b time.Time) time.Duration {
	d.mu.RLock()
	h, ok := d.hours, d.hoursOK
	d.mu.RUnlock()
	if !ok {
		loc := d.Location()
		byDay, err := loc.Hours()
		if err == nil {
			h, err = kpi.NewHours(loc.Zone(), byDay)
		}
		if err != nil {
			d.log.Warn("opening hours unreadable; the response clock runs around the clock", "err", err)
			h, _ = kpi.NewHours(loc.Zone(), nil)
		}
		d.mu.Lock()
		d.hours, d.hoursOK = h, true
		d.mu.Unlock()
	}
	return h.Open(a, b)
}

// ResponseTarget is the brand's response-time target from the active
// guideline pack, 60 minutes when the pack sets none.
func (d *Desk) ResponseTarget() time.Duration {
	if p := d.Pack(); p != nil && p.ResponseTime.TargetMinutes > 0 {
		return time.Duration(p.ResponseTime.TargetMinutes) * time.Minute
	}
	return 60 * time.Minute
}
