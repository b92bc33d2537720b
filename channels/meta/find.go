package meta

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// Bounds of what FindReply reads. When it reaches one before it has gone
// back to the first attempt, it says it cannot tell (a transient error)
// rather than "not found", which would lead to a second post.
const (
	maxFindPages        = 10 // × 50 replies to a Facebook comment, newest first
	maxFindReplyPages   = 20 // × 50 replies to an Instagram comment (order not documented: all are read)
	maxFindConvPages    = 8  // × 25 conversations updated since the first attempt
	maxFindMessagePages = 10 // × 20 messages of one conversation, newest first
	// findConversationFieldsFmt asks for a conversation's participants as
	// well: they tie it to one person.
	findConversationFieldsFmt = "id,updated_time,participants,messages.limit(%d){" + messageFields + "}"
)

// cannotTell ends the error of a FindReply that could not read far
// enough, or tell conversations apart well enough, to know.
const cannotTell = "so Branchline cannot tell whether the reply was sent"

// convSearch is where FindReply looks for a message the account sent:
// the conversations of a Page (platform "messenger") or of an Instagram
// account (platform "instagram").
type convSearch struct {
	s        *session
	path     string // GET path of the conversations edge
	platform string
	// ours says whether a message's author or a participant is the
	// account itself.
	ours func(*fbUser) bool
}

func (cs convSearch) query() url.Values {
	return url.Values{
		"platform": {cs.platform},
		"fields":   {fmt.Sprintf(findConversationFieldsFmt, conversationMessages)},
	}
}

// findSent looks for the account's message with req.Text, sent no earlier
// than from, in the conversation with req's recipient, and only there:
// identical texts (templates) go to many customers, and a message to
// another person must never pass for this one. When the recipient's
// conversation cannot be told apart from others, it returns an error
// wrapping webapi.ErrTransient.
func (cs convSearch) findSent(ctx context.Context, req channels.ReplyRequest, from time.Time) (string, bool, error) {
	convs, err := cs.recipientConversations(ctx, req, from)
	if err != nil {
		return "", false, err
	}
	for _, cv := range convs {
		id, found, err := cs.findInConversation(ctx, cv, req.Text, from)
		if err != nil || found {
			return id, found, err
		}
	}
	return "", false, nil
}

// recipientConversations finds the conversation with req's recipient:
//
//  1. GET {path}?user_id={Recipient}, which selects one person's
//     conversation when Recipient is their page-scoped (or
//     Instagram-scoped) ID; only conversations whose participants include
//     that ID are kept, so an answer that ignored the filter is harmless.
//  2. Otherwise (a comment's author ID need not be the ID Messenger
//     uses, and Meta refuses it with error 100), the conversations
//     updated since from, most recent first: the one with a participant
//     of ID Recipient, else the only one with a participant named
//     RecipientName (name on Facebook, username on Instagram).
//
// It returns no conversation when every conversation updated since from
// was read and none is with that person: nothing was sent to them since.
func (cs convSearch) recipientConversations(ctx context.Context, req channels.ReplyRequest, from time.Time) ([]fbConversation, error) {
	name := who(req)
	if req.Recipient == "" && strings.TrimSpace(req.RecipientName) == "" {
		return nil, fmt.Errorf("%w: look for the reply to %s: neither the recipient's ID nor their name is known, %s",
			webapi.ErrTransient, req.InReplyTo, cannotTell)
	}
	if req.Recipient != "" {
		convs, err := cs.byUserID(ctx, req.Recipient)
		if err != nil || len(convs) > 0 {
			return convs, err
		}
	}
	var byID, byName []fbConversation
	unknown := 0
	q := cs.query()
	q.Set("limit", "25")
	truncated, err := listChecked(ctx, cs.s, cs.path, q, maxFindConvPages, func(convs []fbConversation) (bool, error) {
		for _, cv := range convs {
			u, err := parseTime(cv.UpdatedTime)
			if err != nil || cv.ID == "" {
				return true, fmt.Errorf("%w: conversation %q has no usable id or updated_time (%q), %s", webapi.ErrTransient, cv.ID, cv.UpdatedTime, cannotTell)
			}
			if u.Before(from) {
				return true, nil // most recently updated first: the rest is older
			}
			switch cs.peer(cv, req) {
			case peerByID:
				byID = append(byID, cv)
				return true, nil
			case peerByName:
				byName = append(byName, cv)
			case peerUnknown:
				unknown++
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("look for the conversation with %s among recent conversations: %w", name, err)
	}
	switch {
	case len(byID) > 0:
		return byID, nil
	case truncated:
		return nil, fmt.Errorf("%w: more than %d conversations were updated since the first attempt and the one with %s is not among the newest, %s",
			webapi.ErrTransient, 25*maxFindConvPages, name, cannotTell)
	case strings.TrimSpace(req.RecipientName) == "":
		return nil, fmt.Errorf("%w: no conversation updated since the first attempt has a participant of ID %s, and without their name the conversation with them cannot be recognized, %s",
			webapi.ErrTransient, req.Recipient, cannotTell)
	case len(byName) > 1:
		return nil, fmt.Errorf("%w: %d conversations updated since the first attempt are with someone named %q: more than one person could be the recipient, %s",
			webapi.ErrTransient, len(byName), req.RecipientName, cannotTell)
	case unknown > 0:
		return nil, fmt.Errorf("%w: %d conversations updated since the first attempt do not show their participants' IDs and names and one may be with %s, %s",
			webapi.ErrTransient, unknown, name, cannotTell)
	default:
		return byName, nil // one, or none: no conversation with them was updated since
	}
}

// byUserID asks for the conversation with a page-scoped or
// Instagram-scoped user ID, and keeps only conversations that show the
// person among their participants. Error 100 (the ID is not one Meta
// takes here) gives no conversation.
func (cs convSearch) byUserID(ctx context.Context, id string) ([]fbConversation, error) {
	q := cs.query()
	q.Set("user_id", id)
	var out []fbConversation
	_, err := list(ctx, cs.s, cs.path, q, 1, func(convs []fbConversation) bool {
		for _, cv := range convs {
			if cv.ID != "" && cv.hasParticipant(id, cs.ours) {
				out = append(out, cv)
			}
		}
		return true
	})
	var ge *GraphError
	if errors.As(err, &ge) && ge.Code == 100 {
		cs.s.g.log.Debug("meta: Meta does not take this ID as user_id; looking through recent conversations", "account", cs.s.acc.Key(), "user", id, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up the conversation with %s: %w", id, err)
	}
	return out, nil
}

// How a conversation relates to the recipient.
const (
	peerNone    = iota // someone else
	peerByID           // a participant has the recipient's ID
	peerByName         // a participant has the recipient's name
	peerUnknown        // the participants are not shown well enough to tell
)

func (cs convSearch) peer(cv fbConversation, req channels.ReplyRequest) int {
	if req.Recipient != "" && cv.hasParticipant(req.Recipient, cs.ours) {
		return peerByID
	}
	if cv.Participants == nil {
		return peerUnknown
	}
	others, nameless := 0, false
	for _, p := range cv.Participants.Data {
		if cs.ours(&p) {
			continue
		}
		others++
		if p.Name == "" && p.Username == "" {
			nameless = true
			continue
		}
		if sameName(p.Name, req.RecipientName) || sameName(p.Username, req.RecipientName) {
			return peerByName
		}
	}
	if others == 0 || nameless {
		return peerUnknown
	}
	return peerNone
}

// hasParticipant says whether a person (not the account) of that ID takes
// part in the conversation.
func (cv fbConversation) hasParticipant(id string, ours func(*fbUser) bool) bool {
	if cv.Participants == nil || id == "" {
		return false
	}
	for _, p := range cv.Participants.Data {
		if p.ID == id && !ours(&p) {
			return true
		}
	}
	return false
}

// sameName compares a participant's name or username with the name the
// comment showed.
func sameName(a, b string) bool {
	norm := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "@") }
	return norm(a) != "" && strings.EqualFold(norm(a), norm(b))
}

// findInConversation reads a conversation's messages, newest first, back
// to from, and looks for the account's message with the text. The
// messages the conversation came with are the first page; older ones are
// read by its paging link, at most maxFindMessagePages pages in all.
func (cs convSearch) findInConversation(ctx context.Context, cv fbConversation, text string, from time.Time) (string, bool, error) {
	var found string
	var bad error
	visit := func(ms []fbMessage) bool {
		for _, m := range ms {
			t, err := parseTime(m.CreatedTime)
			if err != nil || m.ID == "" {
				bad = fmt.Errorf("%w: message %q in conversation %s has no usable id or created_time (%q), %s", webapi.ErrTransient, m.ID, cv.ID, m.CreatedTime, cannotTell)
				return true
			}
			if t.Before(from) {
				return true // newest first: the rest is older
			}
			if cs.ours(m.From) && sameText(m.Message, text) {
				found = m.ID
				return true
			}
		}
		return false
	}
	var next string
	pages := maxFindMessagePages
	if cv.Messages != nil {
		if visit(cv.Messages.Data) || cv.Messages.Paging.Next == "" {
			return found, found != "", bad
		}
		link, err := cs.s.followable(cv.Messages.Paging.Next)
		if err != nil {
			return "", false, fmt.Errorf("older messages of conversation %s: %w", cv.ID, err)
		}
		next, pages = link, pages-1
	} else {
		next = cs.s.url("/"+cv.ID+"/messages", url.Values{"fields": {messageFields}, "limit": {fmt.Sprint(conversationMessages)}})
	}
	truncated, err := listFrom(ctx, cs.s, next, pages, visit)
	if found != "" {
		return found, true, nil
	}
	if err == nil {
		err = bad
	}
	var ge *GraphError
	if errors.As(err, &ge) && errors.Is(err, channels.ErrPermanent) {
		// Meta lets only the newest messages of some conversations be
		// read; a refusal here says nothing of the reply, and must not
		// give up on it for good.
		err = fmt.Errorf("%w: Meta refused older messages (%v), %s", webapi.ErrTransient, err, cannotTell)
	}
	if err != nil {
		return "", false, fmt.Errorf("look for the reply in conversation %s: %w", cv.ID, err)
	}
	if truncated {
		return "", false, fmt.Errorf("%w: conversation %s has more than %d messages since the first attempt, %s",
			webapi.ErrTransient, cv.ID, maxFindMessagePages*conversationMessages, cannotTell)
	}
	return "", false, nil
}
