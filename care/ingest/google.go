package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// A Google Business Profile reviews file is one JSON document whose
// "reviews" list holds Review resources as the Business Profile API
// documents them
// (https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews):
//
//	{"reviews": [{"name": "accounts/1/locations/2/reviews/AbC",
//	              "reviewer": {"displayName": "Jess", "isAnonymous": false},
//	              "starRating": "FOUR", "comment": "…",
//	              "createTime": "2026-11-20T10:00:00.123Z", "updateTime": "…",
//	              "reviewReply": {"comment": "…", "updateTime": "…"}}, …]}
//
// Google Takeout writes a location's reviews so, in
// "Google Business Profile/account-<id>/location-<id>/reviews.json" (and
// reviews-N.json); the API's reviews.list answers so too. See
// testdata/README.md for the sources.

// googleReview is a Review resource; other keys are ignored.
type googleReview struct {
	Name     string `json:"name"`
	ReviewID string `json:"reviewId"`
	Reviewer struct {
		DisplayName string `json:"displayName"`
	} `json:"reviewer"`
	StarRating  string `json:"starRating"`
	Comment     string `json:"comment"`
	CreateTime  string `json:"createTime"`
	ReviewReply *struct {
		Comment    string `json:"comment"`
		UpdateTime string `json:"updateTime"`
	} `json:"reviewReply"`
}

// googleLabels name the fields as a Review does, for row errors.
var googleLabels = map[string]string{
	"id": "name", "author": "reviewer.displayName", "text": "comment",
	"created_at": "createTime", "rating": "starRating",
}

var starRatings = map[string]string{"ONE": "1", "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "STAR_RATING_UNSPECIFIED": ""}

// isGoogleReviews says whether the start of a JSON object has a "reviews"
// list among its keys: the start of a Google reviews file, never of a JSON
// Lines row of Branchline's.
func isGoogleReviews(start []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(start))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		if key == "reviews" {
			tok, err := dec.Token()
			return err == nil && tok == json.Delim('[')
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// google reads a Google reviews file. A review that is not valid is
// reported on the line where it starts; where the JSON itself breaks, the
// rest of the file cannot be read, and that is reported the same way.
func (p *parser) google(br *bufio.Reader) error {
	p.label = googleLabels
	lr := &lineReader{r: br, max: MaxDocumentBytes}
	dec := json.NewDecoder(lr)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if errors.Is(err, errTooLarge) {
			return fmt.Errorf("read %s: %w", GoogleReviews, err)
		}
		return fmt.Errorf("%w: the file is not a JSON object", ErrNotGoogleReviews)
	}
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return p.broken(lr, dec, err)
		}
		if key != "reviews" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return p.broken(lr, dec, err)
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			return p.broken(lr, dec, err)
		}
		if tok == nil { // "reviews": null, a location without reviews
			found = true
			continue
		}
		if tok != json.Delim('[') {
			return fmt.Errorf("%w: \"reviews\" is not a list", ErrNotGoogleReviews)
		}
		found = true
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return p.broken(lr, dec, err)
			}
			line := lr.lineAt(dec.InputOffset() - int64(len(raw)))
			if err := p.googleReview(line, raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the list's ]
			return p.broken(lr, dec, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the document's }
		return p.broken(lr, dec, err)
	}
	if !found {
		return fmt.Errorf("%w: it has no \"reviews\" list", ErrNotGoogleReviews)
	}
	return nil
}

// broken reports where a Google reviews file stops being readable JSON;
// the reviews before are kept. Only reading failures stop the import.
func (p *parser) broken(lr *lineReader, dec *json.Decoder, err error) error {
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("read %s: %w", GoogleReviews, err)
	case lr.err != nil:
		return fmt.Errorf("read %s: %w", GoogleReviews, lr.err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		p.fail(lr.lineAt(lr.read), "", "the file ends in the middle of its JSON: the rest of it is missing")
	default:
		// The decoder stands just after the last value it read.
		p.fail(lr.lineAt(dec.InputOffset()), "", "the JSON breaks after this point (%v): the rest of the file was not read", trimJSONErr(err))
	}
	return nil
}

// googleReview checks one Review and hands it on.
func (p *parser) googleReview(line int, raw json.RawMessage) error {
	if len(raw) == 0 || raw[0] != '{' {
		p.fail(line, "", "not a review: a review is a JSON object, this is %s", jsonKind(raw))
		return nil
	}
	var g googleReview
	if err := json.Unmarshal(raw, &g); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			p.fail(line, typ.Field, "must be %s, not %s", goType(typ.Type.Kind().String()), typ.Value)
		} else {
			p.fail(line, "", "not a review: %v", trimJSONErr(err))
		}
		return nil
	}
	rating, ok := starRatings[strings.TrimSpace(g.StarRating)]
	if !ok && g.StarRating != "" {
		p.fail(line, "rating", "%q is not one of ONE, TWO, THREE, FOUR, FIVE", g.StarRating)
		return nil
	}
	id := g.ReviewID
	if id == "" {
		id = g.Name[strings.LastIndexByte(g.Name, '/')+1:] // accounts/{a}/locations/{l}/reviews/{id}
	}
	v := map[string]string{"platform": "google", "kind": "review", "account": p.opts.Account, "author": g.Reviewer.DisplayName,
		"text": g.Comment, "created_at": g.CreateTime, "rating": rating}
	if strings.TrimSpace(id) != "" {
		v["id"] = id
	}
	r, ok := p.record(line, v, true)
	if !ok {
		return nil
	}
	if rep := g.ReviewReply; rep != nil {
		r.Reply = strings.TrimSpace(rep.Comment)
		if n := utf8.RuneCountInString(r.Reply); n > MaxTextRunes {
			p.fail(line, "reviewReply.comment", "has %d characters, the limit is %d", n, MaxTextRunes)
			return nil
		}
		if rep.UpdateTime != "" {
			t, err := parseTime(rep.UpdateTime, "", p.opts.Zone)
			if err != nil {
				p.fail(line, "reviewReply.updateTime", "%v", err)
				return nil
			}
			r.RepliedAt = t
		}
	}
	return p.fn(r)
}

// goType names a Go kind the way a JSON file's author would.
func goType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice":
		return "a list"
	}
	return kind
}

// errTooLarge: a JSON document over MaxDocumentBytes.
var errTooLarge = fmt.Errorf("the file is larger than %d MiB", MaxDocumentBytes>>20)

// lineReader counts lines as a JSON decoder reads, so that a review is
// reported on the line where it starts. It keeps the offsets of the
// newlines the decoder has read ahead of the last lookup, no more.
type lineReader struct {
	r      io.Reader
	max    int64
	read   int64   // bytes read so far
	nl     []int64 // offsets of newlines at or after the last lookup
	passed int     // newlines before those
	err    error   // a failure of r itself
}

func (l *lineReader) Read(b []byte) (int, error) {
	if l.read >= l.max {
		return 0, errTooLarge
	}
	b = b[:min(int64(len(b)), l.max-l.read)]
	n, err := l.r.Read(b)
	for i := 0; i < n; {
		j := bytes.IndexByte(b[i:n], '\n')
		if j < 0 {
			break
		}
		l.nl = append(l.nl, l.read+int64(i+j))
		i += j + 1
	}
	l.read += int64(n)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

// lineAt is the line, from 1, of byte offset off; offsets must not go
// back between calls.
func (l *lineReader) lineAt(off int64) int {
	i := 0
	for i < len(l.nl) && l.nl[i] < off {
		i++
	}
	l.passed += i
	l.nl = l.nl[i:]
	return l.passed + 1
}
