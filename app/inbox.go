package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
)

// inboxScreen lists the messages that need a response and shows the one
// selected.
type inboxScreen struct {
	ui       *ui
	items    []desk.Item
	list     *widget.List
	filter   *widget.Select
	status   *widget.Label
	detail   *widget.Label
	reasons  *widget.Label
	selected int64
}

var filterNames = map[string]string{
	"Needs response": models.FilterNeedsResponse,
	"Unanswered":     models.FilterUnanswered,
	"All":            models.FilterAll,
}

func newInboxScreen(u *ui) *inboxScreen {
	s := &inboxScreen{ui: u, status: widget.NewLabel(""), detail: widget.NewLabel("Select a message."), reasons: widget.NewLabel("")}
	s.detail.Wrapping = fyne.TextWrapWord
	s.reasons.Wrapping = fyne.TextWrapWord
	s.list = widget.NewList(
		func() int { return len(s.items) },
		func() fyne.CanvasObject {
			title := widget.NewLabel("author")
			title.TextStyle.Bold = true
			return container.NewVBox(title, widget.NewLabel("snippet"))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(s.items) {
				return
			}
			it := s.items[id]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(fmt.Sprintf("%s · %s · %s", it.Author, it.Platform, humanize.Age(time.Since(it.CreatedAt))))
			box.Objects[1].(*widget.Label).SetText(humanize.Snippet(it.Text, 60))
		})
	s.list.OnSelected = s.onSelected
	s.filter = widget.NewSelect([]string{"Needs response", "Unanswered", "All"}, func(string) { s.reload() })
	s.filter.SetSelected("Needs response")
	return s
}

func (s *inboxScreen) content() fyne.CanvasObject {
	loc := s.ui.node.Desk.Location()
	header := container.NewBorder(nil, nil, widget.NewLabelWithStyle(loc.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.filter)
	left := container.NewBorder(header, s.status, nil, nil, s.list)
	right := container.NewVScroll(container.NewVBox(s.detail, widget.NewSeparator(), s.reasons))
	split := container.NewHSplit(left, right)
	split.Offset = 0.4
	return split
}

// reload reads the first page of the selected filter.
func (s *inboxScreen) reload() {
	filter := filterNames[s.filter.Selected]
	items, _, err := s.ui.node.Desk.Inbox(context.Background(), models.InboxQuery{Filter: filter, Limit: 200})
	if err != nil {
		s.status.SetText("Could not read the inbox: " + err.Error())
		return
	}
	s.items = items
	s.status.SetText(fmt.Sprintf("%d messages", len(items)))
	s.list.Refresh()
}

func (s *inboxScreen) onSelected(id widget.ListItemID) {
	if id >= len(s.items) {
		return
	}
	it := s.items[id]
	s.selected = it.ID
	s.detail.SetText(fmt.Sprintf("%s on %s (%s)\n%s\n\n%s", it.Author, it.Platform, it.Kind, it.CreatedAt.Local().Format("Mon Jan 2 15:04"), it.Text))
	var b strings.Builder
	fmt.Fprintf(&b, "Stage: %s · Department: %s · Sentiment: %+.2f", it.Stage, it.Department, it.Sentiment)
	if it.Crisis != "" {
		fmt.Fprintf(&b, " · CRISIS: %s", it.Crisis)
	}
	b.WriteString("\n\nWhy:\n")
	for _, r := range it.Reasons {
		fmt.Fprintf(&b, "• %s = %s (%s %s)\n", r.Field, r.Value, r.Rule, strings.Join(r.Words, ", "))
	}
	s.reasons.SetText(b.String())
}
