package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
)

// approvalsScreen is a manager's queue of replies waiting for approval
// (approve, edit and approve, reject with feedback) with each trainee's
// approval rate by week; for everyone else, their own replies and the
// feedback on them.
type approvalsScreen struct {
	ui *ui

	pending []desk.PendingApproval
	list    *widget.List
	sel     int

	message  *widget.Label
	draft    *widget.Entry
	findings *widget.Label
	approve  *widget.Button
	reject   *widget.Button
	status   *widget.Label

	stats    *widget.Label
	feedback *widget.Label

	managerView *fyne.Container
	staffView   *fyne.Container
}

func newApprovalsScreen(u *ui) *approvalsScreen {
	s := &approvalsScreen{ui: u, sel: -1,
		message: widget.NewLabel("Select a reply to review."), findings: widget.NewLabel(""),
		status: widget.NewLabel(""), stats: widget.NewLabel(""), feedback: widget.NewLabel("")}
	for _, l := range []*widget.Label{s.message, s.findings, s.status, s.stats, s.feedback} {
		l.Wrapping = fyne.TextWrapWord
	}
	s.draft = widget.NewMultiLineEntry()
	s.draft.Wrapping = fyne.TextWrapWord
	s.draft.SetMinRowsVisible(5)
	s.draft.OnChanged = func(string) { s.checkDraft() }
	s.list = widget.NewList(func() int { return len(s.pending) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("author · customer · age")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			p := s.pending[id]
			o.(*widget.Label).SetText(fmt.Sprintf("%s → %s · %s ago", p.AuthorName, p.Message.Author,
				humanize.Age(u.now().Sub(p.Reply.CreatedAt))))
		})
	s.list.OnSelected = func(id widget.ListItemID) { s.sel = id; s.showSelected() }
	s.approve = widget.NewButton("Approve", s.doApprove)
	s.approve.Importance = widget.HighImportance
	s.reject = widget.NewButton("Reject with feedback…", s.doReject)
	s.approve.Disable()
	s.reject.Disable()
	return s
}

func (s *approvalsScreen) content() fyne.CanvasObject {
	detail := container.NewBorder(nil, container.NewVBox(s.status, container.NewHBox(s.approve, s.reject)), nil, nil,
		container.NewVScroll(container.NewVBox(s.message, widget.NewLabelWithStyle("Draft (edit it to approve your version)",
			fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.draft, s.findings)))
	queue := container.NewHSplit(s.list, detail)
	queue.Offset = 0.35
	statsBox := container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Approval rate by week", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.stats))
	split := container.NewVSplit(queue, statsBox)
	split.Offset = 0.65
	s.managerView = container.NewStack(split)
	s.staffView = container.NewStack(container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Your replies and a manager's feedback", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.feedback)))
	return container.NewStack(s.managerView, s.staffView)
}

func (s *approvalsScreen) isManager() bool { return s.ui.staff.Role == models.RoleManager }

func (s *approvalsScreen) reload() {
	if s.managerView == nil {
		return
	}
	ctx := context.Background()
	if !s.isManager() {
		s.managerView.Hide()
		s.staffView.Show()
		s.renderFeedback(ctx)
		return
	}
	s.staffView.Hide()
	s.managerView.Show()
	pending, err := s.ui.node.Desk.PendingApprovals(ctx)
	if err != nil {
		s.status.SetText("Could not read the queue: " + err.Error())
		return
	}
	s.pending = pending
	s.list.UnselectAll()
	s.sel = -1
	s.list.Refresh()
	s.approve.Disable()
	s.reject.Disable()
	s.draft.SetText("")
	s.findings.SetText("")
	if len(pending) == 0 {
		s.message.SetText("Nothing is waiting for approval.")
	} else {
		s.message.SetText(fmt.Sprintf("%d replies are waiting for approval. Select one.", len(pending)))
	}
	s.renderStats(ctx)
}

func (s *approvalsScreen) showSelected() {
	if s.sel < 0 || s.sel >= len(s.pending) {
		return
	}
	p := s.pending[s.sel]
	s.message.SetText(fmt.Sprintf("%s wrote to %s on %s:\n“%s”\n\n%s customer's message: “%s”", p.AuthorName, p.Message.Author,
		platformName(p.Message.Platform), p.Reply.Text, possessive(p.Message.Author), p.Message.Text))
	s.draft.SetText(p.Reply.Text)
	s.approve.Enable()
	s.reject.Enable()
	s.status.SetText("")
}

func possessive(name string) string {
	if strings.HasSuffix(name, "s") {
		return "The " + name + "'"
	}
	return "The " + name + "'s"
}

// checkDraft runs the brand checks on the manager's version.
func (s *approvalsScreen) checkDraft() {
	if s.sel < 0 || s.sel >= len(s.pending) {
		return
	}
	p := s.pending[s.sel]
	row, err := s.ui.node.Store.MessageByID(context.Background(), p.Message.ID)
	if err != nil {
		return
	}
	author := models.Staff{ID: p.Reply.AuthorID, Name: p.AuthorName, Handle: p.AuthorHandle}
	fs := s.ui.node.Desk.Lint(s.draft.Text, s.ui.node.Desk.LintContext(context.Background(), &row, author, p.Reply.Private))
	s.findings.SetText(findingsText(fs))
	if brand.AnyBlocks(fs) {
		s.findings.Importance = widget.DangerImportance
	} else {
		s.findings.Importance = widget.MediumImportance
	}
	s.findings.Refresh()
	if s.draft.Text != p.Reply.Text {
		s.approve.SetText("Approve my edit")
	} else {
		s.approve.SetText("Approve")
	}
}

func findingsText(fs []brand.Finding) string {
	if len(fs) == 0 {
		return "Brand checks: no findings."
	}
	var b strings.Builder
	b.WriteString("Brand checks:")
	for _, f := range fs {
		fmt.Fprintf(&b, "\n• %s: %s", f.Severity, f.Message)
	}
	return b.String()
}

func (s *approvalsScreen) doApprove() {
	if s.sel < 0 || s.sel >= len(s.pending) || !s.ui.requireStaff() {
		return
	}
	p := s.pending[s.sel]
	rv := desk.Review{ReplyID: p.Reply.ID, Manager: s.ui.staff.Handle, Approve: true}
	if s.draft.Text != p.Reply.Text {
		rv.Text = s.draft.Text
	}
	s.review(rv)
}

func (s *approvalsScreen) review(rv desk.Review) {
	_, _, err := s.ui.node.Desk.ReviewReply(context.Background(), rv)
	var blocked *desk.BlockedError
	if errors.As(err, &blocked) {
		reason := widget.NewEntry()
		dialog.ShowForm("Approve despite a blocking finding?", "Approve", "Cancel",
			[]*widget.FormItem{widget.NewFormItem("Reason", reason)}, func(ok bool) {
				if ok {
					rv.Override = reason.Text
					s.review(rv)
				}
			}, s.ui.win)
		return
	}
	if err != nil {
		s.ui.showError("review the reply", err)
		return
	}
	if rv.Approve {
		s.ui.notice("Approved: the reply is queued.")
		s.ui.node.WakeOutbox()
	} else {
		s.ui.notice("Returned with your feedback.")
	}
	s.reload()
	s.ui.inbox.refreshKeepingPlace()
}

func (s *approvalsScreen) doReject() {
	if s.sel < 0 || s.sel >= len(s.pending) || !s.ui.requireStaff() {
		return
	}
	p := s.pending[s.sel]
	note := widget.NewMultiLineEntry()
	note.SetPlaceHolder("What to change, so they learn for next time")
	dialog.ShowForm("Reject with feedback", "Reject", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Feedback", note)}, func(ok bool) {
			if ok {
				s.review(desk.Review{ReplyID: p.Reply.ID, Manager: s.ui.staff.Handle, Approve: false, Note: note.Text})
			}
		}, s.ui.win)
}

func (s *approvalsScreen) renderStats(ctx context.Context) {
	weeks, err := s.ui.node.Desk.ApprovalStats(ctx, 8)
	if err != nil {
		s.stats.SetText("Could not compute the figures: " + err.Error())
		return
	}
	if len(weeks) == 0 {
		s.stats.SetText("No replies have been reviewed in the last eight weeks.")
		return
	}
	var b strings.Builder
	last := ""
	for _, w := range weeks {
		if w.Handle != last {
			fmt.Fprintf(&b, "\n%s (%s)\n", w.Name, w.Role)
			last = w.Handle
		}
		fmt.Fprintf(&b, "  week of %s: %d reviewed, %d approved as written, %d approved with edits, %d rejected: %.0f %% approved as written\n",
			w.WeekStart, w.Reviewed, w.Approved, w.Edited, w.Rejected, 100*w.Rate)
	}
	s.stats.SetText(strings.TrimSpace(b.String()))
}

func (s *approvalsScreen) renderFeedback(ctx context.Context) {
	if s.ui.staff.ID == 0 {
		s.feedback.SetText("Sign in to see your replies.")
		return
	}
	fb, err := s.ui.node.Desk.MyFeedback(ctx, s.ui.staff.Handle, 50)
	if err != nil {
		s.feedback.SetText("Could not read your replies: " + err.Error())
		return
	}
	if len(fb) == 0 {
		s.feedback.SetText("No reviewed replies yet.")
		return
	}
	var b strings.Builder
	for _, f := range fb {
		fmt.Fprintf(&b, "%s · %s by %s", f.ReviewedAt.In(s.ui.node.Desk.Location().Zone()).Format("Mon 2 Jan 15:04"),
			f.Outcome, f.Reviewer)
		if f.Note != "" {
			fmt.Fprintf(&b, ": “%s”", f.Note)
		}
		fmt.Fprintf(&b, "\n    %s\n\n", humanize.Snippet(f.Text, 160))
	}
	s.feedback.SetText(strings.TrimSpace(b.String()))
}
