package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// fakeChannel is a platform whose answers the test scripts.
type fakeChannel struct {
	mu      sync.Mutex
	posted  map[string]string // in-reply-to → remote ID
	replies []string          // errors to return, in order; "" posts
	landed  bool              // an error reply still posts (a timeout after success)
	calls   int
	finds   int
	findErr error // what FindReply says, when set
	// findErrAt makes only the FindReply call of that number (from 1)
	// fail, with errors.New("platform unreachable").
	findErrAt int
}

func (f *fakeChannel) Poll(context.Context, channels.Account, string) (channels.Page, error) {
	return channels.Page{}, nil
}

func (f *fakeChannel) Reply(_ context.Context, req channels.ReplyRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	next := ""
	if len(f.replies) > 0 {
		next, f.replies = f.replies[0], f.replies[1:]
	}
	var err error
	switch next {
	case "":
	case "permanent":
		return "", fmt.Errorf("%w: post deleted", channels.ErrPermanent)
	case "ratelimit":
		return "", &channels.RateLimitError{RetryAfter: 90 * time.Second}
	case "auth":
		return "", fmt.Errorf("%w: token revoked", channels.ErrAuth)
	default:
		err = errors.New(next)
		if !f.landed {
			return "", err
		}
	}
	id := fmt.Sprintf("remote-%d", len(f.posted)+1)
	f.posted[req.InReplyTo] = id
	return id, err
}

func (f *fakeChannel) FindReply(_ context.Context, req channels.ReplyRequest) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finds++
	if f.findErr != nil {
		return "", false, f.findErr
	}
	if f.finds == f.findErrAt {
		return "", false, errors.New("platform unreachable")
	}
	id, ok := f.posted[req.InReplyTo]
	return id, ok, nil
}

type fixture struct {
	store *models.Store
	desk  *desk.Desk
	now   time.Time
}

func (fx *fixture) clock() time.Time { return fx.now }

// newFixture sets up a location with one account served by connector
// "fake" and n messages, each with a queued reply.
func newFixture(t *testing.T, dir string, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{now: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"), models.WithClock(fx.clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	fx.store = store
	err = desk.Setup(ctx, store, desk.LocationSetup{Name: "Copper Kettle Riverside", ShortName: "Riverside", TimeZone: "UTC",
		Manager: models.Staff{Name: "Sam Chen", Handle: "sam"}})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := store.Location(ctx)
	acc := models.Account{LocationID: loc.ID, Platform: "facebook", Handle: "ck.riverside", Connector: "fake"}
	if err := store.CreateAccount(ctx, &acc); err != nil {
		t.Fatal(err)
	}
	var batch []models.Inbound
	for i := range n {
		batch = append(batch, models.Inbound{Platform: "facebook", Account: "ck.riverside", PlatformID: fmt.Sprintf("c%d", i),
			AuthorName: "Jess", AuthorID: "u1", Text: "what time do you close?", Kind: "comment", CreatedAt: fx.now.Add(-time.Hour),
			Triage: models.Triaged{NeedsResponse: true, Stage: "pre_purchase", Department: "sales"}})
	}
	if _, err := store.InsertInbound(ctx, loc.ID, batch); err != nil {
		t.Fatal(err)
	}
	if fx.desk, err = desk.Open(ctx, store, desk.WithClock(fx.clock)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		text := fmt.Sprintf("Hi Jess, we close at 10 pm tonight (reply %d).\n\n– Sam, Copper Kettle Riverside", i)
		if _, _, err := fx.desk.Reply(ctx, desk.ReplyInput{MessageID: int64(i + 1), Staff: "sam", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func (fx *fixture) reply(t *testing.T, id int64) models.Reply {
	t.Helper()
	r, err := fx.store.ReplyByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFlushSendsAndRecordsEachReplyOnce(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, t.TempDir(), 3)
	ch := &fakeChannel{posted: map[string]string{}}
	var events []Event
	ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock), WithEvents(func(e Event) { events = append(events, e) }))
	rep, err := ob.Flush(ctx)
	if err != nil || rep.Sent != 3 {
		t.Fatalf("flush: %+v %v", rep, err)
	}
	if rep, _ := ob.Flush(ctx); rep != (Report{}) {
		t.Fatalf("second flush did something: %+v", rep)
	}
	for id := int64(1); id <= 3; id++ {
		r := fx.reply(t, id)
		m, _ := fx.store.MessageByID(ctx, r.MessageID)
		if r.State != models.ReplySent || r.RemoteID == "" || m.Status != models.StatusAnswered {
			t.Errorf("reply %d: %s %q, message %s", id, r.State, r.RemoteID, m.Status)
		}
	}
	if ch.calls != 3 || len(events) != 6 {
		t.Errorf("%d posts and %d events, want 3 and 6 (sending, sent)", ch.calls, len(events))
	}
	// The sent reply is part of the conversation now.
	thread, _ := fx.store.ConversationMessages(ctx, 1, 0)
	if len(thread) != 2 || thread[1].Direction != "out" {
		t.Errorf("conversation = %+v", thread)
	}
}

func TestFailuresAreRetriedWithBackoffOrFailed(t *testing.T) {
	tests := []struct {
		name      string
		script    []string
		landed    bool
		wantState string
		wantDelay time.Duration // from now to the next attempt, ±20 % jitter
		wantPosts int
	}{
		{"transient error backs off", []string{"connection reset"}, false, models.ReplyQueued, 30 * time.Second, 1},
		{"rate limit waits as told", []string{"ratelimit"}, false, models.ReplyQueued, 90 * time.Second, 1},
		{"permanent error fails", []string{"permanent"}, false, models.ReplyFailed, 0, 1},
		{"revoked token waits for reconnection", []string{"auth"}, false, models.ReplyQueued, DefaultBackoff.Max, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fx := newFixture(t, t.TempDir(), 1)
			ch := &fakeChannel{posted: map[string]string{}, replies: tt.script, landed: tt.landed}
			ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock), WithRand(rand.New(rand.NewPCG(1, 2))))
			if _, err := ob.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			r := fx.reply(t, 1)
			if r.State != tt.wantState || ch.calls != tt.wantPosts {
				t.Fatalf("state %s after %d posts, want %s after %d", r.State, ch.calls, tt.wantState, tt.wantPosts)
			}
			if tt.wantDelay > 0 {
				d := r.NextAttemptAt.Sub(fx.now)
				lo, hi := tt.wantDelay*8/10, tt.wantDelay*12/10
				if tt.name == "rate limit waits as told" {
					lo, hi = tt.wantDelay, tt.wantDelay
				}
				if d < lo || d > hi {
					t.Errorf("next attempt in %s, want %s to %s", d, lo, hi)
				}
			}
			m, _ := fx.store.MessageByID(ctx, 1)
			if tt.wantState == models.ReplyFailed && m.Status != models.StatusOpen {
				t.Errorf("message of a failed reply is %s, want open again", m.Status)
			}
			if tt.name == "revoked token waits for reconnection" {
				acc, _ := fx.store.Account(ctx, 1)
				if acc.State != models.AccountReconnectNeeds {
					t.Errorf("account state %s, want reconnect_needed", acc.State)
				}
			}
		})
	}
}

func TestTimeoutThatLandedIsNotPostedAgain(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, t.TempDir(), 1)
	// The platform posts the reply but the answer is lost.
	ch := &fakeChannel{posted: map[string]string{}, replies: []string{"timeout"}, landed: true}
	ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock))
	ob.Flush(ctx)
	if r := fx.reply(t, 1); r.State != models.ReplyQueued {
		t.Fatalf("after the timeout: %s", r.State)
	}
	fx.now = fx.now.Add(time.Hour)
	rep, _ := ob.Flush(ctx)
	if rep.Found != 1 || ch.calls != 1 || fx.reply(t, 1).State != models.ReplySent {
		t.Fatalf("retry: %+v, %d posts; want the reply found, not posted twice", rep, ch.calls)
	}
}

// TestCheckingFailuresAreClassified: when the platform cannot say whether
// an earlier attempt landed, a refusal for good (the post was deleted)
// fails the reply, revoked credentials mark the account, and anything
// else waits to ask again; nothing is posted meanwhile.
func TestCheckingFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantState string
		wantAcc   string
	}{
		{"deleted post", fmt.Errorf("%w: the status was deleted", channels.ErrPermanent), models.ReplyFailed, models.AccountConnected},
		{"revoked token", fmt.Errorf("%w: HTTP 401", channels.ErrAuth), models.ReplyQueued, models.AccountReconnectNeeds},
		{"rate limited", &channels.RateLimitError{RetryAfter: time.Minute}, models.ReplyQueued, models.AccountRateLimited},
		{"network", errors.New("connection reset"), models.ReplyQueued, models.AccountConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fx := newFixture(t, t.TempDir(), 1)
			ch := &fakeChannel{posted: map[string]string{}, replies: []string{"timeout"}}
			ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock))
			ob.Flush(ctx) // the first attempt fails; the next must ask first
			ch.findErr = tt.err
			fx.now = fx.now.Add(time.Hour)
			ob.Flush(ctx)
			r := fx.reply(t, 1)
			acc, _ := fx.store.Account(ctx, 1)
			if r.State != tt.wantState || acc.State != tt.wantAcc || ch.calls != 1 || ch.finds != 1 {
				t.Fatalf("reply %s, account %s, %d posts, %d checks; want %s, %s, 1, 1", r.State, acc.State, ch.calls, ch.finds, tt.wantState, tt.wantAcc)
			}
		})
	}
}

// TestNoSecondPostAfterGivingUpOrARetryByHand: the last attempt timed out
// but landed; the outbox finds it before giving up. And a reply that did
// fail and that a person retries is looked for before it is posted again.
func TestNoSecondPostAfterGivingUpOrARetryByHand(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, cannotTell bool) (*fixture, *fakeChannel, *Outbox) {
		fx := newFixture(t, t.TempDir(), 1)
		ch := &fakeChannel{posted: map[string]string{}, replies: []string{"e1", "e2", "timeout"}}
		if cannotTell {
			ch.findErrAt = 3 // attempts 2 and 3 ask first; the check before giving up fails
		}
		ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock), WithBackoff(Backoff{Base: time.Second, Max: time.Minute, MaxAttempts: 3}))
		for range 3 {
			ch.landed = len(ch.replies) == 1 // the third attempt lands, though it times out
			ob.Flush(ctx)
			fx.now = fx.now.Add(time.Hour)
		}
		return fx, ch, ob
	}
	t.Run("found before giving up", func(t *testing.T) {
		fx, ch, _ := run(t, false)
		if r := fx.reply(t, 1); r.State != models.ReplySent || ch.calls != 3 {
			t.Fatalf("reply %s after %d posts (%s); want found sent after 3", r.State, ch.calls, r.LastError)
		}
	})
	t.Run("retried by hand", func(t *testing.T) {
		fx, ch, ob := run(t, true)
		r := fx.reply(t, 1)
		if r.State != models.ReplyFailed || !strings.Contains(r.LastError, "look on the platform") {
			t.Fatalf("reply %s: %q; want failed, saying to look on the platform", r.State, r.LastError)
		}
		if err := fx.store.RetryFailed(ctx, "sam", r.ID); err != nil {
			t.Fatal(err)
		}
		ob.Flush(ctx)
		if r := fx.reply(t, 1); r.State != models.ReplySent || ch.calls != 3 {
			t.Fatalf("after a retry by hand: %s, %d posts; want found, not posted a fourth time", r.State, ch.calls)
		}
	})
}

// TestWaitingForTheLimitUsesNoAttempts: a platform that asks to wait ten
// times in a row does not make the reply fail.
func TestWaitingForTheLimitUsesNoAttempts(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, t.TempDir(), 1)
	script := make([]string, 10)
	for i := range script {
		script[i] = "ratelimit"
	}
	ch := &fakeChannel{posted: map[string]string{}, replies: script}
	ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock), WithBackoff(Backoff{Base: time.Second, Max: time.Minute, MaxAttempts: 3}))
	for range 11 {
		ob.Flush(ctx)
		fx.now = fx.now.Add(2 * time.Minute)
	}
	if r := fx.reply(t, 1); r.State != models.ReplySent || ch.calls != 11 {
		t.Fatalf("reply %s after %d calls (%d attempts); want sent after 11", r.State, ch.calls, r.Attempts)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, t.TempDir(), 1)
	ch := &fakeChannel{posted: map[string]string{}, replies: []string{"e1", "e2", "e3"}}
	ob := New(fx.store, channels.Registry{"fake": ch}, WithClock(fx.clock), WithBackoff(Backoff{Base: time.Second, Max: time.Minute, MaxAttempts: 3}))
	for range 5 {
		ob.Flush(ctx)
		fx.now = fx.now.Add(time.Hour)
	}
	r := fx.reply(t, 1)
	if r.State != models.ReplyFailed || r.Attempts != 3 || ch.calls != 3 {
		t.Fatalf("reply %s after %d attempts and %d posts: %s", r.State, r.Attempts, ch.calls, r.LastError)
	}
}

func TestAccountWithoutConnectorFailsClearly(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, t.TempDir(), 1)
	ob := New(fx.store, channels.Registry{}, WithClock(fx.clock))
	ob.Flush(ctx)
	r := fx.reply(t, 1)
	if r.State != models.ReplyFailed || r.LastError == "" {
		t.Fatalf("reply %s: %q", r.State, r.LastError)
	}
}

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := TryLock(path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}
