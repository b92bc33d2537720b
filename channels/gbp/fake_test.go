package gbp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/gbp"
)

// The fake Google follows the shapes in testdata (see testdata/README.md
// for the documentation page of each) and fails the test on a request
// Google would not expect.

const (
	locName      = "accounts/108/locations/2207"
	clientID     = "1234-desktop.apps.googleusercontent.com"
	clientSecret = "GOCSPX-fake-client-secret-do-not-print"
	firstAccess  = "ya29.first-access-token-do-not-print"
	firstRefresh = "1//first-refresh-token-do-not-print"
)

var t0 = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

// gReview is a Review as Google sends it.
type gReview struct {
	Name        string     `json:"name,omitempty"`
	ReviewID    string     `json:"reviewId,omitempty"`
	Reviewer    *gReviewer `json:"reviewer,omitempty"`
	StarRating  string     `json:"starRating,omitempty"`
	Comment     string     `json:"comment,omitempty"`
	CreateTime  string     `json:"createTime,omitempty"`
	UpdateTime  string     `json:"updateTime,omitempty"`
	ReviewReply *gReply    `json:"reviewReply,omitempty"`
}

type gReviewer struct {
	ProfilePhotoURL string `json:"profilePhotoUrl,omitempty"`
	DisplayName     string `json:"displayName,omitempty"`
	IsAnonymous     bool   `json:"isAnonymous,omitempty"`
}

type gReply struct {
	Comment    string `json:"comment"`
	UpdateTime string `json:"updateTime,omitempty"`
}

// rv is a review updated at `updated` (created then too).
func rv(id string, updated time.Time, stars, comment string) gReview {
	ts := updated.UTC().Format(time.RFC3339Nano)
	return gReview{Name: locName + "/reviews/" + id, ReviewID: id, Reviewer: &gReviewer{DisplayName: "Reviewer " + id},
		StarRating: stars, Comment: comment, CreateTime: ts, UpdateTime: ts}
}

// page is one page of reviews.list: reviews and the next token, or a raw
// body, or a page token Google no longer accepts.
type page struct {
	reviews []gReview
	next    string
	raw     string
	expired bool
}

// scripted is an answer given instead of the normal one to the next
// request whose "METHOD /path?query" starts with match.
type scripted struct {
	match  string
	status int
	file   string // in testdata
	header http.Header
}

type fakeGoogle struct {
	t   *testing.T
	srv *httptest.Server
	now func() time.Time

	mu      sync.Mutex
	access  string // the access token Google accepts
	refresh string // the refresh token Google accepts; "" once revoked
	rotate  bool   // hand out a new refresh token with each refresh
	issued  int
	pages   map[string]page
	reviews map[string]gReview // for get and updateReply, by reviewId
	script  []scripted
	// tokenScript answers the next refresh requests instead of the
	// normal answer (their match is not used).
	tokenScript []scripted
	requests    []string // "GET /v4/...?query" in order, token endpoint included
	refreshes   int
	puts        map[string]int
	// onPut runs after a reply is stored and before it is answered.
	onPut func(id string)
}

func newFakeGoogle(t *testing.T, now func() time.Time) *fakeGoogle {
	g := &fakeGoogle{t: t, now: now, access: firstAccess, refresh: firstRefresh,
		pages: map[string]page{"": {}}, reviews: map[string]gReview{}, puts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", g.token)
	mux.HandleFunc("/", g.api)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGoogle) oauthConfig() *oauth2.Config {
	cfg := gbp.OAuthConfig(clientID, clientSecret)
	cfg.Endpoint.TokenURL = g.srv.URL + "/token"
	cfg.Endpoint.AuthURL = g.srv.URL + "/auth"
	return cfg
}

// set changes the fake's state under its lock.
func (g *fakeGoogle) set(fn func(g *fakeGoogle)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(g)
}

func (g *fakeGoogle) setPages(ps map[string]page) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pages = ps
}

func (g *fakeGoogle) addReview(r gReview) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reviews[r.ReviewID] = r
}

func (g *fakeGoogle) queue(s ...scripted) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.script = append(g.script, s...)
}

func (g *fakeGoogle) queueToken(s ...scripted) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokenScript = append(g.tokenScript, s...)
}

func (g *fakeGoogle) log() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

func (g *fakeGoogle) counts() (refreshes int, puts map[string]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refreshes, cloneCounts(g.puts)
}

func cloneCounts(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (g *fakeGoogle) review(id string) gReview {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reviews[id]
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	switch b := v.(type) {
	case []byte:
		w.Write(b)
	default:
		json.NewEncoder(w).Encode(v)
	}
}

// token is Google's token endpoint, for refresh_token grants.
func (g *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		g.t.Errorf("token request: %v", err)
	}
	f := r.PostForm
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, "POST /token "+f.Get("grant_type"))
	if f.Get("grant_type") != "refresh_token" || f.Get("client_id") != clientID || f.Get("client_secret") != clientSecret {
		g.t.Errorf("token request: grant_type %q, client_id %q, secret given %v", f.Get("grant_type"), f.Get("client_id"), f.Get("client_secret") != "")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if len(g.tokenScript) > 0 {
		s := g.tokenScript[0]
		g.tokenScript = g.tokenScript[1:]
		for k, v := range s.header {
			w.Header()[k] = v
		}
		ct := "application/json; charset=utf-8"
		if strings.HasSuffix(s.file, ".html") {
			ct = "text/html; charset=UTF-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(s.status)
		w.Write(readTestdata(g.t, s.file))
		return
	}
	if g.refresh == "" || f.Get("refresh_token") != g.refresh {
		writeJSON(w, http.StatusBadRequest, readTestdata(g.t, "token-invalid-grant.json"))
		return
	}
	g.refreshes++
	g.issued++
	g.access = fmt.Sprintf("ya29.refreshed-access-token-%d", g.issued)
	var body map[string]any
	json.Unmarshal(readTestdata(g.t, "token-refresh.json"), &body)
	body["access_token"] = g.access
	if g.rotate {
		g.refresh = fmt.Sprintf("1//rotated-refresh-token-%d", g.issued)
		body["refresh_token"] = g.refresh
	}
	writeJSON(w, http.StatusOK, body)
}

// api serves the reviews API (/v4) and the Business Information API
// (/v1).
func (g *fakeGoogle) api(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	req := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		req += "?" + r.URL.RawQuery
	}
	g.requests = append(g.requests, req)
	access := g.access
	var s *scripted
	if len(g.script) > 0 && strings.HasPrefix(req, g.script[0].match) {
		s = &g.script[0]
		g.script = g.script[1:]
	}
	g.mu.Unlock()

	if got := r.Header.Get("Authorization"); got != "Bearer "+access {
		writeJSON(w, http.StatusUnauthorized, readTestdata(g.t, "error-401.json"))
		return
	}
	if s != nil {
		for k, v := range s.header {
			w.Header()[k] = v
		}
		writeJSON(w, s.status, readTestdata(g.t, s.file))
		return
	}
	reviews := "/v4/" + locName + "/reviews"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == reviews:
		g.list(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, reviews+"/") && !strings.Contains(strings.TrimPrefix(r.URL.Path, reviews+"/"), "/"):
		g.get(w, strings.TrimPrefix(r.URL.Path, reviews+"/"))
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, reviews+"/") && strings.HasSuffix(r.URL.Path, "/reply"):
		g.updateReply(w, r, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, reviews+"/"), "/reply"))
	case r.Method == http.MethodGet && r.URL.Path == "/v1/locations/2207":
		if q := r.URL.Query(); q.Get("readMask") != "name,title" || len(q) != 1 {
			g.t.Errorf("locations.get query %v, want readMask=name,title", q)
		}
		writeJSON(w, http.StatusOK, readTestdata(g.t, "location-get.json"))
	default:
		g.t.Errorf("unexpected request %s", req)
		writeJSON(w, http.StatusNotFound, readTestdata(g.t, "error-404.json"))
	}
}

func (g *fakeGoogle) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("orderBy") != "updateTime desc" || (q.Get("pageSize") != "50" && q.Get("pageSize") != "1") {
		g.t.Errorf("reviews.list query %v: want orderBy=updateTime desc and pageSize=50", q)
	}
	for k := range q {
		if k != "orderBy" && k != "pageSize" && k != "pageToken" {
			g.t.Errorf("reviews.list: unexpected parameter %s", k)
		}
	}
	g.mu.Lock()
	p, ok := g.pages[q.Get("pageToken")]
	g.mu.Unlock()
	switch {
	case !ok:
		g.t.Errorf("reviews.list: unknown page token %q", q.Get("pageToken"))
		fallthrough
	case p.expired:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400,
			"message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}})
	case p.raw != "":
		writeJSON(w, http.StatusOK, []byte(p.raw))
	default:
		body := map[string]any{"averageRating": 4.2, "totalReviewCount": 120}
		if p.reviews != nil {
			body["reviews"] = p.reviews
		}
		if p.next != "" {
			body["nextPageToken"] = p.next
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func (g *fakeGoogle) get(w http.ResponseWriter, id string) {
	g.mu.Lock()
	rev, ok := g.reviews[id]
	g.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, readTestdata(g.t, "error-404.json"))
		return
	}
	writeJSON(w, http.StatusOK, rev)
}

func (g *fakeGoogle) updateReply(w http.ResponseWriter, r *http.Request, id string) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		g.t.Errorf("updateReply Content-Type %q", ct)
	}
	if r.URL.RawQuery != "" {
		g.t.Errorf("updateReply query %q, want none", r.URL.RawQuery)
	}
	body, _ := io.ReadAll(r.Body)
	var in gReply
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.UpdateTime != "" || in.Comment == "" || len(in.Comment) > gbp.MaxReplyBytes {
		g.t.Errorf("updateReply body %s: want a ReviewReply with a comment of 1 to 4096 bytes only (%v)", body, err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT"}})
		return
	}
	g.mu.Lock()
	rev, ok := g.reviews[id]
	if ok {
		g.puts[id]++
		rev.ReviewReply = &gReply{Comment: in.Comment, UpdateTime: g.now().UTC().Format(time.RFC3339Nano)}
		g.reviews[id] = rev
	}
	hook := g.onPut
	g.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, readTestdata(g.t, "error-404.json"))
		return
	}
	if hook != nil {
		hook(id)
	}
	writeJSON(w, http.StatusOK, rev.ReviewReply)
}

// memCreds is an in-memory credential vault.
type memCreds struct {
	mu       sync.Mutex
	tokens   map[string]channels.Token
	saves    []channels.Token
	saveFail error // SaveToken fails with it when set
}

func (m *memCreds) Token(_ context.Context, acc channels.Account) (channels.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[acc.Key()]
	if !ok {
		return channels.Token{}, fmt.Errorf("%w: %s is not connected", channels.ErrAuth, acc.Key())
	}
	return t, nil
}

func (m *memCreds) SaveToken(_ context.Context, acc channels.Account, t channels.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saveFail != nil {
		return m.saveFail
	}
	m.tokens[acc.Key()] = t
	m.saves = append(m.saves, t)
	return nil
}

func (m *memCreds) saved() []channels.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.saves)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// env is a channel wired to a fake Google.
type env struct {
	t     *testing.T
	g     *fakeGoogle
	creds *memCreds
	clock *clock
	logs  *bytes.Buffer
	ch    *gbp.Channel
	acc   channels.Account
}

func newEnv(t *testing.T, opts ...gbp.Option) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: t0}, logs: &bytes.Buffer{}}
	e.g = newFakeGoogle(t, e.clock.now)
	e.acc = channels.Account{Platform: "google", Handle: "copper-kettle-riverside", Server: e.g.srv.URL + "/v4", RemoteID: locName}
	e.creds = &memCreds{tokens: map[string]channels.Token{e.acc.Key(): {AccessToken: firstAccess, RefreshToken: firstRefresh,
		TokenType: "Bearer", Expiry: t0.Add(30 * time.Minute)}}}
	base := []gbp.Option{gbp.WithClock(e.clock.now), gbp.WithLogger(slog.New(slog.NewTextHandler(syncWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		gbp.WithHTTPClient(e.g.srv.Client()), gbp.WithInformationBase(e.g.srv.URL + "/v1")}
	e.ch = gbp.New(e.creds, e.g.oauthConfig(), append(base, opts...)...)
	return e
}

// syncWriter makes a buffer safe for the logger's concurrent writes.
type syncWriter struct{ w *bytes.Buffer }

var logMu sync.Mutex

func (s syncWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return s.w.Write(p)
}

// secrets are every token and the client secret the tests use.
func (e *env) secrets() []string {
	s := []string{firstAccess, firstRefresh, clientSecret, "ya29.refreshed-access-token", "1//rotated-refresh-token"}
	for _, t := range e.creds.saved() {
		s = append(s, t.AccessToken, t.RefreshToken)
	}
	return s
}

// noSecrets fails the test if an error or the log shows a secret.
func (e *env) noSecrets(errs ...error) {
	e.t.Helper()
	logMu.Lock()
	logs := e.logs.String()
	logMu.Unlock()
	for _, sec := range e.secrets() {
		for _, err := range errs {
			if err != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), sec) {
				e.t.Errorf("an error shows a secret: %v", err)
			}
		}
		if strings.Contains(logs, sec) {
			e.t.Errorf("the log shows a secret:\n%s", logs)
		}
	}
}
