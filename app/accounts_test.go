//go:build ci

package app

import (
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
)

func TestAccountStatus(t *testing.T) {
	now := testNow
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	conn := func(a models.Account) models.Account {
		a.Connector, a.Platform, a.Handle = "mastodon", "mastodon", "riverside@social.example"
		if a.State == "" {
			a.State = models.AccountConnected
		}
		return a
	}
	tests := []struct {
		name    string
		acc     models.Account
		polling bool
		state   string
		detail  string
		warn    bool
	}{
		{"import only", models.Account{Platform: "yelp", State: models.AccountImportOnly}, false, "import only", "fed by imports", false},
		{"new", conn(models.Account{}), false, "connected", "not polled yet", false},
		{"working", conn(models.Account{LastPolledAt: at(-time.Minute), LastSuccessAt: at(-time.Minute)}), false, "connected", "last success 1m ago", false},
		{"polling", conn(models.Account{LastSuccessAt: at(-time.Minute)}), true, "polling…", "last success", false},
		{"rate limited", conn(models.Account{State: models.AccountRateLimited, RateLimitedUntil: at(10 * time.Minute), LastError: "rate limited (HTTP 429): retry after 10m0s"}),
			false, "rate limited until " + now.Add(10*time.Minute).In(time.Local).Format("15:04"), "HTTP 429", false},
		{"wait over", conn(models.Account{State: models.AccountRateLimited, RateLimitedUntil: at(-time.Minute)}), false, "connected", "", false},
		{"revoked", conn(models.Account{State: models.AccountReconnectNeeds, LastError: "reconnect needed (HTTP 401: The access token was revoked)"}),
			false, "reconnect needed", "revoked", true},
		{"expires soon", conn(models.Account{LastSuccessAt: at(0), TokenExpiresAt: at(50 * time.Hour)}), false, "connected", "last success just now · its sign-in expires in 2d: reconnect before then", true},
		{"expired", conn(models.Account{TokenExpiresAt: at(-time.Hour)}), false, "connected", "has expired", true},
		{"expires later", conn(models.Account{TokenExpiresAt: at(30 * 24 * time.Hour)}), false, "connected", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := statusOf(tt.acc, tt.polling, now)
			detail := strings.Join(s.detail, " · ")
			if s.state != tt.state || s.warn != tt.warn || !strings.Contains(detail, tt.detail) {
				t.Errorf("status = %q (warn %v), detail %q; want %q (warn %v), detail with %q", s.state, s.warn, detail, tt.state, tt.warn, tt.detail)
			}
			if tt.name == "expires later" && strings.Contains(detail, "expire") {
				t.Errorf("a token a month from expiry warns: %q", detail)
			}
		})
	}
}
