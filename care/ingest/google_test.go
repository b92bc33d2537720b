package ingest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestGoogleReviewsFile(t *testing.T) {
	f, err := os.Open("testdata/google/reviews.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	errs, err := Parse(f, Options{Name: "reviews.json", Account: "ck.riverside", Now: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)},
		func(r Record) error { recs = append(recs, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Line: 3, Platform: "google", Account: "ck.riverside", ID: "Ci9DQUlRQUNvZENodHljRjlvT21WM2EwTk5TWGMwU3pVNVgyRmhWRFkxVWpSa2JuYxAB",
			Author: "Jess Moreno", Text: "Waited 25 minutes at the drive-through and the fries were cold.",
			CreatedAt: time.Date(2026, 11, 18, 19, 4, 11, 503832000, time.UTC), Kind: "review", Rating: 2},
		{Line: 14, Platform: "google", Account: "ck.riverside", ID: "Ci9DQUlRQUNvZENodHljRjlvT2tZNE9HNWZOamRzZEhFMVpIbHphREpRVGpFMVowRRAB",
			Author: "Eli Park", CreatedAt: time.Date(2026, 11, 17, 12, 30, 0, 0, time.UTC), Kind: "review", Rating: 5,
			Reply: "Thanks Eli, see you soon!", RepliedAt: time.Date(2026, 11, 17, 15, 0, 0, 0, time.UTC)},
		{Line: 27, Platform: "google", Account: "ck.riverside", ID: "AbCdEfGhIjKlMnOp",
			Text:      "(Translated by Google) Good burgers, friendly staff\n\n(Original)\nBuenas hamburguesas, personal amable",
			CreatedAt: time.Date(2026, 11, 16, 9, 15, 42, 45123456, time.UTC), Kind: "review", Rating: 4},
		{Line: 54, Platform: "google", Account: "ck.riverside", ID: "ApiShape1", Author: "Sam Lee", Text: "Do you have gluten-free buns?",
			CreatedAt: time.Date(2026, 11, 14, 12, 30, 0, 0, time.UTC), Kind: "review"},
	}
	if len(recs) != len(want) {
		t.Fatalf("read %d reviews, want %d: %+v", len(recs), len(want), recs)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("review %d:\n got %+v\nwant %+v", i, recs[i], want[i])
		}
	}
	wantErrs := []string{
		"line 37: createTime: is missing",
		`line 45: starRating: "SIX" is not one of ONE, TWO, THREE, FOUR, FIVE`,
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %v", errs, wantErrs)
	}
	for i, w := range wantErrs {
		if errs[i].Error() != w {
			t.Errorf("error %d = %q, want %q", i, errs[i].Error(), w)
		}
	}
}

func TestFormatDetection(t *testing.T) {
	row := `{"platform":"google","account":"ck","id":"r1","text":"hi","created_at":"2026-11-20T10:00:00Z","kind":"review"}`
	for _, tc := range []struct {
		name, file, input string
		want              Format
	}{
		{"takeout file", "reviews.json", "{\n  \"reviews\": [\n    {\"name\": \"a/b\"}\n  ]\n}\n", GoogleReviews},
		{"takeout file with a BOM, no name", "", "\ufeff {\"reviews\":[]}", GoogleReviews},
		{"API list response, reviews after other keys", "page.json", `{"averageRating": 4.5, "totalReviewCount": 2, "nextPageToken": "x", "reviews": [{}]}`, GoogleReviews},
		{"reviews-3.json of a large export", "reviews-3.json", `{"reviews":[` + strings.Repeat(`{"comment":"x"},`, 5000) + `{}]}`, GoogleReviews},
		{"JSON Lines named .json", "export.json", row + "\n" + row + "\n", JSONLines},
		{"JSON Lines without a name", "", row + "\n", JSONLines},
		{"an object whose reviews is not a list", "x.json", `{"reviews": {"a": 1}}`, JSONLines},
		{"CSV by name even if it starts with {", "x.csv", "{a,b\n", CSV},
		{"CSV without a name", "", "platform,account\n", CSV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.input), 64<<10)
			if got := detect(br, tc.file); got != tc.want {
				t.Errorf("detected %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGoogleReviewsFileProblems(t *testing.T) {
	good := func(id string) string {
		return `{"name":"accounts/1/locations/2/reviews/` + id + `","starRating":"FIVE","createTime":"2026-11-20T10:00:00Z"}`
	}
	for _, tc := range []struct {
		name    string
		input   string
		opts    Options
		kept    string // IDs of the reviews read, in order
		errs    []string
		fileErr error
	}{
		{
			name:  "cut short: the reviews before are kept",
			input: "{\"reviews\": [\n" + good("a") + ",\n" + good("b") + ",\n{\"name\": \"accounts/1/loc",
			kept:  "a b", errs: []string{"line 4: the file ends in the middle of its JSON"},
		},
		{
			name:  "broken JSON in the middle",
			input: "{\"reviews\": [\n" + good("a") + ",\n{\"comment\": \"x\" \"oops\"},\n" + good("c") + "]}",
			kept:  "a", errs: []string{"line 2: the JSON breaks after this point"},
		},
		{
			name:  "elements that are not reviews, and wrong types",
			input: "{\"reviews\": [null,\n\"text\",\n{\"reviewer\": {\"displayName\": 7}, \"createTime\": \"2026-11-20T10:00:00Z\"},\n" + good("d") + "]}",
			kept:  "d", errs: []string{"line 1: not a review: a review is a JSON object, this is null",
				"line 2: not a review: a review is a JSON object, this is a string",
				"line 3: reviewer.displayName: must be a string, not number"},
		},
		{
			name:  "no ID at all: a stable one",
			input: `{"reviews": [{"reviewer": {"displayName": "Kai"}, "comment": "Open late?", "createTime": "2026-11-20T10:00:00Z"}]}`,
			kept:  StableID("google", "ck", "Kai", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), "Open late?"),
		},
		{
			name:  "a reply with a bad time",
			input: `{"reviews": [{"name": "x/y/z", "starRating": "ONE", "createTime": "2026-11-20T10:00:00Z", "reviewReply": {"comment": "Sorry", "updateTime": "soon"}}]}`,
			errs:  []string{`line 1: reviewReply.updateTime: "soon" is not a time`},
		},
		{name: "reviews: null", input: `{"reviews": null, "totalReviewCount": 0}`},
		{name: "not an object", input: `[1]`, opts: Options{Format: GoogleReviews, Account: "ck"}, fileErr: ErrNotGoogleReviews},
		{name: "no reviews list", input: `{"other": []}`, opts: Options{Format: GoogleReviews, Account: "ck"}, fileErr: ErrNotGoogleReviews},
		{name: "reviews is a string", input: `{"reviews": "none"}`, opts: Options{Format: GoogleReviews, Account: "ck"}, fileErr: ErrNotGoogleReviews},
		{name: "no account given", input: `{"reviews": []}`, opts: Options{Name: "reviews.json"}, fileErr: ErrOptions},
		{name: "another platform given", input: `{"reviews": []}`, opts: Options{Name: "reviews.json", Account: "ck", Platform: "yelp"}, fileErr: ErrOptions},
		{name: "a column map given", input: `{"reviews": []}`, opts: Options{Name: "reviews.json", Account: "ck", Map: map[string]string{"text": "comment"}}, fileErr: ErrOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.Format == Auto && opts.Name == "" {
				opts = Options{Format: GoogleReviews, Account: "ck"}
			}
			recs, errs, err := parseAll(t, tc.input, opts)
			if tc.fileErr != nil {
				if !errors.Is(err, tc.fileErr) {
					t.Fatalf("err = %v, want %v", err, tc.fileErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.ID)
			}
			if got := strings.Join(ids, " "); got != tc.kept {
				t.Errorf("kept %q, want %q", got, tc.kept)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors = %v, want %v", errs, tc.errs)
			}
			for i, w := range tc.errs {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to start with %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestLineReaderPlacesOffsetsAndBoundsTheDocument(t *testing.T) {
	input := "{\n\"reviews\": [\n{\"a\": 1},\n\n{\"b\": 2}\n]\n}\n"
	lr := &lineReader{r: strings.NewReader(input), max: MaxDocumentBytes}
	dec := json.NewDecoder(lr)
	dec.Token() // {
	dec.Token() // reviews
	dec.Token() // [
	var lines []int
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, lr.lineAt(dec.InputOffset()-int64(len(raw))))
	}
	if fmt.Sprint(lines) != "[3 5]" {
		t.Errorf("elements placed on lines %v, want [3 5]", lines)
	}
	if len(lr.nl) > 4 {
		t.Errorf("kept %d newline offsets after the lookups", len(lr.nl))
	}

	small := &lineReader{r: strings.NewReader(strings.Repeat(" ", 100)), max: 10}
	if _, err := io.ReadAll(small); !errors.Is(err, errTooLarge) {
		t.Errorf("reading past the bound: %v, want errTooLarge", err)
	}
}
