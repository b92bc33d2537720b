package models

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Inbox filters.
const (
	FilterNeedsResponse = "needs-response" // needs a response, nobody has started one
	FilterUnanswered    = "unanswered"     // needs a response, none sent yet (some may be under way)
	FilterMine          = "mine"           // unanswered, assigned to InboxQuery.StaffID, or unassigned in their department
	FilterOver24h       = "over-24h"       // unanswered for more than 24 hours
	FilterOver72h       = "over-72h"       // unanswered for more than 72 hours
	FilterEscalated     = "escalated"      // escalated to the region or headquarters
	FilterAll           = "all"            // every inbound message
)

// Filters lists the inbox filters.
var Filters = []string{FilterNeedsResponse, FilterUnanswered, FilterMine, FilterOver24h, FilterOver72h, FilterEscalated, FilterAll}

// Inbox orders.
const (
	SortNewest  = "newest"  // newest first (the default)
	SortUrgency = "urgency" // highest priority first (a crisis adds 50), then the longest waiting
)

// InboxQuery selects a page of inbound messages.
type InboxQuery struct {
	Filter string
	// Search is full-text search over message text and author; with it,
	// results come newest-stored first, whatever Sort says.
	Search string
	// Sort is SortNewest or SortUrgency; urgency needs a filter of
	// messages still waiting for an answer.
	Sort  string
	Limit int
	After string // cursor from the last row of the previous page
	// StaffID is whose conversations FilterMine lists.
	StaffID int64
}

// ErrBadCursor means a cursor did not come from this store.
var ErrBadCursor = errors.New("invalid cursor")

// Cursor is the position of a row in the newest-first order.
func Cursor(m Message) string {
	raw := "m" + strconv.FormatInt(sortKey(m), 10) + ":" + strconv.FormatInt(m.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// urgencyCursor is the position of a row in the urgency order.
func urgencyCursor(m Message) string {
	raw := "um:" + strconv.Itoa(m.Priority) + ":" + strconv.FormatInt(sortKey(m), 10) + ":" + strconv.FormatInt(m.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// sortKey is the time m sorts by: its stored key, else its time's.
func sortKey(m Message) int64 {
	if m.CreatedMs != 0 {
		return m.CreatedMs
	}
	return SortMillis(m.CreatedAt)
}

// A cursor holds its row's sort key, marked "m"; one made before there
// was a key holds the row's time in nanoseconds, which parses to its key.
// Either way parsing gives the key.
func parseCursor(c string) (int64, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	ts, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 0, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	key, err1 := parseCursorKey(strings.CutPrefix(ts, "m"))
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return 0, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	return key, n, nil
}

// parseCursorKey reads a cursor's time: a sort key (ms), or nanoseconds.
func parseCursorKey(v string, ms bool) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms {
		return n, err
	}
	return SortMillis(time.Unix(0, n)), nil
}

func parseUrgencyCursor(c string) (int, int64, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(raw), ":")
	if err != nil || len(parts) != 4 || (parts[0] != "u" && parts[0] != "um") {
		return 0, 0, 0, fmt.Errorf("%w %q (not from an urgency-ordered page)", ErrBadCursor, c)
	}
	p, err1 := strconv.Atoi(parts[1])
	key, err2 := parseCursorKey(parts[2], parts[0] == "um")
	n, err3 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || n <= 0 {
		return 0, 0, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	return p, key, n, nil
}

// awaitingSQL is the messages_awaiting and messages_urgency indexes' own
// condition, which a query must repeat for SQLite to use them.
const awaitingSQL = "m.direction = 'in' AND m.needs_response = 1 AND m.status IN ('open', 'replying')"

// filterPlan is how a filter reads: the table with the index it walks
// (naming it keeps the plan fixed whatever statistics SQLite has; without
// them it may prefer the general index and scan a million rows), its
// WHERE clause and arguments, and whether it can be ordered by urgency.
type filterPlan struct {
	index     string
	escalated bool // starts from the escalation marks (few), not an index of messages
	where     string
	args      []any
	awaiting  bool
}

func (s *Store) planFilter(ctx context.Context, q InboxQuery) (filterPlan, error) {
	switch q.Filter {
	case FilterNeedsResponse:
		return filterPlan{index: "messages_awaiting", where: awaitingSQL + " AND m.status = 'open'", awaiting: true}, nil
	case FilterUnanswered:
		return filterPlan{index: "messages_awaiting", where: awaitingSQL, awaiting: true}, nil
	case FilterOver24h, FilterOver72h:
		age := 24 * time.Hour
		if q.Filter == FilterOver72h {
			age = 72 * time.Hour
		}
		return filterPlan{index: "messages_awaiting", where: awaitingSQL + " AND m.created_ms < ?",
			args: []any{SortMillis(s.Now().Add(-age))}, awaiting: true}, nil
	case FilterMine:
		if q.StaffID == 0 {
			return filterPlan{}, fmt.Errorf("inbox filter %q needs the member of staff whose conversations to list", q.Filter)
		}
		var dept string
		if err := s.read(ctx).Model(&Staff{}).Where("id = ?", q.StaffID).Select("department").Scan(&dept).Error; err != nil {
			return filterPlan{}, err
		}
		// Assigned to them; or, with a department, unassigned and of
		// their department (the conversation's, else the message's).
		return filterPlan{index: "messages_awaiting", where: awaitingSQL + ` AND (
			m.conversation_id IN (SELECT c.id FROM conversations c WHERE c.assignee_id = ?)
			OR (? <> '' AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id AND c.assignee_id IS NULL
				AND coalesce(nullif(c.department, ''), m.department) = ?)))`,
			args: []any{q.StaffID, dept, dept}, awaiting: true}, nil
	case FilterEscalated:
		return filterPlan{where: "m.direction = 'in'", escalated: true}, nil
	case FilterAll:
		return filterPlan{index: "messages_inbound", where: "m.direction = 'in'"}, nil
	}
	return filterPlan{}, fmt.Errorf("unknown inbox filter %q: use one of %s", q.Filter, strings.Join(Filters, ", "))
}

// dmConversations lists a direct-message conversation once: by the
// message that represents it in the list's order (its newest, or its most
// urgent), where the others are left out. Comments and reviews stay one
// row each: a post's comment thread holds many customers.
func (p filterPlan) dmConversations(urgency bool) string {
	if p.escalated {
		return "" // marks are per message
	}
	if !p.awaiting {
		// A newer inbound message in the conversation: a short range of
		// its index from this message's time on.
		return ` AND (m.kind <> 'dm' OR NOT EXISTS (SELECT 1 FROM messages m2 INDEXED BY messages_conversation
			WHERE m2.conversation_id = m.conversation_id AND m2.created_ms >= m.created_ms AND m2.direction = 'in'
			AND (m2.created_ms > m.created_ms OR m2.id > m.id)))`
	}
	before := "(m2.created_ms > m.created_ms OR (m2.created_ms = m.created_ms AND m2.id > m.id))"
	if urgency {
		before = "(m2.priority > m.priority OR (m2.priority = m.priority AND (m2.created_ms < m.created_ms OR (m2.created_ms = m.created_ms AND m2.id < m.id))))"
	}
	return ` AND (m.kind <> 'dm' OR NOT EXISTS (SELECT 1 FROM messages m2 INDEXED BY messages_awaiting_dm
		WHERE m2.conversation_id = m.conversation_id AND m2.direction = 'in' AND m2.kind = 'dm' AND m2.needs_response = 1
		AND m2.status IN ('open', 'replying') AND ` + before + `))`
}

// from is the FROM clause of a plan in the given order.
func (p filterPlan) from(urgency bool) string {
	switch {
	case urgency:
		return "messages m INDEXED BY messages_urgency"
	case p.escalated:
		// CROSS JOIN keeps SQLite from walking a million messages in
		// date order to find the few marked ones.
		return "(SELECT DISTINCT message_id AS id FROM message_escalations) e CROSS JOIN messages m ON m.id = e.id"
	}
	return "messages m INDEXED BY " + p.index
}

// Inbox returns a page of messages and the cursor of its last row ("" at
// the end).
func (s *Store) Inbox(ctx context.Context, q InboxQuery) ([]MessageRow, string, error) {
	if q.Filter == "" {
		q.Filter = FilterAll
	}
	plan, err := s.planFilter(ctx, q)
	if err != nil {
		return nil, "", err
	}
	urgency := false
	switch q.Sort {
	case "", SortNewest:
	case SortUrgency:
		if !plan.awaiting {
			return nil, "", fmt.Errorf("inbox filter %q cannot be sorted by urgency: only the queues of messages waiting for an answer can", q.Filter)
		}
		urgency = strings.TrimSpace(q.Search) == ""
	default:
		return nil, "", fmt.Errorf("unknown inbox order %q: use %s or %s", q.Sort, SortNewest, SortUrgency)
	}
	if strings.TrimSpace(q.Search) == "" {
		plan.where += plan.dmConversations(urgency)
	}
	limit := clampLimit(q.Limit, 50, 1000)
	args := append([]any{}, plan.args...)
	var sqlText string
	switch {
	case strings.TrimSpace(q.Search) != "":
		match, err := s.ftsMatch(ctx, q.Search)
		if err != nil {
			return nil, "", fmt.Errorf("inbox search: %w", err)
		}
		if match == "" {
			return nil, "", nil
		}
		if q.Filter != FilterAll {
			rows, ok, err := s.searchWithinFilter(ctx, plan, match, q.After, limit)
			if err != nil {
				return nil, "", fmt.Errorf("inbox %s search: %w", q.Filter, err)
			}
			if ok {
				next := ""
				if len(rows) == limit {
					next = Cursor(rows[len(rows)-1].Message)
				}
				return rows, next, nil
			}
		}
		// FTS5 walks its index in rowid order cheaply; a message's ID
		// grows with the time it was stored.
		sqlText = `SELECT ` + messageRowSelect + ` FROM messages_fts f
			JOIN messages m ON m.id = f.rowid
			JOIN accounts a ON a.id = m.account_id
			WHERE messages_fts MATCH ? AND ` + plan.where
		args = append([]any{match}, args...)
		if q.After != "" {
			_, id, err := parseCursor(q.After)
			if err != nil {
				return nil, "", err
			}
			sqlText += ` AND f.rowid < ?`
			args = append(args, id)
		}
		sqlText += ` ORDER BY f.rowid DESC LIMIT ?`
	case urgency:
		sqlText = `SELECT ` + messageRowSelect + ` FROM ` + plan.from(true) + `
			JOIN accounts a ON a.id = m.account_id
			WHERE ` + plan.where
		if q.After != "" {
			p, at, id, err := parseUrgencyCursor(q.After)
			if err != nil {
				return nil, "", err
			}
			sqlText += ` AND (m.priority < ? OR (m.priority = ? AND (m.created_ms > ? OR (m.created_ms = ? AND m.id > ?))))`
			args = append(args, p, p, at, at, id)
		}
		sqlText += ` ORDER BY m.priority DESC, m.created_ms, m.id LIMIT ?`
	default:
		sqlText = `SELECT ` + messageRowSelect + ` FROM ` + plan.from(false) + `
			JOIN accounts a ON a.id = m.account_id
			WHERE ` + plan.where
		if q.After != "" {
			at, id, err := parseCursor(q.After)
			if err != nil {
				return nil, "", err
			}
			sqlText += ` AND (m.created_ms < ? OR (m.created_ms = ? AND m.id < ?))`
			args = append(args, at, at, id)
		}
		sqlText += ` ORDER BY m.created_ms DESC, m.id DESC LIMIT ?`
	}
	args = append(args, limit)
	var rows []MessageRow
	if err := s.read(ctx).Raw(sqlText, args...).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("inbox %s: %w", q.Filter, err)
	}
	next := ""
	if len(rows) == limit {
		if urgency {
			next = urgencyCursor(rows[len(rows)-1].Message)
		} else {
			next = Cursor(rows[len(rows)-1].Message)
		}
	}
	return rows, next, nil
}

// filterCandidates bounds how many of a filter's messages a search looks
// through one by one before it lets the full-text index lead instead.
const filterCandidates = 20000

// searchWithinFilter searches a filter's messages when there are few of
// them: walking the filter's index and checking each message against the
// full-text index beats walking every match of a common word. It reports
// false when the filter holds too many messages for that.
func (s *Store) searchWithinFilter(ctx context.Context, plan filterPlan, match, after string, limit int) ([]MessageRow, bool, error) {
	cond := plan.where
	from := plan.from(false)
	args := append([]any{}, plan.args...)
	if after != "" {
		_, id, err := parseCursor(after)
		if err != nil {
			return nil, false, err
		}
		cond += " AND m.id < ?"
		args = append(args, id)
	}
	var n int
	if err := s.read(ctx).Raw(`SELECT count(*) FROM (SELECT 1 FROM `+from+` WHERE `+cond+` LIMIT ?)`,
		append(append([]any{}, args...), filterCandidates+1)...).Scan(&n).Error; err != nil {
		return nil, false, err
	}
	if n > filterCandidates {
		return nil, false, nil
	}
	// The candidates (few: a work queue) go into a small temporary index;
	// the full-text index is walked newest first and each hit looked up
	// there, until a page is full. Driving from the candidates instead
	// would start a full-text query per candidate, a few milliseconds each.
	var rows []MessageRow
	err := s.read(ctx).Raw(`WITH c(id) AS MATERIALIZED (
			SELECT m.id FROM `+from+` WHERE `+cond+` ORDER BY m.created_ms DESC, m.id DESC LIMIT ?
		), hits(id) AS (
			SELECT f.rowid FROM messages_fts f WHERE messages_fts MATCH ? AND +f.rowid IN c ORDER BY f.rowid DESC LIMIT ?
		)
		SELECT `+messageRowSelect+` FROM hits
		JOIN messages m ON m.id = hits.id
		JOIN accounts a ON a.id = m.account_id
		ORDER BY m.id DESC`, append(args, filterCandidates, match, limit)...).Scan(&rows).Error
	return rows, true, err
}

// CountInbox counts the messages a filter selects (for badges).
func (s *Store) CountInbox(ctx context.Context, filter string) (int64, error) {
	return s.CountInboxQuery(ctx, InboxQuery{Filter: filter})
}

// CountInboxQuery counts the rows a query's filter lists (search and order
// aside: a direct-message conversation counts once); FilterMine needs
// StaffID.
func (s *Store) CountInboxQuery(ctx context.Context, q InboxQuery) (int64, error) {
	plan, err := s.planFilter(ctx, q)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.read(ctx).Raw(`SELECT count(*) FROM `+plan.from(false)+` WHERE `+plan.where+plan.dmConversations(false), plan.args...).Scan(&n).Error
	return n, err
}

// ftsWord is one word of a search: every word must appear; a word typed
// with a trailing * (of three letters or more) matches as a prefix.
type ftsWord struct {
	text   string
	prefix bool
}

// ftsWords splits what a user typed into the words of a search; FTS5's own
// syntax has no effect.
func ftsWords(input string) []ftsWord {
	fields := strings.FieldsFunc(input, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '*'
	})
	var words []ftsWord
	for _, w := range fields {
		prefix := strings.HasSuffix(w, "*")
		w = strings.Trim(w, "'*")
		if w == "" || strings.ContainsRune(w, '*') {
			continue
		}
		words = append(words, ftsWord{text: w, prefix: prefix && utf8.RuneCountInString(w) >= 3})
	}
	return words
}

// ftsString quotes a term for an FTS5 query.
func ftsString(w string) string { return `"` + strings.ReplaceAll(w, `"`, `""`) + `"` }

// maxPrefixTerms bounds how many indexed terms a prefix is spelled out
// into; a prefix that matches more is left to FTS5.
const maxPrefixTerms = 32

// ftsMatch turns what a user typed into a safe FTS5 query (every word
// must appear; FTS5's own syntax has no effect), with each prefix spelled
// out as the indexed terms that begin with it ("burg*" becomes burger OR
// burgers OR ...). FTS5 reads a prefix's whole merged doclist before it can
// return the newest match, while an OR of terms is walked newest first and
// stops at a full page: "burg*" over 1,000,000 messages takes 10 ms so,
// 88 ms as a prefix (BenchmarkSearch1M). It reports "" when a prefix
// matches no term at all, so nothing can match.
func (s *Store) ftsMatch(ctx context.Context, input string) (string, error) {
	var parts []string
	for _, w := range ftsWords(input) {
		p := ftsString(w.text)
		if w.prefix {
			terms, ok, err := s.prefixTerms(ctx, w.text)
			if err != nil {
				return "", err
			}
			switch {
			case !ok:
				p += "*"
			case len(terms) == 0:
				return "", nil
			default:
				for i, t := range terms {
					terms[i] = ftsString(t)
				}
				p = "(" + strings.Join(terms, " OR ") + ")"
			}
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " AND "), nil
}

// prefixTerms lists the indexed terms that begin with prefix, from the
// full-text index's vocabulary. It reports false when it cannot spell the
// prefix out: letters the tokenizer would fold (other than ASCII case), or
// more than maxPrefixTerms terms.
func (s *Store) prefixTerms(ctx context.Context, prefix string) ([]string, bool, error) {
	prefix = strings.ToLower(prefix)
	for i := 0; i < len(prefix); i++ {
		if prefix[i] >= utf8.RuneSelf {
			return nil, false, nil
		}
	}
	// Terms from prefix up to, not including, the next string that does
	// not begin with it: the last byte one higher (ASCII: no overflow).
	upper := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	var terms []string
	err := s.read(ctx).Raw(`SELECT term FROM messages_fts_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?`,
		prefix, upper, maxPrefixTerms+1).Scan(&terms).Error
	if err != nil {
		return nil, false, fmt.Errorf("terms beginning with %q: %w", prefix, err)
	}
	if len(terms) > maxPrefixTerms {
		return nil, false, nil
	}
	return terms, true, nil
}
