package app

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/templates"
)

// templatePicker is the dialog that finds a template, asks for its
// prompts and puts the rendered text into the composer. From the keyboard:
// type to search, Enter picks the first match; with prompts, Enter in the
// last one uses the template.
type templatePicker struct {
	c       *composer
	all     []templates.Template
	shown   []templates.Template
	search  *widget.Entry
	list    *widget.List
	body    *widget.Label
	form    *fyne.Container
	answers map[string]*widget.Entry
	chosen  *templates.Template
	errText *widget.Label
	use     *widget.Button
	dlg     dialog.Dialog
}

// pickTemplate opens the picker; private narrows it to the templates that
// take a conversation private (ask for a direct message, or offer the
// store's phone). A template marked private sends the reply as a direct
// message.
func (c *composer) pickTemplate(private bool) {
	if !c.has {
		return
	}
	all, err := c.ui.node.Desk.Templates(context.Background())
	if err != nil {
		c.ui.showError("read the templates", err)
		return
	}
	p := &templatePicker{c: c, body: widget.NewLabel(""), form: container.NewVBox(), errText: widget.NewLabel("")}
	for _, t := range all {
		if !t.Matches(c.row.Platform, c.row.Kind) || (private && !t.Private && t.Category != takePrivateCategory) {
			continue
		}
		p.all = append(p.all, t)
	}
	// Suggested first: the message's stage and department.
	sort.SliceStable(p.all, func(i, j int) bool { return p.score(p.all[i]) > p.score(p.all[j]) })
	p.body.Wrapping = fyne.TextWrapWord
	p.errText.Importance = widget.DangerImportance
	p.errText.Wrapping = fyne.TextWrapWord
	p.search = widget.NewEntry()
	p.search.SetPlaceHolder("Search templates by name, category or text")
	p.search.OnChanged = func(string) { p.filter() }
	p.search.OnSubmitted = func(string) {
		if len(p.shown) > 0 {
			p.choose(0)
			p.useOrAsk()
		}
	}
	p.list = widget.NewList(func() int { return len(p.shown) },
		func() fyne.CanvasObject { return widget.NewLabel("template title · category") },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			t := p.shown[id]
			o.(*widget.Label).SetText(fmt.Sprintf("%s · %s", t.Title, t.Category))
		})
	p.list.OnSelected = func(id widget.ListItemID) { p.choose(id) }
	p.use = widget.NewButton("Use template", p.apply)
	p.use.Importance = widget.HighImportance
	p.use.Disable()
	p.filter()

	title := "Pick a template"
	if private {
		title = "Take it private: pick a template"
	}
	left := container.NewBorder(p.search, nil, nil, nil, p.list)
	right := container.NewBorder(nil, container.NewVBox(p.errText, p.use), nil, nil,
		container.NewVScroll(container.NewVBox(p.body, p.form)))
	split := container.NewHSplit(left, right)
	split.Offset = 0.45
	p.dlg = dialog.NewCustom(title, "Cancel", split, c.ui.win)
	p.dlg.Resize(fyne.NewSize(900, 560))
	p.dlg.Show()
	c.ui.win.Canvas().Focus(p.search)
	c.ui.picker = p
	p.dlg.SetOnClosed(func() { c.ui.picker = nil })
}

// takePrivateCategory holds the templates that move a conversation out of
// public view: a public answer asking for a direct message or a call, and
// direct-message templates that ask for the details.
const takePrivateCategory = "take-private"

func (p *templatePicker) score(t templates.Template) int {
	s := 0
	if t.Stage != "" && t.Stage == p.c.row.Stage {
		s += 2
	}
	if t.Department != "" && t.Department == p.c.row.Department {
		s++
	}
	return s
}

func (p *templatePicker) filter() {
	q := strings.ToLower(strings.TrimSpace(p.search.Text))
	p.shown = p.shown[:0]
	for _, t := range p.all {
		hay := strings.ToLower(t.Name + " " + t.Title + " " + t.Category + " " + t.Body)
		if q == "" || strings.Contains(hay, q) {
			p.shown = append(p.shown, t)
		}
	}
	p.list.UnselectAll()
	p.list.Refresh()
	if len(p.shown) == 0 {
		p.body.SetText("No template matches. Write the reply yourself, or ask HQ for one.")
	}
}

// choose shows a template with its prompts.
func (p *templatePicker) choose(i int) {
	if i < 0 || i >= len(p.shown) {
		return
	}
	t := p.shown[i]
	p.chosen = &t
	p.body.SetText(t.Body)
	p.form.RemoveAll()
	p.errText.SetText("")
	p.answers = map[string]*widget.Entry{}
	var entries []*widget.Entry
	for _, pr := range t.Prompts {
		e := widget.NewEntry()
		e.SetPlaceHolder(pr.Hint)
		label := pr.Label
		if pr.Optional {
			label += " (optional)"
		}
		p.form.Add(widget.NewLabel(label))
		p.form.Add(e)
		p.answers[pr.Name] = e
		entries = append(entries, e)
	}
	for k, e := range entries {
		if k == len(entries)-1 {
			e.OnSubmitted = func(string) { p.apply() }
		} else {
			next := entries[k+1]
			e.OnSubmitted = func(string) { p.c.ui.win.Canvas().Focus(next) }
		}
	}
	p.use.Enable()
}

// useOrAsk uses the chosen template at once if it asks for nothing, else
// puts the cursor in its first prompt.
func (p *templatePicker) useOrAsk() {
	if p.chosen == nil {
		return
	}
	if len(p.chosen.Prompts) == 0 {
		p.apply()
		return
	}
	p.c.ui.win.Canvas().Focus(p.answers[p.chosen.Prompts[0].Name])
}

// apply renders the template into the composer.
func (p *templatePicker) apply() {
	if p.chosen == nil {
		return
	}
	answers := map[string]string{}
	for k, e := range p.answers {
		if v := strings.TrimSpace(e.Text); v != "" {
			answers[k] = v
		}
	}
	text, _, err := p.c.ui.node.Desk.Render(context.Background(), p.chosen.Name, &p.c.row, p.c.ui.staff, answers)
	if err != nil {
		p.errText.SetText(err.Error())
		return
	}
	if p.chosen.Private {
		p.c.isPrivate = true
	}
	p.dlg.Hide()
	p.c.entry.SetText(text)
	p.c.refreshContext()
	p.c.ui.win.Canvas().Focus(p.c.entry)
}
