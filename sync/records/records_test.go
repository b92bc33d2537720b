package records

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/replica"
)

// world is a small network whose nodes exchange every change directly
// (gossip is tested elsewhere): headquarters, the North region, two
// North stores and a South store.
type world struct {
	books map[string]*Book
	reps  map[string]*replica.Replica
	order []string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	root, _ := identity.NewRoot(rand.Reader)
	w := &world{books: map[string]*Book{}, reps: map[string]*replica.Replica{}}
	for _, req := range []identity.CertRequest{
		{NodeID: "hq", Role: identity.RoleHQ},
		{NodeID: "region-north", Role: identity.RoleRegion, Region: "North"},
		{NodeID: "store-a", Role: identity.RoleStore, Location: "A", Region: "North"},
		{NodeID: "store-b", Role: identity.RoleStore, Location: "B", Region: "North"},
		{NodeID: "store-s", Role: identity.RoleStore, Location: "S", Region: "South"},
	} {
		id, err := root.Issue(req, time.Now().Add(-time.Hour), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		store, err := models.Open(ctx, filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		rep, err := replica.New(ctx, store, id, root.Public())
		if err != nil {
			t.Fatal(err)
		}
		w.reps[req.NodeID], w.books[req.NodeID] = rep, New(rep, store, nil)
		w.order = append(w.order, req.NodeID)
		if err := w.books[req.NodeID].Announce(ctx, req.NodeID, "127.0.0.1:7946"); err != nil {
			t.Fatal(err)
		}
	}
	w.sync(t)
	return w
}

// sync gives every node every change the others hold.
func (w *world) sync(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, from := range w.order {
		d, _ := w.reps[from].Digest(ctx)
		for _, to := range w.order {
			if to == from {
				continue
			}
			wants, err := w.reps[to].Wants(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, rg := range wants {
				raws, err := w.reps[from].Serve(ctx, rg, 0, 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.reps[to].Receive(ctx, from, raws); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestEscalationReadersAndStatus(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	id, err := w.books["store-a"].Escalate(ctx, EscalateInput{Severity: "high", Category: "complaint",
		Note: "Customer says the order was wrong twice", Excerpt: "Wrong order AGAIN, Jamie", Author: "jamie"})
	if err != nil {
		t.Fatal(err)
	}
	w.sync(t)

	for _, tt := range []struct {
		node     string
		listed   bool
		readable bool
	}{
		{"hq", true, true}, {"region-north", true, true}, {"store-a", true, true},
		{"store-b", false, false}, {"store-s", false, false},
	} {
		t.Run(tt.node, func(t *testing.T) {
			list, err := w.books[tt.node].Escalations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got *EscalationView
			for i := range list {
				if list[i].ID == id {
					got = &list[i]
				}
			}
			if (got != nil) != tt.listed {
				t.Fatalf("listed %v, want %v", got != nil, tt.listed)
			}
			if got != nil && (got.Content != nil) != tt.readable {
				t.Fatalf("content readable %v, want %v", got.Content != nil, tt.readable)
			}
			if got != nil && tt.readable && got.Content.Excerpt != "Wrong order AGAIN, Jamie" {
				t.Errorf("excerpt %q", got.Content.Excerpt)
			}
			// Whether listed or not, a node outside the readers cannot
			// open the sealed content it relays.
			if !tt.readable {
				if v, err := w.books[tt.node].Escalation(ctx, id); err == nil && v.Content != nil {
					t.Error("the content opened on a node that is not a reader")
				}
			}
		})
	}

	// Status: the region acknowledges, headquarters resolves, the store sees it.
	if err := w.books["store-a"].SetStatus(ctx, id, "resolved", "", ""); !errors.Is(err, change.ErrRole) {
		t.Errorf("a store set the status: %v", err)
	}
	if err := w.books["region-north"].SetStatus(ctx, id, "acknowledged", "on it", ""); err != nil {
		t.Fatal(err)
	}
	w.sync(t)
	if err := w.books["hq"].SetStatus(ctx, id, "resolved", "refund sent", "customer_care"); err != nil {
		t.Fatal(err)
	}
	w.sync(t)
	v, err := w.books["store-a"].Escalation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Stage != "resolved" || len(v.History) != 2 || v.History[1].Note != "refund sent" {
		t.Fatalf("store sees stage %q with history %+v", v.Stage, v.History)
	}
	if err := w.books["region-north"].SetStatus(ctx, id, "acknowledged", "", ""); err == nil {
		t.Error("a resolved escalation went back to acknowledged without a reopen")
	}
	if err := w.books["region-north"].SetStatus(ctx, id, "reopen", "customer wrote again", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.books["store-a"].Comment(ctx, id, "Jamie is in the store now"); err != nil {
		t.Fatal(err)
	}
	w.sync(t)
	v, _ = w.books["hq"].Escalation(ctx, id)
	if v.Stage != "open" || v.Reopened != 1 || len(v.Comments) != 1 || v.Comments[0].Text != "Jamie is in the store now" {
		t.Errorf("after reopen and comment hq sees stage %q reopened %d comments %+v", v.Stage, v.Reopened, v.Comments)
	}
}

func TestEscalateRules(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	tests := []struct {
		name  string
		node  string
		in    EscalateInput
		level string
		err   bool
	}{
		{"store, high: region", "store-a", EscalateInput{Severity: "high", Category: "complaint", Note: "n"}, change.LevelRegion, false},
		{"store, critical: hq", "store-a", EscalateInput{Severity: "critical", Category: "complaint", Note: "n"}, change.LevelHQ, false},
		{"store, food safety: hq", "store-a", EscalateInput{Severity: "low", Category: "food_safety", Note: "n"}, change.LevelHQ, false},
		{"store for another store", "store-a", EscalateInput{Location: "B", Severity: "low", Note: "n"}, "", true},
		{"region names its store", "region-north", EscalateInput{Location: "B", Severity: "medium", Note: "n"}, change.LevelRegion, false},
		{"region without a store", "region-north", EscalateInput{Severity: "medium", Note: "n"}, "", true},
		{"hq raises", "hq", EscalateInput{Severity: "medium", Note: "n"}, "", true},
		{"unknown severity", "store-a", EscalateInput{Severity: "urgent", Note: "n"}, "", true},
		{"no note", "store-a", EscalateInput{Severity: "low", Note: "  "}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := w.books[tt.node].Escalate(ctx, tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if err != nil {
				return
			}
			v, err := w.books[tt.node].Escalation(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Level != tt.level {
				t.Errorf("level %q, want %q", v.Level, tt.level)
			}
		})
	}
}

func TestRegionTemplateOverridesForItsStores(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	tpl := func(body string) []templates.Template {
		return []templates.Template{{Name: "welcome", Title: "Welcome", Category: "praise", Body: body}}
	}
	if err := w.books["hq"].PublishTemplates(ctx, tpl("Thanks from all of us!")); err != nil {
		t.Fatal(err)
	}
	if err := w.books["region-north"].PublishTemplates(ctx, tpl("Thanks from the North team!")); err != nil {
		t.Fatal(err)
	}
	if err := w.books["store-a"].PublishTemplates(ctx, tpl("x")); !errors.Is(err, change.ErrRole) {
		t.Errorf("a store published a template: %v", err)
	}
	w.sync(t)
	for node, want := range map[string]string{"store-a": "Thanks from the North team!", "store-s": "Thanks from all of us!"} {
		ts, err := w.books[node].Templates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 1 || ts[0].Template.Body != want {
			t.Errorf("%s sees %+v, want one template %q", node, ts, want)
		}
	}
	if ts, _ := w.books["hq"].Templates(ctx); len(ts) != 2 {
		t.Errorf("hq sees %d templates, want both versions", len(ts))
	}
}

func TestCrisisAcknowledgements(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	id, err := w.books["hq"].PublishCrisis(ctx, change.Crisis{Title: "Recall", Statement: "We paused chicken sales.", Keywords: []string{"chicken"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.books["store-a"].PublishCrisis(ctx, change.Crisis{Title: "x", Statement: "y"}); err == nil {
		t.Error("a store broadcast a crisis")
	}
	w.sync(t)
	for _, s := range []string{"store-a", "store-s"} {
		if err := w.books[s].AckCrisis(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.books["store-b"].AckCrisis(ctx, "crisis-nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("acknowledging an unknown crisis: %v", err)
	}
	w.sync(t)
	cs, err := w.books["hq"].Crises(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || len(cs[0].Acks) != 2 {
		t.Fatalf("hq sees %+v, want one crisis with two acknowledgements", cs)
	}
	if cs, _ := w.books["store-b"].Crises(ctx); len(cs) != 1 || cs[0].Acked {
		t.Errorf("store-b sees %+v, want the crisis, not acknowledged by it", cs)
	}
}

func TestKeyRotationIsSealedForLiveNodesOnly(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.books["hq"].Revoke(ctx, "store-b", "laptop stolen"); err != nil {
		t.Fatal(err)
	}
	w.sync(t)
	key, _ := identity.NewGossipKey()
	now := time.Now()
	if _, err := w.books["region-north"].RotateKey(ctx, key, now, now); err == nil {
		t.Error("a region rotated the gossip key")
	}
	if _, err := w.books["hq"].RotateKey(ctx, key, now.Add(time.Hour), now); err == nil {
		t.Error("a rotation retiring the old key before using the new one was accepted")
	}
	epoch, err := w.books["hq"].RotateKey(ctx, key, now.Add(time.Hour), now.Add(2*time.Hour))
	if err != nil || epoch != 1 {
		t.Fatalf("epoch %d, err %v", epoch, err)
	}
	w.sync(t)
	for _, node := range w.order {
		r, err := w.books[node].KeyRotation(ctx)
		if err != nil || r == nil {
			t.Fatalf("%s: rotation %v, err %v", node, r, err)
		}
		if opened := r.Key != nil; opened != (node != "store-b") {
			t.Errorf("%s opened the key: %v", node, opened)
		}
	}
}
