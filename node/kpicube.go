package node

import (
	"context"
	"errors"
	"sync"

	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/records"
)

// kpiCube holds the daily summaries this node has, parsed, so that a
// rollup does not read and decode every summary again: it is loaded on
// the first query, and summaries that change are read again, one by one,
// on the next.
type kpiCube struct {
	mu     sync.RWMutex
	loaded bool
	days   []kpi.Day
	index  map[string]int // location/day → position in days
	stale  map[string]bool
}

// cube returns the node's summaries, brought up to date. The caller
// holds the read lock until done with them.
func (n *Node) cube(ctx context.Context) (*kpiCube, error) {
	c := &n.kpi
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		recs, bad, err := n.Net.Book.KPIs(ctx)
		if err != nil {
			return nil, err
		}
		if bad > 0 {
			n.log.Warn("daily figures that do not decode were left out", "count", bad)
		}
		c.days, c.index, c.stale = make([]kpi.Day, 0, len(recs)), map[string]int{}, map[string]bool{}
		for _, r := range recs {
			c.put(n, r)
		}
		n.Net.Rep.OnApplied(func(cs []*change.Change) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, ch := range cs {
				if ch.Kind == change.KindKPI {
					c.stale[ch.Key] = true
				}
			}
		})
		c.loaded = true
	}
	for key := range c.stale {
		loc, day, _ := cutKey(key)
		r, err := n.Net.Book.KPIOf(ctx, loc, day)
		if errors.Is(err, records.ErrNotFound) {
			delete(c.stale, key)
			continue
		}
		if err != nil {
			return nil, err
		}
		c.put(n, r)
		delete(c.stale, key)
	}
	return c, nil
}

func cutKey(key string) (location, day string, ok bool) {
	// Days have no "/", locations may.
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

// put adds or replaces a summary (the caller holds the write lock).
func (c *kpiCube) put(n *Node, r change.KPI) {
	counts, err := kpi.ParseFigures(r.Figures)
	if err != nil {
		n.log.Warn("daily figures left out", "location", r.Location, "day", r.Day, "err", err)
		return
	}
	d := kpi.Day{Location: r.Location, Region: r.Region, Day: r.Day, C: counts}
	key := r.Location + "/" + r.Day
	if i, ok := c.index[key]; ok {
		c.days[i] = d
		return
	}
	c.index[key] = len(c.days)
	c.days = append(c.days, d)
}
