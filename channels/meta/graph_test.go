package meta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// testSession is a session on the fake for one account.
func testSession(t *testing.T, f *fakeGraph, clk *clock, acc channels.Account) (*graph, *session) {
	t.Helper()
	g := newGraph(newCreds(acc), newConfig([]Option{WithClock(clk.now)}))
	s, err := g.session(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	return g, s
}

func TestGraphErrorsBecomeChannelErrorKinds(t *testing.T) {
	buc := func(regainMinutes int) http.Header {
		return http.Header{"X-Business-Use-Case-Usage": {fmt.Sprintf(`{"%s":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":9,"estimated_time_to_regain_access":%d}]}`, pageID, regainMinutes)}}
	}
	errBody := func(code, sub int, msg string) string {
		return fmt.Sprintf(`{"error":{"message":%q,"type":"OAuthException","code":%d,"error_subcode":%d,"fbtrace_id":"x"}}`, msg, code, sub)
	}
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		want     error
		wait     time.Duration // for rate limits
		appWide  bool          // the pause applies to every account
		contains string
	}{
		{"expired token", 400, nil, testdata(t, "error_expired_token.json"), channels.ErrAuth, 0, false, "expired"},
		{"password changed", 400, nil, testdata(t, "error_password_changed.json"), channels.ErrAuth, 0, false, "password"},
		{"invalid token", 400, nil, testdata(t, "error_invalid_token.json"), channels.ErrAuth, 0, false, "invalid"},
		{"190 without subcode", 400, nil, errBody(190, 0, "Invalid OAuth access token."), channels.ErrAuth, 0, false, "expired, been revoked or is invalid"},
		{"session error 102", 400, nil, errBody(102, 0, "Session key invalid"), channels.ErrAuth, 0, false, "Session key invalid"},
		{"app limit (4)", 400, nil, errBody(4, 0, "Application request limit reached"), channels.ErrRateLimited, webapi.DefaultRetryAfter, true, "Graph API error 4"},
		{"user limit (17)", 400, nil, errBody(17, 0, "User request limit reached"), channels.ErrRateLimited, webapi.DefaultRetryAfter, false, "17"},
		{"Page limit (32) with a Business Use Case wait", 400, buc(19), testdata(t, "error_page_rate_limit.json"), channels.ErrRateLimited, 19 * time.Minute, false, "Page request limit"},
		{"custom limit (613)", 400, nil, errBody(613, 0, "Calls to this api have exceeded the rate limit."), channels.ErrRateLimited, webapi.DefaultRetryAfter, false, "613"},
		{"Business Use Case limit (80001)", 400, buc(7), testdata(t, "error_buc_rate_limit.json"), channels.ErrRateLimited, 7 * time.Minute, false, "80001"},
		{"Messenger limit (80006) with Retry-After", 400, http.Header{"Retry-After": {"90"}}, errBody(80006, 0, "too many messages"), channels.ErrRateLimited, 90 * time.Second, false, "80006"},
		{"HTTP 429 without a body", 429, http.Header{"Retry-After": {"30"}}, "", channels.ErrRateLimited, 30 * time.Second, false, "HTTP 429"},
		{"permission (200)", 400, nil, testdata(t, "error_permission.json"), channels.ErrPermanent, 0, false, "Requires pages_messaging permission"},
		{"permission denied (10)", 403, nil, errBody(10, 0, "Permission denied"), channels.ErrPermanent, 0, false, "Permission denied"},
		{"invalid parameter (100)", 400, nil, errBody(100, 33, "Object does not exist"), channels.ErrPermanent, 0, false, "Object does not exist"},
		{"unknown error (1)", 500, nil, errBody(1, 0, "An unknown error occurred"), webapi.ErrTransient, 0, false, "unknown error"},
		{"service error (2)", 503, nil, errBody(2, 0, "Service temporarily unavailable"), webapi.ErrTransient, 0, false, "temporarily"},
		{"5xx without a Graph error", 502, nil, "<html>Bad Gateway</html>", webapi.ErrTransient, 0, false, "502"},
		{"4xx without a Graph error", 404, nil, "not found", channels.ErrPermanent, 0, false, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			clk := &clock{t: t0}
			acc := fbAccount(f)
			g, s := testSession(t, f, clk, acc)
			f.on("GET /thing", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				writeJSON(w, tt.status, tt.body)
			})
			err := s.get(context.Background(), "/thing", nil, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			var rl *channels.RateLimitError
			if errors.As(err, &rl) {
				if rl.RetryAfter != tt.wait {
					t.Errorf("wait %s, want %s", rl.RetryAfter, tt.wait)
				}
				// Further calls are held back, without calling Meta.
				before := f.total()
				if err := s.get(context.Background(), "/thing", nil, nil); !errors.Is(err, channels.ErrRateLimited) || f.total() != before {
					t.Errorf("call during the pause: %v after %d calls", err, f.total()-before)
				}
				other, _ := g.sessionWith(channels.Account{Platform: "facebook", Handle: "other.page", Server: f.base()}, channels.Token{AccessToken: testToken})
				err := other.get(context.Background(), "/thing", nil, nil)
				if held := errors.Is(err, channels.ErrRateLimited) && f.total() == before; held != tt.appWide {
					t.Errorf("another account held back: %v, want %v (%v)", held, tt.appWide, err)
				}
			}
		})
	}
}

func TestUsageHeadersHoldBackCallsBeforeTheLimit(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		value   string
		wait    time.Duration // 0: no pause
		appWide bool
		reason  string
	}{
		{"Business Use Case at 100 % with Meta's wait", "X-Business-Use-Case-Usage",
			`{"104857600":[{"type":"pages","call_count":100,"total_cputime":30,"total_time":20,"estimated_time_to_regain_access":12}]}`, 12 * time.Minute, false, "X-Business-Use-Case-Usage at 100 %"},
		{"Business Use Case at 96 % CPU, no wait given", "X-Business-Use-Case-Usage",
			`{"104857600":[{"type":"pages","call_count":10,"total_cputime":96,"total_time":20,"estimated_time_to_regain_access":0}],"17841400000000001":[{"type":"instagram","call_count":5}]}`, webapi.DefaultRetryAfter, false, "96 %"},
		{"app usage at 100 %", "X-App-Usage", `{"call_count":100,"total_time":25,"total_cputime":25}`, webapi.DefaultRetryAfter, true, "X-App-Usage at 100 %"},
		{"Page usage at 95 %", "X-Page-Usage", `{"call_count":95,"total_time":25,"total_cputime":25}`, webapi.DefaultRetryAfter, false, "X-Page-Usage at 95 %"},
		{"usage at 80 % goes on", "X-Business-Use-Case-Usage", `{"104857600":[{"type":"pages","call_count":80,"total_cputime":80,"total_time":80}]}`, 0, false, ""},
		{"an unreadable header is ignored", "X-App-Usage", `{call_count:100`, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			clk := &clock{t: t0}
			acc := fbAccount(f)
			g, s := testSession(t, f, clk, acc)
			f.on("GET /thing", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				w.Header().Set(tt.header, tt.value)
				writeJSON(w, 200, `{"id":"1"}`)
			})
			ctx := context.Background()
			// The call that reports the usage succeeds.
			if err := s.get(ctx, "/thing", nil, nil); err != nil {
				t.Fatal(err)
			}
			err := s.get(ctx, "/thing", nil, nil)
			if tt.wait == 0 {
				if err != nil || f.total() != 2 {
					t.Fatalf("second call: %v after %d calls, want it sent", err, f.total())
				}
				return
			}
			var rl *channels.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != tt.wait || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("second call: %v, want a rate limit of %s saying %q", err, tt.wait, tt.reason)
			}
			if f.total() != 1 {
				t.Fatalf("Meta called %d times, want the second call held back", f.total())
			}
			other, _ := g.sessionWith(channels.Account{Platform: "facebook", Handle: "other.page", Server: f.base()}, channels.Token{AccessToken: testToken})
			if err := other.get(ctx, "/thing", nil, nil); errors.Is(err, channels.ErrRateLimited) != tt.appWide {
				t.Errorf("another account: %v (app-wide pause: %v)", err, tt.appWide)
			}
			// Half way, still waiting, with the rest of the wait.
			clk.advance(tt.wait / 2)
			if err := s.get(ctx, "/thing", nil, nil); !errors.As(err, &rl) || rl.RetryAfter != tt.wait-tt.wait/2 {
				t.Errorf("half way: %v", err)
			}
			clk.advance(tt.wait - tt.wait/2)
			f.on("GET /thing", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, `{"id":"1"}`) })
			if err := s.get(ctx, "/thing", nil, nil); err != nil {
				t.Errorf("after the wait: %v", err)
			}
		})
	}
}

func TestA429StormIsNotHammered(t *testing.T) {
	fb, f, clk, acc := newTestFacebook(t)
	f.on("GET /"+pageID+"/feed", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("X-Business-Use-Case-Usage", `{"104857600":[{"type":"pages","call_count":100,"total_cputime":100,"total_time":100,"estimated_time_to_regain_access":3}]}`)
		writeJSON(w, 429, testdata(t, "error_buc_rate_limit.json"))
	})
	ctx := context.Background()
	// The poller asks every few seconds during the storm.
	for i := range 60 {
		_, err := fb.Poll(ctx, acc, "")
		var rl *channels.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("poll %d: %v, want a rate limit", i, err)
		}
		if want := 3*time.Minute - time.Duration(i)*2*time.Second; rl.RetryAfter != want {
			t.Fatalf("poll %d: wait %s, want %s", i, rl.RetryAfter, want)
		}
		clk.advance(2 * time.Second)
	}
	if n := f.total(); n != 1 {
		t.Fatalf("Meta was called %d times in a 2-minute storm, want once", n)
	}
	clk.advance(time.Minute)
	if _, err := fb.Poll(ctx, acc, ""); !errors.Is(err, channels.ErrRateLimited) || f.total() != 2 {
		t.Fatalf("after the wait: %v with %d calls, want one new try", err, f.total())
	}
}

func TestSecretsNeverAppearInErrors(t *testing.T) {
	f := newFake(t)
	clk := &clock{t: t0}
	acc := fbAccount(f)
	_, s := testSession(t, f, clk, acc)
	ctx := context.Background()
	f.on("GET /echo", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		graphError(w, 400, 190, 467, "Malformed access token "+testToken)
	})
	err := s.get(ctx, "/echo", nil, nil)
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("Graph error echoing the token: %v", err)
	}
	f.srv.Close() // a network error quotes the URL
	err = s.get(ctx, "/gone", url.Values{"x": {"1"}}, nil)
	if !errors.Is(err, webapi.ErrTransient) || strings.Contains(err.Error(), testToken) {
		t.Errorf("network error: %v", err)
	}
}

func TestPagingLinksAreFollowedOnlyToMeta(t *testing.T) {
	tests := []struct {
		name, next, want string
	}{
		{"another host", "https://evil.example/v21.0/x?after=1", "points to https://evil.example"},
		{"another version path", "/v1.0/x?after=1", "points to"},
		{"unreadable", "http://[::1", "unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			clk := &clock{t: t0}
			_, s := testSession(t, f, clk, fbAccount(f))
			next := tt.next
			if strings.HasPrefix(next, "/") {
				next = f.srv.URL + next
			}
			f.on("GET /x", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeJSON(w, 200, listOf(next, map[string]string{"id": "1"}))
			})
			_, err := list(context.Background(), s, "/x", nil, 5, func([]struct{ ID string }) bool { return false })
			if !errors.Is(err, webapi.ErrTransient) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
			if f.total() != 1 {
				t.Errorf("%d requests, want only the first page", f.total())
			}
		})
	}
}

func TestParseTimeReadsGraphTimes(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-11-20T17:05:00+0000":  time.Date(2026, 11, 20, 17, 5, 0, 0, time.UTC),
		"2026-11-20T19:05:00+0200":  time.Date(2026, 11, 20, 17, 5, 0, 0, time.UTC),
		"2026-11-20T17:05:00Z":      time.Date(2026, 11, 20, 17, 5, 0, 0, time.UTC),
		"2026-11-20T17:05:00.5Z":    time.Date(2026, 11, 20, 17, 5, 0, 5e8, time.UTC),
		"2026-11-20T17:05:00+00:00": time.Date(2026, 11, 20, 17, 5, 0, 0, time.UTC),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %s, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "yesterday", "1732122300"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) accepted", bad)
		}
	}
}

func TestPlainHTTPIsOnlyForThisMachine(t *testing.T) {
	tests := []struct {
		server string
		ok     bool
	}{
		{"https://graph.facebook.com/v21.0", true},
		{"https://graph.example.net:8443/v21.0", true},
		{"http://127.0.0.1:5000/v21.0", true},
		{"http://127.8.0.1/v21.0", true},
		{"http://[::1]:5000/v21.0", true},
		{"http://localhost:5000/v21.0", true},
		{"http://LOCALHOST/v21.0", true},
		{"http://x/v21.0", false},
		{"http://graph.facebook.com/v21.0", false},
		{"http://10.0.0.7:5000/v21.0", false},
		{"http://localhost.example.com/v21.0", false},
		{"http://127.0.0.1.nip.io/v21.0", false},
		{"ftp://127.0.0.1/v21.0", false},
		{"https:///v21.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.server, func(t *testing.T) {
			acc := channels.Account{Platform: "facebook", Handle: "ck", Server: tt.server}
			g := newGraph(newCreds(acc), newConfig(nil))
			s, err := g.sessionWith(acc, channels.Token{AccessToken: testToken})
			if tt.ok {
				if err != nil || s == nil {
					t.Fatalf("sessionWith(%s) = %v", tt.server, err)
				}
				return
			}
			if err == nil || !errors.Is(err, channels.ErrPermanent) {
				t.Fatalf("sessionWith(%s) = %v, want a permanent error", tt.server, err)
			}
			if u, _ := url.Parse(tt.server); u != nil && u.Host != "" && !strings.Contains(err.Error(), u.Host) {
				t.Errorf("error %q does not name the address", err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}

	// The same rule holds for the default address, and for Verify, which
	// `branchline connect` calls with the --server address: nothing is
	// sent.
	// The client's dialer refuses (and reports) any connection, so that
	// nothing leaves the machine even if the rule breaks.
	noDial := &http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		t.Errorf("Verify dialed %s", addr)
		return nil, errors.New("dialing is not allowed in this test")
	}}}
	fb := NewFacebook(newCreds(), WithBaseURL("http://x/v21.0"), WithHTTPClient(noDial))
	if _, err := fb.Verify(context.Background(), channels.Account{Platform: "facebook", Handle: "ck"}, channels.Token{AccessToken: testToken}); !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), "http://x") {
		t.Errorf("Verify with http://x: %v", err)
	}
}
