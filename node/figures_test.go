package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/network"
)

// handOver gives to every change from holds that to lacks.
func handOver(t testing.TB, ctx context.Context, from, to *Node) {
	t.Helper()
	if err := HandOver(ctx, from, to); err != nil {
		t.Fatal(err)
	}
}

// brandNetwork sets up headquarters on clock and returns it with a
// function that invites and opens a new node (a store gets a location in
// UTC, open 10:00 to 22:00 every day).
func brandNetwork(t testing.TB, clock func() time.Time) (*Node, func(role, location, region string) *Node) {
	t.Helper()
	ctx := context.Background()
	hqDir := t.TempDir()
	if _, err := network.InitHQ(hqDir, "HQ", "127.0.0.1:0", "", "lan", clock()); err != nil {
		t.Fatal(err)
	}
	open := func(dir string) *Node {
		t.Helper()
		n, err := Open(ctx, dir, Options{NoDemo: true, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	hq := open(hqDir)
	if err := hq.Net.Book.Announce(ctx, "HQ", ""); err != nil {
		t.Fatal(err)
	}
	join := func(role, location, region string) *Node {
		t.Helper()
		code, _, err := network.Invite(ctx, hqDir, hq.Net.Book, network.InviteRequest{Role: role, Location: location, Region: region}, clock())
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := network.Join(dir, code, "127.0.0.1:0", "", "lan", clock()); err != nil {
			t.Fatal(err)
		}
		if role == identity.RoleStore {
			store, err := models.Open(ctx, filepath.Join(dir, DatabaseFile), models.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			every := []string{"10:00-22:00"}
			err = desk.Setup(ctx, store, desk.LocationSetup{Name: location, Region: region, TimeZone: "UTC",
				Hours:   models.OpeningHours{"mon": every, "tue": every, "wed": every, "thu": every, "fri": every, "sat": every, "sun": every},
				Manager: models.Staff{Name: "Maria Lopez", Handle: "maria"}})
			store.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		return open(dir)
	}
	return hq, join
}

// TestFiguresTravelAndRollUp: three stores in two regions compute and
// publish their daily figures; headquarters rolls up the brand, the PNW
// region office its region, and a store can see another region's.
func TestFiguresTravelAndRollUp(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 9, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hq, join := brandNetwork(t, clock)
	riverside := join(identity.RoleStore, "Riverside", "PNW")
	harbor := join(identity.RoleStore, "Harbor", "PNW")
	mission := join(identity.RoleStore, "Mission", "Bay")
	pnw := join(identity.RoleRegion, "", "PNW")

	// Each store: n questions on 6 May, the first answered after 30 minutes.
	seed := func(n *Node, questions int) {
		t.Helper()
		var lines []string
		for i := range questions {
			lines = append(lines, fmt.Sprintf(`{"platform":"facebook","account":"ck","id":"q%d","author":"Customer %d","author_id":"u%d","text":"Are you open on Sunday?","created_at":"2026-05-06T1%d:00:00Z","kind":"comment"}`, i, i, i, i))
		}
		if _, err := n.Desk.Import(ctx, strings.NewReader(strings.Join(lines, "\n")), "q.jsonl", nil); err != nil {
			t.Fatal(err)
		}
		r, _, err := n.Desk.Reply(ctx, desk.ReplyInput{MessageID: 1, Staff: "maria", Text: "Yes, 10 to 9.\n\n– Maria, Copper Kettle"})
		if err != nil {
			t.Fatal(err)
		}
		now = time.Date(2026, 5, 6, 10, 30, 0, 0, time.UTC)
		if _, err := n.Store.ClaimReply(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := n.Store.MarkSent(ctx, r.ID, "x1", "test"); err != nil {
			t.Fatal(err)
		}
		now = time.Date(2026, 5, 9, 19, 0, 0, 0, time.UTC)
	}
	seed(riverside, 3)
	seed(harbor, 2)
	seed(mission, 4)

	for _, s := range []*Node{riverside, harbor, mission} {
		k, err := s.PublishFigures(ctx)
		if err != nil || k != 1 {
			t.Fatalf("%s published %d days: %v", s.Net.Self.Cert.Location, k, err)
		}
		// Unchanged figures are not published again.
		if k, err := s.PublishFigures(ctx); err != nil || k != 0 {
			t.Fatalf("%s published %d days again: %v", s.Net.Self.Cert.Location, k, err)
		}
	}
	// Headquarters and the region office publish no figures of their own.
	if k, err := hq.PublishFigures(ctx); err != nil || k != 0 {
		t.Fatalf("headquarters published %d: %v", k, err)
	}
	all := []*Node{hq, riverside, harbor, mission, pnw}
	for _, from := range all {
		for _, to := range all {
			if from != to {
				handOver(t, ctx, from, to)
			}
		}
	}
	q := KPIQuery{From: "2026-05-01", To: "2026-05-09"}

	brand, err := hq.KPI(ctx, q) // headquarters: the brand by default
	if err != nil {
		t.Fatal(err)
	}
	if brand.Scope != "brand" || brand.Locations != 3 || brand.Totals.Received != 9 || brand.Totals.Answered != 3 || brand.Totals.Unanswered72h != 6 {
		t.Fatalf("brand: %d locations, %+v", brand.Locations, brand.Totals)
	}
	if brand.Totals.MedianMinutes == nil || *brand.Totals.MedianMinutes < 25 || *brand.Totals.MedianMinutes > 30 {
		t.Errorf("brand median %v, want within the 25–30 minute bucket", brand.Totals.MedianMinutes)
	}
	region, err := pnw.KPI(ctx, q) // the region office: its region by default
	if err != nil {
		t.Fatal(err)
	}
	if region.Scope != "region" || region.Name != "PNW" || region.Locations != 2 || region.Totals.Received != 5 {
		t.Fatalf("region: %+v", region)
	}
	other, err := riverside.KPI(ctx, KPIQuery{Region: "Bay", From: q.From, To: q.To})
	if err != nil || other.Locations != 1 || other.Totals.Received != 4 {
		t.Fatalf("Bay from Riverside: %+v %v", other.Totals, err)
	}
	own, err := riverside.KPI(ctx, q)
	if err != nil || own.Scope != "location" || !own.Exact || own.Totals.Received != 3 {
		t.Fatalf("Riverside's own: %+v %v", own, err)
	}

	// A late answer changes a day inside the window: it is published again.
	r, _, err := riverside.Desk.Reply(ctx, desk.ReplyInput{MessageID: 2, Staff: "maria", Text: "Yes, 10 to 9.\n\n– Maria, Copper Kettle"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := riverside.Store.ClaimReply(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := riverside.Store.MarkSent(ctx, r.ID, "x2", "test"); err != nil {
		t.Fatal(err)
	}
	if k, err := riverside.PublishFigures(ctx); err != nil || k != 1 {
		t.Fatalf("after a late answer: published %d, %v", k, err)
	}
	handOver(t, ctx, riverside, hq)
	brand, err = hq.KPI(ctx, q)
	if err != nil || brand.Totals.Answered != 4 {
		t.Fatalf("brand after the late answer: %+v %v", brand.Totals, err)
	}
}

// TestParsedFiguresAreKeptAndRefreshed: headquarters keeps the summaries
// it has parsed, so the next process reads them back instead of parsing
// them again; a summary a store republishes is parsed again, in this
// process and the next.
func TestParsedFiguresAreKeptAndRefreshed(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 9, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hq, join := brandNetwork(t, clock)
	a := join(identity.RoleStore, "Riverside", "PNW")
	b := join(identity.RoleStore, "Mission", "Bay")
	to := hq
	publish := func(n *Node, day string, received float64) {
		t.Helper()
		if err := n.Net.Book.PublishKPI(ctx, day, map[string]float64{"received": received, "needs_response": received, "answered": 1,
			"decided": 1, "within_target": 1, "frt.sum": 30, "frt.12": 1}); err != nil {
			t.Fatal(err)
		}
		handOver(t, ctx, n, to)
	}
	unparsed := func(n *Node) int {
		t.Helper()
		k := 0
		if err := n.Store.FedStatesUnparsed(ctx, uint8(change.KindKPI), func(models.FedState) error { k++; return nil }); err != nil {
			t.Fatal(err)
		}
		return k
	}
	received := func(n *Node) int {
		t.Helper()
		rep, err := n.KPI(ctx, KPIQuery{Brand: true, From: "2026-05-01", To: "2026-05-09"})
		if err != nil {
			t.Fatal(err)
		}
		n.bg.Wait() // parsed summaries are kept in the background
		return rep.Totals.Received
	}
	publish(a, "2026-05-06", 10)
	publish(a, "2026-05-07", 5)
	publish(b, "2026-05-06", 7)
	if k := unparsed(hq); k != 3 {
		t.Fatalf("%d summaries unparsed before the first query, want 3", k)
	}
	if got := received(hq); got != 22 {
		t.Fatalf("brand received %d, want 22", got)
	}
	if k := unparsed(hq); k != 0 {
		t.Fatalf("%d summaries not kept parsed after the first query", k)
	}
	publish(a, "2026-05-06", 20) // a late answer changed the day
	if k := unparsed(hq); k != 1 {
		t.Fatalf("%d summaries unparsed after a republication, want 1", k)
	}
	if got := received(hq); got != 32 {
		t.Fatalf("brand received %d after the republication, want 32", got)
	}
	if k := unparsed(hq); k != 0 {
		t.Fatalf("the republished summary was not kept parsed (%d)", k)
	}
	// The next process reads them back, and sees the same.
	dir := hq.Dir
	hq.Close()
	again, err := Open(ctx, dir, Options{NoDemo: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	to = again
	if k := unparsed(again); k != 0 {
		t.Fatalf("after reopening, %d summaries would be parsed again", k)
	}
	if got := received(again); got != 32 {
		t.Fatalf("after reopening, brand received %d, want 32", got)
	}
	publish(b, "2026-05-08", 4)
	if got := received(again); got != 36 {
		t.Fatalf("after reopening and a new summary, brand received %d, want 36", got)
	}
}

// BenchmarkFiguresLoad: what headquarters pays to load 20,000 daily
// summaries on the first query of a process, parsing them from their
// records (then keeping them parsed) or reading back the parsed ones.
func BenchmarkFiguresLoad(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 5, 9, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hq, join := brandNetwork(b, clock)
	store := join(identity.RoleStore, "Riverside", "PNW")
	figures := map[string]float64{"received": 34, "needs_response": 22, "answered": 18, "decided": 21, "within_target": 9,
		"unanswered_72h": 1, "sentiment.positive": 12, "sentiment.neutral": 14, "sentiment.negative": 8, "sentiment.sum": 1.85,
		"channel.facebook": 15, "channel.instagram": 12, "channel.google": 7, "stage.post_purchase": 20, "stage.none": 14,
		"department.customer_care": 19, "department.marketing": 15, "frt.sum": 1260, "frt.8": 3, "frt.12": 4, "frt.18": 5, "frt.23": 4, "frt.27": 2}
	const n = 20000
	start := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if err := store.Net.Book.PublishKPI(ctx, start.AddDate(0, 0, i).Format(time.DateOnly), figures); err != nil {
			b.Fatal(err)
		}
	}
	for range n/500 + 1 { // a hand-over moves a bounded range at a time
		if err := HandOver(ctx, store, hq); err != nil {
			b.Fatal(err)
		}
	}
	for _, cached := range []bool{false, true} {
		name := "parse"
		if cached {
			name = "parsed"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if !cached {
					b.StopTimer()
					if err := hq.Store.ForgetKPIDays(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				c := &kpiCube{}
				if err := c.load(ctx, hq); err != nil || len(c.days) != n {
					b.Fatalf("loaded %d summaries: %v", len(c.days), err)
				}
				b.StopTimer()
				hq.bg.Wait() // keeping them parsed is not the query's wait
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/summary")
		})
	}
}
