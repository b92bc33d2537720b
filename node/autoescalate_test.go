package node

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/identity"
)

// TestAutoEscalation: with the pack's rule, a crisis message left
// unanswered past the target (in opening hours) is escalated once, HQ
// can read it, a plain question is not, and a crash between the
// placeholder and the escalation raises no second one.
func TestAutoEscalation(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC) // before opening
	clock := func() time.Time { return now }
	hq, join := brandNetwork(t, clock)
	store := join(identity.RoleStore, "Riverside", "PNW")

	var pack map[string]any
	if err := json.Unmarshal(guidelines.DefaultJSON(), &pack); err != nil {
		t.Fatal(err)
	}
	pack["response_time"] = map[string]any{"target_minutes": 60, "escalate": map[string]any{"crisis": true, "level": "hq", "severity": "high"}}
	doc, _ := json.Marshal(pack)
	if _, err := store.Desk.InstallPack(ctx, "maria", doc); err != nil {
		t.Fatal(err)
	}

	input := `{"platform":"facebook","account":"ck","id":"c1","author":"Eli Park","author_id":"u2","text":"I got food poisoning after eating your chicken sandwich last night, I was vomiting all night.","created_at":"2026-05-05T23:00:00Z","kind":"comment"}
{"platform":"facebook","account":"ck","id":"c2","author":"Bo Chan","author_id":"u3","text":"Are you open on Sunday?","created_at":"2026-05-05T23:10:00Z","kind":"comment"}`
	if _, err := store.Desk.Import(ctx, strings.NewReader(input), "night.jsonl", nil); err != nil {
		t.Fatal(err)
	}
	m1, _ := store.Store.MessageByID(ctx, 1)
	if m1.Crisis == "" {
		t.Fatalf("triage found no crisis in %q", m1.Text)
	}
	// Until headquarters is in the store's directory nobody could read an
	// escalation: it fails, and leaves no mark behind.
	now = time.Date(2026, 5, 6, 11, 1, 0, 0, time.UTC)
	if _, err := store.AutoEscalate(ctx); err == nil || !strings.Contains(err.Error(), "headquarters") {
		t.Fatalf("without headquarters in the directory: %v", err)
	}
	if marks, _ := store.Store.MessageEscalations(ctx, 1); len(marks) != 0 {
		t.Fatalf("a failed escalation left marks: %+v", marks)
	}
	handOver(t, ctx, hq, store)
	now = time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
	// 10 hours on the wall clock, but the store has not opened yet.
	if k, err := store.AutoEscalate(ctx); err != nil || k != 0 {
		t.Fatalf("before opening: %d, %v", k, err)
	}
	now = time.Date(2026, 5, 6, 10, 59, 0, 0, time.UTC)
	if k, err := store.AutoEscalate(ctx); err != nil || k != 0 {
		t.Fatalf("59 open minutes: %d, %v", k, err)
	}
	now = time.Date(2026, 5, 6, 11, 1, 0, 0, time.UTC)
	if k, err := store.AutoEscalate(ctx); err != nil || k != 1 {
		t.Fatalf("61 open minutes: %d, %v", k, err)
	}
	if k, err := store.AutoEscalate(ctx); err != nil || k != 0 {
		t.Fatalf("again: %d, %v", k, err)
	}
	marks, _ := store.Store.MessageEscalations(ctx, 1)
	if len(marks) != 1 || marks[0].EscalationID == autoPending || marks[0].Level != "hq" {
		t.Fatalf("marks %+v", marks)
	}
	if marks2, _ := store.Store.MessageEscalations(ctx, 2); len(marks2) != 0 {
		t.Fatalf("the plain question was escalated: %+v", marks2)
	}
	handOver(t, ctx, store, hq)
	views, err := hq.Net.Book.Escalations(ctx)
	if err != nil || len(views) != 1 || !views[0].Readable || views[0].Content.Excerpt != m1.Text || views[0].Severity != "high" {
		t.Fatalf("headquarters sees %+v, %v", views, err)
	}

	// A crash after the placeholder and the escalation, before the real
	// mark: the next run finds the escalation and raises none.
	if err := store.Store.ReplaceEscalationMark(ctx, "test", 1, marks[0].EscalationID, models.EscalationMark{EscalationID: autoPending, Level: "hq", Severity: "high"}); err != nil {
		t.Fatal(err)
	}
	if k, err := store.AutoEscalate(ctx); err != nil || k != 0 {
		t.Fatalf("after the crash: raised %d, %v", k, err)
	}
	marks, _ = store.Store.MessageEscalations(ctx, 1)
	if len(marks) != 1 || marks[0].EscalationID != views[0].ID {
		t.Fatalf("after the crash: marks %+v", marks)
	}
	if vs, _ := store.Net.Book.Escalations(ctx); len(vs) != 1 {
		t.Fatalf("%d escalations after the crash", len(vs))
	}
}
