package node

import (
	"context"
	"testing"
	"time"

	"github.com/branchline/branchline/sync/records"
)

// TestDemoNetwork opens the demo's brand network around the demo store:
// headquarters sees both demo stores' figures and the second store's
// escalations; what the demo store escalates reaches the region office;
// opening it again sets nothing up twice.
func TestDemoNetwork(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 19, 30, 0, 0, time.UTC)
	dir := t.TempDir()
	store, err := Open(ctx, dir, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rctx, stop := context.WithCancel(ctx)
	dn, err := store.OpenDemoNetwork(rctx)
	if err != nil {
		t.Fatal(err)
	}
	brand, err := dn.HQ.KPI(ctx, KPIQuery{Brand: true, From: "2026-11-01", To: "2026-11-22"})
	if err != nil {
		t.Fatal(err)
	}
	if brand.Locations != 2 || brand.Totals.Received == 0 || brand.Totals.Answered == 0 {
		t.Fatalf("headquarters' figures: %d locations, %+v", brand.Locations, brand.Totals)
	}
	rows, err := dn.HQ.Net.Book.Board(ctx)
	if err != nil || len(rows) == 0 {
		t.Fatalf("headquarters' board: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.Location != harborSite.name {
			t.Errorf("an escalation from %s", r.Location)
		}
	}
	key, err := store.Net.Book.Escalate(ctx, records.EscalateInput{Severity: "medium", Category: "complaint", Note: "Regular upset about the new menu"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dn.relay(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := dn.Region.Net.Book.Escalation(ctx, key); err != nil || v.Content == nil {
		t.Fatalf("the region office reads %+v, %v", v, err)
	}
	stop()
	dn.Close()

	rctx, stop = context.WithCancel(ctx)
	defer stop()
	dn, err = store.OpenDemoNetwork(rctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); dn.Close() }()
	again, _ := dn.HQ.Net.Book.Board(ctx)
	if len(again) != len(rows)+1 {
		t.Errorf("reopened: %d escalations, want %d", len(again), len(rows)+1)
	}
}
