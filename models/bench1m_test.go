package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/branchline/branchline/channels/demo"
)

// open1M opens a database of 1,000,000 demo messages, building it once
// (about two minutes) and caching it under .cache/bench. Set BENCH_1M=1
// to run the benchmarks that need it.
func open1M(b *testing.B) *Store {
	b.Helper()
	if os.Getenv("BENCH_1M") == "" {
		b.Skip("set BENCH_1M=1 to build or use the 1,000,000-message database")
	}
	ctx := context.Background()
	dir := filepath.Join("..", ".cache", "bench")
	path := filepath.Join(dir, fmt.Sprintf("inbox-1m-v2-schema%d.db", SchemaVersion()))
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		tmp := path + ".building"
		os.Remove(tmp)
		if err := build1M(ctx, tmp); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// build1M writes 1,000,000 demo messages spread over three years, about
// 60 % needing a response. All but about 500 of those are answered, and
// the unanswered ones are spread over the three years, so only the
// filter's own index finds them fast.
func build1M(ctx context.Context, path string) error {
	const total = 1_000_000
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	l := Location{Name: "Bench"}
	if err := s.CreateLocation(ctx, &l); err != nil {
		return err
	}
	start := time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)
	step := 3 * 365 * 24 * time.Hour / total
	items := demo.Synthetic(7, total, start, step)
	for lo := 0; lo < total; lo += 5000 {
		batch := make([]Inbound, 0, 5000)
		for i, it := range items[lo:min(lo+5000, total)] {
			n := lo + i
			batch = append(batch, Inbound{Platform: it.Platform, Account: it.Account, PlatformID: it.PlatformID, ThreadID: it.ThreadID,
				AuthorName: it.AuthorName, AuthorID: fmt.Sprintf("%s-%d", it.AuthorID, n%20000), Text: it.Text, Kind: it.Kind,
				Rating: it.Rating, CreatedAt: it.CreatedAt, Source: "bench",
				Triage: Triaged{NeedsResponse: n%5 < 3, Stage: "post_purchase", Department: "customer_care", Reasons: benchReasons, Listening: "[]"}})
		}
		if _, err := s.InsertInbound(ctx, l.ID, batch); err != nil {
			return err
		}
	}
	return s.w.Exec(`UPDATE messages SET status = 'answered', answered_at = created_at
		WHERE needs_response = 1 AND id % 1429 <> 0 AND id <= (SELECT max(id) - 200 FROM messages)`).Error
}

func benchInbox(b *testing.B, q InboxQuery) {
	s := open1M(b)
	ctx := context.Background()
	rows, _, err := s.Inbox(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	if len(rows) == 0 {
		b.Fatalf("%+v found nothing", q)
	}
	for b.Loop() {
		if _, _, err := s.Inbox(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
	b.ReportMetric(float64(len(rows)), "rows")
}

// BenchmarkInbox1M: the first page of each inbox filter with 1,000,000
// messages stored (target: needs response ≤ 5 ms).
func BenchmarkInbox1M(b *testing.B) {
	for _, f := range []string{FilterNeedsResponse, FilterUnanswered, FilterAll} {
		b.Run(f, func(b *testing.B) { benchInbox(b, InboxQuery{Filter: f, Limit: 50}) })
	}
}

// BenchmarkSearch1M: the first page of a full-text search with 1,000,000
// messages stored (target ≤ 25 ms), for a common word, two words, a prefix
// and a rare word.
func BenchmarkSearch1M(b *testing.B) {
	for _, q := range []string{"fries", "cold fries", "burg*", "allergen"} {
		b.Run(q, func(b *testing.B) { benchInbox(b, InboxQuery{Filter: FilterAll, Search: q, Limit: 50}) })
	}
	for _, q := range []string{"fries", "burg*", "allergen"} {
		b.Run("needs-response+"+q, func(b *testing.B) {
			benchInbox(b, InboxQuery{Filter: FilterNeedsResponse, Search: q, Limit: 50})
		})
	}
}
