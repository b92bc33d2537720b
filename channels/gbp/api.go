package gbp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// call sends one request for acc with its access token. If Google refuses
// the token (401) before its known expiry, the token is refreshed and the
// request tried once more: the token may have been revoked, or this
// machine's clock may be off. Every request here is safe to repeat: reads,
// and the reply's PUT, which replaces rather than adds.
func (c *Channel) call(ctx context.Context, acc channels.Account, method, u string, body []byte) ([]byte, error) {
	tok, err := c.token(ctx, acc, "")
	if err != nil {
		return nil, err
	}
	b, status, err := c.send(ctx, tok, method, u, body)
	if status != http.StatusUnauthorized {
		return b, err
	}
	c.log.Warn("Google refused the access token; refreshing it and trying once more", "account", acc.Key())
	if tok, err = c.token(ctx, acc, tok.AccessToken); err != nil {
		return nil, err
	}
	b, _, err = c.send(ctx, tok, method, u, body)
	return b, err
}

// send makes one request with tok and classifies the answer. It returns
// the body of a success, and the status in every case (0 when no answer
// came).
func (c *Channel) send(ctx context.Context, tok channels.Token, method, u string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("build the request to %s: %w", redactURL(u), err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		err = webapi.Redact(err, tok.AccessToken, tok.RefreshToken)
		if ctx.Err() != nil {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: %w", webapi.ErrTransient, err)
	}
	b, err := webapi.ReadBody(resp)
	if err == nil {
		err = c.check(resp, b)
	}
	if err != nil {
		return nil, resp.StatusCode, webapi.Redact(err, tok.AccessToken, tok.RefreshToken)
	}
	return b, resp.StatusCode, nil
}

// googleError is the error body of Google's REST APIs:
// {"error": {"code", "message", "status", "details": [...]}}.
type googleError struct {
	Error struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details"`
	} `json:"error"`
}

// errorInfo is the part of a google.rpc.ErrorInfo detail read here.
type errorInfo struct {
	Reason   string         `json:"reason"`
	Metadata map[string]any `json:"metadata"`
}

// reasons and quotaZero read the details of a Google error.
func (g *googleError) reasons() (reasons []string, quotaZero bool) {
	for _, raw := range g.Error.Details {
		var d errorInfo
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		if d.Reason != "" {
			reasons = append(reasons, d.Reason)
		}
		if v, ok := d.Metadata["quota_limit_value"]; ok && fmt.Sprint(v) == "0" {
			quotaZero = true
		}
	}
	return reasons, quotaZero
}

// check turns a response that is not a success into the error kinds of
// package channels, with Google's own message. Beyond webapi.Check: a
// quota of 0 (access to the Business Profile APIs not approved yet) is a
// refusal, not a rate limit; a 403 says what Google refused, and a 403
// for a missing scope means the account must be connected again.
func (c *Channel) check(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := strings.TrimSpace(string(body))
	var ge googleError
	if json.Unmarshal(body, &ge) == nil && ge.Error.Message != "" {
		msg = ge.Error.Message
		if ge.Error.Status != "" {
			msg = ge.Error.Status + ": " + msg
		}
	}
	reasons, quotaZero := ge.reasons()
	switch {
	case quotaZero && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden):
		return fmt.Errorf("%w: Google allows this app's Cloud project 0 requests to the Business Profile APIs: access must be requested from Google and approved before Branchline can read or answer reviews (Google said %q)",
			channels.ErrPermanent, shorten(msg))
	case resp.StatusCode == http.StatusForbidden && slices.Contains(reasons, "SERVICE_DISABLED"):
		return fmt.Errorf("%w: the API is not enabled in this app's Google Cloud project (Google said %q)", channels.ErrPermanent, shorten(msg))
	case resp.StatusCode == http.StatusForbidden && (slices.Contains(reasons, "ACCESS_TOKEN_SCOPE_INSUFFICIENT") || insufficientScope(resp.Header)):
		// The sign-in did not grant business.manage (Google's consent
		// screen lets the user untick it); refreshing keeps the same
		// grant, so only a new sign-in helps.
		return fmt.Errorf("%w: the Google sign-in lacks the Business Profile permission (%s): connect the account again and allow Branchline to manage the Business Profile on Google's consent screen (Google said %q)",
			channels.ErrAuth, Scope, shorten(msg))
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: Google refused: the signed-in Google account may not manage this location, or the location is not verified (Google said %q)",
			channels.ErrPermanent, shorten(msg))
	}
	err := webapi.Check(resp, []byte(msg), c.now())
	var rl *channels.RateLimitError
	if errors.As(err, &rl) && ge.Error.Status != "" {
		rl.Reason = "HTTP 429 " + ge.Error.Status
	}
	return err
}

// insufficientScope says whether a WWW-Authenticate header carries the
// Bearer error "insufficient_scope" (RFC 6750 section 3.1), quoted or
// not.
func insufficientScope(h http.Header) bool {
	for _, v := range h.Values("WWW-Authenticate") {
		v = strings.ToLower(strings.Join(strings.Fields(v), ""))
		if strings.Contains(v, `error="insufficient_scope"`) || strings.Contains(v, "error=insufficient_scope") {
			return true
		}
	}
	return false
}

func shorten(s string) string {
	if len(s) <= 300 {
		return s
	}
	return strings.ToValidUTF8(s[:300], "") + "…"
}

// redactURL drops a URL's query, for error messages.
func redactURL(u string) string { return webapi.RedactString(u) }

// baseOf is the reviews API address for acc: its Server when set (a test
// server), else DefaultBase. Plain http is accepted only on the loopback
// interface, so a token is never sent in clear over a network.
func baseOf(acc channels.Account) (string, error) {
	if acc.Server == "" {
		return DefaultBase, nil
	}
	return checkBase(acc.Server)
}

func checkBase(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%w: %q is not an API address", channels.ErrPermanent, s)
	}
	if u.Scheme == "http" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("%w: %q: Google tokens are only sent over https (or plain http on this machine)", channels.ErrPermanent, s)
		}
	}
	return strings.TrimRight(s, "/"), nil
}

// location is an account's Google location.
type location struct {
	name string // accounts/{a}/locations/{l}
	id   string // {l}
}

// parseLocation reads Account.RemoteID.
func parseLocation(acc channels.Account) (location, error) {
	parts := strings.Split(acc.RemoteID, "/")
	if len(parts) != 4 || parts[0] != "accounts" || parts[2] != "locations" || !safeID(parts[1]) || !safeID(parts[3]) {
		if acc.RemoteID == "" {
			return location{}, fmt.Errorf("%w: account %s has no Google location (its remote ID should be accounts/{account}/locations/{location})",
				channels.ErrPermanent, acc.Key())
		}
		return location{}, fmt.Errorf("%w: account %s: %q is not a Google location name (accounts/{account}/locations/{location})",
			channels.ErrPermanent, acc.Key(), acc.RemoteID)
	}
	return location{name: acc.RemoteID, id: parts[3]}, nil
}

// safeID accepts the characters of Google's resource IDs, and nothing that
// could change a URL's path.
func safeID(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '~':
		default:
			return false
		}
	}
	return s != "." && s != ".."
}
