package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/outbox"
	"github.com/branchline/branchline/models"
)

// composer writes a reply: template picker, live brand checks with the
// span highlighted and one-click fixes, the platform's length counter,
// "take it private", and send (or submit for approval) with the reply's
// state visible afterwards.
type composer struct {
	ui   *ui
	item desk.Item
	row  models.MessageRow
	has  bool

	entry     *widget.Entry
	preview   *widget.RichText // the draft with findings' spans marked
	findings  *fyne.Container
	counter   *widget.Label
	mode      *widget.Label // public or private
	state     *widget.Label
	retry     *widget.Button
	send      *widget.Button
	pick      *widget.Button
	private   *widget.Button
	isPrivate bool

	lintCtx brand.Context
	current []brand.Finding
	replyID int64 // the reply this composer last created
}

func newComposer(u *ui) *composer {
	c := &composer{ui: u,
		preview:  widget.NewRichText(),
		findings: container.NewVBox(),
		counter:  widget.NewLabel(""),
		mode:     widget.NewLabel(""),
		state:    widget.NewLabel(""),
	}
	c.preview.Wrapping = fyne.TextWrapWord
	c.entry = widget.NewMultiLineEntry()
	c.entry.Wrapping = fyne.TextWrapWord
	c.entry.SetMinRowsVisible(4)
	c.entry.SetPlaceHolder("Write a reply, or pick a template (Ctrl+T)")
	c.entry.OnChanged = func(string) { c.check() }
	c.counter.Alignment = fyne.TextAlignTrailing
	c.counter.SizeName = theme.SizeNameCaptionText
	c.state.Wrapping = fyne.TextWrapWord
	c.retry = widget.NewButtonWithIcon("Retry", theme.ViewRefreshIcon(), c.retryReply)
	c.retry.Hide()
	c.send = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), c.submit)
	c.send.Importance = widget.HighImportance
	c.pick = widget.NewButtonWithIcon("Template…", theme.DocumentIcon(), func() { c.pickTemplate(false) })
	c.private = widget.NewButtonWithIcon("Take it private…", theme.VisibilityOffIcon(), func() { c.pickTemplate(true) })
	c.updateSendLabel()
	c.enable(false)
	return c
}

func (c *composer) content() fyne.CanvasObject {
	bar := container.NewBorder(nil, nil, container.NewHBox(c.pick, c.private, c.mode), container.NewHBox(c.counter, c.send))
	checks := container.NewVBox(widget.NewLabelWithStyle("Brand checks", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		c.findings, widget.NewLabelWithStyle("Preview", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), c.preview)
	status := container.NewBorder(nil, nil, nil, c.retry, c.state)
	return container.NewBorder(container.NewVBox(bar, status), nil, nil, nil,
		container.NewVSplit(c.entry, container.NewVScroll(checks)))
}

func (c *composer) enable(on bool) {
	for _, w := range []fyne.Disableable{c.pick, c.private, c.send, c.entry} {
		if on {
			w.Enable()
		} else {
			w.Disable()
		}
	}
}

// updateSendLabel names the send button after what it will do for whoever
// is signed in.
func (c *composer) updateSendLabel() {
	if c.ui.staff.Role == models.RoleTrainee {
		c.send.SetText("Submit for approval")
	} else {
		c.send.SetText("Send")
	}
}

// setMessage starts a reply to another message.
func (c *composer) setMessage(it desk.Item, row models.MessageRow) {
	c.item, c.row, c.has = it, row, true
	c.isPrivate = row.Kind == "dm"
	c.entry.SetText("")
	c.enable(true)
	c.retry.Hide()
	c.replyID = 0
	c.showReplyState()
	c.refreshContext()
}

// refreshContext rebuilds the brand-check context (public or private, who
// signs) and checks the draft again.
func (c *composer) refreshContext() {
	c.lintCtx = c.ui.node.Desk.LintContext(context.Background(), &c.row, c.ui.staff, c.isPrivate)
	if c.isPrivate || c.row.Kind == "dm" {
		c.mode.SetText("Private reply")
	} else {
		c.mode.SetText("Public reply")
	}
	c.check()
}

// showReplyState says where the message's latest reply is.
func (c *composer) showReplyState() {
	if c.item.ReplyID == nil {
		c.state.SetText("")
		return
	}
	r, err := c.ui.node.Store.ReplyByID(context.Background(), *c.item.ReplyID)
	if err != nil {
		c.state.SetText("")
		return
	}
	c.replyID = r.ID
	c.setState(r.State, r.LastError, r.ReviewNote)
}

func (c *composer) setState(state, lastErr, note string) {
	var text string
	c.state.Importance = widget.MediumImportance
	c.retry.Hide()
	switch state {
	case models.ReplyPendingApproval:
		text = "Your reply is waiting for a manager's approval."
	case models.ReplyQueued:
		text = "Reply queued: it goes out in a moment."
	case models.ReplySending:
		text = "Sending…"
	case models.ReplySent:
		text, c.state.Importance = "Reply sent.", widget.SuccessImportance
	case models.ReplyFailed:
		text, c.state.Importance = "Sending failed: "+lastErr, widget.DangerImportance
		c.retry.Show()
	case models.ReplyDraft:
		if note != "" {
			text, c.state.Importance = "Returned by a manager: "+note, widget.WarningImportance
		}
	default:
		text = "Reply " + strings.ReplaceAll(state, "_", " ")
	}
	if note != "" && state != models.ReplyDraft {
		text += " Manager's note: " + note
	}
	c.state.SetText(text)
}

// onReplyState follows the outbox's progress with the reply written here.
func (c *composer) onReplyState(e outbox.Event) {
	if e.ReplyID != 0 && e.ReplyID == c.replyID {
		c.setState(e.State, e.Err, "")
	}
}

// check runs the brand checks on the draft (on every keystroke).
func (c *composer) check() {
	text := c.entry.Text
	if !c.has {
		return
	}
	c.current = nil
	if strings.TrimSpace(text) != "" {
		c.current = c.ui.node.Desk.Lint(text, c.lintCtx)
	}
	c.renderFindings()
	c.renderPreview(text)
	n := utf8.RuneCountInString(text)
	if limit := c.ui.node.Desk.Pack().PlatformLimits[c.row.Platform]; limit > 0 {
		c.counter.SetText(fmt.Sprintf("%d / %d", n, limit))
		if n > limit {
			c.counter.Importance = widget.DangerImportance
		} else {
			c.counter.Importance = widget.LowImportance
		}
		c.counter.Refresh()
	} else {
		c.counter.SetText(fmt.Sprintf("%d characters", n))
	}
}

func (c *composer) renderFindings() {
	c.findings.RemoveAll()
	if len(c.current) == 0 {
		if strings.TrimSpace(c.entry.Text) != "" {
			ok := widget.NewLabel("No findings: this reply follows the brand's guidelines.")
			ok.Importance = widget.SuccessImportance
			c.findings.Add(ok)
		}
		return
	}
	for _, f := range c.current {
		c.findings.Add(c.findingRow(f))
	}
}

func (c *composer) findingRow(f brand.Finding) fyne.CanvasObject {
	icon := widget.NewIcon(theme.WarningIcon())
	if f.Blocks() {
		icon = widget.NewIcon(theme.ErrorIcon())
	}
	runes := []rune(c.entry.Text)
	span := ""
	if f.Start >= 0 && f.End <= len(runes) && f.Start < f.End {
		span = fmt.Sprintf(" “%s”", string(runes[f.Start:f.End]))
	}
	text := fmt.Sprintf("%s%s: %s", strings.ToUpper(f.Severity[:1])+f.Severity[1:], span, f.Message)
	if f.Fix != "" {
		text += " " + f.Fix
	}
	text += fmt.Sprintf(" (rule: %s)", f.Rule)
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	if f.Blocks() {
		l.Importance = widget.DangerImportance
	} else {
		l.Importance = widget.WarningImportance
	}
	var right fyne.CanvasObject
	if f.Replacement != nil {
		finding := f
		right = widget.NewButton("Fix", func() { c.applyFix(finding) })
	} else if strings.HasPrefix(f.Rule, "personal-data") && !c.isPrivate {
		right = widget.NewButton("Take it private", func() { c.pickTemplate(true) })
	}
	return container.NewBorder(nil, nil, icon, right, l)
}

// applyFix applies a finding's one-click fix.
func (c *composer) applyFix(f brand.Finding) {
	if text, ok := brand.Apply(c.entry.Text, f); ok {
		c.entry.SetText(text)
	}
}

// renderPreview shows the draft with each finding's span coloured: red
// for blocking, amber for warnings.
func (c *composer) renderPreview(text string) {
	runes := []rune(text)
	marks := make([]int, len(runes)) // 0 none, 1 warn, 2 block
	for _, f := range c.current {
		lvl := 1
		if f.Blocks() {
			lvl = 2
		}
		for i := max(0, f.Start); i < min(f.End, len(runes)); i++ {
			marks[i] = max(marks[i], lvl)
		}
	}
	var segs []widget.RichTextSegment
	start := 0
	for i := 1; i <= len(runes); i++ {
		if i < len(runes) && marks[i] == marks[start] {
			continue
		}
		style := widget.RichTextStyleInline
		switch marks[start] {
		case 1:
			style.ColorName, style.TextStyle = theme.ColorNameWarning, fyne.TextStyle{Bold: true, Underline: true}
		case 2:
			style.ColorName, style.TextStyle = theme.ColorNameError, fyne.TextStyle{Bold: true, Underline: true}
		}
		segs = append(segs, &widget.TextSegment{Text: string(runes[start:i]), Style: style})
		start = i
	}
	c.preview.Segments = segs
	c.preview.Refresh()
}

// blocking reports whether the draft has a blocking finding.
func (c *composer) blocking() bool { return brand.AnyBlocks(c.current) }

// submit sends the reply, or submits it for approval.
func (c *composer) submit() {
	if !c.has || !c.ui.requireStaff() {
		return
	}
	c.reply(desk.ReplyInput{})
}

func (c *composer) reply(extra desk.ReplyInput) {
	in := desk.ReplyInput{MessageID: c.item.ID, Staff: c.ui.staff.Handle, Text: c.entry.Text, Private: c.isPrivate,
		Override: extra.Override, ForApproval: extra.ForApproval}
	r, _, err := c.ui.node.Desk.Reply(context.Background(), in)
	var blocked *desk.BlockedError
	switch {
	case errors.As(err, &blocked) && c.ui.staff.Role == models.RoleManager:
		c.askOverride()
		return
	case errors.As(err, &blocked):
		c.ui.confirm("Blocked by the brand guidelines",
			"This reply breaks a rule that blocks sending. Fix it, or send it to a manager for approval.\n\nSubmit it for approval?",
			func() { c.reply(desk.ReplyInput{ForApproval: true}) })
		return
	case err != nil:
		c.ui.showError("send the reply", err)
		return
	}
	c.replyID = r.ID
	c.setState(r.State, "", "")
	c.entry.SetText("")
	c.ui.node.WakeOutbox()
	c.ui.inbox.refreshKeepingPlace()
	c.ui.refreshCounts()
	if r.State == models.ReplyPendingApproval {
		c.ui.notice("Sent to a manager for approval.")
	} else {
		c.ui.notice("Reply queued.")
	}
}

// askOverride lets a manager send despite a blocking finding, with a
// reason for the audit log.
func (c *composer) askOverride() {
	reason := widget.NewEntry()
	reason.SetPlaceHolder("Why this reply must go out as it is")
	dialog.ShowForm("Send despite a blocking finding?", "Send", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Reason", reason)}, func(ok bool) {
			if ok {
				if strings.TrimSpace(reason.Text) == "" {
					c.ui.showError("override", errors.New("an override needs a reason"))
					return
				}
				c.reply(desk.ReplyInput{Override: reason.Text})
			}
		}, c.ui.win)
}

func (c *composer) retryReply() {
	if c.replyID == 0 || !c.ui.requireStaff() {
		return
	}
	if err := c.ui.node.Desk.RetryReply(context.Background(), c.replyID, c.ui.staff.Handle); err != nil {
		c.ui.showError("retry the reply", err)
		return
	}
	c.setState(models.ReplyQueued, "", "")
	c.ui.node.WakeOutbox()
}
