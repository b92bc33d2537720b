// Package mastodon is Branchline's connector for Mastodon and servers that
// speak its client API (GoToSocial, Akkoma, …).
//
// It polls an account's mention notifications (direct-visibility mentions
// are direct messages), replies with a status that mentions the customer,
// never more public than the status it answers, and after a crash looks in
// the answered status's thread for a reply it may already have posted.
// Verify checks a token and says whose it is; RegisterApp registers
// Branchline with a server for the OAuth sign-in.
//
// It speaks plain net/http rather than github.com/mattn/go-mastodon: that
// library retries 429s by itself for up to an hour, hides the status code
// and the X-RateLimit-Reset header behind a generic error, and cannot send
// an Idempotency-Key, and the outbox needs all three.
//
// An account's Server is the server's base URL ("https://mastodon.social");
// plain http is accepted only for a loopback address, so a token never
// crosses a network in the clear. Handle is the account's full address,
// "user@host" (Verify gives it so), which tells apart two accounts with
// the same username on different servers.
package mastodon

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
	"strings"
	"sync"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// Connector is the connector name of Mastodon accounts.
const Connector = "mastodon"

// ErrServer means an account's server address is missing or unusable.
var ErrServer = errors.New("unusable Mastodon server address")

// Channel is the Mastodon connector. It is safe for concurrent use, for
// any number of accounts on any number of servers.
type Channel struct {
	creds  channels.Credentials
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu sync.Mutex
	// holds says until when a server asked an account to wait (429):
	// requests before then fail at once, without a storm of new ones.
	holds map[string]time.Time
	// selves caches each account's own account ID (verify_credentials).
	selves map[string]string
	// roots caches the thread root of statuses already seen.
	roots map[string]string
}

var (
	_ channels.Channel  = (*Channel)(nil)
	_ channels.Verifier = (*Channel)(nil)
)

// Option configures a Channel.
type Option func(*Channel)

// WithClock sets the clock (rate-limit waits are measured with it).
func WithClock(now func() time.Time) Option { return func(c *Channel) { c.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Channel) { c.log = l } }

// WithHTTPClient sets the HTTP client; the default has a 30-second
// timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Channel) { c.client = hc } }

// New makes the connector. creds gives it each account's token.
func New(creds channels.Credentials, opts ...Option) *Channel {
	c := &Channel{
		creds:  creds,
		client: &http.Client{Timeout: 30 * time.Second},
		now:    time.Now,
		log:    slog.New(slog.DiscardHandler),
		holds:  map[string]time.Time{},
		selves: map[string]string{},
		roots:  map[string]string{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// maxRoots bounds the thread-root cache; when full it starts again (a
// miss only costs one context request).
const maxRoots = 10000

// baseURL checks a server address and returns it without a trailing
// slash.
func baseURL(server string) (string, error) {
	s := strings.TrimRight(strings.TrimSpace(server), "/")
	if s == "" {
		return "", fmt.Errorf("%w: the account has no server address", ErrServer)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %q is not a base URL like https://mastodon.social", ErrServer, server)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return "", fmt.Errorf("%w: %q: plain http only for a server on this machine; use https", ErrServer, server)
		}
	default:
		return "", fmt.Errorf("%w: %q: scheme must be https", ErrServer, server)
	}
	return s, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// call is one API request.
type call struct {
	method string
	path   string // already escaped
	query  url.Values
	form   url.Values
	header http.Header
	token  string
	// hold is the key of the account whose rate limit applies ("" for
	// none).
	hold string
}

// do sends a call to base, decodes a 2xx JSON body into out and returns
// the response's headers. Errors carry the kinds of package channels and
// webapi, and never the token.
func (c *Channel) do(ctx context.Context, base string, cl call, out any) (http.Header, error) {
	if cl.hold != "" {
		if err := c.held(cl.hold); err != nil {
			return nil, err
		}
	}
	u := base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.form != nil {
		body = strings.NewReader(cl.form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%w: build request: %v", ErrServer, webapi.Redact(err, cl.token))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Branchline")
	if cl.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cl.token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	for k, vs := range cl.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, webapi.Redact(fmt.Errorf("%w: %w", webapi.ErrTransient, err), cl.token)
	}
	b, err := webapi.ReadBody(resp)
	if err != nil {
		return nil, webapi.Redact(err, cl.token)
	}
	if err := webapi.Check(resp, b, c.now()); err != nil {
		var rl *channels.RateLimitError
		if cl.hold != "" && errors.As(err, &rl) {
			c.setHold(cl.hold, c.now().Add(rl.RetryAfter))
		}
		return nil, webapi.Redact(err, cl.token)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%w: malformed JSON from the server: %v", webapi.ErrTransient, webapi.Redact(err, cl.token))
		}
	}
	return resp.Header, nil
}

// held returns a rate-limit error while the server's wait for key lasts.
func (c *Channel) held(key string) error {
	c.mu.Lock()
	until, ok := c.holds[key]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	left := until.Sub(c.now())
	if left <= 0 {
		c.mu.Lock()
		if c.holds[key] == until {
			delete(c.holds, key)
		}
		c.mu.Unlock()
		return nil
	}
	return &channels.RateLimitError{RetryAfter: max(left.Round(time.Second), time.Second), Reason: "HTTP 429, waiting for X-RateLimit-Reset"}
}

func (c *Channel) setHold(key string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.holds[key]) {
		c.holds[key] = until
	}
}

// accountKey names an account across servers, for holds and caches.
func accountKey(base, handle string) string { return base + "|" + handle }

// session is an account's server and token for one operation.
type session struct {
	base  string
	token string
	key   string
	// account names the account in logs (its Key).
	account string
}

// open checks the account's server and fetches its token.
func (c *Channel) open(ctx context.Context, acc channels.Account) (session, error) {
	base, err := baseURL(acc.Server)
	if err != nil {
		return session{}, err
	}
	t, err := c.creds.Token(ctx, acc)
	if err != nil {
		return session{}, fmt.Errorf("token for %s: %w", acc.Key(), err)
	}
	if t.AccessToken == "" {
		return session{}, fmt.Errorf("%w: %s has an empty token", channels.ErrAuth, acc.Key())
	}
	return session{base: base, token: t.AccessToken, key: accountKey(base, acc.Handle), account: acc.Key()}, nil
}

// self returns the ID of the account the session's token speaks for,
// asking the server once.
func (c *Channel) self(ctx context.Context, s session) (string, error) {
	c.mu.Lock()
	id, ok := c.selves[s.key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	a, err := c.verify(ctx, s.base, s.token, s.key)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.selves[s.key] = a.ID
	c.mu.Unlock()
	return a.ID, nil
}

// verify asks whose token it is.
func (c *Channel) verify(ctx context.Context, base, token, key string) (wireAccount, error) {
	var a wireAccount
	if _, err := c.do(ctx, base, call{method: http.MethodGet, path: "/api/v1/accounts/verify_credentials", token: token, hold: key}, &a); err != nil {
		return wireAccount{}, err
	}
	if a.ID == "" || a.Acct == "" {
		return wireAccount{}, fmt.Errorf("%w: verify_credentials answered without an account id or acct", webapi.ErrTransient)
	}
	return a, nil
}

// Verify checks a token with GET /api/v1/accounts/verify_credentials and
// says whose it is: Handle is the account's full address (its acct at the
// host of acc.Server, port included: "sam@mastodon.social",
// "the_mighty_zork@127.0.0.1:8080"), RemoteID its account ID. Branchline
// keys an account's token and row by handle, so the host must be in it:
// "sam" on two servers are two accounts.
func (c *Channel) Verify(ctx context.Context, acc channels.Account, t channels.Token) (channels.Identity, error) {
	base, err := baseURL(acc.Server)
	if err != nil {
		return channels.Identity{}, fmt.Errorf("verify mastodon account: %w", err)
	}
	if t.AccessToken == "" {
		return channels.Identity{}, fmt.Errorf("verify mastodon account on %s: %w: empty token", base, channels.ErrAuth)
	}
	a, err := c.verify(ctx, base, t.AccessToken, accountKey(base, acc.Handle))
	if err != nil {
		return channels.Identity{}, fmt.Errorf("verify mastodon account on %s: %w", base, err)
	}
	return channels.Identity{Handle: fullHandle(a.Acct, base), DisplayName: a.DisplayName, RemoteID: a.ID}, nil
}

// fullHandle is an account's address: acct when the server gave one with
// a host ("sam@other.example"), else acct at the host (and port) of the
// server's base URL, in lower case.
func fullHandle(acct, base string) string {
	if strings.Contains(acct, "@") {
		return acct
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return acct // baseURL has checked base: not reached
	}
	return acct + "@" + strings.ToLower(u.Host)
}

// rememberRoot records the thread root of a status.
func (c *Channel) rememberRoot(key, statusID, root string) {
	if statusID == "" || root == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.roots) >= maxRoots {
		clear(c.roots)
	}
	c.roots[key+"|"+statusID] = root
}

func (c *Channel) knownRoot(key, statusID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.roots[key+"|"+statusID]
	return r, ok
}
