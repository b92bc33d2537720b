package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/branchline/branchline/node"
)

// The demo's other roles: the app runs on the demo store; the Demo menu
// opens headquarters' or the region office's console of the demo brand
// network, run in this process (node.DemoNetwork), each in a window of
// its own.
const (
	demoRoleHQ     = "hq"
	demoRoleRegion = "region"
)

// showTab selects the tab with that title.
func (u *ui) showTab(title string) {
	for _, t := range u.tabs.Items {
		if t.Text == title {
			u.tabs.Select(t)
			return
		}
	}
}

// openDemoRole opens (setting up the first time) the demo network and
// shows the console of role.
func (u *ui) openDemoRole(role string) {
	if w := u.demoWins[role]; w != nil {
		w.RequestFocus()
		return
	}
	if u.demoNet != nil {
		u.showDemoConsole(role)
		return
	}
	if u.demoOpening {
		return
	}
	u.demoOpening = true
	u.progressStart("Setting up the demo brand network: headquarters, the region office and a second store (the first time takes a little while)…")
	ctx := u.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var dn *node.DemoNetwork
	var err error
	u.background(func() { dn, err = u.node.OpenDemoNetwork(ctx) }, func() {
		u.demoOpening = false
		if err != nil {
			u.progressDone("")
			u.showError("Demo network", err)
			return
		}
		u.demoNet = dn
		u.progressDone("The demo brand network runs in this app: changes pass between its nodes every two seconds.")
		u.showDemoConsole(role)
	})
}

func (u *ui) showDemoConsole(role string) {
	n, title := u.demoNet.HQ, "Headquarters (demo)"
	if role == demoRoleRegion {
		n, title = u.demoNet.Region, fmt.Sprintf("Region %s (demo)", u.demoNet.Region.Net.Self.Cert.Region)
	}
	if n == nil {
		dialog.ShowInformation("Demo", "That part of the demo network is not there.", u.win)
		return
	}
	w := u.app.NewWindow("Branchline · " + title)
	c := newConsole(u.app, w, n)
	c.log = u.log
	c.inline = u.inline
	c.install()
	w.Resize(fyne.NewSize(1200, 780))
	if u.demoWins == nil {
		u.demoWins = map[string]fyne.Window{}
	}
	u.demoWins[role] = w
	ctx, cancel := context.WithCancel(u.context())
	w.SetOnClosed(func() {
		cancel()
		delete(u.demoWins, role)
	})
	if !c.inline {
		go c.watch(ctx)
	}
	w.Show()
	if u.onDemoShown != nil {
		u.onDemoShown(c)
	}
}

func (u *ui) context() context.Context {
	if u.ctx == nil {
		return context.Background()
	}
	return u.ctx
}

// closeDemo stops the demo network (the relay stops with the app's
// context).
func (u *ui) closeDemo() {
	if u.demoNet != nil {
		u.demoNet.Close()
		u.demoNet = nil
	}
}
