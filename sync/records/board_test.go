package records

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The board's rows say what the full views say, for each node's share.
func TestBoardAgreesWithTheFullViews(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	var ids []string
	for i, in := range []struct {
		store string
		in    EscalateInput
	}{
		{"store-a", EscalateInput{Severity: "high", Category: "complaint", Note: "Wrong order twice"}},
		{"store-b", EscalateInput{Severity: "critical", Category: "food_safety", Note: "Customer ill"}},
		{"store-s", EscalateInput{Severity: "low", Category: "other", Note: "Odd review"}},
		{"store-a", EscalateInput{Severity: "medium", Category: "refund", Note: "Refund asked"}},
	} {
		id, err := w.books[in.store].Escalate(ctx, in.in)
		if err != nil {
			t.Fatalf("escalation %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	w.sync(t)
	if err := w.books["region-north"].SetStatus(ctx, ids[0], "acknowledged", "On it", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.books["hq"].SetStatus(ctx, ids[1], "in_progress", "Legal informed", "legal"); err != nil {
		t.Fatal(err)
	}
	if err := w.books["hq"].SetStatus(ctx, ids[3], "resolved", "Refunded", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.books["store-a"].Comment(ctx, ids[0], "The customer called back"); err != nil {
		t.Fatal(err)
	}
	w.sync(t)

	for node, want := range map[string]int{"hq": 4, "region-north": 3, "store-a": 2, "store-s": 1} {
		rows, err := w.books[node].Board(ctx)
		if err != nil {
			t.Fatal(err)
		}
		views, err := w.books[node].Escalations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != want || len(views) != want {
			t.Fatalf("%s: %d rows, %d views, want %d", node, len(rows), len(views), want)
		}
		byID := map[string]BoardRow{}
		for _, r := range rows {
			byID[r.ID] = r
		}
		for _, v := range views {
			r := byID[v.ID]
			if r.Stage != v.Stage || r.Level != v.Level || r.Department != v.Department || r.Comments != len(v.Comments) ||
				r.Severity != v.Severity || r.Location != v.Location || !r.RaisedAt.Equal(v.RaisedAt) {
				t.Errorf("%s: row %+v, view %+v", node, r, v)
			}
		}
	}

	rows, _ := w.books["hq"].Board(ctx)
	got := FilterBoard(rows, BoardFilter{Status: "active"})
	if len(got) != 3 || got[0].Severity != "critical" || got[1].Severity != "high" || got[2].Severity != "low" {
		t.Errorf("active, most severe first: %+v", got)
	}
	if got := FilterBoard(rows, BoardFilter{Region: "North", Department: "legal"}); len(got) != 1 || got[0].ID != ids[1] {
		t.Errorf("North, legal: %+v", got)
	}
	if got := FilterBoard(rows, BoardFilter{}); got[len(got)-1].Stage != "resolved" {
		t.Errorf("resolved ones should come last: %+v", got)
	}
	if got := FilterBoard(rows, BoardFilter{OlderThan: time.Hour, Now: time.Now()}); len(got) != 0 {
		t.Errorf("nothing is an hour old yet: %+v", got)
	}
	if got := FilterBoard(rows, BoardFilter{Search: "food"}); len(got) != 1 {
		t.Errorf("search food: %+v", got)
	}
}

// BenchmarkBoard measures the escalation board at headquarters with
// 10,000 escalations: loading every row (done once, then kept up to
// date), and the first page after a filter change (what the user waits
// for). Target for the first page: 50 ms. The full views, as the old list
// read them, are measured for comparison.
func BenchmarkBoard(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b)
	stores := []string{"store-a", "store-b", "store-s"}
	sev := []string{"low", "medium", "high", "critical"}
	for i := range 10000 {
		if _, err := w.books[stores[i%3]].Escalate(ctx, EscalateInput{Severity: sev[i%4], Category: "complaint",
			Note: fmt.Sprintf("Escalation %d", i), Excerpt: "The burger was cold and the fries were soggy."}); err != nil {
			b.Fatal(err)
		}
	}
	hq := w.books["hq"]
	for range 100 { // each round serves a bounded range
		w.sync(b)
		if rows, _ := hq.Board(ctx); len(rows) == 10000 {
			break
		}
	}
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			rows, err := hq.Board(ctx)
			if err != nil || len(rows) != 10000 {
				b.Fatalf("%d rows, %v", len(rows), err)
			}
		}
	})
	rows, _ := hq.Board(ctx)
	b.Run("filter+first page", func(b *testing.B) {
		for b.Loop() {
			page := FilterBoard(rows, BoardFilter{Region: "North", Severity: "high", Status: "active"})
			if len(page) == 0 {
				b.Fatal("empty")
			}
			if _, err := hq.Escalation(ctx, page[0].ID); err != nil { // the detail of the first row
				b.Fatal(err)
			}
		}
	})
	b.Run("full views (old list)", func(b *testing.B) {
		for b.Loop() {
			if _, err := hq.Escalations(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKPIs reads back 20,000 daily summaries (one store's, a day
// each, with realistic figures): what a rollup at headquarters pays to
// load summaries from its database before adding them up. Per-summary
// figures extrapolate to a brand's year.
func BenchmarkKPIs(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b)
	store := w.books["store-a"]
	figures := map[string]float64{"received": 34, "needs_response": 22, "answered": 18, "decided": 21, "within_target": 9,
		"unanswered_72h": 1, "sentiment.positive": 12, "sentiment.neutral": 14, "sentiment.negative": 8, "sentiment.sum": 1.85,
		"channel.facebook": 15, "channel.instagram": 12, "channel.google": 7, "stage.post_purchase": 20, "stage.none": 14,
		"department.customer_care": 19, "department.marketing": 15, "frt.sum": 1260, "frt.8": 3, "frt.12": 4, "frt.18": 5, "frt.23": 4, "frt.27": 2}
	start := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	for i := range n {
		if err := store.PublishKPI(ctx, start.AddDate(0, 0, i).Format(time.DateOnly), figures); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		ks, bad, err := store.KPIs(ctx)
		if err != nil || bad != 0 || len(ks) != n {
			b.Fatalf("%d summaries, %d bad, %v", len(ks), bad, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/summary")
}
