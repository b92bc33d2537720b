package gbp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/gbp"
)

const tashaID = "AbFvOqnX3rK9_t2"

// documentedReview is testdata/review-get.json without its reply.
func documentedReview(t *testing.T) gReview {
	var r gReview
	if err := json.Unmarshal(readTestdata(t, "review-get.json"), &r); err != nil {
		t.Fatal(err)
	}
	r.ReviewReply = nil
	return r
}

func documentedReplyText(t *testing.T) string {
	var r gReply
	if err := json.Unmarshal(readTestdata(t, "update-reply-request.json"), &r); err != nil {
		t.Fatal(err)
	}
	return r.Comment
}

// reviewEnv is an env whose fake holds the documented review, at the
// documented location.
func reviewEnv(t *testing.T) *env {
	e := newEnv(t)
	e.g.addReview(documentedReview(t))
	return e
}

func TestReplyPutsTheDocumentedBodyAndRetriesReplace(t *testing.T) {
	ctx := context.Background()
	e := reviewEnv(t)
	text := documentedReplyText(t)
	req := channels.ReplyRequest{Account: e.acc, InReplyTo: tashaID, ThreadID: tashaID, Kind: "review", Text: text,
		IdempotencyKey: "reply-1", FirstAttempt: t0}
	remote, err := e.ch.Reply(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := locName + "/reviews/" + tashaID + "/reply"; remote != want {
		t.Errorf("remote ID %q, want %q", remote, want)
	}
	if log := e.g.log(); len(log) != 1 || log[0] != "PUT /v4/"+locName+"/reviews/"+tashaID+"/reply" {
		t.Errorf("requests %q", log)
	}
	if got := e.g.review(tashaID).ReviewReply; got == nil || got.Comment != text {
		t.Fatalf("Google holds reply %+v", got)
	}
	// A retry (the answer was lost) replaces the reply with itself.
	if _, err := e.ch.Reply(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, puts := e.g.counts(); puts[tashaID] != 2 {
		t.Errorf("%d PUTs, want 2", puts[tashaID])
	}
	if got := e.g.review(tashaID).ReviewReply; got.Comment != text {
		t.Errorf("after the retry Google holds %q", got.Comment)
	}
	// The review's resource name works as well as its ID.
	req.InReplyTo = locName + "/reviews/" + tashaID
	if _, err := e.ch.Reply(ctx, req); err != nil {
		t.Errorf("reply by resource name: %v", err)
	}
}

func TestRepliesGoogleWouldRefuseAreNotSent(t *testing.T) {
	exactly := strings.Repeat("é", gbp.MaxReplyBytes/2)
	tests := []struct {
		name     string
		edit     func(*channels.ReplyRequest)
		wantText string
	}{
		{"private reply", func(r *channels.ReplyRequest) { r.Private = true }, "only be answered publicly"},
		{"empty reply", func(r *channels.ReplyRequest) { r.Text = " \n" }, "is empty"},
		{"one byte too long", func(r *channels.ReplyRequest) { r.Text = exactly + "!" }, "4097 bytes long; Google accepts at most 4096 bytes"},
		{"no review", func(r *channels.ReplyRequest) { r.InReplyTo = "" }, "is not a Google review"},
		{"another location's review", func(r *channels.ReplyRequest) { r.InReplyTo = "accounts/1/locations/9/reviews/x" }, "is not a Google review"},
		{"no location", func(r *channels.ReplyRequest) { r.Account.RemoteID = "" }, "has no Google location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := reviewEnv(t)
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: tashaID, Text: "Thank you!"}
			tt.edit(&req)
			_, err := e.ch.Reply(context.Background(), req)
			if !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("reply = %v; want a refusal saying %q", err, tt.wantText)
			}
			if n := len(e.g.log()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
	t.Run("exactly 4096 bytes", func(t *testing.T) {
		e := reviewEnv(t)
		if _, err := e.ch.Reply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: tashaID, Text: exactly}); err != nil {
			t.Errorf("a reply of exactly %d bytes: %v", len(exactly), err)
		}
	})
}

func TestReplyToDeletedReviewIsRefused(t *testing.T) {
	e := newEnv(t) // the review is gone
	req := channels.ReplyRequest{Account: e.acc, InReplyTo: tashaID, Text: "Thank you!", FirstAttempt: t0}
	_, err := e.ch.Reply(context.Background(), req)
	if !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), "no longer exists") {
		t.Errorf("reply = %v; want a refusal saying the review is gone", err)
	}
	// Looking for a reply on it finds none, without an error: the outbox
	// then tries the reply, which is refused.
	remote, found, err := e.ch.FindReply(context.Background(), req)
	if err != nil || found || remote != "" {
		t.Errorf("FindReply = %q %v %v; want not found", remote, found, err)
	}
}

func TestFindReply(t *testing.T) {
	text := "Hi Tasha, we are sorry about the wait. Please ask for Sam next time."
	tests := []struct {
		name      string
		reply     *gReply
		first     time.Time
		wantFound bool
	}{
		{"the documented reply, updated after the first attempt", &gReply{Comment: text, UpdateTime: "2026-11-20T18:00:30Z"}, t0, true},
		{"updated a little before, within the clock skew", &gReply{Comment: text, UpdateTime: "2026-11-20T17:57:00Z"}, t0, true},
		{"the text differs inside (a line break for a space)", &gReply{Comment: strings.ReplaceAll(text, ". ", ".\n"), UpdateTime: "2026-11-20T18:01:00Z"},
			t0, false},
		{"an older reply with the same text", &gReply{Comment: text, UpdateTime: "2026-11-20T17:00:00Z"}, t0, false},
		{"another reply", &gReply{Comment: "Thanks for visiting!", UpdateTime: "2026-11-20T18:01:00Z"}, t0, false},
		{"no reply", nil, t0, false},
		{"reply without a time", &gReply{Comment: text}, t0, false},
		{"no first attempt recorded", &gReply{Comment: text, UpdateTime: "2020-01-01T00:00:00Z"}, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := documentedReview(t)
			r.ReviewReply = tt.reply
			e.g.addReview(r)
			req := channels.ReplyRequest{Account: e.acc, InReplyTo: tashaID, Text: text, FirstAttempt: tt.first}
			remote, found, err := e.ch.FindReply(context.Background(), req)
			if err != nil || found != tt.wantFound {
				t.Fatalf("FindReply = %q %v %v, want found %v", remote, found, err, tt.wantFound)
			}
			if found && remote != locName+"/reviews/"+tashaID+"/reply" {
				t.Errorf("remote ID %q", remote)
			}
			if log := e.g.log(); len(log) != 1 || log[0] != "GET /v4/"+locName+"/reviews/"+tashaID {
				t.Errorf("requests %q", log)
			}
		})
	}
}

func TestFindReplyMatchesNormalisedLineEnds(t *testing.T) {
	e := newEnv(t)
	r := documentedReview(t)
	r.ReviewReply = &gReply{Comment: "Thanks!\nSee you soon.\n", UpdateTime: "2026-11-20T18:00:30Z"}
	e.g.addReview(r)
	_, found, err := e.ch.FindReply(context.Background(), channels.ReplyRequest{Account: e.acc, InReplyTo: tashaID,
		Text: "Thanks!\r\nSee you soon.", FirstAttempt: t0})
	if err != nil || !found {
		t.Errorf("FindReply = %v %v; the same reply with other line ends should be found", found, err)
	}
}

func TestVerify(t *testing.T) {
	fresh := channels.Token{AccessToken: firstAccess, RefreshToken: firstRefresh, TokenType: "Bearer", Expiry: t0.Add(time.Hour)}
	tests := []struct {
		name          string
		tok           channels.Token
		answer        *scripted
		handle        string
		want          channels.Identity
		wantErr       error
		wantText      string
		wantRefreshes int
	}{
		{name: "the location's title", tok: fresh, handle: "copper-kettle-riverside",
			want: channels.Identity{Handle: "copper-kettle-riverside", DisplayName: "Copper Kettle Riverside", RemoteID: locName}},
		{name: "no handle given", tok: fresh,
			want: channels.Identity{Handle: locName, DisplayName: "Copper Kettle Riverside", RemoteID: locName}},
		{name: "access token without refresh token expires", tok: channels.Token{AccessToken: firstAccess, Expiry: t0.Add(time.Hour)}, handle: "h",
			want: channels.Identity{Handle: "h", DisplayName: "Copper Kettle Riverside", RemoteID: locName, Expiry: t0.Add(time.Hour)}},
		{name: "expired token is refreshed for the check", tok: channels.Token{AccessToken: "old", RefreshToken: firstRefresh, Expiry: t0.Add(-time.Hour)}, handle: "h",
			want: channels.Identity{Handle: "h", DisplayName: "Copper Kettle Riverside", RemoteID: locName}, wantRefreshes: 1},
		{name: "token Google refuses", tok: channels.Token{AccessToken: "ya29.wrong", Expiry: t0.Add(time.Hour)}, wantErr: channels.ErrAuth},
		{name: "access not approved yet", tok: fresh, answer: &scripted{match: "GET /v4/", status: http.StatusTooManyRequests, file: "error-429-quota-zero.json"},
			wantErr: channels.ErrPermanent, wantText: "approved"},
		{name: "sign-in without the business.manage scope", tok: fresh, answer: &scripted{match: "GET /v1/", status: http.StatusForbidden, file: "error-403-insufficient-scope.json"},
			wantErr: channels.ErrAuth, wantText: "lacks the Business Profile permission"},
		{name: "location not found", tok: fresh, answer: &scripted{match: "GET /v1/", status: http.StatusNotFound, file: "error-404.json"},
			wantErr: channels.ErrPermanent, wantText: "no such location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.answer != nil {
				e.g.queue(*tt.answer)
			}
			acc := e.acc
			acc.Handle = tt.handle
			id, err := e.ch.Verify(context.Background(), acc, tt.tok)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("Verify = %v; want %v saying %q", err, tt.wantErr, tt.wantText)
				}
				e.noSecrets(err)
				return
			}
			if err != nil || id != tt.want {
				t.Fatalf("Verify = %+v, %v; want %+v", id, err, tt.want)
			}
			log := e.g.log()
			if log[len(log)-2] != "GET /v1/locations/2207?readMask=name%2Ctitle" ||
				log[len(log)-1] != "GET /v4/"+locName+"/reviews?orderBy=updateTime+desc&pageSize=1" {
				t.Errorf("requests %q", log)
			}
			if refreshes, _ := e.g.counts(); refreshes != tt.wantRefreshes || len(e.creds.saved()) != 0 {
				t.Errorf("%d refreshes and %d saves; Verify refreshes only an expired token and saves nothing", refreshes, len(e.creds.saved()))
			}
		})
	}
}

func TestOAuthConfigForGoogle(t *testing.T) {
	cfg := gbp.OAuthConfig("id.apps.googleusercontent.com", "secret")
	if cfg.Endpoint.AuthURL != "https://accounts.google.com/o/oauth2/auth" || cfg.Endpoint.TokenURL != "https://oauth2.googleapis.com/token" ||
		cfg.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("endpoint %+v", cfg.Endpoint)
	}
	if len(cfg.Scopes) != 1 || cfg.Scopes[0] != "https://www.googleapis.com/auth/business.manage" {
		t.Errorf("scopes %v", cfg.Scopes)
	}
	u, err := url.Parse(cfg.AuthCodeURL("state", gbp.AuthCodeOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("scope") != gbp.Scope {
		t.Errorf("authorization address %s", u)
	}
}
