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
	FilterAll           = "all"            // every inbound message
)

// InboxQuery selects a page of inbound messages, newest first.
type InboxQuery struct {
	Filter string
	// Search is full-text search over message text and author; with it,
	// results come newest-stored first.
	Search string
	Limit  int
	After  string // cursor from the last row of the previous page
}

// ErrBadCursor means a cursor did not come from this store.
var ErrBadCursor = errors.New("invalid cursor")

// Cursor is the position of a row in the inbox order.
func Cursor(m Message) string {
	raw := strconv.FormatInt(m.CreatedAt.UTC().UnixNano(), 10) + ":" + strconv.FormatInt(m.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseCursor(c string) (time.Time, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	ts, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return time.Time{}, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	ns, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return time.Time{}, 0, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	return time.Unix(0, ns).UTC(), n, nil
}

// filterIndex names the index each filter reads, in its order; naming it
// keeps the plan fixed whatever statistics SQLite has (without them it
// may prefer the general index and scan a million rows).
var filterIndex = map[string]string{
	FilterNeedsResponse: "messages_awaiting",
	FilterUnanswered:    "messages_awaiting",
	FilterAll:           "messages_inbound",
}

// filterSQL gives each filter's WHERE clause, including every term of its
// partial index's own WHERE, as SQLite requires to use it.
var filterSQL = map[string]string{
	FilterNeedsResponse: "m.direction = 'in' AND m.needs_response = 1 AND m.status IN ('open', 'replying') AND m.status = 'open'",
	FilterUnanswered:    "m.direction = 'in' AND m.needs_response = 1 AND m.status IN ('open', 'replying')",
	FilterAll:           "m.direction = 'in'",
}

// Inbox returns a page of messages and the cursor of its last row ("" at
// the end).
func (s *Store) Inbox(ctx context.Context, q InboxQuery) ([]MessageRow, string, error) {
	if q.Filter == "" {
		q.Filter = FilterAll
	}
	where, ok := filterSQL[q.Filter]
	if !ok {
		return nil, "", fmt.Errorf("unknown inbox filter %q: use %s, %s or %s", q.Filter, FilterNeedsResponse, FilterUnanswered, FilterAll)
	}
	limit := clampLimit(q.Limit, 50, 1000)
	args := []any{}
	var sqlText string
	if strings.TrimSpace(q.Search) != "" {
		match := ftsQuery(q.Search)
		if match == "" {
			return nil, "", nil
		}
		if q.Filter != FilterAll {
			rows, ok, err := s.searchWithinFilter(ctx, q.Filter, match, q.After, limit)
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
			WHERE messages_fts MATCH ? AND ` + where
		args = append(args, match)
		if q.After != "" {
			_, id, err := parseCursor(q.After)
			if err != nil {
				return nil, "", err
			}
			sqlText += ` AND f.rowid < ?`
			args = append(args, id)
		}
		sqlText += ` ORDER BY f.rowid DESC LIMIT ?`
	} else {
		sqlText = `SELECT ` + messageRowSelect + ` FROM messages m INDEXED BY ` + filterIndex[q.Filter] + `
			JOIN accounts a ON a.id = m.account_id
			WHERE ` + where
		if q.After != "" {
			at, id, err := parseCursor(q.After)
			if err != nil {
				return nil, "", err
			}
			sqlText += ` AND (m.created_at < ? OR (m.created_at = ? AND m.id < ?))`
			args = append(args, at, at, id)
		}
		sqlText += ` ORDER BY m.created_at DESC, m.id DESC LIMIT ?`
	}
	args = append(args, limit)
	var rows []MessageRow
	if err := s.read(ctx).Raw(sqlText, args...).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("inbox %s: %w", q.Filter, err)
	}
	next := ""
	if len(rows) == limit {
		next = Cursor(rows[len(rows)-1].Message)
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
func (s *Store) searchWithinFilter(ctx context.Context, filter, match, after string, limit int) ([]MessageRow, bool, error) {
	cond := filterSQL[filter]
	from := "messages m INDEXED BY " + filterIndex[filter]
	args := []any{}
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
		append(args, filterCandidates+1)...).Scan(&n).Error; err != nil {
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
			SELECT m.id FROM `+from+` WHERE `+cond+` ORDER BY m.created_at DESC, m.id DESC LIMIT ?
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
	where, ok := filterSQL[filter]
	if !ok {
		return 0, fmt.Errorf("unknown inbox filter %q", filter)
	}
	var n int64
	err := s.read(ctx).Raw(`SELECT count(*) FROM messages m INDEXED BY ` + filterIndex[filter] + ` WHERE ` + where).Scan(&n).Error
	return n, err
}

// ftsQuery turns what a user typed into a safe FTS5 query: every word must
// appear; a word ending in * (of three letters or more) matches as a
// prefix; FTS5's own syntax has no effect.
func ftsQuery(input string) string {
	words := strings.FieldsFunc(input, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '*'
	})
	var parts []string
	for _, w := range words {
		prefix := strings.HasSuffix(w, "*")
		w = strings.Trim(w, "'*")
		if w == "" || strings.ContainsRune(w, '*') {
			continue
		}
		p := `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if prefix && utf8.RuneCountInString(w) >= 3 {
			p += "*"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}
