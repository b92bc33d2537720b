package app

import (
	"context"
	"fmt"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
)

// pageSize is how many messages the inbox reads at a time; it reads the
// next page when the list is scrolled near its end, so a million stored
// messages cost no more than the pages looked at.
const pageSize = 100

// inboxScreen lists messages, filtered, searched and sorted, and tells the
// conversation pane which one is selected.
type inboxScreen struct {
	ui *ui

	items   []desk.Item
	next    string // cursor of the next page, "" at the end
	loading bool

	list   *widget.List
	filter *widget.Select
	sortBy *widget.Select
	search *widget.Entry
	status *widget.Label

	selectedID int64
	quiet      bool // selecting programmatically: do not reopen the pane
	onSelect   func(desk.Item)
	debounce   *time.Timer
	pitch      float32 // a row's height plus the list's separator
}

// The filters, in the order the menu shows them.
var filters = []struct{ label, filter string }{
	{"Needs response", models.FilterNeedsResponse},
	{"Mine or my department", models.FilterMine},
	{"Unanswered over 24 h", models.FilterOver24h},
	{"Unanswered over 72 h", models.FilterOver72h},
	{"Unanswered", models.FilterUnanswered},
	{"Escalated", models.FilterEscalated},
	{"All", models.FilterAll},
}

// sortable says which filters can be sorted by urgency (the queues of
// messages still waiting for an answer).
var sortable = map[string]bool{
	models.FilterNeedsResponse: true, models.FilterMine: true, models.FilterOver24h: true,
	models.FilterOver72h: true, models.FilterUnanswered: true,
}

const (
	sortUrgency = "Most urgent first"
	sortNewest  = "Newest first"
)

func newInboxScreen(u *ui) *inboxScreen {
	s := &inboxScreen{ui: u, status: widget.NewLabel("")}
	s.status.SizeName = theme.SizeNameCaptionText
	s.list = widget.NewList(func() int { return len(s.items) }, newInboxRow, s.updateRow)
	s.list.OnSelected = s.onSelected
	s.pitch = newInboxRow().MinSize().Height + theme.Padding()
	labels := make([]string, len(filters))
	for i, f := range filters {
		labels[i] = f.label
	}
	s.filter = widget.NewSelect(labels, func(string) { s.reload() })
	s.sortBy = widget.NewSelect([]string{sortUrgency, sortNewest}, func(string) { s.reload() })
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder("Search messages and authors (Ctrl+F)")
	s.search.OnChanged = func(string) { s.searchSoon() }
	s.search.OnSubmitted = func(string) { s.reload() }
	// Set without callbacks firing a load each; the first load follows.
	s.filter.Selected = filters[0].label
	s.sortBy.Selected = sortUrgency
	s.reload()
	return s
}

func (s *inboxScreen) content() fyne.CanvasObject {
	controls := container.NewVBox(s.search, container.NewGridWithColumns(2, s.filter, s.sortBy))
	return container.NewBorder(controls, s.status, nil, nil, s.list)
}

// query is what the controls ask for.
func (s *inboxScreen) query() models.InboxQuery {
	q := models.InboxQuery{Filter: models.FilterNeedsResponse, Search: strings.TrimSpace(s.search.Text), Limit: pageSize,
		StaffID: s.ui.staff.ID}
	for _, f := range filters {
		if f.label == s.filter.Selected {
			q.Filter = f.filter
		}
	}
	if sortable[q.Filter] && s.sortBy.Selected == sortUrgency && q.Search == "" {
		q.Sort = models.SortUrgency
	}
	return q
}

// searchSoon reloads a moment after the last keystroke.
func (s *inboxScreen) searchSoon() {
	if s.debounce != nil {
		s.debounce.Stop()
	}
	s.debounce = time.AfterFunc(250*time.Millisecond, func() { fyne.Do(s.reload) })
}

// reload reads the first page of what the controls ask for.
func (s *inboxScreen) reload() {
	s.load(pageSize)
	if len(s.items) > 0 {
		s.list.ScrollToTop()
	}
	s.reselect()
}

// load replaces the list with the first n messages.
func (s *inboxScreen) load(n int) {
	q := s.query()
	if sortable[q.Filter] {
		s.sortBy.Enable()
	} else {
		s.sortBy.Disable()
	}
	if q.Filter == models.FilterMine && q.StaffID == 0 {
		s.items, s.next = nil, ""
		s.status.SetText("Sign in to see the conversations assigned to you.")
		s.list.Refresh()
		return
	}
	q.Limit = min(max(n, pageSize), 1000)
	items, next, err := s.ui.node.Desk.Inbox(context.Background(), q)
	if err != nil {
		s.status.SetText("Could not read the inbox: " + err.Error())
		return
	}
	s.items, s.next = items, next
	s.updateStatus()
	s.list.Refresh()
}

func (s *inboxScreen) updateStatus() {
	switch {
	case len(s.items) == 0 && s.search.Text != "":
		s.status.SetText(fmt.Sprintf("No messages match “%s” in %s.", strings.TrimSpace(s.search.Text), strings.ToLower(s.filter.Selected)))
	case len(s.items) == 0:
		s.status.SetText(emptyText[s.query().Filter])
	case s.next != "":
		s.status.SetText(fmt.Sprintf("%d messages shown; scroll for more", len(s.items)))
	default:
		s.status.SetText(fmt.Sprintf("%d messages", len(s.items)))
	}
}

var emptyText = map[string]string{
	models.FilterNeedsResponse: "Nothing needs a response. Well done.",
	models.FilterMine:          "Nothing is assigned to you or waiting for your department.",
	models.FilterOver24h:       "Nothing has waited more than 24 hours.",
	models.FilterOver72h:       "Nothing has waited more than 72 hours.",
	models.FilterUnanswered:    "Every message that needs a response has one.",
	models.FilterEscalated:     "No message has been escalated.",
	models.FilterAll:           "No messages yet. They appear here as the accounts are polled.",
}

// loadMore appends the next page.
func (s *inboxScreen) loadMore() {
	if s.loading || s.next == "" {
		return
	}
	s.loading = true
	defer func() { s.loading = false }()
	q := s.query()
	q.After = s.next
	items, next, err := s.ui.node.Desk.Inbox(context.Background(), q)
	if err != nil {
		s.status.SetText("Could not read more: " + err.Error())
		return
	}
	s.items, s.next = append(s.items, items...), next
	s.updateStatus()
	s.list.Refresh()
}

// refreshKeepingPlace reloads after new messages or a change of state
// without moving what the user looks at: the row at the top of the view
// stays at the top, and the selection stays on its message.
func (s *inboxScreen) refreshKeepingPlace() {
	off := s.list.GetScrollOffset()
	top := int(off / s.pitch)
	var topID int64
	if top >= 0 && top < len(s.items) {
		topID = s.items[top].ID
	}
	s.load(len(s.items))
	if topID != 0 {
		if i := s.indexOf(topID); i >= 0 && i != top {
			s.list.ScrollToOffset(off + float32(i-top)*s.pitch)
		}
	}
	s.reselect()
}

// reselect selects the selected message again after a reload, or clears
// the list's selection when it is no longer listed (the pane keeps it).
func (s *inboxScreen) reselect() {
	s.quiet = true
	defer func() { s.quiet = false }()
	if i := s.indexOf(s.selectedID); i >= 0 {
		s.list.Select(i)
		return
	}
	s.list.UnselectAll()
}

func (s *inboxScreen) indexOf(id int64) int {
	if id == 0 {
		return -1
	}
	for i, it := range s.items {
		if it.ID == id {
			return i
		}
	}
	return -1
}

func (s *inboxScreen) onSelected(id widget.ListItemID) {
	if id < 0 || id >= len(s.items) {
		return
	}
	s.selectedID = s.items[id].ID
	if s.quiet || s.onSelect == nil {
		return
	}
	s.onSelect(s.items[id])
}

// step selects the next (+1) or previous (-1) message.
func (s *inboxScreen) step(delta int) {
	if len(s.items) == 0 {
		return
	}
	i := s.indexOf(s.selectedID) + delta
	if s.indexOf(s.selectedID) < 0 {
		i = 0
	}
	i = max(0, min(i, len(s.items)-1))
	if i >= len(s.items)-5 {
		s.loadMore()
	}
	s.list.Select(i)
	s.list.ScrollTo(i)
}

// selected returns the selected message, if it is listed.
func (s *inboxScreen) selected() (desk.Item, bool) {
	if i := s.indexOf(s.selectedID); i >= 0 {
		return s.items[i], true
	}
	return desk.Item{}, false
}

// A row: the platform badge beside three lines: author, kind and age with
// the response clock on the right; the snippet; badges, stage, department
// and sentiment.
func newInboxRow() fyne.CanvasObject {
	title := widget.NewLabel("Author · platform · age")
	title.TextStyle.Bold = true
	title.Truncation = fyne.TextTruncateEllipsis
	clock := widget.NewLabel("00 min left")
	clock.Alignment = fyne.TextAlignTrailing
	snippet := widget.NewLabel("snippet")
	snippet.Truncation = fyne.TextTruncateEllipsis
	badges := widget.NewLabel("needs response")
	badges.SizeName = theme.SizeNameCaptionText
	badges.Truncation = fyne.TextTruncateEllipsis
	lines := container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()),
		container.NewBorder(nil, nil, nil, clock, title), snippet, badges)
	return container.NewBorder(nil, nil, newPlatformBadge(), nil, lines)
}

func (s *inboxScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.items) {
		return
	}
	if id >= len(s.items)-10 && s.next != "" && !s.loading {
		go fyne.Do(s.loadMore)
	}
	it := s.items[id]
	row := o.(*fyne.Container)
	lines := row.Objects[0].(*fyne.Container)
	first := lines.Objects[0].(*fyne.Container)
	title, clock := first.Objects[0].(*widget.Label), first.Objects[1].(*widget.Label)
	snippet, badges := lines.Objects[1].(*widget.Label), lines.Objects[2].(*widget.Label)
	setPlatformBadge(row.Objects[1].(*fyne.Container), it.Platform)

	title.SetText(fmt.Sprintf("%s · %s %s · %s", it.Author, platformName(it.Platform), kindName(it.Kind), humanize.Age(s.ui.now().Sub(it.CreatedAt))))
	snippet.SetText(humanize.Snippet(it.Text, 120))
	rt := s.ui.node.Desk.Pack().ResponseTime
	text, imp := responseClock(it, rt.TargetMinutes, rt.WarnMinutes, s.ui.node.Desk.OpenBetween, s.ui.now())
	clock.Importance = imp
	clock.SetText(text)
	b, bimp := rowBadges(it, s.ui.crisis.watching(it.Text))
	badges.Importance = bimp
	badges.SetText(b)
	first.Refresh() // the clock's width changes with its text
}

// responseClock is the row's clock against the brand's target, in the
// location's opening hours (open measures them): it stops while the
// store is closed.
func responseClock(it desk.Item, targetMin, warnMin int, open func(a, b time.Time) time.Duration, now time.Time) (string, widget.Importance) {
	if targetMin <= 0 {
		targetMin = 60
	}
	if warnMin <= 0 {
		warnMin = targetMin * 3 / 4
	}
	switch {
	case it.AnsweredAt != nil:
		return "answered in " + humanize.Age(open(it.CreatedAt, *it.AnsweredAt)), widget.SuccessImportance
	case it.Status == models.StatusDismissed:
		return "no response needed", widget.LowImportance
	case !it.NeedsResponse:
		return "", widget.LowImportance
	case it.ReplyState != "" && it.ReplyState != "failed" && it.ReplyState != "rejected":
		return "reply " + strings.ReplaceAll(it.ReplyState, "_", " "), widget.MediumImportance
	}
	waited := open(it.CreatedAt, now) // the clock stops while the store is closed
	target := time.Duration(targetMin) * time.Minute
	switch {
	case waited >= target:
		return humanize.Age(waited-target) + " over target", widget.DangerImportance
	case waited >= time.Duration(warnMin)*time.Minute:
		return humanize.Age(target-waited) + " left", widget.WarningImportance
	default:
		return humanize.Age(target-waited) + " left", widget.MediumImportance
	}
}

// rowBadges lists a row's badges and stage, department and sentiment;
// watched is the crisis broadcast's watch keyword the message mentions.
func rowBadges(it desk.Item, watched string) (string, widget.Importance) {
	var parts []string
	imp := widget.LowImportance
	if it.Crisis != "" {
		parts = append(parts, "CRISIS "+strings.ReplaceAll(it.Crisis, "_", " "))
		imp = widget.DangerImportance
	}
	if watched != "" {
		parts = append(parts, "CRISIS WATCH "+watched)
		imp = widget.DangerImportance
	}
	if it.Escalated {
		parts = append(parts, "escalated")
		if imp == widget.LowImportance {
			imp = widget.WarningImportance
		}
	}
	if it.Waiting > 1 {
		parts = append(parts, fmt.Sprintf("%d messages waiting", it.Waiting))
	}
	if it.NeedsResponse && it.Status == models.StatusOpen {
		parts = append(parts, "needs response")
		if imp == widget.LowImportance {
			imp = widget.HighImportance
		}
	}
	if it.Stage != "" && it.Stage != "none" {
		parts = append(parts, strings.ReplaceAll(it.Stage, "_", "-"))
	}
	if it.Department != "" && it.Department != "none" {
		parts = append(parts, strings.ReplaceAll(it.Department, "_", " "))
	}
	parts = append(parts, sentimentWord(it.Sentiment))
	return strings.Join(parts, " · "), imp
}

func sentimentWord(v float64) string {
	switch {
	case v <= -0.5:
		return fmt.Sprintf("very negative (%+.1f)", v)
	case v < -0.05:
		return fmt.Sprintf("negative (%+.1f)", v)
	case v >= 0.5:
		return fmt.Sprintf("very positive (%+.1f)", v)
	case v > 0.05:
		return fmt.Sprintf("positive (%+.1f)", v)
	}
	return "neutral"
}

var platforms = map[string]struct {
	name   string
	letter string
	color  color.NRGBA
}{
	"facebook":  {"Facebook", "f", color.NRGBA{0x18, 0x77, 0xf2, 0xff}},
	"instagram": {"Instagram", "ig", color.NRGBA{0xc1, 0x35, 0x84, 0xff}},
	"google":    {"Google", "G", color.NRGBA{0x34, 0xa8, 0x53, 0xff}},
	"mastodon":  {"Mastodon", "M", color.NRGBA{0x63, 0x64, 0xff, 0xff}},
	"bluesky":   {"Bluesky", "b", color.NRGBA{0x11, 0x85, 0xfe, 0xff}},
	// Platforms whose messages come by importing their exports.
	"yelp":        {"Yelp", "Y", color.NRGBA{0xd3, 0x23, 0x23, 0xff}},
	"tripadvisor": {"Tripadvisor", "T", color.NRGBA{0x00, 0xa6, 0x80, 0xff}},
	"x":           {"X", "X", color.NRGBA{0x20, 0x20, 0x20, 0xff}},
	"tiktok":      {"TikTok", "t", color.NRGBA{0x25, 0xf4, 0xee, 0xff}},
}

func platformName(p string) string {
	if v, ok := platforms[p]; ok {
		return v.name
	}
	return p
}

func kindName(k string) string {
	switch k {
	case "dm":
		return "message"
	case "":
		return ""
	}
	return k
}

// newPlatformBadge is a small coloured disc with the platform's letter.
func newPlatformBadge() fyne.CanvasObject {
	disc := canvas.NewCircle(color.Gray{Y: 0x80})
	letter := canvas.NewText("?", color.White)
	letter.TextStyle.Bold = true
	letter.Alignment = fyne.TextAlignCenter
	return container.NewGridWrap(fyne.NewSize(30, 30), container.NewStack(disc, container.NewCenter(letter)))
}

func setPlatformBadge(badge *fyne.Container, platform string) {
	stack := badge.Objects[0].(*fyne.Container)
	disc := stack.Objects[0].(*canvas.Circle)
	letter := stack.Objects[1].(*fyne.Container).Objects[0].(*canvas.Text)
	p, ok := platforms[platform]
	if !ok {
		p.letter, p.color = strings.ToUpper(platform[:min(1, len(platform))]), color.NRGBA{0x70, 0x70, 0x70, 0xff}
	}
	if disc.FillColor != p.color || letter.Text != p.letter {
		disc.FillColor = p.color
		letter.Text = p.letter
		disc.Refresh()
		letter.Refresh()
	}
}
