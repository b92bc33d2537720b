//go:build ci

package app

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
	"github.com/branchline/branchline/sync/network"
	"github.com/branchline/branchline/sync/records"
)

var testNow = time.Date(2026, 11, 22, 19, 30, 0, 0, time.UTC)

func openDemo(t *testing.T) *node.Node {
	t.Helper()
	return openDemoIn(t, t.TempDir())
}

func openDemoIn(t *testing.T, dir string) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), dir, node.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// newTestUI opens the whole window on n with Fyne's test driver.
func newTestUI(t *testing.T, n *node.Node) (*ui, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("Branchline")
	u := newUI(a, w, n)
	u.inline = true
	u.install()
	w.Resize(fyne.NewSize(1280, 800))
	return u, w
}

// press sends a keyboard shortcut, as the window's menu does from
// wherever the focus is.
func press(w fyne.Window, sc *desktop.CustomShortcut) {
	w.Canvas().(fyne.Shortcutable).TypedShortcut(sc)
}

// signIn switches profile through the profile dialog.
func signIn(t *testing.T, u *ui, handle, pin string) {
	t.Helper()
	u.showProfileSwitch()
	st, err := u.node.Desk.Staff(context.Background(), handle)
	if err != nil {
		t.Fatal(err)
	}
	form := u.profile
	form.who.SetSelected(st.Name + " (" + st.Role + ")")
	test.Type(form.pin, pin)
	form.pin.OnSubmitted(form.pin.Text)
	if u.staff.Handle != handle {
		t.Fatalf("signed in as %q, want %q (%s)", u.staff.Handle, handle, form.err.Text)
	}
}

func TestInboxListsFiltersAndSearches(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	s := u.inbox
	if len(s.items) == 0 {
		t.Fatal("the inbox is empty on the demo data")
	}
	for i, it := range s.items {
		if !it.NeedsResponse || it.Status != models.StatusOpen {
			t.Fatalf("needs-response list shows %+v", it)
		}
		// Most urgent first: priority never rises down the list.
		if i > 0 && it.Crisis == "" && s.items[i-1].Crisis == "" && it.Priority > s.items[i-1].Priority {
			t.Fatalf("row %d (priority %d) below row %d (priority %d)", i, it.Priority, i-1, s.items[i-1].Priority)
		}
	}
	needing := len(s.items)
	if !strings.Contains(u.inboxTab.Text, "(") {
		t.Errorf("the inbox tab does not show the count: %q", u.inboxTab.Text)
	}

	s.filter.SetSelected("All")
	if len(s.items) <= needing || !s.sortBy.Disabled() {
		t.Errorf("all: %d items (needs-response had %d); sort enabled: %v", len(s.items), needing, !s.sortBy.Disabled())
	}
	// Typing reloads after a pause, on a timer that Fyne's test driver
	// would run beside the test; set the text and load as it would.
	s.search.Text = "fries"
	s.reload()
	if len(s.items) == 0 {
		t.Fatal("no message mentions fries in the demo")
	}
	for _, it := range s.items {
		if !strings.Contains(strings.ToLower(it.Text+" "+it.Author), "fries") && !strings.Contains(strings.ToLower(it.Text), "fry") {
			t.Errorf("search for fries shows %q", it.Text)
		}
	}
	s.search.Text = "zzqx-nothing"
	s.reload()
	if len(s.items) != 0 || !strings.Contains(s.status.Text, "No messages match") {
		t.Errorf("a search with no hits: %d items, status %q", len(s.items), s.status.Text)
	}
	s.search.Text = ""
	s.filter.SetSelected("Unanswered over 72 h")
	for _, it := range s.items {
		if testNow.Sub(it.CreatedAt) < 72*time.Hour {
			t.Errorf("over-72h shows a message %s old", testNow.Sub(it.CreatedAt))
		}
	}
	s.filter.SetSelected("Mine or my department")
	if len(s.items) != 0 {
		t.Errorf("nothing is assigned yet, but Mine lists %d", len(s.items))
	}
	// A manager puts Maria in customer care: its unassigned messages are hers.
	selectTab(u.tabs, "Settings")
	u.settings.departments["maria"].SetSelected("customer_care")
	u.tabs.SelectIndex(0)
	s.reload()
	if len(s.items) == 0 {
		t.Fatal("Mine or my department is empty for customer care")
	}
	for _, it := range s.items {
		dept := cmp.Or(it.ConversationDepartment, it.Department)
		if dept != "customer_care" && it.Assignee == "" {
			t.Errorf("mine lists a %s conversation", dept)
		}
	}
}

func TestReplyWithATemplateInThreeKeystrokes(t *testing.T) {
	n := openDemo(t)
	u, w := newTestUI(t, n)
	signIn(t, u, "sam", "")

	// The selected message: the first one a no-prompt template fits.
	press(w, scNext)
	it, ok := u.inbox.selected()
	if !ok || !u.conv.has || u.conv.item.ID != it.ID {
		t.Fatal("Ctrl+J did not open the first message")
	}
	before, _ := n.Store.CountInbox(context.Background(), models.FilterNeedsResponse)

	// 1: pick a template; 2: type to find it and press Enter; 3: send.
	press(w, scTemplate)
	p := u.picker
	if p == nil {
		t.Fatal("Ctrl+T opened no template picker")
	}
	if w.Canvas().Focused() != p.search {
		t.Fatal("the picker's search does not have the focus")
	}
	test.Type(p.search, "slow service")
	if len(p.shown) == 0 {
		t.Fatal("no template found for “slow service”")
	}
	p.search.OnSubmitted(p.search.Text)
	if u.picker != nil {
		t.Fatalf("the picker stayed open: %s", p.errText.Text)
	}
	text := u.conv.composer.entry.Text
	if !strings.Contains(text, it.Author) && !strings.Contains(text, strings.Fields(it.Author)[0]) {
		t.Errorf("the rendered template does not greet %s: %q", it.Author, text)
	}
	if u.conv.composer.blocking() {
		t.Fatalf("the template's text is blocked: %+v", u.conv.composer.current)
	}
	press(w, scSend)

	r, err := n.Store.ReplyByID(context.Background(), u.conv.composer.replyID)
	if err != nil {
		t.Fatalf("no reply was created: %v", err)
	}
	if r.MessageID != it.ID || r.State != models.ReplyQueued || r.Text != text {
		t.Errorf("reply = message %d, state %s, text %q", r.MessageID, r.State, r.Text)
	}
	if !strings.Contains(u.conv.composer.state.Text, "queued") {
		t.Errorf("state shown: %q", u.conv.composer.state.Text)
	}
	after, _ := n.Store.CountInbox(context.Background(), models.FilterNeedsResponse)
	if after != before-1 {
		t.Errorf("needs response went from %d to %d", before, after)
	}
	if u.inbox.indexOf(it.ID) >= 0 {
		t.Error("the answered message is still listed as needing a response")
	}
}

func TestBlockingFindingWhileTypingAndItsFix(t *testing.T) {
	n := openDemo(t)
	u, w := newTestUI(t, n)
	signIn(t, u, "sam", "")
	press(w, scNext)
	c := u.conv.composer
	if c.isPrivate {
		t.Skip("the first demo message is a direct message")
	}

	test.Type(c.entry, "Sorry about that. Call me on 503-555-0199")
	if !c.blocking() {
		t.Fatalf("no blocking finding for a phone number in public: %+v", c.current)
	}
	// The span is marked in the preview, in the error colour.
	var marked string
	for _, seg := range c.preview.Segments {
		if ts, ok := seg.(*widget.TextSegment); ok && ts.Style.ColorName == theme.ColorNameError {
			marked += ts.Text
		}
	}
	if marked != "503-555-0199" {
		t.Errorf("marked in red: %q", marked)
	}
	// The finding's row explains it and offers to take it private.
	var private *widget.Button
	explained := false
	for _, o := range test.LaidOutObjects(c.findings) {
		if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, "phone number") {
			explained = true
		}
		if b, ok := o.(*widget.Button); ok && b.Text == "Take it private" {
			private = b
		}
	}
	if !explained || private == nil {
		t.Fatalf("finding rows: explained %v, take-private button %v", explained, private != nil)
	}
	// Taking it private offers the take-private templates only; asking
	// them to call the store quotes the store's own number, which passes.
	test.Tap(private)
	p := u.picker
	if p == nil || len(p.shown) == 0 {
		t.Fatal("take it private opened no templates")
	}
	for _, tpl := range p.shown {
		if tpl.Category != takePrivateCategory {
			t.Errorf("take it private offers %s (%s)", tpl.Name, tpl.Category)
		}
	}
	test.Type(p.search, "call the store")
	p.search.OnSubmitted(p.search.Text)
	if !strings.Contains(c.entry.Text, "(503) 555-0142") || c.blocking() || c.isPrivate {
		t.Fatalf("after taking it private: %q, findings %+v, private %v", c.entry.Text, c.current, c.isPrivate)
	}
	// Sending is refused by the core for crew; nothing is queued.
	c.submit()
	if c.replyID != 0 {
		t.Fatal("a blocked reply was created")
	}

	// A one-click fix: the missing sign-off.
	c.entry.SetText("Thanks for telling us, we are sorry.")
	var fix *widget.Button
	for _, o := range test.LaidOutObjects(c.findings) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Fix" {
			fix = b
		}
	}
	if fix == nil {
		t.Fatalf("no Fix button among %+v", c.current)
	}
	test.Tap(fix)
	if !strings.Contains(c.entry.Text, "– Sam, Copper Kettle Riverside") {
		t.Errorf("after the fix: %q", c.entry.Text)
	}
	if len(c.current) != 0 {
		t.Errorf("findings left after the fix: %+v", c.current)
	}
	if !strings.Contains(c.counter.Text, "/") {
		t.Errorf("length counter: %q", c.counter.Text)
	}
}

func TestApprovalLoop(t *testing.T) {
	n := openDemo(t)
	u, w := newTestUI(t, n)
	signIn(t, u, "tom", "")
	if u.conv.composer.send.Text != "Submit for approval" {
		t.Fatalf("a trainee's button says %q", u.conv.composer.send.Text)
	}
	press(w, scNext)
	msg := u.conv.item
	u.conv.composer.entry.SetText("Thanks for letting us know, we will look into it today.\n\n– Tom, Copper Kettle Riverside")
	press(w, scSend)
	tomsReply := u.conv.composer.replyID
	if tomsReply == 0 || !strings.Contains(u.conv.composer.state.Text, "approval") {
		t.Fatalf("submitted reply %d, state %q", tomsReply, u.conv.composer.state.Text)
	}

	// The manager sees it in the queue, edits and approves it.
	signIn(t, u, "maria", "")
	u.tabs.SelectIndex(1)
	a := u.approvals
	idx := -1
	for i, p := range a.pending {
		if p.Reply.ID == tomsReply {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("Tom's reply %d is not in the queue (%d waiting)", tomsReply, len(a.pending))
	}
	a.list.Select(idx)
	if a.draft.Text == "" || !strings.Contains(a.message.Text, msg.Text) {
		t.Fatalf("review pane: %q / %q", a.message.Text, a.draft.Text)
	}
	a.draft.SetText(strings.Replace(a.draft.Text, "today", "this afternoon", 1))
	if a.approve.Text != "Approve my edit" {
		t.Errorf("approve button after an edit: %q", a.approve.Text)
	}
	test.Tap(a.approve)
	r, _ := n.Store.ReplyByID(context.Background(), tomsReply)
	if r.State != models.ReplyQueued || !strings.Contains(r.Text, "this afternoon") {
		t.Fatalf("after approval: state %s, text %q", r.State, r.Text)
	}

	// A second one is rejected with feedback, which Tom then sees.
	signIn(t, u, "tom", "")
	u.tabs.SelectIndex(0)
	press(w, scNext)
	u.conv.composer.entry.SetText("ok")
	press(w, scSend)
	second := u.conv.composer.replyID
	signIn(t, u, "maria", "")
	u.tabs.SelectIndex(1)
	for i, p := range a.pending {
		if p.Reply.ID == second {
			a.list.Select(i)
		}
	}
	a.review(deskReject(second, "maria", "Greet them by name and say what you will do."))
	signIn(t, u, "tom", "")
	u.tabs.SelectIndex(1)
	if !strings.Contains(a.feedback.Text, "Greet them by name") {
		t.Errorf("Tom's feedback view: %q", a.feedback.Text)
	}
	signIn(t, u, "maria", "")
	u.tabs.SelectIndex(1)
	if !strings.Contains(a.stats.Text, "Tom") || !strings.Contains(a.stats.Text, "% approved") {
		t.Errorf("approval figures: %q", a.stats.Text)
	}
}

func TestEscalateDialog(t *testing.T) {
	root := t.TempDir()
	hq, store := filepath.Join(root, "hq"), filepath.Join(root, "store")
	// A store set up for real (not the demo, whose network never gossips)
	// that joins a network.
	db, err := models.Open(context.Background(), filepath.Join(store, node.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	err = desk.Setup(context.Background(), db, desk.LocationSetup{Name: "Copper Kettle Riverside", ShortName: "Riverside",
		Brand: "Copper Kettle Burgers", Region: "Pacific Northwest", TimeZone: "America/Los_Angeles", Phone: "(503) 555-0142",
		Address: "1200 NW Riverside Drive", Hours: models.OpeningHours{"sun": {"10:00-21:00"}},
		Manager: models.Staff{Name: "Maria Lopez", Handle: "maria"}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := network.InitHQ(hq, "HQ", freeAddr(t), "", "lan", testNow); err != nil {
		t.Fatal(err)
	}
	code, _, err := network.Invite(context.Background(), hq, nil, network.InviteRequest{Role: "store",
		Location: "Copper Kettle Riverside", Region: "Pacific Northwest"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := network.Join(store, code, freeAddr(t), "", "lan", testNow); err != nil {
		t.Fatal(err)
	}
	n := openDemoIn(t, store)
	if n.Net == nil || n.Demo != nil {
		t.Fatal("the store is not a network member, or is the demo")
	}
	msgs := `{"platform":"facebook","account":"copperkettle.riverside","id":"m1","author":"Dana Fox","text":"My son was sick all night after eating your chicken strips. Food poisoning?","created_at":"2026-11-22T18:00:00Z","kind":"comment"}
{"platform":"facebook","account":"copperkettle.riverside","id":"m2","author":"Lee Park","text":"Do you have gluten free buns?","created_at":"2026-11-22T18:10:00Z","kind":"comment"}
`
	if rep, err := n.Desk.Import(context.Background(), strings.NewReader(msgs), "seed.jsonl", nil); err != nil || rep.Inserted != 2 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	// Both nodes run on loopback until the store knows headquarters (who
	// must be able to read the escalation).
	hqNode, err := node.Open(context.Background(), hq, node.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	doneHQ, doneStore := hqNode.StartWorkers(ctx), n.StartWorkers(ctx)
	t.Cleanup(func() { cancel(); <-doneHQ; <-doneStore; hqNode.Close() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		dir, _ := n.Net.Book.Directory(context.Background())
		if slices.ContainsFunc(dir, func(d records.DirectoryEntry) bool { return d.Role == "hq" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store never heard of headquarters")
		}
	}
	u, w := newTestUI(t, n)
	signIn(t, u, "maria", "")
	press(w, scNext)
	it := u.conv.item

	press(w, scEscalate)
	dlg := u.escalation
	if dlg == nil {
		t.Fatal("Ctrl+E opened no escalate dialog")
	}
	if !strings.Contains(dlg.readers.Text, "headquarters") || !strings.Contains(dlg.readers.Text, "Pacific Northwest") {
		t.Errorf("who can read it: %q", dlg.readers.Text)
	}
	// Without a note it is refused with a clear message.
	test.Tap(dlg.send)
	if !strings.Contains(dlg.err.Text, "note") {
		t.Errorf("no-note error: %q", dlg.err.Text)
	}
	dlg.severity.SetSelected("critical")
	if dlg.level.Selected != "Headquarters" {
		t.Errorf("a critical escalation goes to %q", dlg.level.Selected)
	}
	test.Type(dlg.note, "Customer says they were ill after eating here; wants a call.")
	test.Tap(dlg.send)
	if dlg.err.Text != "" {
		t.Fatalf("escalation failed: %s (note %q)", dlg.err.Text, dlg.note.Text)
	}
	marks, err := n.Store.MessageEscalations(context.Background(), it.ID)
	if err != nil || len(marks) != 1 {
		t.Fatalf("escalation marks on the message: %v %v", marks, err)
	}
	u.tabs.SelectIndex(2)
	s := u.escal
	if len(s.items) != 1 {
		t.Fatalf("escalations listed: %d", len(s.items))
	}
	s.list.Select(0)
	if !strings.Contains(s.detail.Text, "ill after eating") || !strings.Contains(s.detail.Text, "critical") {
		t.Errorf("escalation detail: %q", s.detail.Text)
	}
	test.Type(s.comment, "Manager called the customer at 19:45.")
	s.comment.OnSubmitted(s.comment.Text)
	if !strings.Contains(s.detail.Text, "called the customer") {
		t.Errorf("comment not shown: %q", s.detail.Text)
	}
	// Headquarters resolves it; the store's app announces the update.
	id := s.items[0].ID
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := hqNode.Net.Book.Escalation(context.Background(), id); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("headquarters never received the escalation")
		}
	}
	if err := hqNode.Net.Book.SetStatus(context.Background(), id, "resolved", "Refund and apology sent.", ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if e, err := n.Net.Book.Escalation(context.Background(), id); err == nil && e.Stage == "resolved" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store never saw the resolution")
		}
	}
	e := s.items[0]
	test.AssertNotificationSent(t, fyne.NewNotification("Escalation update",
		strings.ReplaceAll(e.Category, "_", " ")+" ("+e.Severity+"): resolved"), u.watchEscalations)

	u.tabs.SelectIndex(0)
	u.inbox.filter.SetSelected("Escalated")
	if len(u.inbox.items) != 1 || u.inbox.items[0].ID != it.ID || !u.inbox.items[0].Escalated {
		t.Errorf("escalated filter: %+v", u.inbox.items)
	}
}

func TestNewMessagesKeepTheSelection(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	s := u.inbox
	s.sortBy.SetSelected(sortNewest)
	if len(s.items) < 5 {
		t.Fatalf("only %d messages", len(s.items))
	}
	s.list.Select(3)
	chosen := s.items[3].ID
	if u.conv.item.ID != chosen {
		t.Fatal("selecting a row did not open it")
	}
	in := `{"platform":"facebook","account":"copperkettle.riverside","id":"live-1","author":"New Person","text":"Are you open on Sunday? Need a table for 6","created_at":"2026-11-22T19:29:00Z","kind":"comment"}` + "\n"
	if _, err := n.Desk.Import(context.Background(), strings.NewReader(in), "live.jsonl", nil); err != nil {
		t.Fatal(err)
	}
	u.onNewMessages(1)
	if s.items[0].Author != "New Person" {
		t.Fatalf("the new message is not first: %q", s.items[0].Author)
	}
	if got, ok := s.selected(); !ok || got.ID != chosen {
		t.Errorf("the selection moved to %d, want %d", got.ID, chosen)
	}
	if u.conv.item.ID != chosen {
		t.Error("the open conversation changed")
	}
}

func TestSettingsThemeAndPIN(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	signIn(t, u, "maria", "")
	selectTab(u.tabs, "Settings")
	if len(u.settings.accounts.rows) != 5 {
		t.Errorf("accounts listed: %d", len(u.settings.accounts.rows))
	}
	u.settings.theme.SetSelected(themeDark)
	if u.app.Preferences().String(prefTheme) != themeDark {
		t.Error("the theme choice is not kept")
	}
	if err := n.Desk.SetPIN(context.Background(), "maria", "tom", "4321"); err != nil {
		t.Fatal(err)
	}
	u.showProfileSwitch()
	form := u.profile
	form.who.SetSelected("Tom Becker (trainee)")
	test.Type(form.pin, "1111")
	form.pin.OnSubmitted(form.pin.Text)
	if u.staff.Handle == "tom" || form.err.Text == "" {
		t.Fatalf("a wrong PIN signed Tom in (error %q)", form.err.Text)
	}
	test.Type(form.pin, "4321")
	form.pin.OnSubmitted(form.pin.Text)
	if u.staff.Handle != "tom" {
		t.Fatalf("the right PIN did not sign Tom in: %q", form.err.Text)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// deskReject is a rejection with feedback.
func deskReject(id int64, manager, note string) desk.Review {
	return desk.Review{ReplyID: id, Manager: manager, Note: note}
}

func TestCatchUpProgress(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	u.showCatchUp(1200)
	if !u.progress.Visible() || !strings.Contains(u.banner.Text, "1200 changes") {
		t.Fatalf("catching up: bar shown %v, %q", u.progress.Visible(), u.banner.Text)
	}
	u.showCatchUp(0)
	if u.progress.Visible() || !strings.Contains(u.banner.Text, "Up to date") {
		t.Fatalf("caught up: bar shown %v, %q", u.progress.Visible(), u.banner.Text)
	}
	u.importing = true
	u.showCatchUp(5)
	if u.catchingUp {
		t.Error("the catch-up took over an import's progress")
	}
}

// The demo location belongs to a demo network, so a newcomer can escalate
// (headquarters there does not run, and the demo does not gossip).
func TestDemoCanEscalate(t *testing.T) {
	n := openDemo(t)
	if n.Net == nil {
		t.Fatal("the demo is not in a network")
	}
	u, w := newTestUI(t, n)
	press(w, scNext)
	press(w, scEscalate)
	f := u.escalation
	if f == nil {
		t.Fatal("no escalate dialog in the demo")
	}
	test.Type(f.note, "Customer hurt by a foreign object; please call them.")
	test.Tap(f.send)
	if f.err.Text != "" {
		t.Fatalf("demo escalation: %s", f.err.Text)
	}
	u.tabs.SelectIndex(2)
	if len(u.escal.items) != 1 || u.escal.status.Text != "1 escalation" {
		t.Errorf("escalations in the demo: %d (%q)", len(u.escal.items), u.escal.status.Text)
	}
}

// TestFiguresTab opens the store dashboard on the demo data: the cards
// show the same figures as the core computes, the four charts are drawn,
// and changing the range loads again.
func TestFiguresTab(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	shown := make(chan struct{}, 4)
	u.figures.onShown = func() { shown <- struct{}{} }
	wait := func() {
		t.Helper()
		select {
		case <-shown:
		case <-time.After(30 * time.Second):
			t.Fatal("the figures did not load")
		}
	}
	selectTab(u.tabs, "Figures")
	wait()
	want, err := n.KPI(context.Background(), node.KPIQuery{Location: n.Desk.Location().Name,
		From: testNow.In(n.Desk.Location().Zone()).AddDate(0, 0, -29).Format(time.DateOnly), To: testNow.In(n.Desk.Location().Zone()).Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if want.Totals.Received == 0 {
		t.Fatal("the demo has no messages in the last 30 days")
	}
	if got := u.figures.cards["Received"].Text; got != fmt.Sprint(want.Totals.Received) {
		t.Errorf("Received card %q, want %d", got, want.Totals.Received)
	}
	if got := u.figures.cards["Response rate"].Text; got != kpi.Share(want.Totals.ResponseRate) {
		t.Errorf("Response rate card %q, want %s", got, kpi.Share(want.Totals.ResponseRate))
	}
	if got := u.figures.cards["Median first response"].Text; got != kpi.Minutes(want.Totals.MedianMinutes) || got == "–" {
		t.Errorf("median card %q, want %s", got, kpi.Minutes(want.Totals.MedianMinutes))
	}
	for i, img := range u.figures.charts {
		if img.Image == nil {
			t.Errorf("chart %d not drawn: %q", i, u.figures.empty[i].Text)
		}
	}
	u.figures.rng.SetSelected("Last 7 days")
	wait()
	if u.figures.report.From != testNow.In(n.Desk.Location().Zone()).AddDate(0, 0, -6).Format(time.DateOnly) {
		t.Errorf("the 7-day range starts %s", u.figures.report.From)
	}
	if u.figures.report.Totals.Received > want.Totals.Received {
		t.Errorf("7 days hold more (%d) than 30 (%d)", u.figures.report.Totals.Received, want.Totals.Received)
	}
}

// selectTab selects the tab with that title.
func selectTab(tabs *container.AppTabs, title string) {
	for _, t := range tabs.Items {
		if t.Text == title {
			tabs.Select(t)
			return
		}
	}
	panic("no tab " + title)
}
