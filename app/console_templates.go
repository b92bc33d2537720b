package app

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/sync/records"
)

// templateLevelsScreen is the console's template library: headquarters'
// templates and the regions' (a region's template of the same name
// overrides headquarters' for its stores, and the difference is shown);
// headquarters publishes for every store, a region for its own. Stores'
// own versions stay at the stores.
type templateLevelsScreen struct {
	c        *console
	versions []records.TemplateVersion
	list     *widget.List
	detail   *fyne.Container
	status   *widget.Label
	sel      int
}

func newTemplateLevelsScreen(c *console) *templateLevelsScreen {
	s := &templateLevelsScreen{c: c, sel: -1, status: widget.NewLabel(""), detail: container.NewVBox(widget.NewLabel("Select a template."))}
	s.list = newTemplateList(func() int { return len(s.versions) }, func(i int) (string, string, bool) {
		v := s.versions[i]
		if s.overridden(v) != nil {
			return templateTitle(v.Template), scopeName(v.Scope) + " (overrides headquarters)", true
		}
		return templateTitle(v.Template), scopeName(v.Scope), false
	})
	s.list.OnSelected = func(i widget.ListItemID) { s.sel = i; s.showDetail() }
	return s
}

func scopeName(scope string) string {
	if scope == "hq" {
		return "Headquarters"
	}
	return "Region " + strings.TrimPrefix(scope, "region:")
}

// overridden is headquarters' template a region's version overrides.
func (s *templateLevelsScreen) overridden(v records.TemplateVersion) *records.TemplateVersion {
	if v.Scope == "hq" {
		return nil
	}
	for i := range s.versions {
		if s.versions[i].Scope == "hq" && s.versions[i].Template.Name == v.Template.Name {
			return &s.versions[i]
		}
	}
	return nil
}

func (s *templateLevelsScreen) content() fyne.CanvasObject {
	scope, _ := s.c.node.Net.Book.TemplateScope()
	add := widget.NewButton("New template…", func() { s.edit(templates.Template{Category: "general"}, true) })
	left := container.NewBorder(container.NewHBox(add, widget.NewLabel("Publishing as "+scopeName(scope))), s.status, nil, nil, s.list)
	split := container.NewHSplit(left, container.NewVScroll(container.NewPadded(s.detail)))
	split.Offset = 0.45
	return split
}

func (s *templateLevelsScreen) reload() {
	vs, err := s.c.node.Net.Book.TemplateLevels(context.Background())
	if err != nil {
		s.status.SetText("Could not read the templates: " + err.Error())
		return
	}
	s.versions = vs
	if len(vs) == 0 {
		s.status.SetText("No templates published yet: stores use the built-in ones.")
	} else {
		s.status.SetText(fmt.Sprintf("%d templates", len(vs)))
	}
	s.list.Refresh()
	if s.sel >= 0 && s.sel < len(vs) {
		s.showDetail()
	}
}

func (s *templateLevelsScreen) showDetail() {
	if s.sel < 0 || s.sel >= len(s.versions) {
		return
	}
	v := s.versions[s.sel]
	objs := []fyne.CanvasObject{
		widget.NewLabelWithStyle(v.Template.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		wrapped(fmt.Sprintf("%s · %s · published by %s on %s", v.Template.Name, scopeName(v.Scope), v.Author, v.PublishedAt.Local().Format("2 Jan 15:04"))),
		widget.NewSeparator(), wrapped(v.Template.Body),
	}
	if hq := s.overridden(v); hq != nil {
		diff := lineDiff(hq.Template.Body, v.Template.Body)
		if diff == "" {
			diff = "The same text as headquarters'."
		}
		objs = append(objs, widget.NewSeparator(), wrapped("Differences from headquarters' version (− headquarters, + the region's):\n"+diff))
	}
	mine, _ := s.c.node.Net.Book.TemplateScope()
	label := "Edit…"
	if v.Scope != mine {
		label = "Override for this region…"
		if s.c.isHQ() {
			label = ""
		}
	}
	if label != "" {
		objs = append(objs, widget.NewSeparator(), widget.NewButton(label, func() { s.edit(v.Template, false) }))
	}
	s.detail.Objects = objs
	s.detail.Refresh()
}

// edit opens a template for publishing in this node's scope.
func (s *templateLevelsScreen) edit(t templates.Template, isNew bool) {
	name, title, category, body := widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewMultiLineEntry()
	name.SetText(t.Name)
	title.SetText(t.Title)
	category.SetText(t.Category)
	body.SetText(t.Body)
	body.Wrapping = fyne.TextWrapWord
	body.SetMinRowsVisible(8)
	if !isNew {
		name.Disable()
	}
	d := dialog.NewForm("Publish a template", "Publish", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", name), widget.NewFormItem("Title", title), widget.NewFormItem("Category", category),
		widget.NewFormItem("Text", body)}, func(ok bool) {
		if !ok {
			return
		}
		t.Name, t.Title, t.Category, t.Body = strings.TrimSpace(name.Text), strings.TrimSpace(title.Text), strings.TrimSpace(category.Text), body.Text
		if err := s.c.node.Net.Book.PublishTemplates(context.Background(), []templates.Template{t}); err != nil {
			s.c.showError("Publish the template", err)
			return
		}
		s.c.notice("Published " + t.Title + ".")
		s.reload()
	}, s.c.win)
	d.Resize(fyne.NewSize(660, 480))
	d.Show()
}
