package node

import (
	"context"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
)

var now = time.Date(2026, 11, 22, 19, 30, 0, 0, time.UTC)

func TestEmptyFolderBecomesTheDemoLocation(t *testing.T) {
	ctx := context.Background()
	n, err := Open(ctx, t.TempDir(), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	loc := n.Desk.Location()
	if !loc.Demo || loc.Name != "Copper Kettle Riverside" || n.Demo == nil {
		t.Fatalf("location %+v, demo platform %v", loc, n.Demo != nil)
	}
	accs, _ := n.Store.Accounts(ctx)
	if len(accs) != 5 {
		t.Errorf("%d accounts, want 5", len(accs))
	}
	all, _, err := n.Store.Inbox(ctx, models.InboxQuery{Filter: models.FilterAll, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 200 || len(all) > 1000 {
		t.Fatalf("%d demo messages, want a few hundred", len(all))
	}
	oldest := all[len(all)-1].CreatedAt
	if age := now.Sub(oldest); age < 14*24*time.Hour {
		t.Errorf("the oldest message is %s old, want weeks", age)
	}
	status := map[string]int{}
	for _, m := range all {
		status[m.Status]++
	}
	open, _ := n.Store.CountInbox(ctx, models.FilterNeedsResponse)
	if status[models.StatusAnswered] < 100 || open < 20 {
		t.Errorf("statuses %v with %d needing a response: want many answered and a good number waiting", status, open)
	}
	pending, _ := n.Store.Replies(ctx, models.RepliesQuery{States: []string{models.ReplyPendingApproval}})
	if len(pending) != 2 {
		t.Errorf("%d replies pending approval, want the trainee's 2", len(pending))
	}
	sent, _ := n.Store.Replies(ctx, models.RepliesQuery{States: []string{models.ReplySent}, Limit: 5000})
	for _, r := range sent {
		if r.SentAt == nil || r.SentAt.After(now) || r.SentAt.Before(oldest) {
			t.Fatalf("reply %d sent at %v, outside the demo's history", r.ID, r.SentAt)
		}
	}
	if _, err := n.Store.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}

	// Reopening keeps the data and makes no second demo.
	n.Close()
	n2, err := Open(ctx, n.Dir, Options{Now: func() time.Time { return now.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if c, _ := n2.Store.CountInbox(ctx, models.FilterAll); c != int64(len(all)) {
		t.Errorf("%d messages after reopening, want %d", c, len(all))
	}
}

func TestNoDemoRefusesAnEmptyFolder(t *testing.T) {
	if _, err := Open(context.Background(), t.TempDir(), Options{NoDemo: true}); err != ErrNotSetUp {
		t.Fatalf("err = %v", err)
	}
}

func TestDemoKeepsMessagesComing(t *testing.T) {
	ctx := context.Background()
	clock := now
	n, err := Open(ctx, t.TempDir(), Options{Now: func() time.Time { return clock }, DemoLivePerHour: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	before, _ := n.Store.CountMessages(ctx, "in")
	clock = clock.Add(30 * time.Minute)
	rep, err := n.Desk.Poll(ctx, n.Channels)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted < 10 || rep.Inserted > 60 {
		t.Fatalf("%d new messages in 30 minutes at 60 an hour", rep.Inserted)
	}
	after, _ := n.Store.CountMessages(ctx, "in")
	if after != before+int64(rep.Inserted) {
		t.Fatalf("count %d → %d, poll said %d", before, after, rep.Inserted)
	}
	// Polling again at the same time brings nothing twice.
	if rep, _ := n.Desk.Poll(ctx, n.Channels); rep.Inserted != 0 {
		t.Fatalf("a repeated poll inserted %d", rep.Inserted)
	}
}
