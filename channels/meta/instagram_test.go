package meta

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
)

func igAccount(f *fakeGraph) channels.Account {
	return channels.Account{Platform: "instagram", Handle: "copperkettle_riverside", Server: f.base(), RemoteID: igUserID}
}

func newTestInstagram(t *testing.T, opts ...Option) (*Instagram, *fakeGraph, *clock, channels.Account) {
	t.Helper()
	f := newFake(t)
	clk := &clock{t: t0}
	acc := igAccount(f)
	return NewInstagram(newCreds(acc), append([]Option{WithClock(clk.now)}, opts...)...), f, clk, acc
}

func documentedInstagram(t *testing.T, f *fakeGraph) {
	f.on("GET /"+igUserID+"/media", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantQuery(t, r, map[string]string{"since": "*"})
		wantFields(t, r, "id", "timestamp", "comments_count")
		writeJSON(w, 200, testdata(t, "ig_media.json"))
	})
	f.on("GET /18000000000000002/comments", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(t, r, "id", "text", "username", "from", "timestamp", "replies{")
		writeJSON(w, 200, testdata(t, "ig_comments.json"))
	})
	f.on("GET /"+igUserID+"/tags", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(t, r, "id", "caption", "username", "timestamp")
		writeJSON(w, 200, testdata(t, "ig_tags.json"))
	})
}

func TestInstagramPollReadsCommentsRepliesAndTags(t *testing.T) {
	ig, f, _, acc := newTestInstagram(t)
	documentedInstagram(t, f)
	ctx := context.Background()
	p, err := ig.Poll(ctx, acc, "")
	if err != nil {
		t.Fatal(err)
	}
	// The account's own reply is skipped; media without comments are not
	// read.
	if !sameIDs(p.Items, "18000000000000900", "17900000000000011", "17900000000000013", "17900000000000021") {
		t.Fatalf("items %v", ids(p.Items))
	}
	tag, reply := p.Items[0], p.Items[2]
	if tag.Kind != "mention" || tag.AuthorName != "sam.and.alex" || tag.ThreadID != "18000000000000900" || !strings.Contains(tag.Text, "Date night") {
		t.Errorf("tag item %+v", tag)
	}
	if reply.Kind != "comment" || reply.ThreadID != "18000000000000002" || reply.AuthorName != "hungry.hannah" || reply.AuthorID != "17840000000000111" {
		t.Errorf("reply item %+v", reply)
	}
	if f.count("GET /18000000000000001/comments") != 0 {
		t.Error("read the comments of media with none")
	}
	p2, err := ig.Poll(ctx, acc, p.Cursor)
	if err != nil || len(p2.Items) != 0 {
		t.Fatalf("second poll: %v %v", ids(p2.Items), err)
	}
}

func TestInstagramPollFollowsNestedReplyPages(t *testing.T) {
	ig, f, _, acc := newTestInstagram(t)
	f.on("GET /"+igUserID+"/media", serveFile(t, "ig_media.json"))
	f.on("GET /"+igUserID+"/tags", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, listOf("")) })
	at := ts(t0.Add(-time.Hour))
	f.on("GET /18000000000000002/comments", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, listOf("", map[string]any{
			"id": "c1", "text": "top", "username": "ann", "timestamp": at,
			"replies": listOf(f.srv.URL+version+"/c1/replies?after=r", map[string]any{"id": "r1", "text": "one", "username": "ben", "timestamp": at}),
		}))
	})
	f.on("GET /c1/replies", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(t, r, "id", "text", "username", "timestamp")
		writeJSON(w, 200, listOf("", map[string]any{"id": "r1", "text": "one", "username": "ben", "timestamp": at},
			map[string]any{"id": "r2", "text": "two", "username": "cat", "timestamp": at}))
	})
	p, err := ig.Poll(context.Background(), acc, "")
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(p.Items, "c1", "r1", "r2") {
		t.Fatalf("items %v", ids(p.Items))
	}
}

func TestInstagramNeedsItsAccountID(t *testing.T) {
	ig, f, _, acc := newTestInstagram(t)
	acc.RemoteID = ""
	ctx := context.Background()
	if _, err := ig.Poll(ctx, acc, ""); !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), "Instagram professional account ID") {
		t.Errorf("poll: %v", err)
	}
	req := channels.ReplyRequest{Account: acc, Kind: "comment", Private: true, InReplyTo: "c1", Text: "hi", WrittenAt: t0}
	if _, err := ig.Reply(ctx, req); !errors.Is(err, channels.ErrPermanent) {
		t.Errorf("private reply: %v", err)
	}
	if f.total() != 0 {
		t.Errorf("%d calls", f.total())
	}
}

func TestInstagramReply(t *testing.T) {
	top := func(t *testing.T, f *fakeGraph, id, file string) {
		f.on("GET /"+id, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			wantFields(t, r, "parent_id", "hidden")
			writeJSON(w, 200, testdata(t, file))
		})
	}
	tests := []struct {
		replyCase
		setup func(t *testing.T, f *fakeGraph)
	}{
		{replyCase: replyCase{
			name: "public reply to a top-level comment", route: "POST /17900000000000011/replies",
			check: func(t *testing.T, r *http.Request, body []byte) {
				wantForm(t, r, body, map[string]string{"message": "See you tonight!"})
			},
			answer: "ig_reply_created.json", wantID: "17900000000000099",
		}, setup: func(t *testing.T, f *fakeGraph) { top(t, f, "17900000000000011", "ig_comment_top.json") }},
		{replyCase: replyCase{
			name:  "a reply to a reply goes on its top-level comment",
			req:   func(r *channels.ReplyRequest) { r.InReplyTo = "17900000000000013" },
			route: "POST /17900000000000011/replies", answer: "ig_reply_created.json", wantID: "17900000000000099",
		}, setup: func(t *testing.T, f *fakeGraph) { top(t, f, "17900000000000013", "ig_comment_reply.json") }},
		{replyCase: replyCase{
			name:    "a hidden comment is refused before posting",
			wantErr: channels.ErrPermanent, wantMsg: []string{"hidden"},
		}, setup: func(t *testing.T, f *fakeGraph) {
			f.on("GET /17900000000000011", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeJSON(w, 200, `{"id":"17900000000000011","hidden":true}`)
			})
		}},
		{replyCase: replyCase{
			name: "private reply within 7 days",
			req: func(r *channels.ReplyRequest) {
				r.Private = true
				r.WrittenAt = t0.Add(-6*24*time.Hour - 23*time.Hour)
			},
			route: "POST /" + igUserID + "/messages",
			check: func(t *testing.T, r *http.Request, body []byte) {
				wantJSON(t, r, body, `{"recipient":{"comment_id":"17900000000000011"},"message":{"text":"See you tonight!"}}`)
			},
			answer: "ig_private_reply_response.json", wantID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAx",
		}},
		{replyCase: replyCase{
			name: "private reply after 7 days is refused without calling Instagram",
			req: func(r *channels.ReplyRequest) {
				r.Private = true
				r.WrittenAt = t0.Add(-7*24*time.Hour - time.Minute)
			},
			wantErr: channels.ErrPermanent, wantMsg: []string{"7-day window", "hungry.hannah", "closed at 2026-11-20 17:59 UTC"},
		}},
		{replyCase: replyCase{
			name:    "a tag cannot be answered by a comment",
			req:     func(r *channels.ReplyRequest) { r.Kind, r.InReplyTo = "mention", "18000000000000900" },
			wantErr: channels.ErrPermanent, wantMsg: []string{"tagged in"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ig, f, _, acc := newTestInstagram(t)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			req := channels.ReplyRequest{Account: acc, Kind: "comment", InReplyTo: "17900000000000011", ThreadID: "18000000000000002",
				Recipient: "17840000000000111", RecipientName: "hungry.hannah", WrittenAt: t0.Add(-3 * time.Hour),
				Text: "See you tonight!", FirstAttempt: t0}
			if tt.req != nil {
				tt.req(&req)
			}
			calls := f.total
			if tt.setup != nil {
				// The comment lookup is allowed; count only posts.
				calls = func() int { return f.count("POST /17900000000000011/replies") + f.count("POST /"+igUserID+"/messages") }
			}
			rc := tt.replyCase
			if tt.route == "" {
				id, err := ig.Reply(context.Background(), req)
				if !errors.Is(err, rc.wantErr) {
					t.Fatalf("Reply = %q, %v; want %v", id, err, rc.wantErr)
				}
				for _, m := range rc.wantMsg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not say %q", err, m)
					}
				}
				if calls() != 0 {
					t.Errorf("posted %d times", calls())
				}
				return
			}
			runReply(t, f, rc, func() (string, error) { return ig.Reply(context.Background(), req) })
		})
	}
}

func TestInstagramFindReply(t *testing.T) {
	first := t0.Add(-10 * time.Minute)
	const text = "See you tonight!"
	r := func(id string, at time.Time, user, fromID, msg string) map[string]any {
		return map[string]any{"id": id, "timestamp": ts(at), "username": user, "from": map[string]string{"id": fromID, "username": user}, "text": msg}
	}
	tests := []struct {
		name      string
		private   bool
		inReplyTo string
		serve     func(t *testing.T, f *fakeGraph)
		wantID    string
	}{
		{"our reply under the comment", false, "17900000000000011", func(t *testing.T, f *fakeGraph) {
			f.on("GET /17900000000000011", serveFile(t, "ig_comment_top.json"))
			f.on("GET /17900000000000011/replies", func(w http.ResponseWriter, req *http.Request, _ []byte) {
				wantFields(t, req, "id", "text", "username", "timestamp")
				writeJSON(w, 200, listOf("",
					r("x1", first.Add(time.Minute), "hungry.hannah", "17840000000000111", text),
					r("x2", first.Add(-time.Hour), "copperkettle_riverside", igUserID, text),
					r("x3", first.Add(2*time.Minute), "copperkettle_riverside", igUserID, text)))
			})
		}, "x3"},
		{"our reply to a reply, filed under the top-level comment", false, "17900000000000013", func(t *testing.T, f *fakeGraph) {
			f.on("GET /17900000000000013", serveFile(t, "ig_comment_reply.json"))
			f.on("GET /17900000000000011/replies", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeJSON(w, 200, listOf("", r("x4", first, "copperkettle_riverside", igUserID, text)))
			})
		}, "x4"},
		{"not there", false, "17900000000000011", func(t *testing.T, f *fakeGraph) {
			f.on("GET /17900000000000011", serveFile(t, "ig_comment_top.json"))
			f.on("GET /17900000000000011/replies", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, listOf("")) })
		}, ""},
		{"private reply in a recent conversation", true, "17900000000000011", func(t *testing.T, f *fakeGraph) {
			f.on("GET /"+igUserID+"/conversations", func(w http.ResponseWriter, req *http.Request, _ []byte) {
				wantQuery(t, req, map[string]string{"platform": "instagram", "user_id": "17840000000000111"})
				wantFields(t, req, "participants", "messages")
				writeJSON(w, 200, listOf("", map[string]any{"id": "aWdfZ", "updated_time": ts(first.Add(time.Minute)),
					"participants": listOf("", map[string]string{"id": "17840000000000111", "username": "hungry.hannah"}, map[string]string{"id": igUserID, "username": "copperkettle_riverside"}),
					"messages": listOf("", map[string]any{"id": "aWdfm1", "created_time": ts(first.Add(time.Minute)),
						"from": map[string]string{"id": igUserID, "username": "copperkettle_riverside"}, "message": text})}))
			})
		}, "aWdfm1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ig, f, _, acc := newTestInstagram(t)
			tt.serve(t, f)
			req := channels.ReplyRequest{Account: acc, Kind: "comment", Private: tt.private, InReplyTo: tt.inReplyTo, Text: text,
				Recipient: "17840000000000111", RecipientName: "hungry.hannah", WrittenAt: first.Add(-time.Hour), FirstAttempt: first}
			id, found, err := ig.FindReply(context.Background(), req)
			if err != nil || id != tt.wantID || found != (tt.wantID != "") {
				t.Fatalf("FindReply = %q, %v, %v; want %q", id, found, err, tt.wantID)
			}
		})
	}
}

func TestInstagramVerify(t *testing.T) {
	ig, f, _, acc := newTestInstagram(t)
	f.on("GET /"+igUserID, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(t, r, "id", "username", "name")
		writeJSON(w, 200, testdata(t, "ig_user.json"))
	})
	id, err := ig.Verify(context.Background(), acc, channels.Token{AccessToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if id != (channels.Identity{Handle: "copperkettle_riverside", DisplayName: "Copper Kettle Riverside", RemoteID: igUserID}) {
		t.Errorf("identity %+v", id)
	}
	f.on("GET /"+igUserID, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		writeJSON(w, 400, testdata(t, "error_invalid_token.json"))
	})
	if _, err := ig.Verify(context.Background(), acc, channels.Token{AccessToken: testToken}); !errors.Is(err, channels.ErrAuth) {
		t.Errorf("revoked token: %v", err)
	}
}
