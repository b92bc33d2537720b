package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// clock is a settable fake clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func openTest(t testing.TB) (*Store, *clock) {
	t.Helper()
	c := &clock{t: t0}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "branchline.db"), WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func mustLocation(t testing.TB, s *Store) Location {
	t.Helper()
	l := Location{Name: "Copper Kettle Riverside", ShortName: "Riverside", TimeZone: "America/Los_Angeles", OpeningHours: `{"mon":["11:00-22:00"]}`}
	if err := s.CreateLocation(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func inbound(i int, text string, needs bool) Inbound {
	return Inbound{
		Platform: "facebook", Account: "copperkettle.riverside", PlatformID: fmt.Sprintf("fb-%d", i),
		AuthorName: fmt.Sprintf("Customer %d", i%7), AuthorID: fmt.Sprintf("u%d", i%7), Text: text, Kind: "comment",
		CreatedAt: t0.Add(-time.Duration(1000-i) * time.Minute), Source: "test",
		Triage: Triaged{NeedsResponse: needs, Stage: "pre_purchase", Department: "sales", Reasons: `[{"rule":"question"}]`},
	}
}

func TestInsertInboundNeverDuplicates(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	batch := []Inbound{inbound(1, "what time do you open?", true), inbound(2, "thanks!", false), inbound(1, "what time do you open?", true)}
	res, err := s.InsertInbound(ctx, l.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 2 || res.Duplicates != 1 {
		t.Fatalf("first insert: %+v, want 2 inserted and 1 duplicate", res)
	}
	res, err = s.InsertInbound(ctx, l.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 0 || res.Duplicates != 3 {
		t.Fatalf("second insert: %+v, want nothing new", res)
	}
	n, _ := s.CountMessages(ctx, "in")
	if n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
	// The same platform ID on another account is another message.
	other := inbound(1, "what time do you open?", true)
	other.Account = "copperkettle.jobs"
	if res, err := s.InsertInbound(ctx, l.ID, []Inbound{other}); err != nil || res.Inserted != 1 {
		t.Fatalf("other account: %+v %v", res, err)
	}
	// Each reported ID is the row of the batch entry reported with it,
	// whether the batch was all new or partly stored already.
	mixed := []Inbound{inbound(1, "what time do you open?", true), inbound(3, "a", true), inbound(4, "b", true), inbound(3, "a", true)}
	fresh := []Inbound{inbound(5, "c", true), inbound(6, "d", false), inbound(7, "e", true)}
	for _, b := range [][]Inbound{mixed, fresh} {
		res, err := s.InsertInbound(ctx, l.ID, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.IDs) != len(res.Index) || res.Inserted != len(res.IDs) || res.Inserted+res.Duplicates != len(b) {
			t.Fatalf("result %+v does not add up for %d rows", res, len(b))
		}
		for i, id := range res.IDs {
			row, err := s.MessageByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := b[res.Index[i]]; row.PlatformID != want.PlatformID || row.Text != want.Text {
				t.Errorf("ID %d is %s %q, reported for %s %q", id, row.PlatformID, row.Text, want.PlatformID, want.Text)
			}
		}
	}
	accs, _ := s.Accounts(ctx)
	if len(accs) != 2 || accs[0].State != AccountImportOnly {
		t.Fatalf("accounts = %+v, want two import-only accounts", accs)
	}
}

// TestWriterSettingsBackAfterBulkInsert: a bulk insert runs with the
// database's foreign-key checks off and commits that do not wait for the
// disk (writeBulk); every other write, after a batch that succeeded and
// after one that failed, has the checks on and waits for the disk.
func TestWriterSettingsBackAfterBulkInsert(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	settings := func(tx *gorm.DB) (fk, sync int) {
		if err := tx.Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil {
			t.Fatal(err)
		}
		if err := tx.Raw("PRAGMA synchronous").Scan(&sync).Error; err != nil {
			t.Fatal(err)
		}
		return fk, sync
	}
	dangling := func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO notes (conversation_id, staff_id, text, created_at) VALUES (424242, 424242, 'y', ?)`, t0).Error
	}
	restored := func(when string) {
		t.Helper()
		var fk, sync int
		if err := s.write(ctx, func(tx *gorm.DB) error { fk, sync = settings(tx); return nil }); err != nil || fk != 1 || sync != 2 {
			t.Fatalf("%s: foreign_keys = %d, synchronous = %d (%v), want 1 and 2 (FULL)", when, fk, sync, err)
		}
		if err := s.write(ctx, dangling); !errors.Is(err, gorm.ErrForeignKeyViolated) {
			t.Fatalf("%s: a note on a conversation that does not exist: err = %v, want a foreign-key error", when, err)
		}
	}
	restored("before")
	if _, err := s.InsertInbound(ctx, l.ID, []Inbound{inbound(1, "what time do you open?", true)}); err != nil {
		t.Fatal(err)
	}
	restored("after a bulk insert")
	boom := errors.New("boom")
	err := s.writeBulk(ctx, func(tx *gorm.DB, _ handleFunc) error {
		if fk, sync := settings(tx); fk != 0 || sync != 1 {
			t.Errorf("inside writeBulk: foreign_keys = %d, synchronous = %d, want 0 and 1 (NORMAL)", fk, sync)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("writeBulk returned %v, want its function's error", err)
	}
	restored("after a failed bulk insert")
}

// TestInsertInboundRefusesWhatItCannotStore: a batch with a sentiment that
// is not a number, or for a location that does not exist, is refused
// whole, with an error that says why, rather than stored in part.
func TestInsertInboundRefusesWhatItCannotStore(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	bad := inbound(2, "thanks!", false)
	bad.Triage.Sentiment = math.NaN()
	if _, err := s.InsertInbound(ctx, l.ID, []Inbound{inbound(1, "what time do you open?", true), bad}); err == nil || !strings.Contains(err.Error(), "fb-2: sentiment NaN is not a number") {
		t.Errorf("a NaN sentiment: err = %v", err)
	}
	if _, err := s.InsertInbound(ctx, l.ID+41, []Inbound{inbound(3, "hello", true)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown location: err = %v, want ErrNotFound", err)
	}
	if n, _ := s.CountMessages(ctx, "in"); n != 0 {
		t.Errorf("%d messages stored from refused batches", n)
	}
	if accs, _ := s.Accounts(ctx); len(accs) != 0 {
		t.Errorf("accounts %+v made by refused batches", accs)
	}
}

func TestInsertInboundTracksCustomersAndConversations(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	a := inbound(1, "is the patio open?", true)
	b := inbound(8, "and do you allow dogs?", true) // same customer (i%7 == 1), same thread
	a.ThreadID, b.ThreadID = "post-1", "post-1"
	c := inbound(15, "dm: where is my order", true) // same customer, another thread
	c.Kind = "dm"
	if _, err := s.InsertInbound(ctx, l.ID, []Inbound{a, b, c}); err != nil {
		t.Fatal(err)
	}
	row, err := s.MessageByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	thread, err := s.ConversationMessages(ctx, row.ConversationID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(thread) != 2 || thread[0].Text != a.Text || thread[1].Text != b.Text {
		t.Fatalf("thread = %+v", thread)
	}
	hist, err := s.CustomerHistory(ctx, *row.CustomerID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("customer history has %d messages, want 3 across the comment thread and the DM", len(hist))
	}
	stats, err := s.CustomerStats(ctx, *row.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 3 || !stats.FirstSeenAt.Equal(a.CreatedAt) || !stats.LastSeenAt.Equal(c.CreatedAt) {
		t.Errorf("stats = %+v, want 3 messages from %s to %s", stats, a.CreatedAt, c.CreatedAt)
	}
}

func TestInboxFiltersAndPages(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	var batch []Inbound
	for i := range 120 {
		batch = append(batch, inbound(i, fmt.Sprintf("message number %d about fries", i), i%3 == 0))
	}
	if _, err := s.InsertInbound(ctx, l.ID, batch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		want   int
	}{{FilterAll, 120}, {FilterNeedsResponse, 40}, {FilterUnanswered, 40}}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			var seen []int64
			cursor := ""
			for page := 0; ; page++ {
				rows, next, err := s.Inbox(ctx, InboxQuery{Filter: tt.filter, Limit: 25, After: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range rows {
					if len(seen) > 0 && i == 0 {
						prev, _ := s.MessageByID(ctx, seen[len(seen)-1])
						if r.CreatedAt.After(prev.CreatedAt) {
							t.Fatalf("page %d starts newer than the previous page ended", page)
						}
					}
					seen = append(seen, r.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != tt.want {
				t.Fatalf("paged through %d messages, want %d", len(seen), tt.want)
			}
			uniq := map[int64]bool{}
			for _, id := range seen {
				uniq[id] = true
			}
			if len(uniq) != len(seen) {
				t.Fatalf("a message came twice while paging")
			}
		})
	}
	if _, _, err := s.Inbox(ctx, InboxQuery{Filter: "urgent"}); err == nil || !strings.Contains(err.Error(), `"urgent"`) {
		t.Errorf("unknown filter error = %v", err)
	}
	if _, _, err := s.Inbox(ctx, InboxQuery{After: "not-a-cursor"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor error = %v", err)
	}
}

func TestFullTextSearch(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	msgs := []Inbound{inbound(1, "The fries were soggy and cold", true), inbound(2, "Loved the Smokehouse burger", false), inbound(3, "Crème brûlée shake please!", true)}
	if _, err := s.InsertInbound(ctx, l.ID, msgs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  []string // platform IDs
	}{
		{"soggy", []string{"fb-1"}},
		{"SOGGY fries", []string{"fb-1"}},
		{"smoke*", []string{"fb-2"}},        // a star asks for a prefix
		{"SMOKE*", []string{"fb-2"}},        // of any case
		{"crèm*", []string{"fb-3"}},         // with diacritics, folded
		{"fri* cold", []string{"fb-1"}},     // beside whole words
		{"zzz*", nil},                       // that no word begins with
		{"smoke", nil},                      // otherwise words are whole
		{"sm*", nil},                        // and a prefix has three letters or more
		{"creme brulee", []string{"fb-3"}},  // diacritics folded
		{`fries OR smokehouse`, nil},        // FTS syntax is not interpreted: "or" is a word
		{`(fries "cold"`, []string{"fb-1"}}, // nor are its brackets and quotes
		{"customer 2", []string{"fb-2"}},    // author names are indexed
		{"pizza", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rows, _, err := s.Inbox(ctx, InboxQuery{Search: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.PlatformID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("search %q = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

// TestPrefixSearchSpelledOut: a prefix is searched as the terms that begin
// with it, newest first and paged like any search, and a prefix that
// matches too many terms to spell out is left to FTS5 with the same result.
func TestPrefixSearchSpelledOut(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	var msgs []Inbound
	for i := range maxPrefixTerms + 8 {
		msgs = append(msgs, inbound(i+1, fmt.Sprintf("combo%02d please, and a burger", i), true))
	}
	if _, err := s.InsertInbound(ctx, l.ID, msgs); err != nil {
		t.Fatal(err)
	}
	terms, ok, err := s.prefixTerms(ctx, "combo0")
	if err != nil || !ok || len(terms) != 10 || terms[0] != "combo00" || terms[9] != "combo09" {
		t.Fatalf("prefixTerms(combo0) = %v, %v, %v; want combo00 to combo09", terms, ok, err)
	}
	if _, ok, err := s.prefixTerms(ctx, "combo"); err != nil || ok {
		t.Fatalf("prefixTerms(combo) = %v, %v; want too many to spell out", ok, err)
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"combo0*", 10},                // spelled out
		{"combo*", maxPrefixTerms + 8}, // left to FTS5
		{"combo* burg*", maxPrefixTerms + 8},
		{"combo1* pizza", 0},
	} {
		var got []string
		after := ""
		for {
			rows, next, err := s.Inbox(ctx, InboxQuery{Search: tt.query, Limit: 7, After: after})
			if err != nil {
				t.Fatalf("search %q: %v", tt.query, err)
			}
			for _, r := range rows {
				got = append(got, r.PlatformID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if len(got) != tt.want {
			t.Errorf("search %q found %d messages, want %d", tt.query, len(got), tt.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i-1] == got[i] {
				t.Errorf("search %q listed %s twice", tt.query, got[i])
			}
		}
	}
}

func TestAuditLogIsAppendOnlyAndChained(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	mustLocation(t, s)
	for i := range 5 {
		if err := s.Audit(ctx, "maria", "test.event", Subject("thing", int64(i)), map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.VerifyAudit(ctx)
	if err != nil || n != 6 {
		t.Fatalf("VerifyAudit = %d, %v; want 6 entries that verify", n, err)
	}
	if err := s.w.Exec("UPDATE audit_events SET actor = 'mallory' WHERE id = 3").Error; err == nil {
		t.Fatal("an audit event was updated")
	}
	if err := s.w.Exec("DELETE FROM audit_events WHERE id = 3").Error; err == nil {
		t.Fatal("an audit event was deleted")
	}
	// With the triggers dropped, a forged row breaks the chain.
	s.w.Exec("DROP TRIGGER audit_events_no_update")
	if err := s.w.Exec("UPDATE audit_events SET actor = 'mallory' WHERE id = 3").Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyAudit(ctx); !errors.Is(err, ErrAuditTampered) {
		t.Fatalf("VerifyAudit after tampering = %v, want ErrAuditTampered", err)
	}
}

func TestModelsMatchSchema(t *testing.T) {
	s, _ := openTest(t)
	for _, m := range []any{&Location{}, &Account{}, &Customer{}, &Staff{}, &Conversation{}, &Message{}, &Reply{}, &Template{}, &GuidelinePack{}, &AuditEvent{}, &Setting{}} {
		stmt := s.w.Model(m).Statement
		if err := stmt.Parse(m); err != nil {
			t.Fatal(err)
		}
		for _, f := range stmt.Schema.Fields {
			if f.DBName == "" {
				continue
			}
			if !s.w.Migrator().HasColumn(m, f.DBName) {
				t.Errorf("%s.%s has no column %s in table %s", stmt.Schema.Name, f.Name, f.DBName, stmt.Schema.Table)
			}
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.w.Exec("PRAGMA user_version = 999")
	s.Close()
	if _, err := Open(context.Background(), path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer database: %v", err)
	}
}

// TestMigrationFromVersion1 opens a database file made by schema version
// 1 (testdata/schema-v1.db, written by writeV1Fixture) and checks that the
// upgrade keeps every row and indexes the old messages for search.
func TestMigrationFromVersion1(t *testing.T) {
	if os.Getenv("BRANCHLINE_WRITE_FIXTURE") != "" {
		writeV1Fixture(t, "testdata/schema-v1.db")
	}
	path := filepath.Join(t.TempDir(), "old.db")
	copyFile(t, "testdata/schema-v1.db", path)
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var version int
	s.w.Raw("PRAGMA user_version").Scan(&version)
	if version != SchemaVersion() {
		t.Fatalf("schema version %d after open, want %d", version, SchemaVersion())
	}
	n, _ := s.CountMessages(ctx, "in")
	if n != 3 {
		t.Fatalf("%d messages after the upgrade, want the 3 of the old file", n)
	}
	rows, _, err := s.Inbox(ctx, InboxQuery{Search: "onion rings"})
	if err != nil || len(rows) != 1 || rows[0].AuthorName != "Dana" {
		t.Fatalf("search in upgraded data = %+v, %v", rows, err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain of the old file: %v", err)
	}
	if l, err := s.Location(ctx); err != nil || l.Name != "Old Town" {
		t.Fatalf("location = %+v, %v", l, err)
	}
	checkSortKeys(t, s)
}

// writeV1Fixture makes a database with schema version 1 only and a little
// data, the way version 1 of Branchline wrote it.
func writeV1Fixture(t *testing.T, path string) {
	os.Remove(path)
	c := &clock{t: t0}
	s := &Store{path: path, now: c.now}
	w, err := s.open(path, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	s.w = w
	ctx := context.Background()
	if err := migrate(ctx, w, 1); err != nil {
		t.Fatal(err)
	}
	l := Location{Name: "Old Town", TimeZone: "Europe/Berlin"}
	if err := s.CreateLocation(ctx, &l); err != nil {
		t.Fatal(err)
	}
	// Accounts, conversations and messages as plain rows.
	exec := func(q string, args ...any) {
		if err := w.Exec(q, args...).Error; err != nil {
			t.Fatal(q, err)
		}
	}
	exec(`INSERT INTO accounts (id, location_id, platform, handle, created_at, updated_at) VALUES (1, ?, 'google', 'oldtown', ?, ?)`, l.ID, t0, t0)
	for i, text := range []string{"Are the onion rings vegan?", "Great shakes", "Order never arrived"} {
		id := i + 1
		exec(`INSERT INTO conversations (id, account_id, thread_id, kind, last_message_at, created_at) VALUES (?, 1, ?, 'review', ?, ?)`, id, fmt.Sprint("r", id), t0, t0)
		exec(`INSERT INTO messages (id, conversation_id, account_id, direction, platform_id, kind, author_name, text, created_at, received_at, needs_response)
			VALUES (?, ?, 1, 'in', ?, 'review', ?, ?, ?, ?, ?)`, id, id, fmt.Sprint("r", id), []string{"Dana", "Eli", "Fay"}[i], text, t0, t0, i != 1)
	}
	if err := w.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		t.Fatal(err)
	}
	if err := w.Exec("PRAGMA journal_mode = DELETE").Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := w.DB()
	sqlDB.Close()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
