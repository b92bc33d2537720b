package mastodon_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/mastodon"
	"github.com/branchline/branchline/channels/webapi"
)

// Contract tests against the fake Mastodon server of fake_test.go.

const (
	ourID    = "14715"
	ourToken = "tok-riverside-7fQ2xZ9LmA0b"
	jessID   = "971724"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	f     *fake
	ch    *mastodon.Channel
	acc   channels.Account
	creds *memCreds
	clock *testClock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := newFake(t)
	f.addAccount(ourID, "riverside", "Copper Kettle Riverside", ourToken)
	f.addAccount(jessID, "jess", "Jess", "tok-jess")
	f.addAccount("555", "quiet", "", "")
	e := &env{f: f, creds: newCreds(), clock: &testClock{t: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}}
	// The handle as Verify names it: the acct at the server's host.
	e.acc = channels.Account{Platform: "mastodon", Handle: "riverside@" + hostOf(f.srv.URL), Server: f.srv.URL}
	e.creds.set(e.acc, ourToken)
	e.ch = e.channel(t)
	return e
}

// hostOf is the host and port of a test server's URL.
func hostOf(serverURL string) string { return strings.TrimPrefix(serverURL, "http://") }

// channel makes a new connector on the env's server, with empty caches.
func (e *env) channel(t *testing.T) *mastodon.Channel {
	return mastodon.New(e.creds, mastodon.WithClock(e.clock.now), mastodon.WithHTTPClient(e.f.srv.Client()),
		mastodon.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))))
}

// pollAll polls from cursor until the server has nothing more and returns
// the items, the cursor and the number of polls.
func pollAll(t *testing.T, ch channels.Channel, acc channels.Account, cursor string) ([]channels.Item, string, int) {
	t.Helper()
	var items []channels.Item
	for polls := 1; polls <= 50; polls++ {
		p, err := ch.Poll(context.Background(), acc, cursor)
		if err != nil {
			t.Fatalf("poll %d from %q: %v", polls, cursor, err)
		}
		items = append(items, p.Items...)
		cursor = p.Cursor
		if !p.More {
			return items, cursor, polls
		}
	}
	t.Fatal("the poll never caught up")
	return nil, "", 0
}

func ids(items []channels.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.PlatformID)
	}
	return out
}

func TestPollReturnsEveryMentionOnceOldestFirst(t *testing.T) {
	tests := []struct {
		name     string
		mentions int
		// repeat: every page repeats the newest item of the page before.
		repeat bool
		// hide: notifications (by position) the server filters out of its
		// pages, as GoToSocial does; a whole page of them makes an empty
		// page whose Link still advances.
		hide      func(i int) bool
		wantPolls int
	}{
		{name: "one page", mentions: 3, wantPolls: 1},
		{name: "several pages in one poll", mentions: 95, wantPolls: 1},
		{name: "more pages than one poll takes", mentions: 230, wantPolls: 2},
		{name: "server repeats an item across pages", mentions: 95, repeat: true, wantPolls: 1},
		{name: "empty filtered page with a next link", mentions: 130, hide: func(i int) bool { return i >= 40 && i < 80 }, wantPolls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.f.repeat = tt.repeat
			// Before the cursor: already seen.
			old := e.f.post(jessID, "@riverside old news", "public", "")
			_, cursor, _ := pollAll(t, e.ch, e.acc, "")
			var want []string
			for i := range tt.mentions {
				id := e.f.post(jessID, fmt.Sprintf("@riverside question %d", i), "public", "")
				if tt.hide != nil && tt.hide(i) {
					e.f.hide(lastNotif(e.f))
					continue
				}
				want = append(want, id)
				if i%7 == 0 {
					e.f.notify("favourite", ourID, jessID, old) // not a mention
				}
			}
			items, next, polls := pollAll(t, e.ch, e.acc, cursor)
			if got := ids(items); !slices.Equal(got, want) {
				t.Fatalf("got %d items %v…, want %d %v…", len(got), head(got), len(want), head(want))
			}
			if polls != tt.wantPolls {
				t.Errorf("caught up in %d polls, want %d", polls, tt.wantPolls)
			}
			if next == cursor || next == "" {
				t.Errorf("cursor did not advance: %q → %q", cursor, next)
			}
			again, err := e.ch.Poll(context.Background(), e.acc, next)
			if err != nil || len(again.Items) != 0 || again.More || again.Cursor != next {
				t.Errorf("second poll: %+v, %v; want nothing new and cursor %q kept", again, err, next)
			}
		})
	}
}

func lastNotif(f *fake) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notifs[len(f.notifs)-1].id
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func TestPollFromTheStartTakesEverything(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 50 {
		want = append(want, e.f.post(jessID, fmt.Sprintf("@riverside hello %d", i), "public", ""))
	}
	items, cursor, _ := pollAll(t, e.ch, e.acc, "")
	if !slices.Equal(ids(items), want) {
		t.Fatalf("from the start: %v…, want %v…", head(ids(items)), head(want))
	}
	if cursor != lastNotif(e.f) {
		t.Errorf("cursor %q, want the newest notification %q", cursor, lastNotif(e.f))
	}
	empty := newEnv(t)
	p, err := empty.ch.Poll(context.Background(), empty.acc, "")
	if err != nil || len(p.Items) != 0 || p.Cursor != "" || p.More {
		t.Errorf("an account with no mentions: %+v, %v", p, err)
	}
}

func TestPollSkipsMentionsWhoseStatusIsGone(t *testing.T) {
	e := newEnv(t)
	gone := e.f.post(jessID, "@riverside deleted soon", "public", "")
	kept := e.f.post(jessID, "@riverside still here", "public", "")
	e.f.deleteStatus(gone)
	items, cursor, _ := pollAll(t, e.ch, e.acc, "")
	if !slices.Equal(ids(items), []string{kept}) || cursor != lastNotif(e.f) {
		t.Fatalf("items %v cursor %q; want only %s and the newest cursor", ids(items), cursor, kept)
	}
}

func TestPollItemFields(t *testing.T) {
	e := newEnv(t)
	written := time.Date(2026, 11, 20, 17, 30, 0, 0, time.UTC)
	e.f.at(written)
	public := e.f.post(jessID, "@riverside Is the patio open?\n\nThanks & see you <3", "public", "")
	unlisted := e.f.post(jessID, "@riverside line one\nline two", "unlisted", "")
	dm := e.f.post("555", "@riverside my order was cold", "direct", "")
	_, cursor, _ := pollAll(t, e.ch, e.acc, "")

	// A direct-message conversation: the customer answers our answer.
	ourReply, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: dm, ThreadID: dm, Kind: "dm",
		Text: "So sorry! What was your order number?", IdempotencyKey: "k-dm-1", FirstAttempt: written})
	if err != nil {
		t.Fatal(err)
	}
	followUp := e.f.post("555", "@riverside it was #4411", "direct", ourReply)
	items, _, _ := pollAll(t, e.ch, e.acc, "")
	// A fresh connector has no cache: the thread comes from the context.
	fresh, _, _ := pollAll(t, e.channel(t), e.acc, cursor)

	want := []channels.Item{
		{PlatformID: public, ThreadID: public, AuthorName: "Jess", AuthorID: jessID, Text: "@riverside Is the patio open?\n\nThanks & see you <3", Kind: "mention", CreatedAt: written},
		{PlatformID: unlisted, ThreadID: unlisted, AuthorName: "Jess", AuthorID: jessID, Text: "@riverside line one\nline two", Kind: "mention", CreatedAt: written},
		{PlatformID: dm, ThreadID: dm, AuthorName: "quiet", AuthorID: "555", Text: "@riverside my order was cold", Kind: "dm", CreatedAt: written},
		{PlatformID: followUp, ThreadID: dm, AuthorName: "quiet", AuthorID: "555", Text: "@riverside it was #4411", Kind: "dm", CreatedAt: written},
	}
	if !slices.Equal(items, want) {
		t.Errorf("items:\n got %+v\nwant %+v", items, want)
	}
	if !slices.Equal(fresh, want[3:]) {
		t.Errorf("after a restart:\n got %+v\nwant %+v", fresh, want[3:])
	}
}

func TestPollKeepsWorkDoneBeforeARateLimit(t *testing.T) {
	tests := []struct {
		name string
		// threads: each mention answers a thread of its own, which the
		// connector looks up in the status's context.
		threads bool
		// limited is the route that starts answering 429 after okCalls
		// requests.
		limited  string
		okCalls  int
		mentions int
		wantKept int
	}{
		{name: "thread lookups", threads: true, limited: "/context", okCalls: 4, mentions: 10, wantKept: 4},
		{name: "second page", limited: "/api/v1/notifications", okCalls: 1, mentions: 100, wantKept: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var want, roots []string
			for i := range tt.mentions {
				root := ""
				if tt.threads {
					root = e.f.post(jessID, fmt.Sprintf("thread %d", i), "public", "")
				}
				id := e.f.post(jessID, fmt.Sprintf("@riverside about thread %d", i), "public", root)
				if root == "" {
					root = id
				}
				want, roots = append(want, id), append(roots, root)
			}
			var mu sync.Mutex
			calls, limit := 0, true
			e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				if !strings.HasSuffix(r.URL.Path, tt.limited) {
					return false
				}
				if calls++; calls <= tt.okCalls || !limit {
					return false
				}
				w.Header().Set("X-RateLimit-Reset", e.clock.now().Add(time.Minute).Format(time.RFC3339))
				writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
				return true
			}
			p, err := e.ch.Poll(context.Background(), e.acc, "")
			if err != nil || !p.More || !slices.Equal(ids(p.Items), want[:tt.wantKept]) {
				t.Fatalf("poll into the limit: %d items, %v, more %v; want the first %d and More", len(p.Items), err, p.More, tt.wantKept)
			}
			for i, it := range p.Items {
				if it.ThreadID != roots[i] {
					t.Errorf("item %d thread %s, want %s", i, it.ThreadID, roots[i])
				}
			}
			if _, err := e.ch.Poll(context.Background(), e.acc, p.Cursor); !errors.Is(err, channels.ErrRateLimited) {
				t.Fatalf("poll during the wait: %v, want the rate limit", err)
			}
			mu.Lock()
			limit = false
			mu.Unlock()
			e.clock.advance(time.Minute + time.Second)
			rest, _, _ := pollAll(t, e.ch, e.acc, p.Cursor)
			if !slices.Equal(ids(rest), want[tt.wantKept:]) {
				t.Errorf("after the wait: %d items, want the other %d", len(rest), tt.mentions-tt.wantKept)
			}
		})
	}
}

func TestPollRejectsMalformedPages(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `<html>Service temporarily unavailable</html>`},
		{"an object instead of a list", `{"id": "991"}`},
		{"truncated", `[{"id": "991", "type": "mention"`},
		{"notification without id", `[{"type": "mention", "status": null}]`},
		{"an item that is not an object", `["991"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tt.body))
				return true
			}
			// Every poll fails, and none moves the cursor on.
			for range 2 {
				p, err := e.ch.Poll(context.Background(), e.acc, "990")
				if !errors.Is(err, webapi.ErrTransient) {
					t.Fatalf("err %v, want a transient error", err)
				}
				if len(p.Items) != 0 || p.Cursor != "" || p.More {
					t.Errorf("a failed poll returned %+v", p)
				}
			}
		})
	}
}

// syncBuffer is a log sink the connector's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPollSkipsAMalformedMention(t *testing.T) {
	const (
		good = `{"id": "%s", "type": "mention", "created_at": "2026-11-20T17:00:00.000Z", "status": {"id": "%s", "created_at": "2026-11-20T17:00:00.000Z",
			"visibility": "public", "content": "<p>hi</p>", "account": {"id": "971724", "acct": "jess", "display_name": "Jess"}}}`
		withoutCreatedAt = `{"id": "%s", "type": "mention", "status": {"id": "%s", "content": "hi", "account": {"id": "1", "acct": "a"}}}`
		withoutAuthor    = `{"id": "%s", "type": "mention", "status": {"id": "%s", "created_at": "2026-11-20T17:00:00.000Z", "content": "hi"}}`
		nullAuthor       = `{"id": "%s", "type": "mention", "status": {"id": "%s", "created_at": "2026-11-20T17:00:00.000Z", "content": "hi", "account": null}}`
		withoutStatusID  = `{"id": "%s", "type": "mention", "status": {"x": "%s", "created_at": "2026-11-20T17:00:00.000Z", "account": {"id": "1", "acct": "a"}}}`
		badDate          = `{"id": "%s", "type": "mention", "status": {"id": "%s", "created_at": "yesterday", "account": {"id": "1", "acct": "a"}}}`
		wrongType        = `{"id": "%s", "type": "mention", "status": {"id": %s, "created_at": "2026-11-20T17:00:00.000Z"}}`
	)
	tests := []struct {
		name string
		// page is the notifications after 990, oldest first: shapes with
		// the notification's ID and the status's ID filled in.
		page      []string
		bad       string // the malformed notification's ID
		wantItems []string
	}{
		{"status without created_at at the head", []string{withoutCreatedAt, good, good}, "991", []string{"7992", "7993"}},
		{"status without author at the head", []string{withoutAuthor, good}, "991", []string{"7992"}},
		{"status with a null author", []string{nullAuthor, good}, "991", []string{"7992"}},
		{"status without id", []string{withoutStatusID, good}, "991", []string{"7992"}},
		{"a date that is not one", []string{badDate, good}, "991", []string{"7992"}},
		{"a field of the wrong type", []string{wrongType, good}, "991", []string{"7992"}},
		{"in the middle", []string{good, withoutAuthor, good}, "992", []string{"7991", "7993"}},
		{"alone", []string{withoutCreatedAt}, "991", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var logs syncBuffer
			e.ch = mastodon.New(e.creds, mastodon.WithClock(e.clock.now), mastodon.WithHTTPClient(e.f.srv.Client()),
				mastodon.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			newest := fmt.Sprint(990 + len(tt.page))
			e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/api/v1/notifications" {
					t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
					return false
				}
				var items []string
				if r.URL.Query().Get("min_id") == "990" {
					for i := len(tt.page) - 1; i >= 0; i-- { // newest first
						id := fmt.Sprint(991 + i)
						items = append(items, fmt.Sprintf(tt.page[i], id, "7"+id))
					}
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("[" + strings.Join(items, ",") + "]"))
				return true
			}
			items, cursor, _ := pollAll(t, e.ch, e.acc, "990")
			if got := ids(items); !slices.Equal(got, tt.wantItems) {
				t.Errorf("items %v, want %v", got, tt.wantItems)
			}
			if cursor != newest {
				t.Errorf("cursor %q, want %q: past the malformed mention", cursor, newest)
			}
			again, err := e.ch.Poll(context.Background(), e.acc, cursor)
			if err != nil || len(again.Items) != 0 || again.Cursor != cursor {
				t.Errorf("the next poll: %+v, %v; want nothing and the cursor kept", again, err)
			}
			out := logs.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "notification="+tt.bad) {
				t.Errorf("the skipped notification %s is not logged as a warning:\n%s", tt.bad, out)
			}
			if strings.Contains(out, ourToken) {
				t.Error("the token is in the log")
			}
		})
	}
}

// failWith answers every request with status, the documented error body
// and headers.
func failWith(status int, header http.Header, body string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for k, v := range header {
			w.Header()[k] = v
		}
		writeJSON(w, status, map[string]string{"error": body})
		return true
	}
}

func TestErrorsAreClassifiedWithoutTheToken(t *testing.T) {
	reset := time.Date(2026, 11, 20, 18, 5, 0, 0, time.UTC) // five minutes after the clock
	ops := map[string]func(e *env, target string) error{
		"poll": func(e *env, _ string) error { _, err := e.ch.Poll(context.Background(), e.acc, "990"); return err },
		"reply": func(e *env, target string) error {
			_, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: "hi", IdempotencyKey: "k"})
			return err
		},
		"find reply": func(e *env, target string) error {
			_, _, err := e.ch.FindReply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: "hi"})
			return err
		},
		"verify": func(e *env, _ string) error {
			_, err := e.ch.Verify(context.Background(), e.acc, channels.Token{AccessToken: ourToken})
			return err
		},
	}
	tests := []struct {
		name   string
		hook   func(http.ResponseWriter, *http.Request) bool
		check  func(error) bool
		retry  time.Duration
		closed bool
	}{
		{name: "401 needs reconnecting", hook: failWith(401, nil, "The access token is invalid"), check: isErr(channels.ErrAuth)},
		{name: "429 waits for X-RateLimit-Reset", hook: failWith(429, http.Header{"X-Ratelimit-Limit": {"300"}, "X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset": {reset.Format("2006-01-02T15:04:05.000Z")}}, "Too many requests"), check: isErr(channels.ErrRateLimited), retry: 5 * time.Minute},
		{name: "500 is transient", hook: failWith(500, nil, "We're sorry, but something went wrong"), check: isErr(webapi.ErrTransient)},
		{name: "403 is permanent", hook: failWith(403, nil, "This action is not allowed"), check: isErr(channels.ErrPermanent)},
		{name: "a server echoing the token", hook: failWith(401, nil, "bad token Bearer "+ourToken), check: isErr(channels.ErrAuth)},
		{name: "server unreachable", closed: true, check: isErr(webapi.ErrTransient)},
	}
	for _, tt := range tests {
		for op, run := range ops {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				e := newEnv(t)
				target := e.f.post(jessID, "@riverside hi", "public", "")
				e.f.hook = tt.hook
				if tt.closed {
					e.f.srv.Close()
				}
				err := run(e, target)
				if err == nil || !tt.check(err) {
					t.Fatalf("err %v", err)
				}
				if strings.Contains(err.Error(), ourToken) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), ourToken) {
					t.Fatalf("the token is in the error: %v", err)
				}
				var rl *channels.RateLimitError
				if tt.retry != 0 && (!errors.As(err, &rl) || rl.RetryAfter != tt.retry) {
					t.Errorf("err %v, want a wait of %s", err, tt.retry)
				}
			})
		}
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func TestReplyToAGoneOrRefusedStatusIsPermanent(t *testing.T) {
	e := newEnv(t)
	gone := e.f.post(jessID, "@riverside soon deleted", "public", "")
	e.f.deleteStatus(gone)
	_, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: gone, Text: "hi", IdempotencyKey: "k1"})
	if !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), "Record not found") {
		t.Errorf("reply to a deleted status: %v", err)
	}
	target := e.f.post(jessID, "@riverside hi", "public", "")
	e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Text character limit of 500 exceeded"})
		return true
	}
	_, err = e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: strings.Repeat("long ", 200), IdempotencyKey: "k2"})
	if !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), "character limit") {
		t.Errorf("reply refused with 422: %v", err)
	}
	for _, req := range []channels.ReplyRequest{{Account: e.acc, Text: "to nothing"}, {Account: e.acc, InReplyTo: target, Text: "  "}} {
		if _, err := e.ch.Reply(context.Background(), req); !errors.Is(err, channels.ErrPermanent) {
			t.Errorf("reply %+v: %v, want a permanent error", req, err)
		}
	}
}

func TestRateLimitStormWaitsForTheReset(t *testing.T) {
	e := newEnv(t)
	target := e.f.post(jessID, "@riverside hi", "public", "")
	reset := e.clock.now().Add(5 * time.Minute)
	limited := true
	var mu sync.Mutex
	e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !limited {
			return false
		}
		w.Header().Set("X-RateLimit-Reset", reset.Format(time.RFC3339Nano))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
		return true
	}
	total := func() int {
		e.f.mu.Lock()
		defer e.f.mu.Unlock()
		n := 0
		for _, c := range e.f.hits {
			n += c
		}
		return n
	}
	wantWait := func(err error, want time.Duration) {
		t.Helper()
		var rl *channels.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != want {
			t.Fatalf("err %v, want a rate limit with a wait of %s", err, want)
		}
	}
	_, err := e.ch.Poll(context.Background(), e.acc, "")
	wantWait(err, 5*time.Minute)
	// The storm: every operation of the account keeps failing at once,
	// with the time left, and nothing reaches the server.
	for i := range 4 {
		e.clock.advance(time.Minute)
		left := time.Duration(4-i) * time.Minute
		_, err := e.ch.Poll(context.Background(), e.acc, "")
		wantWait(err, left)
		_, err = e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: "hi", IdempotencyKey: "k"})
		wantWait(err, left)
		_, _, err = e.ch.FindReply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: "hi"})
		wantWait(err, left)
	}
	if n := total(); n != 1 {
		t.Errorf("%d requests reached the server during the wait, want 1", n)
	}
	// Another account on the same connector is not held.
	other := channels.Account{Platform: "mastodon", Handle: "jess", Server: e.f.srv.URL}
	e.creds.set(other, "tok-jess")
	_, err = e.ch.Poll(context.Background(), other, "")
	wantWait(err, time.Minute) // the server still limits, but it was asked
	if n := total(); n != 2 {
		t.Errorf("the other account's poll made %d requests in all, want 2", n)
	}
	// After the reset the account works again.
	mu.Lock()
	limited = false
	mu.Unlock()
	e.clock.advance(time.Minute + time.Second)
	items, _, _ := pollAll(t, e.ch, e.acc, "")
	if !slices.Equal(ids(items), []string{target}) {
		t.Errorf("after the reset: %v", ids(items))
	}
}

func TestReplyIsNeverMorePublicThanWhatItAnswers(t *testing.T) {
	tests := []struct {
		answered string
		private  bool
		kind     string
		want     string
	}{
		{"public", false, "mention", "public"},
		{"unlisted", false, "mention", "unlisted"},
		{"private", false, "mention", "private"},
		{"direct", false, "dm", "direct"},
		{"direct", false, "mention", "direct"}, // the status decides, not the stored kind
		{"public", true, "mention", "direct"},  // taken private
		{"mutuals_only", false, "mention", "direct"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s private=%v", tt.answered, tt.private), func(t *testing.T) {
			e := newEnv(t)
			target := e.f.post(jessID, "@riverside hi there", tt.answered, "")
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: target, ThreadID: target, Kind: tt.kind, Private: tt.private,
				Recipient: jessID, RecipientName: "Jess", Text: "Hi Jess, yes we are open until 10.", IdempotencyKey: "reply-17"}
			id, err := e.ch.Reply(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			posts := e.f.postsMade()
			if len(posts) != 1 {
				t.Fatalf("%d posts", len(posts))
			}
			p := posts[0]
			if p.key != "reply-17" {
				t.Errorf("Idempotency-Key %q", p.key)
			}
			if got := p.form["visibility"]; !slices.Equal(got, []string{tt.want}) {
				t.Errorf("visibility %q, want %q", got, tt.want)
			}
			if got := p.form["status"]; !slices.Equal(got, []string{"@jess Hi Jess, yes we are open until 10."}) {
				t.Errorf("status %q", got)
			}
			if got := p.form["in_reply_to_id"]; !slices.Equal(got, []string{target}) {
				t.Errorf("in_reply_to_id %q", got)
			}
			if got := p.form["content_type"]; !slices.Equal(got, []string{"text/plain"}) {
				t.Errorf("content_type %q, want text/plain (never Markdown)", got)
			}
			if rs := e.f.replies(target); len(rs) != 1 || rs[0].id != id || rs[0].author != ourID {
				t.Errorf("replies on the server %+v, want our %s", rs, id)
			}
		})
	}
}

func TestReplyRetriesCarryTheSameIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	target := e.f.post(jessID, "@riverside do you cater?", "public", "")
	// The first attempt lands but its answer is lost (a 502 from a proxy
	// after the server posted).
	first := true
	e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || !first {
			return false
		}
		first = false
		r.ParseForm()
		e.f.mu.Lock()
		id := e.f.postLocked(ourID, r.PostForm.Get("status"), r.PostForm.Get("visibility"), r.PostForm.Get("in_reply_to_id"))
		e.f.keys[r.Header.Get("Idempotency-Key")] = id
		e.f.posts = append(e.f.posts, post{key: r.Header.Get("Idempotency-Key"), form: r.PostForm})
		e.f.mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
		return true
	}
	req := channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: "We do! Call us.", IdempotencyKey: "reply-42"}
	if _, err := e.ch.Reply(context.Background(), req); !errors.Is(err, webapi.ErrTransient) {
		t.Fatalf("first attempt: %v, want transient", err)
	}
	id, err := e.ch.Reply(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	posts := e.f.postsMade()
	if len(posts) != 2 || posts[0].key != "reply-42" || posts[1].key != "reply-42" {
		t.Fatalf("posts %+v, want two with key reply-42", posts)
	}
	if rs := e.f.replies(target); len(rs) != 1 || rs[0].id != id {
		t.Errorf("replies on the server %+v, want exactly %s", rs, id)
	}
}

func TestReplyMentionsTheAuthorOnce(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Thanks!", "@jess Thanks!"},
		{"@jess thanks!", "@jess thanks!"},
		{"@Jess, thanks!", "@Jess, thanks!"},
		{"@jessica is our manager", "@jess @jessica is our manager"},
	}
	for _, tt := range tests {
		e := newEnv(t)
		target := e.f.post(jessID, "@riverside hi", "public", "")
		if _, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: tt.text, IdempotencyKey: "k"}); err != nil {
			t.Fatal(err)
		}
		if got := e.f.postsMade()[0].form.Get("status"); got != tt.want {
			t.Errorf("reply %q posted %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestFindReplyFindsOnlyOurAnswer(t *testing.T) {
	text := "Hi Jess, we close at 10 pm tonight.\n\n– Sam & the team"
	first := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		setup func(e *env, target string) string // returns the ID that should be found, or ""
	}{
		{"nothing posted", func(e *env, target string) string { return "" }},
		{"our reply", func(e *env, target string) string { return e.f.post(ourID, "@jess "+text, "public", target) }},
		{"our reply within the clock skew", func(e *env, target string) string {
			e.f.at(first.Add(-time.Minute))
			return e.f.post(ourID, "@jess "+text, "public", target)
		}},
		{"someone else's with the same text", func(e *env, target string) string {
			e.f.post(jessID, "@riverside "+text, "public", target)
			return ""
		}},
		{"ours with another text", func(e *env, target string) string {
			e.f.post(ourID, "@jess We close at 11.", "public", target)
			return ""
		}},
		{"ours, older than the first attempt", func(e *env, target string) string {
			e.f.at(first.Add(-10 * time.Minute))
			e.f.post(ourID, "@jess "+text, "public", target)
			return ""
		}},
		{"ours deeper in the thread", func(e *env, target string) string {
			mid := e.f.post(jessID, "@riverside and tomorrow?", "public", target)
			e.f.post(ourID, "@jess "+text, "public", mid)
			return ""
		}},
		{"the oldest of two", func(e *env, target string) string {
			id := e.f.post(ourID, "@jess "+text, "public", target)
			e.f.post(ourID, "@jess "+text, "public", target)
			return id
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.f.at(first.Add(-time.Hour))
			target := e.f.post(jessID, "@riverside when do you close?", "public", "")
			e.f.at(first.Add(30 * time.Second))
			want := tt.setup(e, target)
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: text, FirstAttempt: first, IdempotencyKey: "k"}
			for range 3 {
				got, found, err := e.ch.FindReply(context.Background(), req)
				if err != nil || got != want || found != (want != "") {
					t.Fatalf("FindReply = %q, %v, %v; want %q", got, found, err, want)
				}
			}
			if n := e.f.count("GET /api/v1/accounts/verify_credentials"); n != 1 {
				t.Errorf("verify_credentials asked %d times, want once (cached)", n)
			}
		})
	}
}

func TestFindReplyAfterReplyFindsIt(t *testing.T) {
	e := newEnv(t)
	target := e.f.post(jessID, "@riverside any vegan options? <3", "private", "")
	req := channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: "Yes: the <b>lentil</b> burger & fries!\nAsk for no mayo.",
		IdempotencyKey: "k", FirstAttempt: e.clock.now()}
	id, err := e.ch.Reply(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := e.channel(t).FindReply(context.Background(), req)
	if err != nil || !found || got != id {
		t.Fatalf("FindReply after Reply = %q, %v, %v; want %q", got, found, err, id)
	}
}

func TestFindReplySurvivesHowTheServerShowsTheText(t *testing.T) {
	// A mention of a remote account in the middle of the text, which the
	// server shows as "@bob", and Markdown emphasis, which an account that
	// formats as Markdown by default shows as <em>.
	const text = "Hi Jess! Our chef @bob@remote.example knows the *secret* sauce, ask him."
	tests := []struct {
		name string
		// post puts a status in the thread; it returns the ID that
		// FindReply should find ("" for none) and what its content must
		// show, to be sure the server rendered it so.
		post     func(t *testing.T, e *env, target string) (string, []string)
		notShown []string
	}{
		{"posted by Reply (as plain text)", func(t *testing.T, e *env, target string) (string, []string) {
			id, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: text, IdempotencyKey: "k-1", FirstAttempt: e.clock.now()})
			if err != nil {
				t.Fatal(err)
			}
			return id, []string{"Our chef <span", "@<span>bob</span></a></span> knows the *secret* sauce"}
		}, []string{"<em>"}},
		{"formatted as Markdown by the server", func(t *testing.T, e *env, target string) (string, []string) {
			e.f.mu.Lock()
			defer e.f.mu.Unlock()
			return e.f.postFormatted(ourID, "@jess "+text, "public", target, true), []string{"@<span>bob</span></a></span> knows the <em>secret</em> sauce"}
		}, []string{"*secret*"}},
		{"another text with the same mention and markup", func(t *testing.T, e *env, target string) (string, []string) {
			e.f.mu.Lock()
			defer e.f.mu.Unlock()
			e.f.postFormatted(ourID, "@jess Hi Jess! Our chef @bob@remote.example knows the *other* sauce, ask him.", "public", target, true)
			return "", nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.f.markdown = true
			e.f.addAccount("888", "bob@remote.example", "Bob", "")
			target := e.f.post(jessID, "@riverside what is in the sauce?", "public", "")
			want, shown := tt.post(t, e, target)
			if want != "" {
				content := e.f.content(want)
				for _, s := range shown {
					if !strings.Contains(content, s) {
						t.Fatalf("the server shows %s, without %q", content, s)
					}
				}
				for _, s := range tt.notShown {
					if strings.Contains(content, s) {
						t.Fatalf("the server shows %s, with %q", content, s)
					}
				}
			}
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: target, Text: text, IdempotencyKey: "k-1", FirstAttempt: e.clock.now()}
			got, found, err := e.channel(t).FindReply(context.Background(), req)
			if err != nil || got != want || found != (want != "") {
				t.Fatalf("FindReply = %q, %v, %v; want %q", got, found, err, want)
			}
		})
	}
}

func TestVerifyNamesTheAccountWithItsServer(t *testing.T) {
	// Two servers each with a "riverside", and one that answers with a
	// full acct.
	a, b, other := newFake(t), newFake(t), newFake(t)
	a.addAccount(ourID, "riverside", "Riverside", ourToken)
	b.addAccount(ourID, "riverside", "Riverside", ourToken)
	other.addAccount(ourID, "riverside@brand.example", "Riverside", ourToken)
	tests := []struct {
		name, server, want string
	}{
		{"first server", a.srv.URL, "riverside@" + hostOf(a.srv.URL)},
		{"second server", b.srv.URL + "/", "riverside@" + hostOf(b.srv.URL)},
		{"a server that gives the domain", other.srv.URL, "riverside@brand.example"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := mastodon.New(newCreds())
			id, err := ch.Verify(context.Background(), channels.Account{Platform: "mastodon", Server: tt.server}, channels.Token{AccessToken: ourToken})
			if err != nil {
				t.Fatal(err)
			}
			if id.Handle != tt.want || id.RemoteID != ourID {
				t.Errorf("identity %+v, want handle %q", id, tt.want)
			}
			acc := channels.Account{Platform: "mastodon", Handle: id.Handle}
			if seen[acc.Key()] {
				t.Errorf("%s names an account already seen on another server", acc.Key())
			}
			seen[acc.Key()] = true
		})
	}
}

func TestVerifySaysWhoseTokenItIs(t *testing.T) {
	e := newEnv(t)
	id, err := e.ch.Verify(context.Background(), e.acc, channels.Token{AccessToken: ourToken})
	if err != nil {
		t.Fatal(err)
	}
	if want := (channels.Identity{Handle: "riverside@" + hostOf(e.f.srv.URL), DisplayName: "Copper Kettle Riverside", RemoteID: ourID}); id != want {
		t.Errorf("identity %+v, want %+v", id, want)
	}
	for _, tok := range []string{"revoked-token-xyz", ""} {
		_, err := e.ch.Verify(context.Background(), e.acc, channels.Token{AccessToken: tok})
		if !errors.Is(err, channels.ErrAuth) || (tok != "" && strings.Contains(err.Error(), tok)) {
			t.Errorf("token %q: %v, want ErrAuth without the token", tok, err)
		}
	}
	if n := e.f.count("GET /api/v1/accounts/verify_credentials"); n != 2 {
		t.Errorf("%d verify requests, want 2 (an empty token is refused without asking)", n)
	}
	// A disconnected account needs reconnecting.
	gone := channels.Account{Platform: "mastodon", Handle: "nobody", Server: e.f.srv.URL}
	if _, err := e.ch.Poll(context.Background(), gone, ""); !errors.Is(err, channels.ErrAuth) {
		t.Errorf("poll without a token: %v", err)
	}
}

func TestRegisterAppGivesTheOAuthConfig(t *testing.T) {
	e := newEnv(t)
	cfg, err := e.ch.RegisterApp(context.Background(), e.f.srv.URL+"/", "http://127.0.0.1:53682/callback")
	if err != nil {
		t.Fatal(err)
	}
	app := shape(t, "app.json")
	if cfg.ClientID != app["client_id"] || cfg.ClientSecret != app["client_secret"] {
		t.Errorf("client %q", cfg.ClientID)
	}
	if cfg.Endpoint.AuthURL != e.f.srv.URL+"/oauth/authorize" || cfg.Endpoint.TokenURL != e.f.srv.URL+"/oauth/token" {
		t.Errorf("endpoints %+v", cfg.Endpoint)
	}
	if cfg.RedirectURL != "http://127.0.0.1:53682/callback" || !slices.Equal(cfg.Scopes, []string{"read", "write"}) {
		t.Errorf("redirect %q scopes %q", cfg.RedirectURL, cfg.Scopes)
	}
	u := cfg.AuthCodeURL("state-1")
	if !strings.HasPrefix(u, e.f.srv.URL+"/oauth/authorize?") || !strings.Contains(u, "scope=read+write") {
		t.Errorf("authorize URL %s", u)
	}
	if n := e.f.count("POST /api/v1/apps"); n != 1 {
		t.Errorf("%d registrations", n)
	}

	e.f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		writeJSON(w, http.StatusOK, map[string]string{"id": "1", "name": "Branchline", "client_id": "abc"})
		return true
	}
	if _, err := e.ch.RegisterApp(context.Background(), e.f.srv.URL, "http://127.0.0.1:1/cb"); !errors.Is(err, webapi.ErrTransient) {
		t.Errorf("an answer without a secret: %v", err)
	}
	if _, err := e.ch.RegisterApp(context.Background(), e.f.srv.URL, "/callback"); err == nil {
		t.Error("a relative redirect was accepted")
	}
}

func TestServerAddressMustBeSafe(t *testing.T) {
	e := newEnv(t)
	for _, server := range []string{"", "mastodon.social", "ftp://127.0.0.1/", "http://mastodon.example", "https://user:pw@mastodon.example", "https://mastodon.example/?token=1"} {
		acc := e.acc
		acc.Server = server
		e.creds.set(acc, ourToken)
		if _, err := e.ch.Poll(context.Background(), acc, ""); !errors.Is(err, mastodon.ErrServer) {
			t.Errorf("server %q: %v, want ErrServer", server, err)
		}
		if _, err := e.ch.Verify(context.Background(), acc, channels.Token{AccessToken: ourToken}); !errors.Is(err, mastodon.ErrServer) {
			t.Errorf("verify on server %q: %v, want ErrServer", server, err)
		}
	}
}

func TestAccountsPollConcurrently(t *testing.T) {
	e := newEnv(t)
	const accounts = 8
	accs := make([]channels.Account, accounts)
	want := make([][]string, accounts)
	for i := range accounts {
		id, acct := fmt.Sprint(7000+i), fmt.Sprintf("store%d", i)
		e.f.addAccount(id, acct, "Store "+acct, "tok-"+acct)
		accs[i] = channels.Account{Platform: "mastodon", Handle: acct, Server: e.f.srv.URL}
		e.creds.set(accs[i], "tok-"+acct)
	}
	for n := range 60 {
		i := n % accounts
		want[i] = append(want[i], e.f.post(jessID, fmt.Sprintf("@store%d question %d", i, n), "public", ""))
	}
	var wg sync.WaitGroup
	got := make([][]string, accounts)
	for i := range accounts {
		wg.Go(func() {
			// Not pollAll: Fatal must not be called off the test's
			// goroutine.
			var items []channels.Item
			cursor := ""
			for more := true; more; {
				p, err := e.ch.Poll(context.Background(), accs[i], cursor)
				if err != nil {
					t.Error(err)
					return
				}
				items, cursor, more = append(items, p.Items...), p.Cursor, p.More
			}
			got[i] = ids(items)
			for _, it := range items {
				if _, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: accs[i], InReplyTo: it.PlatformID,
					Text: "Thanks!", IdempotencyKey: "k-" + it.PlatformID}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range accounts {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("account %d got %v, want %v", i, got[i], want[i])
		}
		for _, id := range want[i] {
			if rs := e.f.replies(id); len(rs) != 1 || rs[0].author != fmt.Sprint(7000+i) {
				t.Errorf("status %s has replies %+v", id, rs)
			}
		}
	}
}
