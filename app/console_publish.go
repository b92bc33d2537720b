package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/records"
)

// crisisScreen: headquarters composes a holding statement and watch
// keywords and sends them; every console sees which stores have
// acknowledged.
type crisisScreen struct {
	c        *console
	title    *widget.Entry
	stmt     *widget.Entry
	keywords *widget.Entry
	regions  *widget.Entry
	list     *fyne.Container
}

func newCrisisScreen(c *console) *crisisScreen {
	s := &crisisScreen{c: c, list: container.NewVBox()}
	s.title = widget.NewEntry()
	s.title.SetPlaceHolder("e.g. Lettuce recall, Pacific Northwest")
	s.stmt = widget.NewMultiLineEntry()
	s.stmt.SetPlaceHolder("The holding statement stores post or send when asked")
	s.stmt.SetMinRowsVisible(4)
	s.stmt.Wrapping = fyne.TextWrapWord
	s.keywords = widget.NewEntry()
	s.keywords.SetPlaceHolder("Watch keywords, comma-separated: lettuce, e. coli, recall")
	s.regions = widget.NewEntry()
	s.regions.SetPlaceHolder("Regions, comma-separated (empty: every region)")
	return s
}

func (s *crisisScreen) content() fyne.CanvasObject {
	var top fyne.CanvasObject = widget.NewLabel("Crisis broadcasts come from headquarters; your stores' acknowledgements are below.")
	if s.c.isHQ() {
		form := widget.NewForm(
			widget.NewFormItem("Title", s.title),
			widget.NewFormItem("Holding statement", s.stmt),
			widget.NewFormItem("Watch keywords", s.keywords),
			widget.NewFormItem("Regions", s.regions))
		send := widget.NewButton("Send to the stores…", s.send)
		send.Importance = widget.HighImportance
		top = container.NewVBox(widget.NewLabelWithStyle("New crisis broadcast", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), form, send, widget.NewSeparator())
	}
	return container.NewBorder(top, nil, nil, nil, container.NewVScroll(s.list))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *crisisScreen) send() {
	cr := change.Crisis{Title: strings.TrimSpace(s.title.Text), Statement: strings.TrimSpace(s.stmt.Text),
		Keywords: splitList(s.keywords.Text), Regions: splitList(s.regions.Text)}
	switch {
	case cr.Title == "":
		s.c.showError("Crisis broadcast", errors.New("give it a title"))
		return
	case cr.Statement == "":
		s.c.showError("Crisis broadcast", errors.New("write the holding statement the stores will use"))
		return
	case len(cr.Keywords) == 0:
		s.c.showError("Crisis broadcast", errors.New("give at least one keyword for the stores' inboxes to watch"))
		return
	}
	to := "every store"
	if len(cr.Regions) > 0 {
		to = "the stores of " + strings.Join(cr.Regions, ", ")
	}
	dialog.ShowConfirm("Send the crisis broadcast?", fmt.Sprintf("“%s” goes to %s at once.", cr.Title, to), func(ok bool) {
		if !ok {
			return
		}
		if _, err := s.c.node.Net.Book.PublishCrisis(context.Background(), cr); err != nil {
			s.c.showError("Crisis broadcast", err)
			return
		}
		s.title.SetText("")
		s.stmt.SetText("")
		s.keywords.SetText("")
		s.regions.SetText("")
		s.c.notice("Crisis broadcast sent: " + cr.Title)
		s.reload()
	}, s.c.win)
}

// reload lists the broadcasts with who has acknowledged and who has not.
func (s *crisisScreen) reload() {
	ctx := context.Background()
	book := s.c.node.Net.Book
	crises, err := book.Crises(ctx)
	if err != nil {
		s.list.Objects = []fyne.CanvasObject{widget.NewLabel("Could not read the broadcasts: " + err.Error())}
		s.list.Refresh()
		return
	}
	dir, _ := book.Directory(ctx)
	var objs []fyne.CanvasObject
	if len(crises) == 0 {
		objs = append(objs, widget.NewLabel("No crisis broadcasts."))
	}
	for _, cr := range crises {
		var expected, missing []string
		for _, d := range dir {
			if d.Role != "store" || d.Revoked || (len(cr.Regions) > 0 && !slices.Contains(cr.Regions, d.Region)) {
				continue
			}
			if !s.c.isHQ() && d.Region != s.c.self.Region {
				continue
			}
			expected = append(expected, d.Location)
			if !slices.ContainsFunc(cr.Acks, func(a records.AckView) bool { return a.Location == d.Location }) {
				missing = append(missing, d.Location)
			}
		}
		head := widget.NewLabelWithStyle(fmt.Sprintf("%s · sent %s", cr.Title, cr.At.Local().Format("Mon 2 Jan 15:04")), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		ack := fmt.Sprintf("Acknowledged by %d of %d stores", len(expected)-len(missing), len(expected))
		if len(missing) > 0 {
			ack += " · waiting for " + strings.Join(missing, ", ")
		}
		ackLabel := wrapped(ack)
		if len(missing) > 0 {
			ackLabel.Importance = widget.WarningImportance
		} else {
			ackLabel.Importance = widget.SuccessImportance
		}
		objs = append(objs, head, wrapped("“"+cr.Statement+"”"), wrapped("Watching: "+strings.Join(cr.Keywords, ", ")), ackLabel, widget.NewSeparator())
	}
	s.list.Objects = objs
	s.list.Refresh()
}

// networkScreen lists the nodes: role, location, region, whether they
// are up, and how many of their changes this node holds.
type networkScreen struct {
	c     *console
	table *widget.Table
	rows  [][]string
	info  *widget.Label
}

var networkColumns = []string{"Node", "Role", "Location", "Region", "State", "Last change", "Changes held"}

func newNetworkScreen(c *console) *networkScreen {
	s := &networkScreen{c: c, info: wrapped("")}
	s.table = widget.NewTableWithHeaders(func() (int, int) { return len(s.rows), len(networkColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("store-riverside-0000")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < len(s.rows) {
				o.(*widget.Label).SetText(s.rows[id.Row][id.Col])
			}
		})
	s.table.ShowHeaderColumn = false
	s.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(networkColumns[id.Col])
		}
	}
	for i, w := range []float32{260, 80, 230, 170, 110, 120, 120} {
		s.table.SetColumnWidth(i, w)
	}
	return s
}

func (s *networkScreen) content() fyne.CanvasObject {
	return container.NewBorder(s.info, nil, nil, nil, s.table)
}

func (s *networkScreen) reload() {
	ctx := context.Background()
	dir, err := s.c.node.Net.Book.Directory(ctx)
	if err != nil {
		s.info.SetText("Could not read the directory: " + err.Error())
		return
	}
	live := map[string]string{}
	lastSeen := map[string]time.Time{}
	if g := s.c.node.Net.Gossip; g != nil {
		for _, m := range g.Members() {
			live[m.Name] = m.State
		}
	}
	if last, err := s.c.node.Store.FedLastChange(ctx); err == nil {
		lastSeen = last
	}
	s.rows = nil
	up := 0
	for _, d := range dir {
		if !s.c.isHQ() && d.Role == "store" && d.Region != s.c.self.Region {
			continue
		}
		state := "not seen"
		switch {
		case d.Revoked:
			state = "revoked"
		case d.NodeID == s.c.self.NodeID:
			state = "this node"
		case live[d.NodeID] != "":
			state = live[d.NodeID]
		case s.c.node.DemoRelayed:
			state = "demo (in this app)"
		case s.c.node.Net.Gossip == nil:
			state = "offline"
		}
		if state == "alive" || state == "this node" || state == "demo (in this app)" {
			up++
		}
		seen := "–"
		if at, ok := lastSeen[d.NodeID]; ok {
			seen = at.Local().Format("2 Jan 15:04")
		}
		s.rows = append(s.rows, []string{d.NodeID, d.Role, d.Location, d.Region, state, seen, fmt.Sprint(d.Head)})
	}
	s.info.SetText(fmt.Sprintf("%d nodes, %d up. “Last change” is when this node last received a change the node wrote; "+
		"“Changes held” is how many of its signed changes this node has: a node that is behind shows fewer than its peers do.", len(s.rows), up))
	s.table.Refresh()
}

// guidelineScreen is headquarters' guideline pack editor: the document
// (raw JSON), the main settings as a form, validation with the problems
// named, a preview that checks a sample reply against the draft, publish,
// the version history, the difference to any version, and roll back.
type guidelineScreen struct {
	c        *console
	doc      *widget.Entry
	title    *widget.Entry
	target   *widget.Entry
	warn     *widget.Entry
	domains  *widget.Entry
	sample   *widget.Entry
	problems *widget.Label
	preview  *widget.Label
	history  *widget.List
	versions []records.GuidelineVersion
	diff     *widget.Label
	selected int // the version picked in the history, or -1
}

func newGuidelineScreen(c *console) *guidelineScreen {
	s := &guidelineScreen{c: c, selected: -1}
	s.doc = widget.NewMultiLineEntry()
	s.doc.TextStyle = fyne.TextStyle{Monospace: true}
	s.doc.OnChanged = func(string) { s.validate() }
	s.title = widget.NewEntry()
	s.target = widget.NewEntry()
	s.warn = widget.NewEntry()
	s.warn.SetPlaceHolder("0: at three quarters of the target")
	s.domains = widget.NewEntry()
	s.domains.SetPlaceHolder("Domains replies may link to, comma-separated")
	s.sample = widget.NewMultiLineEntry()
	s.sample.SetText("Hi Sam, sorry about your order! Call me on 503-555-0199 and we will give you a full refund guaranteed.\n\n– Maria, Copper Kettle Riverside")
	s.sample.Wrapping = fyne.TextWrapWord
	s.sample.SetMinRowsVisible(3)
	s.sample.OnChanged = func(string) { s.validate() }
	s.problems = wrapped("")
	s.preview = wrapped("")
	s.diff = widget.NewLabel("")
	s.diff.TextStyle = fyne.TextStyle{Monospace: true}
	s.history = widget.NewList(func() int { return len(s.versions) },
		func() fyne.CanvasObject {
			return widget.NewLabel("v12 · Copper Kettle brand voice · 22 Nov 10:00 (current)")
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(s.versions) {
				v := s.versions[i]
				cur := ""
				if v.Current {
					cur = " (current)"
				}
				o.(*widget.Label).SetText(fmt.Sprintf("v%d · %s · %s%s", v.Version, v.Title, v.PublishedAt.Local().Format("2 Jan 15:04"), cur))
			}
		})
	s.history.OnSelected = func(i widget.ListItemID) { s.selected = i; s.showDiff(i) }
	return s
}

func (s *guidelineScreen) content() fyne.CanvasObject {
	apply := widget.NewButton("Apply to the document", s.applyForm)
	form := widget.NewForm(widget.NewFormItem("Title", s.title), widget.NewFormItem("Response target (minutes)", s.target),
		widget.NewFormItem("Warn at (minutes)", s.warn),
		widget.NewFormItem("Approved link domains", s.domains))
	publish := widget.NewButton("Publish…", s.publish)
	publish.Importance = widget.HighImportance
	rollback := widget.NewButton("Roll back to the selected version…", s.rollback)
	editor := container.NewBorder(container.NewVBox(form, apply, widget.NewSeparator(),
		widget.NewLabelWithStyle("Document (JSON, docs/guideline-pack.md)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})),
		container.NewVBox(s.problems, widget.NewLabelWithStyle("Preview: the checks on a sample reply", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			s.sample, s.preview, publish), nil, nil, s.doc)
	side := container.NewBorder(widget.NewLabelWithStyle("Versions", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		rollback, nil, nil, container.NewVSplit(s.history, container.NewScroll(s.diff)))
	split := container.NewHSplit(editor, side)
	split.Offset = 0.55
	return split
}

// reload loads the history and, the first time, the current document.
func (s *guidelineScreen) reload() {
	ctx := context.Background()
	vs, err := s.c.node.Net.Book.Guidelines(ctx)
	if err != nil {
		s.problems.SetText("Could not read the versions: " + err.Error())
		return
	}
	s.versions = vs
	s.history.Refresh()
	if s.doc.Text == "" {
		doc, err := s.c.node.Net.Book.CurrentGuideline(ctx, "")
		if errors.Is(err, records.ErrNotFound) {
			doc = guidelines.DefaultJSON() // a starting point
		} else if err != nil {
			s.problems.SetText("Could not read the current pack: " + err.Error())
			return
		}
		s.doc.SetText(string(doc))
	}
}

// parsed reads the editor's document.
func (s *guidelineScreen) parsed() (*guidelines.Pack, error) {
	return guidelines.Parse([]byte(s.doc.Text))
}

// validate shows the document's problems and the preview's findings, and
// fills the form from the document.
func (s *guidelineScreen) validate() {
	p, err := s.parsed()
	if err != nil {
		s.problems.SetText("Problems:\n" + err.Error())
		s.problems.Importance = widget.DangerImportance
		s.problems.Refresh()
		s.preview.SetText("")
		return
	}
	s.problems.SetText(fmt.Sprintf("Valid: %s, version %d.", p.Title, p.Version))
	s.problems.Importance = widget.SuccessImportance
	s.problems.Refresh()
	s.title.SetText(p.Title)
	s.target.SetText(fmt.Sprint(p.ResponseTime.TargetMinutes))
	s.warn.SetText(fmt.Sprint(p.ResponseTime.WarnMinutes))
	s.domains.SetText(strings.Join(p.ApprovedDomains, ", "))
	checker, err := brand.NewChecker(p)
	if err != nil {
		s.preview.SetText("The checks cannot run: " + err.Error())
		return
	}
	fs := checker.Check(s.sample.Text, brand.Context{Platform: "facebook", Public: true})
	if len(fs) == 0 {
		s.preview.SetText("No findings: this reply could go out.")
		return
	}
	var lines []string
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("%s · %s: %s", strings.ToUpper(f.Severity), f.Rule, f.Message))
	}
	s.preview.SetText(strings.Join(lines, "\n"))
}

// applyForm writes the form's values into the document.
func (s *guidelineScreen) applyForm() {
	var d map[string]any
	if err := json.Unmarshal([]byte(s.doc.Text), &d); err != nil {
		s.c.showError("Apply", fmt.Errorf("the document is not valid JSON: %w", err))
		return
	}
	var target, warn int
	if _, err := fmt.Sscan(s.target.Text, &target); err != nil || target < 1 {
		s.c.showError("Apply", fmt.Errorf("response target: %q is not a number of minutes", s.target.Text))
		return
	}
	if strings.TrimSpace(s.warn.Text) != "" {
		if _, err := fmt.Sscan(s.warn.Text, &warn); err != nil || warn < 0 {
			s.c.showError("Apply", fmt.Errorf("warn at: %q is not a number of minutes", s.warn.Text))
			return
		}
	}
	d["title"] = strings.TrimSpace(s.title.Text)
	rt, _ := d["response_time"].(map[string]any)
	if rt == nil {
		rt = map[string]any{}
	}
	rt["target_minutes"] = target
	rt["warn_minutes"] = warn
	d["response_time"] = rt
	d["approved_domains"] = splitList(s.domains.Text)
	out, _ := json.MarshalIndent(d, "", "  ")
	s.doc.SetText(string(out))
}

// nextVersion is one more than any version of the pack held.
func (s *guidelineScreen) nextVersion(id string) int {
	v := 0
	for _, gv := range s.versions {
		if gv.ID == id && gv.Version > v {
			v = gv.Version
		}
	}
	return v + 1
}

// publish signs and shares the document as the pack's next version.
func (s *guidelineScreen) publish() {
	p, err := s.parsed()
	if err != nil {
		s.c.showError("Publish", err)
		return
	}
	next := s.nextVersion(p.ID)
	dialog.ShowConfirm("Publish the guideline pack?", fmt.Sprintf("%s goes to every store as version %d.", p.Title, next), func(ok bool) {
		if !ok {
			return
		}
		doc, err := withVersion([]byte(s.doc.Text), next)
		if err == nil {
			_, err = s.c.node.Net.Book.PublishGuideline(context.Background(), doc)
		}
		if err != nil {
			s.c.showError("Publish", err)
			return
		}
		s.doc.SetText(string(doc))
		s.c.notice(fmt.Sprintf("Published %s version %d.", p.Title, next))
		s.reload()
	}, s.c.win)
}

func withVersion(doc []byte, version int) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	d["version"] = version
	return json.MarshalIndent(d, "", "  ")
}

// showDiff shows how the selected version differs from the document in
// the editor.
func (s *guidelineScreen) showDiff(i int) {
	if i >= len(s.versions) {
		return
	}
	v := s.versions[i]
	doc, err := s.c.node.Net.Book.GuidelineDoc(context.Background(), v.ID, v.Version)
	if err != nil {
		s.diff.SetText(err.Error())
		return
	}
	d := lineDiff(pretty(doc), pretty([]byte(s.doc.Text)))
	if d == "" {
		d = "The editor holds this version."
	} else {
		d = fmt.Sprintf("From version %d (−) to the editor (+):\n%s", v.Version, d)
	}
	s.diff.SetText(d)
}

func pretty(doc []byte) string {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return string(doc)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}

// rollback publishes the selected version's content again as the newest
// version.
func (s *guidelineScreen) rollback() {
	if s.selected < 0 || s.selected >= len(s.versions) {
		dialog.ShowInformation("Roll back", "Pick the version to go back to in the list first.", s.c.win)
		return
	}
	picked := s.versions[s.selected]
	doc, err := s.c.node.Net.Book.GuidelineDoc(context.Background(), picked.ID, picked.Version)
	if err != nil {
		s.c.showError("Roll back", err)
		return
	}
	s.doc.SetText(string(doc))
	s.publish()
}

// lineDiff is a line diff of a and b (longest common subsequence): lines
// only in a start with "− ", only in b with "+ ", with two lines of
// context around changes; "" when they are the same.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte // ' ', '-', '+'
		text string
	}
	var ops []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, line{' ', x[i]})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, line{'+', y[j]})
			j++
		default:
			ops = append(ops, line{'-', x[i]})
			i++
		}
	}
	const context = 2
	var out []string
	changed := false
	lastShown := -1
	for k, l := range ops {
		if l.op == ' ' {
			continue
		}
		changed = true
		from := max(k-context, lastShown+1)
		if lastShown >= 0 && from > lastShown+1 {
			out = append(out, "…")
		}
		for c := from; c < k; c++ {
			out = append(out, "  "+ops[c].text)
		}
		prefix := "+ "
		if l.op == '-' {
			prefix = "− "
		}
		out = append(out, prefix+l.text)
		lastShown = k
		// Context after, until the next change.
		for c := k + 1; c < len(ops) && c <= k+context && ops[c].op == ' '; c++ {
			out = append(out, "  "+ops[c].text)
			lastShown = c
		}
	}
	if !changed {
		return ""
	}
	return strings.Join(out, "\n")
}
