//go:build ci

package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/branchline/branchline/node"
)

func openDemo(t *testing.T) *node.Node {
	t.Helper()
	now := time.Date(2026, 11, 22, 19, 30, 0, 0, time.UTC)
	n, err := node.Open(context.Background(), t.TempDir(), node.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestInboxShowsWhatNeedsAResponse(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("Branchline")
	n := openDemo(t)
	u := newUI(a, w, n)
	w.SetContent(u.content())

	s := u.inbox
	if len(s.items) == 0 {
		t.Fatal("the inbox is empty on the demo data")
	}
	for _, it := range s.items {
		if !it.NeedsResponse || it.Status != "open" {
			t.Fatalf("needs-response list shows %+v", it)
		}
	}
	if !strings.Contains(s.status.Text, "messages") {
		t.Errorf("status line = %q", s.status.Text)
	}
	s.list.Select(0)
	if !strings.Contains(s.detail.Text, s.items[0].Text) || !strings.Contains(s.reasons.Text, "Why:") {
		t.Errorf("detail = %q / %q", s.detail.Text, s.reasons.Text)
	}
	needing := len(s.items)
	s.filter.SetSelected("All")
	answered := 0
	for _, it := range s.items {
		if it.Status == "answered" {
			answered++
		}
	}
	if len(s.items) <= needing || answered == 0 {
		t.Errorf("all filter: %d items, %d answered; needs-response had %d", len(s.items), answered, needing)
	}
}
