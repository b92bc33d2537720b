package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
)

const (
	verifyToken = "branchline-verify-7f3a"
	appSecret   = "app-secret-5e1d9c0b"
)

var t0 = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

// recorder is a sink that keeps what it got, and fails while told to.
type recorder struct {
	mu    sync.Mutex
	got   []delivered
	fails int
	calls int
}

type delivered struct {
	acc   channels.Account
	items []channels.Item
}

func (r *recorder) Deliver(_ context.Context, acc channels.Account, items []channels.Item) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fails > 0 {
		r.fails--
		return errors.New("relay store unavailable")
	}
	r.got = append(r.got, delivered{acc, slices.Clone(items)})
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, d := range r.got {
		for _, it := range d.items {
			out = append(out, it.PlatformID)
		}
	}
	return out
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newHandler(t *testing.T, opts ...Option) (*Handler, *recorder, *testClock) {
	t.Helper()
	rec := &recorder{}
	clk := &testClock{t: t0}
	h, err := New(Config{VerifyToken: verifyToken, AppSecret: appSecret}, rec, append([]Option{WithClock(clk.now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h, rec, clk
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func readShape(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends a delivery with the given signature header ("" for none).
func post(h http.Handler, body []byte, signature string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/meta", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if signature != "" {
		r.Header.Set("X-Hub-Signature-256", signature)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNewNeedsBothSecrets(t *testing.T) {
	for _, cfg := range []Config{{}, {VerifyToken: verifyToken}, {AppSecret: appSecret}} {
		if _, err := New(cfg, &recorder{}); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{VerifyToken: verifyToken, AppSecret: appSecret}, nil); err == nil {
		t.Error("New without a sink accepted")
	}
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name, query string
		status      int
		body        string
	}{
		{"right token", "hub.mode=subscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1158201444", 200, "1158201444"},
		{"wrong token", "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444", 403, ""},
		{"token with a suffix", "hub.mode=subscribe&hub.verify_token=" + verifyToken + "x&hub.challenge=1", 403, ""},
		{"no token", "hub.mode=subscribe&hub.challenge=1158201444", 403, ""},
		{"wrong mode", "hub.mode=unsubscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1", 403, ""},
		{"no mode", "hub.verify_token=" + verifyToken + "&hub.challenge=1", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec, _ := newHandler(t)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/webhooks/meta?"+tt.query, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status == 200 {
				if w.Body.String() != tt.body || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
					t.Errorf("answer %q (%s), want %q as text/plain", w.Body, w.Header().Get("Content-Type"), tt.body)
				}
			} else if strings.Contains(w.Body.String(), "1158201444") {
				t.Errorf("refused handshake echoed the challenge: %q", w.Body)
			}
			if rec.calls != 0 {
				t.Error("a handshake reached the sink")
			}
		})
	}
}

func TestSignatureIsCheckedBeforeAnythingIsRead(t *testing.T) {
	body := readShape(t, "page_feed.json")
	modified := []byte(strings.Replace(string(body), "cold again", "hot again", 1))
	malformed := []byte(`{"object":"page","entry":[`)
	tests := []struct {
		name      string
		body      []byte
		signature string
		status    int
	}{
		{"valid signature", body, sign(appSecret, body), 200},
		{"signed with another secret", body, sign("not-the-app-secret", body), 403},
		{"no signature", body, "", 403},
		{"signature of the original over a modified body", modified, sign(appSecret, body), 403},
		{"SHA-1 header form", body, "sha1=" + strings.TrimPrefix(sign(appSecret, body), "sha256="), 403},
		{"not hex", body, "sha256=zz" + strings.Repeat("0", 62), 403},
		{"truncated signature", body, sign(appSecret, body)[:40], 403},
		{"malformed JSON with a wrong signature is refused unread", malformed, sign("wrong", malformed), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec, _ := newHandler(t)
			w := post(h, tt.body, tt.signature)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status != 200 && rec.calls != 0 {
				t.Errorf("an unsigned delivery reached the sink")
			}
			if tt.status == 200 && len(rec.ids()) == 0 {
				t.Errorf("a signed delivery delivered nothing")
			}
		})
	}
}

func TestDeliveriesBecomeItems(t *testing.T) {
	tests := []struct {
		file    string
		acc     channels.Account
		want    []channels.Item
		batches int
	}{
		{
			// The Page's own comment, the removal and the reaction are
			// left out; the edit comes with its new text.
			file: "page_feed.json", acc: channels.Account{Platform: "facebook", RemoteID: "104857600"}, batches: 1,
			want: []channels.Item{
				{PlatformID: "900002_5002", ThreadID: "104857600_900002", AuthorID: "6234000002", AuthorName: "Marcus Bell", Text: "The fries were cold again :(", Kind: "comment", CreatedAt: time.Unix(1795281000, 0).UTC()},
				{PlatformID: "900002_5001", ThreadID: "104857600_900002", AuthorID: "6234000001", AuthorName: "Jess Ortiz", Text: "Are you open late on Friday? Asking for 6 people", Kind: "comment", CreatedAt: time.Unix(1795280700, 0).UTC()},
			},
		},
		{
			// The echo of the Page's message and the delivery receipt are
			// left out.
			file: "messenger.json", acc: channels.Account{Platform: "facebook", RemoteID: "104857600"}, batches: 1,
			want: []channels.Item{
				{PlatformID: "m_AAA2", ThreadID: "7100000001", AuthorID: "7100000001", Text: "Do you have gluten-free buns?", Kind: "dm", CreatedAt: time.UnixMilli(1795281600000).UTC()},
			},
		},
		{
			// The account's own reply is left out; mentions carry IDs only.
			file: "instagram.json", acc: channels.Account{Platform: "instagram", RemoteID: "17841400000000001"}, batches: 1,
			want: []channels.Item{
				{PlatformID: "17900000000000011", ThreadID: "18000000000000002", AuthorID: "17840000000000111", AuthorName: "hungry.hannah", Text: "Is the patio open tonight?", Kind: "comment", CreatedAt: time.Unix(1795280400, 0).UTC()},
				{PlatformID: "17900000000000555", ThreadID: "18000000000000777", Kind: "mention", CreatedAt: time.Unix(1795280400, 0).UTC()},
				{PlatformID: "18000000000000888", ThreadID: "18000000000000888", Kind: "mention", CreatedAt: time.Unix(1795280400, 0).UTC()},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h, rec, _ := newHandler(t)
			body := readShape(t, tt.file)
			if w := post(h, body, sign(appSecret, body)); w.Code != 200 || w.Body.String() != "EVENT_RECEIVED" {
				t.Fatalf("answer %d %q", w.Code, w.Body)
			}
			if len(rec.got) != tt.batches {
				t.Fatalf("%d deliveries to the sink, want %d", len(rec.got), tt.batches)
			}
			d := rec.got[0]
			if d.acc != tt.acc {
				t.Errorf("account %+v, want %+v", d.acc, tt.acc)
			}
			if len(d.items) != len(tt.want) {
				t.Fatalf("items %+v, want %+v", d.items, tt.want)
			}
			for i := range tt.want {
				if d.items[i] != tt.want[i] {
					t.Errorf("item %d = %+v, want %+v", i, d.items[i], tt.want[i])
				}
			}
		})
	}
}

func TestOtherObjectsAreAcknowledgedAndIgnored(t *testing.T) {
	h, rec, _ := newHandler(t)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{}}]}]}`)
	if w := post(h, body, sign(appSecret, body)); w.Code != 200 || rec.calls != 0 {
		t.Fatalf("status %d, %d sink calls", w.Code, rec.calls)
	}
}

func TestRepeatedDeliveriesAreHandedOverOnce(t *testing.T) {
	h, rec, clk := newHandler(t)
	body := readShape(t, "messenger.json")
	for range 3 {
		if w := post(h, body, sign(appSecret, body)); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		clk.advance(time.Minute)
	}
	// The same message in a delivery of another shape (a new envelope
	// time, another event beside it).
	other := []byte(`{"object":"page","entry":[{"id":"104857600","time":1795290000000,"messaging":[` +
		`{"sender":{"id":"7100000001"},"recipient":{"id":"104857600"},"timestamp":1795281600000,"message":{"mid":"m_AAA2","text":"Do you have gluten-free buns?"}},` +
		`{"sender":{"id":"7100000001"},"recipient":{"id":"104857600"},"timestamp":1795281700000,"message":{"mid":"m_AAA4","text":"And vegan mayo?"}},` +
		`{"sender":{"id":"7100000001"},"recipient":{"id":"104857600"},"timestamp":1795281700000,"message":{"mid":"m_AAA4","text":"And vegan mayo?"}}]}]}`)
	if w := post(h, other, sign(appSecret, other)); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if got := rec.ids(); !slices.Equal(got, []string{"m_AAA2", "m_AAA4"}) {
		t.Fatalf("handed over %v, want each message once", got)
	}
	// A comment edited twice comes once per edit.
	feed := readShape(t, "page_feed.json")
	post(h, feed, sign(appSecret, feed))
	post(h, feed, sign(appSecret, feed))
	edit := []byte(strings.Replace(string(feed), "Asking for 6 people", "Asking for 8 people", 1))
	post(h, edit, sign(appSecret, edit))
	if got := rec.ids(); !slices.Equal(got, []string{"m_AAA2", "m_AAA4", "900002_5002", "900002_5001", "900002_5001"}) {
		t.Fatalf("handed over %v", got)
	}
}

func TestASinkFailureIsRetriedByMetaAndDeliveredOnce(t *testing.T) {
	h, rec, _ := newHandler(t)
	rec.fails = 1
	body := readShape(t, "instagram.json")
	if w := post(h, body, sign(appSecret, body)); w.Code != http.StatusInternalServerError {
		t.Fatalf("sink failure answered %d, want 500 so Meta retries", w.Code)
	}
	if len(rec.ids()) != 0 {
		t.Fatal("items recorded despite the failure")
	}
	// Meta's retry.
	if w := post(h, body, sign(appSecret, body)); w.Code != 200 {
		t.Fatalf("retry answered %d", w.Code)
	}
	// And a late duplicate.
	if w := post(h, body, sign(appSecret, body)); w.Code != 200 {
		t.Fatalf("duplicate answered %d", w.Code)
	}
	if got := rec.ids(); !slices.Equal(got, []string{"17900000000000011", "17900000000000555", "18000000000000888"}) {
		t.Fatalf("handed over %v, want each item once", got)
	}
	if rec.calls != 2 {
		t.Errorf("sink called %d times, want 2 (the failure and the retry)", rec.calls)
	}
}

func TestConcurrentRepeatsAreHandedOverOnce(t *testing.T) {
	h, rec, _ := newHandler(t)
	body := readShape(t, "page_feed.json")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if w := post(h, body, sign(appSecret, body)); w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	wg.Wait()
	if got := rec.ids(); len(got) != 2 {
		t.Fatalf("handed over %v, want the two comments once", got)
	}
}

func TestMalformedSignedDeliveriesAreRefused(t *testing.T) {
	for name, body := range map[string]string{
		"truncated JSON":        `{"object":"page","entry":[{"id":"1","changes":[`,
		"not JSON":              `object=page`,
		"two objects":           `{"object":"page","entry":[]}{"object":"page"}`,
		"entry without an id":   `{"object":"page","entry":[{"changes":[]}]}`,
		"change of a bad shape": `{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{"item":["comment"]}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			h, rec, _ := newHandler(t)
			if w := post(h, []byte(body), sign(appSecret, []byte(body))); w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", w.Code)
			}
			if rec.calls != 0 {
				t.Error("something reached the sink")
			}
		})
	}
}

func TestOversizedDeliveryIsRefused(t *testing.T) {
	h, rec, _ := newHandler(t, WithMaxBody(1024))
	body := []byte(`{"object":"page","entry":[],"pad":"` + strings.Repeat("x", 2048) + `"}`)
	if w := post(h, body, sign(appSecret, body)); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", w.Code)
	}
	if rec.calls != 0 {
		t.Error("something reached the sink")
	}
}

func TestOtherMethodsAreRefused(t *testing.T) {
	h, _, _ := newHandler(t)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/webhooks/meta", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, POST" {
		t.Fatalf("PUT answered %d (Allow %q)", w.Code, w.Header().Get("Allow"))
	}
}

func TestTheMemoryIsBoundedAndForgetsAfterItsTime(t *testing.T) {
	h, rec, clk := newHandler(t, WithMemory(2, time.Hour))
	msg := func(mid string) []byte {
		return []byte(`{"object":"page","entry":[{"id":"104857600","time":1795281600000,"messaging":[{"sender":{"id":"7100000001"},"recipient":{"id":"104857600"},"timestamp":1795281600000,"message":{"mid":"` + mid + `","text":"hi"}}]}]}`)
	}
	send := func(mid string) {
		b := msg(mid)
		if w := post(h, b, sign(appSecret, b)); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	send("m1")
	send("m2")
	send("m1") // remembered
	send("m3") // m1, the oldest, is forgotten to keep two
	if n := h.seen.len(); n != 2 {
		t.Errorf("memory holds %d keys, want 2", n)
	}
	send("m1") // forgotten: handed over again
	clk.advance(time.Hour)
	send("m3") // older than an hour: forgotten
	if got := rec.ids(); !slices.Equal(got, []string{"m1", "m2", "m3", "m1", "m3"}) {
		t.Fatalf("handed over %v", got)
	}
}
