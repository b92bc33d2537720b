package ingest

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// exportMap reads testdata/mapped/export.csv.
var exportMap = map[string]string{"author": "Reviewer", "text": "Review Text", "created_at": "Date", "rating": "Stars"}

func exportOptions(t *testing.T) Options {
	t.Helper()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Name: "export.csv", Map: exportMap, Platform: "yelp", Account: "ck.riverside", Kind: "review",
		TimeLayout: "01/02/2006 3:04 PM", Zone: la, Now: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
}

func TestMappedExport(t *testing.T) {
	b, err := os.ReadFile("testdata/mapped/export.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, errs, err := parseAll(t, string(b), exportOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	jess := time.Date(2026, 11, 19, 3, 4, 0, 0, time.UTC) // 7:04 PM in Los Angeles
	eli := time.Date(2026, 11, 17, 20, 30, 0, 0, time.UTC)
	ana := time.Date(2026, 11, 16, 17, 15, 0, 0, time.UTC)
	want := []Record{
		{Line: 2, Platform: "yelp", Account: "ck.riverside", Author: "Jess M.", Text: "The shake machine was broken again, third time this month.",
			CreatedAt: jess, Kind: "review", Rating: 2},
		{Line: 3, Platform: "yelp", Account: "ck.riverside", Author: "Eli P.", CreatedAt: eli, Kind: "review", Rating: 5},
		{Line: 6, Platform: "yelp", Account: "ck.riverside", Author: "Ana", Text: "Cold fries", CreatedAt: ana, Kind: "review", Rating: 1},
	}
	if len(recs) != len(want) {
		t.Fatalf("records = %+v", recs)
	}
	for i, w := range want {
		w.ID = StableID(w.Platform, w.Account, w.Author, w.CreatedAt, w.Text)
		if recs[i] != w {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, recs[i], w)
		}
	}
	wantErrs := []string{
		`line 4: Date: "yesterday" is not a time in the layout "01/02/2006 3:04 PM"`,
		`line 5: Stars: "seven" is not a whole number from 1 to 5`,
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range wantErrs {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want it to start with %q", i, errs[i], w)
		}
	}
}

func TestStableIDsMakeReimportAddNothing(t *testing.T) {
	opts := exportOptions(t)
	header := "Reviewer,Review Text,Date,Stars\n"
	rows := []string{
		"Jess,\"Cold fries, again\",11/18/2026 7:04 PM,2\n",
		"Jess,Cold fries,11/18/2026 7:04 PM,2\n",
		"Jess,Cold fries,11/18/2026 7:05 PM,2\n",
		"Kai,Cold fries,11/18/2026 7:04 PM,2\n",
		"Kai,  Cold fries  ,11/18/2026 7:04 PM,3\n", // same words, other stars: the same message
	}
	ids := func(input string, o Options) []string {
		recs, errs, err := parseAll(t, input, o)
		if err != nil || len(errs) > 0 {
			t.Fatalf("parse: %v %v", err, errs)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	first := ids(header+strings.Join(rows, ""), opts)
	again := ids(header+strings.Join(rows, ""), opts)
	if strings.Join(first, " ") != strings.Join(again, " ") {
		t.Fatalf("IDs differ between two imports of one export:\n%v\n%v", first, again)
	}
	// The same export with its columns in another order and another case.
	swapped := "Stars,date,REVIEW TEXT,Reviewer\n" + "2,11/18/2026 7:04 PM,\"Cold fries, again\",Jess\n"
	if got := ids(swapped, opts); got[0] != first[0] {
		t.Errorf("reordered columns gave ID %s, want %s", got[0], first[0])
	}
	seen := map[string]int{}
	for i, id := range first[:4] {
		if j, dup := seen[id]; dup {
			t.Errorf("rows %d and %d differ but got the same ID %s", j, i, id)
		}
		seen[id] = i
	}
	if first[4] != first[3] {
		t.Errorf("surrounding spaces changed the ID: %s, %s", first[3], first[4])
	}
	other := opts
	other.Account = "ck.harbor"
	if got := ids(header+rows[0], other); got[0] == first[0] {
		t.Error("another account's message got the same ID")
	}
	if !strings.HasPrefix(first[0], "hash-") || len(first[0]) != len("hash-")+32 {
		t.Errorf("stable ID %q", first[0])
	}
}

func TestColumnMapAndDefaults(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		input   string
		opts    Options
		want    string // records as platform/account/id/kind, space-separated
		errs    []string
		fileErr error
		errText string
	}{
		{
			name:  "export with its own IDs keeps them",
			input: "Review ID,Comment,Posted\nR-1,Slow service,2026-11-20T10:00:00Z\n",
			opts:  Options{Map: map[string]string{"id": "Review ID", "text": "Comment", "created_at": "Posted"}, Platform: "tripadvisor", Account: "ck", Kind: "review"},
			want:  "tripadvisor/ck/R-1/review",
		},
		{
			name:  "a value in the file wins over the default; an empty cell is missing",
			input: "platform,Comment,Posted,Kind\ngoogle,hi,2026-11-20T10:00:00Z,comment\n,hi,2026-11-20T10:00:00Z,comment\n",
			opts:  Options{Map: map[string]string{"text": "Comment", "created_at": "Posted"}, Platform: "yelp", Account: "ck", Kind: "review"},
			want:  "google/ck/" + StableID("google", "ck", "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), "hi") + "/comment",
			errs:  []string{"line 3: platform: is missing"},
		},
		{
			name:  "Branchline's own header with defaults for what it lacks",
			input: "id,text,created_at\n1,hi,2026-11-20T10:00:00Z\n",
			opts:  Options{Platform: "Mastodon", Account: "@ck@social.example", Kind: "Mention"},
			want:  "mastodon/@ck@social.example/1/mention",
		},
		{
			name:    "without a map, an id column is still required",
			input:   "text,created_at\nhi,2026-11-20T10:00:00Z\n",
			opts:    Options{Platform: "yelp", Account: "ck", Kind: "review"},
			fileErr: ErrNoHeader, errText: "missing column(s) id",
		},
		{
			name:    "a mapped column the header lacks",
			input:   "Reviewer,Text\nA,hi\n",
			opts:    Options{Map: map[string]string{"text": "Review Text"}, Platform: "yelp", Account: "ck", Kind: "review"},
			fileErr: ErrNoHeader, errText: `reads text from column "Review Text", which the header does not have (it has "Reviewer", "Text")`,
		},
		{
			name:    "no column and no default",
			input:   "Comment,Posted\nhi,2026-11-20T10:00:00Z\n",
			opts:    Options{Map: map[string]string{"text": "Comment", "created_at": "Posted"}, Platform: "yelp"},
			fileErr: ErrNoHeader, errText: "no column for account, kind",
		},
		{
			name:    "a field the map does not know",
			input:   "a\n1\n",
			opts:    Options{Map: map[string]string{"body": "a"}},
			fileErr: ErrOptions, errText: `names "body", which is not a field`,
		},
		{
			name:    "a default platform that does not exist",
			input:   "a\n1\n",
			opts:    Options{Platform: "myspace"},
			fileErr: ErrOptions, errText: `platform "myspace" is not one of`,
		},
		{
			name:    "a map for a JSON Lines file",
			input:   `{"text":"hi"}` + "\n",
			opts:    Options{Name: "x.jsonl", Map: map[string]string{"text": "body"}},
			fileErr: ErrOptions, errText: "a column map applies to CSV files; this file is read as JSON Lines",
		},
		{
			name:    "a used column twice is refused",
			input:   "Comment,comment,Posted\na,b,2026-11-20T10:00:00Z\n",
			opts:    Options{Map: map[string]string{"text": "Comment", "created_at": "Posted"}, Platform: "yelp", Account: "ck", Kind: "review"},
			fileErr: ErrNoHeader, errText: `column "comment" appears twice`,
		},
		{
			name:  "an unused column twice is fine",
			input: "Notes,Comment,notes,Posted\nx,hi,y,2026-11-20T10:00:00Z\n",
			opts:  Options{Map: map[string]string{"text": "Comment", "created_at": "Posted"}, Platform: "yelp", Account: "ck", Kind: "review"},
			want:  "yelp/ck/" + StableID("yelp", "ck", "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), "hi") + "/review",
		},
		{
			name:  "JSON Lines rows take the defaults for keys they lack",
			input: `{"id":"d1","text":"hi","created_at":"2026-11-20T10:00:00Z"}` + "\n" + `{"id":"d2","text":"hi","created_at":"2026-11-20T10:00:00Z","platform":null,"kind":"dm"}` + "\n",
			opts:  Options{Name: "x.jsonl", Platform: "facebook", Account: "ck", Kind: "comment"},
			want:  "facebook/ck/d1/comment facebook/ck/d2/dm",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Now = now
			if opts.Name == "" {
				opts.Format = CSV
			}
			recs, errs, err := parseAll(t, tc.input, opts)
			if tc.fileErr != nil {
				if !errors.Is(err, tc.fileErr) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.fileErr, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.Platform+"/"+r.Account+"/"+r.ID+"/"+r.Kind)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("records %q, want %q", strings.Join(got, " "), tc.want)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors = %v, want %v", errs, tc.errs)
			}
			for i, w := range tc.errs {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want %q", i, errs[i], w)
				}
			}
		})
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name, file string
		format     Format
		columns    []string
		missing    []string
	}{
		{"export.csv", "\ufeffReviewer, Stars ,Date,Review Text\nDana,2,11/21/2026,Cold\n", CSV,
			[]string{"Reviewer", "Stars", "Date", "Review Text"}, []string{"platform", "account", "id", "created_at", "kind"}},
		{"own.csv", "platform,account,id,thread,author,author_id,text,created_at,kind,rating\n", CSV, Fields, nil},
		{"msgs.jsonl", `{"platform":"facebook"}` + "\n", JSONLines, nil, nil},
		{"reviews.json", `{"reviews": []}`, GoogleReviews, nil, nil},
	}
	for _, tt := range tests {
		p, err := Inspect(strings.NewReader(tt.file), tt.name)
		if err != nil || p.Format != tt.format || !slices.Equal(p.Columns, tt.columns) || !slices.Equal(p.Missing(), tt.missing) {
			t.Errorf("Inspect(%s) = %v %q missing %q, %v; want %v %q missing %q", tt.name, p.Format, p.Columns, p.Missing(), err, tt.format, tt.columns, tt.missing)
		}
	}
	if _, err := Inspect(strings.NewReader("a,\"b\n"), "broken.csv"); !errors.Is(err, ErrNoHeader) {
		t.Errorf("a broken header: %v", err)
	}
}
