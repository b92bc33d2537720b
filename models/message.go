package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Message statuses: whether an inbound message has been dealt with.
const (
	StatusOpen      = "open"      // nobody has answered or dismissed it
	StatusReplying  = "replying"  // a reply is pending approval, queued or sending
	StatusAnswered  = "answered"  // a reply was sent
	StatusDismissed = "dismissed" // marked as needing no response
)

// Message is a message in a conversation, inbound from a customer or
// outbound from the store. Triage results are stored with every inbound
// message; Reasons and Listening are JSON.
type Message struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64
	AccountID      int64
	CustomerID     *int64
	Direction      string // in, out
	PlatformID     string
	Kind           string // comment, dm, mention, review
	AuthorName     string
	AuthorID       string
	Text           string
	Rating         int
	CreatedAt      time.Time `gorm:"autoCreateTime:false"` // when it was posted, on the platform
	ReceivedAt     time.Time
	Source         string
	NeedsResponse  bool
	Stage          string
	Department     string
	Sentiment      float64
	Crisis         string
	Priority       int
	Listening      string
	Reasons        string
	Status         string
	AnsweredAt     *time.Time
}

// Triaged is what triage decided about a message, ready to store.
type Triaged struct {
	NeedsResponse bool
	Stage         string
	Department    string
	Sentiment     float64
	Crisis        string
	Priority      int
	Listening     string // JSON
	Reasons       string // JSON
}

// Inbound is a customer's message on its way into the store, from an
// import or a channel poll.
type Inbound struct {
	Platform   string
	Account    string // the account's handle
	PlatformID string
	ThreadID   string // "" means the message starts its own thread
	AuthorName string
	AuthorID   string
	Text       string
	Kind       string
	Rating     int
	CreatedAt  time.Time
	Source     string
	Triage     Triaged
}

// InsertResult says what InsertInbound did.
type InsertResult struct {
	Inserted   int
	Duplicates int
	// Index holds, for each message inserted, its index in the batch, and
	// IDs its new ID, in the same order.
	Index []int
	IDs   []int64
}

type customerKey struct{ platform, userID string }
type convKey struct {
	account int64
	thread  string
}

// InsertInbound stores a batch of inbound messages in one transaction,
// skipping any whose platform ID the account already has, so a re-import
// or a repeated poll adds nothing. Accounts it has not seen are created as
// import-only accounts of locationID; customers and conversations are
// created or updated, and the full-text index is brought up to date.
func (s *Store) InsertInbound(ctx context.Context, locationID int64, batch []Inbound) (InsertResult, error) {
	var res InsertResult
	if len(batch) == 0 {
		return res, nil
	}
	now := s.Now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		res = InsertResult{}
		pool := tx.Statement.ConnPool
		prep := func(q string) (*sql.Stmt, error) { return pool.PrepareContext(ctx, q) }

		accounts, err := s.resolveAccounts(ctx, tx, locationID, batch, now)
		if err != nil {
			return err
		}
		customers, err := upsertCustomers(ctx, prep, batch)
		if err != nil {
			return err
		}
		convs, err := upsertConversations(ctx, prep, batch, accounts, customers, now)
		if err != nil {
			return err
		}

		ins, err := prep(`INSERT INTO messages (conversation_id, account_id, customer_id, direction, platform_id, kind,
			author_name, author_id, text, rating, created_at, received_at, source, needs_response, stage, department,
			sentiment, crisis, priority, listening, reasons, status)
			VALUES (?, ?, ?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
			ON CONFLICT (account_id, platform_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		newPerCustomer := map[int64]int{}
		for i, m := range batch {
			acc := accounts[accountKey(m.Platform, m.Account)]
			var cust any
			if id, ok := customers[custKeyOf(m)]; ok {
				cust = id
			}
			t := m.Triage
			r, err := ins.ExecContext(ctx, convs[convKeyOf(acc, m)], acc, cust, m.PlatformID, m.Kind,
				m.AuthorName, m.AuthorID, m.Text, m.Rating, m.CreatedAt.UTC(), now, m.Source, t.NeedsResponse,
				t.Stage, t.Department, t.Sentiment, t.Crisis, t.Priority, orJSON(t.Listening, "[]"), orJSON(t.Reasons, "[]"))
			if err != nil {
				return fmt.Errorf("insert message %s/%s %s: %w", m.Platform, m.Account, m.PlatformID, err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				res.Duplicates++
				continue
			}
			id, err := r.LastInsertId()
			if err != nil {
				return err
			}
			res.Inserted++
			res.Index = append(res.Index, i)
			res.IDs = append(res.IDs, id)
			if c, ok := cust.(int64); ok {
				newPerCustomer[c]++
			}
		}
		if res.Inserted == 0 {
			return nil
		}
		// New rows of this transaction have consecutive IDs: SQLite gives
		// each new row the largest ID plus one, and nobody else writes.
		first, last := res.IDs[0], res.IDs[len(res.IDs)-1]
		if err := tx.Exec(`INSERT INTO messages_fts (rowid, text, author_name)
			SELECT id, text, author_name FROM messages WHERE id BETWEEN ? AND ?`, first, last).Error; err != nil {
			return fmt.Errorf("index messages: %w", err)
		}
		upd, err := prep(`UPDATE customers SET message_count = message_count + ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for id, n := range newPerCustomer {
			if _, err := upd.ExecContext(ctx, n, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return InsertResult{}, fmt.Errorf("store %d inbound messages: %w", len(batch), err)
	}
	return res, nil
}

func accountKey(platform, handle string) string { return platform + "\x00" + handle }

func custKeyOf(m Inbound) customerKey {
	if m.AuthorID != "" {
		return customerKey{m.Platform, m.AuthorID}
	}
	if m.AuthorName != "" {
		return customerKey{m.Platform, "name:" + m.AuthorName}
	}
	return customerKey{}
}

func convKeyOf(account int64, m Inbound) convKey {
	thread := m.ThreadID
	if thread == "" {
		thread = m.PlatformID
	}
	return convKey{account, thread}
}

func orJSON(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// resolveAccounts finds or creates the batch's accounts.
func (s *Store) resolveAccounts(ctx context.Context, tx *gorm.DB, locationID int64, batch []Inbound, now time.Time) (map[string]int64, error) {
	ids := map[string]int64{}
	for _, m := range batch {
		k := accountKey(m.Platform, m.Account)
		if _, ok := ids[k]; ok {
			continue
		}
		var a Account
		err := tx.Where("platform = ? AND handle = ?", m.Platform, m.Account).First(&a).Error
		switch {
		case err == nil:
		case errors.Is(err, gorm.ErrRecordNotFound):
			a = Account{LocationID: locationID, Platform: m.Platform, Handle: m.Account, Purpose: "main", State: AccountImportOnly}
			if err := tx.Create(&a).Error; err != nil {
				return nil, fmt.Errorf("create account %s/%s: %w", m.Platform, m.Account, err)
			}
			if err := appendAudit(tx, now, "system", "account.create", subject("account", a.ID),
				map[string]any{"platform": a.Platform, "handle": a.Handle, "source": m.Source}); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
		ids[k] = a.ID
	}
	return ids, nil
}

// upsertCustomers creates or updates one customer per platform identity in
// the batch.
func upsertCustomers(ctx context.Context, prep func(string) (*sql.Stmt, error), batch []Inbound) (map[customerKey]int64, error) {
	type agg struct {
		name        string
		first, last time.Time
	}
	seen := map[customerKey]*agg{}
	var order []customerKey
	for _, m := range batch {
		k := custKeyOf(m)
		if k == (customerKey{}) {
			continue
		}
		at := m.CreatedAt.UTC()
		a, ok := seen[k]
		if !ok {
			seen[k] = &agg{name: m.AuthorName, first: at, last: at}
			order = append(order, k)
			continue
		}
		if at.Before(a.first) {
			a.first = at
		}
		if !at.Before(a.last) {
			a.last = at
			if m.AuthorName != "" {
				a.name = m.AuthorName
			}
		}
	}
	ids := make(map[customerKey]int64, len(seen))
	if len(order) == 0 {
		return ids, nil
	}
	st, err := prep(`INSERT INTO customers (platform, platform_user_id, name, first_seen_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (platform, platform_user_id) DO UPDATE SET
			name = CASE WHEN excluded.last_seen_at >= customers.last_seen_at AND excluded.name <> '' THEN excluded.name ELSE customers.name END,
			first_seen_at = min(customers.first_seen_at, excluded.first_seen_at),
			last_seen_at = max(customers.last_seen_at, excluded.last_seen_at)
		RETURNING id`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for _, k := range order {
		a := seen[k]
		var id int64
		if err := st.QueryRowContext(ctx, k.platform, k.userID, a.name, a.first, a.last).Scan(&id); err != nil {
			return nil, fmt.Errorf("upsert customer %s/%s: %w", k.platform, k.userID, err)
		}
		ids[k] = id
	}
	return ids, nil
}

// upsertConversations creates or updates one conversation per thread.
func upsertConversations(ctx context.Context, prep func(string) (*sql.Stmt, error), batch []Inbound,
	accounts map[string]int64, customers map[customerKey]int64, now time.Time) (map[convKey]int64, error) {
	type agg struct {
		kind, dept string
		customer   any
		last       time.Time
	}
	seen := map[convKey]*agg{}
	var order []convKey
	for _, m := range batch {
		k := convKeyOf(accounts[accountKey(m.Platform, m.Account)], m)
		at := m.CreatedAt.UTC()
		if a, ok := seen[k]; ok {
			if at.After(a.last) {
				a.last = at
			}
			continue
		}
		a := &agg{kind: m.Kind, dept: m.Triage.Department, last: at}
		if id, ok := customers[custKeyOf(m)]; ok {
			a.customer = id
		}
		seen[k] = a
		order = append(order, k)
	}
	st, err := prep(`INSERT INTO conversations (account_id, thread_id, kind, customer_id, department, last_message_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, thread_id) DO UPDATE SET
			last_message_at = max(conversations.last_message_at, excluded.last_message_at),
			customer_id = coalesce(conversations.customer_id, excluded.customer_id)
		RETURNING id`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ids := make(map[convKey]int64, len(seen))
	for _, k := range order {
		a := seen[k]
		var id int64
		if err := st.QueryRowContext(ctx, k.account, k.thread, a.kind, a.customer, a.dept, a.last, now).Scan(&id); err != nil {
			return nil, fmt.Errorf("upsert conversation %s: %w", k.thread, err)
		}
		ids[k] = id
	}
	return ids, nil
}

// MessageRow is a message with its account and latest reply, as lists
// show it.
type MessageRow struct {
	Message
	Platform      string
	AccountHandle string
	ReplyID       *int64
	ReplyState    *string
}

const messageRowSelect = `m.*, a.platform AS platform, a.handle AS account_handle,
	(SELECT r.id FROM replies r WHERE r.message_id = m.id ORDER BY r.id DESC LIMIT 1) AS reply_id,
	(SELECT r.state FROM replies r WHERE r.message_id = m.id ORDER BY r.id DESC LIMIT 1) AS reply_state`

// MessageByID returns one message with its account and latest reply.
func (s *Store) MessageByID(ctx context.Context, id int64) (MessageRow, error) {
	var row MessageRow
	err := s.read(ctx).Table("messages m").Select(messageRowSelect).
		Joins("JOIN accounts a ON a.id = m.account_id").Where("m.id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	return row, err
}

// ConversationMessages returns a conversation's messages, oldest first
// (bounded: a thread longer than limit shows its newest messages).
func (s *Store) ConversationMessages(ctx context.Context, conversationID int64, limit int) ([]MessageRow, error) {
	var rows []MessageRow
	limit = clampLimit(limit, 200, 2000)
	err := s.read(ctx).Raw(`SELECT * FROM (SELECT `+messageRowSelect+` FROM messages m
		JOIN accounts a ON a.id = m.account_id
		WHERE m.conversation_id = ? ORDER BY m.created_at DESC, m.id DESC LIMIT ?) ORDER BY created_at, id`,
		conversationID, limit).Scan(&rows).Error
	return rows, err
}

// SetMessageStatus dismisses a message (no response needed) or reopens it.
func (s *Store) SetMessageStatus(ctx context.Context, actor string, id int64, status string) error {
	if status != StatusDismissed && status != StatusOpen {
		return fmt.Errorf("message %d: status can be set to %s or %s, not %q", id, StatusDismissed, StatusOpen, status)
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Message{}).Where("id = ? AND direction = 'in' AND status IN ('open', 'dismissed')", id).Update("status", status)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("message %d: not found, or a reply is already under way: %w", id, ErrConflict)
		}
		return appendAudit(tx, s.Now(), actor, "message."+status, subject("message", id), nil)
	})
}

// CountMessages counts messages by direction ("" for all).
func (s *Store) CountMessages(ctx context.Context, direction string) (int64, error) {
	var n int64
	db := s.read(ctx).Model(&Message{})
	if direction != "" {
		db = db.Where("direction = ?", direction)
	}
	return n, db.Count(&n).Error
}
