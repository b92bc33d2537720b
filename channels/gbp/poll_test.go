package gbp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/gbp"
	"github.com/branchline/branchline/channels/webapi"
)

func ids(items []channels.Item) []string {
	var s []string
	for _, it := range items {
		s = append(s, it.PlatformID)
	}
	return s
}

// listRequests are the page tokens of the reviews.list requests logged
// since the log had `from` entries.
func listRequests(log []string, from int) []string {
	var s []string
	for _, r := range log[from:] {
		if strings.HasPrefix(r, "GET /v4/"+locName+"/reviews?") {
			tok := ""
			if i := strings.Index(r, "pageToken="); i >= 0 {
				tok = r[i+len("pageToken="):]
			}
			s = append(s, tok)
		}
	}
	return s
}

func TestDocumentedReviewsBecomeItems(t *testing.T) {
	e := newEnv(t)
	e.g.setPages(map[string]page{"": {raw: string(readTestdata(t, "reviews-list.json"))}})
	p, err := e.ch.Poll(context.Background(), e.acc, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []channels.Item{
		{PlatformID: "AbFvOqk0Zz7yYx1", ThreadID: "AbFvOqk0Zz7yYx1", AuthorName: "Eli Park", AuthorID: "review:AbFvOqk0Zz7yYx1",
			Text: "Great shakes. (Translated by Google)", Kind: "review", Rating: 0, CreatedAt: time.Date(2026, 11, 18, 9, 30, 0, 0, time.UTC)},
		{PlatformID: "AbFvOqm81Lw-Qe0", ThreadID: "AbFvOqm81Lw-Qe0", AuthorName: "A Google User", AuthorID: "review:AbFvOqm81Lw-Qe0",
			Text: "", Kind: "review", Rating: 5, CreatedAt: time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)},
		{PlatformID: "AbFvOqnX3rK9_t2", ThreadID: "AbFvOqnX3rK9_t2", AuthorName: "Tasha Greene", AuthorID: "review:AbFvOqnX3rK9_t2",
			Text: "Fries were cold and we waited 25 minutes.", Kind: "review", Rating: 2, CreatedAt: time.Date(2026, 11, 20, 17, 45, 12, 345678000, time.UTC)},
	}
	if len(p.Items) != len(want) {
		t.Fatalf("got %d items %v, want %d", len(p.Items), ids(p.Items), len(want))
	}
	for i := range want {
		if p.Items[i] != want[i] {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, p.Items[i], want[i])
		}
	}
	if p.More || p.Cursor == "" {
		t.Errorf("More %v, cursor %q", p.More, p.Cursor)
	}
}

func TestReviewerNamesAndRatings(t *testing.T) {
	tests := []struct {
		name     string
		reviewer *gReviewer
		stars    string
		wantName string
		wantRate int
	}{
		{"named reviewer, five stars", &gReviewer{DisplayName: "Jess"}, "FIVE", "Jess", 5},
		{"anonymous without a name", &gReviewer{IsAnonymous: true}, "ONE", "Anonymous Google user", 1},
		{"no reviewer at all", nil, "THREE", "Google user", 3},
		{"unspecified rating kept as 0", &gReviewer{DisplayName: "Kim"}, "STAR_RATING_UNSPECIFIED", "Kim", 0},
		{"unknown future rating kept as 0", &gReviewer{DisplayName: "Kim"}, "SIX", "Kim", 0},
		{"no rating", &gReviewer{DisplayName: "Kim"}, "", "Kim", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := rv("r1", t0, tt.stars, "ok")
			r.Reviewer = tt.reviewer
			e.g.setPages(map[string]page{"": {reviews: []gReview{r}}})
			p, err := e.ch.Poll(context.Background(), e.acc, "")
			if err != nil || len(p.Items) != 1 {
				t.Fatalf("poll: %v %v", ids(p.Items), err)
			}
			if it := p.Items[0]; it.AuthorName != tt.wantName || it.Rating != tt.wantRate || it.AuthorID != "review:r1" {
				t.Errorf("got name %q rating %d author %q, want %q %d", it.AuthorName, it.Rating, it.AuthorID, tt.wantName, tt.wantRate)
			}
		})
	}
}

func TestPollPagesToTheCursorWithoutLosingOrDoubling(t *testing.T) {
	ctx := context.Background()
	// The mark alone, without the look-back (TestLateReviewWithinTheLookBackIsFound).
	e := newEnv(t, gbp.WithLookBack(0))
	at := func(m int) time.Time { return t0.Add(time.Duration(-m) * time.Minute) }
	ratingOnly := rv("r4", at(60), "FOUR", "")
	e.g.setPages(map[string]page{
		"":   {reviews: []gReview{rv("r9", at(1), "FIVE", "great"), rv("r8", at(2), "ONE", "cold"), rv("r7", at(3), "THREE", "fine")}, next: "p2"},
		"p2": {reviews: []gReview{rv("r7", at(3), "THREE", "fine"), rv("r6", at(4), "TWO", "slow")}, next: "p3"}, // r7 again: the list moved
		// An empty page that still has a next page.
		"p3": {next: "p4"},
		"p4": {reviews: []gReview{rv("r5", at(5), "FIVE", "yum"), ratingOnly}},
	})
	p, err := e.ch.Poll(ctx, e.acc, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(p.Items), []string{"r4", "r5", "r6", "r7", "r8", "r9"}; !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v (oldest first, each once)", got, want)
	}
	if p.Items[0].Text != "" || p.Items[0].Rating != 4 {
		t.Errorf("rating-only review: %+v", p.Items[0])
	}
	if got := listRequests(e.g.log(), 0); !slices.Equal(got, []string{"", "p2", "p3", "p4"}) {
		t.Errorf("pages read %q", got)
	}
	if p.More {
		t.Error("More after the last page")
	}

	// Nothing new: one page is read, up to the stored reviews, and nothing
	// comes back.
	n := len(e.g.log())
	again, err := e.ch.Poll(ctx, e.acc, p.Cursor)
	if err != nil || len(again.Items) != 0 || again.Cursor != p.Cursor {
		t.Fatalf("second poll: %v %q %v", ids(again.Items), again.Cursor, err)
	}
	if got := listRequests(e.g.log(), n); !slices.Equal(got, []string{""}) {
		t.Errorf("second poll read pages %q, want only the first", got)
	}
	e.noSecrets(err)
}

func TestEqualUpdateTimesAcrossTheCursor(t *testing.T) {
	T := t0.Add(-time.Hour)
	tests := []struct {
		name   string
		before []gReview       // the first poll's only page
		after  map[string]page // the second poll's pages
		want   []string        // the second poll's items
	}{
		{
			name:   "a new review at the cursor's instant is taken, the stored one is not",
			before: []gReview{rv("a", T, "FIVE", "x"), rv("old", T.Add(-time.Hour), "FIVE", "x")},
			after:  map[string]page{"": {reviews: []gReview{rv("b", T, "FOUR", "x"), rv("a", T, "FIVE", "x"), rv("old", T.Add(-time.Hour), "FIVE", "x")}}},
			want:   []string{"b"},
		},
		{
			name:   "newer and same-instant reviews, oldest first",
			before: []gReview{rv("a", T, "FIVE", "x")},
			after:  map[string]page{"": {reviews: []gReview{rv("c", T.Add(time.Second), "ONE", "x"), rv("a", T, "FIVE", "x"), rv("b", T, "TWO", "x")}}},
			want:   []string{"b", "c"},
		},
		{
			name:   "same instant split over two pages",
			before: []gReview{rv("a", T, "FIVE", "x")},
			after: map[string]page{
				"":   {reviews: []gReview{rv("d", T.Add(time.Minute), "ONE", "x"), rv("b", T, "TWO", "x")}, next: "p2"},
				"p2": {reviews: []gReview{rv("c", T, "TWO", "x"), rv("a", T, "FIVE", "x"), rv("old", T.Add(-time.Hour), "ONE", "x")}, next: "p3"},
			},
			want: []string{"b", "c", "d"},
		},
		{
			name:   "nanosecond timestamps written with an offset compare as instants",
			before: []gReview{rv("a", T.Add(123456789), "FIVE", "x")},
			after: map[string]page{"": {reviews: []gReview{
				func() gReview {
					r := rv("a", T, "FIVE", "x")
					r.UpdateTime = T.Add(123456789).In(time.FixedZone("", 3600)).Format(time.RFC3339Nano)
					return r
				}(),
				rv("b", T.Add(123456789), "ONE", "x"),
			}}},
			want: []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			// The mark alone, without the look-back (TestLateReviewWithinTheLookBackIsFound).
			e := newEnv(t, gbp.WithLookBack(0))
			e.g.setPages(map[string]page{"": {reviews: tt.before}})
			first, err := e.ch.Poll(ctx, e.acc, "")
			if err != nil {
				t.Fatal(err)
			}
			e.g.setPages(tt.after)
			second, err := e.ch.Poll(ctx, e.acc, first.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(second.Items); !slices.Equal(got, tt.want) {
				t.Errorf("second poll %v, want %v", got, tt.want)
			}
			third, err := e.ch.Poll(ctx, e.acc, second.Cursor)
			if err != nil || len(third.Items) != 0 {
				t.Errorf("third poll over the same reviews: %v %v, want nothing", ids(third.Items), err)
			}
		})
	}
}

func TestPageBoundCarriesOnAtTheNextPoll(t *testing.T) {
	ctx := context.Background()
	// The mark alone, without the look-back (TestLookBackKeepsThePageBound).
	e := newEnv(t, gbp.WithMaxPages(2), gbp.WithLookBack(0))
	at := func(m int) time.Time { return t0.Add(time.Duration(-m) * time.Minute) }
	e.g.setPages(map[string]page{"": {reviews: []gReview{rv("r0", at(100), "FIVE", "first")}}})
	start, err := e.ch.Poll(ctx, e.acc, "")
	if err != nil {
		t.Fatal(err)
	}
	// Ten new reviews, two a page; r0 is on the last page.
	pages := map[string]page{}
	for i := range 5 {
		tok, next := "", fmt.Sprintf("p%d", i+2)
		if i > 0 {
			tok = fmt.Sprintf("p%d", i+1)
		}
		if i == 4 {
			next = ""
		}
		hi := 10 - 2*i
		pg := page{reviews: []gReview{rv(fmt.Sprintf("r%d", hi), at(50-hi), "FIVE", "x"), rv(fmt.Sprintf("r%d", hi-1), at(50-(hi-1)), "FIVE", "x")}, next: next}
		if i == 4 {
			pg.reviews = append(pg.reviews, rv("r0", at(100), "FIVE", "first"))
		}
		pages[tok] = pg
	}
	e.g.setPages(pages)
	var all []string
	cur := start.Cursor
	var mores []bool
	for range 5 {
		p, err := e.ch.Poll(ctx, e.acc, cur)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(p.Items)...)
		mores = append(mores, p.More)
		cur = p.Cursor
		if !p.More {
			break
		}
	}
	slices.Sort(all)
	want := []string{"r1", "r10", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}
	if !slices.Equal(all, want) {
		t.Errorf("reviews over the polls %v, want each of r1..r10 once", all)
	}
	if !slices.Equal(mores, []bool{true, true, false}) {
		t.Errorf("More over the polls %v, want true, true, false", mores)
	}
	n := len(e.g.log())
	if p, err := e.ch.Poll(ctx, e.acc, cur); err != nil || len(p.Items) != 0 {
		t.Errorf("after catching up: %v %v", ids(p.Items), err)
	}
	if got := listRequests(e.g.log(), n); len(got) != 1 {
		t.Errorf("after catching up a poll read %q, want one page", got)
	}
}

// store stands for the store's import: it keeps a review once by
// PlatformID and says which items were new.
type store map[string]bool

func (s store) absorb(items []channels.Item) (inserted []string) {
	for _, it := range items {
		if !s[it.PlatformID] {
			s[it.PlatformID] = true
			inserted = append(inserted, it.PlatformID)
		}
	}
	return inserted
}

func TestLateReviewWithinTheLookBackIsFound(t *testing.T) {
	mark := t0.Add(-time.Hour)
	before := func(d time.Duration) time.Time { return mark.Add(-d) }
	// What Google lists at the first poll: "a" at the mark, "b" 3 hours
	// below it, "c" and "d" below the 24-hour window.
	first := map[string]page{
		"":   {reviews: []gReview{rv("a", mark, "FIVE", "x")}, next: "p2"},
		"p2": {reviews: []gReview{rv("b", before(3*time.Hour), "FOUR", "x")}, next: "p3"},
		"p3": {reviews: []gReview{rv("c", before(30*time.Hour), "THREE", "x")}, next: "p4"},
		"p4": {reviews: []gReview{rv("d", before(50*time.Hour), "TWO", "x")}},
	}
	// Then a new review "n" arrives, and Google releases "late" from
	// moderation with its updateTime 2 hours below the mark; page p3
	// repeats "b" (the list moved while it was read).
	later := map[string]page{
		"":   {reviews: []gReview{rv("n", mark.Add(30*time.Minute), "FIVE", "x"), rv("a", mark, "FIVE", "x")}, next: "p2"},
		"p2": {reviews: []gReview{rv("late", before(2*time.Hour), "ONE", "held back"), rv("b", before(3*time.Hour), "FOUR", "x")}, next: "p3"},
		"p3": {reviews: []gReview{rv("b", before(3*time.Hour), "FOUR", "x"), rv("c", before(30*time.Hour), "THREE", "x")}, next: "p4"},
		"p4": {reviews: []gReview{rv("d", before(50*time.Hour), "TWO", "x")}},
	}
	tests := []struct {
		name string
		opts []gbp.Option
		// The second and third polls: the items (oldest first), the
		// pages read, and what the store took in.
		second, secondPages, secondNew []string
		third, thirdPages, thirdNew    []string
	}{
		{
			name: "default look-back: the late review is found once",
			// Poll 2 reads down to "c", below mark-24h, and not p4. It
			// returns "late", "n", and "b" again (in the window; the store
			// absorbs it), each once; not "a", handed out at the mark.
			second: []string{"b", "late", "n"}, secondPages: []string{"", "p2", "p3"}, secondNew: []string{"late", "n"},
			// Poll 3, nothing new: the mark is now "n", so the window
			// holds "a", "b" and "late", returned again and all absorbed
			// by the store; "n" (at the mark), "c" and "d" are not.
			third: []string{"b", "late", "a"}, thirdPages: []string{"", "p2", "p3"}, thirdNew: nil,
		},
		{
			name:   "look-back off: the poll stops at the mark and the late review is lost",
			opts:   []gbp.Option{gbp.WithLookBack(0)},
			second: []string{"n"}, secondPages: []string{"", "p2"}, secondNew: []string{"n"},
			third: nil, thirdPages: []string{""}, thirdNew: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, tt.opts...)
			st := store{}
			e.g.setPages(first)
			p1, err := e.ch.Poll(ctx, e.acc, "")
			if err != nil || p1.More {
				t.Fatalf("first poll: more=%v %v", p1.More, err)
			}
			if got := st.absorb(p1.Items); !slices.Equal(got, []string{"d", "c", "b", "a"}) {
				t.Fatalf("first poll stored %v", got)
			}

			e.g.setPages(later)
			n := len(e.g.log())
			p2, err := e.ch.Poll(ctx, e.acc, p1.Cursor)
			if err != nil || p2.More {
				t.Fatalf("second poll: more=%v %v", p2.More, err)
			}
			if got := ids(p2.Items); !slices.Equal(got, tt.second) {
				t.Errorf("second poll returned %v, want %v", got, tt.second)
			}
			if got := listRequests(e.g.log(), n); !slices.Equal(got, tt.secondPages) {
				t.Errorf("second poll read pages %q, want %q", got, tt.secondPages)
			}
			if got := st.absorb(p2.Items); !slices.Equal(got, tt.secondNew) {
				t.Errorf("second poll stored %v, want %v", got, tt.secondNew)
			}

			n = len(e.g.log())
			p3, err := e.ch.Poll(ctx, e.acc, p2.Cursor)
			if err != nil || p3.More {
				t.Fatalf("third poll: more=%v %v", p3.More, err)
			}
			if got := ids(p3.Items); !slices.Equal(got, tt.third) {
				t.Errorf("third poll returned %v, want %v", got, tt.third)
			}
			if got := listRequests(e.g.log(), n); !slices.Equal(got, tt.thirdPages) {
				t.Errorf("third poll read pages %q, want %q", got, tt.thirdPages)
			}
			if got := st.absorb(p3.Items); !slices.Equal(got, tt.thirdNew) {
				t.Errorf("third poll stored %v, want %v", got, tt.thirdNew)
			}
			if p3.Cursor != p2.Cursor {
				t.Errorf("the mark moved without a new review: %s, then %s", p2.Cursor, p3.Cursor)
			}
		})
	}
}

func TestLookBackKeepsThePageBound(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, gbp.WithMaxPages(2))
	mark := t0.Add(-time.Hour)
	before := func(d time.Duration) time.Time { return mark.Add(-d) }
	e.g.setPages(map[string]page{"": {reviews: []gReview{rv("a", mark, "FIVE", "x")}}})
	start, err := e.ch.Poll(ctx, e.acc, "")
	if err != nil {
		t.Fatal(err)
	}
	// One review a page; "late" appears 2 hours below the mark; page q4
	// repeats "b"; "d" is below the window.
	e.g.setPages(map[string]page{
		"":   {reviews: []gReview{rv("n", mark.Add(time.Minute), "FIVE", "x")}, next: "q2"},
		"q2": {reviews: []gReview{rv("a", mark, "FIVE", "x")}, next: "q3"},
		"q3": {reviews: []gReview{rv("b", before(time.Hour), "FIVE", "x")}, next: "q4"},
		"q4": {reviews: []gReview{rv("b", before(time.Hour), "FIVE", "x"), rv("late", before(2*time.Hour), "ONE", "x")}, next: "q5"},
		"q5": {reviews: []gReview{rv("c", before(3*time.Hour), "FIVE", "x")}, next: "q6"},
		"q6": {reviews: []gReview{rv("d", before(30*time.Hour), "FIVE", "x")}, next: "q7"},
		"q7": {reviews: []gReview{rv("e", before(40*time.Hour), "FIVE", "x")}},
	})
	var calls [][]string
	var pages [][]string
	var mores []bool
	cur := start.Cursor
	for range 6 {
		n := len(e.g.log())
		p, err := e.ch.Poll(ctx, e.acc, cur)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, ids(p.Items))
		pages = append(pages, listRequests(e.g.log(), n))
		mores = append(mores, p.More)
		cur = p.Cursor
		if !p.More {
			break
		}
	}
	// Two pages a call; each call returns a review once; the catch-up
	// ends at "d", below the window, without reading q7.
	wantCalls := [][]string{{"n"}, {"late", "b"}, {"c"}}
	wantPages := [][]string{{"", "q2"}, {"q3", "q4"}, {"q5", "q6"}}
	if !slices.EqualFunc(calls, wantCalls, slices.Equal) || !slices.EqualFunc(pages, wantPages, slices.Equal) || !slices.Equal(mores, []bool{true, true, false}) {
		t.Errorf("calls returned %v, read %q, More %v; want %v, %q, true true false", calls, pages, mores, wantCalls, wantPages)
	}
	var c struct {
		At  time.Time `json:"at"`
		IDs []string  `json:"ids"`
	}
	if err := json.Unmarshal([]byte(cur), &c); err != nil || !c.At.Equal(mark.Add(time.Minute)) || !slices.Equal(c.IDs, []string{"n"}) {
		t.Errorf("cursor after the catch-up %s (%v), want the mark at n", cur, err)
	}
}

func TestExpiredPageTokenStartsAgainFromTheNewest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, gbp.WithMaxPages(1))
	at := func(m int) time.Time { return t0.Add(time.Duration(-m) * time.Minute) }
	e.g.setPages(map[string]page{
		"":   {reviews: []gReview{rv("r3", at(1), "FIVE", "x")}, next: "p2"},
		"p2": {reviews: []gReview{rv("r2", at(2), "FIVE", "x")}, next: "p3"},
		"p3": {reviews: []gReview{rv("r1", at(3), "FIVE", "x")}},
	})
	first, err := e.ch.Poll(ctx, e.acc, "")
	if err != nil || !first.More {
		t.Fatalf("first poll: %v more=%v %v", ids(first.Items), first.More, err)
	}
	// Before the next poll Google forgets the page token.
	e.g.setPages(map[string]page{
		"":   {reviews: []gReview{rv("r3", at(1), "FIVE", "x")}, next: "q2"},
		"p2": {expired: true},
		"q2": {reviews: []gReview{rv("r2", at(2), "FIVE", "x")}, next: "q3"},
		"q3": {reviews: []gReview{rv("r1", at(3), "FIVE", "x")}},
	})
	got := ids(first.Items)
	cur := first.Cursor
	for range 5 {
		p, err := e.ch.Poll(ctx, e.acc, cur)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(p.Items)...)
		cur = p.Cursor
		if !p.More {
			break
		}
	}
	slices.Sort(got)
	got = slices.Compact(got) // the restart may hand r3 over again; the store de-duplicates it
	if !slices.Equal(got, []string{"r1", "r2", "r3"}) {
		t.Errorf("reviews %v, want r1, r2, r3", got)
	}
}

func TestEditedReviewComesBackWithTheSamePlatformID(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	orig := rv("r1", t0.Add(-time.Hour), "THREE", "ok I guess")
	e.g.setPages(map[string]page{"": {reviews: []gReview{orig}}})
	first, err := e.ch.Poll(ctx, e.acc, "")
	if err != nil {
		t.Fatal(err)
	}
	edited := orig
	edited.UpdateTime = t0.Format(time.RFC3339)
	edited.Comment, edited.StarRating = "Came back, much better!", "FIVE"
	e.g.setPages(map[string]page{"": {reviews: []gReview{edited}}})
	second, err := e.ch.Poll(ctx, e.acc, first.Cursor)
	if err != nil || len(second.Items) != 1 {
		t.Fatalf("after the edit: %v %v", ids(second.Items), err)
	}
	// The same PlatformID, so the store keeps the review once, as first
	// imported; the creation time does not move.
	if a, b := first.Items[0], second.Items[0]; a.PlatformID != b.PlatformID || a.ThreadID != b.ThreadID || !a.CreatedAt.Equal(b.CreatedAt) {
		t.Errorf("the edit came back as %+v, first seen as %+v", b, a)
	}
}

func TestMalformedAnswersDoNotMoveTheCursor(t *testing.T) {
	good := page{reviews: []gReview{rv("r2", t0, "FIVE", "x")}, next: "p2"}
	tests := []struct {
		name     string
		page2    page
		wantText string
	}{
		{"not JSON", page{raw: "<html>Service Unavailable</html>"}, "not a list of reviews"},
		{"truncated JSON", page{raw: `{"reviews": [{"reviewId": "r1"`}, "not a list of reviews"},
		{"reviews is not a list", page{raw: `{"reviews": {"reviewId": "r1"}}`}, "not a list of reviews"},
		{"the same page token again", page{reviews: []gReview{rv("r1", t0.Add(-time.Minute), "ONE", "y")}, next: "p2"}, "page token it was asked for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.g.setPages(map[string]page{"": good, "p2": tt.page2})
			p, err := e.ch.Poll(ctx, e.acc, "")
			if err == nil || !errors.Is(err, webapi.ErrTransient) || !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "page 2") {
				t.Fatalf("poll = %v; want a transient error naming page 2 and %q", err, tt.wantText)
			}
			if p.Cursor != "" || len(p.Items) != 0 {
				t.Errorf("a failed poll returned items %v and cursor %q", ids(p.Items), p.Cursor)
			}
			// Once Google answers properly, nothing was skipped.
			e.g.setPages(map[string]page{"": good, "p2": {reviews: []gReview{rv("r1", t0.Add(-time.Minute), "ONE", "y")}}})
			p, err = e.ch.Poll(ctx, e.acc, "")
			if err != nil || !slices.Equal(ids(p.Items), []string{"r1", "r2"}) {
				t.Errorf("poll after the fix: %v %v", ids(p.Items), err)
			}
			e.noSecrets(err)
		})
	}
}

func TestBadCursorOrAccountIsRefusedWithoutARequest(t *testing.T) {
	tests := []struct {
		name     string
		cursor   string
		acc      func(channels.Account) channels.Account
		wantText string
	}{
		{name: "cursor from elsewhere", cursor: "12345", wantText: "not one this build wrote"},
		{name: "no location", acc: func(a channels.Account) channels.Account { a.RemoteID = ""; return a }, wantText: "has no Google location"},
		{name: "location ID instead of name", acc: func(a channels.Account) channels.Account { a.RemoteID = "locations/2207"; return a }, wantText: "not a Google location name"},
		{name: "path tricks", acc: func(a channels.Account) channels.Account { a.RemoteID = "accounts/../locations/2207"; return a }, wantText: "not a Google location name"},
		{name: "plain http to another machine", acc: func(a channels.Account) channels.Account { a.Server = "http://example.com/v4"; return a }, wantText: "only sent over https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			acc := e.acc
			if tt.acc != nil {
				acc = tt.acc(acc)
			}
			_, err := e.ch.Poll(context.Background(), acc, tt.cursor)
			if !errors.Is(err, channels.ErrPermanent) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("poll = %v; want a refusal saying %q", err, tt.wantText)
			}
			if n := len(e.g.log()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestCursorIsJSON(t *testing.T) {
	e := newEnv(t)
	e.g.setPages(map[string]page{"": {reviews: []gReview{rv("a", t0, "FIVE", "x"), rv("b", t0, "FIVE", "x")}}})
	p, err := e.ch.Poll(context.Background(), e.acc, "")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		At  time.Time `json:"at"`
		IDs []string  `json:"ids"`
	}
	if err := json.Unmarshal([]byte(p.Cursor), &c); err != nil || !c.At.Equal(t0) || !slices.Equal(c.IDs, []string{"a", "b"}) {
		t.Errorf("cursor %s: %+v %v; want the newest instant and both reviews at it", p.Cursor, c, err)
	}
}
