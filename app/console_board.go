package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/sync/records"
)

// hqDepartments are the departments headquarters assigns escalations to.
var hqDepartments = []string{"customer_care", "pr", "legal"}

const anyChoice = "Any"

// boardScreen is the escalation board: every escalation the node may see,
// filtered by region, severity, status, department and age, most severe
// and oldest first; the detail with the sealed excerpt (for its readers),
// the comments, status changes and assignment.
type boardScreen struct {
	c        *console
	rows     []records.BoardRow // every row, loaded in the background
	shown    []records.BoardRow // after the filter
	list     *widget.List
	status   *widget.Label
	region   *widget.Select
	severity *widget.Select
	state    *widget.Select
	dept     *widget.Select
	age      *widget.Select
	search   *widget.Entry
	detail   *fyne.Container
	selected string
	view     *records.EscalationView // the detail shown
	gen      int
	onShown  func() // tests: a load has been shown
}

var ageChoices = map[string]time.Duration{anyChoice: 0, "Older than 24 h": 24 * time.Hour, "Older than 72 h": 72 * time.Hour, "Older than a week": 7 * 24 * time.Hour}

func newBoardScreen(c *console) *boardScreen {
	s := &boardScreen{c: c}
	refilter := func(string) { s.refilter() }
	s.region = widget.NewSelect([]string{anyChoice}, refilter)
	s.severity = widget.NewSelect(append([]string{anyChoice}, records.Severities...), refilter)
	s.state = widget.NewSelect([]string{"Active", anyChoice, "open", "acknowledged", "in_progress", "resolved"}, refilter)
	s.dept = widget.NewSelect(append([]string{anyChoice}, hqDepartments...), refilter)
	s.age = widget.NewSelect([]string{anyChoice, "Older than 24 h", "Older than 72 h", "Older than a week"}, refilter)
	for _, sel := range []*widget.Select{s.region, s.severity, s.dept, s.age} {
		sel.Selected = anyChoice
	}
	s.state.Selected = "Active"
	if !c.isHQ() {
		s.region.Options = []string{c.self.Region}
		s.region.Selected = c.self.Region
		s.region.Disable()
	}
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder("Location or category")
	s.search.OnChanged = refilter
	s.status = widget.NewLabel("Loading the escalations…")
	s.list = widget.NewList(func() int { return len(s.shown) }, s.newRow, s.updateRow)
	s.list.OnSelected = func(i widget.ListItemID) {
		if i < len(s.shown) {
			s.selected = s.shown[i].ID
			s.showDetail()
		}
	}
	s.detail = container.NewVBox(widget.NewLabel("Select an escalation."))
	return s
}

func (s *boardScreen) content() fyne.CanvasObject {
	label := func(t string) *widget.Label { return widget.NewLabel(t) }
	filters := container.NewGridWithColumns(6,
		container.NewBorder(nil, nil, label("Region"), nil, s.region),
		container.NewBorder(nil, nil, label("Severity"), nil, s.severity),
		container.NewBorder(nil, nil, label("Status"), nil, s.state),
		container.NewBorder(nil, nil, label("Dept."), nil, s.dept),
		container.NewBorder(nil, nil, label("Age"), nil, s.age),
		s.search)
	left := container.NewBorder(nil, s.status, nil, nil, s.list)
	split := container.NewHSplit(left, container.NewVScroll(container.NewPadded(s.detail)))
	split.Offset = 0.45
	return container.NewBorder(filters, nil, nil, nil, split)
}

func (s *boardScreen) newRow() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	sub := widget.NewLabel("")
	return container.NewVBox(title, sub)
}

func (s *boardScreen) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(s.shown) {
		return
	}
	r := s.shown[i]
	box := o.(*fyne.Container)
	title, sub := box.Objects[0].(*widget.Label), box.Objects[1].(*widget.Label)
	title.SetText(fmt.Sprintf("%s · %s · %s", strings.ToUpper(r.Severity), r.Location, words(r.Category)))
	title.Importance = severityImportance(r.Severity)
	if r.Stage == "resolved" {
		title.Importance = widget.LowImportance
	}
	title.Refresh()
	parts := []string{words(r.Stage), "region " + r.Region, "to " + r.Level, "raised " + ago(s.c.now().Sub(r.RaisedAt))}
	if r.Department != "" {
		parts = append(parts, words(r.Department))
	}
	if r.Comments > 0 {
		parts = append(parts, fmt.Sprintf("%d comment%s", r.Comments, plural(r.Comments)))
	}
	sub.SetText(strings.Join(parts, " · "))
}

// ago says how long ago, in words.
func ago(d time.Duration) string {
	if a := humanize.Age(d); a != "now" {
		return a + " ago"
	}
	return "just now"
}

func severityImportance(s string) widget.Importance {
	switch s {
	case "critical":
		return widget.DangerImportance
	case "high":
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// reload reads every row in the background, then filters.
func (s *boardScreen) reload() {
	s.gen++
	gen := s.gen
	book := s.c.node.Net.Book
	var rows []records.BoardRow
	var err error
	var took time.Duration
	s.c.background(func() {
		start := time.Now()
		rows, err = book.Board(context.Background())
		took = time.Since(start)
	}, func() {
		if gen != s.gen {
			return
		}
		if err != nil {
			s.status.SetText("Could not read the escalations: " + err.Error())
			return
		}
		s.rows = rows
		s.c.log.Debug("escalation board loaded", "rows", len(rows), "took", took)
		if s.c.isHQ() {
			regions := []string{anyChoice}
			for _, r := range rows {
				if !slices.Contains(regions, r.Region) {
					regions = append(regions, r.Region)
				}
			}
			slices.Sort(regions[1:])
			s.region.Options = regions
		}
		s.refilter()
		if s.onShown != nil {
			s.onShown()
		}
	})
}

func (s *boardScreen) filter() records.BoardFilter {
	pick := func(sel *widget.Select) string {
		if sel.Selected == anyChoice {
			return ""
		}
		return sel.Selected
	}
	f := records.BoardFilter{Region: pick(s.region), Severity: pick(s.severity), Department: pick(s.dept),
		Status: pick(s.state), OlderThan: ageChoices[s.age.Selected], Now: s.c.now(), Search: s.search.Text}
	if f.Status == "Active" {
		f.Status = "active"
	}
	return f
}

// refilter applies the filter to the rows held (no database read).
func (s *boardScreen) refilter() {
	if s.list == nil {
		return
	}
	s.shown = records.FilterBoard(s.rows, s.filter())
	switch {
	case len(s.rows) == 0:
		s.status.SetText("No escalations. Stores raise them from a message (Ctrl+E in their inbox).")
	case len(s.shown) == 0:
		s.status.SetText(fmt.Sprintf("None of the %d escalations match the filter.", len(s.rows)))
	default:
		s.status.SetText(fmt.Sprintf("%d of %d escalations", len(s.shown), len(s.rows)))
	}
	s.list.UnselectAll()
	s.list.Refresh()
	for i, r := range s.shown {
		if r.ID == s.selected {
			s.list.Select(i)
			break
		}
	}
}

// showDetail opens the selected escalation in full.
func (s *boardScreen) showDetail() {
	v, err := s.c.node.Net.Book.Escalation(context.Background(), s.selected)
	if err != nil {
		s.detail.Objects = []fyne.CanvasObject{widget.NewLabel("Could not open the escalation: " + err.Error())}
		s.detail.Refresh()
		return
	}
	s.view = &v
	zone := time.Local
	head := widget.NewLabelWithStyle(fmt.Sprintf("%s · %s · %s", strings.ToUpper(v.Severity), v.Location, words(v.Category)),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.Importance = severityImportance(v.Severity)
	facts := widget.NewLabel(fmt.Sprintf("Region %s · to %s · raised by %s on %s\nStatus: %s%s%s", v.Region, v.Level, v.RaisedBy,
		v.RaisedAt.In(zone).Format("Mon 2 Jan 15:04"), words(v.Stage), reopened(v.Reopened), assigned(v.Department)))
	facts.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{head, facts, widget.NewSeparator()}
	if v.Content != nil {
		objs = append(objs, widget.NewLabelWithStyle("Note", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), wrapped(v.Content.Note))
		if v.Content.Excerpt != "" {
			objs = append(objs, widget.NewLabelWithStyle("The customer's message (sealed for headquarters, the region and the store)",
				fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
				wrapped(fmt.Sprintf("%s on %s, %s:\n“%s”", v.Content.Author, platformName(v.Content.Platform), postedAt(v.Content.PostedAt, zone), v.Content.Excerpt)))
		}
	} else {
		objs = append(objs, wrapped("The content is sealed for headquarters, the store and its region; this node cannot read it."))
	}
	if len(v.History) > 0 {
		objs = append(objs, widget.NewSeparator(), widget.NewLabelWithStyle("Status changes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		for _, h := range v.History {
			line := fmt.Sprintf("%s · %s by %s", h.At.In(zone).Format("2 Jan 15:04"), words(h.Stage), h.By)
			if h.Note != "" {
				line += ": " + h.Note
			}
			objs = append(objs, wrapped(line))
		}
	}
	objs = append(objs, widget.NewSeparator(), widget.NewLabelWithStyle(fmt.Sprintf("Comments (%d)", len(v.Comments)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, cm := range v.Comments {
		text := cm.Text
		if text == "" {
			text = "(sealed)"
		}
		objs = append(objs, wrapped(fmt.Sprintf("%s · %s: %s", cm.At.In(zone).Format("2 Jan 15:04"), cm.By, text)))
	}
	comment := widget.NewMultiLineEntry()
	comment.SetPlaceHolder("Add a comment for the store, the region and headquarters")
	comment.SetMinRowsVisible(2)
	send := widget.NewButton("Comment", func() {
		if strings.TrimSpace(comment.Text) == "" {
			return
		}
		if err := s.c.node.Net.Book.Comment(context.Background(), v.ID, comment.Text); err != nil {
			s.c.showError("Comment", err)
			return
		}
		s.afterChange("Comment added.")
	})
	objs = append(objs, comment, send, widget.NewSeparator(), s.actions(v))
	s.detail.Objects = objs
	s.detail.Refresh()
}

func postedAt(s string, zone *time.Location) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(zone).Format("Mon 2 Jan 15:04")
}

func reopened(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (reopened %d×)", n)
}

func assigned(d string) string {
	if d == "" {
		return ""
	}
	return " · assigned to " + words(d)
}

// actions are the status changes and, at headquarters, the assignment.
func (s *boardScreen) actions(v records.EscalationView) fyne.CanvasObject {
	move := func(stage, label string) *widget.Button {
		return widget.NewButton(label, func() { s.askStatus(v, stage, label, v.Department) })
	}
	var buttons []fyne.CanvasObject
	switch v.Stage {
	case "resolved":
		buttons = append(buttons, move("reopen", "Reopen…"))
	default:
		if v.Stage == "open" {
			buttons = append(buttons, move("acknowledged", "Acknowledge…"))
		}
		if v.Stage != "in_progress" {
			buttons = append(buttons, move("in_progress", "In progress…"))
		}
		buttons = append(buttons, move("resolved", "Resolve…"))
	}
	if !s.c.isHQ() && v.Level != "hq" {
		buttons = append(buttons, widget.NewButton("Raise to headquarters…", func() {
			s.askNote("Raise to headquarters", "Why headquarters should take it", func(note string) error {
				return s.c.node.Net.Book.RaiseToHQ(context.Background(), v.ID, note)
			})
		}))
	}
	box := container.NewHBox(buttons...)
	if !s.c.isHQ() {
		return box
	}
	dept := widget.NewSelect(hqDepartments, nil)
	dept.PlaceHolder = "Assign to a department"
	dept.Selected = v.Department
	dept.OnChanged = func(d string) {
		if d == v.Department {
			return
		}
		stage := v.Stage
		if stage == "open" {
			stage = "acknowledged"
		}
		if err := s.c.node.Net.Book.SetStatus(context.Background(), v.ID, stage, "Assigned to "+words(d), d); err != nil {
			s.c.showError("Assign", err)
			return
		}
		s.afterChange("Assigned to " + words(d) + ".")
	}
	return container.NewVBox(box, container.NewBorder(nil, nil, widget.NewLabel("Department"), nil, dept))
}

func (s *boardScreen) askStatus(v records.EscalationView, stage, label, dept string) {
	s.askNote(strings.TrimSuffix(label, "…"), "A note for the store and the region (optional for acknowledging)", func(note string) error {
		if stage != "acknowledged" && strings.TrimSpace(note) == "" {
			return fmt.Errorf("say what was done: the store and the region read it")
		}
		return s.c.node.Net.Book.SetStatus(context.Background(), v.ID, stage, note, dept)
	})
}

func (s *boardScreen) askNote(title, hint string, do func(note string) error) {
	note := widget.NewMultiLineEntry()
	note.SetPlaceHolder(hint)
	note.SetMinRowsVisible(3)
	d := dialog.NewForm(title, "OK", "Cancel", []*widget.FormItem{widget.NewFormItem("Note", note)}, func(ok bool) {
		if !ok {
			return
		}
		if err := do(note.Text); err != nil {
			s.c.showError(title, err)
			return
		}
		s.afterChange(title + ": done.")
	}, s.c.win)
	d.Resize(fyne.NewSize(520, 260))
	d.Show()
}

// afterChange shows the change at once: the board row and the detail.
func (s *boardScreen) afterChange(msg string) {
	s.c.notice(msg)
	s.reload()
	s.showDetail()
}
