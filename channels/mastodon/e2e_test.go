package mastodon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/outbox"
	"github.com/branchline/branchline/care/outbox/outboxtest"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/mastodon"
	"github.com/branchline/branchline/internal/crashtest"
	"github.com/branchline/branchline/models"
)

// End-to-end tests against a real GoToSocial server (its "testrig": an
// in-memory database with fixed accounts and tokens, serving on
// 127.0.0.1:8080 and federating with nobody). scripts/gotosocial.sh builds
// it; scripts/test.sh exports where:
//
//	BRANCHLINE_GOTOSOCIAL          the gotosocial binary
//	BRANCHLINE_GOTOSOCIAL_DIR      the folder it must run in (its module source)
//	BRANCHLINE_REQUIRE_GOTOSOCIAL  1: fail, rather than skip, when it cannot start
//
// The server is started once per test binary, at the first test that needs
// it, and stopped with SIGTERM when the tests end. Its port is fixed, so
// these tests never run in parallel.

const (
	gtsURL  = "http://127.0.0.1:8080"
	gtsAddr = "127.0.0.1:8080"
	// The testrig's fixed tokens (testrig/testmodels.go).
	zorkToken   = "NZAZOTC0OWITMDU0NC0ZODG4LWE4NJITMWUXM2M4MTRHZDEX"
	turtleToken = "PIPINALKNNNFNF98717NAMNAMNFKIJKJ881818KJKJAKJJJA"

	envBinary  = "BRANCHLINE_GOTOSOCIAL"
	envDir     = "BRANCHLINE_GOTOSOCIAL_DIR"
	envRequire = "BRANCHLINE_REQUIRE_GOTOSOCIAL"
	// The crash test's child process (this test binary, run again).
	childEnv    = "BRANCHLINE_MASTODON_CHILD"
	childDirEnv = "BRANCHLINE_MASTODON_CHILD_DIR"
)

// zork is the testrig's account, named as Verify names it.
var zork = channels.Account{Platform: "mastodon", Handle: "the_mighty_zork@" + gtsAddr, Server: gtsURL}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := outboxChild(mode, os.Getenv(childDirEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if err := gts.stop(code != 0); err != nil {
		fmt.Fprintln(os.Stderr, "stop GoToSocial:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// gts is the GoToSocial server of this test binary.
var gts server

type server struct {
	once   sync.Once
	err    error
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// requireGoToSocial starts the server if it is not running, and skips the
// test when it cannot, or fails it when BRANCHLINE_REQUIRE_GOTOSOCIAL=1.
func requireGoToSocial(t *testing.T) {
	t.Helper()
	gts.once.Do(func() { gts.err = gts.start() })
	if gts.err == nil {
		return
	}
	if os.Getenv(envRequire) == "1" {
		t.Fatalf("GoToSocial is required (%s=1) but: %v", envRequire, gts.err)
	}
	t.Skipf("skipping the GoToSocial end-to-end test: %v", gts.err)
}

func (s *server) start() error {
	bin, dir := os.Getenv(envBinary), os.Getenv(envDir)
	if bin == "" || dir == "" {
		return fmt.Errorf("%s and %s are not set: run scripts/gotosocial.sh, which builds the server and prints both (scripts/test.sh does this)", envBinary, envDir)
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w", envBinary, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "testrig")); err != nil {
		return fmt.Errorf("%s=%s is not GoToSocial's source folder: %w", envDir, dir, err)
	}
	if c, err := net.DialTimeout("tcp", gtsAddr, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s is already in use (a GoToSocial left running?): stop it first", gtsAddr)
	}
	logf, err := os.CreateTemp("", "branchline-gotosocial-*.log")
	if err != nil {
		return err
	}
	defer logf.Close()
	s.log = logf.Name()
	cmd := exec.Command(bin, "testrig", "start")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()

	// Wait, at most two minutes, for the API to answer.
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(gtsURL + "/api/v1/instance")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(os.Stderr, "GoToSocial ready on %s after %s (log %s)\n", gtsURL, time.Since(start).Round(time.Millisecond), s.log)
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("gotosocial testrig exited before it was ready: %s", tail(s.log))
		case <-deadline.C:
			return fmt.Errorf("gotosocial testrig not ready after 2 minutes (last error %v): %s", err, tail(s.log))
		case <-tick.C:
		}
	}
}

// stop ends the server with SIGTERM (SIGKILL if it lingers) and removes
// its log, unless the tests failed.
func (s *server) stop(failed bool) error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	var err error
	select {
	case <-s.exited:
	case <-t.C:
		s.cmd.Process.Kill()
		<-s.exited
		err = errors.New("gotosocial did not stop within 30 s of SIGTERM; killed")
	}
	if failed || err != nil {
		fmt.Fprintln(os.Stderr, "GoToSocial's log:", s.log)
	} else {
		os.Remove(s.log)
	}
	return err
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// api calls GoToSocial directly, as a customer's app would.
func api(t *testing.T, token, method, path string, form url.Values, out any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, gtsURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

type gtsAccount struct {
	ID          string `json:"id"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
}

type gtsStatus struct {
	ID          string     `json:"id"`
	InReplyToID string     `json:"in_reply_to_id"`
	Visibility  string     `json:"visibility"`
	Account     gtsAccount `json:"account"`
}

func whoami(t *testing.T, token string) gtsAccount {
	var a gtsAccount
	api(t, token, http.MethodGet, "/api/v1/accounts/verify_credentials", nil, &a)
	return a
}

// turtleWrites posts a status from 1happyturtle.
func turtleWrites(t *testing.T, text, visibility, inReplyTo string) string {
	t.Helper()
	form := url.Values{"status": {text}, "visibility": {visibility}}
	if inReplyTo != "" {
		form.Set("in_reply_to_id", inReplyTo)
	}
	var s gtsStatus
	api(t, turtleToken, http.MethodPost, "/api/v1/statuses", form, &s)
	return s.ID
}

// repliesBy lists the statuses of author that answer id, as the viewer
// sees the thread.
func repliesBy(t *testing.T, viewerToken, id, author string) []gtsStatus {
	t.Helper()
	var c struct{ Descendants []gtsStatus }
	api(t, viewerToken, http.MethodGet, "/api/v1/statuses/"+id+"/context", nil, &c)
	var out []gtsStatus
	for _, d := range c.Descendants {
		if d.Account.ID == author && d.InReplyToID == id {
			out = append(out, d)
		}
	}
	return out
}

func newZorkChannel(t *testing.T) (*mastodon.Channel, *memCreds) {
	creds := newCreds()
	creds.set(zork, zorkToken)
	return mastodon.New(creds, mastodon.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))), creds
}

// caughtUp polls acc from the start and returns the cursor after
// everything already there (the testrig's own notifications).
func caughtUp(t *testing.T, ch channels.Channel, acc channels.Account) string {
	t.Helper()
	_, cursor, _ := pollAll(t, ch, acc, "")
	return cursor
}

func TestGoToSocialVerifiesTokens(t *testing.T) {
	requireGoToSocial(t)
	ch, creds := newZorkChannel(t)
	me := whoami(t, zorkToken)
	id, err := ch.Verify(context.Background(), zork, channels.Token{AccessToken: zorkToken})
	if err != nil {
		t.Fatal(err)
	}
	if want := (channels.Identity{Handle: "the_mighty_zork@127.0.0.1:8080", DisplayName: me.DisplayName, RemoteID: me.ID}); id != want || me.ID == "" {
		t.Errorf("identity %+v, want %+v", id, want)
	}

	// A revoked or expired token: reconnect needed, and never printed.
	const bogus = "REVOKEDTOKENREVOKEDTOKENREVOKEDTOKEN0123456789AB"
	_, err = ch.Verify(context.Background(), zork, channels.Token{AccessToken: bogus})
	if !errors.Is(err, channels.ErrAuth) || strings.Contains(err.Error(), bogus) {
		t.Errorf("verify with a revoked token: %v; want ErrAuth without the token", err)
	}
	creds.set(zork, bogus)
	_, err = ch.Poll(context.Background(), zork, "")
	if !errors.Is(err, channels.ErrAuth) || strings.Contains(err.Error(), bogus) {
		t.Errorf("poll with a revoked token: %v; want ErrAuth without the token", err)
	}
	_, err = ch.Reply(context.Background(), channels.ReplyRequest{Account: zork, InReplyTo: "01F8MH75CBF9JFX4ZAD54N0W0R", Text: "hi", IdempotencyKey: "k"})
	if !errors.Is(err, channels.ErrAuth) || strings.Contains(err.Error(), bogus) {
		t.Errorf("reply with a revoked token: %v; want ErrAuth without the token", err)
	}
}

func TestGoToSocialRegistersTheApp(t *testing.T) {
	requireGoToSocial(t)
	ch, _ := newZorkChannel(t)
	cfg, err := ch.RegisterApp(context.Background(), gtsURL, "http://127.0.0.1:53682/callback")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.Endpoint.AuthURL != gtsURL+"/oauth/authorize" || cfg.Endpoint.TokenURL != gtsURL+"/oauth/token" {
		t.Errorf("config: client %q, endpoints %+v", cfg.ClientID, cfg.Endpoint)
	}
}

func TestGoToSocialMentionsAndDirectMessagesAreAnsweredOnce(t *testing.T) {
	requireGoToSocial(t)
	ctx := context.Background()
	ch, _ := newZorkChannel(t)
	me, turtle := whoami(t, zorkToken), whoami(t, turtleToken)
	turtleAcc := channels.Account{Platform: "mastodon", Handle: "1happyturtle@" + gtsAddr, Server: gtsURL}
	turtleCh := newChannelFor(t, turtleAcc, turtleToken)
	cursor := caughtUp(t, ch, zork)
	turtleCursor := caughtUp(t, turtleCh, turtleAcc)

	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	start := time.Now()
	public := turtleWrites(t, fmt.Sprintf("@the_mighty_zork are you open on Sunday? (e2e %s)", nonce), "public", "")
	dm := turtleWrites(t, fmt.Sprintf("@the_mighty_zork my order was cold & late :( (e2e %s)", nonce), "direct", "")

	items, next := pollFor(t, ch, zork, cursor, nonce, 2)
	if len(items) != 2 || items[0].PlatformID != public || items[1].PlatformID != dm {
		t.Fatalf("zork polled %+v, want the mention %s and the DM %s", items, public, dm)
	}
	for i, want := range []struct{ kind, text string }{
		{"mention", fmt.Sprintf("@the_mighty_zork are you open on Sunday? (e2e %s)", nonce)},
		{"dm", fmt.Sprintf("@the_mighty_zork my order was cold & late :( (e2e %s)", nonce)},
	} {
		it := items[i]
		if it.Kind != want.kind || it.Text != want.text || it.AuthorID != turtle.ID || it.AuthorName != turtle.DisplayName ||
			it.ThreadID != it.PlatformID || it.CreatedAt.Before(start.Add(-time.Minute)) || it.CreatedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("item %d: %+v; want kind %s, text %q, author %s %q", i, it, want.kind, want.text, turtle.ID, turtle.DisplayName)
		}
	}
	again, err := ch.Poll(ctx, zork, next)
	if err != nil || len(again.Items) != 0 || again.More || again.Cursor != next {
		t.Fatalf("second poll: %+v, %v; want nothing new", again, err)
	}

	replies := map[string]string{}
	for _, it := range items {
		req := channels.ReplyRequest{Account: zork, InReplyTo: it.PlatformID, ThreadID: it.ThreadID, Kind: it.Kind,
			Recipient: it.AuthorID, RecipientName: it.AuthorName, WrittenAt: it.CreatedAt,
			Text:           fmt.Sprintf("Thanks for writing, we're on it!\n\n– Sam (e2e %s %s)", nonce, it.Kind),
			IdempotencyKey: fmt.Sprintf("e2e-%s-%s", nonce, it.Kind), FirstAttempt: time.Now()}
		id, err := ch.Reply(ctx, req)
		if err != nil {
			t.Fatalf("reply to the %s: %v", it.Kind, err)
		}
		replies[it.PlatformID] = id
		wantVis := map[string]string{"mention": "public", "dm": "direct"}[it.Kind]
		// Seen as the customer: exactly one reply, with the right
		// visibility (the DM reply reached them, so it mentions them).
		got := repliesBy(t, turtleToken, it.PlatformID, me.ID)
		if len(got) != 1 || got[0].ID != id || got[0].Visibility != wantVis {
			t.Errorf("replies to the %s: %+v; want exactly %s, %s", it.Kind, got, id, wantVis)
		}
		// FindReply sees it, from a connector that has no cache, and only
		// with its text.
		found, ok, err := newChannelFor(t, zork, zorkToken).FindReply(ctx, req)
		if err != nil || !ok || found != id {
			t.Errorf("FindReply for the %s: %q, %v, %v; want %s", it.Kind, found, ok, err, id)
		}
		other := req
		other.Text = "Something else entirely."
		if found, ok, err := ch.FindReply(ctx, other); err != nil || ok {
			t.Errorf("FindReply with another text: %q, %v, %v; want not found", found, ok, err)
		}
	}

	// The customer sees both answers as mentions, in the threads they
	// started.
	theirs, _ := pollFor(t, turtleCh, turtleAcc, turtleCursor, nonce, 2)
	if len(theirs) != 2 || theirs[0].PlatformID != replies[public] || theirs[0].Kind != "mention" || theirs[0].ThreadID != public ||
		theirs[1].PlatformID != replies[dm] || theirs[1].Kind != "dm" || theirs[1].ThreadID != dm {
		t.Errorf("the customer polled %+v", theirs)
	}

	// They answer the DM reply: the conversation stays one thread, also
	// for a connector started afresh (it asks the server for the root).
	followUp := turtleWrites(t, fmt.Sprintf("@the_mighty_zork it was order 4411 (e2e %s)", nonce), "direct", replies[dm])
	for name, c := range map[string]*mastodon.Channel{"same connector": ch, "fresh connector": newChannelFor(t, zork, zorkToken)} {
		items, _ := pollFor(t, c, zork, next, nonce, 1)
		if len(items) != 1 || items[0].PlatformID != followUp || items[0].Kind != "dm" || items[0].ThreadID != dm {
			t.Errorf("%s: follow-up polled as %+v; want %s, a dm in thread %s", name, items, followUp, dm)
		}
	}
}

// TestGoToSocialFindsRepliesShownDifferently checks FindReply against how
// GoToSocial shows a reply: a mention of a remote account in the middle
// of the text shows as "@user", and an account that formats as Markdown
// by default shows "*x*" as <em>x</em> unless the status was posted as
// plain text, as Reply posts it.
func TestGoToSocialFindsRepliesShownDifferently(t *testing.T) {
	requireGoToSocial(t)
	ctx := context.Background()
	ch, _ := newZorkChannel(t)
	me := whoami(t, zorkToken)
	var a gtsAccount
	api(t, zorkToken, http.MethodPatch, "/api/v1/accounts/update_credentials", url.Values{"source[status_content_type]": {"text/markdown"}}, &a)
	t.Cleanup(func() {
		api(t, zorkToken, http.MethodPatch, "/api/v1/accounts/update_credentials", url.Values{"source[status_content_type]": {"text/plain"}}, &a)
	})
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	// foss_satan is a remote account the testrig knows (it federates
	// with nobody: its HTTP client is a mock).
	text := fmt.Sprintf("Ask *our chef* @foss_satan@fossbros-anonymous.io, he knows. (e2e %s)", nonce)
	content := func(id string) string {
		var s struct{ Content string }
		api(t, zorkToken, http.MethodGet, "/api/v1/statuses/"+id, nil, &s)
		return s.Content
	}
	tests := []struct {
		name string
		// post answers question with text and returns the reply's ID.
		post          func(t *testing.T, req channels.ReplyRequest) string
		shown, hidden string
	}{
		{"posted by Reply, as plain text", func(t *testing.T, req channels.ReplyRequest) string {
			id, err := ch.Reply(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}, "*our chef*", "<em>"},
		{"formatted as Markdown by the server", func(t *testing.T, req channels.ReplyRequest) string {
			var s gtsStatus
			api(t, zorkToken, http.MethodPost, "/api/v1/statuses", url.Values{"status": {"@1happyturtle " + req.Text}, "in_reply_to_id": {req.InReplyTo}, "visibility": {"public"}}, &s)
			return s.ID
		}, "<em>our chef</em>", "*our chef*"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			question := turtleWrites(t, fmt.Sprintf("@the_mighty_zork what is in the sauce? (e2e %s %d)", nonce, i), "public", "")
			req := channels.ReplyRequest{Account: zork, InReplyTo: question, Text: text,
				IdempotencyKey: fmt.Sprintf("e2e-%s-%d", nonce, i), FirstAttempt: time.Now()}
			id := tt.post(t, req)
			c := content(id)
			if !strings.Contains(c, "@<span>foss_satan</span>") || strings.Contains(c, "fossbros-anonymous.io</span>") ||
				!strings.Contains(c, tt.shown) || strings.Contains(c, tt.hidden) {
				t.Fatalf("the server shows %s; want the mention as @foss_satan, with %q and without %q", c, tt.shown, tt.hidden)
			}
			found, ok, err := newChannelFor(t, zork, zorkToken).FindReply(ctx, req)
			if err != nil || !ok || found != id {
				t.Errorf("FindReply: %q, %v, %v; want %s", found, ok, err, id)
			}
			other := req
			other.Text = strings.Replace(text, "our chef", "our cook", 1)
			if found, ok, err := ch.FindReply(ctx, other); err != nil || ok {
				t.Errorf("FindReply with another text: %q, %v, %v; want not found", found, ok, err)
			}
			if got := repliesBy(t, zorkToken, question, me.ID); len(got) != 1 || got[0].ID != id {
				t.Errorf("replies on the server %+v, want exactly %s", got, id)
			}
		})
	}
}

// pollFor polls from cursor until want items of this test (their text
// holds its nonce) are there, waiting at most 20 seconds, and returns this
// test's items from the last poll. The server makes notifications in the
// background, just after a post returns, so an earlier test's can still
// turn up after caughtUp.
func pollFor(t *testing.T, ch channels.Channel, acc channels.Account, cursor, nonce string, want int) ([]channels.Item, string) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		all, next, _ := pollAll(t, ch, acc, cursor)
		var items []channels.Item
		for _, it := range all {
			if strings.Contains(it.Text, nonce) {
				items = append(items, it)
			}
		}
		if len(items) >= want {
			return items, next
		}
		select {
		case <-deadline.C:
			return items, next
		case <-tick.C:
		}
	}
}

func newChannelFor(t *testing.T, acc channels.Account, token string) *mastodon.Channel {
	creds := newCreds()
	creds.set(acc, token)
	return mastodon.New(creds, mastodon.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
}

// TestGoToSocialOutboxDoesNotRepostAfterCrash runs the real outbox in a
// child process that is killed with SIGKILL after its POST returned and
// before "sent" was recorded, then starts it again: the restarted outbox
// must find the reply on the server (GoToSocial ignores Idempotency-Key,
// so only FindReply prevents a second post).
func TestGoToSocialOutboxDoesNotRepostAfterCrash(t *testing.T) {
	requireGoToSocial(t)
	ctx := context.Background()
	ch, _ := newZorkChannel(t)
	me := whoami(t, zorkToken)
	cursor := caughtUp(t, ch, zork)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	question := turtleWrites(t, fmt.Sprintf("@the_mighty_zork do you cater for 40 people? (e2e %s)", nonce), "public", "")
	items, _ := pollFor(t, ch, zork, cursor, nonce, 1)
	if len(items) != 1 || items[0].PlatformID != question {
		t.Fatalf("polled %+v, want %s", items, question)
	}
	it := items[0]

	// The store: a location, the Mastodon account, the message polled and
	// a reply queued.
	dir := t.TempDir()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := desk.Setup(ctx, store, desk.LocationSetup{Name: "Copper Kettle Riverside", ShortName: "Riverside", TimeZone: "UTC",
		Manager: models.Staff{Name: "Sam Chen", Handle: "sam"}}); err != nil {
		t.Fatal(err)
	}
	loc, err := store.Location(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc := models.Account{LocationID: loc.ID, Platform: zork.Platform, Handle: zork.Handle, Connector: mastodon.Connector, Server: gtsURL, RemoteID: me.ID}
	if err := store.CreateAccount(ctx, &acc); err != nil {
		t.Fatal(err)
	}
	res, err := store.InsertInbound(ctx, loc.ID, []models.Inbound{{Platform: zork.Platform, Account: zork.Handle, PlatformID: it.PlatformID,
		ThreadID: it.ThreadID, AuthorName: it.AuthorName, AuthorID: it.AuthorID, Text: it.Text, Kind: it.Kind, CreatedAt: it.CreatedAt,
		Triage: models.Triaged{NeedsResponse: true, Stage: "pre_purchase", Department: "sales"}}})
	if err != nil || len(res.IDs) != 1 {
		t.Fatalf("insert the message: %+v, %v", res, err)
	}
	d, err := desk.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("Hi, yes we do: catering for up to 60 people (e2e %s).\n\n– Sam, Copper Kettle Riverside", nonce)
	r, _, err := d.Reply(ctx, desk.ReplyInput{MessageID: res.IDs[0], Staff: "sam", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()

	// First run: killed between the post and recording it.
	child := startOutboxChild(t, dir, "stall")
	line := child.Expect(t, "POSTED ")
	posted := strings.TrimPrefix(line, "POSTED ")
	child.Kill(t)
	if got := repliesBy(t, zorkToken, question, me.ID); len(got) != 1 || got[0].ID != posted {
		t.Fatalf("after the kill the server has replies %+v, want exactly %s", got, posted)
	}
	if got := replyState(t, dir, r.ID); got.State != models.ReplySending {
		t.Fatalf("after the kill the reply is %s, want sending", got.State)
	}

	// Restart: the outbox recovers the reply in "sending" by finding it.
	child = startOutboxChild(t, dir, "send")
	if line := child.Expect(t, "DONE "); line != "DONE sent=0 found=1 retried=0 failed=0" {
		t.Errorf("restart: %q, want the reply found and nothing sent", line)
	}
	if err := child.Wait(); err != nil {
		t.Errorf("the child failed: %v", err)
	}
	if got := repliesBy(t, zorkToken, question, me.ID); len(got) != 1 || got[0].ID != posted {
		t.Errorf("after the restart the server has replies %+v, want exactly %s", got, posted)
	}
	if got := replyState(t, dir, r.ID); got.State != models.ReplySent || got.RemoteID != posted {
		t.Errorf("after the restart the reply is %s as %q, want sent as %s", got.State, got.RemoteID, posted)
	}
}

func replyState(t *testing.T, dir string, id int64) models.Reply {
	t.Helper()
	store, err := models.Open(context.Background(), filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r, err := store.ReplyByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// stallAfterPost posts, tells the parent, and waits to be killed: the
// moment between "posted" and "recorded as sent".
type stallAfterPost struct{ *mastodon.Channel }

func (s stallAfterPost) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	id, err := s.Channel.Reply(ctx, req)
	if err != nil {
		return id, err
	}
	fmt.Printf("POSTED %s\n", id)
	os.Stdout.Sync()
	select {} // killed here
}

// outboxChild runs the outbox over the store in dir, as the app would.
func outboxChild(mode, dir string) error {
	creds := newCreds()
	creds.set(zork, zorkToken)
	var ch channels.Channel = mastodon.New(creds, mastodon.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if mode == "stall" {
		ch = stallAfterPost{ch.(*mastodon.Channel)}
	}
	return outboxtest.Run(dir, channels.Registry{mastodon.Connector: ch}, outbox.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
}

func startOutboxChild(t *testing.T, dir, mode string) *crashtest.Child {
	return crashtest.Start(t, childEnv+"="+mode, childDirEnv+"="+dir)
}
