package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

// accountStatus is what the accounts list says of one account's
// connection: a short state, the details behind it, and whether it needs
// someone's attention.
type accountStatus struct {
	state  string
	detail []string
	warn   bool
}

// statusOf reads an account's connection at now; polling says a poll is
// running.
func statusOf(a models.Account, polling bool, now time.Time) accountStatus {
	var s accountStatus
	switch {
	case !a.Connected():
		s.state = "import only"
		s.detail = append(s.detail, "fed by imports; connect it to poll and reply from Branchline")
	case a.State == models.AccountReconnectNeeds:
		s.state, s.warn = "reconnect needed", true
	case a.Waiting(now):
		s.state = "rate limited until " + a.RateLimitedUntil.In(time.Local).Format("15:04")
	case polling:
		s.state = "polling…"
	default:
		s.state = "connected"
	}
	if a.Connector == "demo" {
		s.detail = append(s.detail, "the demo's simulated platform")
	}
	if a.Connected() {
		if a.LastSuccessAt != nil {
			s.detail = append(s.detail, "last success "+ago(now.Sub(*a.LastSuccessAt)))
		} else if a.LastPolledAt == nil {
			s.detail = append(s.detail, "not polled yet")
		}
		if a.ExpiresSoon(now) {
			s.warn = true
			if left := a.TokenExpiresAt.Sub(now); left > 0 {
				s.detail = append(s.detail, "its sign-in expires in "+humanize.Age(left)+": reconnect before then")
			} else {
				s.detail = append(s.detail, "its sign-in has expired: reconnect it")
			}
		}
		if a.LastError != "" {
			s.detail = append(s.detail, a.LastError)
		}
	}
	return s
}

// accountsSection is the list of accounts in Settings, with connect,
// reconnect and disconnect for managers.
type accountsSection struct {
	ui   *ui
	box  *fyne.Container
	rows map[int64]*widget.Label // status lines, by account
	// connect is the open connect dialog's form, for tests.
	connect *connectForm
}

func newAccountsSection(u *ui) *accountsSection {
	return &accountsSection{ui: u, box: container.NewVBox()}
}

func (s *accountsSection) reload() {
	ctx := context.Background()
	u := s.ui
	s.box.RemoveAll()
	s.rows = map[int64]*widget.Label{}
	accs, err := u.node.Store.Accounts(ctx)
	if err != nil {
		s.box.Add(wrapped("Could not read the accounts: " + err.Error()))
	}
	manager := u.staff.Role == models.RoleManager
	for _, a := range accs {
		st := statusOf(a, u.node.Desk.Polling(a.ID), u.now())
		title := widget.NewLabelWithStyle(fmt.Sprintf("%s %s (%s) · %s", platformName(a.Platform), a.Handle, a.Purpose, st.state),
			fyne.TextAlignLeading, fyne.TextStyle{Bold: st.warn})
		if st.warn {
			title.Importance = widget.DangerImportance
		}
		s.rows[a.ID] = title
		lines := container.NewVBox(title)
		if len(st.detail) > 0 {
			d := wrapped(strings.Join(st.detail, " · "))
			d.Importance = widget.LowImportance
			lines.Add(d)
		}
		var controls *fyne.Container
		if manager && u.node.Channels != nil && a.Platform != "" {
			acc := a
			controls = container.NewHBox()
			if _, err := u.node.ConnectorInfo(connectorFor(acc)); err == nil {
				label := "Connect…"
				if acc.Connected() {
					label = "Reconnect…"
				}
				controls.Add(widget.NewButton(label, func() { s.showConnect(&acc) }))
			}
			if acc.Connected() && acc.Connector != "demo" {
				controls.Add(widget.NewButton("Disconnect", func() { s.confirmDisconnect(acc) }))
			}
		}
		var right fyne.CanvasObject
		if controls != nil {
			right = controls
		}
		s.box.Add(container.NewBorder(nil, nil, newPlatformBadgeFor(a.Platform), right, lines))
	}
	if len(accs) == 0 && err == nil {
		s.box.Add(wrapped("No accounts yet."))
	}
	switch b, problem := u.node.VaultState(); {
	case b != "":
		where := wrapped("Sign-ins are kept in the " + b + ".")
		if strings.HasPrefix(b, "encrypted file") {
			where.SetText("This computer has no keyring service: sign-ins are kept in the " + b + ", locked with the passphrase.")
		}
		where.Importance = widget.LowImportance
		s.box.Add(where)
	case problem != nil:
		locked := wrapped(problem.Error() + ". Polling and sending wait until they can be read.")
		locked.Importance = widget.WarningImportance
		s.box.Add(container.NewBorder(nil, nil, nil, widget.NewButton("Unlock…", s.unlock), locked))
	}
	if manager && len(u.node.Connectors()) > 0 {
		s.box.Add(container.NewHBox(widget.NewButton("Connect an account…", func() { s.showConnect(nil) })))
	}
}

// connectorFor is the connector an account would use: its own, or the
// one for its platform.
func connectorFor(a models.Account) string {
	if a.Connector != "" {
		return a.Connector
	}
	return a.Platform
}

// connectForm is the connect dialog's fields.
type connectForm struct {
	kind     *widget.Select
	server   *widget.Entry
	remoteID *widget.Entry
	token    *widget.Entry
	purpose  *widget.Select
	help     *widget.Label
	signIn   *widget.Button
	status   *widget.Label
	infos    []node.ConnectorInfo
	dialog   dialog.Dialog
	// signedIn is a token from the browser sign-in, used instead of the
	// pasted one.
	signedIn *channels.Token
	// done is called after a successful connection (tests).
	done func(models.Account)
}

func (f *connectForm) info() (node.ConnectorInfo, bool) {
	for _, i := range f.infos {
		if i.Name == f.kind.Selected {
			return i, true
		}
	}
	return node.ConnectorInfo{}, false
}

// showConnect opens the connect dialog, for a new account or to
// reconnect acc.
func (s *accountsSection) showConnect(acc *models.Account) {
	u := s.ui
	if !u.requireStaff() {
		return
	}
	f := &connectForm{infos: u.node.Connectors()}
	var names []string
	for _, i := range f.infos {
		names = append(names, i.Name)
	}
	f.kind = widget.NewSelect(names, nil)
	f.server = widget.NewEntry()
	f.remoteID = widget.NewEntry()
	f.token = widget.NewPasswordEntry()
	f.token.SetPlaceHolder("paste the access token")
	f.purpose = widget.NewSelect([]string{"main", "care", "jobs"}, nil)
	f.purpose.SetSelected("main")
	f.help = wrapped("")
	f.help.Importance = widget.LowImportance
	f.status = wrapped("")
	f.signIn = widget.NewButton("Sign in with the browser…", func() { s.signIn(f) })
	form := widget.NewForm()
	// The form asks only for what the chosen platform needs.
	f.kind.OnChanged = func(string) {
		info, ok := f.info()
		if !ok {
			return
		}
		items := []*widget.FormItem{widget.NewFormItem("Platform", f.kind)}
		if info.ServerLabel != "" {
			items = append(items, widget.NewFormItem(info.ServerLabel, f.server))
		}
		if info.RemoteIDLabel != "" {
			items = append(items, widget.NewFormItem(info.RemoteIDLabel, f.remoteID))
		}
		items = append(items, widget.NewFormItem("Token", f.token), widget.NewFormItem("Purpose", f.purpose))
		form.Items = items
		setVisible(f.server, info.ServerLabel != "")
		setVisible(f.remoteID, info.RemoteIDLabel != "")
		setVisible(f.signIn, info.SignIn)
		f.help.SetText(info.TokenHelp)
		form.Refresh()
	}
	if acc != nil {
		if info, err := u.node.ConnectorInfo(connectorFor(*acc)); err == nil {
			f.kind.SetSelected(info.Name)
		}
		f.server.SetText(acc.Server)
		f.remoteID.SetText(acc.RemoteID)
		f.purpose.SetSelected(acc.Purpose)
	} else if len(names) > 0 {
		f.kind.SetSelected(names[0])
	}
	body := container.NewVBox(form, f.signIn, f.help, f.status)
	title := "Connect an account"
	if acc != nil {
		title = "Reconnect " + platformName(acc.Platform) + " " + acc.Handle
	}
	handle := ""
	if acc != nil {
		handle = acc.Handle
	}
	f.dialog = dialog.NewCustomConfirm(title, "Connect", "Cancel", body, func(ok bool) {
		if ok {
			s.connectWith(f, handle)
		}
	}, u.win)
	f.dialog.Resize(fyne.NewSize(560, 0))
	s.connect = f
	f.dialog.Show()
}

func setVisible(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// signIn runs the browser sign-in for the chosen platform and keeps the
// token it gives for Connect.
func (s *accountsSection) signIn(f *connectForm) {
	u := s.ui
	info, ok := f.info()
	if !ok {
		return
	}
	f.status.SetText("Waiting for the browser… finish signing in there, then come back.")
	server := strings.TrimSpace(f.server.Text)
	var tok channels.Token
	var err error
	u.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		tok, err = u.node.SignIn(ctx, info.Connector, server, func(url string) error {
			return u.app.OpenURL(parseURL(url))
		})
	}, func() {
		if err != nil {
			f.status.SetText("Sign-in did not finish: " + err.Error())
			return
		}
		f.signedIn = &tok
		f.token.SetText("")
		f.token.SetPlaceHolder("signed in with the browser")
		f.status.SetText("Signed in. Press Connect to check the account and save it.")
	})
}

// connectWith connects the account the form describes, off the UI
// goroutine (it asks the platform), and reports.
func (s *accountsSection) connectWith(f *connectForm, handle string) {
	u := s.ui
	info, ok := f.info()
	if !ok {
		u.showError("connect the account", errors.New("choose a platform"))
		return
	}
	tok := channels.Token{AccessToken: strings.TrimSpace(f.token.Text)}
	if f.signedIn != nil && tok.AccessToken == "" {
		tok = *f.signedIn
	}
	c := desk.Connect{Actor: u.staff.Handle, Connector: info.Connector, Purpose: f.purpose.Selected, Token: tok,
		Account: channels.Account{Platform: info.Platform, Handle: handle,
			Server: strings.TrimSpace(f.server.Text), RemoteID: strings.TrimSpace(f.remoteID.Text)}}
	var a models.Account
	var err error
	u.notice("Connecting " + info.Name + "…")
	u.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		a, err = u.node.ConnectAccount(ctx, c)
	}, func() {
		if err != nil {
			u.notice("")
			u.showError("connect the account", err)
			return
		}
		u.notice(fmt.Sprintf("%s %s is connected; new messages arrive with the next poll.", platformName(a.Platform), a.Handle))
		s.reload()
		if f.done != nil {
			f.done(a)
		}
	})
}

func (s *accountsSection) confirmDisconnect(a models.Account) {
	u := s.ui
	dialog.ShowConfirm("Disconnect "+platformName(a.Platform)+" "+a.Handle+"?",
		"Branchline stops polling and replying for this account and deletes its token. Its messages stay.",
		func(ok bool) {
			if !ok {
				return
			}
			// Off the UI goroutine: deleting the token may open the vault,
			// which may ask for its passphrase in a dialog.
			var err error
			u.background(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				_, err = u.node.DisconnectAccount(ctx, u.staff.Handle, a.ID)
			}, func() {
				if err != nil {
					u.showError("disconnect the account", err)
				} else {
					u.notice(platformName(a.Platform) + " " + a.Handle + " is disconnected.")
				}
				s.reload()
			})
		}, u.win)
}

// parseURL parses an address to open in the browser; a bad one opens
// nothing (OpenURL reports it).
func parseURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{}
	}
	return u
}

// unlock asks for the credentials file's passphrase again, after a
// failed or cancelled prompt.
func (s *accountsSection) unlock() {
	u := s.ui
	var where string
	var err error
	u.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		where, err = u.node.UnlockVault(ctx)
	}, func() {
		if err != nil {
			u.showError("unlock the sign-ins", err)
		} else {
			u.notice("Sign-ins unlocked (" + where + "); polling carries on.")
		}
		s.reload()
	})
}

// askPassphrase asks for the passphrase of the encrypted credentials file
// (machines without a keyring service): twice when it is being chosen. It
// runs on background work's goroutine and waits for the answer, or for
// ctx to end.
func (u *ui) askPassphrase(ctx context.Context, isNew bool) (string, error) {
	answer := make(chan string, 1)
	fyne.Do(func() {
		pass := widget.NewPasswordEntry()
		again := widget.NewPasswordEntry()
		items := []*widget.FormItem{widget.NewFormItem("Passphrase", pass)}
		text := "This computer has no keyring service, so Branchline keeps the accounts' sign-ins in a file encrypted with a passphrase."
		if isNew {
			text += " Choose one (8 characters or more) and keep it safe: it is asked for when Branchline starts."
			items = append(items, widget.NewFormItem("Again", again))
		}
		items = append([]*widget.FormItem{widget.NewFormItem("", wrapped(text))}, items...)
		d := dialog.NewForm("Credentials passphrase", "Unlock", "Cancel", items, func(ok bool) {
			switch {
			case !ok:
				answer <- ""
			case isNew && pass.Text != again.Text:
				u.showError("set the passphrase", errors.New("the two passphrases differ"))
				answer <- ""
			default:
				answer <- pass.Text
			}
		}, u.win)
		d.Resize(fyne.NewSize(480, 0))
		d.Show()
	})
	select {
	case p := <-answer:
		return p, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// watchAccounts notices accounts that have come to need reconnecting, or
// whose sign-in will soon expire, and says so once each (banner and
// desktop notification); it keeps the Settings list current while it is
// open. The first look only takes stock.
func (u *ui) watchAccounts() {
	accs, err := u.node.Store.Accounts(context.Background())
	if err != nil {
		return
	}
	now := u.now()
	first := u.accSeen == nil
	if first {
		u.accSeen = map[int64]string{}
	}
	var news []string
	for _, a := range accs {
		mark := ""
		switch {
		case a.Connected() && a.State == models.AccountReconnectNeeds:
			mark = "reconnect"
		case a.ExpiresSoon(now):
			mark = "expiring"
		}
		before := u.accSeen[a.ID]
		u.accSeen[a.ID] = mark
		if first || mark == "" || mark == before {
			continue
		}
		name := platformName(a.Platform) + " " + a.Handle
		if mark == "reconnect" {
			news = append(news, name+" needs reconnecting: "+a.LastError)
		} else {
			news = append(news, name+": its sign-in expires "+a.TokenExpiresAt.In(time.Local).Format("Mon 2 Jan 15:04")+"; reconnect it before then")
		}
	}
	if u.tabs != nil && u.tabs.Selected() != nil && u.tabs.Selected().Text == "Settings" {
		u.settings.accounts.reload()
	}
	if len(news) == 0 {
		return
	}
	u.notice(strings.Join(news, " · ") + " (Settings → Accounts)")
	if u.notificationsOn() {
		u.app.SendNotification(fyne.NewNotification("Account needs attention", strings.Join(news, "\n")))
	}
}
