package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/branchline/branchline/channels/demo"
	"github.com/branchline/branchline/models"
)

// BenchmarkImport measures a whole import: parsing JSON Lines, triage
// (VADER included), storing and full-text indexing, in batches of 20,000
// realistic messages. Target: at least 20,000 messages a second.
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	store, err := models.Open(ctx, filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if err := Setup(ctx, store, LocationSetup{Name: "Bench", TimeZone: "UTC"}); err != nil {
		b.Fatal(err)
	}
	d, err := Open(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	const perFile = 20000
	items := demo.Synthetic(1, perFile, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Minute)
	round := 0
	total := 0
	var bytesRead int
	for b.Loop() {
		b.StopTimer()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, it := range items {
			enc.Encode(map[string]any{"platform": it.Platform, "account": it.Account, "id": fmt.Sprintf("%s-r%d", it.PlatformID, round),
				"thread": it.ThreadID, "author": it.AuthorName, "author_id": it.AuthorID, "text": it.Text,
				"created_at": it.CreatedAt.Format(time.RFC3339), "kind": it.Kind, "rating": it.Rating})
		}
		bytesRead += buf.Len()
		round++
		b.StartTimer()
		rep, err := d.Import(ctx, &buf, "bench.jsonl", nil)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Inserted != perFile {
			b.Fatalf("inserted %d of %d (%d rejected: %v)", rep.Inserted, perFile, rep.Rejected, rep.Errors[:min(3, len(rep.Errors))])
		}
		total += rep.Inserted
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}
