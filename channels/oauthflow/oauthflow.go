// Package oauthflow signs a user in with OAuth 2.0 the way RFC 8252 asks
// of a native app: the authorization code flow with PKCE (S256) and a
// loopback redirect.
//
// Run listens on 127.0.0.1 on a port the system picks, hands the
// provider's sign-in address to the caller to open in the user's browser,
// waits for the browser to come back to http://127.0.0.1:PORT/callback,
// checks the state, exchanges the code together with the PKCE verifier,
// and shows the browser a short page saying it can be closed. The
// listener is closed whatever the outcome.
//
// A callback whose state is not this sign-in's (a tab left over from an
// earlier attempt, or a request forged by some web page) is never
// accepted: the browser is told so and Run keeps waiting for the right
// callback until its context ends, so such a request can neither hijack
// nor cut short the sign-in. A callback with the right state ends the
// sign-in, with a token or with the provider's refusal.
package oauthflow

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/channels/webapi"
)

// CallbackPath is the path of the loopback redirect address.
const CallbackPath = "/callback"

// shutdownGrace bounds how long Run waits for the browser to receive the
// final page before it closes the listener anyway.
const shutdownGrace = 5 * time.Second

// Option configures Run.
type Option func(*settings)

type settings struct {
	authOpts  []oauth2.AuthCodeOption
	client    *http.Client
	log       *slog.Logger
	configFor func(ctx context.Context, redirectURL string) (*oauth2.Config, error)
}

// WithAuthCodeOptions adds parameters to the authorization address, such
// as Google's access_type=offline and prompt=consent (see
// gbp.AuthCodeOptions).
func WithAuthCodeOptions(opts ...oauth2.AuthCodeOption) Option {
	return func(s *settings) { s.authOpts = append(s.authOpts, opts...) }
}

// WithConfigFor makes the client configuration once the loopback address
// is known, for providers where a client is registered for one redirect
// address (Mastodon's apps); Run's cfg may then be nil.
func WithConfigFor(f func(ctx context.Context, redirectURL string) (*oauth2.Config, error)) Option {
	return func(s *settings) { s.configFor = f }
}

// WithHTTPClient sets the client that exchanges the code at the token
// endpoint (http.DefaultClient otherwise).
func WithHTTPClient(c *http.Client) Option { return func(s *settings) { s.client = c } }

// WithLogger sets the logger. Run never logs the authorization address,
// the state, the code or a token.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// Run signs the user in and returns the provider's token.
//
// cfg is not modified: Run works on a copy whose RedirectURL is the
// loopback address. open is called once, on its own goroutine, with the
// provider's sign-in address; it should open the user's browser there and
// also show the address (a CLI prints it, the app offers to copy it), so
// the user can open it by hand when no browser starts. If open returns an
// error Run keeps waiting, since the user may still open the address by
// hand; the error is logged and named if the wait then ends without a
// callback.
//
// Run returns when a callback with the right state arrives, or when ctx
// ends: the caller bounds the wait with a deadline. Errors: ErrDenied when
// the user refused, ErrProvider for any other error the provider reported,
// ErrNoCallback (also wrapping ctx's error) when ctx ended first, and a
// wrapped exchange error when the token endpoint refused the code.
func Run(ctx context.Context, cfg *oauth2.Config, open func(url string) error, opts ...Option) (*oauth2.Token, error) {
	s := settings{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&s)
	}
	if cfg == nil && s.configFor == nil {
		return nil, errors.New("oauth sign-in: no client configuration")
	}
	if open == nil {
		return nil, errors.New("oauth sign-in: nothing to open the browser with")
	}
	state, err := randomState()
	if err != nil {
		return nil, fmt.Errorf("oauth sign-in: make the state: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("oauth sign-in: listen on 127.0.0.1: %w", err)
	}
	redirect := "http://" + ln.Addr().String() + CallbackPath
	if s.configFor != nil {
		if cfg, err = s.configFor(ctx, redirect); err != nil {
			ln.Close()
			return nil, fmt.Errorf("oauth sign-in: %w", err)
		}
	}
	c := *cfg
	c.Scopes = slices.Clone(cfg.Scopes)
	c.RedirectURL = redirect
	verifier := oauth2.GenerateVerifier()
	authURL := c.AuthCodeURL(state, append(slices.Clone(s.authOpts), oauth2.S256ChallengeOption(verifier))...)

	f := &flow{state: state, callbacks: make(chan callback), done: make(chan struct{})}
	srv := &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // returns http.ErrServerClosed once shut down
	}()
	defer func() {
		// Let the browser receive the final page, then close the listener
		// and every connection.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		<-served
	}()
	s.log.Info("waiting for the browser to come back from the sign-in", "redirect", c.RedirectURL)

	opened := make(chan error, 1)
	go func() { opened <- open(authURL) }()
	var openErr error
	for {
		select {
		case err := <-opened:
			opened = nil
			if err != nil {
				openErr = err
				s.log.Warn("could not open the browser; the sign-in address can be opened by hand", "err", err)
			}
		case cb := <-f.callbacks:
			close(f.done)
			tok, out, err := finish(ctx, &c, s.client, verifier, cb)
			cb.reply <- out
			return tok, err
		case <-ctx.Done():
			return nil, f.noCallback(ctx, openErr)
		}
	}
}

// finish turns the callback with the right state into a token or an
// error, and the page the browser shows.
func finish(ctx context.Context, c *oauth2.Config, client *http.Client, verifier string, cb callback) (*oauth2.Token, page, error) {
	if cb.err != "" {
		said := cb.err
		if cb.desc != "" {
			said += ": " + cb.desc
		}
		if cb.uri != "" {
			said += " (" + cb.uri + ")"
		}
		if cb.err == "access_denied" {
			return nil, failed("Access was not granted, so Branchline is not connected."),
				fmt.Errorf("%w: the provider said %s", ErrDenied, said)
		}
		return nil, failed("The sign-in page reported an error: " + said),
			fmt.Errorf("%w: %s", ErrProvider, said)
	}
	if cb.code == "" {
		return nil, failed("The sign-in page came back without an authorization code."),
			fmt.Errorf("%w: the callback has neither a code nor an error", ErrProvider)
	}
	if client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	}
	tok, err := c.Exchange(ctx, cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		err = webapi.Redact(err, cb.code, verifier, c.ClientSecret)
		return nil, failed("Branchline could not complete the sign-in: " + err.Error()),
			fmt.Errorf("oauth sign-in: exchange the authorization code at %s: %w", c.Endpoint.TokenURL, err)
	}
	return tok, page{Title: "Signed in", Message: "You can close this window and return to Branchline.", status: http.StatusOK}, nil
}

// flow serves the loopback address while Run waits.
type flow struct {
	state     string
	callbacks chan callback // unbuffered: only taken while Run waits
	done      chan struct{} // closed once Run took a callback
	refused   atomic.Int64  // callbacks with a wrong state
}

type callback struct {
	code, err, desc, uri string
	reply                chan page
}

func (f *flow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != CallbackPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		f.refused.Add(1)
		write(w, page{Title: "Not this sign-in", status: http.StatusBadRequest,
			Message: "This page does not belong to the sign-in Branchline is waiting for (it may be left over from an earlier attempt). Return to Branchline and use the newest sign-in window."})
		return
	}
	cb := callback{code: q.Get("code"), err: q.Get("error"), desc: q.Get("error_description"), uri: q.Get("error_uri"),
		reply: make(chan page, 1)}
	select {
	case f.callbacks <- cb:
	case <-f.done:
		write(w, page{Title: "Already done", Message: "This sign-in has already been handled. You can close this window and return to Branchline.", status: http.StatusConflict})
		return
	case <-r.Context().Done():
		return
	}
	select {
	case p := <-cb.reply:
		write(w, p)
	case <-r.Context().Done():
	}
}

// noCallback is the error when ctx ends before a callback.
func (f *flow) noCallback(ctx context.Context, openErr error) error {
	why := "the sign-in was cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "the browser did not come back from the sign-in page in time"
	}
	if n := f.refused.Load(); n > 0 {
		why += fmt.Sprintf("; %d callback(s) for another sign-in were refused", n)
	}
	if openErr != nil {
		why += fmt.Sprintf("; the browser could not be opened (%v)", openErr)
	}
	return fmt.Errorf("%w: %s: %w", ErrNoCallback, why, context.Cause(ctx))
}

// randomState is 32 random bytes, base64url-encoded.
func randomState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
