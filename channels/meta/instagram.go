package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// InstagramConnector is the connector name of Instagram professional
// accounts.
const InstagramConnector = "instagram"

// Page bounds of the Instagram lists a poll reads.
const (
	maxMediaPages   = 4 // × 25 media
	maxIGCommentPgs = 10
	maxReplyPages   = 5
	maxTagPages     = 4
	igReplyFields   = "id,text,username,from,timestamp"
	igCommentFields = igReplyFields + ",replies{" + igReplyFields + "}"
)

// Instagram is the channel of an Instagram professional account: comments
// (and replies to them) on the account's recent media, and the media the
// account is tagged in. Account.RemoteID is the Instagram professional
// account ID ("IG user ID"); Account.Handle its username.
//
// Poll reads the media of the lookback window (GET /{ig-user-id}/media),
// the comments of those with any, with their replies (GET
// /{ig-media-id}/comments), and the media the account is tagged in (GET
// /{ig-user-id}/tags), as items of kind "mention". Comments on media older
// than the lookback window are not seen. @mentions in other
// people's captions and comments are not polled: the Graph API only tells
// of them through the webhook's "mentions" field (then read with
// mentioned_comment / mentioned_media), which the webhook relay handles.
//
// Reply answers a comment publicly (POST /{ig-comment-id}/replies).
// Instagram only takes replies on top-level comments, so a reply to a
// reply is posted on its top-level comment, where Instagram would file it
// anyway; hidden comments cannot be answered. A private reply goes by
// direct message (POST /{ig-user-id}/messages to the comment), once per
// comment and within 7 days of it. Mentions cannot be answered from here:
// Instagram does not allow comments on media an account is tagged in.
type Instagram struct {
	g *graph
}

var (
	_ channels.Channel  = (*Instagram)(nil)
	_ channels.Verifier = (*Instagram)(nil)
)

// NewInstagram makes the Instagram channel.
func NewInstagram(creds channels.Credentials, opts ...Option) *Instagram {
	return &Instagram{g: newGraph(creds, newConfig(opts))}
}

type igUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type igComment struct {
	ID        string  `json:"id"`
	Text      string  `json:"text"`
	Username  string  `json:"username"`
	From      *igUser `json:"from"`
	Timestamp string  `json:"timestamp"`
	ParentID  string  `json:"parent_id"`
	Hidden    bool    `json:"hidden"`
	Replies   *struct {
		Data   []igComment `json:"data"`
		Paging paging      `json:"paging"`
	} `json:"replies"`
}

type igMedia struct {
	ID            string `json:"id"`
	Timestamp     string `json:"timestamp"`
	CommentsCount *int   `json:"comments_count"`
	Caption       string `json:"caption"`
	Username      string `json:"username"`
}

// igPolledComment is a comment as a poll reads it: its replies are
// decoded one by one, so that one that does not decode is stepped over
// alone.
type igPolledComment struct {
	igComment
	Replies *struct {
		Data   []json.RawMessage `json:"data"`
		Paging paging            `json:"paging"`
	} `json:"replies"`
}

// igID is the account's Instagram professional account ID.
func igID(acc channels.Account) (string, error) {
	if acc.RemoteID == "" {
		return "", fmt.Errorf("%w: Instagram account %s has no Instagram professional account ID (Account.RemoteID); connect it again", channels.ErrPermanent, acc.Key())
	}
	return acc.RemoteID, nil
}

// own says whether the account wrote something: by ID when both are
// known, else by username.
func own(acc channels.Account, id, username string) bool {
	if id != "" && acc.RemoteID != "" {
		return id == acc.RemoteID
	}
	h := strings.TrimPrefix(acc.Handle, "@")
	return username != "" && strings.EqualFold(username, h)
}

func (c igComment) fromID() string {
	if c.From == nil {
		return ""
	}
	return c.From.ID
}

func (c igComment) author() string {
	if c.Username != "" {
		return c.Username
	}
	if c.From != nil {
		return c.From.Username
	}
	return ""
}

// Poll returns the comments and tags newer than cursor, oldest first.
func (ig *Instagram) Poll(ctx context.Context, acc channels.Account, cur string) (channels.Page, error) {
	c, err := parseCursor(cur)
	if err != nil {
		return channels.Page{}, err
	}
	id, err := igID(acc)
	if err != nil {
		return channels.Page{}, err
	}
	s, err := ig.g.session(ctx, acc)
	if err != nil {
		return channels.Page{}, err
	}
	start := ig.g.now().Add(-ig.g.lookback)
	var col collector
	if err := ig.pollComments(ctx, s, id, c.mark(srcComments, start), start, &col); err != nil {
		return channels.Page{}, fmt.Errorf("poll comments of Instagram account %s: %w", id, err)
	}
	if err := ig.pollTags(ctx, s, id, c.mark(srcTags, start), &col); err != nil {
		return channels.Page{}, fmt.Errorf("poll media Instagram account %s is tagged in: %w", id, err)
	}
	return col.page(c, ig.g.maxItems), nil
}

func (ig *Instagram) pollComments(ctx context.Context, s *session, id string, m mark, start time.Time, col *collector) error {
	q := url.Values{"fields": {"id,timestamp,comments_count"}, "since": {strconv.FormatInt(m.since(start).Unix(), 10)}, "limit": {"25"}}
	bad := func(id string, err error) { ig.g.skip(ctx, s.acc, "media", id, undecodable(err)) }
	media, truncated, err := listUnique(ctx, s, "/"+id+"/media", q, maxMediaPages, bad, func(md igMedia) string { return md.ID })
	if err != nil {
		return err
	}
	if truncated {
		ig.g.log.Warn("meta: more media in the lookback window than one poll reads; the oldest are skipped", "account", s.acc.Key(), "media", len(media))
	}
	for _, md := range media {
		if md.CommentsCount != nil && *md.CommentsCount == 0 {
			continue
		}
		if err := ig.pollMediaComments(ctx, s, md.ID, m, col); err != nil {
			return err
		}
	}
	return nil
}

func (ig *Instagram) pollMediaComments(ctx context.Context, s *session, media string, m mark, col *collector) error {
	// consider collects a comment or reply when it is new and not the
	// account's own; one without a usable ID or time is stepped over.
	what := "comment on media " + media
	consider := func(c igComment) {
		t, terr := parseTime(c.Timestamp)
		if problem := unusable(c.ID, "timestamp", c.Timestamp, terr); problem != "" {
			ig.g.skip(ctx, s.acc, what, c.ID, problem)
			if terr == nil && t.After(m.T) {
				col.pass(srcComments, t)
			}
			return
		}
		if m.isNew(t, c.ID) && !own(s.acc, c.fromID(), c.author()) {
			col.add(srcComments, channels.Item{
				PlatformID: c.ID, ThreadID: media, AuthorName: c.author(), AuthorID: c.fromID(),
				Text: c.Text, Kind: "comment", CreatedAt: t,
			})
		}
	}
	bad := func(id string, err error) { ig.g.skip(ctx, s.acc, what, id, undecodable(err)) }
	var moreReplies []string
	q := url.Values{"fields": {igCommentFields}, "limit": {"50"}}
	truncated, err := listSkipping(ctx, s, "/"+media+"/comments", q, maxIGCommentPgs, bad, func(cs []igPolledComment) bool {
		for _, c := range cs {
			consider(c.igComment)
			if c.Replies == nil {
				continue
			}
			for _, raw := range c.Replies.Data {
				var r igComment
				if err := json.Unmarshal(raw, &r); err != nil {
					bad(rawID(raw), err)
					continue
				}
				consider(r)
			}
			if c.Replies.Paging.Next != "" && c.ID != "" {
				moreReplies = append(moreReplies, c.ID)
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("comments of media %s: %w", media, err)
	}
	if truncated {
		ig.g.log.Warn("meta: more comments on a media than one poll reads; some are skipped", "account", s.acc.Key(), "media", media)
	}
	// Replies beyond the first page nested in a comment.
	for _, c := range moreReplies {
		_, err := listSkipping(ctx, s, "/"+c+"/replies", url.Values{"fields": {igReplyFields}, "limit": {"50"}}, maxReplyPages, bad, func(rs []igComment) bool {
			for _, r := range rs {
				consider(r)
			}
			return false
		})
		if err != nil {
			return fmt.Errorf("replies to comment %s: %w", c, err)
		}
	}
	return nil
}

func (ig *Instagram) pollTags(ctx context.Context, s *session, id string, m mark, col *collector) error {
	q := url.Values{"fields": {"id,caption,username,timestamp,permalink"}, "limit": {"25"}}
	bad := func(id string, err error) { ig.g.skip(ctx, s.acc, "tagged media", id, undecodable(err)) }
	truncated, err := listSkipping(ctx, s, "/"+id+"/tags", q, maxTagPages, bad, func(ms []igMedia) bool {
		older, skipped := 0, 0
		for _, md := range ms {
			t, terr := parseTime(md.Timestamp)
			if problem := unusable(md.ID, "timestamp", md.Timestamp, terr); problem != "" {
				ig.g.skip(ctx, s.acc, "tagged media", md.ID, problem)
				skipped++
				if terr == nil && t.After(m.T) {
					col.pass(srcTags, t)
				}
				continue
			}
			if !m.isNew(t, md.ID) {
				older++
				continue
			}
			if own(s.acc, "", md.Username) {
				continue
			}
			col.add(srcTags, channels.Item{
				PlatformID: md.ID, ThreadID: md.ID, AuthorName: md.Username,
				Text: md.Caption, Kind: "mention", CreatedAt: t,
			})
		}
		// Newest first: a page with nothing new (other than items that
		// cannot be used) ends the list.
		return older > 0 && older+skipped == len(ms)
	})
	if err != nil {
		return err
	}
	if truncated {
		ig.g.log.Warn("meta: more new tagged media than one poll reads; the oldest are skipped", "account", s.acc.Key())
	}
	return nil
}

// topComment looks a comment up: the comment Instagram files a reply to
// it under (its parent when it is itself a reply), and whether it is
// hidden.
func (ig *Instagram) topComment(ctx context.Context, s *session, comment string) (top string, hidden bool, err error) {
	var c igComment
	if err := s.get(ctx, "/"+comment, url.Values{"fields": {"id,parent_id,hidden"}}, &c); err != nil {
		return "", false, fmt.Errorf("look up Instagram comment %s: %w", comment, err)
	}
	if c.ParentID != "" {
		return c.ParentID, c.Hidden, nil
	}
	return comment, c.Hidden, nil
}

// Reply answers a comment publicly or privately; see Instagram.
func (ig *Instagram) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	if err := checkRequest(req); err != nil {
		return "", err
	}
	switch {
	case req.Kind == "comment" && req.Private:
		id, err := igID(req.Account)
		if err != nil {
			return "", err
		}
		if err := privateReplyWindow.check(req, ig.g.now()); err != nil {
			return "", err
		}
		s, err := ig.g.session(ctx, req.Account)
		if err != nil {
			return "", err
		}
		var out struct {
			RecipientID string `json:"recipient_id"`
			MessageID   string `json:"message_id"`
		}
		body := map[string]any{
			"recipient": map[string]string{"comment_id": req.InReplyTo},
			"message":   map[string]string{"text": req.Text},
		}
		if err := s.postJSON(ctx, "/"+id+"/messages", body, &out); err != nil {
			return "", fmt.Errorf("private reply to Instagram comment %s (Instagram allows one per comment, within 7 days): %w", req.InReplyTo, err)
		}
		if out.MessageID == "" {
			return "", fmt.Errorf("private reply to Instagram comment %s: %w: Instagram accepted it but answered without a message_id", req.InReplyTo, webapi.ErrTransient)
		}
		return out.MessageID, nil
	case req.Kind == "comment":
		s, err := ig.g.session(ctx, req.Account)
		if err != nil {
			return "", err
		}
		top, hidden, err := ig.topComment(ctx, s, req.InReplyTo)
		if err != nil {
			return "", err
		}
		if hidden {
			return "", fmt.Errorf("%w: Instagram comment %s is hidden, and Instagram does not take replies to hidden comments; unhide it first or reply privately", channels.ErrPermanent, req.InReplyTo)
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := s.postForm(ctx, "/"+top+"/replies", url.Values{"message": {req.Text}}, &out); err != nil {
			return "", fmt.Errorf("reply to Instagram comment %s: %w", req.InReplyTo, err)
		}
		if out.ID == "" {
			return "", fmt.Errorf("reply to Instagram comment %s: %w: Instagram accepted it but answered without an id", req.InReplyTo, webapi.ErrTransient)
		}
		return out.ID, nil
	case req.Kind == "mention":
		return "", fmt.Errorf("%w: Instagram does not allow comments on media an account is tagged in; answer %s by direct message on Instagram", channels.ErrPermanent, who(req))
	default:
		return "", fmt.Errorf("%w: the Instagram connector cannot answer a %q item", channels.ErrPermanent, req.Kind)
	}
}

// FindReply looks for a reply of req posted by an earlier attempt: the
// account's reply with the same text under the comment's top-level
// comment (GET /{ig-comment-id}/replies, read in full up to a bound), or,
// for a private reply, the account's message with the same text in the
// conversation with the comment's author, and only there (see
// Facebook.FindReply). When a bound or an unrecognizable conversation
// stops it before it can know, it returns an error wrapping
// webapi.ErrTransient, never "not found".
func (ig *Instagram) FindReply(ctx context.Context, req channels.ReplyRequest) (string, bool, error) {
	if req.Kind != "comment" {
		return "", false, nil
	}
	s, err := ig.g.session(ctx, req.Account)
	if err != nil {
		return "", false, err
	}
	from := earliestReply(req)
	if req.Private {
		id, err := igID(req.Account)
		if err != nil {
			return "", false, err
		}
		direct := convSearch{s: s, path: "/" + id + "/conversations", platform: "instagram", ours: func(u *fbUser) bool {
			return u != nil && own(req.Account, u.ID, u.Username)
		}}
		mid, found, err := direct.findSent(ctx, req, from)
		if err != nil {
			return "", false, fmt.Errorf("look for the private reply to Instagram comment %s: %w", req.InReplyTo, err)
		}
		return mid, found, nil
	}
	top, _, err := ig.topComment(ctx, s, req.InReplyTo)
	if err != nil {
		return "", false, err
	}
	// Instagram does not document the order of a comment's replies: all
	// are read (up to the bound), and only those since from count.
	var found string
	truncated, err := listChecked(ctx, s, "/"+top+"/replies", url.Values{"fields": {igReplyFields}, "limit": {"50"}}, maxFindReplyPages, func(rs []igComment) (bool, error) {
		for _, r := range rs {
			t, err := parseTime(r.Timestamp)
			if err != nil || r.ID == "" {
				return true, fmt.Errorf("%w: reply %q has no usable id or timestamp (%q), %s", webapi.ErrTransient, r.ID, r.Timestamp, cannotTell)
			}
			if t.Before(from) {
				continue
			}
			if own(req.Account, r.fromID(), r.author()) && sameText(r.Text, req.Text) {
				found = r.ID
				return true, nil
			}
		}
		return false, nil
	})
	if found != "" {
		return found, true, nil
	}
	if err == nil && truncated {
		err = fmt.Errorf("%w: the comment has more than %d replies, %s", webapi.ErrTransient, 50*maxFindReplyPages, cannotTell)
	}
	if err != nil {
		return "", false, fmt.Errorf("look for the reply among the replies to Instagram comment %s: %w", top, err)
	}
	return "", false, nil
}

// Verify checks a token: GET /{ig-user-id}?fields=id,username,name must
// answer with the account.
func (ig *Instagram) Verify(ctx context.Context, acc channels.Account, t channels.Token) (channels.Identity, error) {
	id, err := igID(acc)
	if err != nil {
		return channels.Identity{}, err
	}
	s, err := ig.g.sessionWith(acc, t)
	if err != nil {
		return channels.Identity{}, err
	}
	var u struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	}
	if err := s.get(ctx, "/"+id, url.Values{"fields": {"id,username,name"}}, &u); err != nil {
		return channels.Identity{}, fmt.Errorf("verify Instagram account %s: %w", acc.Key(), err)
	}
	if u.ID == "" || u.Username == "" {
		return channels.Identity{}, fmt.Errorf("verify Instagram account %s: %w: Instagram answered without the account's id and username", acc.Key(), webapi.ErrTransient)
	}
	if u.ID != id {
		return channels.Identity{}, fmt.Errorf("%w: verify Instagram account %s: the token reads account %s, not %s", channels.ErrAuth, acc.Key(), u.ID, id)
	}
	name := u.Name
	if name == "" {
		name = u.Username
	}
	return channels.Identity{Handle: u.Username, DisplayName: name, RemoteID: u.ID}, nil
}
