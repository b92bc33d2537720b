package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/records"
)

// escalationCategories are offered in the escalate dialog; the first five
// are crisis categories, which go straight to headquarters.
var escalationCategories = []string{"food_safety", "injury", "discrimination", "legal", "press", "complaint", "refund", "other"}

// showEscalate opens the escalate dialog for the message shown.
func (u *ui) showEscalate() {
	p := u.conv
	if !p.has || !u.requireStaff() {
		return
	}
	if u.node.Net == nil {
		dialog.ShowInformation("Escalate",
			"This location is not part of a brand network yet, so there is nobody to escalate to.\n\n"+
				"Ask headquarters for a join code and run `branchline join CODE --bind ADDR` (see docs/network.md).", u.win)
		return
	}
	it := p.item
	severity := widget.NewSelect(records.Severities, nil)
	category := widget.NewSelect(escalationCategories, nil)
	level := widget.NewRadioGroup([]string{"Region", "Headquarters"}, nil)
	level.Horizontal = true
	note := widget.NewMultiLineEntry()
	note.SetPlaceHolder("What happened, what you have done, what you need")
	note.SetMinRowsVisible(3)
	readers := widget.NewLabel("")
	readers.Wrapping = fyne.TextWrapWord
	errText := widget.NewLabel("")
	errText.Importance = widget.DangerImportance
	errText.Wrapping = fyne.TextWrapWord

	self := u.node.Net.Self.Cert
	explain := func() {
		crisis := slices.Index(escalationCategories, category.Selected) >= 0 && slices.Index(escalationCategories, category.Selected) < 5
		if severity.Selected == "critical" || crisis {
			level.SetSelected("Headquarters")
		}
		readers.SetText(fmt.Sprintf("Who can read it: headquarters, the %s region office and this store (%s). "+
			"The customer's message and your note are sealed for them; other stores pass it on without being able to read it.",
			self.Region, self.Location))
	}
	severity.OnChanged = func(string) { explain() }
	category.OnChanged = func(string) { explain() }
	// A crisis signal from triage fills the form in.
	switch {
	case it.Crisis != "":
		c := it.Crisis
		if !slices.Contains(escalationCategories, c) {
			c = "other"
		}
		category.SetSelected(c)
		severity.SetSelected("high")
	default:
		category.SetSelected("complaint")
		severity.SetSelected("medium")
	}
	if level.Selected == "" {
		level.SetSelected("Region")
	}
	explain()
	excerpt := widget.NewLabel(fmt.Sprintf("%s: “%s”", it.Author, it.Text))
	excerpt.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Message", excerpt),
		widget.NewFormItem("Severity", severity),
		widget.NewFormItem("Category", category),
		widget.NewFormItem("To", level),
		widget.NewFormItem("Note", note),
	)
	var dlg dialog.Dialog
	send := widget.NewButton("Escalate", func() {
		errText.SetText("")
		lvl := "region"
		if level.Selected == "Headquarters" {
			lvl = "hq"
		}
		id, err := u.escalate(it.ID, severity.Selected, category.Selected, lvl, note.Text)
		if err != nil {
			errText.SetText(err.Error())
			return
		}
		dlg.Hide()
		u.watchEscalations() // our own: not news
		u.notice(fmt.Sprintf("Escalated to the %s (%s). Follow it in the Escalations tab.", map[string]string{"hq": "headquarters", "region": "region"}[lvl], id))
		u.inbox.refreshKeepingPlace()
		u.conv.reopen()
	})
	send.Importance = widget.HighImportance
	dlg = dialog.NewCustom("Escalate this message", "Cancel", container.NewVBox(form, readers, errText, send), u.win)
	dlg.Resize(fyne.NewSize(640, 520))
	dlg.Show()
	u.escalation = &escalateForm{severity: severity, category: category, level: level, note: note, readers: readers, err: errText, send: send}
	u.win.Canvas().Focus(note)
}

// escalateForm is the open escalate dialog's controls (tests drive them).
type escalateForm struct {
	severity, category *widget.Select
	level              *widget.RadioGroup
	note               *widget.Entry
	readers, err       *widget.Label
	send               *widget.Button
}

// escalate raises a signed escalation about message id and marks the
// message as escalated.
func (u *ui) escalate(messageID int64, severity, category, level, note string) (string, error) {
	if strings.TrimSpace(note) == "" {
		return "", errors.New("add a note: what happened and what you need")
	}
	ctx := context.Background()
	m, err := u.node.Store.MessageByID(ctx, messageID)
	if err != nil {
		return "", err
	}
	id, err := u.node.Net.Book.Escalate(ctx, records.EscalateInput{Severity: severity, Category: category, Note: note, Level: level,
		Excerpt: m.Text, Platform: m.Platform, Author: m.AuthorName, PostedAt: m.CreatedAt})
	if err != nil {
		return "", err
	}
	if err := u.node.Desk.MarkEscalated(ctx, u.staff.Handle, messageID, models.EscalationMark{EscalationID: id,
		Level: level, Severity: severity, Category: category}); err != nil {
		return id, fmt.Errorf("escalation %s raised, but not marked on the message: %w", id, err)
	}
	return id, nil
}

// escalationsScreen lists the escalations this node may see (for a store:
// the ones it raised), with their status and comment thread.
type escalationsScreen struct {
	ui      *ui
	items   []records.EscalationView
	list    *widget.List
	detail  *widget.Label
	comment *widget.Entry
	status  *widget.Label
	sel     int
}

func newEscalationsScreen(u *ui) *escalationsScreen {
	s := &escalationsScreen{ui: u, detail: widget.NewLabel("Select an escalation."), status: widget.NewLabel(""), sel: -1}
	s.detail.Wrapping = fyne.TextWrapWord
	s.status.Wrapping = fyne.TextWrapWord
	s.list = widget.NewList(func() int { return len(s.items) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("severity · category · status")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			e := s.items[id]
			o.(*widget.Label).SetText(fmt.Sprintf("%s · %s · %s · %s", e.RaisedAt.In(u.node.Desk.Location().Zone()).Format("2 Jan 15:04"),
				e.Severity, strings.ReplaceAll(e.Category, "_", " "), strings.ReplaceAll(e.Stage, "_", " ")))
		})
	s.list.OnSelected = func(id widget.ListItemID) { s.sel = id; s.showDetail() }
	s.comment = widget.NewEntry()
	s.comment.SetPlaceHolder("Add a comment for the region and headquarters")
	s.comment.OnSubmitted = func(string) { s.addComment() }
	return s
}

func (s *escalationsScreen) content() fyne.CanvasObject {
	left := container.NewBorder(nil, s.status, nil, nil, s.list)
	right := container.NewBorder(nil, container.NewBorder(nil, nil, nil, widget.NewButton("Comment", s.addComment), s.comment),
		nil, nil, container.NewVScroll(s.detail))
	split := container.NewHSplit(left, right)
	split.Offset = 0.4
	return split
}

func (s *escalationsScreen) reload() {
	if s.ui.node.Net == nil {
		s.items = nil
		s.status.SetText("This location is not part of a brand network: escalations need one (docs/network.md).")
		s.list.Refresh()
		return
	}
	items, err := s.ui.node.Net.Book.Escalations(context.Background())
	if err != nil {
		s.status.SetText("Could not read the escalations: " + err.Error())
		return
	}
	slices.SortFunc(items, func(a, b records.EscalationView) int { return b.RaisedAt.Compare(a.RaisedAt) })
	s.items = items
	if len(items) == 0 {
		s.status.SetText("No escalations. Escalate a message from its conversation (Ctrl+E).")
	} else {
		s.status.SetText(fmt.Sprintf("%d escalation%s", len(items), map[bool]string{true: "", false: "s"}[len(items) == 1]))
	}
	s.list.Refresh()
	if s.sel >= 0 && s.sel < len(items) {
		s.showDetail()
	}
}

func (s *escalationsScreen) showDetail() {
	if s.sel < 0 || s.sel >= len(s.items) {
		return
	}
	e := s.items[s.sel]
	zone := s.ui.node.Desk.Location().Zone()
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s severity, to the %s\nRaised by %s on %s at %s\nStatus: %s", strings.ReplaceAll(e.Category, "_", " "),
		e.Severity, map[string]string{"hq": "headquarters", "region": "region"}[e.Level], e.RaisedBy, e.Location,
		e.RaisedAt.In(zone).Format("Mon 2 Jan 15:04"), strings.ReplaceAll(e.Stage, "_", " "))
	if e.Reopened > 0 {
		fmt.Fprintf(&b, " (reopened %d×)", e.Reopened)
	}
	if e.Department != "" {
		fmt.Fprintf(&b, ", with %s", e.Department)
	}
	if e.Content != nil {
		fmt.Fprintf(&b, "\n\nNote: %s", e.Content.Note)
		if e.Content.Excerpt != "" {
			fmt.Fprintf(&b, "\n\n%s on %s: “%s”", e.Content.Author, platformName(e.Content.Platform), e.Content.Excerpt)
		}
	} else if !e.Readable {
		b.WriteString("\n\n(sealed: this node may not read its content)")
	}
	if len(e.History) > 0 {
		b.WriteString("\n\nHistory:")
		for _, h := range e.History {
			fmt.Fprintf(&b, "\n• %s", statusLine(h, zone))
		}
	}
	b.WriteString("\n\nComments:")
	if len(e.Comments) == 0 {
		b.WriteString(" none yet.")
	}
	for _, c := range e.Comments {
		fmt.Fprintf(&b, "\n• %s, %s: %s", c.By, c.At.In(zone).Format("2 Jan 15:04"), c.Text)
	}
	s.detail.SetText(b.String())
}

func (s *escalationsScreen) addComment() {
	if s.sel < 0 || s.sel >= len(s.items) || strings.TrimSpace(s.comment.Text) == "" {
		return
	}
	if err := s.ui.node.Net.Book.Comment(context.Background(), s.items[s.sel].ID, s.comment.Text); err != nil {
		s.ui.showError("comment", err)
		return
	}
	s.comment.SetText("")
	s.reload()
}

func statusLine(h records.StatusView, zone *time.Location) string {
	line := fmt.Sprintf("%s, %s: %s", h.By, h.At.In(zone).Format("2 Jan 15:04"), strings.ReplaceAll(h.Stage, "_", " "))
	if h.Level != "" {
		line += " (to " + h.Level + ")"
	}
	if h.Note != "" {
		line += ": " + h.Note
	}
	return line
}
