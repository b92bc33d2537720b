package outbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/demo"
	"github.com/branchline/branchline/internal/crashtest"
	"github.com/branchline/branchline/models"
)

// The crash tests run the outbox in a child process (this test binary,
// started again with BRANCHLINE_OUTBOX_CHILD set), kill it for real with
// SIGKILL, start it again and count what reached the platform: the demo
// platform, whose state lives in its own file like a real platform's.

const childEnv = "BRANCHLINE_OUTBOX_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode, os.Getenv("BRANCHLINE_OUTBOX_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// stallAfterPost posts through the platform, then tells the parent and
// waits to be killed: the moment between "posted" and "recorded as sent".
type stallAfterPost struct{ *demo.Platform }

func (s stallAfterPost) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	id, err := s.Platform.Reply(ctx, req)
	if err != nil {
		return id, err
	}
	fmt.Printf("POSTED %s\n", req.InReplyTo)
	os.Stdout.Sync()
	select {} // killed here
}

// slow adds network-like delays on both sides of the post, so random
// kills land anywhere.
type slow struct{ *demo.Platform }

func (s slow) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	time.Sleep(time.Duration(rand.IntN(8)) * time.Millisecond)
	id, err := s.Platform.Reply(ctx, req)
	time.Sleep(time.Duration(rand.IntN(8)) * time.Millisecond)
	return id, err
}

// child is outboxtest.Run with the demo platform; this package cannot
// import outboxtest, which imports it.
func child(mode, dir string) error {
	ctx := context.Background()
	lock, err := TryLock(filepath.Join(dir, "outbox.lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	p, err := demo.Open(ctx, filepath.Join(dir, "platform.db"), demo.Options{Seed: 1}, time.Now)
	if err != nil {
		return err
	}
	defer p.Close()
	var ch channels.Channel = p
	switch mode {
	case "stall":
		ch = stallAfterPost{p}
	case "slow":
		ch = slow{p}
	}
	ob := New(store, channels.Registry{"fake": ch})
	fmt.Println("READY")
	os.Stdout.Sync()
	rec, err := ob.Recover(ctx)
	if err != nil {
		return err
	}
	rep, err := ob.Flush(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("DONE sent=%d found=%d retried=%d failed=%d\n", rep.Sent, rec.Found+rep.Found, rec.Retried+rep.Retried, rep.Failed)
	return nil
}

func startChild(t *testing.T, dir, mode string) *crashtest.Child {
	return crashtest.Start(t, childEnv+"="+mode, "BRANCHLINE_OUTBOX_DIR="+dir)
}

// platformReplies counts the demo platform's replies per message.
func platformReplies(t *testing.T, dir string) map[string]int {
	t.Helper()
	p, err := demo.Open(context.Background(), filepath.Join(dir, "platform.db"), demo.Options{Seed: 1}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rs, err := p.Replies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range rs {
		count[r.InReplyTo]++
	}
	return count
}

func TestOutboxDoesNotRepostAfterCrash(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir, 3)
	fx.store.Close()

	c := startChild(t, dir, "stall")
	c.Next(t) // READY
	if l := c.Next(t); !strings.HasPrefix(l, "POSTED ") {
		t.Fatalf("child did not post: %q", l)
	}
	// Killed between the post and recording it as sent.
	c.Kill(t)

	store, err := models.Open(context.Background(), filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := store.ReplyByID(context.Background(), 1)
	store.Close()
	if r1.State != models.ReplySending {
		t.Fatalf("after the kill reply 1 is %s, want sending", r1.State)
	}
	if got := platformReplies(t, dir); len(got) != 1 || got["c0"] != 1 {
		t.Fatalf("platform after the kill: %v", got)
	}

	c = startChild(t, dir, "send")
	c.Next(t) // READY
	if l := c.Next(t); l != "DONE sent=2 found=1 retried=0 failed=0" {
		t.Fatalf("restart: %q", l)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	got := platformReplies(t, dir)
	for i := range 3 {
		if n := got[fmt.Sprintf("c%d", i)]; n != 1 {
			t.Errorf("message c%d has %d replies on the platform, want exactly 1", i, n)
		}
	}
	assertAllSent(t, dir, 3)
}

func TestOutboxSurvivesRandomKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process many times")
	}
	const replies = 15
	dir := t.TempDir()
	fx := newFixture(t, dir, replies)
	fx.store.Close()
	kills := 0
	for round := 0; ; round++ {
		if round > 200 {
			t.Fatal("the outbox never finished")
		}
		c := startChild(t, dir, "slow")
		if l := c.Next(t); l != "READY" {
			t.Fatalf("child did not start: %q", l)
		}
		// Kill at a random moment of the work, not of the start-up.
		select {
		case <-c.Done():
			line := ""
			if rest := c.Rest(); len(rest) > 0 {
				line = rest[len(rest)-1]
			}
			if err := c.Wait(); err != nil || !strings.HasPrefix(line, "DONE") {
				t.Fatalf("child: %v %q", err, line)
			}
			t.Logf("finished after %d kills: %s", kills, line)
			got := platformReplies(t, dir)
			for i := range replies {
				if n := got[fmt.Sprintf("c%d", i)]; n != 1 {
					t.Errorf("message c%d has %d replies on the platform, want exactly 1", i, n)
				}
			}
			assertAllSent(t, dir, replies)
			if kills == 0 {
				t.Error("the child was never killed mid-run; the test proved nothing")
			}
			return
		case <-time.After(time.Duration(rand.IntN(60+40*round)) * time.Millisecond):
			// The window grows each round, so a slow machine (or the race
			// detector) still finishes after many kills.
			c.Kill(t)
			kills++
		}
	}
}

func assertAllSent(t *testing.T, dir string, n int) {
	t.Helper()
	store, err := models.Open(context.Background(), filepath.Join(dir, "branchline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rs, err := store.Replies(context.Background(), models.RepliesQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != n {
		t.Fatalf("%d replies stored, want %d", len(rs), n)
	}
	for _, r := range rs {
		if r.State != models.ReplySent {
			t.Errorf("reply %d is %s (%s), want sent", r.ID, r.State, r.LastError)
		}
	}
	if _, err := store.VerifyAudit(context.Background()); err != nil {
		t.Error(err)
	}
}
