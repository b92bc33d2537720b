package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// FacebookConnector is the connector name of Facebook Page accounts.
const FacebookConnector = "facebook"

// Messaging windows, from Meta's rules: a Page may answer a Messenger
// conversation within 24 hours of the person's last message, and send one
// private reply to a comment within 7 days of the comment.
const (
	MessengerWindow    = 24 * time.Hour
	PrivateReplyWindow = 7 * 24 * time.Hour
)

// messengerMaxText is the Send API's limit on a text message, in
// characters.
const messengerMaxText = 2000

// Page bounds of the lists a poll reads.
const (
	maxFeedPages          = 8  // × 25 posts
	maxCommentPages       = 10 // × 50 comments per post
	maxConversationPages  = 8  // × 25 conversations
	conversationMessages  = 20 // Meta shows the 20 newest messages of a conversation
	messageFields         = "id,from,message,created_time"
	conversationFieldsFmt = "id,updated_time,messages.limit(%d){" + messageFields + "}"
)

// Facebook is the channel of a Facebook Page: comments on the Page's
// recent posts and its Messenger conversations. Account.RemoteID is the
// Page ID (when it is empty, the Page is found with GET /me, which a Page
// token answers with its Page); the token is a Page access token.
//
// Poll reads the posts of the lookback window (GET /{page-id}/feed, only
// those updated since the last poll), their comments and replies newest
// first down to the cursor (GET /{post-id}/comments?filter=stream), and
// the conversations updated since the cursor with their newest 20 messages
// (GET /{page-id}/conversations?platform=messenger). Items the Page wrote
// itself are skipped. Visitor posts themselves are not items, and
// comments on posts older than the lookback window are not seen: the
// webhook relay covers them.
type Facebook struct {
	g *graph
	// pageIDs caches the Page ID found with /me, per account and token.
	pageIDs sync.Map
}

var (
	_ channels.Channel  = (*Facebook)(nil)
	_ channels.Verifier = (*Facebook)(nil)
)

// NewFacebook makes the Facebook channel.
func NewFacebook(creds channels.Credentials, opts ...Option) *Facebook {
	return &Facebook{g: newGraph(creds, newConfig(opts))}
}

// fbUser is the "from" of a comment or message.
type fbUser struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"` // Instagram conversations
}

type fbPost struct {
	ID          string `json:"id"`
	CreatedTime string `json:"created_time"`
	UpdatedTime string `json:"updated_time"`
}

type fbComment struct {
	ID          string  `json:"id"`
	From        *fbUser `json:"from"`
	Message     string  `json:"message"`
	CreatedTime string  `json:"created_time"`
	Parent      *struct {
		ID string `json:"id"`
	} `json:"parent"`
}

type fbMessage struct {
	ID          string  `json:"id"`
	From        *fbUser `json:"from"`
	Message     string  `json:"message"`
	CreatedTime string  `json:"created_time"`
}

type fbConversation struct {
	ID          string `json:"id"`
	UpdatedTime string `json:"updated_time"`
	// Participants are the person and the Page (or Instagram account),
	// when asked for.
	Participants *struct {
		Data []fbUser `json:"data"`
	} `json:"participants"`
	Messages *struct {
		Data   []fbMessage `json:"data"`
		Paging paging      `json:"paging"`
	} `json:"messages"`
}

// fbPolledConversation is a conversation as a poll reads it: its
// messages are decoded one by one, so that one that does not decode is
// stepped over alone.
type fbPolledConversation struct {
	ID          string `json:"id"`
	UpdatedTime string `json:"updated_time"`
	Messages    *struct {
		Data   []json.RawMessage `json:"data"`
		Paging paging            `json:"paging"`
	} `json:"messages"`
}

func (u *fbUser) id() string {
	if u == nil {
		return ""
	}
	return u.ID
}

func (u *fbUser) name() string {
	if u == nil {
		return ""
	}
	return u.Name
}

// pageID is the account's Page ID.
func (f *Facebook) pageID(ctx context.Context, s *session) (string, error) {
	if s.acc.RemoteID != "" {
		return s.acc.RemoteID, nil
	}
	key := s.acc.Key() + "\x00" + s.token
	if id, ok := f.pageIDs.Load(key); ok {
		return id.(string), nil
	}
	var me struct {
		ID string `json:"id"`
	}
	if err := s.get(ctx, "/me", url.Values{"fields": {"id,name"}}, &me); err != nil {
		return "", fmt.Errorf("find the Page of %s: %w", s.acc.Key(), err)
	}
	if me.ID == "" {
		return "", fmt.Errorf("find the Page of %s: %w: GET /me answered without an id", s.acc.Key(), webapi.ErrTransient)
	}
	f.pageIDs.Store(key, me.ID)
	return me.ID, nil
}

// Sources of a Facebook poll cursor.
const (
	srcComments = "comments"
	srcMessages = "messages"
	srcTags     = "tags"
)

// Poll returns the comments and Messenger messages newer than cursor,
// oldest first.
func (f *Facebook) Poll(ctx context.Context, acc channels.Account, cur string) (channels.Page, error) {
	c, err := parseCursor(cur)
	if err != nil {
		return channels.Page{}, err
	}
	s, err := f.g.session(ctx, acc)
	if err != nil {
		return channels.Page{}, err
	}
	page, err := f.pageID(ctx, s)
	if err != nil {
		return channels.Page{}, err
	}
	start := f.g.now().Add(-f.g.lookback)
	var col collector
	if err := f.pollComments(ctx, s, page, c.mark(srcComments, start), start, &col); err != nil {
		return channels.Page{}, fmt.Errorf("poll comments of Page %s: %w", page, err)
	}
	if err := f.pollMessages(ctx, s, page, c.mark(srcMessages, start), &col); err != nil {
		return channels.Page{}, fmt.Errorf("poll Messenger conversations of Page %s: %w", page, err)
	}
	return col.page(c, f.g.maxItems), nil
}

func (f *Facebook) pollComments(ctx context.Context, s *session, page string, m mark, start time.Time, col *collector) error {
	q := url.Values{"fields": {"id,created_time,updated_time"}, "since": {strconv.FormatInt(m.since(start).Unix(), 10)}, "limit": {"25"}}
	bad := func(id string, err error) { f.g.skip(ctx, s.acc, "post", id, undecodable(err)) }
	posts, truncated, err := listUnique(ctx, s, "/"+page+"/feed", q, maxFeedPages, bad, func(p fbPost) string { return p.ID })
	if err != nil {
		return err
	}
	if truncated {
		f.g.log.Warn("meta: more posts in the lookback window than one poll reads; the oldest are skipped", "account", s.acc.Key(), "posts", len(posts))
	}
	for _, p := range posts {
		if p.UpdatedTime != "" {
			// A post's updated_time moves when someone comments on it.
			if u, err := parseTime(p.UpdatedTime); err == nil && u.Before(m.T) {
				continue
			}
		}
		if err := f.pollPostComments(ctx, s, page, p.ID, m, col); err != nil {
			return err
		}
	}
	return nil
}

func (f *Facebook) pollPostComments(ctx context.Context, s *session, page, post string, m mark, col *collector) error {
	q := url.Values{
		"filter": {"stream"}, "order": {"reverse_chronological"},
		"fields": {"id,from,message,created_time,parent"}, "limit": {"50"},
	}
	what := "comment on post " + post
	bad := func(id string, err error) { f.g.skip(ctx, s.acc, what, id, undecodable(err)) }
	truncated, err := listSkipping(ctx, s, "/"+post+"/comments", q, maxCommentPages, bad, func(cs []fbComment) bool {
		for _, cm := range cs {
			t, terr := parseTime(cm.CreatedTime)
			if terr == nil && t.Before(m.T) {
				return true // newest first: the rest is older
			}
			if problem := unusable(cm.ID, "created_time", cm.CreatedTime, terr); problem != "" {
				f.g.skip(ctx, s.acc, what, cm.ID, problem)
				if terr == nil && t.After(m.T) {
					col.pass(srcComments, t)
				}
				continue
			}
			if !m.isNew(t, cm.ID) || cm.From.id() == page {
				continue
			}
			col.add(srcComments, channels.Item{
				PlatformID: cm.ID, ThreadID: post, AuthorName: cm.From.name(), AuthorID: cm.From.id(),
				Text: cm.Message, Kind: "comment", CreatedAt: t,
			})
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("comments of post %s: %w", post, err)
	}
	if truncated {
		f.g.log.Warn("meta: more new comments on a post than one poll reads; the oldest are skipped", "account", s.acc.Key(), "post", post)
	}
	return nil
}

func (f *Facebook) pollMessages(ctx context.Context, s *session, page string, m mark, col *collector) error {
	q := url.Values{
		"platform": {"messenger"},
		"fields":   {fmt.Sprintf(conversationFieldsFmt, conversationMessages)},
		"limit":    {"25"},
	}
	bad := func(id string, err error) { f.g.skip(ctx, s.acc, "conversation", id, undecodable(err)) }
	truncated, err := listSkipping(ctx, s, "/"+page+"/conversations", q, maxConversationPages, bad, func(cs []fbPolledConversation) bool {
		for _, cv := range cs {
			u, uerr := parseTime(cv.UpdatedTime)
			if uerr == nil && u.Before(m.T) {
				return true // most recently updated first: the rest is older
			}
			if cv.ID == "" {
				f.g.skip(ctx, s.acc, "conversation", "", unusable(cv.ID, "updated_time", cv.UpdatedTime, uerr))
				continue
			}
			if uerr != nil {
				// Its messages carry their own times: read them anyway.
				f.g.log.Debug("meta: a conversation without a readable updated_time", "account", s.acc.Key(), "conversation", cv.ID)
			}
			if cv.Messages == nil {
				continue
			}
			what := "message in conversation " + cv.ID
			fresh := 0
			for _, raw := range cv.Messages.Data {
				var msg fbMessage
				if err := json.Unmarshal(raw, &msg); err != nil {
					f.g.skip(ctx, s.acc, what, rawID(raw), undecodable(err))
					fresh++
					continue
				}
				t, terr := parseTime(msg.CreatedTime)
				if problem := unusable(msg.ID, "created_time", msg.CreatedTime, terr); problem != "" {
					f.g.skip(ctx, s.acc, what, msg.ID, problem)
					fresh++
					if terr == nil && t.After(m.T) {
						col.pass(srcMessages, t)
					}
					continue
				}
				if !m.isNew(t, msg.ID) {
					continue
				}
				fresh++
				if msg.From.id() == page {
					continue
				}
				col.add(srcMessages, channels.Item{
					PlatformID: msg.ID, ThreadID: cv.ID, AuthorName: msg.From.name(), AuthorID: msg.From.id(),
					Text: msg.Message, Kind: "dm", CreatedAt: t,
				})
			}
			if fresh == len(cv.Messages.Data) && cv.Messages.Paging.Next != "" {
				f.g.log.Warn("meta: a conversation has more new messages than Meta shows (the newest 20); older ones are not seen",
					"account", s.acc.Key(), "conversation", cv.ID)
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	if truncated {
		f.g.log.Warn("meta: more updated conversations than one poll reads; the oldest are skipped", "account", s.acc.Key())
	}
	return nil
}

// Reply answers a comment publicly (POST /{comment-id}/comments), a
// comment privately (a private reply: POST /{page-id}/messages to the
// comment, once per comment and within 7 days of it), or a Messenger
// message (POST /{page-id}/messages to the PSID, within 24 hours of the
// customer's message). A reply outside its window is refused without
// calling Meta, with an error wrapping channels.ErrPermanent that says
// when the window closed.
func (f *Facebook) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	if err := checkRequest(req); err != nil {
		return "", err
	}
	now := f.g.now()
	switch {
	case req.Kind == "dm":
		if req.Recipient == "" {
			return "", fmt.Errorf("%w: Messenger reply to %s: no recipient (PSID)", channels.ErrPermanent, req.InReplyTo)
		}
		if err := messengerWindow.check(req, now); err != nil {
			return "", err
		}
		return f.send(ctx, req, map[string]any{
			"recipient":      map[string]string{"id": req.Recipient},
			"messaging_type": "RESPONSE",
			"message":        map[string]string{"text": req.Text},
		})
	case req.Kind == "comment" && req.Private:
		if err := privateReplyWindow.check(req, now); err != nil {
			return "", err
		}
		id, err := f.send(ctx, req, map[string]any{
			"recipient": map[string]string{"comment_id": req.InReplyTo},
			"message":   map[string]string{"text": req.Text},
		})
		if err != nil {
			return "", fmt.Errorf("private reply to comment %s (Meta allows one per comment, within 7 days): %w", req.InReplyTo, err)
		}
		return id, nil
	case req.Kind == "comment":
		s, err := f.g.session(ctx, req.Account)
		if err != nil {
			return "", err
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := s.postForm(ctx, "/"+req.InReplyTo+"/comments", url.Values{"message": {req.Text}}, &out); err != nil {
			return "", fmt.Errorf("reply to comment %s: %w", req.InReplyTo, err)
		}
		if out.ID == "" {
			return "", fmt.Errorf("reply to comment %s: %w: Meta accepted it but answered without an id", req.InReplyTo, webapi.ErrTransient)
		}
		return out.ID, nil
	default:
		return "", fmt.Errorf("%w: the Facebook connector cannot answer a %q item", channels.ErrPermanent, req.Kind)
	}
}

// send posts a message with the Send API.
func (f *Facebook) send(ctx context.Context, req channels.ReplyRequest, body map[string]any) (string, error) {
	if n := utf8.RuneCountInString(req.Text); n > messengerMaxText {
		return "", fmt.Errorf("%w: Messenger messages are limited to %d characters; this reply has %d", channels.ErrPermanent, messengerMaxText, n)
	}
	s, err := f.g.session(ctx, req.Account)
	if err != nil {
		return "", err
	}
	page, err := f.pageID(ctx, s)
	if err != nil {
		return "", err
	}
	var out struct {
		RecipientID string `json:"recipient_id"`
		MessageID   string `json:"message_id"`
	}
	if err := s.postJSON(ctx, "/"+page+"/messages", body, &out); err != nil {
		return "", fmt.Errorf("send Messenger message for %s: %w", req.InReplyTo, err)
	}
	if out.MessageID == "" {
		return "", fmt.Errorf("send Messenger message for %s: %w: Meta accepted it but answered without a message_id", req.InReplyTo, webapi.ErrTransient)
	}
	return out.MessageID, nil
}

// checkRequest refuses replies that cannot be sent at all.
func checkRequest(req channels.ReplyRequest) error {
	if req.InReplyTo == "" {
		return fmt.Errorf("%w: the reply names no message to answer", channels.ErrPermanent)
	}
	if req.Text == "" || len(req.Text) > 64<<10 {
		return fmt.Errorf("%w: reply to %s: the text is empty or too long", channels.ErrPermanent, req.InReplyTo)
	}
	return nil
}

// windowFormat is how a window's closing time reads in an error.
const windowFormat = "2006-01-02 15:04 MST"

// replyWindow is one of Meta's time limits on answering: a reply must be
// sent within length of when the customer wrote.
type replyWindow struct {
	length time.Duration
	// unknown is the refusal's format when the customer's time is not
	// known (arguments: channels.ErrPermanent, the message answered);
	// closed when the window has closed (channels.ErrPermanent, the
	// customer, the closing time).
	unknown, closed string
}

// Meta's reply windows.
var (
	// messengerWindow holds a Messenger message to the 24 hours after the
	// customer's message.
	messengerWindow = replyWindow{
		length:  MessengerWindow,
		unknown: "%w: reply to %s: unknown when the customer wrote, so Messenger's 24-hour window cannot be checked",
		closed:  "%w: Messenger's 24-hour window to answer %s closed at %s; the customer must write again before the Page can reply",
	}
	// privateReplyWindow holds a private reply to the 7 days after the
	// comment.
	privateReplyWindow = replyWindow{
		length:  PrivateReplyWindow,
		unknown: "%w: private reply to %s: unknown when the comment was written, so the 7-day window cannot be checked",
		closed:  "%w: the 7-day window for a private reply to %s's comment closed at %s; answer the comment publicly, or wait for the customer to write a message",
	}
)

// check refuses req, with an error wrapping channels.ErrPermanent, when
// it is outside the window at now or when the customer's time is unknown.
func (w replyWindow) check(req channels.ReplyRequest, now time.Time) error {
	if req.WrittenAt.IsZero() {
		return fmt.Errorf(w.unknown, channels.ErrPermanent, req.InReplyTo)
	}
	closed := req.WrittenAt.Add(w.length)
	if !now.Before(closed) {
		return fmt.Errorf(w.closed, channels.ErrPermanent, who(req), closed.UTC().Format(windowFormat))
	}
	return nil
}

func who(req channels.ReplyRequest) string {
	if req.RecipientName != "" {
		return req.RecipientName
	}
	if req.Recipient != "" {
		return req.Recipient
	}
	return "the customer"
}

// FindReply looks for a reply of req posted by an earlier attempt: the
// Page's comment with the same text among the comment's replies (and its
// parent's, where Facebook may file a reply to a reply), or the Page's
// message with the same text in the conversation with the customer, and
// only there (for a private reply, the conversation with the comment's
// author: found by user_id, else among the conversations updated since
// the first attempt by the participant's ID, else by their name when only
// one conversation has it). It reads back to FirstAttempt less a small
// allowance for clock differences; when a page bound or an unrecognizable
// conversation stops it first, it returns an error wrapping
// webapi.ErrTransient, never "not found".
func (f *Facebook) FindReply(ctx context.Context, req channels.ReplyRequest) (string, bool, error) {
	s, err := f.g.session(ctx, req.Account)
	if err != nil {
		return "", false, err
	}
	page, err := f.pageID(ctx, s)
	if err != nil {
		return "", false, err
	}
	from := earliestReply(req)
	messenger := convSearch{s: s, path: "/" + page + "/conversations", platform: "messenger", ours: func(u *fbUser) bool { return u.id() == page }}
	switch {
	case req.Kind == "dm":
		return f.findMessage(ctx, messenger, req, from)
	case req.Kind == "comment" && req.Private:
		id, found, err := messenger.findSent(ctx, req, from)
		if err != nil {
			return "", false, fmt.Errorf("look for the private reply to comment %s: %w", req.InReplyTo, err)
		}
		return id, found, nil
	case req.Kind == "comment":
		id, found, err := f.findInComments(ctx, s, page, req.InReplyTo, req.Text, from)
		if err != nil || found {
			return id, found, err
		}
		var c struct {
			ID     string `json:"id"`
			Parent *struct {
				ID string `json:"id"`
			} `json:"parent"`
		}
		if err := s.get(ctx, "/"+req.InReplyTo, url.Values{"fields": {"id,parent"}}, &c); err != nil {
			return "", false, fmt.Errorf("look up comment %s: %w", req.InReplyTo, err)
		}
		if c.Parent == nil || c.Parent.ID == "" {
			return "", false, nil
		}
		return f.findInComments(ctx, s, page, c.Parent.ID, req.Text, from)
	default:
		return "", false, nil
	}
}

func (f *Facebook) findInComments(ctx context.Context, s *session, page, comment, text string, from time.Time) (string, bool, error) {
	q := url.Values{
		"filter": {"stream"}, "order": {"reverse_chronological"},
		"fields": {"id,from,message,created_time"}, "limit": {"50"},
	}
	var found string
	truncated, err := listChecked(ctx, s, "/"+comment+"/comments", q, maxFindPages, func(cs []fbComment) (bool, error) {
		for _, c := range cs {
			t, err := parseTime(c.CreatedTime)
			if err != nil || c.ID == "" {
				return true, fmt.Errorf("%w: reply %q has no usable id or created_time (%q), %s", webapi.ErrTransient, c.ID, c.CreatedTime, cannotTell)
			}
			if t.Before(from) {
				return true, nil // newest first: the rest is older
			}
			if c.From.id() == page && sameText(c.Message, text) {
				found = c.ID
				return true, nil
			}
		}
		return false, nil
	})
	if found != "" {
		return found, true, nil
	}
	if err == nil && truncated {
		err = fmt.Errorf("%w: more than %d replies since the first attempt, %s", webapi.ErrTransient, 50*maxFindPages, cannotTell)
	}
	if err != nil {
		return "", false, fmt.Errorf("look for the reply among the replies to %s: %w", comment, err)
	}
	return "", false, nil
}

// findMessage looks for a Messenger reply in the customer's
// conversation: by their PSID (Recipient), or by the thread's
// conversation ID when the PSID is not known.
func (f *Facebook) findMessage(ctx context.Context, cs convSearch, req channels.ReplyRequest, from time.Time) (string, bool, error) {
	switch {
	case req.Recipient != "":
		id, found, err := cs.findSent(ctx, req, from)
		if err != nil {
			return "", false, fmt.Errorf("look for the reply in the conversation with %s: %w", req.Recipient, err)
		}
		return id, found, nil
	case req.ThreadID != "":
		var cv fbConversation
		if err := cs.s.get(ctx, "/"+req.ThreadID, cs.query(), &cv); err != nil {
			return "", false, fmt.Errorf("look for the reply in conversation %s: %w", req.ThreadID, err)
		}
		if cv.ID == "" {
			return "", false, fmt.Errorf("look for the reply in conversation %s: %w: Meta answered without the conversation", req.ThreadID, webapi.ErrTransient)
		}
		return cs.findInConversation(ctx, cv, req.Text, from)
	default:
		return "", false, fmt.Errorf("%w: look for a Messenger reply to %s: neither recipient nor conversation known", channels.ErrPermanent, req.InReplyTo)
	}
}

// Verify checks a Page token: GET /{page-id}?fields=id,name,username (or
// /me when the Page ID is not known yet) must answer with the Page.
func (f *Facebook) Verify(ctx context.Context, acc channels.Account, t channels.Token) (channels.Identity, error) {
	s, err := f.g.sessionWith(acc, t)
	if err != nil {
		return channels.Identity{}, err
	}
	node := acc.RemoteID
	if node == "" {
		node = "me"
	}
	var p struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
	}
	if err := s.get(ctx, "/"+node, url.Values{"fields": {"id,name,username"}}, &p); err != nil {
		return channels.Identity{}, fmt.Errorf("verify Facebook Page %s: %w", acc.Key(), err)
	}
	if p.ID == "" {
		return channels.Identity{}, fmt.Errorf("verify Facebook Page %s: %w: Meta answered without the Page's id", acc.Key(), webapi.ErrTransient)
	}
	if acc.RemoteID != "" && p.ID != acc.RemoteID {
		return channels.Identity{}, fmt.Errorf("%w: verify Facebook Page %s: the token speaks for %s, not Page %s", channels.ErrAuth, acc.Key(), p.ID, acc.RemoteID)
	}
	handle := p.Username
	if handle == "" {
		handle = p.ID
	}
	return channels.Identity{Handle: handle, DisplayName: p.Name, RemoteID: p.ID}, nil
}
