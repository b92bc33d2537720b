package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

// vars collects repeated --var k=v flags.
type vars map[string]string

func (v vars) String() string { return fmt.Sprint(map[string]string(v)) }

func (v vars) Set(s string) error {
	k, val, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q is not name=value", s)
	}
	v[strings.TrimSpace(k)] = val
	return nil
}

// replyOut is what the reply commands print with --json.
type replyOut struct {
	Reply    models.Reply    `json:"reply"`
	Findings []brand.Finding `json:"findings"`
	// Sent says whether this command sent it; false when it waits for
	// approval or another running Branchline sends it.
	Sent bool `json:"sent"`
}

func runReply(ctx context.Context, c *cmdCtx) error {
	text := c.fs.String("text", "", "the reply (- reads it from standard input)")
	tpl := c.fs.String("template", "", "template name (see branchline templates)")
	answers := vars{}
	c.fs.Var(answers, "var", "a template prompt's answer, name=value (repeatable)")
	as := c.fs.String("as", "", "staff handle of who replies")
	private := c.fs.Bool("private", false, "send as a direct message")
	override := c.fs.String("override", "", "manager only: reason to send despite blocking findings")
	forApproval := c.fs.Bool("for-approval", false, "send to a manager for approval first")
	id, err := c.idArg("message ID")
	if err != nil {
		return err
	}
	if (*text == "") == (*tpl == "") {
		return usagef("reply: give --text or --template")
	}
	body, err := c.readText(*text)
	if err != nil {
		return err
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	r, findings, err := n.Desk.Reply(ctx, desk.ReplyInput{MessageID: id, Staff: who, Text: body, Template: *tpl,
		Answers: answers, Private: *private, Override: *override, ForApproval: *forApproval})
	if err != nil {
		c.reportFindings(findings)
		return err
	}
	return c.afterReply(ctx, n, r, findings)
}

// afterReply sends a queued reply now when this process may, then prints
// the reply's state.
func (c *cmdCtx) afterReply(ctx context.Context, n *node.Node, r models.Reply, findings []brand.Finding) error {
	sent := false
	if r.State == models.ReplyQueued {
		ran, _, err := n.SendNow(ctx)
		if err != nil {
			return err
		}
		if r, err = n.Store.ReplyByID(ctx, r.ID); err != nil {
			return err
		}
		sent = ran && r.State == models.ReplySent
	}
	if c.json {
		if findings == nil {
			findings = []brand.Finding{}
		}
		return c.printJSON(replyOut{Reply: r, Findings: findings, Sent: sent})
	}
	c.reportFindings(findings)
	switch r.State {
	case models.ReplySent:
		c.printf("Reply %d sent (%s).\n", r.ID, r.RemoteID)
	case models.ReplyPendingApproval:
		c.printf("Reply %d is waiting for a manager's approval.\n", r.ID)
	case models.ReplyQueued:
		if r.LastError != "" {
			c.printf("Reply %d is queued; the last attempt failed (%s) and it will be retried.\n", r.ID, r.LastError)
		} else {
			c.printf("Reply %d is queued; the running Branchline sends it.\n", r.ID)
		}
	case models.ReplyFailed:
		return fmt.Errorf("reply %d failed: %s", r.ID, r.LastError)
	default:
		c.printf("Reply %d is %s.\n", r.ID, r.State)
	}
	return nil
}

func (c *cmdCtx) reportFindings(fs []brand.Finding) {
	if c.json {
		return
	}
	for _, f := range fs {
		fmt.Fprintf(c.env.Stderr, "%s %s [%d-%d]: %s Fix: %s\n", f.Severity, f.Rule, f.Start, f.End, f.Message, f.Fix)
	}
}

func runApprove(ctx context.Context, c *cmdCtx) error {
	return review(ctx, c, true)
}

func runReject(ctx context.Context, c *cmdCtx) error {
	return review(ctx, c, false)
}

func review(ctx context.Context, c *cmdCtx, approve bool) error {
	note := c.fs.String("note", "", "feedback for the author")
	as := c.fs.String("as", "", "manager's staff handle")
	var text, override *string
	if approve {
		text = c.fs.String("text", "", "edited text to send instead")
		override = c.fs.String("override", "", "reason to send despite blocking findings")
	} else {
		text, override = new(string), new(string)
	}
	id, err := c.idArg("reply ID")
	if err != nil {
		return err
	}
	if !approve && strings.TrimSpace(*note) == "" {
		return usagef("reject: --note is required: tell the author why")
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	r, findings, err := n.Desk.ReviewReply(ctx, desk.Review{ReplyID: id, Manager: who, Approve: approve, Note: *note, Text: *text, Override: *override})
	if err != nil {
		c.reportFindings(findings)
		return err
	}
	if !approve {
		if c.json {
			return c.printJSON(replyOut{Reply: r, Findings: []brand.Finding{}})
		}
		c.printf("Reply %d went back to its author with your note.\n", r.ID)
		return nil
	}
	return c.afterReply(ctx, n, r, findings)
}

func runResubmit(ctx context.Context, c *cmdCtx) error {
	text := c.fs.String("text", "", "the edited reply")
	as := c.fs.String("as", "", "staff handle")
	id, err := c.idArg("reply ID")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*text) == "" {
		return usagef("resubmit: --text is required")
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	r, findings, err := n.Desk.Resubmit(ctx, id, who, *text)
	if err != nil {
		c.reportFindings(findings)
		return err
	}
	return c.afterReply(ctx, n, r, findings)
}

func runLint(ctx context.Context, c *cmdCtx) error {
	text := c.fs.String("text", "", "the draft (- reads it from standard input)")
	platform := c.fs.String("platform", "", "platform, for its length limit: facebook, instagram, google, mastodon …")
	private := c.fs.Bool("private", false, "the draft goes out as a direct message")
	as := c.fs.String("as", "", "staff handle, for the sign-off suggestion")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	if *text == "" {
		return usagef("lint: --text is required")
	}
	draft, err := c.readText(*text)
	if err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	st := models.Staff{}
	if who, err := c.staff(ctx, n, *as); err == nil {
		st, _ = n.Desk.Staff(ctx, who)
	}
	lc := n.Desk.LintContext(ctx, nil, st, *private)
	lc.Platform = *platform
	findings := n.Desk.Lint(draft, lc)
	if findings == nil {
		findings = []brand.Finding{}
	}
	if c.json {
		if err := c.printJSON(map[string]any{"findings": findings}); err != nil {
			return err
		}
	} else if len(findings) == 0 {
		c.printf("No findings.\n")
	} else {
		for _, f := range findings {
			c.printf("%-5s %-24s %4d-%-4d %s\n      fix: %s\n", f.Severity, f.Rule, f.Start, f.End, f.Message, f.Fix)
		}
	}
	if brand.AnyBlocks(findings) {
		return exitError{code: ExitBlocked, err: errors.New("the draft has blocking findings")}
	}
	return nil
}

func runTemplates(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	ts, err := n.Desk.Templates(ctx)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(ts)
	}
	for _, t := range ts {
		prompts := []string{}
		for _, p := range t.Prompts {
			prompts = append(prompts, "--var "+p.Name+"=…")
		}
		c.printf("%-24s %-20s %s %s\n", t.Name, t.Category, t.Title, strings.Join(prompts, " "))
	}
	return nil
}

func runOutbox(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	rs, err := n.Store.Replies(ctx, models.RepliesQuery{States: []string{models.ReplyDraft, models.ReplyPendingApproval,
		models.ReplyQueued, models.ReplySending, models.ReplyFailed}, Limit: 500})
	if err != nil {
		return err
	}
	if c.json {
		if rs == nil {
			rs = []models.Reply{}
		}
		return c.printJSON(rs)
	}
	if len(rs) == 0 {
		c.printf("Every reply has been sent.\n")
	}
	for _, r := range rs {
		extra := ""
		if r.LastError != "" {
			extra = " (" + r.LastError + ")"
		}
		if r.ReviewNote != "" && r.State == models.ReplyDraft {
			extra = " (manager: " + r.ReviewNote + ")"
		}
		c.printf("%6d  message %-6d %-17s %s%s\n", r.ID, r.MessageID, r.State, humanize.Snippet(r.Text, 60), extra)
	}
	return nil
}

func runSend(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	ran, rep, err := n.SendNow(ctx)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"ran": ran, "sent": rep.Sent, "found": rep.Found, "retried": rep.Retried, "failed": rep.Failed})
	}
	if !ran {
		c.printf("Another Branchline process is sending replies for this data folder.\n")
		return nil
	}
	c.printf("Sent %d, found already sent %d, to retry %d, failed %d.\n", rep.Sent, rep.Found, rep.Retried, rep.Failed)
	return nil
}

func runRetry(ctx context.Context, c *cmdCtx) error {
	as := c.fs.String("as", "", "staff handle")
	id, err := c.idArg("reply ID")
	if err != nil {
		return err
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	if err := n.Desk.RetryReply(ctx, id, who); err != nil {
		return err
	}
	r, err := n.Store.ReplyByID(ctx, id)
	if err != nil {
		return err
	}
	return c.afterReply(ctx, n, r, nil)
}
