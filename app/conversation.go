package app

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
)

// departments a conversation can be assigned to (triage's names).
var departments = []string{"customer_care", "marketing", "sales", "pr", "hr"}

// conversationPane shows the selected message in its thread, with the
// customer's history at this location, the triage reasons, internal notes,
// assignment, and the composer.
type conversationPane struct {
	ui   *ui
	item desk.Item
	row  models.MessageRow
	has  bool

	header    *widget.Label
	thread    *fyne.Container
	why       *widget.Label
	history   *fyne.Container
	notes     *fyne.Container
	noteEntry *widget.Entry
	assignee  *widget.Select
	dept      *widget.Select
	dismiss   *widget.Button
	escalate  *widget.Button
	composer  *composer

	body  *fyne.Container // the message's view, hidden when none is selected
	empty *widget.Label
	staff []models.Staff
}

func newConversationPane(u *ui) *conversationPane {
	p := &conversationPane{ui: u,
		header:  widget.NewLabel(""),
		thread:  container.NewVBox(),
		why:     widget.NewLabel(""),
		history: container.NewVBox(),
		notes:   container.NewVBox(),
		empty:   widget.NewLabel("Select a message in the inbox (or press Ctrl+J for the next one)."),
	}
	p.header.TextStyle.Bold = true
	p.header.Wrapping = fyne.TextWrapWord
	p.why.Wrapping = fyne.TextWrapWord
	p.noteEntry = widget.NewEntry()
	p.noteEntry.SetPlaceHolder("Add an internal note (only your team sees it)")
	p.noteEntry.OnSubmitted = func(string) { p.addNote() }
	p.assignee = widget.NewSelect(nil, func(string) { p.assign() })
	p.assignee.PlaceHolder = "Assign to…"
	p.dept = widget.NewSelect(departments, func(string) { p.assign() })
	p.dept.PlaceHolder = "Department…"
	p.dismiss = widget.NewButtonWithIcon("No response needed", theme.ConfirmIcon(), p.markNoResponse)
	p.escalate = widget.NewButtonWithIcon("Escalate…", theme.UploadIcon(), func() { p.ui.showEscalate() })
	p.composer = newComposer(u)
	return p
}

func (p *conversationPane) content() fyne.CanvasObject {
	actions := container.NewHBox(p.assignee, p.dept, p.dismiss, p.escalate)
	whyItem := widget.NewAccordionItem("Why is this flagged?", p.why)
	histItem := widget.NewAccordionItem("Customer history at this location", p.history)
	notesItem := widget.NewAccordionItem("Internal notes", container.NewVBox(p.notes,
		container.NewBorder(nil, nil, nil, widget.NewButton("Add note", p.addNote), p.noteEntry)))
	acc := widget.NewAccordion(whyItem, histItem, notesItem)
	acc.MultiOpen = true
	acc.Open(0)
	info := container.NewVScroll(container.NewVBox(p.header, actions, widget.NewSeparator(), p.thread, acc))
	split := container.NewVSplit(info, p.composer.content())
	split.Offset = 0.5
	p.body = container.NewStack(split)
	p.body.Hide()
	return container.NewStack(container.NewCenter(p.empty), p.body)
}

// show opens a message.
func (p *conversationPane) show(it desk.Item) {
	ctx := context.Background()
	row, err := p.ui.node.Store.MessageByID(ctx, it.ID)
	if err != nil {
		p.ui.showError("open the message", err)
		return
	}
	p.item, p.row, p.has = desk.ItemOf(row), row, true
	p.empty.Hide()
	p.body.Show()
	p.render(ctx)
	p.composer.setMessage(p.item, p.row)
}

// reopen reads the shown message again (after a change to it).
func (p *conversationPane) reopen() {
	if p.has {
		p.show(p.item)
	}
}

func (p *conversationPane) render(ctx context.Context) {
	it := p.item
	p.header.SetText(fmt.Sprintf("%s on %s (%s %s to %s), %s", it.Author, platformName(it.Platform), platformName(it.Platform),
		kindName(it.Kind), it.Account, it.CreatedAt.In(p.ui.node.Desk.Location().Zone()).Format("Mon 2 Jan 15:04")))

	// The thread.
	p.thread.RemoveAll()
	msgs, err := p.ui.node.Store.ConversationMessages(ctx, it.ConversationID, 50)
	if err != nil {
		p.thread.Add(wrapped("Could not read the thread: " + err.Error()))
	}
	for _, m := range msgs {
		p.thread.Add(p.messageCard(m, m.ID == it.ID))
	}

	// Why.
	var b strings.Builder
	fmt.Fprintf(&b, "Needs a response: %s. Stage: %s. Department: %s. Sentiment: %s.", yesNo(it.NeedsResponse),
		it.Stage, it.Department, sentimentWord(it.Sentiment))
	if it.Crisis != "" {
		fmt.Fprintf(&b, " Crisis signal: %s, escalate it.", strings.ReplaceAll(it.Crisis, "_", " "))
	}
	b.WriteString("\n")
	for _, r := range it.Reasons {
		fmt.Fprintf(&b, "\n• %s = %s, by the rule “%s”", r.Field, r.Value, r.Rule)
		if len(r.Words) > 0 {
			fmt.Fprintf(&b, " (words: %s)", strings.Join(r.Words, ", "))
		}
	}
	for _, h := range it.Listening {
		fmt.Fprintf(&b, "\n• mentions %s", h.Keyword)
	}
	p.why.SetText(b.String())

	p.renderHistory(ctx)
	p.renderNotes(ctx)
	p.renderAssignment(ctx)
	p.dismiss.Disable()
	if it.Status == models.StatusOpen && it.NeedsResponse {
		p.dismiss.Enable()
	}
}

func (p *conversationPane) messageCard(m models.MessageRow, current bool) fyne.CanvasObject {
	who := m.AuthorName
	if m.Direction == "out" {
		who = "Our reply"
	}
	title := widget.NewLabel(fmt.Sprintf("%s · %s", who, m.CreatedAt.In(p.ui.node.Desk.Location().Zone()).Format("Mon 2 Jan 15:04")))
	title.TextStyle.Bold = true
	if current {
		title.Importance = widget.HighImportance
	}
	text := widget.NewLabel(m.Text)
	text.Wrapping = fyne.TextWrapWord
	text.Selectable = true
	if m.Rating > 0 {
		text.SetText(strings.Repeat("★", m.Rating) + strings.Repeat("☆", max(0, 5-m.Rating)) + "\n" + m.Text)
	}
	if m.Direction == "out" {
		return container.NewBorder(nil, nil, widget.NewLabel("    "), nil, container.NewVBox(title, text))
	}
	return container.NewVBox(title, text)
}

func (p *conversationPane) renderHistory(ctx context.Context) {
	p.history.RemoveAll()
	if p.item.CustomerID == nil {
		p.history.Add(wrapped("No customer record."))
		return
	}
	stats, err := p.ui.node.Store.CustomerStats(ctx, *p.item.CustomerID)
	if err == nil {
		p.history.Add(wrapped(customerSummary(stats)))
	}
	rows, err := p.ui.node.Store.CustomerHistory(ctx, *p.item.CustomerID, 20)
	if err != nil {
		p.history.Add(wrapped("Could not read the history: " + err.Error()))
		return
	}
	shown := 0
	for _, r := range rows {
		if r.ConversationID == p.item.ConversationID {
			continue // in the thread above
		}
		l := widget.NewLabel(fmt.Sprintf("%s · %s %s · %s", humanize.Age(p.ui.now().Sub(r.CreatedAt))+" ago",
			platformName(r.Platform), kindName(r.Kind), humanize.Snippet(r.Text, 120)))
		l.Wrapping = fyne.TextWrapWord
		p.history.Add(l)
		shown++
	}
	if shown == 0 {
		p.history.Add(wrapped("Nothing else from this customer here."))
	}
}

func customerSummary(s models.CustomerStats) string {
	if s.Messages == 0 {
		return "First contact with this customer."
	}
	return fmt.Sprintf("%d messages at this location (across its channels) since %s, the last %s.", s.Messages,
		s.FirstSeenAt.Format("2 Jan 2006"), s.LastSeenAt.Format("2 Jan 2006"))
}

func (p *conversationPane) renderNotes(ctx context.Context) {
	p.notes.RemoveAll()
	notes, err := p.ui.node.Store.Notes(ctx, p.item.ConversationID)
	if err != nil {
		p.notes.Add(wrapped("Could not read the notes: " + err.Error()))
		return
	}
	if len(notes) == 0 {
		p.notes.Add(wrapped("No notes yet."))
	}
	for _, n := range notes {
		l := widget.NewLabel(fmt.Sprintf("%s, %s: %s", n.AuthorName, n.CreatedAt.In(p.ui.node.Desk.Location().Zone()).Format("2 Jan 15:04"), n.Text))
		l.Wrapping = fyne.TextWrapWord
		p.notes.Add(l)
	}
}

func (p *conversationPane) addNote() {
	if !p.has || !p.ui.requireStaff() {
		return
	}
	if _, err := p.ui.node.Desk.AddNote(context.Background(), p.ui.staff.Handle, p.item.ConversationID, p.noteEntry.Text); err != nil {
		p.ui.showError("add the note", err)
		return
	}
	p.noteEntry.SetText("")
	p.renderNotes(context.Background())
}

// renderAssignment fills the assignment controls without firing them.
func (p *conversationPane) renderAssignment(ctx context.Context) {
	staff, err := p.ui.node.Store.StaffList(ctx)
	if err != nil {
		staff = nil
	}
	p.staff = staff
	opts := []string{"Unassigned"}
	sel := "Unassigned"
	for _, st := range staff {
		if !st.Active {
			continue
		}
		opts = append(opts, st.Name)
		if p.row.AssigneeID != nil && *p.row.AssigneeID == st.ID {
			sel = st.Name
		}
	}
	onA, onD := p.assignee.OnChanged, p.dept.OnChanged
	p.assignee.OnChanged, p.dept.OnChanged = nil, nil
	p.assignee.SetOptions(opts)
	p.assignee.SetSelected(sel)
	d := p.row.ConversationDepartment
	if d == "" {
		d = p.item.Department
	}
	if d == "none" {
		d = ""
	}
	p.dept.ClearSelected()
	if d != "" {
		p.dept.SetSelected(d)
	}
	p.assignee.OnChanged, p.dept.OnChanged = onA, onD
}

func (p *conversationPane) assign() {
	if !p.has || !p.ui.requireStaff() {
		return
	}
	var who *int64
	for _, st := range p.staff {
		if st.Name == p.assignee.Selected {
			id := st.ID
			who = &id
		}
	}
	if err := p.ui.node.Store.Assign(context.Background(), p.ui.staff.Handle, p.item.ConversationID, who, p.dept.Selected); err != nil {
		p.ui.showError("assign the conversation", err)
		return
	}
	p.ui.notice(fmt.Sprintf("Assigned to %s%s.", p.assignee.Selected, map[bool]string{true: ", " + p.dept.Selected, false: ""}[p.dept.Selected != ""]))
	p.ui.inbox.refreshKeepingPlace()
}

func (p *conversationPane) markNoResponse() {
	if !p.has || !p.ui.requireStaff() {
		return
	}
	if err := p.ui.node.Desk.Dismiss(context.Background(), p.item.ID, p.ui.staff.Handle); err != nil {
		p.ui.showError("mark as needing no response", err)
		return
	}
	p.ui.notice("Marked as needing no response.")
	p.ui.inbox.refreshKeepingPlace()
	p.ui.refreshCounts()
	p.reopen()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// confirm asks a yes/no question.
func (u *ui) confirm(title, msg string, yes func()) {
	dialog.ShowConfirm(title, msg, func(ok bool) {
		if ok {
			yes()
		}
	}, u.win)
}
