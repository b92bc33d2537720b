// Package ingest reads customer messages from files: platform exports and
// hand-made lists, as JSON Lines or CSV with a header. Every row is checked;
// a bad row is reported with its line number and the reason, and the good
// rows are kept.
//
// The fields are platform, account, id, thread, author, author_id, text,
// created_at, kind and rating (see docs/import.md).
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one valid message from a file.
type Record struct {
	Line      int // line of the file where the row starts
	Platform  string
	Account   string
	ID        string
	Thread    string
	Author    string
	AuthorID  string
	Text      string
	CreatedAt time.Time
	Kind      string
	Rating    int
}

// RowError is a row that was not imported, and why.
type RowError struct {
	Line  int    `json:"line"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"error"`
}

func (e RowError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Format is a file format.
type Format int

// Formats.
const (
	Auto Format = iota
	JSONLines
	CSV
)

// Fields are the columns a file may have, in the documented order.
var Fields = []string{"platform", "account", "id", "thread", "author", "author_id", "text", "created_at", "kind", "rating"}

var required = []string{"platform", "account", "id", "created_at", "kind"}

// Platforms and kinds a row may name.
var (
	Platforms = []string{"facebook", "instagram", "google", "mastodon", "x", "bluesky", "tiktok", "yelp", "tripadvisor", "other"}
	Kinds     = []string{"comment", "dm", "mention", "review"}
)

// Limits on what one row may hold.
const (
	MaxLineBytes = 1 << 20
	MaxTextRunes = 20000
	maxIDBytes   = 256
)

// Options controls parsing.
type Options struct {
	Format Format
	// Name is the file name, used to pick the format when Format is Auto.
	Name string
	// Zone reads times written without a zone offset; nil means UTC.
	Zone *time.Location
	// Now is the current time: rows dated more than a day after it are
	// refused. Zero disables the check.
	Now time.Time
}

// ErrNoHeader means a CSV file lacks the required columns.
var ErrNoHeader = errors.New("CSV header")

// Parse reads every row of r and calls fn with each valid record. It
// returns the rows it refused. It stops early only when r cannot be read,
// the CSV header is unusable, or fn returns an error.
func Parse(r io.Reader, opts Options, fn func(Record) error) ([]RowError, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == Auto {
		format = detect(br, opts.Name)
	}
	p := parser{opts: opts, fn: fn}
	if p.opts.Zone == nil {
		p.opts.Zone = time.UTC
	}
	var err error
	if format == CSV {
		err = p.csv(br)
	} else {
		err = p.jsonLines(br)
	}
	return p.errs, err
}

func detect(br *bufio.Reader, name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV
	case ".jsonl", ".ndjson", ".json":
		return JSONLines
	}
	peek, _ := br.Peek(512)
	peek = bytes.TrimPrefix(peek, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimLeft(peek, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return JSONLines
	}
	return CSV
}

type parser struct {
	opts Options
	fn   func(Record) error
	errs []RowError
}

func (p *parser) fail(line int, field, format string, args ...any) {
	p.errs = append(p.errs, RowError{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// jsonLines reads one JSON object per line.
func (p *parser) jsonLines(br *bufio.Reader) error {
	for line := 1; ; line++ {
		raw, tooLong, err := readLine(br)
		if len(raw) > 0 || tooLong {
			if line == 1 {
				raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
			}
			if tooLong {
				p.fail(line, "", "line is longer than %d bytes", MaxLineBytes)
			} else if err := p.jsonLine(line, raw); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", line, err)
		}
	}
}

// readLine reads a line without its end; a line over MaxLineBytes is read
// to its end and reported as too long.
func readLine(br *bufio.Reader) ([]byte, bool, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes+2 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		buf = bytes.TrimRight(buf, "\r\n")
		if err == nil && len(bytes.TrimSpace(buf)) == 0 && !tooLong {
			return nil, false, nil
		}
		return bytes.TrimSpace(buf), tooLong, err
	}
}

// jsonField is one field of a JSON Lines row: a string, or a number for
// the fields that may be numbers.
type jsonField struct {
	set   bool
	value string
	kind  string // what it was when it was neither: "a boolean", "an object" …
	num   bool
}

func (f *jsonField) UnmarshalJSON(b []byte) error {
	f.set = true
	switch {
	case len(b) == 0:
		f.kind = "nothing"
	case b[0] == '"':
		return json.Unmarshal(b, &f.value)
	case b[0] == 'n':
		f.set = false // null: as if absent
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		f.value, f.num = string(b), true
	default:
		f.kind = jsonKind(b)
	}
	return nil
}

// jsonRow is a JSON Lines row; other keys are ignored.
type jsonRow struct {
	Platform  jsonField `json:"platform"`
	Account   jsonField `json:"account"`
	ID        jsonField `json:"id"`
	Thread    jsonField `json:"thread"`
	Author    jsonField `json:"author"`
	AuthorID  jsonField `json:"author_id"`
	Text      jsonField `json:"text"`
	CreatedAt jsonField `json:"created_at"`
	Kind      jsonField `json:"kind"`
	Rating    jsonField `json:"rating"`
}

// numeric are the fields that may be written as numbers.
var numeric = map[string]bool{"rating": true, "id": true, "thread": true, "author_id": true, "created_at": true}

func (p *parser) jsonLine(line int, raw []byte) error {
	if len(raw) == 0 || raw[0] != '{' {
		p.fail(line, "", "not a JSON object")
		return nil
	}
	var row jsonRow
	if err := json.Unmarshal(raw, &row); err != nil {
		p.fail(line, "", "not a JSON object: %v", trimJSONErr(err))
		return nil
	}
	fields := [...]struct {
		name string
		f    *jsonField
	}{{"platform", &row.Platform}, {"account", &row.Account}, {"id", &row.ID}, {"thread", &row.Thread},
		{"author", &row.Author}, {"author_id", &row.AuthorID}, {"text", &row.Text}, {"created_at", &row.CreatedAt},
		{"kind", &row.Kind}, {"rating", &row.Rating}}
	vals := make(map[string]string, len(fields))
	for _, fd := range fields {
		f := fd.f
		if !f.set {
			continue
		}
		if f.kind != "" || (f.num && !numeric[fd.name]) {
			kind := f.kind
			if kind == "" {
				kind = "a number"
			}
			if numeric[fd.name] {
				p.fail(line, fd.name, "must be a string or a number, not %s", kind)
			} else {
				p.fail(line, fd.name, "must be a string, not %s", kind)
			}
			return nil
		}
		vals[fd.name] = f.value
	}
	return p.record(line, vals)
}

func trimJSONErr(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

// csv reads a CSV file whose first row names the columns.
func (p *parser) csv(br *bufio.Reader) error {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return fmt.Errorf("%w: the file is empty", ErrNoHeader)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoHeader, err)
	}
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; dup {
			return fmt.Errorf("%w: column %q appears twice", ErrNoHeader, h)
		}
		col[h] = i
	}
	var missing []string
	for _, f := range required {
		if _, ok := col[f]; !ok {
			missing = append(missing, f)
		}
	}
	if _, ok := col["text"]; !ok {
		missing = append(missing, "text")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing column(s) %s; the header must name %s", ErrNoHeader, strings.Join(missing, ", "), strings.Join(Fields, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			p.fail(perr.StartLine, "", "%v", perr.Err)
			continue
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0) // a record read without error has a field 0
		if len(rec) != len(header) {
			p.fail(line, "", "has %d fields, the header has %d", len(rec), len(header))
			continue
		}
		vals := make(map[string]string, len(Fields))
		for _, f := range Fields {
			if i, ok := col[f]; ok {
				vals[f] = rec[i]
			}
		}
		if err := p.record(line, vals); err != nil {
			return err
		}
	}
}

var localLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04"}

// record validates one row's values and hands a good one on.
func (p *parser) record(line int, v map[string]string) error {
	for k, s := range v {
		if !utf8.ValidString(s) {
			p.fail(line, k, "is not valid UTF-8")
			return nil
		}
		if k != "text" {
			v[k] = strings.TrimSpace(s)
		}
	}
	r := Record{Line: line, Platform: strings.ToLower(v["platform"]), Account: v["account"], ID: v["id"], Thread: v["thread"],
		Author: v["author"], AuthorID: v["author_id"], Text: strings.TrimSpace(v["text"]), Kind: strings.ToLower(v["kind"])}
	for _, f := range required {
		if v[f] == "" {
			p.fail(line, f, "is missing")
			return nil
		}
	}
	if !slices.Contains(Platforms, r.Platform) {
		p.fail(line, "platform", "%q is not one of %s", v["platform"], strings.Join(Platforms, ", "))
		return nil
	}
	if !slices.Contains(Kinds, r.Kind) {
		p.fail(line, "kind", "%q is not one of %s", v["kind"], strings.Join(Kinds, ", "))
		return nil
	}
	for _, f := range []string{"account", "id", "thread", "author", "author_id"} {
		if len(v[f]) > maxIDBytes {
			p.fail(line, f, "is longer than %d bytes", maxIDBytes)
			return nil
		}
	}
	t, err := parseTime(v["created_at"], p.opts.Zone)
	if err != nil {
		p.fail(line, "created_at", "%v", err)
		return nil
	}
	if !p.opts.Now.IsZero() && t.After(p.opts.Now.Add(24*time.Hour)) {
		p.fail(line, "created_at", "%s is in the future", t.Format(time.RFC3339))
		return nil
	}
	r.CreatedAt = t
	if s := v["rating"]; s != "" && s != "0" { // 0 means no rating, as some exports write it
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			p.fail(line, "rating", "%q is not a whole number from 1 to 5", s)
			return nil
		}
		if r.Kind != "review" {
			p.fail(line, "rating", "only reviews have a rating (kind is %s)", r.Kind)
			return nil
		}
		r.Rating = n
	}
	if r.Text == "" && !(r.Kind == "review" && r.Rating > 0) {
		p.fail(line, "text", "is empty (only a review with a rating may have no text)")
		return nil
	}
	if n := utf8.RuneCountInString(r.Text); n > MaxTextRunes {
		p.fail(line, "text", "has %d characters, the limit is %d", n, MaxTextRunes)
		return nil
	}
	return p.fn(r)
}

func parseTime(s string, zone *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, zone); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n > 1e12 { // milliseconds
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-20T14:03:00Z), \"2026-11-20 14:03:00\" in the store's time zone, or Unix seconds", s)
}

func jsonKind(v []byte) string {
	switch t := bytes.TrimSpace(v); {
	case len(t) == 0:
		return "nothing"
	case t[0] == '{':
		return "an object"
	case t[0] == '[':
		return "an array"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	case t[0] == '"':
		return "a string"
	}
	return "a number"
}
