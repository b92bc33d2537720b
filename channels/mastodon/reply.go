package mastodon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// ClockSkew is how much earlier than a reply's first attempt a status
// found by FindReply may say it was written: the server's clock and this
// machine's are not the same.
const ClockSkew = 2 * time.Minute

// Reply posts req.Text as an answer to the status req.InReplyTo
// (POST /api/v1/statuses), starting with a mention of that status's author
// ("@acct ") so they are notified. The reply is a direct message when the
// answered status is one or when req.Private asks for it; otherwise it has
// the answered status's visibility, so a followers-only mention is never
// answered in public. The text is plain text (content_type=text/plain),
// never Markdown. The request carries req.IdempotencyKey as its
// Idempotency-Key header: a Mastodon server that sees the same key again
// within about an hour returns the first status instead of a second one.
//
// A status that is gone or hidden (404) or a reply the server refuses
// (422, such as one too long) is a channels.ErrPermanent error.
func (c *Channel) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	s, err := c.open(ctx, req.Account)
	if err != nil {
		return "", fmt.Errorf("reply on mastodon %s: %w", req.Account.Key(), err)
	}
	if req.InReplyTo == "" {
		return "", fmt.Errorf("reply on mastodon %s: %w: no status to answer", req.Account.Key(), channels.ErrPermanent)
	}
	if strings.TrimSpace(req.Text) == "" {
		return "", fmt.Errorf("reply on mastodon %s to %s: %w: empty reply", req.Account.Key(), req.InReplyTo, channels.ErrPermanent)
	}
	var parent wireStatus
	if _, err := c.do(ctx, s.base, call{method: http.MethodGet, path: "/api/v1/statuses/" + url.PathEscape(req.InReplyTo), token: s.token, hold: s.key}, &parent); err != nil {
		return "", fmt.Errorf("reply on mastodon %s: read status %s answered: %w", req.Account.Key(), req.InReplyTo, err)
	}
	if parent.Account.Acct == "" || parent.Account.ID == "" {
		return "", fmt.Errorf("reply on mastodon %s: status %s answered: %w: no author acct or id", req.Account.Key(), req.InReplyTo, webapi.ErrTransient)
	}
	text := req.Text
	if !c.isSelf(s, parent.Account.ID) {
		text = withMention(parent.Account.Acct, text)
	}
	form := url.Values{}
	form.Set("status", text)
	form.Set("in_reply_to_id", req.InReplyTo)
	form.Set("visibility", replyVisibility(parent.Visibility, req.Private || req.Kind == "dm"))
	// The text is sent as written: a server that formats statuses as
	// Markdown by default (GoToSocial, Akkoma, glitch-soc, per account)
	// would otherwise turn "*" and "_" into emphasis. Mastodon does not
	// know the parameter and ignores it.
	form.Set("content_type", contentTypePlain)
	header := http.Header{}
	if req.IdempotencyKey != "" {
		header.Set("Idempotency-Key", req.IdempotencyKey)
	}
	var posted wireStatus
	if _, err := c.do(ctx, s.base, call{method: http.MethodPost, path: "/api/v1/statuses", form: form, header: header, token: s.token, hold: s.key}, &posted); err != nil {
		return "", fmt.Errorf("reply on mastodon %s to %s: %w", req.Account.Key(), req.InReplyTo, err)
	}
	if posted.ID == "" {
		// It may have landed: the outbox asks FindReply before trying
		// again.
		return "", fmt.Errorf("reply on mastodon %s to %s: %w: the server answered without the new status's id", req.Account.Key(), req.InReplyTo, webapi.ErrTransient)
	}
	root := req.ThreadID
	if root == "" {
		if r, ok := c.knownRoot(s.key, req.InReplyTo); ok {
			root = r
		} else {
			root = req.InReplyTo
		}
	}
	c.rememberRoot(s.key, posted.ID, root)
	c.log.Info("replied on mastodon", "account", req.Account.Key(), "in_reply_to", req.InReplyTo, "status", posted.ID)
	return posted.ID, nil
}

// FindReply looks for a reply that an earlier attempt of req posted: in
// the answered status's thread (GET /api/v1/statuses/:id/context), a
// status by this account, in reply to req.InReplyTo, written no earlier
// than req.FirstAttempt (less ClockSkew), whose words are req.Text's once
// the mentions are set aside (see sameReplyText: the server renders a
// mention of a remote account as "@user", and may have formatted the
// text). It returns the oldest such status.
func (c *Channel) FindReply(ctx context.Context, req channels.ReplyRequest) (string, bool, error) {
	s, err := c.open(ctx, req.Account)
	if err != nil {
		return "", false, fmt.Errorf("find reply on mastodon %s: %w", req.Account.Key(), err)
	}
	if req.InReplyTo == "" {
		return "", false, fmt.Errorf("find reply on mastodon %s: %w: no status answered", req.Account.Key(), channels.ErrPermanent)
	}
	self, err := c.self(ctx, s)
	if err != nil {
		return "", false, fmt.Errorf("find reply on mastodon %s: who am I: %w", req.Account.Key(), err)
	}
	var thread wireContext
	if _, err := c.do(ctx, s.base, call{method: http.MethodGet, path: "/api/v1/statuses/" + url.PathEscape(req.InReplyTo) + "/context", token: s.token, hold: s.key}, &thread); err != nil {
		return "", false, fmt.Errorf("find reply on mastodon %s to %s: %w", req.Account.Key(), req.InReplyTo, err)
	}
	since := req.FirstAttempt.Add(-ClockSkew)
	found := ""
	for _, d := range thread.Descendants {
		switch {
		case d.ID == "" || d.Account.ID != self || d.inReplyTo() != req.InReplyTo:
		case !req.FirstAttempt.IsZero() && d.CreatedAt.Before(since):
		case !sameReplyText(plainText(d.Content), req.Text):
		case found == "" || compareIDs(d.ID, found) < 0:
			found = d.ID
		}
	}
	return found, found != "", nil
}

// isSelf reports whether id is the session's own account, as far as is
// known without asking.
func (c *Channel) isSelf(s session, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.selves[s.key] == id
}

// replyVisibility is the visibility of a reply to a status with the given
// one: direct when asked, the same when it is public, unlisted or
// followers-only, and direct for anything else (a server's own kinds),
// so a reply is never more public than what it answers.
func replyVisibility(answered string, private bool) string {
	if private {
		return visDirect
	}
	switch answered {
	case visPublic, visUnlisted, visPrivate:
		return answered
	default:
		return visDirect
	}
}

// withMention starts text with "@acct " unless it already starts with
// that mention.
func withMention(acct, text string) string {
	mention := "@" + acct
	if len(text) >= len(mention) && strings.EqualFold(text[:len(mention)], mention) {
		rest := text[len(mention):]
		if rest == "" || unicode.IsSpace(rune(rest[0])) || strings.ContainsRune(",:;!?", rune(rest[0])) {
			return text
		}
	}
	return mention + " " + text
}
