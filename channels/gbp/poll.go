package gbp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// listReviewsResponse is reviews.list's answer (ListReviewsResponse).
// Its reviews are decoded one by one (see decodeReview), so one that does
// not decode is stepped over alone.
type listReviewsResponse struct {
	Reviews          []json.RawMessage `json:"reviews"`
	AverageRating    float64           `json:"averageRating"`
	TotalReviewCount int               `json:"totalReviewCount"`
	NextPageToken    string            `json:"nextPageToken"`
}

// review is a Review resource.
type review struct {
	Name     string `json:"name"`
	ReviewID string `json:"reviewId"`
	Reviewer struct {
		ProfilePhotoURL string `json:"profilePhotoUrl"`
		DisplayName     string `json:"displayName"`
		IsAnonymous     bool   `json:"isAnonymous"`
	} `json:"reviewer"`
	StarRating  string       `json:"starRating"`
	Comment     string       `json:"comment"`
	CreateTime  string       `json:"createTime"`
	UpdateTime  string       `json:"updateTime"`
	ReviewReply *reviewReply `json:"reviewReply"`
}

// reviewReply is a ReviewReply: the request body of updateReply (comment
// only) and its answer.
type reviewReply struct {
	Comment    string `json:"comment"`
	UpdateTime string `json:"updateTime,omitempty"`
}

var starRatings = map[string]int{"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}

// cursor is Poll's position, stored as JSON.
//
// At and IDs are the mark: every review updated before At was handed
// out, and so were the reviews updated exactly at At listed in IDs.
// Reviews come newest update first, so a poll reads pages until it passes
// below its floor, the mark less the channel's look-back window; reviews
// at At not in IDs are new (equal timestamps are neither lost nor taken
// twice), and reviews between the floor and At are handed out again, for
// the store to de-duplicate, so that one released late by Google is not
// missed.
//
// Next, TopAt and TopIDs are set when a poll stopped at its page bound
// before reaching the floor: the next poll carries on from page token
// Next, and TopAt/TopIDs keep the newest reviews seen so far, which become
// the mark once the floor is reached.
type cursor struct {
	At     time.Time `json:"at,omitzero"`
	IDs    []string  `json:"ids,omitempty"`
	Next   string    `json:"next,omitempty"`
	TopAt  time.Time `json:"topAt,omitzero"`
	TopIDs []string  `json:"topIds,omitempty"`
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("%w: the stored Google reviews position %q is not one this build wrote: %v", channels.ErrPermanent, shortCursor(s), err)
	}
	return c, nil
}

func shortCursor(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// mark moves a high-water mark (at, ids) to include a review updated at
// t. A review stepped over without any identifier (id "") moves the time
// only: the reviews at t other than those in ids are still new.
func mark(at time.Time, ids []string, t time.Time, id string) (time.Time, []string) {
	switch t.Compare(at) {
	case 1:
		if id == "" {
			return t, nil
		}
		return t, []string{id}
	case 0:
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return at, ids
}

// found is a review taken by a poll.
type found struct {
	item    channels.Item
	updated time.Time
}

// Poll returns the location's reviews created or updated since cursor,
// oldest first, and again those of the look-back window below the
// cursor's mark (see the package doc). It reads pages of 50, newest
// update first, until it passes below the window, at most the channel's
// page bound per call (the Page then says More, and the next call carries
// on). No review is returned twice by one call. A page that repeats
// a review, or an empty page with a next page token, is handled without
// losing or doubling anything. A review that cannot be used (no usable
// reviewId, no readable createTime or updateTime, one of another
// location, a field that does not decode) is logged as a warning and
// stepped over, so one bad review cannot stop the account's polling; when
// it has a readable update time, the mark moves past it as past any
// review. An answer that is not JSON, or whose reviews are not a list, is
// an error, and the cursor does not move.
func (c *Channel) Poll(ctx context.Context, acc channels.Account, cur string) (channels.Page, error) {
	loc, err := parseLocation(acc)
	if err != nil {
		return channels.Page{}, err
	}
	base, err := baseOf(acc)
	if err != nil {
		return channels.Page{}, err
	}
	pos, err := parseCursor(cur)
	if err != nil {
		return channels.Page{}, err
	}
	topAt, topIDs := pos.TopAt, slices.Clone(pos.TopIDs)
	// Reviews below floor were handed out by earlier polls; those from
	// floor up to the mark are looked at again for late arrivals.
	floor := pos.At
	if !floor.IsZero() {
		floor = floor.Add(-c.lookBack)
	}
	token := pos.Next
	resumed := token != ""
	var items []found
	taken := map[string]bool{}
	reachedFloor := false
	for page := 0; ; page++ {
		if page == c.maxPages {
			// Stop here; the next poll carries on from this page.
			next := cursor{At: pos.At, IDs: pos.IDs, Next: token, TopAt: topAt, TopIDs: topIDs}
			c.log.Info("Google reviews: page bound reached, more to read", "account", acc.Key(), "pages", page, "reviews", len(items))
			return channels.Page{Items: sorted(items), Cursor: next.String(), More: true}, nil
		}
		resp, err := c.listPage(ctx, acc, base, loc, token)
		var se *webapi.StatusError
		if err != nil && resumed && page == 0 && errors.As(err, &se) && se.Status == http.StatusBadRequest {
			// The page token kept from the last poll has expired: start
			// again from the newest review. What was taken already is
			// de-duplicated by the store.
			c.log.Warn("Google reviews: the kept page token was refused; reading from the newest again", "account", acc.Key(), "err", err)
			token, resumed = "", false
			resp, err = c.listPage(ctx, acc, base, loc, token)
		}
		if err != nil {
			return channels.Page{}, fmt.Errorf("list Google reviews of %s (page %d): %w", loc.name, page+1, err)
		}
		for i, raw := range resp.Reviews {
			it, updated, key, err := decodeReview(loc, raw)
			if err != nil {
				// Stepped over; a readable update time still counts for
				// the mark and for the floor (the list is in update order).
				switch {
				case updated.IsZero():
				case !pos.At.IsZero() && updated.Before(floor):
					reachedFloor = true
					continue
				case key != "" && updated.Equal(pos.At) && slices.Contains(pos.IDs, key):
					continue // stepped over at the mark by an earlier poll
				default:
					topAt, topIDs = mark(topAt, topIDs, updated, key)
				}
				c.skipReview(ctx, acc, key, fmt.Sprintf("page %d, review %d: %v", page+1, i+1, err))
				continue
			}
			topAt, topIDs = mark(topAt, topIDs, updated, it.PlatformID)
			switch {
			case !pos.At.IsZero() && updated.Before(floor):
				reachedFloor = true
			case updated.Equal(pos.At) && slices.Contains(pos.IDs, it.PlatformID):
				// Handed out at the mark by an earlier poll.
			case taken[it.PlatformID]:
				// Repeated by a later page (the list moved while it was read).
			default:
				taken[it.PlatformID] = true
				items = append(items, found{it, updated})
			}
		}
		if resp.NextPageToken != "" && resp.NextPageToken == token {
			return channels.Page{}, fmt.Errorf("list Google reviews of %s (page %d): %w: Google answered with the page token it was asked for",
				loc.name, page+1, webapi.ErrTransient)
		}
		token = resp.NextPageToken
		if reachedFloor || token == "" {
			break
		}
	}
	next := cursor{At: pos.At, IDs: slices.Clone(pos.IDs)}
	next.At, next.IDs = mark(next.At, next.IDs, topAt, "")
	for _, id := range topIDs {
		next.At, next.IDs = mark(next.At, next.IDs, topAt, id)
	}
	return channels.Page{Items: sorted(items), Cursor: next.String()}, nil
}

// listPage reads one page of reviews.
func (c *Channel) listPage(ctx context.Context, acc channels.Account, base string, loc location, token string) (listReviewsResponse, error) {
	q := url.Values{"pageSize": {strconv.Itoa(PageSize)}, "orderBy": {"updateTime desc"}}
	if token != "" {
		q.Set("pageToken", token)
	}
	b, err := c.call(ctx, acc, http.MethodGet, base+"/"+loc.name+"/reviews?"+q.Encode(), nil)
	if err != nil {
		return listReviewsResponse{}, err
	}
	var resp listReviewsResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return listReviewsResponse{}, fmt.Errorf("%w: the answer is not a list of reviews: %v", webapi.ErrTransient, err)
	}
	return resp, nil
}

// sorted returns the items oldest update first (for a new review, its
// creation), then by ID so the order is stable.
func sorted(fs []found) []channels.Item {
	slices.SortStableFunc(fs, func(a, b found) int {
		return cmp.Or(a.updated.Compare(b.updated), strings.Compare(a.item.PlatformID, b.item.PlatformID))
	})
	items := make([]channels.Item, len(fs))
	for i, f := range fs {
		items[i] = f.item
	}
	return items
}

// maxWarned bounds Channel.warned; when it is full it starts again.
const maxWarned = 4096

// skipReview logs a review a poll steps over because it cannot be used:
// the account, the review's key ("" when it has none) and the problem,
// never its text or a token. Waiting would not mend such a review, and
// failing the poll for it would stop the account's polling for good. A
// review with a key is warned of once, then logged at Debug (the
// look-back reads it again).
func (c *Channel) skipReview(ctx context.Context, acc channels.Account, key, problem string) {
	level := slog.LevelWarn
	if key != "" {
		k := acc.Key() + "\x00" + key
		c.warnedMu.Lock()
		if c.warned[k] {
			level = slog.LevelDebug
		} else {
			if c.warned == nil || len(c.warned) >= maxWarned {
				c.warned = map[string]bool{}
			}
			c.warned[k] = true
		}
		c.warnedMu.Unlock()
	}
	c.log.Log(ctx, level, "Google reviews: skipping a review that cannot be used", "account", acc.Key(), "review", key, "problem", problem)
}

// decodeReview decodes one review of a page and maps it (toItem). When it
// cannot be used it returns the error saying why, with what could be read
// of it: key, its name or else its reviewId ("" when it has neither), and
// its update time (zero when it has no readable one).
func decodeReview(loc location, raw json.RawMessage) (it channels.Item, updated time.Time, key string, err error) {
	var r review
	if err := json.Unmarshal(raw, &r); err != nil {
		// Read what identifies it and when it changed, if that much is
		// readable.
		var ids struct {
			Name       string `json:"name"`
			ReviewID   string `json:"reviewId"`
			CreateTime string `json:"createTime"`
			UpdateTime string `json:"updateTime"`
		}
		if json.Unmarshal(raw, &ids) == nil {
			r.Name, r.ReviewID, r.CreateTime, r.UpdateTime = ids.Name, ids.ReviewID, ids.CreateTime, ids.UpdateTime
		}
		return channels.Item{}, reviewTime(r), reviewKey(r), fmt.Errorf("the review does not decode: %w", err)
	}
	it, updated, err = toItem(loc, r)
	if err != nil {
		return channels.Item{}, reviewTime(r), reviewKey(r), err
	}
	return it, updated, it.PlatformID, nil
}

// reviewKey names a review that cannot be used: its resource name, else
// its reviewId. A name never equals a usable reviewId (it holds slashes).
func reviewKey(r review) string {
	return shortCursor(cmp.Or(r.Name, r.ReviewID))
}

// reviewTime is a review's update time (else its creation time), or zero
// when it has no readable one.
func reviewTime(r review) time.Time {
	if t, err := parseTime(r.UpdateTime); err == nil {
		return t
	}
	if t, err := parseTime(r.CreateTime); err == nil {
		return t
	}
	return time.Time{}
}

// toItem maps a review and checks what Poll relies on: an ID that belongs
// to this location, and an update time.
func toItem(loc location, r review) (channels.Item, time.Time, error) {
	id := r.ReviewID
	if r.Name != "" {
		prefix := loc.name + "/reviews/"
		if !strings.HasPrefix(r.Name, prefix) {
			return channels.Item{}, time.Time{}, fmt.Errorf("review %q is not one of this location's", r.Name)
		}
		if id == "" {
			id = strings.TrimPrefix(r.Name, prefix)
		} else if id != strings.TrimPrefix(r.Name, prefix) {
			return channels.Item{}, time.Time{}, fmt.Errorf("review %q has reviewId %q", r.Name, r.ReviewID)
		}
	}
	if !validReviewID(id) {
		return channels.Item{}, time.Time{}, fmt.Errorf("a review without a usable reviewId (%q)", shortCursor(id))
	}
	created, cerr := parseTime(r.CreateTime)
	updated, uerr := parseTime(r.UpdateTime)
	switch {
	case cerr != nil && uerr != nil:
		return channels.Item{}, time.Time{}, fmt.Errorf("review %s has no readable createTime or updateTime (%.40q, %.40q)", id, r.CreateTime, r.UpdateTime)
	case uerr != nil:
		updated = created
	case cerr != nil:
		created = updated
	}
	name := strings.TrimSpace(r.Reviewer.DisplayName)
	if name == "" {
		name = "Google user"
		if r.Reviewer.IsAnonymous {
			name = "Anonymous Google user"
		}
	}
	return channels.Item{
		PlatformID: id,
		ThreadID:   id,
		AuthorName: name,
		AuthorID:   "review:" + id,
		Text:       r.Comment,
		Kind:       "review",
		Rating:     starRatings[r.StarRating],
		CreatedAt:  created,
	}, updated, nil
}

// parseTime reads a Google timestamp (RFC 3339, up to nine fractional
// digits, "Z" or an offset).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// validReviewID accepts an ID that can be put in a URL path as one
// segment.
func validReviewID(id string) bool {
	return id != "" && id != "." && id != ".." && len(id) <= 1024 && !strings.ContainsAny(id, "/?#\\ \t\r\n")
}
