package meta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// The tests of this file protect FindReply against the two ways a retry
// could be lost: finding someone else's message (a private reply is
// matched only in the recipient's own conversation), and reading too
// little of a busy thread (the search pages back to the first attempt, and
// says it cannot tell when it cannot get there).

// template is a text the Page sends to many customers.
const template = "Hi! Sorry about that: we have sent you a voucher by message. – The Copper Kettle team"

// person is a customer as the fakes know them: the ID their comments
// carry, the page-scoped (or Instagram-scoped) ID of their conversation
// with the account, and their name (Facebook) or username (Instagram).
type person struct {
	commentID, psid, name string
}

var (
	jess   = person{commentID: "6234000001", psid: "7100000011", name: "Jess Ortiz"}
	marcus = person{commentID: "6234000002", psid: "7100000012", name: "Marcus Bell"}
)

// fakeConv is a conversation on the fake inbox.
type fakeConv struct {
	id      string
	with    person
	noPeers bool             // the answer leaves out participants
	msgs    []map[string]any // newest first
}

func (c fakeConv) updated() time.Time {
	t, _ := parseTime(c.msgs[0]["created_time"].(string))
	return t
}

// inbox is a fake of the conversations edge (GET /{id}/conversations)
// and of a conversation's messages edge (GET /{conversation-id}/messages),
// after https://developers.facebook.com/docs/messenger-platform/conversations
// and https://developers.facebook.com/docs/graph-api/reference/conversation/.
type inbox struct {
	t        *testing.T
	f        *fakeGraph
	platform string
	owner    map[string]string // the Page or the Instagram account as a participant
	// userID is what Meta does with a user_id parameter: "filter" (the
	// person's conversation), "refuse" (error 100, as for an ID that is
	// not page-scoped) or "ignore" (every conversation).
	userID   string
	perPage  int // messages shown inline per conversation
	mu       sync.Mutex
	convs    []fakeConv
	userIDs  []string
	scanned  int
	pageSize int
}

func newInbox(t *testing.T, f *fakeGraph, path, platform string, owner map[string]string) *inbox {
	in := &inbox{t: t, f: f, platform: platform, owner: owner, userID: "filter", perPage: conversationMessages, pageSize: 25}
	f.on("GET "+path, in.serveConversations)
	return in
}

func (in *inbox) add(c fakeConv) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.convs = append(in.convs, c)
	slices.SortStableFunc(in.convs, func(a, b fakeConv) int { return b.updated().Compare(a.updated()) })
	in.f.on("GET /"+c.id+"/messages", in.serveMessages(c))
}

func (in *inbox) peer(p person) map[string]string {
	if in.platform == "instagram" {
		return map[string]string{"id": p.psid, "username": p.name}
	}
	return map[string]string{"id": p.psid, "name": p.name, "email": p.psid + "@facebook.com"}
}

func (in *inbox) render(c fakeConv) map[string]any {
	out := map[string]any{"id": c.id, "updated_time": ts(c.updated())}
	if !c.noPeers {
		out["participants"] = map[string]any{"data": []any{in.peer(c.with), in.owner}}
	}
	shown := c.msgs[:min(len(c.msgs), in.perPage)]
	next := ""
	if len(c.msgs) > len(shown) {
		next = fmt.Sprintf("%s%s/%s/messages?fields=id%%2Cfrom&limit=%d&after=%d&access_token=token-from-meta-in-next-link", in.f.srv.URL, version, c.id, in.perPage, len(shown))
	}
	out["messages"] = listOf(next, anys(shown)...)
	return out
}

func (in *inbox) serveConversations(w http.ResponseWriter, r *http.Request, _ []byte) {
	wantQuery(in.t, r, map[string]string{"platform": in.platform})
	wantFields(in.t, r, "id", "updated_time", "participants", "messages", "from", "message", "created_time")
	in.mu.Lock()
	defer in.mu.Unlock()
	q := r.URL.Query()
	var convs []fakeConv
	if uid := q.Get("user_id"); uid != "" {
		in.userIDs = append(in.userIDs, uid)
		switch in.userID {
		case "refuse":
			graphError(w, 400, 100, 0, "(#100) Param user_id must be a valid page-scoped ID")
			return
		case "filter":
			for _, c := range in.convs {
				if c.with.psid == uid {
					convs = append(convs, c)
				}
			}
			writeJSON(w, 200, listOf("", in.renderAll(convs)...))
			return
		}
	}
	in.scanned++
	// Most recently updated first, pageSize a page, with "after" the
	// offset (the access token of Meta's next link is dropped by the
	// connector, which the fake checks).
	start := 0
	fmt.Sscan(q.Get("after"), &start)
	end := min(start+in.pageSize, len(in.convs))
	next := ""
	if end < len(in.convs) {
		next = in.f.nextLink(r, fmt.Sprint(end))
	}
	writeJSON(w, 200, listOf(next, in.renderAll(in.convs[start:end])...))
}

func (in *inbox) renderAll(cs []fakeConv) []any {
	out := []any{}
	for _, c := range cs {
		out = append(out, in.render(c))
	}
	return out
}

// serveMessages answers the older messages of a conversation, perPage
// a page.
func (in *inbox) serveMessages(c fakeConv) handler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		wantFields(in.t, r, "from")
		start := 0
		fmt.Sscan(r.URL.Query().Get("after"), &start)
		end := min(start+in.perPage, len(c.msgs))
		next := ""
		if end < len(c.msgs) {
			next = in.f.nextLink(r, fmt.Sprint(end))
		}
		writeJSON(w, 200, listOf(next, anys(c.msgs[start:end])...))
	}
}

func anys[T any](xs []T) []any {
	out := make([]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, x)
	}
	return out
}

func msg(id string, at time.Time, from map[string]string, text string) map[string]any {
	return map[string]any{"id": id, "created_time": ts(at), "from": from, "message": text}
}

// chatter is n messages from p, one every 10 seconds back from newest.
func chatter(prefix string, p map[string]string, newest time.Time, n int) []map[string]any {
	var out []map[string]any
	for i := range n {
		out = append(out, msg(fmt.Sprintf("%s%d", prefix, i), newest.Add(-time.Duration(i)*10*time.Second), p, fmt.Sprintf("one more thing (%d)", i)))
	}
	return out
}

func TestFacebookPrivateReplyIsFoundOnlyInTheRecipientsConversation(t *testing.T) {
	first := t0.Add(-30 * time.Minute)
	page := map[string]string{"id": pageID, "name": "Copper Kettle Riverside", "email": pageID + "@facebook.com"}
	from := func(p person) map[string]string { return map[string]string{"id": p.psid, "name": p.name} }
	// Jess got the template privately a minute after Marcus's reply was
	// first tried: the message that must never be taken for Marcus's.
	jessConv := fakeConv{id: "t_jess", with: jess, msgs: []map[string]any{
		msg("m_jess_pr", first.Add(5*time.Minute), page, template),
	}}
	marcusOld := fakeConv{id: "t_marcus", with: marcus, msgs: []map[string]any{
		msg("m_marcus_old", first.Add(-7*24*time.Hour), from(marcus), "Thanks for last week!"),
	}}
	marcusGot := fakeConv{id: "t_marcus", with: marcus, msgs: []map[string]any{
		msg("m_marcus_pr", first.Add(time.Minute), page, template),
		msg("m_marcus_old", first.Add(-7*24*time.Hour), from(marcus), "Thanks for last week!"),
	}}
	otherMarcus := person{commentID: "6234000099", psid: "7100000099", name: "Marcus Bell"}
	tests := []struct {
		name      string
		userID    string // what Meta does with user_id
		recipient string
		rname     string
		convs     []fakeConv
		wantID    string
		wantErr   string // part of the error; the error must be transient
	}{
		{name: "by PSID: the second customer's conversation has no reply yet", userID: "filter",
			recipient: marcus.psid, rname: marcus.name, convs: []fakeConv{jessConv, marcusOld}},
		{name: "by PSID: the reply in the second customer's conversation", userID: "filter",
			recipient: marcus.psid, rname: marcus.name, convs: []fakeConv{jessConv, marcusGot}, wantID: "m_marcus_pr"},
		{name: "comment author ID refused as user_id: no conversation of the second customer", userID: "refuse",
			recipient: marcus.commentID, rname: marcus.name, convs: []fakeConv{jessConv}},
		{name: "comment author ID refused as user_id: the second customer's conversation by name", userID: "refuse",
			recipient: marcus.commentID, rname: marcus.name, convs: []fakeConv{jessConv, marcusGot}, wantID: "m_marcus_pr"},
		{name: "user_id ignored: the answer's other conversations are not taken", userID: "ignore",
			recipient: marcus.psid, rname: marcus.name, convs: []fakeConv{jessConv, marcusOld}},
		{name: "two people of that name: cannot tell", userID: "refuse",
			recipient: marcus.commentID, rname: marcus.name, convs: []fakeConv{jessConv, marcusGot, {id: "t_other", with: otherMarcus, msgs: []map[string]any{
				msg("m_other", first.Add(2*time.Minute), from(otherMarcus), "hello?")}}},
			wantErr: "more than one"},
		{name: "no name and no matching ID: cannot tell", userID: "refuse",
			recipient: marcus.commentID, convs: []fakeConv{jessConv, marcusGot}, wantErr: "cannot tell"},
		{name: "participants not shown: cannot tell", userID: "refuse",
			recipient: marcus.commentID, rname: marcus.name, convs: []fakeConv{{id: "t_jess", with: jess, noPeers: true, msgs: jessConv.msgs}},
			wantErr: "cannot tell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, f, _, acc := newTestFacebook(t)
			in := newInbox(t, f, "/"+pageID+"/conversations", "messenger", page)
			in.userID = tt.userID
			for _, c := range tt.convs {
				in.add(c)
			}
			req := channels.ReplyRequest{Account: acc, Kind: "comment", Private: true, InReplyTo: "900002_5002",
				Recipient: tt.recipient, RecipientName: tt.rname, WrittenAt: first.Add(-time.Hour), Text: template, FirstAttempt: first}
			id, found, err := fb.FindReply(context.Background(), req)
			if tt.wantErr != "" {
				if err == nil || found || !errors.Is(err, webapi.ErrTransient) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FindReply = %q, %v, %v; want a transient error saying %q", id, found, err, tt.wantErr)
				}
				return
			}
			if err != nil || id != tt.wantID || found != (tt.wantID != "") {
				t.Fatalf("FindReply = %q, %v, %v; want %q", id, found, err, tt.wantID)
			}
			if !slices.Contains(in.userIDs, tt.recipient) {
				t.Errorf("user_id asked for %v, want the recipient %s", in.userIDs, tt.recipient)
			}
		})
	}
}

func TestFacebookPrivateReplySearchStopsAtThePageBound(t *testing.T) {
	first := t0.Add(-30 * time.Minute)
	page := map[string]string{"id": pageID, "name": "Copper Kettle Riverside"}
	fb, f, _, acc := newTestFacebook(t)
	in := newInbox(t, f, "/"+pageID+"/conversations", "messenger", page)
	in.userID = "refuse"
	// A busy evening: more conversations updated since the first attempt
	// than FindReply reads, none of them Marcus's.
	for i := range 25*maxFindConvPages + 5 {
		p := person{psid: fmt.Sprintf("71009%05d", i), name: fmt.Sprintf("Guest %d", i)}
		in.add(fakeConv{id: fmt.Sprintf("t_%d", i), with: p, msgs: []map[string]any{
			msg(fmt.Sprintf("m_%d", i), first.Add(time.Duration(i)*time.Second), map[string]string{"id": p.psid, "name": p.name}, "table for two?")}})
	}
	req := channels.ReplyRequest{Account: acc, Kind: "comment", Private: true, InReplyTo: "900002_5002",
		Recipient: marcus.commentID, RecipientName: marcus.name, WrittenAt: first.Add(-time.Hour), Text: template, FirstAttempt: first}
	id, found, err := fb.FindReply(context.Background(), req)
	if err == nil || found || !errors.Is(err, webapi.ErrTransient) {
		t.Fatalf("FindReply = %q, %v, %v; want a transient error: not every recent conversation was read", id, found, err)
	}
	if in.scanned != maxFindConvPages {
		t.Errorf("%d pages of conversations read, want the bound %d", in.scanned, maxFindConvPages)
	}
}

func TestInstagramPrivateReplyIsFoundOnlyInTheRecipientsConversation(t *testing.T) {
	first := t0.Add(-30 * time.Minute)
	account := map[string]string{"id": igUserID, "username": "copperkettle_riverside"}
	hannah := person{commentID: "17840000000000111", psid: "17840000000000111", name: "hungry.hannah"}
	omar := person{commentID: "17840000000000222", psid: "17840000000000222", name: "omar.eats"}
	from := func(p person) map[string]string { return map[string]string{"id": p.psid, "username": p.name} }
	hannahConv := fakeConv{id: "aWdf_hannah", with: hannah, msgs: []map[string]any{msg("aWdf_m_hannah", first.Add(4*time.Minute), account, template)}}
	omarOld := fakeConv{id: "aWdf_omar", with: omar, msgs: []map[string]any{msg("aWdf_m_omar0", first.Add(-48*time.Hour), from(omar), "love the patio")}}
	omarGot := fakeConv{id: "aWdf_omar", with: omar, msgs: []map[string]any{
		msg("aWdf_m_omar_pr", first.Add(time.Minute), account, template),
		msg("aWdf_m_omar0", first.Add(-48*time.Hour), from(omar), "love the patio")}}
	tests := []struct {
		name      string
		userID    string
		recipient string
		convs     []fakeConv
		wantID    string
	}{
		{"the second customer's conversation has no reply yet", "filter", omar.psid, []fakeConv{hannahConv, omarOld}, ""},
		{"the reply in the second customer's conversation", "filter", omar.psid, []fakeConv{hannahConv, omarGot}, "aWdf_m_omar_pr"},
		{"user_id refused: found by participant ID", "refuse", omar.psid, []fakeConv{hannahConv, omarGot}, "aWdf_m_omar_pr"},
		{"commenter's ID unknown: found by username", "filter", "", []fakeConv{hannahConv, omarGot}, "aWdf_m_omar_pr"},
		{"user_id ignored: no conversation of the second customer", "ignore", omar.psid, []fakeConv{hannahConv}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ig, f, _, acc := newTestInstagram(t)
			in := newInbox(t, f, "/"+igUserID+"/conversations", "instagram", account)
			in.userID = tt.userID
			for _, c := range tt.convs {
				in.add(c)
			}
			req := channels.ReplyRequest{Account: acc, Kind: "comment", Private: true, InReplyTo: "17900000000000012",
				Recipient: tt.recipient, RecipientName: omar.name, WrittenAt: first.Add(-time.Hour), Text: template, FirstAttempt: first}
			id, found, err := ig.FindReply(context.Background(), req)
			if err != nil || id != tt.wantID || found != (tt.wantID != "") {
				t.Fatalf("FindReply = %q, %v, %v; want %q", id, found, err, tt.wantID)
			}
		})
	}
}

func TestFindReplyPagesBackThroughABusyConversation(t *testing.T) {
	first := t0.Add(-2 * time.Hour)
	page := map[string]string{"id": pageID, "name": "Copper Kettle Riverside"}
	dana := person{psid: "7100000001", name: "Dana Whitfield"}
	from := map[string]string{"id": dana.psid, "name": dana.name}
	tests := []struct {
		name     string
		msgs     []map[string]any
		wantID   string
		wantErr  bool
		maxPages int // requests for older messages at most
	}{
		{
			name: "our reply behind 30 newer messages",
			msgs: append(chatter("m_c", from, t0, 30),
				msg("m_ours", first.Add(time.Minute), page, template),
				msg("m_before", first.Add(-time.Hour), from, "hello?")),
			wantID: "m_ours", maxPages: 1,
		},
		{
			name:     "not there: the search stops at the first attempt",
			msgs:     append(chatter("m_c", from, t0, 30), msg("m_before", first.Add(-time.Hour), from, "hello?"), msg("m_older", first.Add(-2*time.Hour), from, "anyone?")),
			maxPages: 1,
		},
		{
			name:     "more messages since the first attempt than the bound: cannot tell",
			msgs:     chatter("m_c", from, t0, conversationMessages*(maxFindMessagePages+3)),
			wantErr:  true,
			maxPages: maxFindMessagePages - 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, f, _, acc := newTestFacebook(t)
			in := newInbox(t, f, "/"+pageID+"/conversations", "messenger", page)
			c := fakeConv{id: "t_dana", with: dana, msgs: tt.msgs}
			in.add(c)
			req := channels.ReplyRequest{Account: acc, Kind: "dm", InReplyTo: "m_AAA2", Recipient: dana.psid, RecipientName: dana.name,
				WrittenAt: first.Add(-time.Hour), Text: template, FirstAttempt: first}
			id, found, err := fb.FindReply(context.Background(), req)
			switch {
			case tt.wantErr:
				if err == nil || found || !errors.Is(err, webapi.ErrTransient) {
					t.Fatalf("FindReply = %q, %v, %v; want a transient error, not a not-found that leads to a second message", id, found, err)
				}
			case err != nil || id != tt.wantID || found != (tt.wantID != ""):
				t.Fatalf("FindReply = %q, %v, %v; want %q", id, found, err, tt.wantID)
			}
			if n := f.count("GET /t_dana/messages"); n > tt.maxPages {
				t.Errorf("%d pages of older messages read, want at most %d", n, tt.maxPages)
			}
		})
	}
}

// replyThread serves route as a busy list of n replies, per to a page,
// the i-th made by item.
func replyThread(t *testing.T, f *fakeGraph, route string, n, per int, item func(i int) map[string]any) {
	f.on(route, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		start := 0
		fmt.Sscan(r.URL.Query().Get("after"), &start)
		end := min(start+per, n)
		var items []any
		for i := start; i < end; i++ {
			items = append(items, item(i))
		}
		next := ""
		if end < n {
			next = f.nextLink(r, fmt.Sprint(end))
		}
		writeJSON(w, 200, listOf(next, items...))
	})
}

func TestFindReplyPagesBackThroughABusyCommentThread(t *testing.T) {
	first := t0.Add(-3 * time.Hour)
	page := map[string]string{"id": pageID, "name": "Copper Kettle Riverside"}
	fan := map[string]string{"id": "6234000007", "name": "Sam Fan"}
	fbItem := func(ours int) func(i int) map[string]any {
		return func(i int) map[string]any {
			at := t0.Add(-time.Duration(i) * 10 * time.Second)
			if i == ours {
				return map[string]any{"id": "r_ours", "created_time": ts(at), "from": page, "message": template}
			}
			return map[string]any{"id": fmt.Sprintf("r%d", i), "created_time": ts(at), "from": fan, "message": template}
		}
	}
	t.Run("facebook: our reply behind 300 newer ones", func(t *testing.T) {
		fb, f, _, acc := newTestFacebook(t)
		replyThread(t, f, "GET /c1/comments", 400, 50, fbItem(320))
		id, found, err := fb.FindReply(context.Background(), channels.ReplyRequest{Account: acc, Kind: "comment", InReplyTo: "c1", Text: template, FirstAttempt: first})
		if err != nil || !found || id != "r_ours" {
			t.Fatalf("FindReply = %q, %v, %v; want r_ours", id, found, err)
		}
	})
	t.Run("facebook: more replies since the first attempt than the bound", func(t *testing.T) {
		fb, f, _, acc := newTestFacebook(t)
		replyThread(t, f, "GET /c1/comments", 50*(maxFindPages+5), 50, fbItem(-1))
		f.on("GET /c1", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, `{"id":"c1"}`) })
		id, found, err := fb.FindReply(context.Background(), channels.ReplyRequest{Account: acc, Kind: "comment", InReplyTo: "c1", Text: template, FirstAttempt: t0.Add(-24 * time.Hour)})
		if err == nil || found || !errors.Is(err, webapi.ErrTransient) {
			t.Fatalf("FindReply = %q, %v, %v; want a transient error", id, found, err)
		}
		if n := f.count("GET /c1/comments"); n != maxFindPages {
			t.Errorf("%d pages read, want the bound %d", n, maxFindPages)
		}
	})

	account := map[string]string{"id": igUserID, "username": "copperkettle_riverside"}
	igItem := func(ours int) func(i int) map[string]any {
		return func(i int) map[string]any {
			// Instagram does not document the order of replies: oldest
			// first here.
			at := first.Add(time.Duration(i) * 10 * time.Second)
			if i == ours {
				return map[string]any{"id": "x_ours", "timestamp": ts(at), "username": account["username"], "from": account, "text": template}
			}
			return map[string]any{"id": fmt.Sprintf("x%d", i), "timestamp": ts(at), "username": "fan", "from": map[string]string{"id": "178400000009", "username": "fan"}, "text": template}
		}
	}
	t.Run("instagram: our reply after 300 others", func(t *testing.T) {
		ig, f, _, acc := newTestInstagram(t)
		f.on("GET /17900000000000011", serveFile(t, "ig_comment_top.json"))
		replyThread(t, f, "GET /17900000000000011/replies", 400, 50, igItem(310))
		id, found, err := ig.FindReply(context.Background(), channels.ReplyRequest{Account: acc, Kind: "comment", InReplyTo: "17900000000000011", Text: template, FirstAttempt: first})
		if err != nil || !found || id != "x_ours" {
			t.Fatalf("FindReply = %q, %v, %v; want x_ours", id, found, err)
		}
	})
	t.Run("instagram: more replies than the bound", func(t *testing.T) {
		ig, f, _, acc := newTestInstagram(t)
		f.on("GET /17900000000000011", serveFile(t, "ig_comment_top.json"))
		replyThread(t, f, "GET /17900000000000011/replies", 50*(maxFindReplyPages+5), 50, igItem(-1))
		id, found, err := ig.FindReply(context.Background(), channels.ReplyRequest{Account: acc, Kind: "comment", InReplyTo: "17900000000000011", Text: template, FirstAttempt: first})
		if err == nil || found || !errors.Is(err, webapi.ErrTransient) {
			t.Fatalf("FindReply = %q, %v, %v; want a transient error", id, found, err)
		}
	})
}

func TestFindReplyInTheDocumentedConversations(t *testing.T) {
	// Both files hold two conversations: an answer that ignored user_id
	// looks the same, so only the participants tie a message to a person.
	const igTemplate = "Thanks for the kind words! A little thank-you is waiting for you at the counter."
	tests := []struct {
		name     string
		platform string
		file     string
		refuse   bool // Meta refuses the user_id (error 100)
		req      channels.ReplyRequest
		wantID   string
	}{
		{name: "Messenger reply to Dana", platform: "messenger", file: "fb_conversations.json",
			req: channels.ReplyRequest{Kind: "dm", InReplyTo: "m_AAA2", Recipient: "7100000001", RecipientName: "Dana Whitfield",
				Text: "Hi Dana, yes: all our burgers come on a gluten-free bun on request.", FirstAttempt: time.Date(2026, 11, 20, 16, 44, 0, 0, time.UTC)},
			wantID: "m_AAA3"},
		{name: "the same text as a private reply to Lee: not Dana's message", platform: "messenger", file: "fb_conversations.json",
			req: channels.ReplyRequest{Kind: "comment", Private: true, InReplyTo: "900001_4001", Recipient: "7100000002", RecipientName: "Lee Park",
				Text: "Hi Dana, yes: all our burgers come on a gluten-free bun on request.", FirstAttempt: time.Date(2026, 11, 20, 16, 44, 0, 0, time.UTC)}},
		{name: "Instagram private reply to Hannah, not Omar's of the same text", platform: "instagram", file: "ig_conversations.json",
			req: channels.ReplyRequest{Kind: "comment", Private: true, InReplyTo: "17900000000000011", Recipient: "17840000000000111", RecipientName: "hungry.hannah",
				Text: igTemplate, FirstAttempt: time.Date(2026, 11, 20, 17, 5, 0, 0, time.UTC)},
			wantID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0"},
		{name: "Instagram, user_id refused: Hannah's conversation by her ID", platform: "instagram", file: "ig_conversations.json", refuse: true,
			req: channels.ReplyRequest{Kind: "comment", Private: true, InReplyTo: "17900000000000011", Recipient: "17840000000000111", RecipientName: "hungry.hannah",
				Text: igTemplate, FirstAttempt: time.Date(2026, 11, 20, 17, 5, 0, 0, time.UTC)},
			wantID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			clk := &clock{t: t0}
			var ch channels.Channel
			var path string
			if tt.platform == "instagram" {
				tt.req.Account = igAccount(f)
				ch, path = NewInstagram(newCreds(tt.req.Account), WithClock(clk.now)), "/"+igUserID+"/conversations"
			} else {
				tt.req.Account = fbAccount(f)
				ch, path = NewFacebook(newCreds(tt.req.Account), WithClock(clk.now)), "/"+pageID+"/conversations"
			}
			body := testdata(t, tt.file)
			f.on("GET "+path, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				wantQuery(t, r, map[string]string{"platform": tt.platform})
				wantFields(t, r, "id", "updated_time", "participants", "messages", "from", "message", "created_time")
				if uid := r.URL.Query().Get("user_id"); uid != "" {
					if uid != tt.req.Recipient {
						t.Errorf("user_id = %s, want the recipient %s", uid, tt.req.Recipient)
					}
					if tt.refuse {
						graphError(w, 400, 100, 0, "(#100) Invalid user_id")
						return
					}
				}
				writeJSON(w, 200, body)
			})
			tt.req.WrittenAt = tt.req.FirstAttempt.Add(-time.Hour)
			id, found, err := ch.FindReply(context.Background(), tt.req)
			if err != nil || id != tt.wantID || found != (tt.wantID != "") {
				t.Fatalf("FindReply = %q, %v, %v; want %q", id, found, err, tt.wantID)
			}
		})
	}
}
