package demo

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
)

func TestStreamIsRealisticAndRepeatable(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var seen [2][]string
	for run := range 2 {
		p, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{Seed: 3, Live: now}, clock)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Advance(ctx, now.Add(-7*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, a := range Accounts {
			cursor := ""
			for {
				page, err := p.Poll(ctx, channels.Account{Platform: a.Platform, Handle: a.Handle}, cursor)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					seen[run] = append(seen[run], it.PlatformID+"|"+it.Text)
					kinds[it.Kind]++
					if strings.ContainsAny(it.Text, "{}") {
						t.Errorf("unfilled slot in %q", it.Text)
					}
					if it.Kind == "review" && a.Platform != "google" {
						t.Errorf("a review on %s", a.Platform)
					}
				}
				cursor = page.Cursor
				if !page.More {
					break
				}
			}
		}
		if n := len(seen[run]); n < 80 || n > 250 {
			t.Errorf("%d messages in a week, want about 150", n)
		}
		for _, k := range []string{"comment", "dm", "mention", "review"} {
			if kinds[k] == 0 {
				t.Errorf("no %s in a week: %v", k, kinds)
			}
		}
		p.Close()
	}
	if strings.Join(seen[0], "\n") != strings.Join(seen[1], "\n") {
		t.Error("the same seed and clock gave a different stream")
	}
}

func TestRepliesLandAndAreFound(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
	p, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{Seed: 3, FailEvery: 3}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req := channels.ReplyRequest{Account: channels.Account{Platform: "facebook", Handle: "copperkettle.riverside"},
		InReplyTo: "m1", Text: "Thanks!", IdempotencyKey: "k1", FirstAttempt: now}
	if _, found, _ := p.FindReply(ctx, req); found {
		t.Fatal("found a reply before posting")
	}
	id, err := p.Reply(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := p.FindReply(ctx, req)
	if err != nil || !found || got != id {
		t.Fatalf("FindReply = %q %v %v, want %q", got, found, err, id)
	}
	// A reply with other text, or older than the first attempt, is not it.
	other := req
	other.Text = "Something else"
	if _, found, _ := p.FindReply(ctx, other); found {
		t.Error("found a reply with other text")
	}
	later := req
	later.FirstAttempt = now.Add(time.Hour)
	if _, found, _ := p.FindReply(ctx, later); found {
		t.Error("found a reply older than the first attempt")
	}
	// The simulated failure comes every third attempt.
	p.Reply(ctx, other)
	if _, err := p.Reply(ctx, other); err == nil || errors.Is(err, channels.ErrPermanent) {
		t.Errorf("third attempt: %v, want a transient failure", err)
	}
	if _, err := p.Reply(ctx, channels.ReplyRequest{Text: " "}); !errors.Is(err, channels.ErrPermanent) {
		t.Errorf("empty reply: %v", err)
	}
}
