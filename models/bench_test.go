package models

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

var benchReasons = `[{"field":"sentiment","rule":"vader","value":"0.128"},{"field":"stage","rule":"pre-purchase-cues","value":"pre_purchase","words":["open"]},{"field":"department","rule":"pre-purchase","value":"sales"},{"field":"needs_response","rule":"question","value":"true","words":["?"]}]`

// BenchmarkInsertInbound measures the store's part of an import: messages
// already triaged, in batches of 2,000 per transaction.
func BenchmarkInsertInbound(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l := Location{Name: "Bench"}
	s.CreateLocation(ctx, &l)
	n := 0
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		batch := make([]Inbound, 2000)
		for i := range batch {
			n++
			batch[i] = Inbound{Platform: "facebook", Account: "ck", PlatformID: fmt.Sprint("m", n), ThreadID: fmt.Sprint("t", n/5),
				AuthorName: fmt.Sprint("Customer ", n%5000), AuthorID: fmt.Sprint("u", n%5000), Kind: "comment",
				Text: fmt.Sprintf("Ordered the double bacon burger for delivery and it arrived cold, message %d", n), CreatedAt: start.Add(time.Duration(n) * time.Second),
				Triage: Triaged{NeedsResponse: n%2 == 0, Stage: "post_purchase", Department: "customer_care", Sentiment: -0.4, Reasons: benchReasons, Listening: "[]"}}
		}
		if _, err := s.InsertInbound(ctx, l.ID, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
