// Package app is Branchline's desktop app, built with Fyne. Only this
// package touches widgets; the node's background work (polling, the
// outbox) reaches the screens through fyne.Do (bridge.go).
package app

import (
	"context"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"

	"github.com/branchline/branchline/assets"
	"github.com/branchline/branchline/node"
)

// ID is the application ID (FyneApp.toml).
const ID = "app.branchline.desk"

// Icon is the application icon.
var Icon = fyne.NewStaticResource("icon.png", assets.Icon)

// Run opens the main window on n and returns when it is closed or ctx
// ends. The node's workers run while the window is open.
func Run(ctx context.Context, n *node.Node) error {
	// Opt in to Fyne's single UI goroutine whatever the build flags, as
	// FyneApp.toml's [Migrations] fyneDo = true does for `fyne build`.
	fyneapp.SetMetadata(fyne.AppMetadata{ID: ID, Name: "Branchline", Version: "0.1.0", Icon: Icon,
		Migrations: map[string]bool{"fyneDo": true}})
	a := fyneapp.NewWithID(ID)
	a.SetIcon(Icon)
	w := a.NewWindow("Branchline")
	ui := newUI(a, w, n)
	w.SetContent(ui.content())
	w.Resize(fyne.NewSize(1200, 780))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n.OnNewMessages(func(int) { fyne.Do(ui.refresh) })
	done := n.StartWorkers(ctx)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	cancel()
	<-done
	return nil
}

// ui holds the app's screens.
type ui struct {
	app   fyne.App
	win   fyne.Window
	node  *node.Node
	inbox *inboxScreen
}

func newUI(a fyne.App, w fyne.Window, n *node.Node) *ui {
	u := &ui{app: a, win: w, node: n}
	u.inbox = newInboxScreen(u)
	return u
}

func (u *ui) content() fyne.CanvasObject {
	return container.NewStack(u.inbox.content())
}

func (u *ui) refresh() {
	u.inbox.reload()
}
