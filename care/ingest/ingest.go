// Package ingest reads customer messages from files: platform exports and
// hand-made lists, as JSON Lines or CSV with a header, and Google Business
// Profile review files (Google Takeout's reviews.json). Every row is
// checked; a bad row is reported with its line number and the reason, and
// the good rows are kept.
//
// The fields are platform, account, id, thread, author, author_id, text,
// created_at, kind and rating (see docs/import.md). A CSV export whose
// header is not Branchline's is read through a column map (Options.Map),
// with defaults for the platform, account and kind it does not name, and a
// stable ID (StableID) for rows that have none.
package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
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
	// Reply is the location's own reply as the export carries it, and
	// RepliedAt when it was last changed: a review answered before the
	// import. Empty and zero when the file does not say (only Google
	// review files do).
	Reply     string
	RepliedAt time.Time
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
	// GoogleReviews is one JSON document {"reviews": [Review, …]} of
	// Google Business Profile reviews: Google Takeout's reviews.json and
	// reviews-N.json, or a saved response of the API's reviews.list.
	GoogleReviews
)

func (f Format) String() string {
	switch f {
	case JSONLines:
		return "JSON Lines"
	case CSV:
		return "CSV"
	case GoogleReviews:
		return "Google Business Profile reviews"
	}
	return "auto"
}

// Fields are the columns a file may have, in the documented order.
var Fields = []string{"platform", "account", "id", "thread", "author", "author_id", "text", "created_at", "kind", "rating"}

var required = []string{"platform", "account", "id", "created_at", "kind"}

// Platforms and kinds a row may name.
var (
	Platforms = []string{"facebook", "instagram", "google", "mastodon", "x", "bluesky", "tiktok", "yelp", "tripadvisor", "other"}
	Kinds     = []string{"comment", "dm", "mention", "review"}
)

// Limits on what one row, and one JSON document, may hold.
const (
	MaxLineBytes = 1 << 20
	MaxTextRunes = 20000
	maxIDBytes   = 256
	// MaxDocumentBytes bounds a Google reviews file, which is read as one
	// JSON document (Takeout splits a location's reviews over several).
	MaxDocumentBytes = 256 << 20
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

	// Map reads a CSV export whose header is not Branchline's: it names,
	// for a field (a key from Fields), the column that holds it, as the
	// export's header writes it ({"text": "Review Text", "author":
	// "Reviewer", "created_at": "Date"}). A field not in Map is read from
	// the column of its own name, if there is one; column names match
	// without regard to case and surrounding spaces. With a Map, a file
	// with no id column gets stable IDs (StableID), so importing the same
	// export again adds nothing. CSV only.
	Map map[string]string
	// Platform, Account and Kind are used for rows whose file has no such
	// field (no such column in a CSV, no such key in a JSON Lines row): an
	// export of one location's reviews names neither its platform nor its
	// account. A value the row gives wins. A Google reviews file needs
	// Account.
	Platform, Account, Kind string
	// TimeLayout is how the file writes created_at when that is none of
	// the standard forms, as a Go time layout ("01/02/2006 3:04 PM",
	// "2006-01-02"); it is tried first. Times without a zone are read in
	// Zone.
	TimeLayout string
}

// Errors that stop a file before its rows are read.
var (
	// ErrNoHeader means a CSV file lacks the required columns.
	ErrNoHeader = errors.New("CSV header")
	// ErrOptions means the options cannot apply: an unknown field in the
	// column map, a default platform that does not exist, a map for a
	// file that is not CSV.
	ErrOptions = errors.New("import options")
	// ErrNotGoogleReviews means a file read as Google reviews is not one.
	ErrNotGoogleReviews = errors.New("not a Google Business Profile reviews file")
)

// Parse reads every row of r and calls fn with each valid record. It
// returns the rows it refused. It stops early only when r cannot be read,
// the CSV header is unusable, or fn returns an error.
func Parse(r io.Reader, opts Options, fn func(Record) error) ([]RowError, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == Auto {
		format = detect(br, opts.Name)
	}
	if err := opts.check(format); err != nil {
		return nil, err
	}
	p := parser{opts: opts, fn: fn}
	if p.opts.Zone == nil {
		p.opts.Zone = time.UTC
	}
	var err error
	switch format {
	case CSV:
		err = p.csv(br)
	case GoogleReviews:
		err = p.google(br)
	default:
		err = p.jsonLines(br)
	}
	return p.errs, err
}

// check refuses options that cannot apply to a file of format f.
func (o Options) check(f Format) error {
	if len(o.Map) > 0 && f != CSV {
		return fmt.Errorf("%w: a column map applies to CSV files; this file is read as %s", ErrOptions, f)
	}
	for field, col := range o.Map {
		if !slices.Contains(Fields, field) {
			return fmt.Errorf("%w: the column map names %q, which is not a field; the fields are %s", ErrOptions, field, strings.Join(Fields, ", "))
		}
		if strings.TrimSpace(col) == "" {
			return fmt.Errorf("%w: the column map gives no column for %s", ErrOptions, field)
		}
	}
	if o.Platform != "" && !slices.Contains(Platforms, strings.ToLower(o.Platform)) {
		return fmt.Errorf("%w: platform %q is not one of %s", ErrOptions, o.Platform, strings.Join(Platforms, ", "))
	}
	if o.Kind != "" && !slices.Contains(Kinds, strings.ToLower(o.Kind)) {
		return fmt.Errorf("%w: kind %q is not one of %s", ErrOptions, o.Kind, strings.Join(Kinds, ", "))
	}
	if !utf8.ValidString(o.Account) || len(o.Account) > maxIDBytes {
		return fmt.Errorf("%w: the account must be valid UTF-8 of at most %d bytes", ErrOptions, maxIDBytes)
	}
	if f == GoogleReviews {
		if o.Platform != "" && !strings.EqualFold(o.Platform, "google") || o.Kind != "" && !strings.EqualFold(o.Kind, "review") {
			return fmt.Errorf("%w: a Google Business Profile reviews file holds Google reviews: platform %q and kind %q do not apply", ErrOptions, o.Platform, o.Kind)
		}
		if strings.TrimSpace(o.Account) == "" {
			return fmt.Errorf("%w: a Google Business Profile reviews file does not name the location's account in Branchline: give the account", ErrOptions)
		}
	}
	return nil
}

func detect(br *bufio.Reader, name string) Format {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == ".csv" {
		return CSV
	}
	peek, _ := br.Peek(br.Size())
	peek = bytes.TrimPrefix(peek, []byte("\xef\xbb\xbf"))
	t := bytes.TrimLeft(peek, " \t\r\n")
	if len(t) > 0 && t[0] == '{' && isGoogleReviews(t) {
		return GoogleReviews
	}
	switch {
	case ext == ".jsonl" || ext == ".ndjson" || ext == ".json":
		return JSONLines
	case len(t) > 0 && t[0] == '{':
		return JSONLines
	}
	return CSV
}

type parser struct {
	opts Options
	fn   func(Record) error
	errs []RowError
	// label names a field as the file does, for the errors of a file
	// that is not in Branchline's own format (a mapped column, a Google
	// review's key).
	label map[string]string
}

func (p *parser) fail(line int, field, format string, args ...any) {
	if l, ok := p.label[field]; ok {
		field = l
	}
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
		// The row was checked as JSON already: a string without escapes
		// that is valid UTF-8 is its bytes between the quotes.
		if len(b) >= 2 && b[len(b)-1] == '"' {
			if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				f.value = string(inner)
				return nil
			}
		}
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
	if r, ok := p.record(line, vals, false); ok {
		return p.fn(r)
	}
	return nil
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
	col, hashIDs, err := p.columns(header)
	if err != nil {
		return err
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
		for f, i := range col {
			vals[f] = rec[i]
		}
		if r, ok := p.record(line, vals, hashIDs); ok {
			if err := p.fn(r); err != nil {
				return err
			}
		}
	}
}

// columns finds, for each field, the index of the column that holds it:
// the one Options.Map names, else the one named like the field. hashIDs
// says rows get stable IDs, for a mapped file without an id column.
func (p *parser) columns(header []string) (col map[string]int, hashIDs bool, err error) {
	index := map[string][]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		index[h] = append(index[h], i)
	}
	mapped := len(p.opts.Map) > 0
	col = map[string]int{}
	for _, f := range Fields {
		name, fromMap := strings.ToLower(strings.TrimSpace(p.opts.Map[f])), true
		if name == "" {
			name, fromMap = f, false
		}
		at := index[name]
		switch {
		case len(at) > 1:
			return nil, false, fmt.Errorf("%w: column %q appears twice", ErrNoHeader, name)
		case len(at) == 1:
			col[f] = at[0]
			if fromMap {
				if p.label == nil {
					p.label = map[string]string{}
				}
				p.label[f] = strings.TrimSpace(header[at[0]])
			}
		case fromMap:
			return nil, false, fmt.Errorf("%w: the column map reads %s from column %q, which the header does not have (it has %s)",
				ErrNoHeader, f, p.opts.Map[f], quoteList(header))
		}
	}
	defaults := map[string]string{"platform": p.opts.Platform, "account": p.opts.Account, "kind": p.opts.Kind}
	var missing []string
	for _, f := range append(slices.Clone(required), "text") {
		if _, ok := col[f]; ok || defaults[f] != "" {
			continue
		}
		if f == "id" && mapped {
			hashIDs = true
			continue
		}
		missing = append(missing, f)
	}
	if len(missing) == 0 {
		return col, hashIDs, nil
	}
	if mapped {
		return nil, false, fmt.Errorf("%w: no column for %s: map each to the export's column, or give the platform, account or kind for the whole file (the header has %s)",
			ErrNoHeader, strings.Join(missing, ", "), quoteList(header))
	}
	return nil, false, fmt.Errorf("%w: missing column(s) %s; the header must name %s", ErrNoHeader, strings.Join(missing, ", "), strings.Join(Fields, ","))
}

// quoteList shows a header's columns, shortened when there are many.
func quoteList(cols []string) string {
	const most = 30
	q := make([]string, 0, min(len(cols), most))
	for i, c := range cols {
		if i == most {
			q = append(q, fmt.Sprintf("and %d more", len(cols)-most))
			break
		}
		if i == 0 {
			c = strings.TrimPrefix(c, "\ufeff")
		}
		q = append(q, strconv.Quote(strings.TrimSpace(c)))
	}
	return strings.Join(q, ", ")
}

var localLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04"}

// record validates one row's values into a record; false when the row
// is bad (and reported). Fields the row does not have take the options'
// defaults; hashID gives a row without an id its StableID.
func (p *parser) record(line int, v map[string]string, hashID bool) (Record, bool) {
	for k, s := range v {
		if !utf8.ValidString(s) {
			p.fail(line, k, "is not valid UTF-8")
			return Record{}, false
		}
		if k != "text" {
			v[k] = strings.TrimSpace(s)
		}
	}
	for _, d := range [...]struct{ field, value string }{{"platform", p.opts.Platform}, {"account", p.opts.Account}, {"kind", p.opts.Kind}} {
		if d.value == "" {
			continue
		}
		if _, ok := v[d.field]; !ok {
			v[d.field] = strings.TrimSpace(d.value)
		}
	}
	r := Record{Line: line, Platform: strings.ToLower(v["platform"]), Account: v["account"], ID: v["id"], Thread: v["thread"],
		Author: v["author"], AuthorID: v["author_id"], Text: strings.TrimSpace(v["text"]), Kind: strings.ToLower(v["kind"])}
	for _, f := range required {
		if v[f] == "" && !(f == "id" && hashID) {
			p.fail(line, f, "is missing")
			return Record{}, false
		}
	}
	if !slices.Contains(Platforms, r.Platform) {
		p.fail(line, "platform", "%q is not one of %s", v["platform"], strings.Join(Platforms, ", "))
		return Record{}, false
	}
	if !slices.Contains(Kinds, r.Kind) {
		p.fail(line, "kind", "%q is not one of %s", v["kind"], strings.Join(Kinds, ", "))
		return Record{}, false
	}
	for _, f := range []string{"account", "id", "thread", "author", "author_id"} {
		if len(v[f]) > maxIDBytes {
			p.fail(line, f, "is longer than %d bytes", maxIDBytes)
			return Record{}, false
		}
	}
	t, err := parseTime(v["created_at"], p.opts.TimeLayout, p.opts.Zone)
	if err != nil {
		p.fail(line, "created_at", "%v", err)
		return Record{}, false
	}
	if !p.opts.Now.IsZero() && t.After(p.opts.Now.Add(24*time.Hour)) {
		p.fail(line, "created_at", "%s is in the future", t.Format(time.RFC3339))
		return Record{}, false
	}
	r.CreatedAt = t
	if s := v["rating"]; s != "" && s != "0" { // 0 means no rating, as some exports write it
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			p.fail(line, "rating", "%q is not a whole number from 1 to 5", s)
			return Record{}, false
		}
		if r.Kind != "review" {
			p.fail(line, "rating", "only reviews have a rating (kind is %s)", r.Kind)
			return Record{}, false
		}
		r.Rating = n
	}
	if r.Text == "" && !(r.Kind == "review" && r.Rating > 0) {
		p.fail(line, "text", "is empty (only a review with a rating may have no text)")
		return Record{}, false
	}
	if n := utf8.RuneCountInString(r.Text); n > MaxTextRunes {
		p.fail(line, "text", "has %d characters, the limit is %d", n, MaxTextRunes)
		return Record{}, false
	}
	if r.ID == "" {
		r.ID = StableID(r.Platform, r.Account, r.Author, r.CreatedAt, r.Text)
	}
	return r, true
}

// StableID is the ID given to a message whose export has none: a hash of
// its platform, account, author, time and text, so importing the same
// export again finds the same IDs and adds nothing. Two messages alike in
// all five are taken for one.
func StableID(platform, account, author string, createdAt time.Time, text string) string {
	h := sha256.New()
	for _, s := range []string{platform, account, author, createdAt.UTC().Format(time.RFC3339Nano), text} {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	return "hash-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func parseTime(s, layout string, zone *time.Location) (time.Time, error) {
	if layout != "" {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t.UTC(), nil
		}
	}
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
	if layout != "" {
		return time.Time{}, fmt.Errorf("%q is not a time in the layout %q, nor RFC 3339, nor Unix seconds", s, layout)
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
	case t[0] == 'n':
		return "null"
	}
	return "a number"
}

// Preview is what the start of a file says about it, before it is read:
// its format and, for CSV, its columns as the header writes them.
type Preview struct {
	Format  Format
	Columns []string
}

// Inspect reads the start of a file (name picks the format by its
// extension, as Parse does) and says what it is.
func Inspect(r io.Reader, name string) (Preview, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	p := Preview{Format: detect(br, name)}
	if p.Format != CSV {
		return p, nil
	}
	line, err := br.ReadString('\n')
	if err != nil && err != io.EOF {
		return p, fmt.Errorf("read the CSV header: %w", err)
	}
	cols, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(line, "\ufeff"))).Read()
	if err != nil {
		return p, fmt.Errorf("%w: %v", ErrNoHeader, err)
	}
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
	}
	p.Columns = cols
	return p, nil
}

// Missing lists the fields Branchline's own format requires that the
// file's columns lack: what a column map or defaults must supply.
func (p Preview) Missing() []string {
	if p.Format != CSV {
		return nil
	}
	var out []string
	for _, f := range required {
		if !slices.ContainsFunc(p.Columns, func(c string) bool { return strings.EqualFold(c, f) }) {
			out = append(out, f)
		}
	}
	return out
}
