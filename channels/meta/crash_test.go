package meta

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/outbox/outboxtest"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/internal/crashtest"
	"github.com/branchline/branchline/models"
)

// The crash tests run the real outbox in a child process (this test
// binary, started again with childEnv set) against a fake Graph API that
// runs here, in the parent, so that it outlives the child. The child is
// killed with SIGKILL after Meta accepted a reply and before the outbox
// recorded it as sent; started again, it must find the reply on the
// platform instead of posting it twice.

const (
	childEnv      = "BRANCHLINE_META_CHILD"
	childDirEnv   = "BRANCHLINE_META_DIR"
	childBaseEnv  = "BRANCHLINE_META_BASE"
	childConnEnv  = "BRANCHLINE_META_CONNECTOR"
	crashMessages = 3
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode, os.Getenv(childDirEnv), os.Getenv(childBaseEnv), os.Getenv(childConnEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// anyCreds gives every account the test token.
type anyCreds struct{}

func (anyCreds) Token(context.Context, channels.Account) (channels.Token, error) {
	return channels.Token{AccessToken: testToken}, nil
}

func (anyCreds) SaveToken(context.Context, channels.Account, channels.Token) error { return nil }

// stallAfterPost posts through the real connector, tells the parent, and
// waits to be killed: between "Meta has it" and "recorded as sent".
type stallAfterPost struct{ channels.Channel }

func (s stallAfterPost) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	id, err := s.Channel.Reply(ctx, req)
	if err != nil {
		return id, err
	}
	fmt.Printf("POSTED %s %s\n", req.InReplyTo, id)
	os.Stdout.Sync()
	select {} // killed here
}

func child(mode, dir, base, connector string) error {
	var ch channels.Channel
	switch connector {
	case FacebookConnector:
		ch = NewFacebook(anyCreds{}, WithBaseURL(base))
	case InstagramConnector:
		ch = NewInstagram(anyCreds{}, WithBaseURL(base))
	default:
		return fmt.Errorf("unknown connector %q", connector)
	}
	if mode == "stall" {
		ch = stallAfterPost{ch}
	}
	return outboxtest.Run(dir, channels.Registry{connector: ch})
}

// platform is the fake Meta of the crash tests: it keeps the replies
// posted to each comment.
type platform struct {
	*fakeGraph
	mu      sync.Mutex
	replies map[string][]map[string]any
	seq     int
}

func (p *platform) post(comment string, from map[string]string, textKey, text string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	id := fmt.Sprintf("%s_r%d", comment, p.seq)
	r := map[string]any{"id": id, textKey: text, "from": from}
	now := ts(time.Now())
	r["created_time"], r["timestamp"] = now, now
	if u, ok := from["username"]; ok {
		r["username"] = u
	}
	p.replies[comment] = append([]map[string]any{r}, p.replies[comment]...) // newest first
	return id
}

func (p *platform) list(comment string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var items []any
	for _, r := range p.replies[comment] {
		items = append(items, r)
	}
	return listOf("", items...)
}

func (p *platform) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for c, rs := range p.replies {
		out[c] = len(rs)
	}
	return out
}

// newPlatform serves what the connector needs to reply to comments c0…
// and to look for its replies.
func newPlatform(t *testing.T, connector, handle string) *platform {
	p := &platform{fakeGraph: newFake(t), replies: map[string][]map[string]any{}}
	requireMessage := func(t *testing.T, r *http.Request, body []byte) (string, bool) {
		form, err := url.ParseQuery(string(body))
		if err != nil || strings.TrimSpace(form.Get("message")) == "" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("%s %s: want a form with the message, got %q", r.Method, r.URL.Path, body)
			return "", false
		}
		return form.Get("message"), true
	}
	for i := range crashMessages {
		c := fmt.Sprintf("c%d", i)
		switch connector {
		case FacebookConnector:
			page := map[string]string{"id": pageID, "name": "Copper Kettle Riverside"}
			p.on("POST /"+c+"/comments", func(w http.ResponseWriter, r *http.Request, body []byte) {
				if msg, ok := requireMessage(t, r, body); ok {
					writeJSON(w, 200, map[string]string{"id": p.post(c, page, "message", msg)})
				}
			})
			p.on("GET /"+c+"/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, p.list(c)) }))
			p.on("GET /"+c, func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, map[string]string{"id": c}) })
		case InstagramConnector:
			account := map[string]string{"id": igUserID, "username": handle}
			p.on("GET /"+c, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				wantFields(t, r, "parent_id", "hidden")
				writeJSON(w, 200, map[string]any{"id": c, "hidden": false})
			})
			p.on("POST /"+c+"/replies", func(w http.ResponseWriter, r *http.Request, body []byte) {
				if msg, ok := requireMessage(t, r, body); ok {
					writeJSON(w, 200, map[string]string{"id": p.post(c, account, "text", msg)})
				}
			})
			p.on("GET /"+c+"/replies", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, p.list(c)) })
		}
	}
	// The outbox gives the connector the account's platform and handle
	// only, so the Facebook connector finds its Page with /me.
	p.on("GET /me", serveFile(t, "fb_me.json"))
	return p
}

// crashFixture makes a location with one account served by connector and
// a queued reply to each of crashMessages comments.
func crashFixture(t *testing.T, dir, platformName, handle, connector string) {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = desk.Setup(ctx, store, desk.LocationSetup{Name: "Copper Kettle Riverside", ShortName: "Riverside", TimeZone: "UTC",
		Manager: models.Staff{Name: "Sam Chen", Handle: "sam"}})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := store.Location(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc := models.Account{LocationID: loc.ID, Platform: platformName, Handle: handle, Connector: connector}
	if err := store.CreateAccount(ctx, &acc); err != nil {
		t.Fatal(err)
	}
	var batch []models.Inbound
	for i := range crashMessages {
		batch = append(batch, models.Inbound{Platform: platformName, Account: handle, PlatformID: fmt.Sprintf("c%d", i),
			AuthorName: "Jess", AuthorID: "u1", Text: "what time do you close?", Kind: "comment", CreatedAt: time.Now().Add(-time.Hour),
			Triage: models.Triaged{NeedsResponse: true, Stage: "pre_purchase", Department: "sales"}})
	}
	if _, err := store.InsertInbound(ctx, loc.ID, batch); err != nil {
		t.Fatal(err)
	}
	d, err := desk.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	for i := range crashMessages {
		text := fmt.Sprintf("Hi Jess, we close at 10 pm tonight (reply %d).\n\n– Sam, Copper Kettle Riverside", i)
		if _, _, err := d.Reply(ctx, desk.ReplyInput{MessageID: int64(i + 1), Staff: "sam", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
}

// startChild runs the outbox in a child process.
func startChild(t *testing.T, dir, mode, base, connector string) *crashtest.Child {
	return crashtest.Start(t, childEnv+"="+mode, childDirEnv+"="+dir, childBaseEnv+"="+base, childConnEnv+"="+connector)
}

func runCrashTest(t *testing.T, connector, platformName, handle string) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	crashFixture(t, dir, platformName, handle, connector)
	p := newPlatform(t, connector, handle)

	c := startChild(t, dir, "stall", p.base(), connector)
	if l := c.Next(t); l != "READY" {
		t.Fatalf("child: %q", l)
	}
	if l := c.Next(t); !strings.HasPrefix(l, "POSTED c0 ") {
		t.Fatalf("child did not post: %q", l)
	}
	// Killed after Meta accepted the reply, before it was recorded.
	c.Kill(t)

	ctx := context.Background()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	r1, err := store.ReplyByID(ctx, 1)
	store.Close()
	if err != nil || r1.State != models.ReplySending {
		t.Fatalf("after the kill reply 1 is %q (%v), want sending", r1.State, err)
	}
	if got := p.counts(); len(got) != 1 || got["c0"] != 1 {
		t.Fatalf("platform after the kill: %v", got)
	}

	c = startChild(t, dir, "send", p.base(), connector)
	if l := c.Next(t); l != "READY" {
		t.Fatalf("restart: %q", l)
	}
	if l := c.Next(t); l != "DONE sent=2 found=1 retried=0 failed=0" {
		t.Fatalf("restart: %q", l)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	got := p.counts()
	for i := range crashMessages {
		if n := got[fmt.Sprintf("c%d", i)]; n != 1 {
			t.Errorf("comment c%d has %d replies on the platform, want exactly 1", i, n)
		}
	}
	store, err = models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rs, err := store.Replies(ctx, models.RepliesQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.State != models.ReplySent || r.RemoteID == "" {
			t.Errorf("reply %d is %s %q (%s), want sent with the platform's ID", r.ID, r.State, r.RemoteID, r.LastError)
		}
	}
	if r, _ := store.ReplyByID(ctx, 1); !strings.HasPrefix(r.RemoteID, "c0_r") {
		t.Errorf("reply 1 recorded as %q, want the ID of the reply found on the platform", r.RemoteID)
	}
}

func TestFacebookReplyIsPostedOnceAcrossACrash(t *testing.T) {
	runCrashTest(t, FacebookConnector, "facebook", "ck.riverside")
}

func TestInstagramReplyIsPostedOnceAcrossACrash(t *testing.T) {
	runCrashTest(t, InstagramConnector, "instagram", "ck_riverside")
}
