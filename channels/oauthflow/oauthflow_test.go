package oauthflow_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/channels/oauthflow"
)

// fakeProvider is an OAuth 2.0 authorization server on 127.0.0.1 that
// checks what a native app must send (RFC 6749, RFC 7636, RFC 8252): the
// authorization request with a S256 code challenge and a loopback
// redirect, and the token request whose code_verifier must hash to that
// challenge.
type fakeProvider struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	grants    map[string]grant // code → what it was issued for
	exchanges int              // token requests
	authQuery url.Values       // the last authorization request
	// deny, when set, makes the authorization page come back with this
	// error (and error_description denyDesc) instead of a code.
	deny, denyDesc string
	// refuse makes the token endpoint refuse every code.
	refuse bool
	// tokenStarted and tokenRelease, when set, hold the token response
	// until the test releases it.
	tokenStarted, tokenRelease chan struct{}
}

type grant struct {
	challenge, redirect string
	used                bool
}

const (
	clientID     = "branchline-desktop.apps.example"
	clientSecret = "desktop-client-secret-not-really-secret"
	accessToken  = "ya29.fake-access-token"
)

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	p := &fakeProvider{t: t, grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// seen returns the number of token requests and the last authorization
// request.
func (p *fakeProvider) seen() (int, url.Values) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges, p.authQuery
}

func (p *fakeProvider) config() *oauth2.Config {
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"reviews"},
		Endpoint: oauth2.Endpoint{AuthURL: p.srv.URL + "/authorize", TokenURL: p.srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
}

func (p *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.authQuery = q
	deny, denyDesc := p.deny, p.denyDesc
	p.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != clientID, q.Get("state") == "":
		p.t.Errorf("authorization request: bad response_type, client_id or state: %v", q)
	case err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Port() == "" || redirect.Path != "/callback":
		p.t.Errorf("redirect_uri %q is not a loopback address on 127.0.0.1 with a port", q.Get("redirect_uri"))
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		p.t.Errorf("no S256 code challenge: method %q challenge %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
	default:
		back := url.Values{"state": {q.Get("state")}}
		if deny != "" {
			back.Set("error", deny)
			if denyDesc != "" {
				back.Set("error_description", denyDesc)
			}
		} else {
			p.mu.Lock()
			code := fmt.Sprintf("code-%d", len(p.grants)+1)
			p.grants[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
			p.mu.Unlock()
			back.Set("code", code)
		}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
		return
	}
	http.Error(w, "bad authorization request", http.StatusBadRequest)
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.exchanges++
	started, release := p.tokenStarted, p.tokenRelease
	p.mu.Unlock()
	if started != nil {
		close(started)
		<-release
	}
	if err := r.ParseForm(); err != nil {
		p.t.Errorf("token request: %v", err)
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" || f.Get("client_id") != clientID || f.Get("client_secret") != clientSecret {
		p.t.Errorf("token request: grant_type %q client %q", f.Get("grant_type"), f.Get("client_id"))
	}
	p.mu.Lock()
	g, ok := p.grants[f.Get("code")]
	if ok {
		p.grants[f.Get("code")] = grant{challenge: g.challenge, redirect: g.redirect, used: true}
	}
	refuse := p.refuse
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case !ok || g.used:
		p.t.Errorf("token request for code %q that was not issued or was used already", f.Get("code"))
		tokenError(w, "invalid_grant", "unknown code")
	case f.Get("redirect_uri") != g.redirect:
		p.t.Errorf("token request redirect_uri %q, the code was issued for %q", f.Get("redirect_uri"), g.redirect)
		tokenError(w, "invalid_grant", "redirect_uri mismatch")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		p.t.Errorf("code_verifier %q does not hash to the challenge %q", f.Get("code_verifier"), g.challenge)
		tokenError(w, "invalid_grant", "PKCE verification failed")
	case refuse:
		tokenError(w, "invalid_grant", "Bad Request")
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": accessToken, "refresh_token": "1//fake-refresh",
			"expires_in": 3599, "token_type": "Bearer", "scope": "reviews"})
	}
}

func tokenError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// visit is the browser: it follows the provider's redirect back to the
// loopback address and reads the page shown there.
type visit struct {
	status int
	body   string
	err    error
}

func browse(u string) visit {
	resp, err := http.Get(u)
	if err != nil {
		return visit{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return visit{status: resp.StatusCode, body: string(b), err: err}
}

// browser returns an open function that visits the address in the
// background, like a real browser does, and a channel with what it saw.
func browser() (func(string) error, chan visit) {
	seen := make(chan visit, 1)
	return func(u string) error {
		go func() { seen <- browse(u) }()
		return nil
	}, seen
}

func redirectOf(t *testing.T, authURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// assertClosed checks that nothing listens on the loopback port any more.
func assertClosed(t *testing.T, host string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("the loopback port %s still accepts connections after Run returned", host)
	}
}

func TestSignInOutcomes(t *testing.T) {
	tests := []struct {
		name           string
		deny, denyDesc string
		refuse         bool
		wantErr        error
		wantErrText    string
		wantPage       string
	}{
		{name: "code exchanged with the PKCE verifier", wantPage: "You can close this window and return to Branchline"},
		{name: "user refuses access", deny: "access_denied", wantErr: oauthflow.ErrDenied,
			wantErrText: "access_denied", wantPage: "Access was not granted"},
		{name: "provider reports another error", deny: "invalid_scope", denyDesc: "Some requested scopes were invalid",
			wantErr: oauthflow.ErrProvider, wantErrText: "invalid_scope: Some requested scopes were invalid",
			wantPage: "invalid_scope: Some requested scopes were invalid"},
		{name: "token endpoint refuses the code", refuse: true, wantErrText: "exchange the authorization code",
			wantPage: "could not complete the sign-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakeProvider(t)
			p.deny, p.denyDesc, p.refuse = tt.deny, tt.denyDesc, tt.refuse
			cfg := p.config()
			open, seen := browser()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tok, err := oauthflow.Run(ctx, cfg, open, oauthflow.WithAuthCodeOptions(oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")))
			v := <-seen

			if cfg.RedirectURL != "" {
				t.Errorf("Run changed the caller's config: RedirectURL %q", cfg.RedirectURL)
			}
			_, q := p.seen()
			if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" {
				t.Errorf("the caller's authorization options were not passed: %v", q)
			}
			if v.err != nil || !strings.Contains(v.body, tt.wantPage) {
				t.Errorf("browser saw %d %q (%v), want a page with %q", v.status, v.body, v.err, tt.wantPage)
			}
			if tt.wantErrText == "" {
				if err != nil || tok == nil || tok.AccessToken != accessToken || tok.RefreshToken == "" {
					t.Fatalf("Run = %v, %v; want the provider's token", tok, err)
				}
				if v.status != http.StatusOK {
					t.Errorf("success page status %d", v.status)
				}
			} else {
				if err == nil || tok != nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("Run = %v, %v; want an error naming %q", tok, err, tt.wantErrText)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v is not %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), clientSecret) {
					t.Errorf("the error shows the client secret: %v", err)
				}
			}
			redirect, _ := url.Parse(q.Get("redirect_uri"))
			assertClosed(t, redirect.Host)
		})
	}
}

func TestWrongStateIsRefusedAndTheSignInContinues(t *testing.T) {
	p := newFakeProvider(t)
	forged, seen := make(chan visit, 1), make(chan visit, 1)
	open := func(u string) error {
		go func() {
			// A forged callback arrives first: a page that knows the port
			// but not the state. Only then does the real browser come back.
			forged <- browse(redirectOf(t, u).String() + "?code=attacker-code&state=not-the-state")
			seen <- browse(u)
		}()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := oauthflow.Run(ctx, p.config(), open)
	if err != nil || tok.AccessToken != accessToken {
		t.Fatalf("Run = %v, %v; want the token from the real callback", tok, err)
	}
	f := <-forged
	if f.status != http.StatusBadRequest || !strings.Contains(f.body, "does not belong to the sign-in") {
		t.Errorf("forged callback got %d %q", f.status, f.body)
	}
	if v := <-seen; !strings.Contains(v.body, "You can close this window") {
		t.Errorf("real callback got %q", v.body)
	}
	if n, _ := p.seen(); n != 1 {
		t.Errorf("%d token requests, want 1 (the forged code must never be exchanged)", n)
	}
}

func TestNoCallbackEndsWithTheContext(t *testing.T) {
	tests := []struct {
		name     string
		forge    bool
		openErr  error
		wantText []string
	}{
		{name: "nobody comes back", wantText: []string{"did not come back from the sign-in page in time"}},
		{name: "only a forged callback comes back", forge: true, wantText: []string{"1 callback(s) for another sign-in were refused"}},
		{name: "the browser could not be opened", openErr: errors.New("xdg-open: not found"), wantText: []string{"could not be opened (xdg-open: not found)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakeProvider(t)
			var redirect *url.URL
			opened := make(chan struct{})
			open := func(u string) error {
				defer close(opened)
				redirect = redirectOf(t, u)
				if tt.forge {
					if v := browse(redirect.String() + "?code=x&state=wrong"); v.status != http.StatusBadRequest {
						t.Errorf("forged callback got %d", v.status)
					}
				}
				return tt.openErr
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			tok, err := oauthflow.Run(ctx, p.config(), open)
			<-opened
			if tok != nil || !errors.Is(err, oauthflow.ErrNoCallback) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Run = %v, %v; want ErrNoCallback wrapping the deadline", tok, err)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Run took %s after a 300 ms deadline", d)
			}
			if n, _ := p.seen(); n != 0 {
				t.Errorf("%d token requests, want none", n)
			}
			assertClosed(t, redirect.Host)
		})
	}
}

func TestCancelledSignInSaysSo(t *testing.T) {
	p := newFakeProvider(t)
	ctx, cancel := context.WithCancel(context.Background())
	open := func(string) error { cancel(); return nil }
	_, err := oauthflow.Run(ctx, p.config(), open)
	if !errors.Is(err, oauthflow.ErrNoCallback) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("Run = %v; want a cancellation", err)
	}
}

func TestOpenFailureStillAllowsTheAddressToBeOpenedByHand(t *testing.T) {
	p := newFakeProvider(t)
	seen := make(chan visit, 1)
	open := func(u string) error {
		// No browser here, but the user copies the address shown to them.
		go func() { seen <- browse(u) }()
		return errors.New("no browser found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := oauthflow.Run(ctx, p.config(), open)
	if err != nil || tok.AccessToken != accessToken {
		t.Fatalf("Run = %v, %v", tok, err)
	}
	if v := <-seen; v.status != http.StatusOK {
		t.Errorf("browser saw %d %q", v.status, v.body)
	}
}

func TestRepeatedCallbacksAreHarmless(t *testing.T) {
	p := newFakeProvider(t)
	p.tokenStarted, p.tokenRelease = make(chan struct{}), make(chan struct{})
	var callbackURL string
	captured := make(chan struct{})
	// The browser does not follow the redirect itself, so the test can
	// deliver the callback twice.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	first := make(chan visit, 1)
	open := func(u string) error {
		go func() {
			resp, err := noFollow.Get(u)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			callbackURL = resp.Header.Get("Location")
			close(captured)
			first <- browse(callbackURL)
		}()
		return nil
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := oauthflow.Run(ctx, p.config(), open)
		done <- err
	}()
	<-captured
	<-p.tokenStarted
	// A second delivery while the first is being exchanged (a reload, a
	// double click) is told the sign-in is handled, and starts nothing.
	if v := browse(callbackURL); v.status != http.StatusConflict || !strings.Contains(v.body, "already been handled") {
		t.Errorf("second callback during the exchange got %d %q", v.status, v.body)
	}
	close(p.tokenRelease)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := <-first; v.status != http.StatusOK {
		t.Errorf("first callback got %d %q", v.status, v.body)
	}
	// After Run returned, nothing listens: a third delivery cannot reach
	// anything.
	if v := browse(callbackURL); v.err == nil {
		t.Errorf("callback after the sign-in was answered: %d %q", v.status, v.body)
	}
	if n, _ := p.seen(); n != 1 {
		t.Errorf("%d token requests, want exactly 1", n)
	}
}

func TestOtherPathsAndMethodsAreNotCallbacks(t *testing.T) {
	p := newFakeProvider(t)
	checked := make(chan struct{})
	open := func(u string) error {
		go func() {
			defer close(checked)
			r := redirectOf(t, u)
			base := "http://" + r.Host
			if v := browse(base + "/favicon.ico"); v.status != http.StatusNotFound {
				t.Errorf("/favicon.ico got %d", v.status)
			}
			resp, err := http.Post(base+oauthflow.CallbackPath, "text/plain", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("POST to the callback got %d", resp.StatusCode)
			}
			browse(u) // then the real sign-in
		}()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := oauthflow.Run(ctx, p.config(), open); err != nil {
		t.Fatal(err)
	}
	<-checked
}

// TestConfigMadeForTheLoopbackAddress: a provider that registers a client
// for one redirect address (Mastodon) gets the address before the sign-in
// page is opened, and a failure to register ends the sign-in at once.
func TestConfigMadeForTheLoopbackAddress(t *testing.T) {
	p := newFakeProvider(t)
	open, seen := browser()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var registered string
	tok, err := oauthflow.Run(ctx, nil, open, oauthflow.WithConfigFor(func(_ context.Context, redirect string) (*oauth2.Config, error) {
		registered = redirect
		return p.config(), nil
	}))
	<-seen
	if err != nil || tok == nil || tok.AccessToken != accessToken {
		t.Fatalf("Run = %v, %v", tok, err)
	}
	_, q := p.seen()
	if registered == "" || q.Get("redirect_uri") != registered || !strings.HasPrefix(registered, "http://127.0.0.1:") {
		t.Fatalf("registered for %q, signed in with redirect %q", registered, q.Get("redirect_uri"))
	}
	opened := false
	_, err = oauthflow.Run(ctx, nil, func(string) error { opened = true; return nil }, oauthflow.WithConfigFor(func(context.Context, string) (*oauth2.Config, error) {
		return nil, errors.New("the server refused to register the app")
	}))
	if err == nil || !strings.Contains(err.Error(), "refused to register") || opened {
		t.Fatalf("failed registration: %v (browser opened: %v)", err, opened)
	}
	if _, err := oauthflow.Run(ctx, nil, open); err == nil {
		t.Fatal("Run without a configuration did not fail")
	}
}
