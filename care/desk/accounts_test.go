package desk

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// fakeVault keeps tokens in memory.
type fakeVault struct {
	mu     sync.Mutex
	tokens map[string]channels.Token
}

func (v *fakeVault) Token(_ context.Context, acc channels.Account) (channels.Token, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.tokens[acc.Key()]
	if !ok {
		return t, channels.ErrAuth
	}
	return t, nil
}

func (v *fakeVault) SaveToken(_ context.Context, acc channels.Account, t channels.Token) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tokens == nil {
		v.tokens = map[string]channels.Token{}
	}
	v.tokens[acc.Key()] = t
	return nil
}

func (v *fakeVault) Delete(_ context.Context, acc channels.Account) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.tokens, acc.Key())
	return nil
}

// fakePlatform is a connector whose answers the test sets: the token it
// accepts, and the error its next poll returns.
type fakePlatform struct {
	vault    *fakeVault
	good     string
	pollErr  error
	polls    int
	items    []channels.Item
	lastSeen channels.Account
}

func (p *fakePlatform) Verify(_ context.Context, acc channels.Account, t channels.Token) (channels.Identity, error) {
	if t.AccessToken != p.good {
		return channels.Identity{}, channels.ErrAuth
	}
	return channels.Identity{Handle: "riverside@social.example", DisplayName: "Copper Kettle Riverside", RemoteID: "109"}, nil
}

func (p *fakePlatform) Poll(ctx context.Context, acc channels.Account, cursor string) (channels.Page, error) {
	p.polls++
	p.lastSeen = acc
	if _, err := p.vault.Token(ctx, acc); err != nil {
		return channels.Page{}, err
	}
	if p.pollErr != nil {
		return channels.Page{}, p.pollErr
	}
	items := p.items
	p.items = nil
	return channels.Page{Items: items, Cursor: cursor + "+"}, nil
}

func (p *fakePlatform) Reply(context.Context, channels.ReplyRequest) (string, error) { return "", nil }
func (p *fakePlatform) FindReply(context.Context, channels.ReplyRequest) (string, bool, error) {
	return "", false, nil
}

func TestConnectPollAndAccountStates(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	store, err := models.Open(ctx, filepath.Join(t.TempDir(), "db"), models.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := Setup(ctx, store, LocationSetup{Name: "Riverside", TimeZone: "UTC", Manager: models.Staff{Name: "Maria Lopez", Handle: "maria"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateStaff(ctx, "maria", &models.Staff{Name: "Sam Chen", Handle: "sam", Role: models.RoleCrew}); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, store, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	vault := &fakeVault{}
	p := &fakePlatform{vault: vault, good: "good-token"}
	reg := channels.Registry{"fake": p}
	where := channels.Account{Platform: "mastodon", Server: "http://127.0.0.1:1"}
	conn := func(actor, handle, token string) (models.Account, error) {
		acc := where
		acc.Handle = handle
		return d.ConnectAccount(ctx, reg, vault, Connect{Actor: actor, Connector: "fake", Account: acc,
			Token: channels.Token{AccessToken: token, Expiry: t0.Add(72 * time.Hour)}})
	}

	// Only a manager connects; a bad token or someone else's is never kept.
	if _, err := conn("sam", "", "good-token"); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("crew connected an account: %v", err)
	}
	if _, err := conn("maria", "", "bad-token"); !errors.Is(err, channels.ErrAuth) {
		t.Fatalf("bad token: %v, want ErrAuth", err)
	}
	if _, err := conn("maria", "someone@else.example", "good-token"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "riverside@social.example") {
		t.Fatalf("token for another account: %v", err)
	}
	if _, err := conn("maria", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty token: %v", err)
	}
	if _, err := conn("maria", "", "bad-token"); err == nil {
		t.Fatal("a bad token connected")
	}
	if len(vault.tokens) != 0 {
		t.Fatalf("refused connections left %d tokens in the vault", len(vault.tokens))
	}
	acc, err := conn("maria", "", "good-token")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Handle != "riverside@social.example" || acc.RemoteID != "109" || acc.State != models.AccountConnected ||
		acc.TokenExpiresAt == nil || !acc.ExpiresSoon(clock()) {
		t.Fatalf("connected account = %+v", acc)
	}

	// A poll brings items in and records the success.
	p.items = []channels.Item{{PlatformID: "s1", AuthorName: "jess", AuthorID: "7", Text: "Are you open on Sunday?", Kind: "mention", CreatedAt: t0}}
	rep, err := d.PollDue(ctx, reg, time.Minute)
	if err != nil || rep.Inserted != 1 || rep.Accounts != 1 {
		t.Fatalf("first poll = %+v, %v", rep, err)
	}
	if p.lastSeen.Server != where.Server || p.lastSeen.RemoteID != "109" {
		t.Errorf("the channel saw account %+v", p.lastSeen)
	}
	// Not due again within the interval less its jitter; due after it plus
	// the jitter.
	advance(time.Minute * 7 / 10)
	if rep, _ := d.PollDue(ctx, reg, time.Minute); rep.Accounts != 0 || rep.Skipped != 1 {
		t.Fatalf("poll before due = %+v", rep)
	}
	advance(time.Minute * 6 / 10)
	if rep, err := d.PollDue(ctx, reg, time.Minute); rep.Accounts != 1 || err != nil {
		t.Fatalf("poll when due = %+v, %v", rep, err)
	}
	got, _ := store.Account(ctx, acc.ID)
	if got.LastSuccessAt == nil || !got.LastSuccessAt.Equal(clock()) || got.Cursor != "++" {
		t.Fatalf("after a good poll: last success %v, cursor %q", got.LastSuccessAt, got.Cursor)
	}

	// The platform asks to wait: the account waits, its cursor kept.
	p.pollErr = &channels.RateLimitError{RetryAfter: 5 * time.Minute, Reason: "HTTP 429"}
	if _, err := d.Poll(ctx, reg); !errors.Is(err, channels.ErrRateLimited) {
		t.Fatalf("rate-limited poll: %v", err)
	}
	got, _ = store.Account(ctx, acc.ID)
	if got.State != models.AccountRateLimited || !got.Waiting(clock()) || got.Cursor != "++" {
		t.Fatalf("rate limited account = %+v", got)
	}
	before := p.polls
	advance(4 * time.Minute)
	if rep, _ := d.Poll(ctx, reg); rep.Accounts != 0 || p.polls != before {
		t.Fatalf("polled during the platform's wait: %+v", rep)
	}
	advance(2 * time.Minute)
	p.pollErr = nil
	if rep, err := d.Poll(ctx, reg); rep.Accounts != 1 || err != nil {
		t.Fatalf("poll after the wait = %+v, %v", rep, err)
	}
	got, _ = store.Account(ctx, acc.ID)
	if got.State != models.AccountConnected || got.RateLimitedUntil != nil || got.LastError != "" {
		t.Fatalf("after the wait = %+v", got)
	}

	// A revoked token: reconnect needed, and no more polls until then.
	p.pollErr = errors.Join(channels.ErrAuth, errors.New("HTTP 401: token revoked"))
	d.Poll(ctx, reg)
	got, _ = store.Account(ctx, acc.ID)
	if got.State != models.AccountReconnectNeeds || !strings.Contains(got.LastError, "revoked") || got.Cursor != "+++" {
		t.Fatalf("revoked token: %+v", got)
	}
	before = p.polls
	advance(time.Hour)
	d.Poll(ctx, reg)
	if p.polls != before {
		t.Fatal("an account that needs reconnecting was polled")
	}
	p.pollErr = nil
	if _, err := conn("maria", "riverside@social.example", "good-token"); err != nil {
		t.Fatal(err)
	}
	if rep, err := d.Poll(ctx, reg); rep.Accounts != 1 || err != nil {
		t.Fatalf("poll after reconnecting = %+v, %v", rep, err)
	}
	got, _ = store.Account(ctx, acc.ID)
	if got.Cursor != "++++" {
		t.Errorf("reconnecting the same account restarted its cursor: %q", got.Cursor)
	}

	// Disconnect: the token goes, the messages stay, polling stops.
	if _, err := d.DisconnectAccount(ctx, vault, "sam", acc.ID); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("crew disconnected an account: %v", err)
	}
	got, err = d.DisconnectAccount(ctx, vault, "maria", acc.ID)
	if err != nil || got.Connected() || got.State != models.AccountImportOnly {
		t.Fatalf("disconnect = %+v, %v", got, err)
	}
	if len(vault.tokens) != 0 {
		t.Error("the token stayed in the vault after disconnecting")
	}
	if rep, _ := d.Poll(ctx, reg); rep.Accounts != 0 {
		t.Error("a disconnected account was polled")
	}
	rows, _, err := d.Inbox(ctx, models.InboxQuery{Filter: models.FilterAll})
	if err != nil || len(rows) != 1 {
		t.Fatalf("messages after disconnecting: %d, %v", len(rows), err)
	}
	n, err := store.VerifyAudit(ctx)
	if err != nil || n == 0 {
		t.Fatalf("audit log: %d, %v", n, err)
	}
}

func TestPollJitterSpreadsAccounts(t *testing.T) {
	last := t0
	due := map[time.Duration]int{}
	for id := int64(1); id <= 200; id++ {
		acc := models.Account{ID: id, LastPolledAt: &last}
		for s := 48; s <= 72; s++ {
			if pollDue(acc, time.Minute, t0.Add(time.Duration(s)*time.Second)) {
				due[time.Duration(s)*time.Second]++
				break
			}
		}
	}
	total, earliest := 0, time.Hour
	for d, n := range due {
		total += n
		earliest = min(earliest, d)
	}
	if total != 200 || earliest < 48*time.Second {
		t.Fatalf("due times %v: every account must be due within 48-72 s", due)
	}
	if len(due) < 15 {
		t.Errorf("200 accounts fell due in only %d distinct seconds: %v", len(due), due)
	}
}

// TestRefreshableTokensDoNotWarn: an access token that a refresh token
// renews (Google's, an hour long) is not the connection's expiry.
func TestRefreshableTokensDoNotWarn(t *testing.T) {
	ctx := context.Background()
	d, _ := newDesk(t)
	vault := &fakeVault{}
	p := &fakePlatform{vault: vault, good: "good-token"}
	reg := channels.Registry{"fake": p}
	for _, tt := range []struct {
		tok  channels.Token
		want bool // expiry recorded
	}{
		{channels.Token{AccessToken: "good-token", RefreshToken: "r", Expiry: t0.Add(time.Hour)}, false},
		{channels.Token{AccessToken: "good-token", Expiry: t0.Add(time.Hour)}, true},
		{channels.Token{AccessToken: "good-token"}, false},
	} {
		a, err := d.ConnectAccount(ctx, reg, vault, Connect{Actor: "maria", Connector: "fake", Account: channels.Account{Platform: "mastodon"}, Token: tt.tok})
		if err != nil {
			t.Fatal(err)
		}
		if (a.TokenExpiresAt != nil) != tt.want || a.ExpiresSoon(t0) != tt.want {
			t.Errorf("token %v: expiry recorded %v, warns %v; want %v", tt.tok, a.TokenExpiresAt, a.ExpiresSoon(t0), tt.want)
		}
	}
}

// pagedPlatform gives one good page, then fails on the next.
type pagedPlatform struct {
	fakePlatform
	calls int
}

func (p *pagedPlatform) Poll(_ context.Context, _ channels.Account, cursor string) (channels.Page, error) {
	p.calls++
	if p.calls == 1 {
		return channels.Page{Items: []channels.Item{{PlatformID: "p1", AuthorID: "9", AuthorName: "kim", Text: "Open late on Friday?", Kind: "mention", CreatedAt: t0}},
			Cursor: cursor + "page1", More: true}, nil
	}
	return channels.Page{}, errors.New("HTTP 502 from the platform")
}

// TestAFailedPageKeepsTheCursorReached: a poll that stores a page and then
// fails keeps the cursor after the stored page, records the failure and
// when it happened (so the next poll waits its turn).
func TestAFailedPageKeepsTheCursorReached(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	vault := &fakeVault{}
	p := &pagedPlatform{fakePlatform: fakePlatform{vault: vault, good: "good-token"}}
	reg := channels.Registry{"fake": p}
	acc, err := d.ConnectAccount(ctx, reg, vault, Connect{Actor: "maria", Connector: "fake", Account: channels.Account{Platform: "mastodon"},
		Token: channels.Token{AccessToken: "good-token"}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Poll(ctx, reg)
	if err == nil || rep.Inserted != 1 {
		t.Fatalf("poll = %+v, %v; want one message stored and the error", rep, err)
	}
	got, _ := store.Account(ctx, acc.ID)
	if got.Cursor != "page1" || got.State != models.AccountConnected || !strings.Contains(got.LastError, "502") || got.LastPolledAt == nil {
		t.Fatalf("account after the failed page: cursor %q, state %s, error %q, polled %v", got.Cursor, got.State, got.LastError, got.LastPolledAt)
	}
	if rep, _ := d.PollDue(ctx, reg, time.Minute); rep.Accounts != 0 {
		t.Error("a failed account was polled again at once")
	}
}

func TestSameHandle(t *testing.T) {
	for _, tt := range []struct {
		given, verified string
		want            bool
	}{
		{"riverside@social.example", "riverside@social.example", true},
		{"@Riverside@Social.Example", "riverside@social.example", true},
		{"riverside", "riverside@social.example", true},
		{"riverside@other.example", "riverside@social.example", false},
		{"harbor", "riverside@social.example", false},
		{"copperkettle.riverside", "copperkettle.riverside", true},
		{"copperkettle", "copperkettle.riverside", false},
	} {
		if got := sameHandle(tt.given, tt.verified); got != tt.want {
			t.Errorf("sameHandle(%q, %q) = %v, want %v", tt.given, tt.verified, got, tt.want)
		}
	}
}
