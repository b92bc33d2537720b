package gbp_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/channels/gbp"
)

// rawPage is a page of reviews.list written out, so that it can hold
// reviews the fake's types cannot (a field of the wrong type).
func rawPage(t *testing.T, next string, reviews ...any) page {
	t.Helper()
	b, err := json.Marshal(map[string]any{"reviews": reviews, "nextPageToken": next})
	if err != nil {
		t.Fatal(err)
	}
	return page{raw: string(b)}
}

// customerText is the text of the unusable reviews: never to be logged.
const customerText = "PRIVATE words of the reviewer"

func TestUnusableReviewsAreSteppedOver(t *testing.T) {
	atG3, atHead, atG2, atMiddle, atG1 := t0.Add(-5*time.Minute), t0.Add(-10*time.Minute), t0.Add(-30*time.Minute), t0.Add(-40*time.Minute), t0.Add(-50*time.Minute)
	kinds := []struct {
		name string
		key  string // what the log names the review by; "" for nothing
		bad  func(at time.Time) any
	}{
		{"no reviewId or name", "", func(at time.Time) any {
			r := rv("bad", at, "ONE", customerText)
			r.Name, r.ReviewID = "", ""
			return r
		}},
		{"no readable time", locName + "/reviews/bad", func(at time.Time) any {
			r := rv("bad", at, "ONE", customerText)
			r.CreateTime, r.UpdateTime = "yesterday", ""
			return r
		}},
		{"another location's", "accounts/108/locations/9999/reviews/bad", func(at time.Time) any {
			r := rv("bad", at, "ONE", customerText)
			r.Name = "accounts/108/locations/9999/reviews/bad"
			return r
		}},
		{"name and reviewId disagree", locName + "/reviews/bad", func(at time.Time) any {
			r := rv("bad", at, "ONE", customerText)
			r.ReviewID = "r9"
			return r
		}},
		{"a field that does not decode", locName + "/reviews/bad", func(at time.Time) any {
			ts := at.Format(time.RFC3339Nano)
			return map[string]any{"name": locName + "/reviews/bad", "reviewId": "bad", "starRating": 5, "comment": customerText, "createTime": ts, "updateTime": ts}
		}},
	}
	positions := []struct {
		name  string
		pages func(bad func(time.Time) any, extra ...any) map[string]page
		want  []string
	}{
		{"at the head of the page", func(bad func(time.Time) any, extra ...any) map[string]page {
			return map[string]page{"": rawPage(t, "", append(extra, bad(atHead), rv("g2", atG2, "FIVE", "two"), rv("g1", atG1, "FOUR", "one"))...)}
		}, []string{"g1", "g2"}},
		{"in the middle", func(bad func(time.Time) any, extra ...any) map[string]page {
			return map[string]page{"": rawPage(t, "", append(extra, rv("g2", atG2, "FIVE", "two"), bad(atMiddle), rv("g1", atG1, "FOUR", "one"))...)}
		}, []string{"g1", "g2"}},
		{"at the head of the second page", func(bad func(time.Time) any, extra ...any) map[string]page {
			return map[string]page{
				"":   rawPage(t, "p2", append(extra, rv("g2", atG2, "FIVE", "two"))...),
				"p2": rawPage(t, "", bad(atMiddle), rv("g1", atG1, "FOUR", "one")),
			}
		}, []string{"g1", "g2"}},
		{"alone", func(bad func(time.Time) any, extra ...any) map[string]page {
			return map[string]page{"": rawPage(t, "", append(extra, bad(atHead))...)}
		}, nil},
	}
	for _, kind := range kinds {
		for _, pos := range positions {
			t.Run(kind.name+"/"+pos.name, func(t *testing.T) {
				ctx := context.Background()
				// No look-back: a poll hands out nothing below its mark.
				e := newEnv(t, gbp.WithLookBack(0))
				e.g.setPages(pos.pages(kind.bad))

				first, err := e.ch.Poll(ctx, e.acc, "")
				if err != nil {
					t.Fatalf("first poll failed on one unusable review: %v", err)
				}
				if !slices.Equal(ids(first.Items), pos.want) {
					t.Fatalf("first poll: %v, want %v", ids(first.Items), pos.want)
				}
				logMu.Lock()
				logs := e.logs.String()
				logMu.Unlock()
				warn := ""
				for line := range strings.Lines(logs) {
					if strings.Contains(line, "level=WARN") && strings.Contains(line, "skipping a review") {
						warn = line
					}
				}
				if warn == "" || !strings.Contains(warn, "account="+e.acc.Key()) || (kind.key != "" && !strings.Contains(warn, "review="+kind.key)) {
					t.Errorf("no Warn line naming the account and the review; log:\n%s", logs)
				}
				if strings.Contains(logs, "PRIVATE") {
					t.Errorf("the log holds the reviewer's text:\n%s", logs)
				}

				second, err := e.ch.Poll(ctx, e.acc, first.Cursor)
				if err != nil || len(second.Items) != 0 {
					t.Fatalf("second poll: %v %v, want nothing and no error", ids(second.Items), err)
				}
				var c1, c2 struct {
					At time.Time `json:"at"`
				}
				if json.Unmarshal([]byte(first.Cursor), &c1) != nil || json.Unmarshal([]byte(second.Cursor), &c2) != nil || c2.At.Before(c1.At) {
					t.Errorf("the mark moved back: %s then %s", first.Cursor, second.Cursor)
				}
				if pos.want != nil && c1.At.Before(atG2) {
					t.Errorf("the mark %s is below the newest review handed out", first.Cursor)
				}

				// A newer review still comes, once.
				e.g.setPages(pos.pages(kind.bad, rv("g3", atG3, "THREE", "three")))
				third, err := e.ch.Poll(ctx, e.acc, second.Cursor)
				if err != nil || !slices.Equal(ids(third.Items), []string{"g3"}) {
					t.Fatalf("third poll: %v %v, want g3", ids(third.Items), err)
				}
				e.noSecrets(err)
			})
		}
	}
}

func TestAnUnusableReviewInTheLookBackIsWarnedOfOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t) // the default look-back reads the review again
	bad := rv("bad", t0.Add(-20*time.Minute), "ONE", customerText)
	bad.ReviewID = "r9"
	e.g.setPages(map[string]page{"": {reviews: []gReview{rv("g1", t0.Add(-10*time.Minute), "FIVE", "one"), bad}}})
	cur := ""
	for range 3 {
		p, err := e.ch.Poll(ctx, e.acc, cur)
		if err != nil {
			t.Fatal(err)
		}
		cur = p.Cursor
	}
	logMu.Lock()
	logs := e.logs.String()
	logMu.Unlock()
	if n := strings.Count(logs, "level=WARN msg=\"Google reviews: skipping"); n != 1 {
		t.Errorf("%d Warn lines for one review read by three polls, want 1:\n%s", n, logs)
	}
}
