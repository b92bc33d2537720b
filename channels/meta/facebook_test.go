package meta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

func fbAccount(f *fakeGraph) channels.Account {
	return channels.Account{Platform: "facebook", Handle: "copperkettle.riverside", Server: f.base(), RemoteID: pageID}
}

func newTestFacebook(t *testing.T, opts ...Option) (*Facebook, *fakeGraph, *clock, channels.Account) {
	t.Helper()
	f := newFake(t)
	clk := &clock{t: t0}
	acc := fbAccount(f)
	fb := NewFacebook(newCreds(acc), append([]Option{WithClock(clk.now)}, opts...)...)
	return fb, f, clk, acc
}

// feedHandler checks a feed request and answers with body.
func feedHandler(t *testing.T, body func() string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantQuery(t, r, map[string]string{"since": "*", "limit": "25"})
		wantFields(t, r, "id", "created_time", "updated_time")
		writeJSON(w, 200, body())
	}
}

// commentsHandler checks a comments request as the connector must send it.
func commentsHandler(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) handler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantQuery(t, r, map[string]string{"filter": "stream", "order": "reverse_chronological"})
		wantFields(t, r, "id", "from", "message", "created_time")
		serve(w, r)
	}
}

func conversationsHandler(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) handler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantQuery(t, r, map[string]string{"platform": "messenger"})
		wantFields(t, r, "updated_time", "messages", "from", "message", "created_time")
		serve(w, r)
	}
}

func emptyConversations(t *testing.T) handler {
	return conversationsHandler(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, listOf("")) })
}

// documentedFacebook serves the documented shapes of testdata.
func documentedFacebook(t *testing.T, f *fakeGraph) {
	f.on("GET /"+pageID+"/feed", feedHandler(t, func() string { return testdata(t, "fb_feed.json") }))
	for _, post := range []string{"900002", "900001"} {
		body := testdata(t, "fb_comments_"+post+".json")
		f.on("GET /"+pageID+"_"+post+"/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, body) }))
	}
	conv := testdata(t, "fb_conversations.json")
	f.on("GET /"+pageID+"/conversations", conversationsHandler(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, conv) }))
}

func TestFacebookPollReadsCommentsAndMessagesOldestFirst(t *testing.T) {
	fb, f, _, acc := newTestFacebook(t)
	documentedFacebook(t, f)
	ctx := context.Background()

	p, err := fb.Poll(ctx, acc, "")
	if err != nil {
		t.Fatal(err)
	}
	// The Page's own comment and message are skipped; the conversation
	// last updated before the lookback window ends the list.
	if !sameIDs(p.Items, "900001_4001", "m_AAA2", "900002_5001", "900002_5002") {
		t.Fatalf("items %v", ids(p.Items))
	}
	want := map[string]channels.Item{
		"900001_4001": {ThreadID: "104857600_900001", AuthorName: "Priya Natarajan", AuthorID: "6234000003", Kind: "comment", Text: "Do you cater for 30 people?"},
		"m_AAA2":      {ThreadID: "t_100000000000001", AuthorName: "Dana Whitfield", AuthorID: "7100000001", Kind: "dm", Text: "Do you have gluten-free buns?"},
		"900002_5002": {ThreadID: "104857600_900002", AuthorName: "Marcus Bell", AuthorID: "6234000002", Kind: "comment", Text: "The fries were cold again :("},
	}
	for _, it := range p.Items {
		w, ok := want[it.PlatformID]
		if !ok {
			continue
		}
		if it.ThreadID != w.ThreadID || it.AuthorName != w.AuthorName || it.AuthorID != w.AuthorID || it.Kind != w.Kind || it.Text != w.Text {
			t.Errorf("item %s = %+v, want %+v", it.PlatformID, it, w)
		}
	}
	if got := p.Items[3].CreatedAt; !got.Equal(time.Date(2026, 11, 20, 17, 10, 0, 0, time.UTC)) {
		t.Errorf("created_time read as %s", got)
	}
	if p.More {
		t.Error("More set on a short page")
	}

	// Nothing new: the next poll hands out nothing, and does not read the
	// comments of a post not updated since.
	p2, err := fb.Poll(ctx, acc, p.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Items) != 0 {
		t.Errorf("second poll returned %v", ids(p2.Items))
	}
	if n := f.count("GET /" + pageID + "_900001/comments"); n != 1 {
		t.Errorf("comments of an unchanged post read %d times, want once", n)
	}
}

func TestFacebookPollFindsThePageWithMeWhenItsIDIsUnknown(t *testing.T) {
	fb, f, _, acc := newTestFacebook(t)
	acc.RemoteID = "" // as the outbox passes it today: platform and handle only
	documentedFacebook(t, f)
	f.on("GET /me", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(t, r, "id")
		writeJSON(w, 200, testdata(t, "fb_me.json"))
	})
	for range 2 {
		p, err := fb.Poll(context.Background(), acc, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 4 {
			t.Fatalf("items %v", ids(p.Items))
		}
	}
	if n := f.count("GET /me"); n != 1 {
		t.Errorf("GET /me called %d times, want once (cached)", n)
	}
}

// onePost serves a feed with one recently updated post P_1 and no
// conversations.
func onePost(t *testing.T, f *fakeGraph) {
	f.on("GET /"+pageID+"/feed", feedHandler(t, func() string {
		return fmt.Sprintf(`{"data":[{"id":"P_1","created_time":%q,"updated_time":%q}]}`, ts(t0.Add(-5*time.Hour)), ts(t0.Add(-time.Minute)))
	}))
	f.on("GET /"+pageID+"/conversations", emptyConversations(t))
}

func comment(id string, at time.Time, from, text string) map[string]any {
	return map[string]any{"id": id, "created_time": ts(at), "message": text, "from": map[string]string{"id": "u-" + from, "name": from}}
}

func TestFacebookPollKeepsEqualTimestampsAcrossTheCursor(t *testing.T) {
	fb, f, _, acc := newTestFacebook(t, WithMaxItems(2))
	onePost(t, f)
	at := t0.Add(-time.Hour)
	var mu sync.Mutex
	comments := []any{comment("c_a", at, "Ann", "one"), comment("c_b", at, "Ben", "two"), comment("c_c", at, "Cat", "three")}
	f.on("GET /P_1/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, 200, listOf("", comments...))
	}))
	ctx := context.Background()

	var got []string
	cur := ""
	for round := 0; ; round++ {
		if round > 5 {
			t.Fatal("polling never ended")
		}
		p, err := fb.Poll(ctx, acc, cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(p.Items)...)
		cur = p.Cursor
		if !p.More {
			break
		}
	}
	if strings.Join(got, ",") != "c_a,c_b,c_c" {
		t.Fatalf("three comments at one second over a page of two: got %v", got)
	}
	// A comment Meta shows later with the same timestamp still comes.
	mu.Lock()
	comments = append([]any{comment("c_d", at, "Dee", "four")}, comments...)
	mu.Unlock()
	p, err := fb.Poll(ctx, acc, cur)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(p.Items, "c_d") {
		t.Fatalf("late comment with an equal timestamp: got %v", ids(p.Items))
	}
	p, err = fb.Poll(ctx, acc, p.Cursor)
	if err != nil || len(p.Items) != 0 {
		t.Fatalf("after everything: %v %v", ids(p.Items), err)
	}
}

func TestFacebookPollPagesThroughRepeatsAndEmptyPages(t *testing.T) {
	fb, f, _, acc := newTestFacebook(t)
	onePost(t, f)
	c1 := comment("c1", t0.Add(-50*time.Minute), "Ann", "first")
	c2 := comment("c2", t0.Add(-40*time.Minute), "Ben", "second")
	c3 := comment("c3", t0.Add(-30*time.Minute), "Cat", "third")
	f.on("GET /P_1/comments", commentsHandler(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after") {
		case "":
			writeJSON(w, 200, listOf(f.nextLink(r, "p2"), c3, c2))
		case "p2": // an empty page that still has a next link
			writeJSON(w, 200, listOf(f.nextLink(r, "p3")))
		case "p3": // repeats c2
			writeJSON(w, 200, listOf("", c2, c1))
		default:
			t.Errorf("unexpected page %q", r.URL.Query().Get("after"))
		}
	}))
	p, err := fb.Poll(context.Background(), acc, "")
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(p.Items, "c1", "c2", "c3") {
		t.Fatalf("items %v, want c1 c2 c3 once each", ids(p.Items))
	}
	if n := f.count("GET /P_1/comments"); n != 3 {
		t.Errorf("%d comment pages read, want 3", n)
	}
}

func TestFacebookPollStopsAtThePageBound(t *testing.T) {
	fb, f, _, acc := newTestFacebook(t)
	onePost(t, f)
	n := 0
	f.on("GET /P_1/comments", commentsHandler(t, func(w http.ResponseWriter, r *http.Request) {
		n++ // a server that never stops sending pages
		writeJSON(w, 200, listOf(f.nextLink(r, fmt.Sprint(n)), comment(fmt.Sprintf("c%03d", n), t0.Add(-time.Duration(n)*time.Second), "Ann", "again")))
	}))
	p, err := fb.Poll(context.Background(), acc, "")
	if err != nil {
		t.Fatal(err)
	}
	if n != maxCommentPages || len(p.Items) != maxCommentPages {
		t.Fatalf("read %d pages and kept %d items, want %d of each", n, len(p.Items), maxCommentPages)
	}
}

func TestFacebookPollMalformedAnswersLoseNothing(t *testing.T) {
	c1 := comment("c1", t0.Add(-time.Hour), "Ann", "old one")
	c2 := comment("c2", t0.Add(-10*time.Minute), "Ben", "new one")
	tests := []struct {
		name, body, want string
	}{
		{"truncated JSON", `{"data":[{"id":"c2","created_time":`, "not the JSON expected"},
		{"not JSON at all", `<html>Service Unavailable</html>`, "not the JSON expected"},
		{"no data list", `{"paging":{}}`, "no data list"},
		{"data of the wrong type", `{"data":{"id":"c2"}}`, "data list is not the JSON expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, f, _, acc := newTestFacebook(t)
			onePost(t, f)
			var mu sync.Mutex
			stage := "before"
			f.on("GET /P_1/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				switch stage {
				case "before":
					writeJSON(w, 200, listOf("", c1))
				case "broken":
					writeJSON(w, 200, tt.body)
				default:
					writeJSON(w, 200, listOf("", c2, c1))
				}
			}))
			set := func(s string) { mu.Lock(); stage = s; mu.Unlock() }
			ctx := context.Background()

			first, err := fb.Poll(ctx, acc, "")
			if err != nil || !sameIDs(first.Items, "c1") {
				t.Fatalf("first poll: %v %v", ids(first.Items), err)
			}
			// c2 is written, but Meta's answer about it is malformed.
			set("broken")
			p, err := fb.Poll(ctx, acc, first.Cursor)
			if err == nil {
				t.Fatalf("malformed answer accepted: %+v", p)
			}
			if !errors.Is(err, webapi.ErrTransient) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want a transient error saying %q", err, tt.want)
			}
			if p.Cursor != "" || len(p.Items) != 0 {
				t.Errorf("a failed poll returned a page: %+v", p)
			}
			// The stored cursor did not move: once Meta answers properly,
			// c2 comes, and c1 does not come again.
			set("after")
			again, err := fb.Poll(ctx, acc, first.Cursor)
			if err != nil || !sameIDs(again.Items, "c2") {
				t.Fatalf("after recovery: %v %v, want c2 only", ids(again.Items), err)
			}
		})
	}
}

func TestFacebookPollRefusesAnUnreadableCursor(t *testing.T) {
	fb, f, _, acc := newTestFacebook(t)
	for _, cur := range []string{"not json", `{"v":99,"s":{}}`} {
		_, err := fb.Poll(context.Background(), acc, cur)
		if !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), "cursor") {
			t.Errorf("cursor %q: %v", cur, err)
		}
	}
	if f.total() != 0 {
		t.Errorf("called Meta %d times with an unreadable cursor", f.total())
	}
}

func TestFacebookTokenProblemsNeedReconnecting(t *testing.T) {
	tests := []struct {
		name, file string
		status     int
		hint       string
	}{
		{"expired (190/463)", "error_expired_token.json", 400, "expired"},
		{"revoked by a password change (190/460)", "error_password_changed.json", 400, "password was changed"},
		{"invalid or deauthorized (190/467)", "error_invalid_token.json", 401, "invalid or was revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, f, _, acc := newTestFacebook(t)
			body := testdata(t, tt.file)
			f.on("GET /"+pageID+"/feed", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, tt.status, body) })
			_, err := fb.Poll(context.Background(), acc, "")
			if !errors.Is(err, channels.ErrAuth) {
				t.Fatalf("error %v, want ErrAuth", err)
			}
			if !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("error %q does not say %q", err, tt.hint)
			}
			var ge *GraphError
			if !errors.As(err, &ge) || ge.Code != 190 {
				t.Errorf("error %v carries no Graph error 190", err)
			}
		})
	}
	t.Run("never connected", func(t *testing.T) {
		f := newFake(t)
		fb := NewFacebook(newCreds())
		_, err := fb.Poll(context.Background(), fbAccount(f), "")
		if !errors.Is(err, channels.ErrAuth) || f.total() != 0 {
			t.Fatalf("error %v after %d calls, want ErrAuth before any call", err, f.total())
		}
	})
}

// replyCase is one Reply scenario: the request, what Meta must receive,
// and what the connector must return.
type replyCase struct {
	name    string
	req     func(r *channels.ReplyRequest)
	route   string // the one POST expected, "" for none
	check   func(t *testing.T, r *http.Request, body []byte)
	answer  string // testdata file answered
	wantID  string
	wantErr error
	wantMsg []string
}

func TestFacebookReply(t *testing.T) {
	written := t0.Add(-3 * time.Hour)
	tests := []replyCase{
		{
			name: "public reply to a comment", route: "POST /900002_5002/comments",
			check: func(t *testing.T, r *http.Request, body []byte) {
				wantForm(t, r, body, map[string]string{"message": "Sorry about the fries, Marcus!"})
			},
			answer: "fb_comment_created.json", wantID: "900002_5099",
		},
		{
			name: "Messenger reply within 24 hours",
			req: func(r *channels.ReplyRequest) {
				r.Kind, r.InReplyTo, r.ThreadID, r.Recipient, r.Text = "dm", "m_AAA2", "t_100000000000001", "7100000001", "Yes, gluten-free buns every day."
			},
			route: "POST /" + pageID + "/messages",
			check: func(t *testing.T, r *http.Request, body []byte) {
				wantJSON(t, r, body, testdata(t, "fb_send_request.json"))
			},
			answer: "fb_send_response.json", wantID: "m_BBB1",
		},
		{
			name: "Messenger reply after 24 hours is refused without calling Meta",
			req: func(r *channels.ReplyRequest) {
				r.Kind, r.InReplyTo, r.Recipient, r.RecipientName = "dm", "m_AAA2", "7100000001", "Dana Whitfield"
				r.WrittenAt = t0.Add(-25 * time.Hour)
			},
			wantErr: channels.ErrPermanent,
			wantMsg: []string{"24-hour window", "Dana Whitfield", "closed at 2026-11-20 17:00 UTC", "must write again"},
		},
		{
			name: "Messenger reply exactly at 24 hours is refused",
			req: func(r *channels.ReplyRequest) {
				r.Kind, r.InReplyTo, r.Recipient = "dm", "m_AAA2", "7100000001"
				r.WrittenAt = t0.Add(-24 * time.Hour)
			},
			wantErr: channels.ErrPermanent, wantMsg: []string{"24-hour window"},
		},
		{
			name: "private reply to a comment within 7 days",
			req: func(r *channels.ReplyRequest) {
				r.Private, r.Text = true, "Sorry about the fries, Marcus: a message is on its way."
				r.WrittenAt = t0.Add(-6 * 24 * time.Hour)
			},
			route: "POST /" + pageID + "/messages",
			check: func(t *testing.T, r *http.Request, body []byte) {
				wantJSON(t, r, body, testdata(t, "fb_private_reply_request.json"))
			},
			answer: "fb_send_response.json", wantID: "m_BBB1",
		},
		{
			name: "private reply after 7 days is refused without calling Meta",
			req: func(r *channels.ReplyRequest) {
				r.Private = true
				r.WrittenAt = t0.Add(-8 * 24 * time.Hour)
			},
			wantErr: channels.ErrPermanent,
			wantMsg: []string{"7-day window", "Marcus Bell", "closed at 2026-11-19 18:00 UTC"},
		},
		{
			name:  "Meta's refusal of a private reply says the rule",
			req:   func(r *channels.ReplyRequest) { r.Private = true },
			route: "POST /" + pageID + "/messages", answer: "error_outside_window.json",
			wantErr: channels.ErrPermanent, wantMsg: []string{"one per comment", "outside of allowed window"},
		},
		{
			name: "Messenger text over 2,000 characters",
			req: func(r *channels.ReplyRequest) {
				r.Kind, r.Recipient, r.Text = "dm", "7100000001", strings.Repeat("é", 2001)
			},
			wantErr: channels.ErrPermanent, wantMsg: []string{"2000 characters"},
		},
		{
			name:  "a missing permission is a refusal with Meta's words",
			route: "POST /900002_5002/comments", answer: "error_permission.json",
			wantErr: channels.ErrPermanent, wantMsg: []string{"Requires pages_messaging permission"},
		},
		{
			name:    "a review cannot be answered here",
			req:     func(r *channels.ReplyRequest) { r.Kind = "review" },
			wantErr: channels.ErrPermanent, wantMsg: []string{`"review"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, f, _, acc := newTestFacebook(t)
			req := channels.ReplyRequest{
				Account: acc, Kind: "comment", InReplyTo: "900002_5002", ThreadID: "104857600_900002",
				Recipient: "6234000002", RecipientName: "Marcus Bell", WrittenAt: written,
				Text: "Sorry about the fries, Marcus!", IdempotencyKey: "k1", FirstAttempt: t0,
			}
			if tt.req != nil {
				tt.req(&req)
			}
			runReply(t, f, tt, func() (string, error) { return fb.Reply(context.Background(), req) })
		})
	}
}

func runReply(t *testing.T, f *fakeGraph, tt replyCase, reply func() (string, error)) {
	t.Helper()
	if tt.route != "" {
		answer := "{}"
		if tt.answer != "" {
			answer = testdata(t, tt.answer)
		}
		f.on(tt.route, func(w http.ResponseWriter, r *http.Request, body []byte) {
			if tt.check != nil {
				tt.check(t, r, body)
			}
			status := 200
			if strings.Contains(answer, `"error"`) {
				status = 400
			}
			writeJSON(w, status, answer)
		})
	}
	id, err := reply()
	if tt.wantErr != nil {
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("error %v, want %v", err, tt.wantErr)
		}
		for _, m := range tt.wantMsg {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("error %q does not say %q", err, m)
			}
		}
	} else if err != nil || id != tt.wantID {
		t.Fatalf("Reply = %q, %v; want %q", id, err, tt.wantID)
	}
	posts := 0
	if tt.route != "" {
		posts = f.count(tt.route)
	}
	if tt.route != "" && posts != 1 {
		t.Errorf("%s called %d times, want once", tt.route, posts)
	}
	if tt.route == "" && f.total() != 0 {
		t.Errorf("Meta was called %d times; a refused reply must not call it", f.total())
	}
}

func TestFacebookFindReply(t *testing.T) {
	first := t0.Add(-10 * time.Minute)
	const text = "Hi Marcus, sorry! Fresh fries on us next time."
	page := map[string]string{"id": pageID, "name": "Copper Kettle Riverside"}
	reply := func(id string, at time.Time, from map[string]string, msg string) map[string]any {
		return map[string]any{"id": id, "created_time": ts(at), "from": from, "message": msg}
	}
	customer := map[string]string{"id": "6234000002", "name": "Marcus Bell"}
	tests := []struct {
		name      string
		kind      string
		private   bool
		serve     func(t *testing.T, f *fakeGraph)
		wantID    string
		wantFound bool
	}{
		{
			name: "our comment with the same text after the first attempt", kind: "comment",
			serve: func(t *testing.T, f *fakeGraph) {
				f.on("GET /c1/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, listOf("",
						reply("r3", first.Add(time.Minute), customer, text),       // same text, not ours
						reply("r2", first.Add(30*time.Second), page, text+"\r\n"), // ours
						reply("r1", first.Add(-time.Hour), page, text)))           // ours, too old
				}))
			},
			wantID: "r2", wantFound: true,
		},
		{
			name: "only an older reply of ours: not found", kind: "comment",
			serve: func(t *testing.T, f *fakeGraph) {
				f.on("GET /c1/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, listOf("", reply("r1", first.Add(-time.Hour), page, text)))
				}))
				f.on("GET /c1", func(w http.ResponseWriter, r *http.Request, _ []byte) {
					wantFields(t, r, "parent")
					writeJSON(w, 200, `{"id":"c1"}`)
				})
			},
		},
		{
			name: "filed under the parent comment", kind: "comment",
			serve: func(t *testing.T, f *fakeGraph) {
				f.on("GET /c1/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, listOf("")) }))
				f.on("GET /c1", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
					writeJSON(w, 200, `{"id":"c1","parent":{"id":"c0"}}`)
				})
				f.on("GET /c0/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, listOf("", reply("r9", first.Add(time.Second), page, text)))
				}))
			},
			wantID: "r9", wantFound: true,
		},
		{
			name: "Messenger reply in the customer's conversation", kind: "dm",
			serve: func(t *testing.T, f *fakeGraph) {
				f.on("GET /"+pageID+"/conversations", conversationsHandler(t, func(w http.ResponseWriter, r *http.Request) {
					wantQuery(t, r, map[string]string{"user_id": "6234000002"})
					writeJSON(w, 200, listOf("", map[string]any{"id": "t_1", "updated_time": ts(first.Add(time.Minute)), "participants": listOf("", customer, page),
						"messages": listOf("", reply("m_ours", first.Add(time.Minute), page, text), reply("m_theirs", first.Add(-time.Hour), customer, "cold fries"))}))
				}))
			},
			wantID: "m_ours", wantFound: true,
		},
		{
			name: "private reply in the commenter's conversation", kind: "comment", private: true,
			serve: func(t *testing.T, f *fakeGraph) {
				f.on("GET /"+pageID+"/conversations", conversationsHandler(t, func(w http.ResponseWriter, r *http.Request) {
					wantQuery(t, r, map[string]string{"user_id": "6234000002"})
					wantFields(t, r, "participants")
					writeJSON(w, 200, listOf("", map[string]any{"id": "t_1", "updated_time": ts(first.Add(time.Minute)), "participants": listOf("", customer, page),
						"messages": listOf("", reply("m_pr", first.Add(time.Minute), page, text), reply("m_old", first.Add(-time.Hour), page, text))}))
				}))
			},
			wantID: "m_pr", wantFound: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, f, _, acc := newTestFacebook(t)
			tt.serve(t, f)
			req := channels.ReplyRequest{Account: acc, Kind: tt.kind, Private: tt.private, InReplyTo: "c1", Recipient: "6234000002",
				WrittenAt: first.Add(-time.Hour), Text: text, FirstAttempt: first}
			id, found, err := fb.FindReply(context.Background(), req)
			if err != nil || id != tt.wantID || found != tt.wantFound {
				t.Fatalf("FindReply = %q, %v, %v; want %q, %v", id, found, err, tt.wantID, tt.wantFound)
			}
		})
	}
}

func TestFacebookVerify(t *testing.T) {
	ctx := context.Background()
	fb, f, _, acc := newTestFacebook(t)
	f.on("GET /"+pageID, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(t, r, "id", "name", "username")
		writeJSON(w, 200, testdata(t, "fb_page.json"))
	})
	id, err := fb.Verify(ctx, acc, channels.Token{AccessToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if id != (channels.Identity{Handle: "copperkettle.riverside", DisplayName: "Copper Kettle Riverside", RemoteID: pageID}) {
		t.Errorf("identity %+v", id)
	}

	other := acc
	other.RemoteID = "999"
	f.on("GET /999", serveFile(t, "fb_page.json"))
	if _, err := fb.Verify(ctx, other, channels.Token{AccessToken: testToken}); !errors.Is(err, channels.ErrAuth) || !strings.Contains(err.Error(), "not Page 999") {
		t.Errorf("token of another Page: %v", err)
	}

	expired := acc
	expired.RemoteID = "555"
	f.on("GET /555", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		writeJSON(w, 400, testdata(t, "error_expired_token.json"))
	})
	if _, err := fb.Verify(ctx, expired, channels.Token{AccessToken: testToken}); !errors.Is(err, channels.ErrAuth) {
		t.Errorf("expired token: %v", err)
	}
	if _, err := fb.Verify(ctx, acc, channels.Token{}); !errors.Is(err, channels.ErrAuth) {
		t.Errorf("empty token: %v", err)
	}
}
