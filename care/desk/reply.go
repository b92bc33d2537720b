package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
	"github.com/google/uuid"
)

// LintContext is the brand-check context for a reply to m by st.
func (d *Desk) LintContext(ctx context.Context, m *models.MessageRow, st models.Staff, private bool) brand.Context {
	loc := d.Location()
	vars := d.Vars(ctx, m, st)
	c := brand.Context{Public: !private, LocationPhone: loc.Phone, LocationAddress: loc.Address, Vars: vars}
	if m != nil {
		c.Platform = m.Platform
		if m.Kind == "dm" {
			c.Public = false
		}
	}
	_, _, pack := d.tools()
	if pack.SignOff.Suggestion != "" {
		so, err := (templates.Template{Name: "sign-off", Body: pack.SignOff.Suggestion}).Render(vars, nil)
		if err == nil {
			c.SignOff = so
		}
	}
	return c
}

// Lint checks a draft against the brand's guidelines.
func (d *Desk) Lint(text string, c brand.Context) []brand.Finding {
	_, checker, _ := d.tools()
	return checker.Check(text, c)
}

// Templates lists the stored templates.
func (d *Desk) Templates(ctx context.Context) ([]templates.Template, error) {
	rows, err := d.store.Templates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]templates.Template, 0, len(rows))
	for _, r := range rows {
		t, err := templateFrom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Template finds a template by name.
func (d *Desk) Template(ctx context.Context, name string) (templates.Template, error) {
	row, err := d.store.TemplateByName(ctx, name)
	if errors.Is(err, models.ErrNotFound) {
		return templates.Template{}, fmt.Errorf("%w: no template called %q (see `branchline templates`)", ErrInvalid, name)
	}
	if err != nil {
		return templates.Template{}, err
	}
	return templateFrom(row)
}

// SaveTemplates validates and stores templates.
func (d *Desk) SaveTemplates(ctx context.Context, actor, source string, ts []templates.Template) error {
	for _, t := range ts {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	if source != LevelStore {
		// The store's own versions stay.
		kept, err := d.keepOverrides(ctx, ts)
		if err != nil {
			return err
		}
		ts = kept
	}
	return saveTemplates(ctx, d.store, actor, source, ts)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilPrompts(p []templates.Prompt) []templates.Prompt {
	if p == nil {
		return []templates.Prompt{}
	}
	return p
}

// Render fills a template for a reply to message m by st, and checks the
// result.
func (d *Desk) Render(ctx context.Context, name string, m *models.MessageRow, st models.Staff, answers map[string]string) (string, []brand.Finding, error) {
	t, err := d.Template(ctx, name)
	if err != nil {
		return "", nil, err
	}
	text, err := t.Render(d.Vars(ctx, m, st), answers)
	if err != nil {
		return "", nil, err
	}
	return text, d.Lint(text, d.LintContext(ctx, m, st, t.Private)), nil
}

// ReplyInput asks for a reply to an inbound message.
type ReplyInput struct {
	MessageID int64
	Staff     string // handle of who writes it
	Text      string // the reply, or "" to use Template
	Template  string
	Answers   map[string]string // template prompts
	Private   bool              // send as a direct message
	// Override is a manager's reason for sending despite blocking
	// findings.
	Override string
	// ForApproval sends a crew member's reply to a manager instead of out.
	ForApproval bool
}

// Reply creates a reply. A trainee's reply (or one sent for approval) waits
// for a manager; anyone else's goes to the outbox, unless it has blocking
// findings, which only a manager may override, with a reason.
func (d *Desk) Reply(ctx context.Context, in ReplyInput) (models.Reply, []brand.Finding, error) {
	st, err := d.Staff(ctx, in.Staff)
	if err != nil {
		return models.Reply{}, nil, err
	}
	m, err := d.store.MessageByID(ctx, in.MessageID)
	if err != nil {
		return models.Reply{}, nil, err
	}
	if m.Direction != "in" {
		return models.Reply{}, nil, fmt.Errorf("%w: message %d is one of ours, not a customer's", ErrInvalid, m.ID)
	}
	text := strings.TrimSpace(in.Text)
	if in.Template != "" {
		if text != "" {
			return models.Reply{}, nil, fmt.Errorf("%w: give a text or a template, not both", ErrInvalid)
		}
		t, err := d.Template(ctx, in.Template)
		if err != nil {
			return models.Reply{}, nil, err
		}
		if !t.Matches(m.Platform, m.Kind) {
			return models.Reply{}, nil, fmt.Errorf("%w: template %q is not for %s %ss", ErrInvalid, t.Name, m.Platform, m.Kind)
		}
		if text, err = t.Render(d.Vars(ctx, &m, st), in.Answers); err != nil {
			return models.Reply{}, nil, err
		}
		if t.Private {
			in.Private = true
		}
	}
	if text == "" {
		return models.Reply{}, nil, fmt.Errorf("%w: the reply is empty", ErrInvalid)
	}
	findings := d.Lint(text, d.LintContext(ctx, &m, st, in.Private))
	blocks := brand.AnyBlocks(findings)

	state, action := models.ReplyQueued, "reply.queue"
	detail := map[string]any{"template": in.Template}
	switch {
	case st.Role == models.RoleTrainee || in.ForApproval:
		// Blocking findings go to the manager, who must override them.
		state, action = models.ReplyPendingApproval, "reply.submit"
		if in.Override != "" {
			return models.Reply{}, findings, fmt.Errorf("%w: only a manager can override the brand checks", ErrNotPermitted)
		}
	case blocks && st.Role != models.RoleManager:
		return models.Reply{}, findings, &BlockedError{Findings: findings,
			Hint: "fix the text, or submit it for a manager's approval"}
	case blocks && strings.TrimSpace(in.Override) == "":
		return models.Reply{}, findings, &BlockedError{Findings: findings,
			Hint: "fix the text, or give an override reason"}
	case blocks:
		action = "reply.override"
		detail["override"] = in.Override
	default:
		in.Override = "" // nothing to override
	}
	r := models.Reply{
		MessageID: m.ID, ConversationID: m.ConversationID, AccountID: m.AccountID, AuthorID: st.ID,
		Text: text, Template: in.Template, Private: in.Private || m.Kind == "dm", State: state,
		IdempotencyKey: uuid.NewString(), Findings: mustJSON(findingsOrEmpty(findings)), OverrideReason: in.Override,
	}
	r, err = d.store.CreateReply(ctx, models.NewReply{Reply: r, Actor: st.Handle, AuditAction: action, AuditDetail: detail})
	return r, findings, err
}

func findingsOrEmpty(fs []brand.Finding) []brand.Finding {
	if fs == nil {
		return []brand.Finding{}
	}
	return fs
}

// Review is a manager's decision on a reply waiting for approval.
type Review struct {
	ReplyID  int64
	Manager  string
	Approve  bool
	Note     string
	Text     string // edited text to send instead, if any
	Override string
}

// ReviewReply approves (optionally edited) or rejects a reply pending
// approval. Only a manager may; a rejection needs a note for the trainee;
// an approval of text with blocking findings needs an override reason.
func (d *Desk) ReviewReply(ctx context.Context, rv Review) (models.Reply, []brand.Finding, error) {
	mgr, err := d.Staff(ctx, rv.Manager)
	if err != nil {
		return models.Reply{}, nil, err
	}
	if mgr.Role != models.RoleManager {
		return models.Reply{}, nil, fmt.Errorf("%w: %s is %s; only a manager can approve or reject replies", ErrNotPermitted, mgr.Handle, mgr.Role)
	}
	r, err := d.store.ReplyByID(ctx, rv.ReplyID)
	if err != nil {
		return models.Reply{}, nil, err
	}
	if r.State != models.ReplyPendingApproval {
		return r, nil, fmt.Errorf("%w: reply %d is %s, not waiting for approval", ErrInvalid, r.ID, r.State)
	}
	if !rv.Approve {
		if strings.TrimSpace(rv.Note) == "" {
			return r, nil, fmt.Errorf("%w: say why, so the author can learn from it (--note)", ErrInvalid)
		}
		r, err = d.store.Review(ctx, models.ReviewReply{ReplyID: r.ID, Approve: false, ManagerID: mgr.ID, Actor: mgr.Handle, Note: rv.Note})
		return r, nil, err
	}
	text := r.Text
	if t := strings.TrimSpace(rv.Text); t != "" {
		text = t
	}
	m, err := d.store.MessageByID(ctx, r.MessageID)
	if err != nil {
		return r, nil, err
	}
	author, err := d.store.StaffByID(ctx, r.AuthorID)
	if err != nil {
		return r, nil, err
	}
	findings := d.Lint(text, d.LintContext(ctx, &m, author, r.Private))
	override := ""
	if brand.AnyBlocks(findings) {
		if strings.TrimSpace(rv.Override) == "" {
			return r, findings, &BlockedError{Findings: findings, Hint: "edit the text, reject it, or give an override reason"}
		}
		override = rv.Override
	}
	out, err := d.store.Review(ctx, models.ReviewReply{ReplyID: r.ID, Approve: true, ManagerID: mgr.ID, Actor: mgr.Handle,
		Note: rv.Note, Text: text, Findings: mustJSON(findingsOrEmpty(findings)), Override: override})
	return out, findings, err
}

// Resubmit lets the author of a rejected reply edit it and send it on:
// back to the manager for a trainee, to the outbox for others.
func (d *Desk) Resubmit(ctx context.Context, replyID int64, staff, text string) (models.Reply, []brand.Finding, error) {
	st, err := d.Staff(ctx, staff)
	if err != nil {
		return models.Reply{}, nil, err
	}
	r, err := d.store.ReplyByID(ctx, replyID)
	if err != nil {
		return r, nil, err
	}
	if r.AuthorID != st.ID && st.Role != models.RoleManager {
		return r, nil, fmt.Errorf("%w: only the author or a manager can edit reply %d", ErrNotPermitted, r.ID)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return r, nil, fmt.Errorf("%w: the reply is empty", ErrInvalid)
	}
	m, err := d.store.MessageByID(ctx, r.MessageID)
	if err != nil {
		return r, nil, err
	}
	findings := d.Lint(text, d.LintContext(ctx, &m, st, r.Private))
	state := models.ReplyPendingApproval
	if st.Role != models.RoleTrainee {
		if brand.AnyBlocks(findings) {
			return r, findings, &BlockedError{Findings: findings, Hint: "fix the text first"}
		}
		state = models.ReplyQueued
	}
	out, err := d.store.ResubmitDraft(ctx, r.ID, st.Handle, text, mustJSON(findingsOrEmpty(findings)), state)
	return out, findings, err
}

// Dismiss marks a message as needing no response.
func (d *Desk) Dismiss(ctx context.Context, messageID int64, staff string) error {
	st, err := d.Staff(ctx, staff)
	if err != nil {
		return err
	}
	if st.Role == models.RoleTrainee {
		return fmt.Errorf("%w: a trainee cannot dismiss messages", ErrNotPermitted)
	}
	return d.store.SetMessageStatus(ctx, st.Handle, messageID, models.StatusDismissed)
}

// RetryReply queues a failed reply again.
func (d *Desk) RetryReply(ctx context.Context, replyID int64, staff string) error {
	st, err := d.Staff(ctx, staff)
	if err != nil {
		return err
	}
	if st.Role == models.RoleTrainee {
		return fmt.Errorf("%w: a trainee cannot resend replies", ErrNotPermitted)
	}
	return d.store.RetryFailed(ctx, st.Handle, replyID)
}
