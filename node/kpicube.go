package node

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
)

// kpiCube holds the daily summaries this node has, parsed, so that a
// rollup does not read and decode every summary again: it is loaded on
// the first query, and summaries that change are read again, one by one,
// on the next. Parsed summaries are also kept in the database (kpi_days),
// so that the next process reads them back instead of parsing them.
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
		if err := c.load(ctx, n); err != nil {
			return nil, err
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
	var parsed []models.KPIDay
	for key := range c.stale {
		st, err := n.Store.FedStateOf(ctx, uint8(change.KindKPI), key)
		if errors.Is(err, models.ErrNotFound) {
			delete(c.stale, key)
			continue
		}
		if err != nil {
			return nil, err
		}
		if d, ok := c.parse(n, st); ok {
			parsed = append(parsed, d)
		}
		delete(c.stale, key)
	}
	if err := n.Store.PutKPIDays(ctx, parsed); err != nil {
		n.log.Warn("keep parsed daily figures", "err", err)
	}
	return c, nil
}

// load reads every summary: those parsed before from kpi_days (a binary
// read), the others from their records, parsed and then kept in kpi_days
// for the next time (the caller holds the write lock).
func (c *kpiCube) load(ctx context.Context, n *Node) error {
	c.days, c.index, c.stale = nil, map[string]int{}, map[string]bool{}
	kind := uint8(change.KindKPI)
	err := n.Store.KPIDaysEach(ctx, kind, func(d models.KPIDay) error {
		counts, err := kpi.ParseBinary(d.Counts)
		if err != nil {
			c.stale[d.Key] = true // read from its record instead, with the changed ones
			return nil
		}
		c.put(kpi.Day{Location: d.Location, Region: d.Region, Day: d.Day, C: counts})
		return nil
	})
	if err != nil {
		return err
	}
	var parsed []models.KPIDay
	err = n.Store.FedStatesUnparsed(ctx, kind, func(st models.FedState) error {
		if d, ok := c.parse(n, st); ok {
			parsed = append(parsed, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Kept in the background: the query that asked need not wait for
	// thousands of rows to be written, and a node closing meanwhile
	// stops it (the next load parses the rest again).
	if len(parsed) > 0 {
		n.bg.Add(1)
		go func() {
			defer n.bg.Done()
			if err := n.Store.PutKPIDays(n.bgCtx, parsed); err != nil && n.bgCtx.Err() == nil {
				n.log.Warn("keep parsed daily figures", "err", err)
			}
		}()
	}
	return nil
}

// parse reads a summary from its record, adds it and returns it to keep
// in kpi_days (the caller holds the write lock). A summary that does not
// decode is left out, and said.
func (c *kpiCube) parse(n *Node, st models.FedState) (models.KPIDay, bool) {
	var r change.KPI
	if err := json.Unmarshal(st.Body, &r); err != nil {
		n.log.Warn("daily figures that do not decode were left out", "record", st.Key, "err", err)
		return models.KPIDay{}, false
	}
	counts, err := kpi.ParseFigures(r.Figures)
	if err != nil {
		n.log.Warn("daily figures left out", "location", r.Location, "day", r.Day, "err", err)
		return models.KPIDay{}, false
	}
	c.put(kpi.Day{Location: r.Location, Region: r.Region, Day: r.Day, C: counts})
	return models.KPIDay{Key: st.Key, Origin: st.Origin, Seq: st.Seq, Location: r.Location, Region: r.Region, Day: r.Day,
		Counts: counts.AppendBinary(nil)}, true
}

// put adds or replaces a summary (the caller holds the write lock).
func (c *kpiCube) put(d kpi.Day) {
	key := d.Location + "/" + d.Day
	if i, ok := c.index[key]; ok {
		c.days[i] = d
		return
	}
	c.index[key] = len(c.days)
	c.days = append(c.days, d)
}
