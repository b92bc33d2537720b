// Package meta holds Branchline's connectors for Meta's platforms: a
// Facebook Page (comments on the Page's posts and Messenger
// conversations) and an Instagram professional account (comments on its
// media and the media it is tagged in). Both speak the Graph API over
// net/http through one small client that sends the access token in an
// Authorization header (never in a URL), reads bounded responses, decodes
// Graph error objects into the error kinds of package channels, follows
// paging links with a hard page bound, and backs off before Meta's rate
// limits are reached, from the usage headers Meta sends with each answer.
//
// Meta has no idempotency keys: FindReply reads the thread back and looks
// for the Page's or account's own reply with the same text, posted since
// the first attempt; a message is looked for only in the conversation
// with its recipient, since templates send the same text to many people.
// When FindReply cannot read back to the first attempt, or cannot tell the
// recipient's conversation from others, it says so with an error wrapping
// webapi.ErrTransient instead of "not found", which would lead to a
// second post.
//
// The access token is only sent over https, or over plain http to this
// machine (a test server).
//
// Webhooks, which need a public HTTPS address, live in package
// channels/meta/webhook for a future relay; desktop nodes poll.
package meta

import (
	"bytes"
	"context"
	"encoding/json"
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

// DefaultBaseURL is the Graph API version the connectors are written
// against.
const DefaultBaseURL = "https://graph.facebook.com/v21.0"

// UsageBackoffPercent is the share of a Meta rate limit (any of call count,
// CPU time, total time) at which the connectors stop calling until Meta's
// estimated time to regain access has passed, so the limit itself is never
// hit.
const UsageBackoffPercent = 95

// Option configures a Facebook or Instagram channel.
type Option func(*config)

type config struct {
	client   *http.Client
	base     string
	now      func() time.Time
	log      *slog.Logger
	lookback time.Duration
	maxItems int
}

// WithHTTPClient sets the HTTP client (default: a client with a 30 s
// timeout).
func WithHTTPClient(c *http.Client) Option { return func(cf *config) { cf.client = c } }

// WithBaseURL sets the Graph API address used for accounts whose Server is
// empty, including the version path ("http://127.0.0.1:5000/v21.0" for a
// test server). The default is DefaultBaseURL. Like Account.Server, it
// must be https, or plain http to a loopback host (127.0.0.1, ::1,
// localhost); any other address is refused with channels.ErrPermanent.
func WithBaseURL(u string) Option { return func(cf *config) { cf.base = u } }

// WithClock sets the clock that messaging windows, the first poll's
// lookback and rate-limit pauses are measured with.
func WithClock(now func() time.Time) Option { return func(cf *config) { cf.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(cf *config) { cf.log = l } }

// WithLookback sets how far back a poll looks for posts and media whose
// comments it reads, and where the first poll starts (default 7 days).
func WithLookback(d time.Duration) Option { return func(cf *config) { cf.lookback = d } }

// WithMaxItems bounds the items one poll returns (default 500); more are
// left for the next poll, with Page.More set.
func WithMaxItems(n int) Option { return func(cf *config) { cf.maxItems = n } }

func newConfig(opts []Option) config {
	cf := config{
		client:   &http.Client{Timeout: 30 * time.Second},
		base:     DefaultBaseURL,
		now:      time.Now,
		log:      slog.New(slog.DiscardHandler),
		lookback: 7 * 24 * time.Hour,
		maxItems: 500,
	}
	for _, o := range opts {
		o(&cf)
	}
	if cf.client == nil {
		cf.client = &http.Client{Timeout: 30 * time.Second}
	}
	if cf.now == nil {
		cf.now = time.Now
	}
	if cf.log == nil {
		cf.log = slog.New(slog.DiscardHandler)
	}
	if cf.lookback <= 0 {
		cf.lookback = 7 * 24 * time.Hour
	}
	cf.maxItems = max(cf.maxItems, 1)
	return cf
}

// graph is the Graph API client shared by both channels.
type graph struct {
	config
	creds channels.Credentials
	mu    sync.Mutex
	// pauses holds, per account key (or appKey for the app-wide limit),
	// until when calls are held back because a limit is reached or near.
	pauses map[string]pause
	// warned holds the items a poll stepped over and has warned of
	// (skip), so that one read again by every poll is logged at Warn once.
	warned map[string]bool
}

// maxWarned bounds graph.warned; when it is full it starts again.
const maxWarned = 4096

type pause struct {
	until  time.Time
	reason string
}

// appKey is the pause key of the app-wide limit (X-App-Usage, code 4).
const appKey = "app"

func newGraph(creds channels.Credentials, cf config) *graph {
	return &graph{config: cf, creds: creds, pauses: map[string]pause{}, warned: map[string]bool{}}
}

// skip logs an item a poll steps over because it cannot be used (no id,
// no readable time, a field that does not decode): what the item is, its
// id when it has one, and the problem, never its text or a token. Waiting
// would not mend such an item, and failing the poll for it would stop the
// account's polling for good. An item with an id is logged at Warn the
// first time, then at Debug (polls read the same items again).
func (g *graph) skip(ctx context.Context, acc channels.Account, what, id, problem string) {
	level := slog.LevelWarn
	if id != "" {
		key := acc.Key() + "\x00" + what + "\x00" + id + "\x00" + problem
		g.mu.Lock()
		if g.warned[key] {
			level = slog.LevelDebug
		} else {
			if len(g.warned) >= maxWarned {
				clear(g.warned)
			}
			g.warned[key] = true
		}
		g.mu.Unlock()
	}
	g.log.Log(ctx, level, "meta: skipping an item that cannot be used", "account", acc.Key(), "item", what, "id", id, "problem", problem)
}

// unusable says what keeps an item with id and a time field from being
// used, or "" when nothing does; terr is the error reading the time.
func unusable(id, field, raw string, terr error) string {
	switch {
	case id == "" && terr != nil:
		return fmt.Sprintf("no id and no readable %s (%.40q)", field, raw)
	case id == "":
		return "no id"
	case terr != nil:
		return fmt.Sprintf("no readable %s (%.40q)", field, raw)
	}
	return ""
}

// undecodable is skip's problem for an item that does not decode.
func undecodable(err error) string {
	return fmt.Sprintf("does not decode (%v)", err)
}

// session is one account's token and address.
type session struct {
	g     *graph
	acc   channels.Account
	token string
	base  *url.URL
}

// session gets the account's token from the credentials.
func (g *graph) session(ctx context.Context, acc channels.Account) (*session, error) {
	t, err := g.creds.Token(ctx, acc)
	if err != nil {
		return nil, fmt.Errorf("token for %s: %w", acc.Key(), err)
	}
	return g.sessionWith(acc, t)
}

// sessionWith uses the given token (Verify checks one before it is saved).
func (g *graph) sessionWith(acc channels.Account, t channels.Token) (*session, error) {
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: %s has no access token", channels.ErrAuth, acc.Key())
	}
	raw := acc.Server
	if raw == "" {
		raw = g.base
	}
	u, err := graphAddress(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", channels.ErrPermanent, acc.Key(), err)
	}
	return &session{g: g, acc: acc, token: t.AccessToken, base: u}, nil
}

// graphAddress reads a Graph API address. The access token goes to it in
// every request, so it must be https, except on this machine (127.0.0.1
// or any loopback address, ::1, localhost), where a test server or a
// local proxy may speak plain http.
func graphAddress(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("the Graph API address %q is not an http(s) URL", shorten(raw, 200))
	}
	// Named without query, fragment or user info, which may hold secrets.
	shown := u.Scheme + "://" + u.Host + u.Path
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if loopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("the Graph API address %s uses plain http, which would send the access token unencrypted; use https (plain http is accepted only for this machine: 127.0.0.1, ::1, localhost)", shown)
	default:
		return nil, fmt.Errorf("the Graph API address %s is not an http(s) URL", shown)
	}
}

// loopback says whether a host name stays on this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// url builds the address of a Graph path ("/123/comments") with a query.
func (s *session) url(path string, q url.Values) string {
	u := *s.base
	u.Path = s.base.Path + "/" + strings.TrimLeft(path, "/")
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// get reads a Graph path into out.
func (s *session) get(ctx context.Context, path string, q url.Values, out any) error {
	return s.do(ctx, http.MethodGet, s.url(path, q), nil, "", out)
}

// postForm posts form parameters to a Graph path.
func (s *session) postForm(ctx context.Context, path string, form url.Values, out any) error {
	return s.do(ctx, http.MethodPost, s.url(path, nil), strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", out)
}

// postJSON posts a JSON body to a Graph path.
func (s *session) postJSON(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request to %s: %w", path, err)
	}
	return s.do(ctx, http.MethodPost, s.url(path, nil), bytes.NewReader(b), "application/json", out)
}

// do sends one request. It refuses to call while the account (or the app)
// is paused for a rate limit, records the usage headers of every answer,
// turns Graph error objects into errors of the right kind, and decodes a
// success into out.
func (s *session) do(ctx context.Context, method, rawURL string, body io.Reader, contentType string, out any) error {
	what := method + " " + s.describe(rawURL)
	if err := s.g.paused(s.acc.Key()); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return fmt.Errorf("%s: %w", what, webapi.Redact(err, s.token))
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.g.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return fmt.Errorf("%s: %w: %v", what, webapi.ErrTransient, webapi.Redact(err, s.token))
	}
	b, err := webapi.ReadBody(resp)
	if err != nil {
		return fmt.Errorf("%s: %w", what, webapi.Redact(err, s.token))
	}
	now := s.g.now()
	s.g.recordUsage(s.acc.Key(), resp.Header, now)
	if err := s.g.classify(s.acc.Key(), resp, b, now, s.token); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w: the response is not the JSON expected (%v)", what, webapi.ErrTransient, err)
	}
	return nil
}

// describe names a request in errors and logs: the path only, never the
// query.
func (s *session) describe(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unreadable address)"
	}
	return strings.TrimPrefix(u.Path, s.base.Path)
}

// listPage is one page of a Graph list ("edge").
type listPage struct {
	Data   json.RawMessage `json:"data"`
	Paging paging          `json:"paging"`
}

type paging struct {
	Next string `json:"next"`
}

// maxNextLen bounds a paging link, which is echoed into the next request.
const maxNextLen = 8 << 10

// list reads a Graph list page by page, at most maxPages pages, handing
// each page's items to visit until it says stop. It follows paging.next
// (only to the same address the session uses, with any access_token
// dropped from it, since the token goes in the header). An empty page with
// a next link is followed like any other. It reports whether it stopped at
// the page bound with more pages left.
func list[T any](ctx context.Context, s *session, path string, q url.Values, maxPages int, visit func([]T) (stop bool)) (truncated bool, err error) {
	return listFrom(ctx, s, s.url(path, q), maxPages, visit)
}

// listFrom is list from a full address: the session's own, or a paging
// link that followable accepted.
func listFrom[T any](ctx context.Context, s *session, next string, maxPages int, visit func([]T) (stop bool)) (truncated bool, err error) {
	for page := 0; ; page++ {
		if page == maxPages {
			return true, nil
		}
		var p listPage
		if err := s.do(ctx, http.MethodGet, next, nil, "", &p); err != nil {
			return false, err
		}
		if len(p.Data) == 0 || string(p.Data) == "null" {
			return false, fmt.Errorf("GET %s: %w: the response has no data list", s.describe(next), webapi.ErrTransient)
		}
		var items []T
		if err := json.Unmarshal(p.Data, &items); err != nil {
			return false, fmt.Errorf("GET %s: %w: the data list is not the JSON expected (%v)", s.describe(next), webapi.ErrTransient, err)
		}
		if visit(items) || p.Paging.Next == "" {
			return false, nil
		}
		link, err := s.followable(p.Paging.Next)
		if err != nil {
			return false, fmt.Errorf("GET %s: %w", s.describe(next), err)
		}
		next = link
	}
}

// followable checks a paging link: it must point at the session's own
// Graph address (the token is sent to it), and loses any access_token.
func (s *session) followable(next string) (string, error) {
	if len(next) > maxNextLen {
		return "", fmt.Errorf("%w: the next-page link is %d bytes long", webapi.ErrTransient, len(next))
	}
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("%w: unreadable next-page link", webapi.ErrTransient)
	}
	if u.Scheme != s.base.Scheme || u.Host != s.base.Host || !strings.HasPrefix(u.Path, s.base.Path+"/") {
		return "", fmt.Errorf("%w: the next-page link points to %s://%s%s, not to %s", webapi.ErrTransient, u.Scheme, u.Host, u.Path, s.base)
	}
	q := u.Query()
	q.Del("access_token")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// paused returns a rate-limit error while the account or the app is held
// back.
func (g *graph) paused(key string) error {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	var worst pause
	for _, k := range []string{key, appKey} {
		p, ok := g.pauses[k]
		if !ok {
			continue
		}
		if !now.Before(p.until) {
			delete(g.pauses, k)
			continue
		}
		if p.until.After(worst.until) {
			worst = p
		}
	}
	if worst.until.IsZero() {
		return nil
	}
	return &channels.RateLimitError{RetryAfter: clampWait(worst.until.Sub(now)), Reason: worst.reason + "; not calling until then"}
}

func (g *graph) pause(key string, until time.Time, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.pauses[key]; ok && p.until.After(until) {
		return
	}
	g.pauses[key] = pause{until: until, reason: reason}
	g.log.Warn("meta: holding back calls for a rate limit", "account", key, "until", until, "reason", reason)
}

func clampWait(d time.Duration) time.Duration {
	return min(max(d, time.Second), 24*time.Hour)
}

// usage is what a usage header reports: the highest share of any limit,
// and Meta's estimate of when access comes back.
type usage struct {
	percent float64
	regain  time.Duration
	found   bool
}

// usageEntry is one limit in a usage header. Values are percentages;
// estimated_time_to_regain_access is in minutes.
type usageEntry struct {
	CallCount    float64 `json:"call_count"`
	TotalCPUTime float64 `json:"total_cputime"`
	TotalTime    float64 `json:"total_time"`
	Regain       float64 `json:"estimated_time_to_regain_access"`
}

func (u *usage) add(e usageEntry) {
	u.found = true
	u.percent = max(u.percent, e.CallCount, e.TotalCPUTime, e.TotalTime)
	u.regain = max(u.regain, time.Duration(e.Regain*float64(time.Minute)))
}

// parseAppUsage reads X-App-Usage or X-Page-Usage: one flat object.
func parseAppUsage(v string) (usage, error) {
	var u usage
	if v == "" {
		return u, nil
	}
	var e usageEntry
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return u, err
	}
	u.add(e)
	return u, nil
}

// parseBUCUsage reads X-Business-Use-Case-Usage: per business object, a
// list of limits.
func parseBUCUsage(v string) (usage, error) {
	var u usage
	if v == "" {
		return u, nil
	}
	var m map[string][]usageEntry
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return u, err
	}
	for _, es := range m {
		for _, e := range es {
			u.add(e)
		}
	}
	return u, nil
}

// recordUsage pauses the account (or the app) when a usage header says a
// limit is at UsageBackoffPercent or more.
func (g *graph) recordUsage(key string, h http.Header, now time.Time) {
	for _, hdr := range []struct {
		name, key string
		parse     func(string) (usage, error)
	}{
		{"X-Business-Use-Case-Usage", key, parseBUCUsage},
		{"X-Page-Usage", key, parseAppUsage},
		{"X-App-Usage", appKey, parseAppUsage},
	} {
		u, err := hdr.parse(h.Get(hdr.name))
		if err != nil {
			g.log.Debug("meta: unreadable usage header", "header", hdr.name, "err", err)
			continue
		}
		if !u.found || u.percent < UsageBackoffPercent {
			continue
		}
		wait := u.regain
		if wait <= 0 {
			wait = webapi.DefaultRetryAfter
		}
		g.pause(hdr.key, now.Add(clampWait(wait)), fmt.Sprintf("%s at %.0f %%", hdr.name, u.percent))
	}
}

// regainWait is the wait the usage headers of a throttled answer give, if
// any.
func regainWait(h http.Header) (time.Duration, bool) {
	var best time.Duration
	for _, name := range []string{"X-Business-Use-Case-Usage", "X-App-Usage", "X-Page-Usage"} {
		parse := parseAppUsage
		if name == "X-Business-Use-Case-Usage" {
			parse = parseBUCUsage
		}
		if u, err := parse(h.Get(name)); err == nil {
			best = max(best, u.regain)
		}
	}
	return best, best > 0
}

// timeLayouts are the forms Graph uses for times: ISO 8601 with a +0000
// offset, and RFC 3339.
var timeLayouts = []string{"2006-01-02T15:04:05-0700", time.RFC3339Nano}

// parseTime reads a Graph time.
func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// sameText compares a reply's text with what the platform shows: Meta
// trims the ends and may send CRLF line breaks back as LF.
func sameText(a, b string) bool {
	norm := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
	return norm(a) == norm(b)
}

// findSkew is how much earlier than FirstAttempt a found reply may be
// stamped: the clocks of this machine and Meta's differ a little.
const findSkew = 2 * time.Minute

// earliestReply is the earliest time a reply of req can carry.
func earliestReply(req channels.ReplyRequest) time.Time {
	if !req.FirstAttempt.IsZero() {
		return req.FirstAttempt.Add(-findSkew)
	}
	return req.WrittenAt
}
