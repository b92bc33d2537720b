package gbp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/outbox/outboxtest"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/gbp"
	"github.com/branchline/branchline/internal/crashtest"
	"github.com/branchline/branchline/models"
)

// The crash test runs the real outbox with this channel in a child
// process (this test binary, started again with childDirEnv set) against
// a fake Google in the parent, kills the child with SIGKILL once Google
// holds the reply but before the child can record it as sent, starts it
// again, and counts the replies on the fake Google.

const (
	childDirEnv    = "BRANCHLINE_GBP_CRASH_DIR"
	childServerEnv = "BRANCHLINE_GBP_CRASH_SERVER"
	crashHandle    = "copper-kettle-riverside"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		if err := crashChild(dir, os.Getenv(childServerEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashChild(dir, server string) error {
	acc := channels.Account{Platform: "google", Handle: crashHandle}
	creds := &memCreds{tokens: map[string]channels.Token{acc.Key(): {AccessToken: firstAccess, RefreshToken: firstRefresh,
		TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}}}
	cfg := gbp.OAuthConfig(clientID, clientSecret)
	cfg.Endpoint.TokenURL = server + "/token"
	return outboxtest.Run(dir, channels.Registry{gbp.Connector: gbp.New(creds, cfg)})
}

// setUpLocation makes a location with a Google account served by this
// connector at server, and one queued reply to each of the reviews.
func setUpLocation(t *testing.T, dir, server string, reviews []gReview) map[string]string {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := desk.Setup(ctx, store, desk.LocationSetup{Name: "Copper Kettle Riverside", ShortName: "Riverside", TimeZone: "UTC",
		Manager: models.Staff{Name: "Sam Chen", Handle: "sam"}}); err != nil {
		t.Fatal(err)
	}
	loc, err := store.Location(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAccount(ctx, &models.Account{LocationID: loc.ID, Platform: "google", Handle: crashHandle, Connector: gbp.Connector,
		Server: server + "/v4", RemoteID: locName}); err != nil {
		t.Fatal(err)
	}
	var batch []models.Inbound
	for _, r := range reviews {
		created, _ := time.Parse(time.RFC3339Nano, r.CreateTime)
		batch = append(batch, models.Inbound{Platform: "google", Account: crashHandle, PlatformID: r.ReviewID, ThreadID: r.ReviewID,
			AuthorName: r.Reviewer.DisplayName, AuthorID: "review:" + r.ReviewID, Text: r.Comment, Kind: "review", Rating: 2, CreatedAt: created,
			Triage: models.Triaged{NeedsResponse: true, Stage: "post_purchase", Department: "operations"}})
	}
	res, err := store.InsertInbound(ctx, loc.ID, batch)
	if err != nil || res.Inserted != len(reviews) {
		t.Fatalf("insert reviews: %+v %v", res, err)
	}
	d, err := desk.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for i, id := range res.IDs {
		r := reviews[res.Index[i]]
		text := fmt.Sprintf("Hi %s, thank you for telling us about the wait. We are sorry and hope to see you again.\n\n– Sam, Copper Kettle Riverside", r.Reviewer.DisplayName)
		if _, _, err := d.Reply(ctx, desk.ReplyInput{MessageID: id, Staff: "sam", Text: text}); err != nil {
			t.Fatal(err)
		}
		texts[r.ReviewID] = text
	}
	return texts
}

func startCrashChild(t *testing.T, dir, server string) *crashtest.Child {
	return crashtest.Start(t, childDirEnv+"="+dir, childServerEnv+"="+server)
}

func TestOutboxDoesNotReplyTwiceToAGoogleReviewAfterAKill(t *testing.T) {
	dir := t.TempDir()
	g := newFakeGoogle(t, time.Now)
	now := time.Now().UTC()
	reviews := []gReview{rv("rA", now.Add(-2*time.Hour), "TWO", "Waited 25 minutes."), rv("rB", now.Add(-time.Hour), "ONE", "Cold fries.")}
	for _, r := range reviews {
		g.addReview(r)
	}
	texts := setUpLocation(t, dir, g.srv.URL, reviews)

	// Google stores the first reply it is sent, then holds the answer
	// until the child is dead: the reply landed, the child never learns.
	landed := make(chan string, 1)
	release := make(chan struct{})
	var once sync.Once
	g.set(func(g *fakeGoogle) {
		g.onPut = func(id string) {
			held := false
			once.Do(func() { held = true })
			if held {
				landed <- id
				<-release
			}
		}
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	c := startCrashChild(t, dir, g.srv.URL)
	if l := c.Next(t); l != "READY" {
		t.Fatalf("child: %q", l)
	}
	var first string
	select {
	case first = <-landed:
	case <-time.After(60 * time.Second):
		t.Fatal("no reply reached Google")
	}
	c.Kill(t)
	close(release)

	ctx := context.Background()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	sending, err := store.SendingReplies(ctx)
	store.Close()
	if err != nil || len(sending) != 1 {
		t.Fatalf("after the kill %d replies are sending (%v), want the one Google holds", len(sending), err)
	}
	if _, puts := g.counts(); puts[first] != 1 || len(puts) != 1 {
		t.Fatalf("after the kill Google saw PUTs %v", puts)
	}

	c = startCrashChild(t, dir, g.srv.URL)
	if l := c.Next(t); l != "READY" {
		t.Fatalf("restarted child: %q", l)
	}
	if l := c.Next(t); l != "DONE sent=1 found=1 retried=0 failed=0" {
		t.Fatalf("restarted child: %q", l)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}

	_, puts := g.counts()
	total := 0
	for _, r := range reviews {
		total += puts[r.ReviewID]
		if puts[r.ReviewID] != 1 {
			t.Errorf("review %s got %d PUTs, want 1", r.ReviewID, puts[r.ReviewID])
		}
		got := g.review(r.ReviewID).ReviewReply
		if got == nil || got.Comment != texts[r.ReviewID] {
			t.Errorf("review %s has reply %+v, want exactly the queued one", r.ReviewID, got)
		}
	}
	gets := 0
	for _, req := range g.log() {
		if strings.HasPrefix(req, "GET /v4/"+locName+"/reviews/") {
			gets++
		}
	}
	t.Logf("Google saw %d PUTs for %d replies (the killed one landed once and a GET found it after the restart; GETs of single reviews: %d)", total, len(reviews), gets)

	store, err = models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rs, err := store.Replies(ctx, models.RepliesQuery{Limit: 10})
	if err != nil || len(rs) != len(reviews) {
		t.Fatalf("%d replies stored (%v)", len(rs), err)
	}
	for _, r := range rs {
		if r.State != models.ReplySent || !strings.HasPrefix(r.RemoteID, locName+"/reviews/") || !strings.HasSuffix(r.RemoteID, "/reply") {
			t.Errorf("reply %d is %s with remote ID %q (%s)", r.ID, r.State, r.RemoteID, r.LastError)
		}
	}
}
