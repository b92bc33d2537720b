package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
)

// The contract tests run the connectors against fakes of the Graph API
// built from the documented request and response shapes (testdata/README.md
// names the page each shape follows). A fake checks every request it gets
// (method, path, bearer token, no token in the URL, required parameters,
// body) and fails the test on a wrong one.

const (
	testToken = "EAAB-test-page-token-0123456789"
	version   = "/v21.0"
	pageID    = "104857600"
	igUserID  = "17841400000000001"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

// memCreds is a credential vault in memory.
type memCreds struct {
	mu     sync.Mutex
	tokens map[string]channels.Token
}

func newCreds(acc ...channels.Account) *memCreds {
	c := &memCreds{tokens: map[string]channels.Token{}}
	for _, a := range acc {
		c.tokens[a.Key()] = channels.Token{AccessToken: testToken}
	}
	return c
}

func (c *memCreds) Token(_ context.Context, acc channels.Account) (channels.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[acc.Key()]
	if !ok {
		return channels.Token{}, fmt.Errorf("%w: %s was never connected", channels.ErrAuth, acc.Key())
	}
	return t, nil
}

func (c *memCreds) SaveToken(_ context.Context, acc channels.Account, t channels.Token) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[acc.Key()] = t
	return nil
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// handler answers one route of the fake.
type handler func(w http.ResponseWriter, r *http.Request, body []byte)

// fakeGraph is a Graph API fake on 127.0.0.1.
type fakeGraph struct {
	t      testing.TB
	token  string
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]handler
	calls  []string
}

func newFake(t testing.TB) *fakeGraph {
	f := &fakeGraph{t: t, token: testToken, routes: map[string]handler{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// base is the address to give the connector (Account.Server or
// WithBaseURL).
func (f *fakeGraph) base() string { return f.srv.URL + version }

// on sets the handler for "METHOD /path" (the path without the version).
func (f *fakeGraph) on(route string, h handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	method, path, _ := strings.Cut(route, " ")
	f.routes[method+" "+version+path] = h
}

// count is how many requests matched a route.
func (f *fakeGraph) count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	method, path, _ := strings.Cut(route, " ")
	n := 0
	for _, c := range f.calls {
		if c == method+" "+version+path {
			n++
		}
	}
	return n
}

func (f *fakeGraph) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake Graph: read body: %v", err)
	}
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.calls = append(f.calls, key)
	h := f.routes[key]
	f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
		f.t.Errorf("fake Graph: %s sent Authorization %q, want the bearer token", key, got)
		graphError(w, 400, 190, 0, "Invalid OAuth access token.")
		return
	}
	if strings.Contains(r.URL.RawQuery, "access_token") || strings.Contains(r.URL.RawQuery, f.token) {
		f.t.Errorf("fake Graph: %s put the token in the URL: %s", key, r.URL.RawQuery)
	}
	if h == nil {
		f.t.Errorf("fake Graph: unexpected request %s?%s", key, r.URL.RawQuery)
		graphError(w, 400, 100, 0, "Unsupported request")
		return
	}
	h(w, r, body)
}

// nextLink is a paging.next as Meta writes it: the full address with the
// access token in the query (the connector must drop it).
func (f *fakeGraph) nextLink(r *http.Request, after string) string {
	q := r.URL.Query()
	q.Set("after", after)
	q.Set("access_token", "token-from-meta-in-next-link")
	return f.srv.URL + r.URL.Path + "?" + q.Encode()
}

// writeJSON answers with a JSON value (a string is sent as is).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if s, ok := v.(string); ok {
		io.WriteString(w, s)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// graphError answers with a documented Graph error object.
func graphError(w http.ResponseWriter, status, code, sub int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": "OAuthException", "code": code, "error_subcode": sub, "fbtrace_id": "AbCdEf123",
	}})
}

// listOf is a Graph list page.
func listOf(next string, items ...any) map[string]any {
	p := map[string]any{"data": items}
	if items == nil {
		p["data"] = []any{}
	}
	if next != "" {
		p["paging"] = map[string]any{"cursors": map[string]string{"before": "b", "after": "a"}, "next": next}
	}
	return p
}

// testdata reads a shape from testdata.
func testdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serveFile answers with a testdata shape.
func serveFile(t testing.TB, name string) handler {
	body := testdata(t, name)
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, body) }
}

// wantQuery fails the test unless the request has each parameter with the
// value given ("*" for any non-empty value).
func wantQuery(t testing.TB, r *http.Request, want map[string]string) {
	t.Helper()
	q := r.URL.Query()
	for k, v := range want {
		got := q.Get(k)
		if got == "" || (v != "*" && got != v) {
			t.Errorf("%s %s: parameter %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
}

// wantFields fails the test unless the fields parameter names each field.
func wantFields(t testing.TB, r *http.Request, fields ...string) {
	t.Helper()
	got := r.URL.Query().Get("fields")
	for _, f := range fields {
		if !strings.Contains(got, f) {
			t.Errorf("%s %s: fields=%q lacks %q", r.Method, r.URL.Path, got, f)
		}
	}
}

// wantForm fails the test unless a form POST carries the values.
func wantForm(t testing.TB, r *http.Request, body []byte, want map[string]string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("%s %s: Content-Type %q, want a form", r.Method, r.URL.Path, ct)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Errorf("%s %s: body is not a form: %v", r.Method, r.URL.Path, err)
		return
	}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("%s %s: form %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
}

// wantJSON fails the test unless a JSON POST body equals want.
func wantJSON(t testing.TB, r *http.Request, body []byte, want string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want JSON", r.Method, r.URL.Path, ct)
	}
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if string(g) != string(e) {
		t.Errorf("%s %s: body %s, want %s", r.Method, r.URL.Path, g, e)
	}
}

// ids lists the items' platform IDs.
func ids(items []channels.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.PlatformID)
	}
	return out
}

func sameIDs(got []channels.Item, want ...string) bool {
	return slices.Equal(ids(got), want)
}

// ts formats a time as Graph does.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }
