package mastodon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPlainText(t *testing.T) {
	tests := []struct{ name, html, want string }{
		{"mention", `<p><span class="h-card"><a href="https://mastodon.social/@trwnh" class="u-url mention">@<span>trwnh</span></a></span> sup!</p>`, "@trwnh sup!"},
		{"paragraphs and breaks", `<p>one<br>two<br />three</p><p>four</p>`, "one\ntwo\nthree\n\nfour"},
		{"entities", `<p>fish &amp; chips &lt;3 &quot;yum&quot; &#39;ok&#39; caf&eacute;</p>`, `fish & chips <3 "yum" 'ok' café`},
		{"link with hidden parts", `<p>see <a href="https://example.com/menu/autumn-2026"><span class="invisible">https://</span><span class="ellipsis">example.com/menu/autu</span><span class="invisible">mn-2026</span></a> ok</p>`, "see https://example.com/menu/autumn-2026 ok"},
		{"hashtag", `<p>love the <a href="https://m.example/tags/fries" class="mention hashtag" rel="tag">#<span>fries</span></a></p>`, "love the #fries"},
		{"source whitespace collapses", "<p>a   b\n c</p>\n<p>d</p>", "a b c\n\nd"},
		{"blank lines kept", `<p>a<br><br>b</p>`, "a\n\nb"},
		{"plain text", `no markup at all`, "no markup at all"},
		{"script dropped", `<p>hi</p><script>alert(1)</script>`, "hi"},
		{"empty", ``, ""},
		{"non-breaking space kept", "<p>10\u00a0pm</p>", "10\u00a0pm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainText(tt.html); got != tt.want {
				t.Errorf("plainText(%q) = %q, want %q", tt.html, got, tt.want)
			}
		})
	}
}

func TestSameReplyText(t *testing.T) {
	tests := []struct {
		status, reply string
		want          bool
	}{
		{"@jess Hi Jess, thanks!", "Hi Jess, thanks!", true},
		{"@jess@m.example Hi\n\nJess", "Hi Jess", true},
		{"@jess @sam Hi", "@sam Hi", true},
		{"@jess Hi Jess", "Hi Jessica", false},
		{"@jess", "", true},
		{"Hi", "Hello", false},
		// A remote mention in the middle shows as "@user".
		{"@jess ask our chef @bob, he knows", "ask our chef @bob@remote.example, he knows", true},
		{"@jess ask @bob@remote.example or @sam.", "ask @bob or @sam@m.example.", true},
		{"@jess ask our chef, he knows", "ask our chef @bob@remote.example, he knows", true}, // the words are the same
		{"@jess ask our chef @bob, he knows", "ask our cook @bob@remote.example, he knows", false},
		// Markdown the server applied.
		{"@jess the best fries in town", "the *best* fries in **town**", true},
		{"@jess We close at 10\nMon\nTue", "We close at 10:\n- Mon\n- Tue", true},
		{"the best fries", "the worst fries", false},
		// An e-mail address is not a mention.
		{"write to help@a.example", "write to help@b.example", false},
		{"write to help@a.example", "write to help@a.example", true},
		// Texts without words.
		{"@jess 👍", "👍", true},
		{"@jess 👍", "🙏", false},
	}
	for _, tt := range tests {
		if got := sameReplyText(tt.status, tt.reply); got != tt.want {
			t.Errorf("sameReplyText(%q, %q) = %v", tt.status, tt.reply, got)
		}
	}
}

func TestFullHandle(t *testing.T) {
	tests := []struct{ acct, base, want string }{
		{"the_mighty_zork", "http://127.0.0.1:8080", "the_mighty_zork@127.0.0.1:8080"},
		{"sam", "https://Mastodon.Social", "sam@mastodon.social"},
		{"sam", "https://m.example/sub", "sam@m.example"},
		{"sam", "http://[::1]:3000", "sam@[::1]:3000"},
		{"sam@brand.example", "https://m.example", "sam@brand.example"},
	}
	for _, tt := range tests {
		if got := fullHandle(tt.acct, tt.base); got != tt.want {
			t.Errorf("fullHandle(%q, %q) = %q, want %q", tt.acct, tt.base, got, tt.want)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"999", "1000", -1},
		{"103186126728896492", "103186126728896491", 1},
		{"01F8MH1H7YV1Z7D2C8K2730QBF", "01F8MH1H7YV1Z7D2C8K2730QBF", 0},
		{"01F8MH1H7YV1Z7D2C8K2730QBF", "01J2M1HPFRNGH1AQ7F2EK36Z6P", -1},
		{"0", "01F8MH1H7YV1Z7D2C8K2730QBF", -1},
		{"0", "1", -1},
	}
	for _, tt := range tests {
		if got := compareIDs(tt.a, tt.b); got != tt.want {
			t.Errorf("compareIDs(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestLinkParam(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"documented", []string{`<https://mastodon.example/api/v1/notifications?max_id=34975535>; rel="next", <https://mastodon.example/api/v1/notifications?min_id=34975861>; rel="prev"`}, "34975861"},
		{"prev first, extra params", []string{`<https://m.example/api/v1/notifications?limit=40&min_id=01J2&types%5B%5D=mention>; rel="prev"; title="newer", <https://m.example/api/v1/notifications?max_id=01H0>; rel="next"`}, "01J2"},
		{"two headers", []string{`<https://m.example/n?max_id=1>; rel="next"`, `<https://m.example/n?min_id=9>; rel=prev`}, "9"},
		{"no rel on prev (as in one documented sample)", []string{`<https://m.example/n?max_id=1>; rel="next", <https://m.example/n?min_id=9>;`}, ""},
		{"no prev", []string{`<https://m.example/n?max_id=1>; rel="next"`}, ""},
		{"garbage", []string{`<<<>>>; rel=prev, >< rel`}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := linkParam(tt.header, "prev", "min_id"); got != tt.want {
				t.Errorf("linkParam = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		server, want string
		ok           bool
	}{
		{"https://mastodon.social", "https://mastodon.social", true},
		{"https://mastodon.social/", "https://mastodon.social", true},
		{" https://m.example/sub/ ", "https://m.example/sub", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"http://[::1]:3000", "http://[::1]:3000", true},
		{"http://mastodon.social", "", false},
		{"mastodon.social", "", false},
		{"", "", false},
		{"https://u:p@m.example", "", false},
		{"https://m.example#x", "", false},
	}
	for _, tt := range tests {
		got, err := baseURL(tt.server)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("baseURL(%q) = %q, %v", tt.server, got, err)
		}
	}
}

func TestReplyVisibility(t *testing.T) {
	tests := []struct {
		answered string
		private  bool
		want     string
	}{
		{"public", false, "public"}, {"unlisted", false, "unlisted"}, {"private", false, "private"},
		{"direct", false, "direct"}, {"public", true, "direct"}, {"", false, "direct"}, {"mutuals_only", false, "direct"},
	}
	for _, tt := range tests {
		if got := replyVisibility(tt.answered, tt.private); got != tt.want {
			t.Errorf("replyVisibility(%q, %v) = %q, want %q", tt.answered, tt.private, got, tt.want)
		}
	}
}

// TestDocumentedShapesDecode decodes the documentation's examples in
// testdata/ with the connector's own wire types.
func TestDocumentedShapesDecode(t *testing.T) {
	read := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var n wireNotification
	read("notification_mention.json", &n)
	if n.ID != "34975861" || n.Type != "mention" || n.Status == nil || n.Status.ID != "103186126728896492" ||
		n.Status.inReplyTo() != "103186038209478945" || n.Status.Account.Acct != "zsc" || n.Status.Visibility != "public" ||
		!n.Status.CreatedAt.Equal(time.Date(2019, 11, 23, 7, 49, 1, 940e6, time.UTC)) || plainText(n.Status.Content) != "@trwnh sup!" {
		t.Errorf("notification %+v status %+v", n, n.Status)
	}
	var s wireStatus
	read("status.json", &s)
	if s.ID == "" || s.Account.ID != "971724" || s.Account.DisplayName != "the zsc" {
		t.Errorf("status %+v", s)
	}
	var c wireContext
	read("context.json", &c)
	if len(c.Ancestors) != 2 || len(c.Descendants) != 1 || oldestRoot(c.Ancestors, "x") != "103188938570975982" {
		t.Errorf("context %+v", c)
	}
	var a wireAccount
	read("verify_credentials.json", &a)
	if a.ID != "14715" || a.Acct != "trwnh" || a.DisplayName != "infinite love ⴳ" {
		t.Errorf("account %+v", a)
	}
	var app wireApp
	read("app.json", &app)
	if app.ClientID == "" || app.ClientSecret == "" {
		t.Errorf("app %+v", app)
	}
}
