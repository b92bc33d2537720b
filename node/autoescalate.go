package node

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/records"
)

// autoPending is the placeholder mark a message gets before its automatic
// escalation is raised: after a crash between the two, the escalation is
// looked for before it is raised again, so none is raised twice.
const autoPending = "auto:pending"

func autoTag(messageID int64) string { return fmt.Sprintf("[auto:%d]", messageID) }

// AutoEscalate applies the guideline pack's escalation rule
// (response_time.escalate): the messages it picks that have waited past
// its limit in opening hours, unanswered and not escalated, are escalated
// to its level. It returns how many it raised.
func (n *Node) AutoEscalate(ctx context.Context) (int, error) {
	if n.Net == nil || n.Desk == nil || n.Net.Self.Cert.Role != identity.RoleStore {
		return 0, nil
	}
	rt := n.Desk.Pack().ResponseTime
	rule := rt.Escalate
	if rule == nil {
		return 0, nil
	}
	raised := 0
	// First what a crash interrupted.
	pending, err := n.Store.EscalationMarksOf(ctx, autoPending)
	if err != nil {
		return 0, err
	}
	if len(pending) > 0 {
		views, err := n.Net.Book.Escalations(ctx)
		if err != nil {
			return 0, err
		}
		for _, p := range pending {
			found := false
			for _, v := range views {
				if v.RaisedBy == n.Net.Self.Cert.NodeID && v.Content != nil && strings.Contains(v.Content.Note, autoTag(p.MessageID)) {
					found = true
					if err := n.Store.ReplaceEscalationMark(ctx, "system", p.MessageID, autoPending, models.EscalationMark{
						EscalationID: v.ID, Level: v.Level, Severity: v.Severity, Category: v.Category}); err != nil {
						return raised, err
					}
					break
				}
			}
			if !found {
				m, err := n.Store.MessageByID(ctx, p.MessageID)
				if err != nil {
					return raised, err
				}
				c := models.EscalationCandidate{ID: m.ID, CreatedAt: m.CreatedAt, Crisis: m.Crisis, Priority: m.Priority,
					Text: m.Text, Author: m.AuthorName, Platform: m.Platform}
				if err := n.raiseAuto(ctx, c, rt.After()); err != nil {
					return raised, err
				}
				raised++
			}
		}
	}
	now := n.now()
	after := rt.After()
	// Open time never exceeds wall time: what has not waited `after` on
	// the wall clock cannot have in opening hours.
	cands, err := n.Store.Unescalated(ctx, now.Add(-after), rule.Crisis, rule.MinPriority, 100)
	if err != nil {
		return raised, err
	}
	for _, c := range cands {
		if n.Desk.OpenBetween(c.CreatedAt, now) < after {
			continue
		}
		if err := n.Store.MarkEscalated(ctx, "system", c.ID, models.EscalationMark{EscalationID: autoPending,
			Level: rule.Level, Severity: rule.Severity, Category: category(c)}); err != nil {
			return raised, err
		}
		if err := n.raiseAuto(ctx, c, after); err != nil {
			return raised, err
		}
		raised++
	}
	return raised, nil
}

func category(c models.EscalationCandidate) string {
	if c.Crisis != "" {
		return c.Crisis
	}
	return "response_time"
}

// raiseAuto raises the escalation of c and swaps its placeholder mark for
// the escalation's.
func (n *Node) raiseAuto(ctx context.Context, c models.EscalationCandidate, after time.Duration) error {
	rule := n.Desk.Pack().ResponseTime.Escalate
	waited := n.Desk.OpenBetween(c.CreatedAt, n.now())
	note := fmt.Sprintf("Unanswered for %s of opening hours, past the brand's limit of %s; raised by the guideline pack's rule (response_time.escalate). %s",
		humanize.Age(waited), humanize.Age(after), autoTag(c.ID))
	key, err := n.Net.Book.Escalate(ctx, records.EscalateInput{Severity: rule.Severity, Category: category(c), Note: note,
		Level: rule.Level, Excerpt: c.Text, Platform: c.Platform, Author: c.Author, PostedAt: c.CreatedAt})
	if err != nil {
		// Nothing was raised: the message is not marked, and the rule
		// tries again on its next run.
		if rerr := n.Store.RemoveEscalationMark(context.WithoutCancel(ctx), c.ID, autoPending); rerr != nil {
			n.log.Warn("remove a placeholder escalation mark", "message", c.ID, "err", rerr)
		}
		return fmt.Errorf("escalate message %d: %w", c.ID, err)
	}
	if err := n.Store.ReplaceEscalationMark(ctx, "system", c.ID, autoPending, models.EscalationMark{EscalationID: key,
		Level: rule.Level, Severity: rule.Severity, Category: category(c)}); err != nil {
		return fmt.Errorf("escalation %s raised, but not marked on message %d: %w", key, c.ID, err)
	}
	n.log.Info("escalated automatically", "message", c.ID, "escalation", key)
	return nil
}

// autoEscalateLoop applies the rule every minute.
func (n *Node) autoEscalateLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, err := n.AutoEscalate(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("automatic escalation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
