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

// filterSQL gives each filter's WHERE clause, written exactly as the
// partial indexes in migrate.go are, so SQLite picks them.
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
		sqlText = `SELECT ` + messageRowSelect + ` FROM messages m
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

// CountInbox counts the messages a filter selects (for badges).
func (s *Store) CountInbox(ctx context.Context, filter string) (int64, error) {
	where, ok := filterSQL[filter]
	if !ok {
		return 0, fmt.Errorf("unknown inbox filter %q", filter)
	}
	var n int64
	err := s.read(ctx).Raw(`SELECT count(*) FROM messages m WHERE ` + where).Scan(&n).Error
	return n, err
}

// ftsQuery turns what a user typed into a safe FTS5 query: every word must
// appear, the last one as a prefix, and FTS5's own syntax has no effect.
func ftsQuery(input string) string {
	words := strings.FieldsFunc(input, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	var parts []string
	for i, w := range words {
		w = strings.Trim(w, "'")
		if w == "" {
			continue
		}
		p := `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if i == len(words)-1 {
			p += "*"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}
