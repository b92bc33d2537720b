package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// The schema is a list of numbered migrations, applied in order inside one
// transaction each and recorded in PRAGMA user_version. A migration, once
// released, never changes: a database made by any earlier version is
// brought forward step by step (TestMigrationFromVersion1 opens a file made
// by version 1). Plain SQL rather than AutoMigrate keeps each step exact and
// reviewable; TestModelsMatchSchema checks that the GORM structs and the
// tables agree.
type migration struct {
	version int
	name    string
	sql     []string
}

var migrations = []migration{
	{1, "core tables", []string{
		`CREATE TABLE locations (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			short_name TEXT NOT NULL DEFAULT '',
			brand TEXT NOT NULL DEFAULT '',
			region TEXT NOT NULL DEFAULT '',
			time_zone TEXT NOT NULL DEFAULT 'UTC',
			phone TEXT NOT NULL DEFAULT '',
			address TEXT NOT NULL DEFAULT '',
			opening_hours TEXT NOT NULL DEFAULT '{}',
			demo INTEGER NOT NULL DEFAULT 0,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE TABLE accounts (
			id INTEGER PRIMARY KEY,
			location_id INTEGER NOT NULL REFERENCES locations(id),
			platform TEXT NOT NULL,
			handle TEXT NOT NULL,
			display_name TEXT NOT NULL DEFAULT '',
			purpose TEXT NOT NULL DEFAULT 'main',
			connector TEXT NOT NULL DEFAULT '',
			state TEXT NOT NULL DEFAULT 'import_only',
			cursor TEXT NOT NULL DEFAULT '',
			last_polled_at DATETIME,
			last_error TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL,
			UNIQUE (platform, handle)
		)`,
		// Customers and conversations are never deleted and their keys
		// never change: bulk inserts cache their IDs (idcache.go).
		`CREATE TABLE customers (
			id INTEGER PRIMARY KEY,
			platform TEXT NOT NULL,
			platform_user_id TEXT NOT NULL,
			name TEXT NOT NULL DEFAULT '',
			person_id INTEGER,
			first_seen_at DATETIME NOT NULL,
			UNIQUE (platform, platform_user_id)
		)`,
		`CREATE INDEX customers_person ON customers(person_id) WHERE person_id IS NOT NULL`,
		`CREATE TABLE staff (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			handle TEXT NOT NULL UNIQUE,
			role TEXT NOT NULL CHECK (role IN ('manager', 'crew', 'trainee')),
			pin_hash TEXT NOT NULL DEFAULT '',
			active INTEGER NOT NULL DEFAULT 1,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE TABLE conversations (
			id INTEGER PRIMARY KEY,
			account_id INTEGER NOT NULL REFERENCES accounts(id),
			thread_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			customer_id INTEGER REFERENCES customers(id),
			assignee_id INTEGER REFERENCES staff(id),
			department TEXT NOT NULL DEFAULT '',
			last_message_at DATETIME NOT NULL,
			created_at DATETIME NOT NULL,
			UNIQUE (account_id, thread_id)
		)`,
		`CREATE TABLE messages (
			id INTEGER PRIMARY KEY,
			conversation_id INTEGER NOT NULL REFERENCES conversations(id),
			account_id INTEGER NOT NULL REFERENCES accounts(id),
			customer_id INTEGER REFERENCES customers(id),
			direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
			platform_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			author_name TEXT NOT NULL DEFAULT '',
			author_id TEXT NOT NULL DEFAULT '',
			text TEXT NOT NULL DEFAULT '',
			rating INTEGER NOT NULL DEFAULT 0,
			created_at DATETIME NOT NULL,
			received_at DATETIME NOT NULL,
			source TEXT NOT NULL DEFAULT '',
			needs_response INTEGER NOT NULL DEFAULT 0,
			stage TEXT NOT NULL DEFAULT 'none',
			department TEXT NOT NULL DEFAULT 'none',
			sentiment REAL NOT NULL DEFAULT 0,
			crisis TEXT NOT NULL DEFAULT '',
			priority INTEGER NOT NULL DEFAULT 0,
			listening TEXT NOT NULL DEFAULT '[]',
			reasons TEXT NOT NULL DEFAULT '[]',
			status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replying', 'answered', 'dismissed')),
			answered_at DATETIME,
			UNIQUE (account_id, platform_id)
		)`,
		// The inbox filters read these in their sort order, so a first page
		// never sorts. Messages awaiting an answer (needing one, none sent)
		// serve both "needs response" and "unanswered": one index fewer to
		// keep up on every insert.
		`CREATE INDEX messages_awaiting ON messages(created_at DESC, id DESC)
			WHERE direction = 'in' AND needs_response = 1 AND status IN ('open', 'replying')`,
		`CREATE INDEX messages_inbound ON messages(direction, created_at DESC, id DESC)`,
		`CREATE INDEX messages_conversation ON messages(conversation_id, created_at)`,
		`CREATE INDEX messages_customer ON messages(customer_id, created_at)`,
		`CREATE TABLE replies (
			id INTEGER PRIMARY KEY,
			message_id INTEGER NOT NULL REFERENCES messages(id),
			conversation_id INTEGER NOT NULL REFERENCES conversations(id),
			account_id INTEGER NOT NULL REFERENCES accounts(id),
			author_id INTEGER NOT NULL REFERENCES staff(id),
			text TEXT NOT NULL,
			template TEXT NOT NULL DEFAULT '',
			private INTEGER NOT NULL DEFAULT 0,
			state TEXT NOT NULL CHECK (state IN ('draft', 'pending_approval', 'queued', 'sending', 'sent', 'failed')),
			idempotency_key TEXT NOT NULL UNIQUE,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_attempt_at DATETIME,
			last_error TEXT NOT NULL DEFAULT '',
			remote_id TEXT NOT NULL DEFAULT '',
			findings TEXT NOT NULL DEFAULT '[]',
			approved_by_id INTEGER REFERENCES staff(id),
			review_note TEXT NOT NULL DEFAULT '',
			override_reason TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL,
			sent_at DATETIME
		)`,
		`CREATE INDEX replies_due ON replies(state, next_attempt_at)`,
		`CREATE INDEX replies_message ON replies(message_id)`,
		`CREATE INDEX replies_author ON replies(author_id, created_at)`,
		`CREATE TABLE templates (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL UNIQUE,
			title TEXT NOT NULL DEFAULT '',
			category TEXT NOT NULL DEFAULT '',
			stage TEXT NOT NULL DEFAULT '',
			department TEXT NOT NULL DEFAULT '',
			platforms TEXT NOT NULL DEFAULT '[]',
			kinds TEXT NOT NULL DEFAULT '[]',
			private INTEGER NOT NULL DEFAULT 0,
			body TEXT NOT NULL,
			prompts TEXT NOT NULL DEFAULT '[]',
			source TEXT NOT NULL DEFAULT 'hq',
			version INTEGER NOT NULL DEFAULT 1,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL
		)`,
		`CREATE TABLE guideline_packs (
			id INTEGER PRIMARY KEY,
			pack_id TEXT NOT NULL,
			version INTEGER NOT NULL,
			title TEXT NOT NULL,
			author TEXT NOT NULL DEFAULT '',
			document TEXT NOT NULL,
			active INTEGER NOT NULL DEFAULT 0,
			published_at DATETIME,
			installed_at DATETIME NOT NULL,
			UNIQUE (pack_id, version)
		)`,
		`CREATE TABLE audit_events (
			id INTEGER PRIMARY KEY,
			at DATETIME NOT NULL,
			actor TEXT NOT NULL,
			action TEXT NOT NULL,
			subject TEXT NOT NULL DEFAULT '',
			detail TEXT NOT NULL DEFAULT '{}',
			prev_hash TEXT NOT NULL,
			hash TEXT NOT NULL
		)`,
		`CREATE INDEX audit_subject ON audit_events(subject, id)`,
		`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
			BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
			BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		`CREATE TABLE settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL
		)`,
	}},
	{2, "full-text search over messages", []string{
		// External-content FTS5 index over message text and author. The
		// store keeps it in step itself (message.go): per-row triggers cost
		// four times as much as one bulk insert per import batch.
		`CREATE VIRTUAL TABLE messages_fts USING fts5(
			text, author_name,
			content = 'messages', content_rowid = 'id',
			tokenize = 'unicode61 remove_diacritics 2'
		)`,
		`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`,
		// Merge segments less often while importing; queries stay fast.
		`INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 8)`,
	}},
	{3, "federation", []string{
		// Every signed change this node holds, its own and its peers', as
		// received (raw), with who wrote it.
		`CREATE TABLE fed_changes (
			origin TEXT NOT NULL,
			seq INTEGER NOT NULL,
			kind INTEGER NOT NULL,
			key TEXT NOT NULL,
			at DATETIME NOT NULL,
			body BLOB NOT NULL,
			raw BLOB NOT NULL,
			rank TEXT NOT NULL DEFAULT '',
			author_role TEXT NOT NULL,
			author_location TEXT NOT NULL DEFAULT '',
			author_region TEXT NOT NULL DEFAULT '',
			revoked INTEGER NOT NULL DEFAULT 0,
			received_at DATETIME NOT NULL,
			PRIMARY KEY (origin, seq)
		)`,
		`CREATE INDEX fed_changes_key ON fed_changes(kind, key)`,
		// The highest sequence number held without a gap, per origin.
		`CREATE TABLE fed_heads (
			origin TEXT PRIMARY KEY,
			head INTEGER NOT NULL
		)`,
		// The current value of each last-writer-wins record.
		`CREATE TABLE fed_state (
			kind INTEGER NOT NULL,
			key TEXT NOT NULL,
			origin TEXT NOT NULL,
			seq INTEGER NOT NULL,
			rank TEXT NOT NULL,
			at DATETIME NOT NULL,
			body BLOB NOT NULL,
			PRIMARY KEY (kind, key)
		)`,
		`CREATE TABLE fed_revocations (
			node_id TEXT PRIMARY KEY,
			up_to INTEGER NOT NULL,
			origin TEXT NOT NULL,
			seq INTEGER NOT NULL
		)`,
		`CREATE TABLE fed_refusals (
			id INTEGER PRIMARY KEY,
			origin TEXT NOT NULL,
			seq INTEGER NOT NULL,
			kind INTEGER NOT NULL,
			key TEXT NOT NULL,
			reason TEXT NOT NULL,
			from_node TEXT NOT NULL DEFAULT '',
			at DATETIME NOT NULL
		)`,
		`CREATE INDEX fed_refusals_at ON fed_refusals(at)`,
	}},
	{4, "the desktop app: notes, escalation marks, urgency order, reviews, PIN lockout", []string{
		// Internal notes on a conversation, for the team only.
		`CREATE TABLE notes (
			id INTEGER PRIMARY KEY,
			conversation_id INTEGER NOT NULL REFERENCES conversations(id),
			staff_id INTEGER NOT NULL REFERENCES staff(id),
			text TEXT NOT NULL,
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX notes_conversation ON notes(conversation_id, id)`,
		// Which messages were escalated (the signed escalation itself is a
		// federation record).
		`CREATE TABLE message_escalations (
			message_id INTEGER NOT NULL REFERENCES messages(id),
			escalation_id TEXT NOT NULL,
			level TEXT NOT NULL,
			severity TEXT NOT NULL,
			category TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL,
			PRIMARY KEY (message_id, escalation_id)
		)`,
		// The awaiting queue in urgency order: highest priority (a crisis
		// adds 50), then the longest waiting.
		`CREATE INDEX messages_urgency ON messages(priority DESC, created_at, id)
			WHERE direction = 'in' AND needs_response = 1 AND status IN ('open', 'replying')`,
		`CREATE INDEX conversations_assignee ON conversations(assignee_id) WHERE assignee_id IS NOT NULL`,
		// Every review of a reply, for the approval figures: approved as
		// written, approved with the manager's edits, or rejected.
		`CREATE TABLE reviews (
			id INTEGER PRIMARY KEY,
			reply_id INTEGER NOT NULL REFERENCES replies(id),
			author_id INTEGER NOT NULL REFERENCES staff(id),
			manager_id INTEGER REFERENCES staff(id),
			outcome TEXT NOT NULL CHECK (outcome IN ('approved', 'edited', 'rejected')),
			note TEXT NOT NULL DEFAULT '',
			created_at DATETIME NOT NULL
		)`,
		`CREATE INDEX reviews_author ON reviews(author_id, created_at)`,
		// Reviews made before this version, from the audit log.
		`INSERT INTO reviews (reply_id, author_id, manager_id, outcome, note, created_at)
			SELECT r.id, r.author_id, (SELECT st.id FROM staff st WHERE st.handle = e.actor),
				CASE WHEN e.action = 'reply.reject' THEN 'rejected'
					WHEN json_extract(e.detail, '$.edited') THEN 'edited' ELSE 'approved' END,
				coalesce(json_extract(e.detail, '$.note'), ''), e.at
			FROM audit_events e JOIN replies r ON e.subject = 'reply:' || r.id
			WHERE e.action IN ('reply.approve', 'reply.reject') AND json_valid(e.detail)
			ORDER BY e.id`,
		// Wrong PINs in a row, and until when a profile is locked.
		`ALTER TABLE staff ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE staff ADD COLUMN locked_until DATETIME`,
	}},
	{5, "staff departments; direct-message conversations as one row", []string{
		// The department a member of staff works for (the triage's names:
		// customer_care, marketing, sales, pr, hr), for "mine or my
		// department".
		`ALTER TABLE staff ADD COLUMN department TEXT NOT NULL DEFAULT ''`,
		// The direct messages waiting in each conversation (few), to list
		// a conversation once and count what waits in it.
		`CREATE INDEX messages_awaiting_dm ON messages(conversation_id, priority DESC, created_at, id)
			WHERE direction = 'in' AND kind = 'dm' AND needs_response = 1 AND status IN ('open', 'replying')`,
	}},
	{6, "the full-text index's vocabulary", []string{
		// The terms of messages_fts, to spell a prefix search out as the
		// terms it matches (inbox.go, ftsMatch). A view of the index: it
		// stores nothing.
		`CREATE VIRTUAL TABLE messages_fts_terms USING fts5vocab(messages_fts, row)`,
	}},
	{7, "connected accounts", []string{
		// Where the account lives on its platform (a Mastodon server, a
		// Page ID, a Google location), and what its connection knows:
		// when the token expires (the token itself is in the credential
		// vault, never here), the last poll that worked, and until when
		// the platform asked us to wait.
		`ALTER TABLE accounts ADD COLUMN server TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE accounts ADD COLUMN remote_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE accounts ADD COLUMN token_expires_at DATETIME`,
		`ALTER TABLE accounts ADD COLUMN last_success_at DATETIME`,
		`ALTER TABLE accounts ADD COLUMN rate_limited_until DATETIME`,
		`ALTER TABLE accounts ADD COLUMN connected_at DATETIME`,
	}},
	{8, "daily figures kept parsed", []string{
		// The network's daily summaries (fed_state, kind KPI) as parsed
		// counts, each tagged with the change it was parsed from: a
		// summary whose record has moved on no longer joins, and is
		// parsed again. A cache: it can be emptied at any time.
		`CREATE TABLE kpi_days (
			key TEXT PRIMARY KEY,
			origin TEXT NOT NULL,
			seq INTEGER NOT NULL,
			location TEXT NOT NULL,
			region TEXT NOT NULL,
			day TEXT NOT NULL,
			counts BLOB NOT NULL
		) WITHOUT ROWID`,
	}},
	{9, "messages sorted by integer time", []string{
		// A message's time as Unix milliseconds (rounded to the nearest,
		// as SQLite reads created_at), the key every index on time sorts
		// by: 8 bytes or fewer instead of created_at's 25 to 35 of text.
		// Smaller index entries mean fewer pages to write on every import
		// (BenchmarkImport: about a tenth faster). created_at stays the
		// message's time for everything else.
		`ALTER TABLE messages ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0`,
		`UPDATE messages SET created_ms = coalesce(CAST(round((julianday(created_at) - 2440587.5) * 86400000.0) AS INTEGER), 0)`,
		`DROP INDEX messages_awaiting`,
		`DROP INDEX messages_inbound`,
		`DROP INDEX messages_conversation`,
		`DROP INDEX messages_customer`,
		`DROP INDEX messages_urgency`,
		`DROP INDEX messages_awaiting_dm`,
		`CREATE INDEX messages_awaiting ON messages(created_ms DESC, id DESC)
			WHERE direction = 'in' AND needs_response = 1 AND status IN ('open', 'replying')`,
		`CREATE INDEX messages_inbound ON messages(direction, created_ms DESC, id DESC)`,
		`CREATE INDEX messages_conversation ON messages(conversation_id, created_ms)`,
		`CREATE INDEX messages_customer ON messages(customer_id, created_ms)`,
		`CREATE INDEX messages_urgency ON messages(priority DESC, created_ms, id)
			WHERE direction = 'in' AND needs_response = 1 AND status IN ('open', 'replying')`,
		`CREATE INDEX messages_awaiting_dm ON messages(conversation_id, priority DESC, created_ms, id)
			WHERE direction = 'in' AND kind = 'dm' AND needs_response = 1 AND status IN ('open', 'replying')`,
	}},
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate applies every migration above the database's version, up to
// target (0 means all).
func migrate(ctx context.Context, db *gorm.DB, target int) error {
	var current int
	if err := db.WithContext(ctx).Raw("PRAGMA user_version").Scan(&current).Error; err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > SchemaVersion() {
		return fmt.Errorf("the database has schema version %d, newer than this build's %d: use a newer Branchline", current, SchemaVersion())
	}
	for _, m := range migrations {
		if m.version <= current || (target > 0 && m.version > target) {
			continue
		}
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, stmt := range m.sql {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			// PRAGMA takes no parameters; the version is our own integer.
			return tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", m.version)).Error
		})
		if err != nil {
			return fmt.Errorf("migrate schema to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}
