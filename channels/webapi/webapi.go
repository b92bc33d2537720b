// Package webapi holds what every platform connector does the same way
// over HTTP: turning a response's status into the error kinds of package
// channels (expired credentials, rate limits, refusals, transient
// failures), reading the platform's requested wait, keeping secrets out of
// error messages, and spreading polls with jitter.
package webapi

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/branchline/branchline/channels"
)

// DefaultRetryAfter is the wait assumed when a platform limits without
// saying for how long.
const DefaultRetryAfter = time.Minute

// MaxBody bounds how much of a response a connector reads: platforms'
// pages are far smaller, and a broken or hostile server cannot make a node
// read without end.
const MaxBody = 8 << 20

// ErrTransient marks a failure worth retrying soon: a server error, a
// network error, a malformed response that a later poll may not repeat.
var ErrTransient = errors.New("temporary failure")

// StatusError is an HTTP response that was not a success.
type StatusError struct {
	Status int
	// Message is the platform's own explanation, when it gave one,
	// shortened.
	Message string
	kind    error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP %d", e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return fmt.Sprintf("%v (%s)", e.kind, msg)
}

// Unwrap gives the kind: channels.ErrAuth, channels.ErrPermanent or
// ErrTransient.
func (e *StatusError) Unwrap() error { return e.kind }

// Check turns a response that is not a 2xx into an error of the right
// kind, with body (the platform's explanation, shortened) as its message:
// pass the platform's own message when it has been decoded. 401 means the credentials no longer work; 429 is a rate limit
// with the wait from Retry-After; 5xx and 408 are transient; every other
// 4xx is a refusal that will not change on retry. Platforms that signal
// differently (Meta's error codes in a 400) check for that first.
func Check(resp *http.Response, body []byte, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := shorten(strings.TrimSpace(string(body)), 300)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &channels.RateLimitError{RetryAfter: RetryAfter(resp.Header, now, DefaultRetryAfter), Reason: "HTTP 429"}
	case resp.StatusCode == http.StatusUnauthorized:
		return &StatusError{Status: resp.StatusCode, Message: msg, kind: channels.ErrAuth}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return &StatusError{Status: resp.StatusCode, Message: msg, kind: ErrTransient}
	default:
		return &StatusError{Status: resp.StatusCode, Message: msg, kind: channels.ErrPermanent}
	}
}

// ReadBody reads a response's body, at most MaxBody bytes, and closes it.
func ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the response: %v", ErrTransient, err)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrTransient, MaxBody)
	}
	return b, nil
}

// RetryAfter reads the wait a platform asks for: Retry-After in seconds
// or as an HTTP date, else X-RateLimit-Reset (an RFC 3339 time, as
// Mastodon sends, or Unix seconds); def when there is neither. The wait is
// at least a second and at most a day.
func RetryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	d, ok := retryAfter(h, now)
	if !ok {
		d = def
	}
	return min(max(d, time.Second), 24*time.Hour)
}

func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return t.Sub(now), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.Sub(now), true
		}
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(s, 0).Sub(now), true
		}
	}
	return 0, false
}

// Redact replaces every secret in an error's message with "[redacted]",
// and strips the query of any URL in it (net/http's errors quote the whole
// URL, and some APIs take the access token as a query parameter). The
// result still wraps err, so errors.Is keeps working.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := RedactString(msg, secrets...)
	if clean == msg {
		return err
	}
	return &redacted{msg: clean, err: err}
}

// RedactString is Redact for a string.
func RedactString(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	fields := strings.Fields(s)
	for _, f := range fields {
		u, err := url.Parse(strings.Trim(f, `"'():,`))
		if err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery == "" {
			continue
		}
		u.RawQuery = "[query redacted]"
		s = strings.Replace(s, strings.Trim(f, `"'():,`), u.Scheme+"://"+u.Host+u.Path+"?"+u.RawQuery, 1)
	}
	return s
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }

// Unwrap keeps the original error's kind, though not its text.
func (r *redacted) Unwrap() error { return r.err }

// Jitter spreads d by up to ±frac of itself, so accounts and nodes that
// start together do not poll in step.
func Jitter(d time.Duration, frac float64, r *rand.Rand) time.Duration {
	if d <= 0 || frac <= 0 {
		return d
	}
	var u float64
	if r != nil {
		u = r.Float64()
	} else {
		u = rand.Float64()
	}
	return d + time.Duration((u*2-1)*frac*float64(d))
}

// Backoff is the wait before attempt n (1 for the first retry): base
// doubling each time, at most limit, with jitter so retries spread.
func Backoff(n int, base, limit time.Duration, r *rand.Rand) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return Jitter(min(d, limit), 0.2, r)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
