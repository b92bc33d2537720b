package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/vault"
)

// TestLockedCredentialsAreNotTheAccountsFault: without the passphrase the
// vault says it is locked (not "reconnect needed"); automatic work does
// not ask again for a while, a person's action does; one prompt serves
// everyone waiting; and asking where the tokens live never waits for a
// prompt.
func TestLockedCredentialsAreNotTheAccountsFault(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var prompts atomic.Int32
	answer := make(chan string, 10)
	release := make(chan struct{})
	l := &lazyVault{dir: t.TempDir(), now: clock, opts: []vault.Option{vault.WithFileBackend(), vault.WithPassphrase(func(ctx context.Context, isNew bool) (string, error) {
		prompts.Add(1)
		<-release
		return <-answer, nil
	})}}
	acc := channels.Account{Platform: "mastodon", Handle: "riverside@social.example"}

	// The person cancels the prompt.
	answer <- ""
	close(release)
	_, err := l.Token(ctx, acc)
	if !errors.Is(err, channels.ErrCredentialsLocked) || errors.Is(err, channels.ErrAuth) {
		t.Fatalf("Token with no passphrase = %v; want ErrCredentialsLocked, not ErrAuth", err)
	}
	if _, problem := l.state(); !errors.Is(problem, channels.ErrCredentialsLocked) {
		t.Fatalf("state problem = %v", problem)
	}
	// Polls in the next minutes do not ask again.
	for range 5 {
		if _, err := l.Token(ctx, acc); !errors.Is(err, channels.ErrCredentialsLocked) {
			t.Fatal(err)
		}
	}
	if n := prompts.Load(); n != 1 {
		t.Fatalf("%d prompts after a cancel and five polls, want 1", n)
	}
	// A person's action asks at once; concurrent callers share the prompt,
	// and the state does not wait for it.
	release = make(chan struct{})
	l.opts = []vault.Option{vault.WithFileBackend(), vault.WithPassphrase(func(ctx context.Context, isNew bool) (string, error) {
		prompts.Add(1)
		<-release
		return "correct horse battery", nil
	})}
	saved := make(chan error, 1)
	go func() { saved <- l.SaveToken(ctx, acc, channels.Token{AccessToken: "tok-1"}) }()
	for prompts.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	got := make(chan error, 1)
	go func() {
		_, err := l.open(ctx, true)
		got <- err
	}()
	stateDone := make(chan struct{})
	go func() { l.state(); close(stateDone) }()
	select {
	case <-stateDone:
	case <-time.After(5 * time.Second):
		t.Fatal("state() waited for the passphrase prompt")
	}
	close(release)
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := prompts.Load(); n != 2 {
		t.Fatalf("%d prompts, want 2 (the waiting caller shared the second)", n)
	}
	if tok, err := l.Token(ctx, acc); err != nil || tok.AccessToken != "tok-1" {
		t.Fatalf("Token after unlocking = %v, %v", tok, err)
	}
	if b, problem := l.state(); problem != nil || b == "" {
		t.Fatalf("state after unlocking = %q, %v", b, problem)
	}
}
