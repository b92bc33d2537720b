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
	"log/slog"
	"time"
)

// Account identifies the account a channel works on.
type Account struct {
	Platform string
	Handle   string
	// Server is the platform's API address for this account when it has
	// one of its own (a Mastodon server, or a test server); "" means the
	// platform's public API.
	Server string
	// RemoteID is the platform's own ID of what the account is: a
	// Facebook Page ID, an Instagram professional account ID, a Google
	// Business Profile location ("accounts/1/locations/2"); "" when the
	// handle is enough.
	RemoteID string
}

// Key names the account in a credential vault: one secret per account.
func (a Account) Key() string { return a.Platform + "/" + a.Handle }

// Token is an account's secret. It lives in the credential vault, never in
// the database, a log or an export; printing one shows no secret.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// String hides the secrets, so %v and %+v never print them.
func (t Token) String() string {
	if t.Expiry.IsZero() {
		return "Token{redacted}"
	}
	return "Token{redacted, expires " + t.Expiry.UTC().Format(time.RFC3339) + "}"
}

// GoString hides the secrets from %#v too.
func (t Token) GoString() string { return t.String() }

// LogValue hides the secrets from log/slog.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Credentials gives a channel the token of an account and keeps a
// refreshed one. Token returns an error wrapping ErrAuth when the account
// has no token (never connected, or disconnected).
type Credentials interface {
	Token(ctx context.Context, acc Account) (Token, error)
	SaveToken(ctx context.Context, acc Account, t Token) error
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
	// Recipient is the platform's user ID of who wrote the message
	// answered (a Messenger PSID, a Mastodon account ID), RecipientName
	// their name or handle as the platform showed it, and WrittenAt when
	// they wrote it: messaging windows run from there.
	Recipient     string
	RecipientName string
	WrittenAt     time.Time
	Text          string
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

// Identity is who an account's token speaks for, as the platform says.
type Identity struct {
	Handle      string // the account's handle on the platform, as Branchline names it
	DisplayName string
	RemoteID    string // see Account.RemoteID
	// Expiry is when the token stops working, when the platform says
	// (zero: no known expiry).
	Expiry time.Time
}

// Verifier is a channel that can check an account's token before it is
// saved, and say whose it is: connecting an account calls it.
type Verifier interface {
	Verify(ctx context.Context, acc Account, t Token) (Identity, error)
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
	// ErrCredentialsLocked: the account's token cannot be read now (the
	// credentials file's passphrase was not given, the system keyring
	// cannot be reached). Not the account's fault: try again later.
	ErrCredentialsLocked = errors.New("the accounts' sign-ins cannot be read now")
)

// RateLimitError carries the platform's requested wait.
type RateLimitError struct {
	RetryAfter time.Duration
	// Reason says which limit, when the platform tells ("HTTP 429",
	// "X-Business-Use-Case-Usage at 100 %").
	Reason string
}

func (e *RateLimitError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%v (%s): retry after %s", ErrRateLimited, e.Reason, e.RetryAfter)
	}
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
