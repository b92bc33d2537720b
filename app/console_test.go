//go:build ci

package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/network"
	"github.com/branchline/branchline/sync/records"
)

// brandNet is headquarters, the PNW region office and two PNW stores,
// opened in this process; pass hands every node every change the others
// hold, as gossip would (gossip itself is tested in sync/gossip).
type brandNet struct {
	hq, region, riverside, harbor *node.Node
}

func (b *brandNet) all() []*node.Node { return []*node.Node{b.hq, b.region, b.riverside, b.harbor} }

func (b *brandNet) pass(t *testing.T) {
	t.Helper()
	if err := node.HandOver(context.Background(), b.all()...); err != nil {
		t.Fatal(err)
	}
}

func newBrandNet(t *testing.T) *brandNet {
	t.Helper()
	ctx := context.Background()
	clock := func() time.Time { return testNow }
	root := t.TempDir()
	hqDir := filepath.Join(root, "hq")
	if _, err := network.InitHQ(hqDir, "Copper Kettle HQ", "127.0.0.1:0", "", "lan", testNow); err != nil {
		t.Fatal(err)
	}
	open := func(dir string) *node.Node {
		t.Helper()
		n, err := node.Open(ctx, dir, node.Options{NoDemo: true, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	b := &brandNet{hq: open(hqDir)}
	if err := b.hq.Net.Book.Announce(ctx, "Copper Kettle HQ", ""); err != nil {
		t.Fatal(err)
	}
	join := func(role, location string) *node.Node {
		t.Helper()
		code, _, err := network.Invite(ctx, hqDir, b.hq.Net.Book, network.InviteRequest{Role: role, Location: location, Region: "PNW"}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, role+location)
		id, err := network.Join(dir, code, "127.0.0.1:0", "", "lan", testNow)
		if err != nil {
			t.Fatal(err)
		}
		if role == identity.RoleStore {
			db, err := models.Open(ctx, filepath.Join(dir, node.DatabaseFile), models.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			err = desk.Setup(ctx, db, desk.LocationSetup{Name: location, Region: "PNW", TimeZone: "UTC",
				Manager: models.Staff{Name: "Maria Lopez", Handle: "maria"}})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		n := open(dir)
		if err := n.Net.Book.Announce(ctx, id.Cert.NodeID, ""); err != nil {
			t.Fatal(err)
		}
		return n
	}
	b.region = join(identity.RoleRegion, "")
	b.riverside = join(identity.RoleStore, "Riverside")
	b.harbor = join(identity.RoleStore, "Harbor")
	b.pass(t)
	return b
}

// buttonIn finds a button by its text in o's tree (dialogs included).
func buttonIn(o fyne.CanvasObject, text string) *widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		if v.Text == text {
			return v
		}
	case *fyne.Container:
		for _, c := range v.Objects {
			if b := buttonIn(c, text); b != nil {
				return b
			}
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			if b := buttonIn(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

// tapDialog taps a button of the dialog on top of w.
func tapDialog(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog open to tap %q", text)
	}
	b := buttonIn(top, text)
	if b == nil {
		t.Fatalf("the dialog has no %q button", text)
	}
	test.Tap(b)
}

func waitShown(t *testing.T, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the view did not load")
	}
}

func newTestConsole(t *testing.T, n *node.Node) (*console, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("Branchline")
	c := newConsole(a, w, n)
	c.inline = true
	w.Resize(fyne.NewSize(1280, 800))
	return c, w
}

// TestConsoleEscalationBoard: two stores escalate; headquarters' board
// lists both, most severe first, filters them, opens one with the sealed
// excerpt, acknowledges it and assigns it to legal; the store sees that.
func TestConsoleEscalationBoard(t *testing.T) {
	ctx := context.Background()
	b := newBrandNet(t)
	if _, err := b.riverside.Net.Book.Escalate(ctx, records.EscalateInput{Severity: "critical", Category: "food_safety",
		Note: "Customer reports illness after the chicken strips.", Excerpt: "My son was sick all night after your chicken strips",
		Author: "Dana Fox", Platform: "facebook", PostedAt: testNow.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.harbor.Net.Book.Escalate(ctx, records.EscalateInput{Severity: "medium", Category: "complaint",
		Note: "Regular unhappy with the new menu.", Excerpt: "Bring back the old fries"}); err != nil {
		t.Fatal(err)
	}
	b.pass(t)

	c, w := newTestConsole(t, b.hq)
	shown := make(chan struct{}, 8)
	c.board.onShown = func() { shown <- struct{}{} }
	c.install()
	waitShown(t, shown)
	bd := c.board
	if len(bd.shown) != 2 || bd.shown[0].Severity != "critical" || bd.shown[0].Location != "Riverside" {
		t.Fatalf("board: %+v", bd.shown)
	}
	bd.severity.SetSelected("medium")
	if len(bd.shown) != 1 || bd.shown[0].Location != "Harbor" {
		t.Fatalf("medium only: %+v", bd.shown)
	}
	bd.severity.SetSelected(anyChoice)
	bd.list.Select(0)
	if bd.view == nil || bd.view.Content == nil || !strings.Contains(bd.view.Content.Excerpt, "sick all night") {
		t.Fatalf("detail: %+v", bd.view)
	}
	test.Tap(buttonIn(bd.detail, "Acknowledge…"))
	// A form dialog: its entry takes the note.
	top := w.Canvas().Overlays().Top()
	entries := entriesIn(top)
	if len(entries) == 0 {
		t.Fatal("the acknowledge dialog has no note")
	}
	test.Type(entries[0], "Legal is calling the family today.")
	tapDialog(t, w, "OK")
	waitShown(t, shown)
	if bd.shown[0].Stage != "acknowledged" {
		t.Fatalf("after acknowledging: %+v", bd.shown[0])
	}
	b.pass(t)
	v, err := b.riverside.Net.Book.Escalation(ctx, bd.shown[0].ID)
	if err != nil || v.Stage != "acknowledged" || len(v.History) != 1 || v.History[0].Note != "Legal is calling the family today." {
		t.Fatalf("the store sees %+v, %v", v, err)
	}

	// The region office sees its region's board, and cannot pick another.
	rc, _ := newTestConsole(t, b.region)
	rshown := make(chan struct{}, 8)
	rc.board.onShown = func() { rshown <- struct{}{} }
	rc.install()
	waitShown(t, rshown)
	if len(rc.board.rows) != 2 || !rc.board.region.Disabled() || rc.guide != nil {
		t.Fatalf("region console: %d rows, region select enabled %v, guidelines %v", len(rc.board.rows), !rc.board.region.Disabled(), rc.guide != nil)
	}
}

func entriesIn(o fyne.CanvasObject) []*widget.Entry {
	var out []*widget.Entry
	switch v := o.(type) {
	case *widget.Entry:
		return []*widget.Entry{v}
	case *fyne.Container:
		for _, c := range v.Objects {
			out = append(out, entriesIn(c)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			out = append(out, entriesIn(c)...)
		}
	}
	return out
}

// TestConsolePublishAndCrisis: headquarters changes the response target
// in the pack editor, publishes it, and the stores use it; it sends a
// crisis broadcast, one store acknowledges, and the console says who has
// not.
func TestConsolePublishAndCrisis(t *testing.T) {
	ctx := context.Background()
	b := newBrandNet(t)
	c, w := newTestConsole(t, b.hq)
	c.install()
	g := c.guide
	g.reload()
	if !strings.Contains(g.problems.Text, "Valid") {
		t.Fatalf("the starting document: %s", g.problems.Text)
	}
	// A broken document names its problem and cannot be published.
	good := g.doc.Text
	g.doc.SetText(strings.Replace(good, `"target_minutes": 60`, `"target_minutes": 0`, 1))
	if !strings.Contains(g.problems.Text, "response_time.target_minutes") {
		t.Fatalf("a target of 0: %s", g.problems.Text)
	}
	g.doc.SetText(good)
	g.target.SetText("45")
	g.warn.SetText("30")
	test.Tap(buttonIn(tabContent(c.tabs, "Guidelines"), "Apply to the document"))
	if !strings.Contains(g.doc.Text, `"target_minutes": 45`) {
		t.Fatalf("the form did not reach the document")
	}
	if !strings.Contains(g.preview.Text, "BLOCK") {
		t.Errorf("the preview should block the sample's phone number: %s (%s)", g.preview.Text, g.problems.Text)
	}
	test.Tap(buttonIn(tabContent(c.tabs, "Guidelines"), "Publish…"))
	tapDialog(t, w, "Yes")
	if len(g.versions) != 1 || g.versions[0].Version != 1 {
		t.Fatalf("versions after publishing: %+v", g.versions)
	}
	b.pass(t)
	if err := b.riverside.SyncBrandContent(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.riverside.Desk.Pack().ResponseTime.TargetMinutes; got != 45 {
		t.Fatalf("the store's target is %d, want 45", got)
	}
	// A second version, then the difference and a roll back.
	g.target.SetText("30")
	g.warn.SetText("20")
	test.Tap(buttonIn(tabContent(c.tabs, "Guidelines"), "Apply to the document"))
	test.Tap(buttonIn(tabContent(c.tabs, "Guidelines"), "Publish…"))
	tapDialog(t, w, "Yes")
	g.history.Select(1) // version 1
	if !strings.Contains(g.diff.Text, `−     "target_minutes": 45`) || !strings.Contains(g.diff.Text, `+     "target_minutes": 30`) {
		t.Fatalf("diff:\n%s", g.diff.Text)
	}
	test.Tap(buttonIn(tabContent(c.tabs, "Guidelines"), "Roll back to the selected version…"))
	tapDialog(t, w, "Yes")
	if len(g.versions) != 3 || g.versions[0].Version != 3 || !strings.Contains(g.doc.Text, `"target_minutes": 45`) {
		t.Fatalf("after rolling back: %+v", g.versions)
	}

	cr := c.crisis
	cr.title.SetText("Lettuce recall")
	cr.stmt.SetText("We have removed all lettuce from our menu while we check with our supplier.")
	cr.keywords.SetText("lettuce, e. coli, recall")
	test.Tap(buttonIn(tabContent(c.tabs, "Crisis"), "Send to the stores…"))
	tapDialog(t, w, "Yes")
	b.pass(t)
	// The store's window shows it at the top, with the statement; the
	// manager acknowledges it there.
	su, _ := newTestUI(t, b.riverside)
	if len(su.crisis.shown) != 1 || su.crisis.shown[0].Acked {
		t.Fatalf("the store's crisis bar: %+v", su.crisis.shown)
	}
	if !strings.Contains(labelsText(su.crisis.box), "We have removed all lettuce") {
		t.Fatalf("the bar does not show the statement: %s", labelsText(su.crisis.box))
	}
	// Inbox rows that mention a watch keyword get a badge.
	if text, _ := rowBadges(desk.Item{Text: "Was the LETTUCE in my wrap recalled?"}, su.crisis.watching("Was the LETTUCE in my wrap recalled?")); !strings.Contains(text, "CRISIS WATCH lettuce") {
		t.Errorf("badges for a watched message: %s", text)
	}
	if w := su.crisis.watching("Lovely fries"); w != "" {
		t.Errorf("a message without watch keywords is watched for %q", w)
	}
	test.Tap(buttonIn(su.crisis.box, "Acknowledge"))
	if len(su.crisis.shown) != 1 || !su.crisis.shown[0].Acked || buttonIn(su.crisis.box, "Acknowledge") != nil {
		t.Fatalf("after acknowledging: %+v", su.crisis.shown)
	}
	b.pass(t)
	cr.reload()
	text := labelsText(cr.list)
	if !strings.Contains(text, "Acknowledged by 1 of 2 stores") || !strings.Contains(text, "waiting for Harbor") {
		t.Fatalf("crisis list: %s", text)
	}
}

func labelsText(o fyne.CanvasObject) string {
	var parts []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Label:
			parts = append(parts, v.Text)
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return strings.Join(parts, "\n")
}

// TestConsoleFigures: stores publish their daily figures; headquarters'
// league table has a line per store with the same figures, and the CSV
// export says the same.
func TestConsoleFigures(t *testing.T) {
	ctx := context.Background()
	b := newBrandNet(t)
	for i, s := range []*node.Node{b.riverside, b.harbor} {
		var lines []string
		for k := range 3 + i {
			lines = append(lines, fmt.Sprintf(`{"platform":"facebook","account":"ck","id":"q%d","author":"C %d","author_id":"u%d","text":"Are you open on Sunday?","created_at":"%s","kind":"comment"}`,
				k, k, k, testNow.Add(-48*time.Hour+time.Duration(k)*time.Hour).Format(time.RFC3339)))
		}
		if _, err := s.Desk.Import(ctx, strings.NewReader(strings.Join(lines, "\n")), "q.jsonl", nil); err != nil {
			t.Fatal(err)
		}
		if k, err := s.PublishFigures(ctx); err != nil || k != 1 {
			t.Fatalf("published %d: %v", k, err)
		}
	}
	b.pass(t)
	c, _ := newTestConsole(t, b.hq)
	shown := make(chan struct{}, 4)
	c.figures.onShown = func() { shown <- struct{}{} }
	c.install()
	selectTab(c.tabs, "Figures")
	waitShown(t, shown)
	f := c.figures
	if len(f.rows) != 2 || f.report.Totals.Received != 7 {
		t.Fatalf("league: %+v, totals %+v", f.rows, f.report.Totals)
	}
	var sb strings.Builder
	if err := writeLeagueCSV(&sb, f.report, f.rows); err != nil {
		t.Fatal(err)
	}
	csv := sb.String()
	if !strings.Contains(csv, "Harbor,PNW,") || !strings.Contains(csv, "Riverside,PNW,") || strings.Count(csv, "\n") != 3 {
		t.Fatalf("csv:\n%s", csv)
	}
}

func tabContent(tabs *container.AppTabs, title string) fyne.CanvasObject {
	for _, t := range tabs.Items {
		if t.Text == title {
			return t.Content
		}
	}
	panic("no tab " + title)
}

// TestDemoRoleSwitch: on the demo, the Demo menu opens headquarters'
// console of the demo brand network, with the second store's escalations
// and both stores' figures.
func TestDemoRoleSwitch(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	t.Cleanup(u.closeDemo)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u.ctx = ctx
	opened := make(chan *console, 1)
	u.onDemoShown = func(c *console) { opened <- c }
	var demoMenu *fyne.Menu
	for _, m := range u.mainMenu().Items {
		if m.Label == "Demo" {
			demoMenu = m
		}
	}
	if demoMenu == nil {
		t.Fatal("no Demo menu on the demo")
	}
	demoMenu.Items[0].Action() // Headquarters' console…
	var c *console
	select {
	case c = <-opened:
	case <-time.After(3 * time.Minute):
		t.Fatal("the demo network did not open")
	}
	if !c.isHQ() || c.guide == nil {
		t.Fatal("not headquarters' console")
	}
	rows, err := c.node.Net.Book.Board(context.Background())
	if err != nil || len(rows) == 0 {
		t.Fatalf("headquarters' board: %d rows, %v", len(rows), err)
	}
	rep, err := c.node.KPI(context.Background(), node.KPIQuery{Brand: true, From: "2026-11-01", To: "2026-11-22"})
	if err != nil || rep.Locations != 2 {
		t.Fatalf("headquarters' figures: %d locations, %v", rep.Locations, err)
	}
}

// TestTemplateLibrary: a manager changes a template for this store; the
// library shows the store's version and what it changes against
// headquarters'; reverting brings headquarters' back.
func TestTemplateLibrary(t *testing.T) {
	n := openDemo(t)
	u, w := newTestUI(t, n)
	signIn(t, u, "maria", "")
	selectTab(u.tabs, "Templates")
	lib := u.library
	idx := -1
	for i, e := range lib.entries {
		if e.Template.Name == "cold-food" {
			idx = i
		}
	}
	if idx < 0 || lib.entries[idx].Level != "hq" {
		t.Fatalf("cold-food: %d, %+v", idx, lib.entries)
	}
	lib.list.Select(idx)
	test.Tap(buttonIn(lib.detail, "Change for this store…"))
	entries := entriesIn(w.Canvas().Overlays().Top())
	if len(entries) == 0 {
		t.Fatal("no text to edit")
	}
	entries[0].SetText(strings.Replace(entries[0].Text, "sorry", "truly sorry", 1))
	tapDialog(t, w, "Save")
	e := lib.entries[lib.sel]
	if e.Template.Name != "cold-food" || e.Level != "store" || e.Inherited == nil {
		t.Fatalf("after saving: %+v", e)
	}
	if text := labelsText(lib.detail); !strings.Contains(text, "+ ") || !strings.Contains(text, "truly sorry") {
		t.Fatalf("the difference is not shown: %s", text)
	}
	test.Tap(buttonIn(lib.detail, "Revert to headquarters' version…"))
	tapDialog(t, w, "Yes")
	if e := lib.entries[lib.sel]; e.Level != "hq" {
		t.Fatalf("after reverting: %+v", e)
	}
}

// TestConsoleTemplateLevels: headquarters publishes a template, the
// region office overrides it for its stores, headquarters sees both with
// the difference, and a store of the region uses the region's.
func TestConsoleTemplateLevels(t *testing.T) {
	ctx := context.Background()
	b := newBrandNet(t)
	hc, hw := newTestConsole(t, b.hq)
	hc.install()
	selectTab(hc.tabs, "Templates")
	test.Tap(buttonIn(tabContent(hc.tabs, "Templates"), "New template…"))
	entries := entriesIn(hw.Canvas().Overlays().Top())
	if len(entries) != 4 {
		t.Fatalf("%d fields in the template form", len(entries))
	}
	entries[0].SetText("patio-open")
	entries[1].SetText("The patio is open")
	entries[2].SetText("general")
	entries[3].SetText("Hi {{customer_first_name}}, yes: the patio is open from noon when it is dry.")
	tapDialog(t, hw, "Publish")
	if len(hc.library.versions) != 1 || hc.library.versions[0].Scope != "hq" {
		t.Fatalf("after publishing: %+v", hc.library.versions)
	}
	b.pass(t)

	rc, rw := newTestConsole(t, b.region)
	rc.install()
	selectTab(rc.tabs, "Templates")
	rc.library.list.Select(0)
	test.Tap(buttonIn(rc.library.detail, "Override for this region…"))
	entries = entriesIn(rw.Canvas().Overlays().Top())
	entries[3].SetText("Hi {{customer_first_name}}, yes: the patio is open from noon, heaters on when it is cold.")
	tapDialog(t, rw, "Publish")
	b.pass(t)

	hc.library.reload()
	if len(hc.library.versions) != 2 || hc.library.overridden(hc.library.versions[1]) == nil {
		t.Fatalf("headquarters sees %+v", hc.library.versions)
	}
	hc.library.list.Select(1)
	if text := labelsText(hc.library.detail); !strings.Contains(text, "+ Hi {{customer_first_name}}, yes: the patio is open from noon, heaters on") {
		t.Fatalf("the difference is not shown: %s", text)
	}
	if err := b.riverside.SyncBrandContent(ctx); err != nil {
		t.Fatal(err)
	}
	lib, err := b.riverside.TemplateLibrary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range lib {
		if e.Template.Name == "patio-open" {
			found = e.Level == "region" && strings.Contains(e.Template.Body, "heaters")
		}
	}
	if !found {
		t.Fatalf("the store does not use the region's version")
	}
}
