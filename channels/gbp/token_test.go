package gbp_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

func TestExpiredTokenIsRefreshedAndSavedOnce(t *testing.T) {
	tests := []struct {
		name          string
		expiry        time.Time
		wantRefreshes int
	}{
		{"valid token is used as it is", t0.Add(30 * time.Minute), 0},
		{"token without a known expiry is used until refused", time.Time{}, 0},
		{"expired token is refreshed", t0.Add(-time.Minute), 1},
		{"token about to expire is refreshed early", t0.Add(30 * time.Second), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			tok := e.creds.tokens[e.acc.Key()]
			tok.Expiry = tt.expiry
			e.creds.tokens[e.acc.Key()] = tok
			for range 2 {
				if _, err := e.ch.Poll(ctx, e.acc, ""); err != nil {
					t.Fatal(err)
				}
			}
			refreshes, _ := e.g.counts()
			saves := e.creds.saved()
			if refreshes != tt.wantRefreshes || len(saves) != tt.wantRefreshes {
				t.Fatalf("%d refreshes and %d saves over two polls, want %d of each", refreshes, len(saves), tt.wantRefreshes)
			}
			if tt.wantRefreshes == 0 {
				return
			}
			got := saves[0]
			if !strings.HasPrefix(got.AccessToken, "ya29.refreshed-access-token") || got.RefreshToken != firstRefresh ||
				!got.Expiry.Equal(t0.Add(3599*time.Second)) || got.TokenType != "Bearer" {
				t.Errorf("saved %#v (expiry %s); want the new access token, the kept refresh token, expiry by the channel's clock", got, got.Expiry)
			}
			// The refresh happened before the first list request.
			log := e.g.log()
			if log[0] != "POST /token refresh_token" {
				t.Errorf("requests %q", log)
			}
			e.noSecrets()
		})
	}
}

func TestVaultThatCannotSave(t *testing.T) {
	tests := []struct {
		name    string
		rotate  bool
		wantErr bool
	}{
		{name: "same refresh token: carry on with the new access token, say so in the log"},
		{name: "new refresh token: stop rather than lose it", rotate: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.creds.tokens[e.acc.Key()]
			tok.Expiry = t0.Add(-time.Minute)
			e.creds.tokens[e.acc.Key()] = tok
			e.creds.saveFail = errors.New("keyring locked")
			e.g.set(func(g *fakeGoogle) { g.rotate = tt.rotate })
			_, err := e.ch.Poll(context.Background(), e.acc, "")
			if tt.wantErr != (err != nil) {
				t.Fatalf("poll = %v, want an error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "keyring locked") {
				t.Errorf("error %v does not say why", err)
			}
			logMu.Lock()
			logs := e.logs.String()
			logMu.Unlock()
			if !tt.wantErr && !strings.Contains(logs, "could not save a refreshed Google token") {
				t.Errorf("log:\n%s", logs)
			}
			e.noSecrets(err)
		})
	}
}

func TestConcurrentCallsRefreshOnce(t *testing.T) {
	e := newEnv(t)
	tok := e.creds.tokens[e.acc.Key()]
	tok.Expiry = t0.Add(-time.Minute)
	e.creds.tokens[e.acc.Key()] = tok
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := e.ch.Poll(context.Background(), e.acc, "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if refreshes, _ := e.g.counts(); refreshes != 1 || len(e.creds.saved()) != 1 {
		t.Errorf("%d refreshes and %d saves for four concurrent polls, want 1 and 1", refreshes, len(e.creds.saved()))
	}
}

func TestRevokedRefreshTokenNeedsReconnecting(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.creds.tokens[e.acc.Key()]
	tok.Expiry = t0.Add(-time.Hour)
	e.creds.tokens[e.acc.Key()] = tok
	e.g.set(func(g *fakeGoogle) { g.refresh = "" }) // the user removed Branchline's access
	req := channels.ReplyRequest{Account: e.acc, InReplyTo: "r1", Text: "Thanks!"}
	_, perr := e.ch.Poll(ctx, e.acc, "")
	_, rerr := e.ch.Reply(ctx, req)
	_, _, ferr := e.ch.FindReply(ctx, req)
	for _, err := range []error{perr, rerr, ferr} {
		if !errors.Is(err, channels.ErrAuth) || !strings.Contains(err.Error(), "invalid_grant: Token has been expired or revoked.") {
			t.Errorf("error %v; want ErrAuth with Google's invalid_grant", err)
		}
	}
	if len(e.creds.saved()) != 0 {
		t.Error("a token was saved")
	}
	if n := len(e.g.log()); n != 3 {
		t.Errorf("%d requests, want 3 refresh attempts and no API call: %q", n, e.g.log())
	}
	e.noSecrets(perr, rerr, ferr)
}

func TestRefusedAccessTokenIsRefreshedOnce(t *testing.T) {
	tests := []struct {
		name        string
		revoke      bool // the refresh token is revoked as well
		always401   bool // Google refuses even the new token
		wantErr     error
		wantAPICall int
	}{
		{name: "revoked access token, refresh works", wantAPICall: 2},
		{name: "refresh token revoked too", revoke: true, wantErr: channels.ErrAuth, wantAPICall: 1},
		{name: "new token refused as well", always401: true, wantErr: channels.ErrAuth, wantAPICall: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.g.set(func(g *fakeGoogle) {
				g.access = "ya29.some-token-this-app-does-not-have"
				if tt.revoke {
					g.refresh = ""
				}
				if tt.always401 {
					// Google accepts none of the tokens the app will send.
					g.script = []scripted{{match: "GET /v4/", status: http.StatusUnauthorized, file: "error-401.json"},
						{match: "GET /v4/", status: http.StatusUnauthorized, file: "error-401.json"}}
					g.access = firstAccess
				}
			})
			e.g.setPages(map[string]page{"": {reviews: []gReview{rv("r1", t0, "FIVE", "x")}}})
			p, err := e.ch.Poll(ctx, e.acc, "")
			if tt.wantErr == nil {
				if err != nil || len(p.Items) != 1 {
					t.Fatalf("poll: %v %v", ids(p.Items), err)
				}
				if len(e.creds.saved()) != 1 {
					t.Error("the new token was not saved")
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("poll = %v, want %v", err, tt.wantErr)
			}
			if n := len(listRequests(e.g.log(), 0)); n != tt.wantAPICall {
				t.Errorf("%d list requests, want %d: %q", n, tt.wantAPICall, e.g.log())
			}
			e.noSecrets(err)
		})
	}
}

func TestAccountWithoutTokenNeedsConnecting(t *testing.T) {
	e := newEnv(t)
	delete(e.creds.tokens, e.acc.Key())
	if _, err := e.ch.Poll(context.Background(), e.acc, ""); !errors.Is(err, channels.ErrAuth) {
		t.Errorf("poll = %v, want ErrAuth", err)
	}
}

func TestRateLimitStormWaitsAsGoogleSays(t *testing.T) {
	retryIn30 := http.Header{"Retry-After": {"30"}}
	tests := []struct {
		name     string
		answer   scripted
		wantWait time.Duration
	}{
		{"Retry-After in seconds", scripted{status: http.StatusTooManyRequests, file: "error-429.json", header: retryIn30}, 30 * time.Second},
		{"Retry-After as a date", scripted{status: http.StatusTooManyRequests, file: "error-429.json",
			header: http.Header{"Retry-After": {t0.Add(2 * time.Minute).Format(http.TimeFormat)}}}, 2 * time.Minute},
		{"no Retry-After", scripted{status: http.StatusTooManyRequests, file: "error-429.json"}, webapi.DefaultRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.g.addReview(rv("r1", t0, "FIVE", "x"))
			const storm = 6
			for range storm {
				s := tt.answer
				s.match = ""
				e.g.queue(s)
			}
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: "r1", Text: "Thank you!", FirstAttempt: t0}
			var errs []error
			for range storm / 3 {
				p, err := e.ch.Poll(ctx, e.acc, "")
				if len(p.Items) != 0 || p.Cursor != "" {
					t.Errorf("a limited poll returned %v, cursor %q", ids(p.Items), p.Cursor)
				}
				_, rerr := e.ch.Reply(ctx, req)
				_, found, ferr := e.ch.FindReply(ctx, req)
				if found {
					t.Error("FindReply found a reply while limited")
				}
				errs = append(errs, err, rerr, ferr)
			}
			for _, err := range errs {
				var rl *channels.RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != tt.wantWait || !strings.Contains(rl.Reason, "RESOURCE_EXHAUSTED") {
					t.Errorf("error %v; want a RateLimitError to wait %s", err, tt.wantWait)
				}
			}
			// One request per call: the channel never retries a limit by
			// itself, the outbox and the poller wait.
			if n := len(e.g.log()); n != storm {
				t.Errorf("%d requests for %d calls", n, storm)
			}
			if _, puts := e.g.counts(); puts["r1"] != 0 {
				t.Error("a reply got through the limit")
			}
			// The storm is over.
			if _, err := e.ch.Reply(ctx, req); err != nil {
				t.Errorf("reply after the storm: %v", err)
			}
			e.noSecrets(errs...)
		})
	}
}

func TestRateLimitMidwayKeepsEverythingForTheNextPoll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.g.setPages(map[string]page{
		"":   {reviews: []gReview{rv("r2", t0, "FIVE", "x")}, next: "p2"},
		"p2": {reviews: []gReview{rv("r1", t0.Add(-time.Hour), "ONE", "y")}},
	})
	e.g.queue(scripted{match: "GET /v4/" + locName + "/reviews?orderBy=updateTime+desc&pageSize=50&pageToken=p2",
		status: http.StatusTooManyRequests, file: "error-429.json", header: http.Header{"Retry-After": {"20"}}})
	p, err := e.ch.Poll(ctx, e.acc, "")
	var rl *channels.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 20*time.Second || len(p.Items) != 0 || p.Cursor != "" {
		t.Fatalf("poll limited on page 2 = %v, %v, cursor %q; want the limit and nothing else", ids(p.Items), err, p.Cursor)
	}
	p, err = e.ch.Poll(ctx, e.acc, "")
	if err != nil || len(p.Items) != 2 {
		t.Errorf("poll after the wait: %v %v; want both reviews", ids(p.Items), err)
	}
}

func TestGoogleRefusalsSayWhy(t *testing.T) {
	noScope := http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="https://www.googleapis.com/auth/business.manage"`}}
	tests := []struct {
		name      string
		answer    scripted
		wantErr   error
		wantTexts []string
	}{
		{"quota 0 until Google approves access", scripted{status: http.StatusTooManyRequests, file: "error-429-quota-zero.json", header: http.Header{"Retry-After": {"30"}}},
			channels.ErrPermanent, []string{"0 requests", "approved", "Quota exceeded for quota metric"}},
		{"caller may not manage the location", scripted{status: http.StatusForbidden, file: "error-403-permission-denied.json"},
			channels.ErrPermanent, []string{"PERMISSION_DENIED: The caller does not have permission", "may not manage this location"}},
		{"API not enabled in the project", scripted{status: http.StatusForbidden, file: "error-403-service-disabled.json"},
			channels.ErrPermanent, []string{"not enabled in this app's Google Cloud project", "has not been used in project"}},
		{"sign-in without the business.manage scope", scripted{status: http.StatusForbidden, file: "error-403-insufficient-scope.json", header: noScope},
			channels.ErrAuth, []string{"lacks the Business Profile permission", "connect the account again", "insufficient authentication scopes"}},
		{"missing scope said only in the error details", scripted{status: http.StatusForbidden, file: "error-403-insufficient-scope.json"},
			channels.ErrAuth, []string{"lacks the Business Profile permission"}},
		{"missing scope said only in WWW-Authenticate", scripted{status: http.StatusForbidden, file: "error-403-permission-denied.json", header: noScope},
			channels.ErrAuth, []string{"lacks the Business Profile permission", "The caller does not have permission"}},
		{"Google fails", scripted{status: http.StatusServiceUnavailable, file: "error-404.json"},
			webapi.ErrTransient, []string{"HTTP 503"}},
	}
	kinds := []error{channels.ErrPermanent, channels.ErrAuth, webapi.ErrTransient, channels.ErrRateLimited}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.g.addReview(rv("r1", t0, "FIVE", "x"))
			// The same answer to the poll and to the reply.
			tt.answer.match = ""
			e.g.queue(tt.answer, tt.answer)
			_, perr := e.ch.Poll(ctx, e.acc, "")
			_, rerr := e.ch.Reply(ctx, channels.ReplyRequest{Account: e.acc, InReplyTo: "r1", Text: "Thank you!", FirstAttempt: t0})
			for _, err := range []error{perr, rerr} {
				for _, k := range kinds {
					if errors.Is(err, k) != (k == tt.wantErr) {
						t.Errorf("error %v: errors.Is(%v) = %v, want it only for %v", err, k, errors.Is(err, k), tt.wantErr)
					}
				}
				for _, w := range tt.wantTexts {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("error %v does not say %q", err, w)
					}
				}
			}
			// No refresh and no second try: a new token carries the same
			// grant, and a refusal stays a refusal.
			if log := e.g.log(); len(log) != 2 || strings.HasPrefix(log[0], "POST") || strings.HasPrefix(log[1], "POST /token") {
				t.Errorf("requests %q, want the list and the reply only", log)
			}
			e.noSecrets(perr, rerr)
		})
	}
}

func TestNetworkFailureIsTransientAndShowsNoSecret(t *testing.T) {
	e := newEnv(t)
	e.g.srv.Close()
	_, err := e.ch.Poll(context.Background(), e.acc, "")
	if !errors.Is(err, webapi.ErrTransient) {
		t.Errorf("poll against a closed server = %v, want a transient error", err)
	}
	e.noSecrets(err)
}

func TestTokenEndpointFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name     string
		answer   scripted
		wantErr  error         // the kind, for errors.Is
		wantWait time.Duration // a *channels.RateLimitError with this wait when not 0
		wantText string
	}{
		{name: "429 with Retry-After in seconds waits as Google says",
			answer:  scripted{status: http.StatusTooManyRequests, file: "token-rate-limited.json", header: http.Header{"Retry-After": {"30"}}},
			wantErr: channels.ErrRateLimited, wantWait: 30 * time.Second, wantText: "token endpoint"},
		{name: "429 with Retry-After as a date",
			answer:  scripted{status: http.StatusTooManyRequests, file: "token-rate-limited.json", header: http.Header{"Retry-After": {t0.Add(3 * time.Minute).Format(http.TimeFormat)}}},
			wantErr: channels.ErrRateLimited, wantWait: 3 * time.Minute, wantText: "token endpoint"},
		{name: "429 without Retry-After waits the default",
			answer:  scripted{status: http.StatusTooManyRequests, file: "token-unavailable.html"},
			wantErr: channels.ErrRateLimited, wantWait: webapi.DefaultRetryAfter, wantText: "token endpoint"},
		{name: "408 is transient",
			answer:  scripted{status: http.StatusRequestTimeout, file: "token-unavailable.html"},
			wantErr: webapi.ErrTransient, wantText: "HTTP 408"},
		{name: "500 is transient",
			answer:  scripted{status: http.StatusInternalServerError, file: "token-unavailable.html"},
			wantErr: webapi.ErrTransient, wantText: "HTTP 500"},
		{name: "503 is transient",
			answer:  scripted{status: http.StatusServiceUnavailable, file: "token-unavailable.html"},
			wantErr: webapi.ErrTransient, wantText: "HTTP 503"},
		{name: "invalid_grant needs reconnecting",
			answer:  scripted{status: http.StatusBadRequest, file: "token-invalid-grant.json"},
			wantErr: channels.ErrAuth, wantText: "invalid_grant"},
		{name: "invalid_client is a refusal no retry fixes",
			answer:  scripted{status: http.StatusUnauthorized, file: "token-invalid-client.json"},
			wantErr: channels.ErrPermanent, wantText: "invalid_client"},
	}
	kinds := []error{channels.ErrRateLimited, webapi.ErrTransient, channels.ErrAuth, channels.ErrPermanent}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.g.addReview(rv("r1", t0, "FIVE", "x"))
			tok := e.creds.tokens[e.acc.Key()]
			tok.Expiry = t0.Add(-time.Minute)
			e.creds.tokens[e.acc.Key()] = tok
			// One answer for the poll, one for the reply: the reply is
			// what the outbox retries or gives up on.
			e.g.queueToken(tt.answer, tt.answer)
			_, perr := e.ch.Poll(ctx, e.acc, "")
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: "r1", Text: "Thank you!", FirstAttempt: t0}
			_, rerr := e.ch.Reply(ctx, req)
			for _, err := range []error{perr, rerr} {
				for _, k := range kinds {
					if errors.Is(err, k) != (k == tt.wantErr) {
						t.Errorf("error %v: errors.Is(%v) = %v, want it only for %v", err, k, errors.Is(err, k), tt.wantErr)
					}
				}
				var rl *channels.RateLimitError
				if isRL := errors.As(err, &rl); isRL != (tt.wantWait != 0) || (isRL && (rl.RetryAfter != tt.wantWait || !strings.Contains(rl.Reason, "token endpoint"))) {
					t.Errorf("error %v; want a RateLimitError from the token endpoint: %v, to wait %s", err, tt.wantWait != 0, tt.wantWait)
				}
				if err != nil && !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("error %q does not say %q", err, tt.wantText)
				}
			}
			// One refresh attempt per call, no API request without a token,
			// nothing saved.
			if log := e.g.log(); len(log) != 2 || log[0] != "POST /token refresh_token" || log[1] != log[0] {
				t.Errorf("requests %q, want two refresh attempts and nothing else", log)
			}
			if len(e.creds.saved()) != 0 {
				t.Error("a token was saved")
			}
			e.noSecrets(perr, rerr)
			if tt.wantErr == channels.ErrAuth || tt.wantErr == channels.ErrPermanent {
				return
			}
			// Once the token endpoint answers again, so does the channel.
			if _, err := e.ch.Reply(ctx, req); err != nil {
				t.Errorf("reply once the token endpoint is back: %v", err)
			}
		})
	}
}
