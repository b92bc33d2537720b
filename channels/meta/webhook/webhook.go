// Package webhook receives Meta's webhook deliveries (Facebook Page feed
// comments, Messenger messages, Instagram comments and mentions) for a
// relay that desktop nodes poll: a desktop app has no public HTTPS address
// Meta could call.
//
// Handler answers Meta's subscription handshake (GET with hub.mode,
// hub.verify_token and hub.challenge), and for each delivery (POST) reads
// the raw body (bounded), checks its X-Hub-Signature-256 against the app
// secret before parsing anything, turns the changes and messaging events
// into channels.Item values, and hands them, per account, to a Sink. Meta
// delivers the same event more than once: items already handed over are
// remembered (a bounded, time-limited memory) and not handed over again. A
// sink error answers 500, so Meta delivers again later; the items of that
// delivery are not remembered as handed over.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/branchline/branchline/channels"
)

// Sink receives the items of a delivery. Deliver should be quick (store or
// enqueue, not process): Meta waits for the answer. An error makes Meta
// deliver again later.
type Sink interface {
	Deliver(ctx context.Context, acc channels.Account, items []channels.Item) error
}

// Config holds the handler's secrets.
type Config struct {
	// VerifyToken is the token set in the app's webhook settings, which
	// Meta sends back in the subscription handshake.
	VerifyToken string
	// AppSecret signs every delivery (X-Hub-Signature-256).
	AppSecret string
}

// Defaults.
const (
	// DefaultMaxBody bounds a delivery's body; larger ones get 413.
	DefaultMaxBody = 1 << 20
	// DefaultMemory is how many delivered items are remembered, and
	// DefaultMemoryTTL for how long: Meta retries a failed delivery for
	// up to 36 hours.
	DefaultMemory    = 50_000
	DefaultMemoryTTL = 36 * time.Hour
	// DefaultDeliverTimeout bounds the sink's time per delivery, well
	// within Meta's wait for an answer.
	DefaultDeliverTimeout = 10 * time.Second
)

// Option configures a Handler.
type Option func(*Handler)

// WithClock sets the clock the memory of delivered items runs on.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithLogger sets the logger. Bodies and secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithMaxBody sets the largest body accepted, in bytes.
func WithMaxBody(n int64) Option { return func(h *Handler) { h.maxBody = n } }

// WithMemory sets how many delivered items are remembered and for how
// long.
func WithMemory(size int, ttl time.Duration) Option {
	return func(h *Handler) { h.seen = newMemory(size, ttl) }
}

// WithDeliverTimeout bounds the sink's time per delivery.
func WithDeliverTimeout(d time.Duration) Option { return func(h *Handler) { h.deliverTimeout = d } }

// Handler is the webhook endpoint. It is safe for concurrent use.
type Handler struct {
	cfg            Config
	sink           Sink
	now            func() time.Time
	log            *slog.Logger
	maxBody        int64
	deliverTimeout time.Duration
	seen           *memory
}

var _ http.Handler = (*Handler)(nil)

// New makes the handler. Both secrets are required.
func New(cfg Config, sink Sink, opts ...Option) (*Handler, error) {
	if cfg.VerifyToken == "" || cfg.AppSecret == "" {
		return nil, errors.New("meta webhook: the verify token and the app secret are both required")
	}
	if sink == nil {
		return nil, errors.New("meta webhook: no sink for deliveries")
	}
	h := &Handler{cfg: cfg, sink: sink, now: time.Now, log: slog.New(slog.DiscardHandler),
		maxBody: DefaultMaxBody, deliverTimeout: DefaultDeliverTimeout, seen: newMemory(DefaultMemory, DefaultMemoryTTL)}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// ServeHTTP answers the handshake (GET) and deliveries (POST).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.handshake(w, r)
	case http.MethodPost:
		h.delivery(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// handshake echoes hub.challenge when hub.mode is subscribe and
// hub.verify_token is the configured token.
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("hub.verify_token")
	// Compare digests, so neither the token's content nor its length
	// shows in the time taken.
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(h.cfg.VerifyToken))
	if q.Get("hub.mode") != "subscribe" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		h.log.Warn("meta webhook: handshake refused", "mode", q.Get("hub.mode"))
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, q.Get("hub.challenge"))
}

// signatureOK checks X-Hub-Signature-256: "sha256=" and the hex
// HMAC-SHA256 of the raw body with the app secret.
func (h *Handler) signatureOK(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(h.cfg.AppSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func (h *Handler) delivery(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.log.Warn("meta webhook: delivery too large", "limit", h.maxBody)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if !h.signatureOK(r.Header.Get("X-Hub-Signature-256"), body) {
		h.log.Warn("meta webhook: delivery with a missing or wrong signature refused", "bytes", len(body))
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	batches, err := parse(body)
	if err != nil {
		h.log.Warn("meta webhook: signed delivery could not be read", "err", err)
		http.Error(w, "malformed delivery", http.StatusBadRequest)
		return
	}
	for _, b := range batches {
		if err := h.deliver(r.Context(), b); err != nil {
			h.log.Error("meta webhook: sink refused a delivery; Meta will retry", "platform", b.acc.Platform, "account", b.acc.RemoteID, "err", err)
			http.Error(w, "delivery failed, retry later", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "EVENT_RECEIVED")
}

// deliver hands a batch's new items to the sink, and remembers them only
// when the sink took them.
func (h *Handler) deliver(ctx context.Context, b batch) error {
	now := h.now()
	var items []channels.Item
	var keys []string
	for i, it := range b.items {
		if h.seen.reserve(b.keys[i], now) {
			items = append(items, it)
			keys = append(keys, b.keys[i])
		}
	}
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.deliverTimeout)
	defer cancel()
	if err := h.sink.Deliver(ctx, b.acc, items); err != nil {
		h.seen.release(keys)
		return fmt.Errorf("deliver %d items of %s %s: %w", len(items), b.acc.Platform, b.acc.RemoteID, err)
	}
	h.seen.commit(keys, h.now())
	return nil
}

// batch is the items of one account in a delivery, with their
// de-duplication keys.
type batch struct {
	acc   channels.Account
	items []channels.Item
	keys  []string
}

// payload is a delivery: {"object": "page"|"instagram", "entry": [...]}.
type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID        string      `json:"id"`
	Time      json.Number `json:"time"`
	Changes   []change    `json:"changes"`
	Messaging []messaging `json:"messaging"`
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// feedValue is a Page feed change.
type feedValue struct {
	Item        string      `json:"item"`
	Verb        string      `json:"verb"`
	CommentID   string      `json:"comment_id"`
	PostID      string      `json:"post_id"`
	ParentID    string      `json:"parent_id"`
	From        *user       `json:"from"`
	Message     string      `json:"message"`
	CreatedTime json.Number `json:"created_time"`
}

type user struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

// messaging is a Messenger (or Instagram messaging) event.
type messaging struct {
	Sender    user        `json:"sender"`
	Recipient user        `json:"recipient"`
	Timestamp json.Number `json:"timestamp"`
	Message   *struct {
		Mid    string `json:"mid"`
		Text   string `json:"text"`
		IsEcho bool   `json:"is_echo"`
	} `json:"message"`
}

// igCommentValue is an Instagram comments change.
type igCommentValue struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	ParentID string `json:"parent_id"`
	From     *user  `json:"from"`
	Media    *struct {
		ID string `json:"id"`
	} `json:"media"`
}

// igMentionValue is an Instagram mentions change: IDs only.
type igMentionValue struct {
	MediaID   string `json:"media_id"`
	CommentID string `json:"comment_id"`
}

// parse turns a delivery into per-account batches, in order of first
// appearance. Events that are not customers' comments or messages (posts,
// reactions, removals, echoes of the Page's own messages, delivery and
// read receipts) are left out.
func parse(body []byte) ([]batch, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode delivery: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode delivery: data after the JSON object")
	}
	var platform string
	switch p.Object {
	case "page":
		platform = "facebook"
	case "instagram":
		platform = "instagram"
	default:
		return nil, nil // another product's delivery: nothing for us
	}
	var out []batch
	index := map[string]int{}
	add := func(accID, key string, it channels.Item) {
		i, ok := index[accID]
		if !ok {
			i = len(out)
			index[accID] = i
			out = append(out, batch{acc: channels.Account{Platform: platform, RemoteID: accID}})
		}
		out[i].items = append(out[i].items, it)
		out[i].keys = append(out[i].keys, platform+":"+key)
	}
	for _, e := range p.Entry {
		if e.ID == "" {
			return nil, errors.New("decode delivery: an entry has no id")
		}
		when := unixTime(e.Time)
		for _, c := range e.Changes {
			if err := parseChange(platform, e.ID, when, c, add); err != nil {
				return nil, err
			}
		}
		for _, m := range e.Messaging {
			if m.Message == nil || m.Message.IsEcho || m.Message.Mid == "" || m.Sender.ID == "" || m.Sender.ID == e.ID {
				continue
			}
			at := unixTime(m.Timestamp)
			if at.IsZero() {
				at = when
			}
			// Messaging events carry no conversation ID; a Page has one
			// conversation per person, so the sender's ID names it.
			add(e.ID, "m:"+m.Message.Mid, channels.Item{
				PlatformID: m.Message.Mid, ThreadID: m.Sender.ID, AuthorID: m.Sender.ID,
				Text: m.Message.Text, Kind: "dm", CreatedAt: at,
			})
		}
	}
	return out, nil
}

func parseChange(platform, accID string, when time.Time, c change, add func(accID, key string, it channels.Item)) error {
	decode := func(v any) error {
		if err := json.Unmarshal(c.Value, v); err != nil {
			return fmt.Errorf("decode %s change of %s: %w", c.Field, accID, err)
		}
		return nil
	}
	switch {
	case platform == "facebook" && c.Field == "feed":
		var v feedValue
		if err := decode(&v); err != nil {
			return err
		}
		if v.Item != "comment" || v.CommentID == "" || (v.Verb != "add" && v.Verb != "edited") {
			return nil
		}
		if v.From != nil && v.From.ID == accID {
			return nil // the Page's own comment
		}
		at := unixTime(v.CreatedTime)
		if at.IsZero() {
			at = when
		}
		key := "c:" + v.CommentID
		if v.Verb == "edited" {
			key += ":edited:" + digest(v.Message)
		}
		it := channels.Item{PlatformID: v.CommentID, ThreadID: v.PostID, Text: v.Message, Kind: "comment", CreatedAt: at}
		if v.From != nil {
			it.AuthorID, it.AuthorName = v.From.ID, v.From.Name
		}
		add(accID, key, it)
	case platform == "instagram" && c.Field == "comments":
		var v igCommentValue
		if err := decode(&v); err != nil {
			return err
		}
		if v.ID == "" || (v.From != nil && v.From.ID == accID) {
			return nil
		}
		it := channels.Item{PlatformID: v.ID, Text: v.Text, Kind: "comment", CreatedAt: when}
		if v.Media != nil {
			it.ThreadID = v.Media.ID
		}
		if v.From != nil {
			it.AuthorID, it.AuthorName = v.From.ID, v.From.Username
		}
		add(accID, "c:"+v.ID, it)
	case platform == "instagram" && c.Field == "mentions":
		var v igMentionValue
		if err := decode(&v); err != nil {
			return err
		}
		id := v.CommentID
		if id == "" {
			id = v.MediaID
		}
		if id == "" {
			return nil
		}
		// Mentions carry IDs only; the text is read with
		// GET /{ig-user-id}?fields=mentioned_comment.comment_id(…) or
		// mentioned_media.media_id(…).
		add(accID, "mention:"+id, channels.Item{PlatformID: id, ThreadID: v.MediaID, Kind: "mention", CreatedAt: when})
	}
	return nil
}

// unixTime reads a Unix time in seconds or, as Messenger sends,
// milliseconds; the zero time when there is none.
func unixTime(n json.Number) time.Time {
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v <= 0 {
		return time.Time{}
	}
	if v > 1e12 {
		return time.UnixMilli(v).UTC()
	}
	return time.Unix(v, 0).UTC()
}

func digest(s string) string {
	h := fnv.New64a()
	io.WriteString(h, s)
	return strconv.FormatUint(h.Sum64(), 36)
}
