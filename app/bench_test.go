//go:build ci

package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/branchline/branchline/internal/benchdata"
	"github.com/branchline/branchline/node"
)

// open1M opens the desktop app's 1,000,000-message data folder, building it
// once (about two minutes; cached in .cache/bench/app-1m). Set BENCH_1M=1.
func open1M(b *testing.B) *node.Node {
	b.Helper()
	if os.Getenv("BENCH_1M") == "" {
		b.Skip("set BENCH_1M=1 to build or use the 1,000,000-message data folder")
	}
	dir := filepath.Join("..", ".cache", "bench", "app-1m")
	ctx := context.Background()
	if err := benchdata.Folder(ctx, dir, 1_000_000, time.Now()); err != nil {
		b.Fatal(err)
	}
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	return n
}

// BenchmarkOpenWindow1M measures building the whole window on a million
// stored messages, first page of the inbox included (Fyne's test driver:
// no GL; scripts/bench-startup.sh measures the real first frame).
func BenchmarkOpenWindow1M(b *testing.B) {
	n := open1M(b)
	a := test.NewTempApp(b)
	for b.Loop() {
		w := a.NewWindow("Branchline")
		u := newUI(a, w, n)
		u.install()
		w.Resize(fyne.NewSize(1280, 800))
		if len(u.inbox.items) == 0 {
			b.Fatal("empty inbox")
		}
		w.Close()
	}
}

// BenchmarkFilterChange1M measures changing the inbox's filter, order or
// search to its first page shown. Target: 50 ms.
func BenchmarkFilterChange1M(b *testing.B) {
	n := open1M(b)
	a := test.NewTempApp(b)
	w := a.NewWindow("Branchline")
	u := newUI(a, w, n)
	u.install()
	w.Resize(fyne.NewSize(1280, 800))
	s := u.inbox
	for _, tc := range []struct{ name, filter, sort, search string }{
		{"needs-response/urgency", "Needs response", sortUrgency, ""},
		{"needs-response/newest", "Needs response", sortNewest, ""},
		{"over-24h/urgency", "Unanswered over 24 h", sortUrgency, ""},
		{"over-72h/newest", "Unanswered over 72 h", sortNewest, ""},
		{"unanswered/urgency", "Unanswered", sortUrgency, ""},
		{"escalated", "Escalated", sortNewest, ""},
		{"mine or my department", "Mine or my department", sortUrgency, ""},
		{"all", "All", sortNewest, ""},
		{"all/search fries", "All", sortNewest, "fries"},
		{"all/search cold fries", "All", sortNewest, "cold fries"},
		{"needs-response/search fries", "Needs response", sortNewest, "fries"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.StopTimer()
			for range b.N {
				// Leave the state, then come back: each step is a change.
				s.search.Text = ""
				s.filter.Selected = "All"
				s.sortBy.Selected = sortNewest
				s.reload()
				s.search.Text = tc.search
				s.sortBy.Selected = tc.sort
				b.StartTimer()
				s.filter.SetSelected(tc.filter)
				b.StopTimer()
			}
			b.ReportMetric(float64(len(s.items)), "rows")
		})
	}
}
