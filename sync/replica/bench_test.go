package replica

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
)

// BenchmarkReceive measures verified remote changes applied into SQLite:
// batches of 500 changes from four stores (KPI summaries and escalations,
// the bulk of what stores send), each one's signature and certificate
// checked. Target: at least 10,000 changes a second.
func BenchmarkReceive(b *testing.B) {
	n := newNet(b)
	ctx := context.Background()
	store, err := models.Open(ctx, filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	rep, err := New(ctx, store, n.ids["hq"], n.root.Public(), WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	seq := map[string]uint64{}
	batch := func() [][]byte {
		raws := make([][]byte, 0, 500)
		for i := range 500 {
			st := n.storeNames[i%len(n.storeNames)]
			loc := n.ids[st].Cert.Location
			seq[st]++
			s := seq[st]
			var c *change.Change
			if i%5 == 0 {
				body, _ := json.Marshal(change.Escalation{Location: loc, Region: "PNW", Level: change.LevelRegion, Severity: "high", Category: "complaint", Sealed: make([]byte, 300)})
				c = change.New(n.ids[st], s, change.KindEscalation, change.EscalationKey(st, s), body, now)
			} else {
				day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(s)).Format(time.DateOnly)
				body, _ := json.Marshal(change.KPI{Location: loc, Region: "PNW", Day: day, Figures: map[string]float64{"received": 12, "answered": 9, "median_response_minutes": 41}})
				c = change.New(n.ids[st], s, change.KindKPI, loc+"/"+day, body, now)
			}
			raws = append(raws, c.Marshal())
		}
		return raws
	}
	total := 0
	for b.Loop() {
		b.StopTimer()
		raws := batch()
		b.StartTimer()
		res, err := rep.Receive(ctx, "peer", raws)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Added) != len(raws) {
			b.Fatalf("applied %d of %d (refused %d)", len(res.Added), len(raws), res.Refused)
		}
		total += len(res.Added)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "changes/s")
	b.ReportMetric(0, "ns/op")
}
