// Package channels defines how Branchline talks to a platform: a Channel
// polls an account for new items since a cursor, posts replies with an
// idempotency key, and after a crash finds out whether a reply it may have
// posted actually landed.
//
// Connectors for real platforms implement Channel; channels/demo is an
// embedded simulated platform for the demo location and for tests.
package channels

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Account identifies the account a channel works on.
type Account struct {
	Platform string
	Handle   string
}

// Item is something a customer wrote, as the platform reports it.
type Item struct {
	PlatformID string
	ThreadID   string
	AuthorName string
	AuthorID   string
	Text       string
	Kind       string // comment, dm, mention, review
	Rating     int
	CreatedAt  time.Time
}

// Page is the result of one poll.
type Page struct {
	Items []Item
	// Cursor is where the next poll starts; it is stored only after the
	// page's items are.
	Cursor string
	// More says another page is ready now.
	More bool
}

// ReplyRequest is a reply to post.
type ReplyRequest struct {
	Account Account
	// InReplyTo is the platform ID of the message answered; ThreadID its
	// thread.
	InReplyTo string
	ThreadID  string
	Kind      string
	Text      string
	// Private asks for a direct message instead of a public reply.
	Private bool
	// IdempotencyKey is unique per reply and the same on every attempt.
	// Platforms that honour one use it; the others are checked with
	// FindReply before any retry.
	IdempotencyKey string
	// FirstAttempt is when the reply was first tried; a reply found on the
	// platform must not be older.
	FirstAttempt time.Time
}

// Channel is a connection to one platform.
type Channel interface {
	// Poll returns items newer than cursor ("" for the beginning).
	Poll(ctx context.Context, acc Account, cursor string) (Page, error)
	// Reply posts a reply and returns its platform ID.
	Reply(ctx context.Context, req ReplyRequest) (remoteID string, err error)
	// FindReply looks for a reply posted by an earlier attempt of req.
	FindReply(ctx context.Context, req ReplyRequest) (remoteID string, found bool, err error)
}

// Error kinds a channel reports, for the outbox to decide what to do.
var (
	// ErrPermanent: the platform refused the request and will refuse it
	// again (deleted post, closed messaging window). Do not retry.
	ErrPermanent = errors.New("refused by the platform")
	// ErrAuth: the credentials are expired or revoked; the account needs
	// reconnecting before anything else is tried.
	ErrAuth = errors.New("reconnect needed")
	// ErrRateLimited: try again after the platform's wait.
	ErrRateLimited = errors.New("rate limited")
)

// RateLimitError carries the platform's requested wait.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrRateLimited, e.RetryAfter)
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Registry finds the channel that serves a connector name.
type Registry map[string]Channel

// Lookup returns the channel for connector, or an error naming it.
func (r Registry) Lookup(connector string) (Channel, error) {
	if connector == "" {
		return nil, fmt.Errorf("the account has no connection (it is fed by imports): connect it in Settings to reply from Branchline")
	}
	ch, ok := r[connector]
	if !ok {
		return nil, fmt.Errorf("no channel for connector %q in this build", connector)
	}
	return ch, nil
}
