package gbp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// Reply answers a review: PUT …/reviews/{id}/reply with {"comment": text}.
// Google keeps one owner reply per review and this call creates or
// replaces it, so a retry cannot make a second reply. The remote ID is
// the reply's resource name, "accounts/{a}/locations/{l}/reviews/{id}/reply".
//
// Refused without a request (channels.ErrPermanent): a private reply
// (Google has none), an empty reply, or one longer than MaxReplyBytes. A
// review that no longer exists (404) is a refusal too.
func (c *Channel) Reply(ctx context.Context, req channels.ReplyRequest) (string, error) {
	target, err := c.target(req)
	if err != nil {
		return "", err
	}
	if req.Private {
		return "", fmt.Errorf("%w: a Google review can only be answered publicly", channels.ErrPermanent)
	}
	if strings.TrimSpace(req.Text) == "" {
		return "", fmt.Errorf("%w: the reply to Google review %s is empty", channels.ErrPermanent, target.id)
	}
	if n := len(req.Text); n > MaxReplyBytes {
		return "", fmt.Errorf("%w: the reply is %d bytes long; Google accepts at most %d bytes (accented letters and emoji take 2 to 4 bytes each): shorten it by %d bytes",
			channels.ErrPermanent, n, MaxReplyBytes, n-MaxReplyBytes)
	}
	body, err := json.Marshal(reviewReply{Comment: req.Text})
	if err != nil {
		return "", fmt.Errorf("encode the reply to Google review %s: %w", target.id, err)
	}
	b, err := c.call(ctx, req.Account, http.MethodPut, target.url+"/reply", body)
	if err != nil {
		return "", fmt.Errorf("reply to Google review %s: %w", target.id, gone(err))
	}
	// A success means Google holds the reply; its echo is only checked.
	var got reviewReply
	if err := json.Unmarshal(b, &got); err != nil || !sameText(got.Comment, req.Text) {
		c.log.Warn("Google accepted a reply but echoed something else", "review", target.id, "decode", err)
	}
	return target.name + "/reply", nil
}

// FindReply looks at the review for a reply from an earlier attempt: the
// review's reply has req's text and was last updated no earlier than
// req.FirstAttempt less the allowed clock skew. A review that no longer
// exists has no reply: not found, and the Reply that follows is refused.
func (c *Channel) FindReply(ctx context.Context, req channels.ReplyRequest) (string, bool, error) {
	target, err := c.target(req)
	if err != nil {
		return "", false, err
	}
	b, err := c.call(ctx, req.Account, http.MethodGet, target.url, nil)
	var se *webapi.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		c.log.Info("Google review is gone; no reply to find", "review", target.id)
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look for the reply to Google review %s: %w", target.id, err)
	}
	var r review
	if err := json.Unmarshal(b, &r); err != nil {
		return "", false, fmt.Errorf("look for the reply to Google review %s: %w: the answer is not a review: %v", target.id, webapi.ErrTransient, err)
	}
	if r.ReviewReply == nil || !sameText(r.ReviewReply.Comment, req.Text) {
		return "", false, nil
	}
	updated, err := parseTime(r.ReviewReply.UpdateTime)
	if err != nil {
		// Without a time the reply cannot be tied to this attempt; posting
		// again only replaces it with the same text.
		return "", false, nil
	}
	if !req.FirstAttempt.IsZero() && updated.Before(req.FirstAttempt.Add(-c.skew)) {
		return "", false, nil
	}
	return target.name + "/reply", true, nil
}

// replyTarget is the review a reply request answers.
type replyTarget struct {
	id   string // reviewId
	name string // accounts/{a}/locations/{l}/reviews/{id}
	url  string // the review's address in the API
}

func (c *Channel) target(req channels.ReplyRequest) (replyTarget, error) {
	loc, err := parseLocation(req.Account)
	if err != nil {
		return replyTarget{}, err
	}
	base, err := baseOf(req.Account)
	if err != nil {
		return replyTarget{}, err
	}
	id := req.InReplyTo
	if rest, ok := strings.CutPrefix(id, loc.name+"/reviews/"); ok {
		id = rest // a review's resource name
	}
	if !validReviewID(id) {
		return replyTarget{}, fmt.Errorf("%w: %q is not a Google review of %s", channels.ErrPermanent, req.InReplyTo, loc.name)
	}
	name := loc.name + "/reviews/" + id
	return replyTarget{id: id, name: name, url: base + "/" + loc.name + "/reviews/" + url.PathEscape(id)}, nil
}

// gone names a 404 for what it is.
func gone(err error) error {
	var se *webapi.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return fmt.Errorf("the review no longer exists (deleted by its author or removed by Google): %w", err)
	}
	return err
}

// sameText compares a reply as Google returns it with the one sent,
// ignoring line-ending style and surrounding space.
func sameText(a, b string) bool {
	norm := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
	return norm(a) == norm(b)
}
