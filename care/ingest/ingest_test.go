package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func parseAll(t *testing.T, input string, opts Options) ([]Record, []RowError, error) {
	t.Helper()
	var recs []Record
	errs, err := Parse(strings.NewReader(input), opts, func(r Record) error { recs = append(recs, r); return nil })
	return recs, errs, err
}

func TestCSVKeepsGoodRowsAndReportsBadOnes(t *testing.T) {
	input := "\ufeffPlatform,account,id,thread,author,author_id,text,created_at,kind,rating\n" +
		"facebook,ck.riverside,c1,p1,Jess,u1,\"Do you have vegan buns?\",2026-11-20T10:00:00Z,comment,\n" +
		"google,ck.riverside,r1,,Eli,u2,,2026-11-19 18:30:00,review,5\n" +
		"myspace,ck.riverside,x1,,A,,hi,2026-11-20T10:00:00Z,comment,\n" +
		"facebook,ck.riverside,c2,,B,,\"multi\nline text\",yesterday,comment,\n" +
		"facebook,ck.riverside,c3,,C,,hi,2026-11-20T10:00:00Z,comment\n" +
		"facebook,ck.riverside,c4,,D,,\"bare \"quote,2026-11-20T10:00:00Z,comment,\n" +
		"instagram,ck.riverside,c5,,E,,nice,2026-11-20T10:00:00Z,comment,4\n" +
		"instagram,ck.riverside,c6,,F,,great,1700000000,mention,\n"
	la, _ := time.LoadLocation("America/Los_Angeles")
	recs, errs, err := parseAll(t, input, Options{Name: "export.csv", Zone: la, Now: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, fmt.Sprintf("%s@%d", r.ID, r.Line))
	}
	if got := strings.Join(ids, " "); got != "c1@2 r1@3 c6@10" {
		t.Errorf("kept %s, want c1@2 r1@3 c6@10", got)
	}
	if r := recs[1]; r.Rating != 5 || r.CreatedAt != time.Date(2026, 11, 20, 2, 30, 0, 0, time.UTC) {
		t.Errorf("review read as rating %d at %s; want 5 at 02:30 UTC (18:30 in Los Angeles)", r.Rating, r.CreatedAt)
	}
	want := []string{
		`line 4: platform: "myspace" is not one of`,
		`line 5: created_at: "yesterday" is not a time`,
		`line 7: has 9 fields, the header has 10`,
		`line 8: `,
		`line 9: rating: only reviews have a rating`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v, want %d", errs, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want it to start with %q", i, errs[i].Error(), w)
		}
	}
}

func TestCSVHeaderMustNameTheFields(t *testing.T) {
	_, _, err := parseAll(t, "platform,account,text\nfacebook,a,b\n", Options{Format: CSV})
	if !errors.Is(err, ErrNoHeader) || !strings.Contains(err.Error(), "id, created_at, kind") {
		t.Fatalf("err = %v", err)
	}
}

func TestJSONLines(t *testing.T) {
	input := `{"platform":"mastodon","account":"@ck@social.example","id":109,"author":"Kai","text":"open late?","created_at":"2026-11-20T21:00:00-08:00","kind":"mention"}` + "\n" +
		"\n" +
		`{"platform":"google","account":"ck","id":"r9","text":"","created_at":"2026-11-20T10:00:00Z","kind":"review","rating":"2"}` + "\n" +
		`not json` + "\n" +
		`{"platform":"google","account":"ck","id":"r10","text":"ok","created_at":"2026-11-20T10:00:00Z","kind":"review","rating":true}` + "\n" +
		`{"platform":"google","account":"ck","id":"r11","text":"","created_at":"2026-11-20T10:00:00Z","kind":"comment"}` + "\n" +
		`{"platform":"google","account":"ck","text":"x","created_at":"2026-11-20T10:00:00Z","kind":"comment"}` + "\n" +
		`[1,2]` + "\n" +
		`{"platform":"facebook","account":"ck","id":"f1","text":"hi","created_at":"2026-11-20T10:00:00Z","kind":"dm"}`
	recs, errs, err := parseAll(t, input, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].ID != "109" || recs[0].CreatedAt.Hour() != 5 || recs[1].Rating != 2 || recs[2].Line != 9 {
		t.Fatalf("records = %+v", recs)
	}
	want := []string{"line 4: not a JSON object", "line 5: rating: must be a string or a number, not a boolean",
		"line 6: text: is empty", "line 7: id: is missing", "line 8: not a JSON object"}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want %q", i, errs[i], w)
		}
	}
}

func TestOverlongLineIsReportedAndSkipped(t *testing.T) {
	long := `{"text":"` + strings.Repeat("a", MaxLineBytes+10) + `"}`
	good := `{"platform":"facebook","account":"ck","id":"f1","text":"hi","created_at":"2026-11-20T10:00:00Z","kind":"dm"}`
	recs, errs, err := parseAll(t, long+"\n"+good+"\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Line != 2 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 1: line is longer") {
		t.Fatalf("records %+v errors %v", recs, errs)
	}
}

// FuzzParse checks that no input makes the parser panic, and that whatever
// it accepts is valid and placed on a real line. Each input is also read
// the other way its format allows: a CSV input through a column map with
// defaults and stable IDs (twice, to check the IDs do not change), a JSON
// input as a Google reviews file.
func FuzzParse(f *testing.F) {
	f.Add("platform,account,id,thread,author,author_id,text,created_at,kind,rating\nfacebook,a,1,,b,,hi,2026-11-20T10:00:00Z,comment,\n", true)
	f.Add(`{"platform":"google","account":"a","id":"r","created_at":"2026-11-20T10:00:00Z","kind":"review","rating":5}`+"\n", false)
	f.Add("\"unterminated,\n", true)
	f.Add("{\"platform\":\n", false)
	f.Add("Reviewer,Review Text,Date,Stars\nJess,\"Cold, fries\",11/18/2026 7:04 PM,2\nEli,,2026-11-17T12:30:00Z,5\n", true)
	f.Add("\ufeffreview text,DATE,reviewer,id\nhi,1700000000,a,\n", true)
	f.Add("{\"reviews\": [\n{\"name\": \"accounts/1/locations/2/reviews/a\", \"reviewer\": {\"displayName\": \"J\"}, \"starRating\": \"TWO\",\n \"comment\": \"x\", \"createTime\": \"2026-11-20T10:00:00Z\", \"reviewReply\": {\"comment\": \"y\", \"updateTime\": \"2026-11-20T11:00:00Z\"}},\nnull, 5, {\"starRating\": \"SIX\"}]}\n", false)
	f.Fuzz(func(t *testing.T, input string, csvFormat bool) {
		opts := Options{Format: JSONLines}
		if csvFormat {
			opts.Format = CSV
		}
		lines := strings.Count(input, "\n") + 1
		check := func(r Record) {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("record on line %d of a %d-line input", r.Line, lines)
			}
			if r.Platform == "" || r.Account == "" || r.ID == "" || r.CreatedAt.IsZero() || r.Kind == "" {
				t.Fatalf("accepted an incomplete record %+v", r)
			}
			if r.Text == "" && r.Rating == 0 {
				t.Fatalf("accepted a record with neither text nor rating: %+v", r)
			}
		}
		_, err := Parse(strings.NewReader(input), opts, func(r Record) error { check(r); return nil })
		if err != nil && !errors.Is(err, ErrNoHeader) && csvFormat {
			t.Fatalf("CSV input failed with %v", err)
		}

		if csvFormat {
			mapped := Options{Format: CSV, Map: map[string]string{"author": "Reviewer", "text": "Review Text", "created_at": "Date", "rating": "Stars"},
				Platform: "yelp", Account: "ck", Kind: "review", TimeLayout: "01/02/2006 3:04 PM"}
			var ids []string
			errs1, err := Parse(strings.NewReader(input), mapped, func(r Record) error { check(r); ids = append(ids, r.ID); return nil })
			if err != nil && !errors.Is(err, ErrNoHeader) {
				t.Fatalf("mapped CSV input failed with %v", err)
			}
			i := 0
			errs2, _ := Parse(strings.NewReader(input), mapped, func(r Record) error {
				if i >= len(ids) || ids[i] != r.ID {
					t.Fatalf("a second read of the same input gave record %d the ID %s", i, r.ID)
				}
				i++
				return nil
			})
			if i != len(ids) || len(errs1) != len(errs2) {
				t.Fatalf("a second read kept %d records and refused %d rows, the first %d and %d", i, len(errs2), len(ids), len(errs1))
			}
			return
		}
		errs, err := Parse(strings.NewReader(input), Options{Format: GoogleReviews, Account: "ck"}, func(r Record) error {
			check(r)
			if r.Platform != "google" || r.Kind != "review" || r.Account != "ck" {
				t.Fatalf("a Google review read as %+v", r)
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotGoogleReviews) {
			t.Fatalf("Google reviews input failed with %v", err)
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("row error on line %d of a %d-line input: %v", e.Line, lines, e)
			}
		}
	})
}

// FuzzJSONString: a JSON string field reads as encoding/json reads it,
// whether it takes the quick way (no escapes, valid UTF-8) or not.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"caf\u00e9"`, `"tab\there"`, `"quote \" inside"`, "\"bad \xff utf8\"", `""`, ` null `, `"é ok"`, `"back\\slash"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc := append(append([]byte(`{"text":`), b...), '}')
		var want struct{ Text string }
		if json.Unmarshal(doc, &want) != nil || string(bytes.TrimSpace(b)) == "null" {
			return // not a JSON string: refused whole, or absent
		}
		var got jsonRow
		if err := json.Unmarshal(doc, &got); err != nil || got.Text.value != want.Text || !got.Text.set {
			t.Fatalf("%q read as %q (%v), encoding/json reads %q", b, got.Text.value, err, want.Text)
		}
	})
}
