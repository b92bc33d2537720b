package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/node"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// console is the window of headquarters and of a regional office: the
// escalation board, the figures across locations, crisis broadcasts, the
// network and (headquarters) the guideline pack. A region's console shows
// its own region only; the records enforce the same (a region reads and
// moves only its stores' escalations).
type console struct {
	app  fyne.App
	win  fyne.Window
	node *node.Node
	log  *slog.Logger
	now  func() time.Time
	self *identity.Cert

	tabs    *container.AppTabs
	banner  *widget.Label
	board   *boardScreen
	figures *leagueScreen
	crisis  *crisisScreen
	network *networkScreen
	library *templateLevelsScreen
	guide   *guidelineScreen // headquarters only

	// inline runs background work on the caller's goroutine (tests: Fyne's
	// test driver runs fyne.Do at once, on the calling goroutine).
	inline bool
}

// background runs work off the UI goroutine, then show on it.
func (c *console) background(work, show func()) { inBackground(c.inline, work, show) }

func newConsole(a fyne.App, w fyne.Window, n *node.Node) *console {
	c := &console{app: a, win: w, node: n, log: slog.New(slog.DiscardHandler), now: n.Now, self: n.Net.Self.Cert}
	c.banner = newBanner()
	c.board = newBoardScreen(c)
	c.figures = newLeagueScreen(c)
	c.crisis = newCrisisScreen(c)
	c.network = newNetworkScreen(c)
	c.library = newTemplateLevelsScreen(c)
	if c.isHQ() {
		c.guide = newGuidelineScreen(c)
	}
	applyTheme(a, a.Preferences().StringWithFallback(prefTheme, themeSystem))
	return c
}

func (c *console) isHQ() bool { return c.self.Role == identity.RoleHQ }

// scopeName is whose console this is, for titles.
func (c *console) scopeName() string {
	if c.isHQ() {
		return "Headquarters"
	}
	return "Region " + c.self.Region
}

func (c *console) install() {
	items := []*container.TabItem{
		container.NewTabItem("Escalations", c.board.content()),
		container.NewTabItem("Figures", c.figures.content()),
		container.NewTabItem("Templates", c.library.content()),
		container.NewTabItem("Crisis", c.crisis.content()),
		container.NewTabItem("Network", c.network.content()),
	}
	if c.guide != nil {
		items = append(items, container.NewTabItem("Guidelines", c.guide.content()))
	}
	c.tabs = container.NewAppTabs(items...)
	c.tabs.OnSelected = func(t *container.TabItem) { c.reload(t.Text) }
	name := c.node.Net.Config.Name
	if name == "" {
		name = c.self.NodeID
	}
	title := widget.NewLabelWithStyle(fmt.Sprintf("%s · %s", name, c.scopeName()), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	who := widget.NewLabel(fmt.Sprintf("node %s", c.self.NodeID))
	top := container.NewVBox(container.NewBorder(nil, nil, title, who), c.banner)
	c.win.SetContent(container.NewBorder(top, nil, nil, nil, c.tabs))
	c.win.SetMainMenu(fyne.NewMainMenu(
		fyne.NewMenu("File", fyne.NewMenuItem("Refresh", func() { c.reload(c.tabs.Selected().Text) })),
		fyne.NewMenu("View", fyne.NewMenuItem("Theme…", c.showTheme)),
	))
	c.board.reload()
}

// reload refreshes the tab named.
func (c *console) reload(tab string) {
	switch tab {
	case "Escalations":
		c.board.reload()
	case "Figures":
		c.figures.reload()
	case "Crisis":
		c.crisis.reload()
	case "Network":
		c.network.reload()
	case "Templates":
		c.library.reload()
	case "Guidelines":
		if c.guide != nil {
			c.guide.reload()
		}
	}
}

// watch reloads the shown tab when changes arrive from the network,
// at most once a second.
func (c *console) watch(ctx context.Context) {
	kick := make(chan struct{}, 1)
	c.node.Net.Rep.OnApplied(func([]*change.Change) {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			fyne.Do(func() {
				if t := c.tabs.Selected(); t != nil && t.Text != "Guidelines" && t.Text != "Crisis" {
					c.reload(t.Text)
				}
			})
			time.Sleep(time.Second)
		}
	}
}

func (c *console) showError(what string, err error) { reportError(c.log, c.win, what, err) }

func (c *console) notice(text string) { setBanner(c.banner, text) }

func (c *console) showTheme() {
	sel := widget.NewRadioGroup([]string{themeSystem, themeLight, themeDark}, func(v string) {
		c.app.Preferences().SetString(prefTheme, v)
		applyTheme(c.app, v)
	})
	sel.SetSelected(c.app.Preferences().StringWithFallback(prefTheme, themeSystem))
	dialog.ShowCustom("Theme", "Close", sel, c.win)
}
