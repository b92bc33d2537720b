package webapi

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
)

func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		status int
		header http.Header
		want   error
		wait   time.Duration
	}{
		{200, nil, nil, 0},
		{204, nil, nil, 0},
		{401, nil, channels.ErrAuth, 0},
		{403, nil, channels.ErrPermanent, 0},
		{404, nil, channels.ErrPermanent, 0},
		{422, nil, channels.ErrPermanent, 0},
		{408, nil, ErrTransient, 0},
		{500, nil, ErrTransient, 0},
		{503, nil, ErrTransient, 0},
		{429, http.Header{"Retry-After": {"120"}}, channels.ErrRateLimited, 2 * time.Minute},
		{429, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, channels.ErrRateLimited, 90 * time.Second},
		{429, http.Header{"X-Ratelimit-Reset": {now.Add(5 * time.Minute).Format(time.RFC3339Nano)}}, channels.ErrRateLimited, 5 * time.Minute},
		{429, http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Add(30 * time.Second).Unix())}}, channels.ErrRateLimited, 30 * time.Second},
		{429, nil, channels.ErrRateLimited, DefaultRetryAfter},
		{429, http.Header{"Retry-After": {"0"}}, channels.ErrRateLimited, time.Second},          // at least a second
		{429, http.Header{"Retry-After": {"9999999"}}, channels.ErrRateLimited, 24 * time.Hour}, // at most a day
		{429, http.Header{"Retry-After": {"soon"}}, channels.ErrRateLimited, DefaultRetryAfter},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.header), func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: tt.header}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			err := Check(resp, []byte(`{"error":"went wrong"}`), now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			var rl *channels.RateLimitError
			if errors.As(err, &rl) && rl.RetryAfter != tt.wait {
				t.Errorf("RetryAfter = %s, want %s", rl.RetryAfter, tt.wait)
			}
			if tt.status != 429 && !strings.Contains(err.Error(), "went wrong") {
				t.Errorf("error %q drops the platform's message", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	base := errors.Join(channels.ErrAuth, errors.New(`Get "https://graph.facebook.com/v21.0/123/feed?access_token=EAAB123secret&limit=25": token SECRET-TOKEN-1 rejected`))
	err := Redact(base, "SECRET-TOKEN-1")
	for _, leak := range []string{"EAAB123secret", "SECRET-TOKEN-1", "limit=25"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("redacted error %q still holds %q", err, leak)
		}
	}
	if !strings.Contains(err.Error(), "https://graph.facebook.com/v21.0/123/feed") {
		t.Errorf("redacted error %q lost the address", err)
	}
	if !errors.Is(err, channels.ErrAuth) {
		t.Errorf("redacted error lost its kind")
	}
	plain := errors.New("nothing secret")
	if Redact(plain, "abc") != plain || Redact(nil) != nil {
		t.Error("Redact changed an error with nothing to hide")
	}
}

func TestJitterAndBackoff(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := Jitter(time.Minute, 0.25, r)
		if d < 45*time.Second || d > 75*time.Second {
			t.Fatalf("Jitter(1m, 25%%) = %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 900 {
		t.Errorf("Jitter gave %d distinct waits in 1,000", len(seen))
	}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 10: time.Minute} {
		d := Backoff(n, time.Second, time.Minute, r)
		if d < want*8/10 || d > want*12/10 {
			t.Errorf("Backoff(%d) = %s, want about %s", n, d, want)
		}
	}
}
