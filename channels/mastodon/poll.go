package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

const (
	// pageLimit is how many notifications one request asks for: the
	// documented default (the maximum is 80; GoToSocial allows 80 too).
	pageLimit = 40
	// pagesPerPoll bounds the requests of one Poll; Page.More says when
	// there may be more.
	pagesPerPoll = 5
	// fromTheStart is the min_id that pages forward from the oldest
	// notification: every Mastodon and GoToSocial ID is greater.
	fromTheStart = "0"
)

// Poll returns the account's new mentions, oldest first: every mention
// notification newer than cursor (the ID of the newest notification
// already returned; "" starts from the oldest the server keeps).
//
// It pages forward with min_id (GET /api/v1/notifications?types[]=mention),
// following the Link header's rel="prev" page, up to a few pages per call;
// Page.More is true when it stopped before the server ran out. Items are
// de-duplicated on notification and status ID, so a server that repeats an
// item across pages does not produce it twice, and an empty page that
// still advances the cursor (the server filtered every notification in it)
// is stepped over. When a later page or the lookup of a thread fails part
// way (a rate limit), the items before it are returned with More set and
// the cursor after the last of them; the next poll goes on from there.
// A mention too malformed to use (its status without created_at or an
// author, a field that does not decode) is logged as a warning and
// stepped over, so one bad item cannot stop an account; a page that is
// not a list of notifications with IDs is an error and the cursor stays.
//
// A direct-visibility mention is a direct message (Kind "dm"); others are
// Kind "mention". AuthorID is the author's account ID and AuthorName their
// display name, or their acct when they have none (a reply takes the acct
// from the answered status itself). ThreadID is the root of the status's
// reply chain, so a conversation in direct messages, where each message
// answers the last, is one thread.
func (c *Channel) Poll(ctx context.Context, acc channels.Account, cursor string) (channels.Page, error) {
	s, err := c.open(ctx, acc)
	if err != nil {
		return channels.Page{}, fmt.Errorf("poll mastodon %s: %w", acc.Key(), err)
	}
	page := channels.Page{Cursor: cursor}
	since := cursor
	if since == "" {
		since = fromTheStart
	}
	seenNotif := map[string]bool{}
	seenStatus := map[string]bool{}
	var notifs []wireNotification
	more := true
	for pg := range pagesPerPoll {
		batch, next, err := c.notifications(ctx, s, since)
		if err != nil {
			err = fmt.Errorf("poll mastodon %s since %q: %w", acc.Key(), since, err)
			if pg == 0 {
				return channels.Page{}, err
			}
			// Return the pages already read; the next poll starts here.
			c.log.Warn("mastodon poll stopped early", "account", acc.Key(), "err", err)
			break
		}
		for _, n := range batch {
			if seenNotif[n.ID] || compareIDs(n.ID, since) <= 0 {
				continue // repeated, or not newer than asked for
			}
			seenNotif[n.ID] = true
			notifs = append(notifs, n)
		}
		if next == "" {
			more = false
			break
		}
		since = next
	}
	slices.SortFunc(notifs, func(a, b wireNotification) int { return compareIDs(a.ID, b.ID) })
	for i, n := range notifs {
		it, ok, err := c.mention(ctx, s, n, seenStatus)
		if err != nil {
			err = fmt.Errorf("poll mastodon %s: notification %s: %w", acc.Key(), n.ID, err)
			if i == 0 {
				return channels.Page{}, err
			}
			// Keep what is done (a rate limit while looking up threads
			// must not throw away a page of work): the next poll goes on
			// from here.
			c.log.Warn("mastodon poll stopped early", "account", acc.Key(), "items", len(page.Items), "err", err)
			page.Cursor, page.More = notifs[i-1].ID, true
			return page, nil
		}
		if ok {
			page.Items = append(page.Items, it)
		}
	}
	if since != fromTheStart {
		page.Cursor = since
	}
	page.More = more
	c.log.Debug("polled mastodon", "account", acc.Key(), "items", len(page.Items), "cursor", page.Cursor, "more", page.More)
	return page, nil
}

// notifications fetches the mention notifications just after since and
// returns the min_id of the page after them ("" when there is none).
//
// A page that is not a JSON list, or holds a notification without an ID,
// is an error. A notification that has an ID but does not decode (a field
// of the wrong type, a date that is not one) is logged and left out, and
// the page after still starts past it: one broken item must not stop the
// account's polling for good.
func (c *Channel) notifications(ctx context.Context, s session, since string) ([]wireNotification, string, error) {
	q := url.Values{}
	q.Set("types[]", "mention")
	q.Set("min_id", since)
	q.Set("limit", strconv.Itoa(pageLimit))
	var raw []json.RawMessage
	header, err := c.do(ctx, s.base, call{method: http.MethodGet, path: "/api/v1/notifications", query: q, token: s.token, hold: s.key}, &raw)
	if err != nil {
		return nil, "", err
	}
	batch := make([]wireNotification, 0, len(raw))
	newest := ""
	for i, r := range raw {
		var n wireNotification
		decodeErr := json.Unmarshal(r, &n)
		if decodeErr != nil {
			n = wireNotification{ID: notificationID(r)} // to step over it
		}
		if n.ID == "" {
			return nil, "", fmt.Errorf("%w: notification %d of the page has no id", webapi.ErrTransient, i)
		}
		if newest == "" || compareIDs(n.ID, newest) > 0 {
			newest = n.ID
		}
		if decodeErr != nil {
			c.log.Warn("skipping a mastodon notification that does not decode", "account", s.account, "notification", n.ID, "err", decodeErr)
			continue
		}
		batch = append(batch, n)
	}
	// The next page starts after the Link header's prev page when the
	// server gives one (it may have filtered notifications past the last
	// one it returned), else after the newest notification returned.
	next := newest
	if link := linkParam(header.Values("Link"), "prev", "min_id"); link != "" && compareIDs(link, next) > 0 {
		next = link
	}
	if compareIDs(next, since) <= 0 {
		return batch, "", nil // nothing newer: caught up
	}
	return batch, next, nil
}

// notificationID reads the ID of a notification that does not decode as
// a whole ("" when even that is unreadable).
func notificationID(raw json.RawMessage) string {
	var n struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return ""
	}
	return n.ID
}

// mention turns a mention notification into an Item; ok is false for
// one to skip: another type (from a server that ignores types[]), a
// mention whose status is gone, a status already in the page, or one
// too malformed to be an Item (logged: waiting would not mend it, and
// failing the poll would stop the account for good).
func (c *Channel) mention(ctx context.Context, s session, n wireNotification, seen map[string]bool) (channels.Item, bool, error) {
	if n.Type != "mention" {
		return channels.Item{}, false, nil
	}
	if n.Status == nil {
		c.log.Debug("mastodon mention without its status (deleted?)", "notification", n.ID)
		return channels.Item{}, false, nil
	}
	if problem := malformed(*n.Status); problem != "" {
		c.log.Warn("skipping a malformed mastodon mention", "account", s.account, "notification", n.ID, "problem", problem)
		return channels.Item{}, false, nil
	}
	if seen[n.Status.ID] {
		return channels.Item{}, false, nil
	}
	it, err := c.item(ctx, s, *n.Status)
	if err != nil {
		return channels.Item{}, false, err
	}
	seen[n.Status.ID] = true
	return it, true, nil
}

// malformed says what keeps a mention's status from being an Item, or ""
// when nothing does.
func malformed(st wireStatus) string {
	switch {
	case st.ID == "":
		return "status without an id"
	case st.Account.ID == "" || st.Account.Acct == "":
		return "status " + st.ID + " without its author's id or acct"
	case st.CreatedAt.IsZero():
		return "status " + st.ID + " without created_at"
	}
	return ""
}

// item turns a mention's status, one that is not malformed, into an Item.
func (c *Channel) item(ctx context.Context, s session, st wireStatus) (channels.Item, error) {
	root, err := c.threadRoot(ctx, s, st)
	if err != nil {
		return channels.Item{}, fmt.Errorf("thread of status %s: %w", st.ID, err)
	}
	kind := "mention"
	if st.Visibility == visDirect {
		kind = "dm"
	}
	name := strings.TrimSpace(st.Account.DisplayName)
	if name == "" {
		name = st.Account.Acct
	}
	text := plainText(st.Content)
	if cw := strings.TrimSpace(st.SpoilerText); cw != "" {
		text = cw + "\n\n" + text
	}
	return channels.Item{
		PlatformID: st.ID,
		ThreadID:   root,
		AuthorName: name,
		AuthorID:   st.Account.ID,
		Text:       text,
		Kind:       kind,
		CreatedAt:  st.CreatedAt.UTC(),
	}, nil
}

// threadRoot finds the first status of st's reply chain: st itself when
// it answers nothing, a cached root when its parent was seen, else the
// oldest ancestor in its context. When the ancestors are not visible to
// the account, the parent's ID stands in for the root.
func (c *Channel) threadRoot(ctx context.Context, s session, st wireStatus) (string, error) {
	parent := st.inReplyTo()
	if parent == "" {
		c.rememberRoot(s.key, st.ID, st.ID)
		return st.ID, nil
	}
	if r, ok := c.knownRoot(s.key, parent); ok {
		c.rememberRoot(s.key, st.ID, r)
		return r, nil
	}
	var ctxt wireContext
	_, err := c.do(ctx, s.base, call{method: http.MethodGet, path: "/api/v1/statuses/" + url.PathEscape(st.ID) + "/context", token: s.token, hold: s.key}, &ctxt)
	root := parent
	switch {
	case errors.Is(err, channels.ErrPermanent):
		// Deleted or hidden since: keep the parent as the thread.
	case err != nil:
		return "", err
	default:
		root = oldestRoot(ctxt.Ancestors, parent)
		for _, a := range ctxt.Ancestors {
			c.rememberRoot(s.key, a.ID, root)
		}
	}
	c.rememberRoot(s.key, st.ID, root)
	return root, nil
}

// oldestRoot picks the root among ancestors: the one that answers
// nothing, else the oldest by ID, else def.
func oldestRoot(ancestors []wireStatus, def string) string {
	root := ""
	for _, a := range ancestors {
		if a.ID == "" {
			continue
		}
		if a.inReplyTo() == "" {
			return a.ID
		}
		if root == "" || compareIDs(a.ID, root) < 0 {
			root = a.ID
		}
	}
	if root == "" {
		return def
	}
	return root
}

// compareIDs orders Mastodon IDs: decimal snowflakes (longer is newer)
// and GoToSocial's ULIDs (same length, ordered as text) both compare by
// length, then text.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// linkParam reads a query parameter of the link with the given rel in
// Link headers (RFC 8288): `<https://…?min_id=9>; rel="prev"`.
func linkParam(headers []string, rel, param string) string {
	for _, h := range headers {
		for len(h) > 0 {
			start := strings.IndexByte(h, '<')
			if start < 0 {
				break
			}
			end := strings.IndexByte(h[start:], '>')
			if end < 0 {
				break
			}
			target := h[start+1 : start+end]
			h = h[start+end+1:]
			params := h
			if next := strings.IndexByte(h, '<'); next >= 0 {
				params = h[:next]
			}
			if !hasRel(params, rel) {
				continue
			}
			u, err := url.Parse(target)
			if err != nil {
				continue
			}
			if v := u.Query().Get(param); v != "" {
				return v
			}
		}
	}
	return ""
}

// hasRel reports whether a link's parameters (`; rel="prev",`) name rel.
func hasRel(params, rel string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ",")), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for r := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}
