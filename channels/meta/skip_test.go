package meta

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
)

// lockedBuffer is a log sink the channel and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pollSource is one list a poll reads items from, served by the fake.
type pollSource struct {
	name            string
	source          string // the cursor's source
	timeKey, idText string // the item's time and text fields
	newChannel      func(t *testing.T, f *fakeGraph, opts []Option) (channels.Channel, channels.Account)
	serve           func(t *testing.T, f *fakeGraph, items func() []any)
}

func (ps pollSource) item(id string, at time.Time, text string) map[string]any {
	it := map[string]any{ps.timeKey: ts(at), ps.idText: text, "username": "ann", "from": map[string]string{"id": "u-ann", "name": "Ann", "username": "ann"}}
	if id != "" {
		it["id"] = id
	}
	return it
}

func fbChannel(t *testing.T, f *fakeGraph, opts []Option) (channels.Channel, channels.Account) {
	acc := fbAccount(f)
	return NewFacebook(newCreds(acc), append([]Option{WithClock(func() time.Time { return t0 })}, opts...)...), acc
}

func igChannel(t *testing.T, f *fakeGraph, opts []Option) (channels.Channel, channels.Account) {
	acc := igAccount(f)
	return NewInstagram(newCreds(acc), append([]Option{WithClock(func() time.Time { return t0 })}, opts...)...), acc
}

var pollSources = []pollSource{
	{
		name: "facebook comments", source: srcComments, timeKey: "created_time", idText: "message", newChannel: fbChannel,
		serve: func(t *testing.T, f *fakeGraph, items func() []any) {
			onePost(t, f)
			f.on("GET /P_1/comments", commentsHandler(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, listOf("", items()...)) }))
		},
	},
	{
		name: "facebook messages", source: srcMessages, timeKey: "created_time", idText: "message", newChannel: fbChannel,
		serve: func(t *testing.T, f *fakeGraph, items func() []any) {
			f.on("GET /"+pageID+"/feed", feedHandler(t, func() string { return `{"data":[]}` }))
			f.on("GET /"+pageID+"/conversations", conversationsHandler(t, func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, 200, listOf("", map[string]any{"id": "t_1", "updated_time": ts(t0.Add(-time.Minute)), "messages": listOf("", items()...)}))
			}))
		},
	},
	{
		name: "instagram comments", source: srcComments, timeKey: "timestamp", idText: "text", newChannel: igChannel,
		serve: func(t *testing.T, f *fakeGraph, items func() []any) {
			f.on("GET /"+igUserID+"/media", func(w http.ResponseWriter, r *http.Request, _ []byte) {
				wantFields(t, r, "id", "timestamp", "comments_count")
				writeJSON(w, 200, listOf("", map[string]any{"id": "M_1", "timestamp": ts(t0.Add(-2 * time.Hour)), "comments_count": 3}))
			})
			f.on("GET /"+igUserID+"/tags", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, listOf("")) })
			f.on("GET /M_1/comments", func(w http.ResponseWriter, r *http.Request, _ []byte) {
				wantFields(t, r, "id", "text", "username", "timestamp")
				writeJSON(w, 200, listOf("", items()...))
			})
		},
	},
	{
		name: "instagram tags", source: srcTags, timeKey: "timestamp", idText: "caption", newChannel: igChannel,
		serve: func(t *testing.T, f *fakeGraph, items func() []any) {
			f.on("GET /"+igUserID+"/media", func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, listOf("")) })
			f.on("GET /"+igUserID+"/tags", func(w http.ResponseWriter, r *http.Request, _ []byte) {
				wantFields(t, r, "id", "caption", "username", "timestamp")
				writeJSON(w, 200, listOf("", items()...))
			})
		},
	},
}

// secretText is the text of the unusable items: it must never be logged.
const secretText = "PRIVATE words of the customer"

func TestPollStepsOverItemsItCannotUse(t *testing.T) {
	// Times of the items, newest first as Meta lists them.
	atHead, atG2, atMiddle, atG1 := t0.Add(-10*time.Minute), t0.Add(-30*time.Minute), t0.Add(-40*time.Minute), t0.Add(-50*time.Minute)
	kinds := []struct {
		name   string
		id     string // the bad item's id in the log, "" for none
		broken func(ps pollSource, at time.Time) map[string]any
	}{
		{"no time", "bad1", func(ps pollSource, at time.Time) map[string]any {
			it := ps.item("bad1", at, secretText)
			delete(it, ps.timeKey)
			return it
		}},
		{"unreadable time", "bad1", func(ps pollSource, at time.Time) map[string]any {
			it := ps.item("bad1", at, secretText)
			it[ps.timeKey] = "yesterday"
			return it
		}},
		{"no id", "", func(ps pollSource, at time.Time) map[string]any { return ps.item("", at, secretText) }},
		{"a field that does not decode", "bad1", func(ps pollSource, at time.Time) map[string]any {
			it := ps.item("bad1", at, secretText)
			it["username"] = map[string]any{"secret": secretText}
			it["from"] = secretText
			return it
		}},
	}
	positions := []struct {
		name  string
		items func(ps pollSource, bad map[string]any) []any
		want  []string
	}{
		{"at the head of the page", func(ps pollSource, bad map[string]any) []any {
			return []any{bad, ps.item("g2", atG2, "two"), ps.item("g1", atG1, "one")}
		}, []string{"g1", "g2"}},
		{"in the middle", func(ps pollSource, bad map[string]any) []any {
			return []any{ps.item("g2", atG2, "two"), bad, ps.item("g1", atG1, "one")}
		}, []string{"g1", "g2"}},
		{"alone", func(_ pollSource, bad map[string]any) []any { return []any{bad} }, nil},
	}
	for _, ps := range pollSources {
		for _, kind := range kinds {
			for _, pos := range positions {
				t.Run(ps.name+"/"+kind.name+"/"+pos.name, func(t *testing.T) {
					f := newFake(t)
					var logs lockedBuffer
					log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
					ch, acc := ps.newChannel(t, f, []Option{WithLogger(log)})
					badAt := atHead
					if pos.name == "in the middle" {
						badAt = atMiddle
					}
					var mu sync.Mutex
					items := pos.items(ps, kind.broken(ps, badAt))
					ps.serve(t, f, func() []any { mu.Lock(); defer mu.Unlock(); return items })
					ctx := context.Background()

					first, err := ch.Poll(ctx, acc, "")
					if err != nil {
						t.Fatalf("first poll failed on one unusable item: %v", err)
					}
					if !sameIDs(first.Items, pos.want...) {
						t.Fatalf("first poll: items %v, want %v", ids(first.Items), pos.want)
					}
					out := logs.String()
					warn := ""
					for line := range strings.Lines(out) {
						if strings.Contains(line, "level=WARN") && strings.Contains(line, "skipping") {
							warn = line
						}
					}
					if warn == "" || !strings.Contains(warn, "account="+acc.Key()) || (kind.id != "" && !strings.Contains(warn, "id="+kind.id)) {
						t.Errorf("no Warn line naming the account and the item; log:\n%s", out)
					}
					if strings.Contains(out, testToken) || strings.Contains(out, "PRIVATE") {
						t.Errorf("the log holds the token or the customer's text:\n%s", out)
					}

					second, err := ch.Poll(ctx, acc, first.Cursor)
					if err != nil || len(second.Items) != 0 {
						t.Fatalf("second poll: %v %v, want nothing and no error", ids(second.Items), err)
					}
					c1, err1 := parseCursor(first.Cursor)
					c2, err2 := parseCursor(second.Cursor)
					if err1 != nil || err2 != nil || c2.Sources[ps.source].T.Before(c1.Sources[ps.source].T) {
						t.Errorf("the mark moved back: %s then %s", first.Cursor, second.Cursor)
					}
					if pos.want != nil && c1.Sources[ps.source].T.Before(atG2) {
						t.Errorf("the mark %s is below the newest item handed out", first.Cursor)
					}

					// A new item after the bad one still comes, once.
					mu.Lock()
					items = append([]any{ps.item("g3", t0.Add(-5*time.Minute), "three")}, items...)
					mu.Unlock()
					third, err := ch.Poll(ctx, acc, second.Cursor)
					if err != nil || !sameIDs(third.Items, "g3") {
						t.Fatalf("third poll: %v %v, want g3", ids(third.Items), err)
					}
				})
			}
		}
	}
}

func TestPassedItemsDoNotMoveTheMarkPastACutPage(t *testing.T) {
	// Three good comments and, newest, one without an id: a page of two
	// must leave the mark below the third good one.
	ps := pollSources[0]
	f := newFake(t)
	ch, acc := ps.newChannel(t, f, []Option{WithMaxItems(2)})
	items := []any{ps.item("", t0.Add(-10*time.Minute), secretText), ps.item("g3", t0.Add(-20*time.Minute), "3"),
		ps.item("g2", t0.Add(-30*time.Minute), "2"), ps.item("g1", t0.Add(-40*time.Minute), "1")}
	ps.serve(t, f, func() []any { return items })
	ctx := context.Background()
	var got []string
	cur := ""
	for round := 0; ; round++ {
		if round > 4 {
			t.Fatal("polling never ended")
		}
		p, err := ch.Poll(ctx, acc, cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(p.Items)...)
		cur = p.Cursor
		if !p.More {
			break
		}
	}
	if strings.Join(got, ",") != "g1,g2,g3" {
		t.Fatalf("items %v, want g1,g2,g3 once each", got)
	}
}
