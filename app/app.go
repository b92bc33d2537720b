// Package app is Branchline's desktop app, built with Fyne. Only this
// package touches widgets. The node's background work (polling, the
// outbox, gossip) reaches the screens through fyne.Do.
//
// The window has six tabs: the inbox (list, conversation and composer),
// approvals, escalations, the location's figures, the template library
// and settings. Whoever is signed in (a profile
// with an optional PIN, see login.go) is the staff member every action is
// made as; the desk enforces what their role may do.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/assets"
	"github.com/branchline/branchline/care/outbox"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

// ID is the application ID (FyneApp.toml).
const ID = "app.branchline.desk"

// Icon is the application icon.
var Icon = fyne.NewStaticResource("icon.png", assets.Icon)

// Options tunes Run.
type Options struct {
	Logger *slog.Logger
	// FirstFrame, when set, is called once the window has drawn its first
	// frame (the start-up benchmark uses it).
	FirstFrame func()
}

// Run opens the main window on n and returns when it is closed or ctx
// ends. The node's workers run while the window is open.
func Run(ctx context.Context, n *node.Node, opts Options) error {
	// Opt in to Fyne's single UI goroutine whatever the build flags, as
	// FyneApp.toml's [Migrations] fyneDo = true does for `fyne build`.
	fyneapp.SetMetadata(fyne.AppMetadata{ID: ID, Name: "Branchline", Version: "0.2.0", Icon: Icon,
		Migrations: map[string]bool{"fyneDo": true}})
	a := fyneapp.NewWithID(ID)
	a.SetIcon(Icon)
	w := a.NewWindow("Branchline")
	if n.Desk == nil {
		return runConsole(ctx, a, w, n, opts)
	}
	u := newUI(a, w, n)
	if opts.Logger != nil {
		u.log = opts.Logger
	}
	u.install()
	w.Resize(fyne.NewSize(1280, 800))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u.ctx = ctx
	n.OnNewMessages(func(count int) { fyne.Do(func() { u.onNewMessages(count) }) })
	n.OnOutboxEvent(func(e outbox.Event) { fyne.Do(func() { u.onOutboxEvent(e) }) })
	done := n.StartWorkers(ctx)
	go u.clockLoop(ctx)
	go u.catchUpLoop(ctx)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	if opts.FirstFrame != nil {
		// Frames are drawn on the UI loop's 60 Hz tick. Once the loop runs
		// functions, a wait longer than a tick lets it draw (it is idle),
		// and a second function confirms it has: the figure is at most a
		// tick late, never early.
		a.Lifecycle().SetOnStarted(func() {
			go func() {
				fyne.DoAndWait(func() {})
				time.Sleep(20 * time.Millisecond)
				fyne.DoAndWait(func() {})
				opts.FirstFrame()
			}()
		})
	}
	w.ShowAndRun()
	cancel()
	<-done
	u.closeDemo()
	return nil
}

// background runs work off the UI goroutine, then show on it.
func (u *ui) background(work, show func()) { inBackground(u.inline, work, show) }

// runConsole runs headquarters' or a region's console (a node without a
// location of its own).
func runConsole(ctx context.Context, a fyne.App, w fyne.Window, n *node.Node, opts Options) error {
	if n.Net == nil {
		return fmt.Errorf("this data folder has neither a location nor a brand network")
	}
	c := newConsole(a, w, n)
	if opts.Logger != nil {
		c.log = opts.Logger
	}
	c.install()
	w.Resize(fyne.NewSize(1280, 800))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := n.StartWorkers(ctx)
	go c.watch(ctx)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	cancel()
	<-done
	return nil
}

// ui holds the app's screens and who is signed in.
type ui struct {
	app  fyne.App
	win  fyne.Window
	node *node.Node
	log  *slog.Logger
	now  func() time.Time

	staff models.Staff // who is signed in

	tabs      *container.AppTabs
	inboxTab  *container.TabItem
	inbox     *inboxScreen
	conv      *conversationPane
	approvals *approvalsScreen
	escal     *escalationsScreen
	figures   *figuresScreen
	library   *libraryScreen
	settings  *settingsScreen
	who       *widget.Button // the profile switch in the header
	progress  *widget.ProgressBarInfinite
	banner    *widget.Label // errors and notices under the header
	crisis    *crisisBar    // headquarters' crisis broadcasts
	tray      *fyne.MenuItem
	trayMenu  *fyne.Menu

	picker     *templatePicker   // open template picker, for tests
	escalation *escalateForm     // the open escalate dialog
	profile    *profileForm      // the open profile switch
	breached   map[int64]bool    // messages already announced as past target
	escSeen    map[string]string // escalation ID → status, for update notices
	accSeen    map[int64]string  // account ID → what was last said about it (reconnect, expiring)
	importing  bool              // an import's progress is shown
	importForm *importForm       // the open import form, for tests
	catchingUp bool              // the network catch-up's progress is shown

	ctx         context.Context   // the app's; nil in tests
	demoNet     *node.DemoNetwork // the demo's other nodes, once opened
	demoOpening bool              // being set up
	demoWins    map[string]fyne.Window
	onDemoShown func(*console) // tests: a demo console has opened
	lazyTabs    map[*fyne.Container]func() fyne.CanvasObject
	// inline runs background work (figures, demo consoles) on the calling
	// goroutine, and demo consoles do not follow the network (tests:
	// Fyne's test driver runs fyne.Do at once, on the calling goroutine).
	inline bool
}

func newUI(a fyne.App, w fyne.Window, n *node.Node) *ui {
	u := &ui{app: a, win: w, node: n, log: slog.New(slog.DiscardHandler), now: n.Now}
	u.staff = u.defaultStaff()
	u.progress = widget.NewProgressBarInfinite()
	u.progress.Hide()
	u.banner = newBanner()
	u.inbox = newInboxScreen(u)
	u.conv = newConversationPane(u)
	u.approvals = newApprovalsScreen(u)
	u.escal = newEscalationsScreen(u)
	u.figures = newFiguresScreen(u)
	u.library = newLibraryScreen(u)
	u.settings = newSettingsScreen(u)
	u.crisis = newCrisisBar(u)
	u.who = widget.NewButton("", u.showProfileSwitch)
	u.inbox.onSelect = u.conv.show
	applyTheme(a, a.Preferences().StringWithFallback(prefTheme, themeSystem))
	return u
}

// install puts the content, menus, shortcuts and tray item in place.
func (u *ui) install() {
	u.win.SetContent(u.content())
	u.win.SetMainMenu(u.mainMenu())
	u.addShortcuts()
	u.setupTray()
	if !u.inline {
		u.node.SetPassphrasePrompt(u.askPassphrase)
	}
	u.refreshCounts()
	u.watchEscalations() // takes stock, so later changes are noticed
	u.watchAccounts()
	u.crisis.reload()
}

func (u *ui) content() fyne.CanvasObject {
	u.inboxTab = container.NewTabItem("Inbox", u.inboxContent())
	u.tabs = container.NewAppTabs(
		u.inboxTab,
		container.NewTabItem("Approvals", u.approvals.content()),
		container.NewTabItem("Escalations", u.escal.content()),
		// Built when first opened: the window opens faster and lighter.
		container.NewTabItem("Figures", u.lazy(u.figures.content)),
		container.NewTabItem("Templates", u.lazy(u.library.content)),
		container.NewTabItem("Settings", u.settings.content()),
	)
	u.tabs.OnSelected = func(t *container.TabItem) {
		switch t.Text {
		case "Approvals":
			u.approvals.reload()
		case "Escalations":
			u.escal.reload()
		case "Figures":
			u.build(t.Content)
			u.figures.reload()
		case "Templates":
			u.build(t.Content)
			u.library.reload()
		case "Settings":
			u.settings.reload()
		}
	}
	u.updateWho()
	loc := u.node.Desk.Location()
	title := widget.NewLabelWithStyle(loc.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	header := container.NewBorder(nil, nil, title, u.who)
	top := container.NewVBox(header, u.crisis.box, u.banner, u.progress)
	return container.NewBorder(top, nil, nil, nil, u.tabs)
}

// lazy is a tab's content, made the first time the tab is opened (build).
func (u *ui) lazy(make func() fyne.CanvasObject) fyne.CanvasObject {
	c := container.NewStack()
	if u.lazyTabs == nil {
		u.lazyTabs = map[*fyne.Container]func() fyne.CanvasObject{}
	}
	u.lazyTabs[c] = make
	return c
}

// build makes a lazy tab's content if it has not been made yet.
func (u *ui) build(o fyne.CanvasObject) {
	c, ok := o.(*fyne.Container)
	if !ok {
		return
	}
	if make, ok := u.lazyTabs[c]; ok {
		delete(u.lazyTabs, c)
		c.Objects = []fyne.CanvasObject{make()}
		c.Refresh()
	}
}

func (u *ui) inboxContent() fyne.CanvasObject {
	split := container.NewHSplit(u.inbox.content(), u.conv.content())
	split.Offset = 0.42
	return split
}

// defaultStaff is who is signed in at start: the last profile used if it
// has no PIN, else the first manager without one, else nobody can act
// until someone signs in (the switch opens at start).
func (u *ui) defaultStaff() models.Staff {
	ctx := context.Background()
	if h := u.app.Preferences().String(prefLastProfile); h != "" {
		if st, err := u.node.Desk.Staff(ctx, h); err == nil && st.Active && st.PINHash == "" {
			return st
		}
	}
	st, err := u.node.Desk.DefaultStaff(ctx)
	if err != nil || st.PINHash != "" {
		return models.Staff{}
	}
	return st
}

func (u *ui) updateWho() {
	if u.staff.ID == 0 {
		u.who.SetText("Sign in…")
		return
	}
	u.who.SetText(fmt.Sprintf("%s (%s) ▾", u.staff.Name, u.staff.Role))
}

// signedIn changes who acts, and refreshes what depends on it.
func (u *ui) signedIn(st models.Staff) {
	u.staff = st
	u.app.Preferences().SetString(prefLastProfile, st.Handle)
	u.updateWho()
	u.conv.composer.updateSendLabel()
	u.inbox.reload()
	u.approvals.reload()
}

// requireStaff returns false, and opens the sign-in, when nobody is signed
// in.
func (u *ui) requireStaff() bool {
	if u.staff.ID != 0 {
		return true
	}
	u.showProfileSwitch()
	return false
}

// showError reports err in a dialog.
func (u *ui) showError(what string, err error) { reportError(u.log, u.win, what, err) }

// notice shows a line under the header until the next one.
func (u *ui) notice(text string) { setBanner(u.banner, text) }

// reportError logs err and shows it in a dialog of win.
func reportError(log *slog.Logger, win fyne.Window, what string, err error) {
	log.Warn(what, "err", err)
	dialog.ShowError(fmt.Errorf("%s: %w", what, err), win)
}

// newBanner is a hidden, wrapping label for notices under a header.
func newBanner() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// setBanner shows text in a banner label, or hides it when text is "".
func setBanner(l *widget.Label, text string) {
	l.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// inBackground runs work off the UI goroutine, then show on it; inline
// runs both at once on the caller's goroutine (tests: Fyne's test driver
// runs fyne.Do at once, on the calling goroutine).
func inBackground(inline bool, work, show func()) {
	if inline {
		work()
		show()
		return
	}
	go func() {
		work()
		fyne.Do(show)
	}()
}

// onNewMessages runs on the UI goroutine when a poll brought messages.
func (u *ui) onNewMessages(count int) {
	u.inbox.refreshKeepingPlace()
	u.refreshCounts()
	u.notifyUrgent(count)
}

// onOutboxEvent runs on the UI goroutine when a reply changes state.
func (u *ui) onOutboxEvent(e outbox.Event) {
	u.conv.composer.onReplyState(e)
	u.inbox.refreshKeepingPlace()
	u.refreshCounts()
}

// every runs fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// clockLoop redraws the response-time clocks every half minute, warns
// about breaches and looks for escalation updates.
func (u *ui) clockLoop(ctx context.Context) {
	every(ctx, 30*time.Second, func() {
		fyne.Do(func() {
			u.inbox.list.Refresh()
			u.notifyBreaches()
			u.watchEscalations()
			u.watchAccounts()
			u.crisis.reload()
		})
	})
}

// catchUpLoop shows the progress bar while the node fetches changes it
// missed (after a night switched off, say), with how many are on their way.
func (u *ui) catchUpLoop(ctx context.Context) {
	if u.node.Net == nil || u.node.Net.Gossip == nil {
		return
	}
	g := u.node.Net.Gossip
	every(ctx, 500*time.Millisecond, func() {
		if missing, err := g.CatchingUp(ctx); err == nil {
			fyne.Do(func() { u.showCatchUp(missing) })
		}
	})
}

// showCatchUp shows or ends the catch-up progress (an import's progress
// takes precedence).
func (u *ui) showCatchUp(missing uint64) {
	switch {
	case u.importing:
	case missing > 0:
		if !u.catchingUp {
			u.progressStart("")
		}
		u.catchingUp = true
		u.notice(fmt.Sprintf("Catching up with the brand network: %d changes on their way…", missing))
	case u.catchingUp:
		u.catchingUp = false
		u.progressDone("Up to date with the brand network.")
		u.inbox.refreshKeepingPlace()
	}
}

// refreshCounts updates the tab title and the tray item with the
// needs-response count.
func (u *ui) refreshCounts() {
	n, err := u.node.Store.CountInbox(context.Background(), models.FilterNeedsResponse)
	if err != nil {
		return
	}
	if u.inboxTab != nil {
		u.inboxTab.Text = fmt.Sprintf("Inbox (%d)", n)
		if u.tabs != nil {
			u.tabs.Refresh()
		}
	}
	if u.tray != nil {
		u.tray.Label = fmt.Sprintf("%d need a response", n)
		u.trayMenu.Refresh()
	}
}

func (u *ui) setupTray() {
	d, ok := u.app.(desktop.App)
	if !ok || !trayAvailable() {
		return
	}
	u.tray = fyne.NewMenuItem("", func() { u.win.Show(); u.tabs.Select(u.inboxTab) })
	u.trayMenu = fyne.NewMenu("Branchline", u.tray,
		fyne.NewMenuItem("Show Branchline", func() { u.win.Show() }))
	d.SetSystemTrayMenu(u.trayMenu)
	d.SetSystemTrayIcon(Icon)
}

// progressStart shows the progress bar for long work; progressDone hides
// it.
func (u *ui) progressStart(label string) {
	u.notice(label)
	u.progress.Show()
	u.progress.Start()
}

func (u *ui) progressDone(text string) {
	u.progress.Stop()
	u.progress.Hide()
	u.notice(text)
}

// trayAvailable reports whether a system tray can be used: on Linux and
// the BSDs it needs a D-Bus session (without one, the tray library fails
// to start and then crashes the app as it quits).
func trayAvailable() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		return os.Getenv("DBUS_SESSION_BUS_ADDRESS") != ""
	}
	return true
}
