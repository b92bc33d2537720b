package app

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/templates"
)

// libraryScreen is the store's template library: every template with
// where it comes from (headquarters, the region, or the store's own
// version), the difference a store's version makes to the one it
// overrides, and, for a manager, overriding and reverting.
type libraryScreen struct {
	u       *ui
	entries []desk.LibraryEntry
	list    *widget.List
	detail  *fyne.Container
	status  *widget.Label
	sel     int
}

var levelNames = map[string]string{desk.LevelHQ: "Headquarters", desk.LevelRegion: "Region", desk.LevelStore: "This store"}

func newLibraryScreen(u *ui) *libraryScreen {
	s := &libraryScreen{u: u, sel: -1, status: widget.NewLabel(""), detail: container.NewVBox(widget.NewLabel("Select a template."))}
	s.list = newTemplateList(func() int { return len(s.entries) }, func(i int) (string, string, bool) {
		e := s.entries[i]
		text := levelNames[e.Level]
		if e.Level == desk.LevelStore && e.Inherited != nil {
			text = "This store (overrides " + levelNames[e.InheritedLevel] + ")"
		}
		return templateTitle(e.Template), text, e.Level == desk.LevelStore
	})
	s.list.OnSelected = func(i widget.ListItemID) { s.sel = i; s.showDetail() }
	return s
}

func (s *libraryScreen) content() fyne.CanvasObject {
	left := container.NewBorder(nil, s.status, nil, nil, s.list)
	split := container.NewHSplit(left, container.NewVScroll(container.NewPadded(s.detail)))
	split.Offset = 0.45
	return split
}

func (s *libraryScreen) reload() {
	entries, err := s.u.node.TemplateLibrary(context.Background())
	if err != nil {
		s.status.SetText("Could not read the templates: " + err.Error())
		return
	}
	s.entries = entries
	own := 0
	for _, e := range entries {
		if e.Level == desk.LevelStore {
			own++
		}
	}
	s.status.SetText(fmt.Sprintf("%d templates, %d of them this store's own version. Headquarters' and the region's updates never replace the store's own.", len(entries), own))
	s.list.Refresh()
	if s.sel >= 0 && s.sel < len(entries) {
		s.showDetail()
	}
}

func (s *libraryScreen) showDetail() {
	if s.sel < 0 || s.sel >= len(s.entries) {
		return
	}
	e := s.entries[s.sel]
	t := e.Template
	objs := []fyne.CanvasObject{
		widget.NewLabelWithStyle(t.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		wrapped(fmt.Sprintf("%s · category %s · from %s", t.Name, words(t.Category), strings.ToLower(levelNames[e.Level]))),
		widget.NewSeparator(), wrapped(t.Body),
	}
	if e.Level == desk.LevelStore {
		if e.Inherited != nil {
			diff := lineDiff(e.Inherited.Body, t.Body)
			if diff == "" {
				diff = "The same text as the inherited version."
			}
			d := widget.NewLabel(fmt.Sprintf("Differences from %s version (− theirs, + this store's):\n%s", whose(e.InheritedLevel), diff))
			d.Wrapping = fyne.TextWrapWord
			objs = append(objs, widget.NewSeparator(), d)
		} else {
			objs = append(objs, widget.NewSeparator(), wrapped("This store's own template: nobody else has it."))
		}
	}
	override := widget.NewButton("Change for this store…", func() { s.edit(e) })
	buttons := []fyne.CanvasObject{override}
	if e.Level == desk.LevelStore {
		label := "Revert to " + whose(e.InheritedLevel) + " version…"
		if e.Inherited == nil {
			label = "Delete this store's template…"
		}
		buttons = append(buttons, widget.NewButton(label, func() {
			dialog.ShowConfirm(label, "The store's own version goes.", func(ok bool) {
				if !ok {
					return
				}
				if err := s.u.node.Desk.RevertTemplate(context.Background(), s.u.staff.Handle, t.Name, e.Inherited, e.InheritedLevel); err != nil {
					s.u.showError("Revert", err)
					return
				}
				s.reload()
			}, s.u.win)
		}))
	}
	objs = append(objs, widget.NewSeparator(), container.NewHBox(buttons...))
	s.detail.Objects = objs
	s.detail.Refresh()
}

// edit opens the template's text for this store's own version.
func (s *libraryScreen) edit(e desk.LibraryEntry) {
	if !s.u.requireStaff() {
		return
	}
	body := widget.NewMultiLineEntry()
	body.Wrapping = fyne.TextWrapWord
	body.SetText(e.Template.Body)
	body.SetMinRowsVisible(8)
	d := dialog.NewForm("This store's version of "+e.Template.Title, "Save", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Text", body)}, func(ok bool) {
			if !ok {
				return
			}
			t := e.Template
			t.Body = body.Text
			if err := s.u.node.Desk.OverrideTemplate(context.Background(), s.u.staff.Handle, t); err != nil {
				s.u.showError("Save the template", err)
				return
			}
			s.u.notice("Saved this store's version of " + t.Title + ".")
			s.reload()
		}, s.u.win)
	d.Resize(fyne.NewSize(640, 420))
	d.Show()
}

// whose is a level's possessive: "headquarters'", "the region's".
func whose(level string) string {
	if level == desk.LevelRegion {
		return "the region's"
	}
	return "headquarters'"
}

// newTemplateList is a list of templates, each with its level on the
// right; row gives a row's title, level and whether to mark the level
// (a local version or an override).
func newTemplateList(count func() int, row func(i int) (title, level string, marked bool)) *widget.List {
	return widget.NewList(count,
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, nil, widget.NewLabel("Region Pacific Northwest"), widget.NewLabel("Template title"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= count() {
				return
			}
			title, level, marked := row(i)
			r := o.(*fyne.Container)
			r.Objects[0].(*widget.Label).SetText(title)
			lvl := r.Objects[1].(*widget.Label)
			lvl.SetText(level)
			lvl.Importance = widget.MediumImportance
			if marked {
				lvl.Importance = widget.WarningImportance
			}
			lvl.Refresh()
		})
}

func templateTitle(t templates.Template) string { return fmt.Sprintf("%s (%s)", t.Title, t.Name) }
