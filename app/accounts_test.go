//go:build ci

package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
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

// fakeMastodon answers verify_credentials for one token and lists no
// notifications: enough to connect and poll an account.
func fakeMastodon(t *testing.T, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"The access token is invalid"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/accounts/verify_credentials":
			io.WriteString(w, `{"id":"109","username":"riverside","acct":"riverside","display_name":"Copper Kettle Riverside","url":"http://127.0.0.1/@riverside"}`)
		case "/api/v1/notifications":
			io.WriteString(w, `[]`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestConnectAnAccountFromSettings(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Open(context.Background(), dir, node.Options{Now: func() time.Time { return testNow }, CredentialsFile: true,
		Passphrase: func(context.Context, bool) (string, error) { return "correct horse battery", nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv := fakeMastodon(t, "good-token")
	u, w := newTestUI(t, n)

	// Crew see the accounts but cannot connect one.
	signIn(t, u, "sam", "")
	selectTab(u.tabs, "Settings")
	if b := buttonIn(u.settings.accounts.box, "Connect an account…"); b != nil {
		t.Fatal("crew are offered to connect an account")
	}
	signIn(t, u, "maria", "")
	u.settings.reload()
	b := buttonIn(u.settings.accounts.box, "Connect an account…")
	if b == nil {
		t.Fatal("no Connect an account button for a manager")
	}
	test.Tap(b)
	f := u.settings.accounts.connect
	if f == nil {
		t.Fatal("the connect dialog did not open")
	}
	f.kind.SetSelected("Mastodon")
	if !f.server.Visible() || f.remoteID.Visible() || !f.signIn.Visible() {
		t.Fatalf("Mastodon asks for server %v, ID %v, offers sign-in %v", f.server.Visible(), f.remoteID.Visible(), f.signIn.Visible())
	}
	f.kind.SetSelected("Facebook Page")
	if f.server.Visible() || !f.remoteID.Visible() || f.signIn.Visible() {
		t.Fatalf("Facebook asks for server %v, ID %v, offers sign-in %v", f.server.Visible(), f.remoteID.Visible(), f.signIn.Visible())
	}
	f.kind.SetSelected("Mastodon")

	// A wrong token: an error, nothing connected.
	test.Type(f.server, srv.URL)
	test.Type(f.token, "wrong-token")
	before, _ := n.Store.Accounts(context.Background())
	u.settings.accounts.connectWith(f, "")
	if accs, _ := n.Store.Accounts(context.Background()); len(accs) != len(before) {
		t.Fatalf("a wrong token connected an account: %d accounts, were %d", len(accs), len(before))
	}
	var connected models.Account
	f.done = func(a models.Account) { connected = a }
	f.token.SetText("good-token")
	u.settings.accounts.connectWith(f, "")
	host := strings.TrimPrefix(srv.URL, "http://")
	if connected.Handle != "riverside@"+host || connected.Server != srv.URL || connected.State != models.AccountConnected {
		t.Fatalf("connected %+v", connected)
	}
	row := u.settings.accounts.rows[connected.ID]
	if row == nil || !strings.Contains(row.Text, "Mastodon riverside@"+host) || !strings.Contains(row.Text, "connected") {
		t.Fatalf("the accounts list shows %v", row)
	}
	if !strings.Contains(u.banner.Text, "riverside@"+host+" is connected") {
		t.Errorf("banner: %q", u.banner.Text)
	}
	// It polls with the token from the vault, and the list says so.
	if rep, err := n.Desk.Poll(context.Background(), n.Channels); err != nil || rep.Accounts != len(before)+1 {
		t.Fatalf("poll = %+v, %v", rep, err)
	}
	u.settings.reload()
	if b := buttonIn(u.settings.accounts.box, "Disconnect"); b == nil {
		t.Fatal("no Disconnect button")
	}
	if !labelIn(u.settings.accounts.box, "no keyring service: sign-ins are kept in the encrypted file") {
		t.Error("Settings does not say where the sign-ins are kept")
	}
	got, err := n.Store.Account(context.Background(), connected.ID)
	if err != nil || got.LastSuccessAt == nil {
		t.Fatalf("after a poll: %+v, %v", got, err)
	}
	w.Canvas().Refresh(w.Content())
}

func TestAnAccountThatNeedsReconnectingIsAnnounced(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	ctx := context.Background()
	accs, err := n.Store.Accounts(ctx)
	if err != nil || len(accs) == 0 {
		t.Fatal(accs, err)
	}
	a := accs[0]
	if err := n.Store.MarkAccount(ctx, a.ID, models.AccountReconnectNeeds, "reconnect needed (HTTP 401: token revoked)", time.Time{}); err != nil {
		t.Fatal(err)
	}
	u.watchAccounts()
	if !strings.Contains(u.banner.Text, a.Handle+" needs reconnecting") || !strings.Contains(u.banner.Text, "token revoked") {
		t.Fatalf("banner = %q", u.banner.Text)
	}
	u.notice("")
	u.watchAccounts()
	if u.banner.Text != "" {
		t.Errorf("announced twice: %q", u.banner.Text)
	}
	selectTab(u.tabs, "Settings")
	if row := u.settings.accounts.rows[a.ID]; row == nil || !strings.Contains(row.Text, "reconnect needed") || row.Importance != widget.DangerImportance {
		t.Fatalf("settings row = %+v", row)
	}
}

// labelIn reports whether a label under o contains text.
func labelIn(o fyne.CanvasObject, text string) bool {
	switch v := o.(type) {
	case *widget.Label:
		return strings.Contains(v.Text, text)
	case *fyne.Container:
		for _, c := range v.Objects {
			if labelIn(c, text) {
				return true
			}
		}
	}
	return false
}
