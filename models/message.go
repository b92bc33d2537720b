package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
	// CreatedMs is CreatedAt in Unix milliseconds (SortMillis), the key
	// the indexes on time sort by. InsertInbound and BeforeCreate set it.
	CreatedMs int64
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
// The commit does not wait for the disk (see writeBulk): the caller's next
// ordinary commit, such as the poll's cursor or the import's audit entry,
// makes these rows durable with it.
//
// Rows are staged in a temporary table with one statement prepared once on
// the connection's own SQLite handle (rawConn), then moved into messages
// with one statement: the driver prepares a statement on every execution,
// which would otherwise cost more than the insert itself.
func (s *Store) InsertInbound(ctx context.Context, locationID int64, batch []Inbound) (InsertResult, error) {
	var res InsertResult
	if len(batch) == 0 {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	// A batch is short and runs to its end: with a cancellable context the
	// driver would start a goroutine per statement to watch it, which
	// costs more than the statement.
	ctx = context.WithoutCancel(ctx)
	now := s.Now()
	var customers map[customerKey]int64
	var convs map[convKey]int64
	err := s.writeBulk(ctx, func(tx *gorm.DB, withHandle handleFunc) error {
		res = InsertResult{}
		pool := tx.Statement.ConnPool
		// The one reference the checks below cannot vouch for.
		if _, err := find[Location](tx, fmt.Sprintf("location %d", locationID), locationID); err != nil {
			return err
		}
		accounts, err := s.resolveAccounts(ctx, tx, locationID, batch, now)
		if err != nil {
			return err
		}
		if customers, err = upsertCustomers(ctx, pool, &s.customerIDs, batch); err != nil {
			return err
		}
		if convs, err = upsertConversations(ctx, pool, &s.conversationIDs, batch, accounts, customers, now); err != nil {
			return err
		}
		// Rows go to a temporary table first, then into messages in one
		// statement: preparing the insert into messages (with its indexes
		// and conflict clause) costs more than running it, so it is
		// prepared once per batch, not once per row.
		if err := tx.Exec(stagingDDL).Error; err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
		rows := make([]stagedRow, len(batch))
		for i, m := range batch {
			r, err := stageRow(m, accounts, customers, convs)
			if err != nil {
				return err
			}
			rows[i] = r
		}
		if s.driverStaging {
			err = stageThroughDriver(ctx, pool, rows)
		} else if err = withHandle(func(c rawConn) error { return stageRaw(c, rows) }); errors.Is(err, errNoHandle) {
			s.noHandleOnce.Do(func() {
				s.log.Warn("bulk insert: staging rows through the driver, more slowly", "err", err)
			})
			err = stageThroughDriver(ctx, pool, rows)
		}
		if err != nil {
			return fmt.Errorf("stage messages: %w", err)
		}
		var before int64
		if err := tx.Raw(`SELECT coalesce(max(id), 0) FROM messages`).Scan(&before).Error; err != nil {
			return err
		}
		ins := tx.Exec(insertFromStagingSQL, now)
		if ins.Error != nil {
			return fmt.Errorf("insert messages: %w", ins.Error)
		}
		// New rows of this transaction have consecutive IDs in batch order:
		// SQLite gives each new row the largest ID plus one, and nobody
		// else writes. When every row was new, that is all there is to know.
		if ins.RowsAffected == int64(len(batch)) {
			res.Inserted = len(batch)
			res.Index, res.IDs = make([]int, len(batch)), make([]int64, len(batch))
			for i := range batch {
				res.Index[i], res.IDs[i] = i, before+1+int64(i)
			}
		} else {
			// Every row skipped must be one already stored, not one OR
			// IGNORE dropped for another reason.
			var lost int64
			if err := tx.Raw(`SELECT count(*) FROM temp.inbound_staging s WHERE NOT EXISTS
				(SELECT 1 FROM messages m WHERE m.account_id = s.account_id AND m.platform_id = s.platform_id)`).Scan(&lost).Error; err != nil {
				return err
			}
			if lost > 0 {
				return fmt.Errorf("insert messages: %d rows could not be stored", lost)
			}
			if err := readBackInserted(ctx, pool, before, batch, accounts, &res); err != nil {
				return err
			}
		}
		if err := tx.Exec(`DELETE FROM temp.inbound_staging`).Error; err != nil {
			return err
		}
		if res.Inserted == 0 {
			return nil
		}
		first, last := slices.Min(res.IDs), slices.Max(res.IDs)
		if err := tx.Exec(`INSERT INTO messages_fts (rowid, text, author_name)
			SELECT id, text, author_name FROM messages WHERE id BETWEEN ? AND ?`, first, last).Error; err != nil {
			return fmt.Errorf("index messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return InsertResult{}, fmt.Errorf("store %d inbound messages: %w", len(batch), err)
	}
	s.customerIDs.addAll(customers)
	s.conversationIDs.addAll(convs)
	return res, nil
}

// stagingDDL is the temporary table an import batch passes through.
const stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS inbound_staging (
	conversation_id, account_id, customer_id, platform_id, kind, author_name, author_id, text, rating,
	created_at, source, needs_response, stage, department, sentiment, crisis, priority, listening, reasons, created_ms)`

// readBackInserted fills res from the rows above the old largest ID
// (before), for a batch some of whose rows were already stored: it reports
// in batch order, and a platform ID twice in one batch is stored once.
func readBackInserted(ctx context.Context, pool gorm.ConnPool, before int64, batch []Inbound,
	accounts map[string]int64, res *InsertResult) error {
	type key struct {
		account int64
		id      string
	}
	inserted := map[key]int64{}
	rows, err := pool.QueryContext(ctx, `SELECT id, account_id, platform_id FROM messages WHERE id > ?`, before)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k key
		var id int64
		if err := rows.Scan(&id, &k.account, &k.id); err != nil {
			rows.Close()
			return err
		}
		inserted[k] = id
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	for i, m := range batch {
		k := key{accounts[accountKey(m.Platform, m.Account)], m.PlatformID}
		if id, ok := inserted[k]; ok {
			res.Inserted++
			res.Index = append(res.Index, i)
			res.IDs = append(res.IDs, id)
			delete(inserted, k)
		} else {
			res.Duplicates++
		}
	}
	return nil
}

// stagedRow is a message's row in the staging table.
type stagedRow struct {
	conv, account, customer int64 // customer 0: none
	platformID, kind        string
	authorName, authorID    string
	text                    string
	rating                  int64
	createdAt, source       string
	needsResponse           int64
	stage, department       string
	sentiment               float64
	crisis                  string
	priority                int64
	listening, reasons      string
	createdMs               int64
}

// stageRow makes m's staging row, making here the checks the database
// would make (see writeBulk): every reference was found or made before.
func stageRow(m Inbound, accounts map[string]int64, customers map[customerKey]int64, convs map[convKey]int64) (stagedRow, error) {
	acc, ok := accounts[accountKey(m.Platform, m.Account)]
	conv, ok2 := convs[convKeyOf(acc, m)]
	if !ok || !ok2 {
		return stagedRow{}, fmt.Errorf("stage message %s/%s %s: no account or conversation for it", m.Platform, m.Account, m.PlatformID)
	}
	var cust int64
	if k := custKeyOf(m); k != (customerKey{}) {
		if cust, ok = customers[k]; !ok {
			return stagedRow{}, fmt.Errorf("stage message %s/%s %s: no customer for it", m.Platform, m.Account, m.PlatformID)
		}
	}
	t := m.Triage
	if math.IsNaN(t.Sentiment) || math.IsInf(t.Sentiment, 0) {
		// The driver would store NULL, which OR IGNORE would skip.
		return stagedRow{}, fmt.Errorf("stage message %s/%s %s: sentiment %v is not a number", m.Platform, m.Account, m.PlatformID, t.Sentiment)
	}
	r := stagedRow{conv: conv, account: acc, customer: cust, platformID: m.PlatformID, kind: m.Kind,
		authorName: m.AuthorName, authorID: m.AuthorID, text: m.Text, rating: int64(m.Rating),
		createdAt: sqlTime(m.CreatedAt), source: m.Source, stage: t.Stage, department: t.Department,
		sentiment: t.Sentiment, crisis: t.Crisis, priority: int64(t.Priority),
		listening: orJSON(t.Listening, "[]"), reasons: orJSON(t.Reasons, "[]"), createdMs: SortMillis(m.CreatedAt)}
	if t.NeedsResponse {
		r.needsResponse = 1
	}
	return r, nil
}

// textLen is how many bytes the row's text takes.
func (r *stagedRow) textLen() int {
	return len(r.platformID) + len(r.kind) + len(r.authorName) + len(r.authorID) + len(r.text) +
		len(r.createdAt) + len(r.source) + len(r.stage) + len(r.department) + len(r.crisis) +
		len(r.listening) + len(r.reasons)
}

// stagingColumns is how many values a staging row has.
const stagingColumns = 20

// stagingSQL(n) stages n rows, each in stagedRow's order.
func stagingSQL(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", stagingColumns), ", ") + ")"
	return "INSERT INTO temp.inbound_staging VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// stageRaw stages rows with one statement prepared once on the
// connection's own handle (see rawConn).
func stageRaw(c rawConn, rows []stagedRow) error {
	st, err := c.prepare(stagingSQL(1))
	if err != nil {
		return err
	}
	defer st.close()
	if st.params != stagingColumns {
		return fmt.Errorf("staging statement takes %d values, not %d", st.params, stagingColumns)
	}
	for i := range rows {
		r := &rows[i]
		if err := st.row(r.textLen()); err != nil {
			return err
		}
		cust := st.null(3)
		if r.customer != 0 {
			cust = st.int(3, r.customer)
		}
		if err := errors.Join(st.int(1, r.conv), st.int(2, r.account), cust,
			st.text(4, r.platformID), st.text(5, r.kind), st.text(6, r.authorName), st.text(7, r.authorID),
			st.text(8, r.text), st.int(9, r.rating), st.text(10, r.createdAt), st.text(11, r.source),
			st.int(12, r.needsResponse), st.text(13, r.stage), st.text(14, r.department),
			st.float(15, r.sentiment), st.text(16, r.crisis), st.int(17, r.priority),
			st.text(18, r.listening), st.text(19, r.reasons), st.int(20, r.createdMs)); err != nil {
			return fmt.Errorf("message %s: %w", r.platformID, err)
		}
		if err := st.exec(); err != nil {
			return fmt.Errorf("message %s: %w", r.platformID, err)
		}
	}
	return nil
}

// driverStagingRows is how many rows one statement stages through the
// driver: four is the quickest, as the driver prepares every statement
// again and matches arguments to parameters in quadratic time.
const driverStagingRows = 4

// driverStagingSQL[n] stages n rows through the driver.
var driverStagingSQL = func() []string {
	out := make([]string, driverStagingRows+1)
	for n := 1; n <= driverStagingRows; n++ {
		out[n] = stagingSQL(n)
	}
	return out
}()

// stageThroughDriver stages rows through the driver, a few to a
// statement, for when the connection's handle cannot be had.
func stageThroughDriver(ctx context.Context, pool gorm.ConnPool, rows []stagedRow) error {
	args := make([]any, 0, driverStagingRows*stagingColumns)
	for i := range rows {
		r := &rows[i]
		var cust any
		if r.customer != 0 {
			cust = r.customer
		}
		args = append(args, r.conv, r.account, cust, r.platformID, r.kind, r.authorName, r.authorID, r.text,
			r.rating, r.createdAt, r.source, r.needsResponse, r.stage, r.department, r.sentiment, r.crisis,
			r.priority, r.listening, r.reasons, r.createdMs)
		if len(args) < cap(args) && i < len(rows)-1 {
			continue
		}
		if _, err := pool.ExecContext(ctx, driverStagingSQL[len(args)/stagingColumns], args...); err != nil {
			return err
		}
		args = args[:0]
	}
	return nil
}

// insertFromStagingSQL moves a staged batch into messages, in batch order.
// A row whose platform ID the account has is skipped. OR IGNORE, unlike ON
// CONFLICT, spares SQLite a statement journal; it would also skip a row
// for a NULL or a failed check, but every column gets a value (a NaN
// sentiment, which the driver stores as NULL, is refused before), the
// checked columns are constants, and InsertInbound checks that every
// skipped row is one already stored.
const insertFromStagingSQL = `INSERT OR IGNORE INTO messages (conversation_id, account_id, customer_id, direction, platform_id, kind,
	author_name, author_id, text, rating, created_at, received_at, source, needs_response, stage, department,
	sentiment, crisis, priority, listening, reasons, status, created_ms)
	SELECT conversation_id, account_id, customer_id, 'in', platform_id, kind, author_name, author_id, text, rating,
		created_at, ?, source, needs_response, stage, department, sentiment, crisis, priority, listening, reasons, 'open', created_ms
	FROM temp.inbound_staging WHERE true ORDER BY rowid`

// SortMillis is t as a message's sort key (Message.CreatedMs): Unix
// milliseconds, rounded to the nearest, half up, as SQLite rounds the
// times it reads (migration 9 computes the key of older rows from their
// text). A time at exactly half a millisecond SQLite may round down in
// floating point: such an older row's key can be one less.
func SortMillis(t time.Time) int64 {
	return t.Unix()*1000 + int64((t.Nanosecond()+500_000)/1_000_000)
}

// BeforeCreate gives a message created through GORM (replies sent) its
// sort key. InsertInbound stages the key of the messages it stores; no
// other code writes messages.
func (m *Message) BeforeCreate(*gorm.DB) error {
	m.CreatedMs = SortMillis(m.CreatedAt)
	return nil
}

// sqlTimeLayout is how the driver writes times; stored times compare and
// sort as text whichever way they were written (messages sort by their
// integer key, created_ms, instead).
const sqlTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

func sqlTime(t time.Time) string { return t.UTC().Format(sqlTimeLayout) }

func parseSQLTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(sqlTimeLayout, s)
	return t.UTC(), err
}

// upsertChunk bounds the rows of one upsert statement.
const upsertChunk = 1000

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

// upsertCustomers finds or creates one customer per platform identity in
// the batch: existing ones are only looked up, so a batch of regulars
// writes nothing here.
func upsertCustomers(ctx context.Context, pool gorm.ConnPool, known *idCache[customerKey], batch []Inbound) (map[customerKey]int64, error) {
	type agg struct {
		name  string
		first time.Time
	}
	seen := map[customerKey]*agg{}
	var order []customerKey
	for _, m := range batch {
		k := custKeyOf(m)
		if k == (customerKey{}) {
			continue
		}
		at := m.CreatedAt.UTC()
		if a, ok := seen[k]; !ok {
			seen[k] = &agg{name: m.AuthorName, first: at}
			order = append(order, k)
		} else if at.Before(a.first) {
			a.first = at
		}
	}
	return lookupOrInsert(ctx, pool, known, order,
		func(k customerKey) []any { return []any{k.platform, k.userID} },
		func(k customerKey) []any { a := seen[k]; return []any{k.platform, k.userID, a.name, sqlTime(a.first)} },
		func(rows *sql.Rows) (k customerKey, id int64, err error) {
			err = rows.Scan(&id, &k.platform, &k.userID)
			return k, id, err
		},
		`SELECT c.id, c.platform, c.platform_user_id FROM json_each(?) AS j
			JOIN customers c ON c.platform = j.value ->> 0 AND c.platform_user_id = j.value ->> 1`,
		`INSERT INTO customers (platform, platform_user_id, name, first_seen_at)
			SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true
			ON CONFLICT (platform, platform_user_id) DO NOTHING
			RETURNING id, platform, platform_user_id`)
}

// upsertConversations finds or creates one conversation per thread. An
// existing conversation is only looked up: its latest activity is read
// from its messages when needed, not rewritten on every import.
func upsertConversations(ctx context.Context, pool gorm.ConnPool, known *idCache[convKey], batch []Inbound,
	accounts map[string]int64, customers map[customerKey]int64, now time.Time) (map[convKey]int64, error) {
	type agg struct {
		kind, dept string
		customer   any
		first      time.Time
	}
	seen := map[convKey]*agg{}
	var order []convKey
	for _, m := range batch {
		k := convKeyOf(accounts[accountKey(m.Platform, m.Account)], m)
		at := m.CreatedAt.UTC()
		if a, ok := seen[k]; ok {
			if at.Before(a.first) {
				a.first = at
			}
			continue
		}
		a := &agg{kind: m.Kind, dept: m.Triage.Department, first: at}
		if id, ok := customers[custKeyOf(m)]; ok {
			a.customer = id
		}
		seen[k] = a
		order = append(order, k)
	}
	created := sqlTime(now)
	return lookupOrInsert(ctx, pool, known, order,
		func(k convKey) []any { return []any{k.account, k.thread} },
		func(k convKey) []any {
			a := seen[k]
			return []any{k.account, k.thread, a.kind, a.customer, a.dept, sqlTime(a.first), created}
		},
		func(rows *sql.Rows) (k convKey, id int64, err error) {
			err = rows.Scan(&id, &k.account, &k.thread)
			return k, id, err
		},
		`SELECT c.id, c.account_id, c.thread_id FROM json_each(?) AS j
			JOIN conversations c ON c.account_id = j.value ->> 0 AND c.thread_id = j.value ->> 1`,
		`INSERT INTO conversations (account_id, thread_id, kind, customer_id, department, last_message_at, created_at)
			SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each(?) WHERE true
			ON CONFLICT (account_id, thread_id) DO NOTHING
			RETURNING id, account_id, thread_id`)
}

// lookupOrInsert finds the rows for keys, first among the committed IDs
// in known, then with lookupSQL, and inserts the missing ones with
// insertSQL, in chunks, each statement taking its rows as one JSON array
// (one statement per chunk, not per row). Both statements return (id, key
// columns), read by scan.
func lookupOrInsert[K comparable](ctx context.Context, pool gorm.ConnPool, known *idCache[K], keys []K,
	keyRow, insertRow func(K) []any, scan func(*sql.Rows) (K, int64, error), lookupSQL, insertSQL string) (map[K]int64, error) {
	ids := make(map[K]int64, len(keys))
	unknown := keys[:0:0]
	for _, k := range keys {
		if id, ok := known.get(k); ok {
			ids[k] = id
		} else {
			unknown = append(unknown, k)
		}
	}
	keys = unknown
	collect := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		for rows.Next() {
			k, id, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ids[k] = id
		}
		return rows.Close()
	}
	for lo := 0; lo < len(keys); lo += upsertChunk {
		chunk := keys[lo:min(lo+upsertChunk, len(keys))]
		lookup := make([][]any, len(chunk))
		for i, k := range chunk {
			lookup[i] = keyRow(k)
		}
		doc, err := json.Marshal(lookup)
		if err != nil {
			return nil, err
		}
		if err := collect(pool.QueryContext(ctx, lookupSQL, string(doc))); err != nil {
			return nil, fmt.Errorf("look up: %w", err)
		}
		var missing [][]any
		for _, k := range chunk {
			if _, ok := ids[k]; !ok {
				missing = append(missing, insertRow(k))
			}
		}
		if len(missing) == 0 {
			continue
		}
		if doc, err = json.Marshal(missing); err != nil {
			return nil, err
		}
		if err := collect(pool.QueryContext(ctx, insertSQL, string(doc))); err != nil {
			return nil, fmt.Errorf("insert: %w", err)
		}
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
	// Escalated: the message has been escalated (EscalationMark).
	Escalated bool
	// The conversation's assignment.
	AssigneeID             *int64
	AssigneeName           string
	ConversationDepartment string
	// Waiting counts the direct messages waiting for an answer in the
	// message's conversation (0 for comments and reviews).
	Waiting int
}

const messageRowSelect = `m.*, a.platform AS platform, a.handle AS account_handle,
	(SELECT r.id FROM replies r WHERE r.message_id = m.id ORDER BY r.id DESC LIMIT 1) AS reply_id,
	(SELECT r.state FROM replies r WHERE r.message_id = m.id ORDER BY r.id DESC LIMIT 1) AS reply_state,
	EXISTS (SELECT 1 FROM message_escalations e WHERE e.message_id = m.id) AS escalated,
	(SELECT c.assignee_id FROM conversations c WHERE c.id = m.conversation_id) AS assignee_id,
	coalesce((SELECT st.name FROM conversations c JOIN staff st ON st.id = c.assignee_id WHERE c.id = m.conversation_id), '') AS assignee_name,
	coalesce((SELECT c.department FROM conversations c WHERE c.id = m.conversation_id), '') AS conversation_department,
	CASE WHEN m.kind = 'dm' THEN (SELECT count(*) FROM messages w INDEXED BY messages_awaiting_dm
		WHERE w.conversation_id = m.conversation_id AND w.direction = 'in' AND w.kind = 'dm' AND w.needs_response = 1
		AND w.status IN ('open', 'replying')) ELSE 0 END AS waiting`

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
		WHERE m.conversation_id = ? ORDER BY m.created_ms DESC, m.id DESC LIMIT ?) ORDER BY created_ms, id`,
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
