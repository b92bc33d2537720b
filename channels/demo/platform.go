// Package demo is an embedded, simulated social platform for the demo
// location: it produces a realistic stream of customer messages for Copper
// Kettle Riverside (questions about hours and the menu, orders gone wrong,
// praise, reviews, a job enquiry, now and then a crisis) and accepts
// replies.
//
// The platform keeps its state in its own SQLite file, apart from the
// node's database, the way a real platform keeps its state on its own
// servers. A reply posted to it survives a crash of the app, so the
// outbox's "did it land?" check is exercised for real. It does not honour
// idempotency keys, as many real platforms don't.
//
// Messages are generated per time slot from a seeded random source, so the
// stream is the same whenever it is polled.
package demo

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/glebarez/go-sqlite" // registers the "sqlite" driver

	"github.com/branchline/branchline/channels"
)

// Connector is the connector name of demo accounts.
const Connector = "demo"

// AccountSpec is one of the demo location's accounts.
type AccountSpec struct {
	Platform, Handle, DisplayName, Purpose string
}

// Accounts are the demo location's accounts: one brand runs separate
// accounts per audience (a jobs page apart from the main one).
var Accounts = []AccountSpec{
	{"facebook", "copperkettle.riverside", "Copper Kettle Riverside", "main"},
	{"instagram", "copperkettle_riverside", "copperkettle_riverside", "main"},
	{"google", "copper-kettle-riverside", "Copper Kettle Riverside (Google reviews)", "main"},
	{"mastodon", "@riverside@copperkettle.social", "Copper Kettle Riverside", "care"},
	{"facebook", "copperkettle.jobs", "Copper Kettle Careers", "jobs"},
}

// Options configures the platform.
type Options struct {
	Seed uint64
	// Zone is the restaurant's time zone: the stream follows meal times.
	Zone *time.Location
	// HistoryPerDay is the average number of messages a day before Live,
	// LivePerHour the rate after it (the demo keeps new messages coming).
	HistoryPerDay float64
	LivePerHour   float64
	// Live is when the live stream starts; the zero time means the
	// platform's creation.
	Live time.Time
	// FailEvery makes every n-th reply attempt fail with a transient error
	// (0: never), to show retries.
	FailEvery int
}

// Platform is the simulated platform.
type Platform struct {
	db   *sql.DB
	opts Options
	now  func() time.Time
	// attempts counts reply attempts, for FailEvery.
	attempts atomic.Int64
}

// slot is the generator's time step.
const slot = time.Minute

// Open opens (creating it if needed) the platform's state file.
func Open(ctx context.Context, path string, opts Options, now func() time.Time) (*Platform, error) {
	if opts.Zone == nil {
		opts.Zone = time.UTC
	}
	if opts.HistoryPerDay == 0 {
		opts.HistoryPerDay = 22
	}
	if opts.LivePerHour == 0 {
		opts.LivePerHour = 30
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open demo platform %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS items (
			seq INTEGER PRIMARY KEY, platform TEXT NOT NULL, account TEXT NOT NULL, platform_id TEXT NOT NULL UNIQUE,
			thread_id TEXT NOT NULL, author_name TEXT NOT NULL, author_id TEXT NOT NULL, text TEXT NOT NULL,
			kind TEXT NOT NULL, rating INTEGER NOT NULL, created_at INTEGER NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS items_account ON items(platform, account, seq)`,
		`CREATE TABLE IF NOT EXISTS replies (
			seq INTEGER PRIMARY KEY, platform TEXT NOT NULL, account TEXT NOT NULL, remote_id TEXT NOT NULL UNIQUE,
			in_reply_to TEXT NOT NULL, thread_id TEXT NOT NULL, text TEXT NOT NULL, private INTEGER NOT NULL,
			idempotency_key TEXT NOT NULL, created_at INTEGER NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS replies_target ON replies(in_reply_to)`,
		`CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("open demo platform %s: %w", path, err)
		}
	}
	p := &Platform{db: db, opts: opts, now: now}
	live := opts.Live
	if live.IsZero() {
		live = now()
	}
	stored, err := p.state(ctx, "live", live.UTC().Format(time.RFC3339Nano))
	if err != nil {
		db.Close()
		return nil, err
	}
	p.opts.Live, _ = time.Parse(time.RFC3339Nano, stored)
	return p, nil
}

// Close closes the state file.
func (p *Platform) Close() error { return p.db.Close() }

// state returns a stored value, storing def first if there is none.
func (p *Platform) state(ctx context.Context, key, def string) (string, error) {
	if _, err := p.db.ExecContext(ctx, `INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, key, def); err != nil {
		return "", fmt.Errorf("demo platform state %s: %w", key, err)
	}
	var v string
	err := p.db.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	return v, err
}

// Advance generates every message due up to now. Poll calls it.
func (p *Platform) Advance(ctx context.Context, from time.Time) error {
	now := p.now().UTC()
	last, err := p.state(ctx, "generated_until", strconv.FormatInt(from.UTC().Truncate(slot).Unix(), 10))
	if err != nil {
		return err
	}
	start, _ := strconv.ParseInt(last, 10, 64)
	end := now.Truncate(slot).Unix()
	if end <= start {
		return nil
	}
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO items (platform, account, platform_id, thread_id, author_name, author_id, text, kind, rating, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer ins.Close()
	// After a long pause (the app was closed), the gap is filled at the
	// history rate, not the lively demo rate.
	liveFrom := max(p.opts.Live.Unix(), now.Add(-2*time.Hour).Unix())
	for s := start; s < end; s += int64(slot / time.Second) {
		it, acc, ok := p.generate(time.Unix(s, 0).UTC(), s >= liveFrom)
		if !ok {
			continue
		}
		if _, err := ins.ExecContext(ctx, acc.Platform, acc.Handle, it.PlatformID, it.ThreadID, it.AuthorName, it.AuthorID,
			it.Text, it.Kind, it.Rating, it.CreatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("demo platform: store generated message: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE state SET value = ? WHERE key = 'generated_until'`, strconv.FormatInt(end, 10)); err != nil {
		return err
	}
	return tx.Commit()
}

// rate is the chance of a message in the slot starting at t: the live rate,
// or a daily rate shaped by meal times.
func (p *Platform) rate(t time.Time, live bool) float64 {
	if live {
		return p.opts.LivePerHour / 60
	}
	h := t.In(p.opts.Zone).Hour()
	// Weights per hour of the day, summing to about 1.
	weights := [24]float64{.01, .005, .003, .002, .002, .003, .008, .02, .03, .04, .05, .07, .09, .07, .05, .04, .05, .07, .09, .08, .07, .06, .04, .02}
	return p.opts.HistoryPerDay * weights[h] / 60
}

// generate decides whether the slot at t has a message, and which.
func (p *Platform) generate(t time.Time, live bool) (channels.Item, AccountSpec, bool) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d:%d", p.opts.Seed, t.Unix())
	r := rand.New(rand.NewPCG(p.opts.Seed, h.Sum64()))
	if r.Float64() >= p.rate(t, live) {
		return channels.Item{}, AccountSpec{}, false
	}
	s := pick(r, t)
	acc := accountFor(r, s)
	author := authors[zipf(r, len(authors))]
	authorID := fmt.Sprintf("%s-u%d", acc.Platform[:2], fnvOf(author)%100000)
	id := fmt.Sprintf("%s-%d", strings.ReplaceAll(acc.Handle, "@", ""), t.Unix())
	thread := id
	switch s.kind {
	case "comment":
		// A post a day, commented on.
		thread = fmt.Sprintf("post-%s", t.In(p.opts.Zone).Format("20060102"))
	case "dm":
		thread = "dm-" + authorID
	}
	it := channels.Item{
		PlatformID: id, ThreadID: thread, AuthorName: author, AuthorID: authorID,
		Text: fill(r, s.text), Kind: s.kind, Rating: s.rating,
		CreatedAt: t.Add(time.Duration(r.IntN(60)) * time.Second),
	}
	return it, acc, true
}

// topicWeights are how often each topic comes up; crises are rare.
var topicWeights = map[string]float64{
	"hours": 11, "menu": 10, "allergy": 5, "catering": 3, "offer": 6, "order": 9, "complaint": 13,
	"praise": 15, "review": 14, "job": 3, "spam": 3, "chatter": 6, "crisis": 1.2,
}

var byTopic = func() map[string][]sample {
	m := map[string][]sample{}
	for _, s := range corpus {
		m[s.topic] = append(m[s.topic], s)
	}
	return m
}()

func pick(r *rand.Rand, t time.Time) sample {
	total := 0.0
	for topic, w := range topicWeights {
		if len(byTopic[topic]) > 0 {
			total += w
		}
	}
	x := r.Float64() * total
	for _, topic := range sortedTopics {
		w := topicWeights[topic]
		if len(byTopic[topic]) == 0 {
			continue
		}
		if x < w {
			list := byTopic[topic]
			return list[r.IntN(len(list))]
		}
		x -= w
	}
	return corpus[r.IntN(len(corpus))]
}

var sortedTopics = []string{"hours", "menu", "allergy", "catering", "offer", "order", "complaint", "praise", "review", "job", "spam", "chatter", "crisis"}

func accountFor(r *rand.Rand, s sample) AccountSpec {
	switch {
	case s.jobs:
		return Accounts[4]
	case s.kind == "review":
		return Accounts[2]
	case s.kind == "mention":
		if r.IntN(2) == 0 {
			return Accounts[3]
		}
		return Accounts[1]
	}
	// Comments and DMs: Facebook, Instagram or Mastodon.
	switch x := r.IntN(10); {
	case x < 5:
		return Accounts[0]
	case x < 9:
		return Accounts[1]
	default:
		return Accounts[3]
	}
}

// zipf picks an index with a long tail, so some customers write often.
func zipf(r *rand.Rand, n int) int {
	x := r.ExpFloat64() * float64(n) / 6
	return int(x) % n
}

func fnvOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func fill(r *rand.Rand, text string) string {
	repl := func(slot string, list []string) {
		for strings.Contains(text, slot) {
			text = strings.Replace(text, slot, list[r.IntN(len(list))], 1)
		}
	}
	repl("{item}", items)
	repl("{side}", sides)
	repl("{staff}", staffNames)
	repl("{day}", days)
	repl("{friend}", friends)
	for strings.Contains(text, "{minutes}") {
		text = strings.Replace(text, "{minutes}", strconv.Itoa(25+5*r.IntN(12)), 1)
	}
	return text
}

// Poll returns the account's items after cursor (a sequence number).
func (p *Platform) Poll(ctx context.Context, acc channels.Account, cursor string) (channels.Page, error) {
	if err := p.Advance(ctx, p.opts.Live); err != nil {
		return channels.Page{}, err
	}
	after := int64(0)
	if cursor != "" {
		var err error
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return channels.Page{}, fmt.Errorf("demo platform: bad cursor %q", cursor)
		}
	}
	const pageSize = 200
	rows, err := p.db.QueryContext(ctx, `SELECT seq, platform_id, thread_id, author_name, author_id, text, kind, rating, created_at
		FROM items WHERE platform = ? AND account = ? AND seq > ? ORDER BY seq LIMIT ?`, acc.Platform, acc.Handle, after, pageSize+1)
	if err != nil {
		return channels.Page{}, err
	}
	defer rows.Close()
	page := channels.Page{Cursor: cursor}
	for rows.Next() {
		if len(page.Items) == pageSize {
			page.More = true
			break
		}
		var it channels.Item
		var seq, ms int64
		if err := rows.Scan(&seq, &it.PlatformID, &it.ThreadID, &it.AuthorName, &it.AuthorID, &it.Text, &it.Kind, &it.Rating, &ms); err != nil {
			return channels.Page{}, err
		}
		it.CreatedAt = time.UnixMilli(ms).UTC()
		page.Items = append(page.Items, it)
		page.Cursor = strconv.FormatInt(seq, 10)
	}
	return page, rows.Err()
}

// errTransient is the simulated transient failure.
var errTransient = errors.New("demo platform: temporary failure (simulated)")

// Reply posts a reply.
func (p *Platform) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	if strings.TrimSpace(req.Text) == "" {
		return "", fmt.Errorf("%w: empty reply", channels.ErrPermanent)
	}
	if n := p.attempts.Add(1); p.opts.FailEvery > 0 && n%int64(p.opts.FailEvery) == 0 {
		return "", errTransient
	}
	remote := "reply-" + strings.ToLower(crand.Text()[:16])
	_, err := p.db.ExecContext(ctx, `INSERT INTO replies (platform, account, remote_id, in_reply_to, thread_id, text, private, idempotency_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, req.Account.Platform, req.Account.Handle, remote, req.InReplyTo, req.ThreadID,
		req.Text, req.Private, req.IdempotencyKey, p.now().UnixMilli())
	if err != nil {
		return "", fmt.Errorf("demo platform: post reply: %w", err)
	}
	return remote, nil
}

// FindReply looks for our reply to the same message with the same text,
// posted since the first attempt: what a connector for a real platform
// does by reading the thread.
func (p *Platform) FindReply(ctx context.Context, req channels.ReplyRequest) (string, bool, error) {
	var remote string
	err := p.db.QueryRowContext(ctx, `SELECT remote_id FROM replies
		WHERE platform = ? AND account = ? AND in_reply_to = ? AND text = ? AND created_at >= ?
		ORDER BY seq LIMIT 1`, req.Account.Platform, req.Account.Handle, req.InReplyTo, req.Text,
		req.FirstAttempt.Add(-time.Minute).UnixMilli()).Scan(&remote)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return remote, true, nil
}

// PostedReply is a reply as the platform holds it.
type PostedReply struct {
	RemoteID, InReplyTo, Text, IdempotencyKey string
	CreatedAt                                 time.Time
}

// Replies returns every reply posted to the platform, for tests and for
// the demo's "what the customer sees" view.
func (p *Platform) Replies(ctx context.Context) ([]PostedReply, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT remote_id, in_reply_to, text, idempotency_key, created_at FROM replies ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PostedReply
	for rows.Next() {
		var r PostedReply
		var ms int64
		if err := rows.Scan(&r.RemoteID, &r.InReplyTo, &r.Text, &r.IdempotencyKey, &ms); err != nil {
			return nil, err
		}
		r.CreatedAt = time.UnixMilli(ms).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

var _ channels.Channel = (*Platform)(nil)

// Synthetic returns n messages of the demo stream, one every step from
// start, with account handles, for load tests and benchmarks.
func Synthetic(seed uint64, n int, start time.Time, step time.Duration) []SyntheticItem {
	p := &Platform{opts: Options{Seed: seed, Zone: time.UTC, LivePerHour: 60}}
	out := make([]SyntheticItem, 0, n)
	for t := start; len(out) < n; t = t.Add(step) {
		it, acc, _ := p.generateAlways(t)
		it.PlatformID = fmt.Sprintf("%s-%d", it.PlatformID, len(out))
		out = append(out, SyntheticItem{Item: it, Platform: acc.Platform, Account: acc.Handle})
	}
	return out
}

// SyntheticItem is an item with the account it belongs to.
type SyntheticItem struct {
	channels.Item
	Platform, Account string
}

// generateAlways is generate without the chance of an empty slot.
func (p *Platform) generateAlways(t time.Time) (channels.Item, AccountSpec, bool) {
	saved := p.opts.LivePerHour
	p.opts.LivePerHour = 60 // probability 1 per minute slot
	defer func() { p.opts.LivePerHour = saved }()
	return p.generate(t, true)
}
