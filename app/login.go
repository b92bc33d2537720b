package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/models"
)

// Profiles: the till computer is shared, so staff switch profiles rather
// than log in and out of the operating system. A profile with a PIN asks
// for it (checked by the desk, which locks a profile for five minutes
// after five wrong tries); one without opens at once, as in the demo.

// showProfileSwitch opens the profile switch.
func (u *ui) showProfileSwitch() {
	ctx := context.Background()
	staff, err := u.node.Store.StaffList(ctx)
	if err != nil {
		u.showError("read the staff", err)
		return
	}
	var names []string
	byName := map[string]models.Staff{}
	for _, st := range staff {
		if !st.Active {
			continue
		}
		label := fmt.Sprintf("%s (%s)", st.Name, st.Role)
		names = append(names, label)
		byName[label] = st
	}
	who := widget.NewSelect(names, nil)
	pin := widget.NewPasswordEntry()
	pin.SetPlaceHolder("PIN, if the profile has one")
	errText := widget.NewLabel("")
	errText.Importance = widget.DangerImportance
	errText.Wrapping = fyne.TextWrapWord
	var dlg dialog.Dialog
	u.profile = &profileForm{who: who, pin: pin, err: errText}
	signIn := func() {
		st, ok := byName[who.Selected]
		if !ok {
			errText.SetText("Choose a profile.")
			return
		}
		got, err := u.node.Desk.Login(context.Background(), st.Handle, pin.Text)
		if err != nil {
			errText.SetText(err.Error())
			pin.SetText("")
			return
		}
		dlg.Hide()
		u.signedIn(got)
	}
	pin.OnSubmitted = func(string) { signIn() }
	who.OnChanged = func(string) { u.win.Canvas().Focus(pin) }
	if u.staff.ID != 0 {
		who.SetSelected(fmt.Sprintf("%s (%s)", u.staff.Name, u.staff.Role))
	}
	btn := widget.NewButton("Switch", signIn)
	btn.Importance = widget.HighImportance
	form := widget.NewForm(widget.NewFormItem("Profile", who), widget.NewFormItem("PIN", pin))
	dlg = dialog.NewCustom("Who is working?", "Cancel", container.NewVBox(form, errText, btn), u.win)
	dlg.Resize(fyne.NewSize(420, 260))
	dlg.Show()
}

// profileForm is the open profile switch's controls (tests drive them).
type profileForm struct {
	who *widget.Select
	pin *widget.Entry
	err *widget.Label
}

// mainMenu lists every action with its shortcut.
func (u *ui) mainMenu() *fyne.MainMenu {
	item := func(label string, sc fyne.Shortcut, fn func()) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, fn)
		it.Shortcut = sc
		return it
	}
	file := fyne.NewMenu("File",
		item("Switch profile…", scProfile, u.showProfileSwitch),
		item("Import messages…", nil, u.showImportPicker),
	)
	reply := fyne.NewMenu("Reply",
		item("Next message", scNext, func() { u.inbox.step(1) }),
		item("Previous message", scPrev, func() { u.inbox.step(-1) }),
		item("Reply", scReply, u.focusComposer),
		item("Pick a template…", scTemplate, func() { u.focusComposer(); u.conv.composer.pickTemplate(false) }),
		item("Take it private…", nil, func() { u.conv.composer.pickTemplate(true) }),
		item("Send", scSend, u.conv.composer.submit),
		item("Escalate…", scEscalate, u.showEscalate),
		item("No response needed", nil, u.conv.markNoResponse),
	)
	view := fyne.NewMenu("View",
		item("Search", scSearch, func() { u.tabs.Select(u.inboxTab); u.win.Canvas().Focus(u.inbox.search) }),
		item("Inbox", nil, func() { u.tabs.Select(u.inboxTab) }),
		item("Approvals", nil, func() { u.showTab("Approvals") }),
		item("Escalations", nil, func() { u.showTab("Escalations") }),
		item("Figures", nil, func() { u.showTab("Figures") }),
		item("Templates", nil, func() { u.showTab("Templates") }),
		item("Settings", nil, func() { u.showTab("Settings") }),
	)
	if u.node.Demo != nil && u.node.Net != nil {
		demo := fyne.NewMenu("Demo",
			item("Headquarters' console…", nil, func() { u.openDemoRole(demoRoleHQ) }),
			item("Region office's console…", nil, func() { u.openDemoRole(demoRoleRegion) }),
		)
		return fyne.NewMainMenu(file, reply, view, demo)
	}
	return fyne.NewMainMenu(file, reply, view)
}

// The reply loop's shortcuts (Ctrl on Linux and Windows, Cmd on macOS).
var (
	scNext     = &desktop.CustomShortcut{KeyName: fyne.KeyJ, Modifier: fyne.KeyModifierShortcutDefault}
	scPrev     = &desktop.CustomShortcut{KeyName: fyne.KeyK, Modifier: fyne.KeyModifierShortcutDefault}
	scReply    = &desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: fyne.KeyModifierShortcutDefault}
	scTemplate = &desktop.CustomShortcut{KeyName: fyne.KeyT, Modifier: fyne.KeyModifierShortcutDefault}
	scSend     = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
	scEscalate = &desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault}
	scSearch   = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	scProfile  = &desktop.CustomShortcut{KeyName: fyne.KeyP, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
)

// addShortcuts makes the shortcuts work wherever the focus is: on the
// canvas, and in the entries that would otherwise swallow them.
func (u *ui) addShortcuts() {
	for sc, fn := range u.shortcutActions() {
		u.win.Canvas().AddShortcut(sc, func(fyne.Shortcut) { fn() })
	}
}

func (u *ui) shortcutActions() map[*desktop.CustomShortcut]func() {
	return map[*desktop.CustomShortcut]func(){
		scNext:     func() { u.inbox.step(1) },
		scPrev:     func() { u.inbox.step(-1) },
		scReply:    u.focusComposer,
		scTemplate: func() { u.focusComposer(); u.conv.composer.pickTemplate(false) },
		scSend:     u.conv.composer.submit,
		scEscalate: u.showEscalate,
		scSearch:   func() { u.tabs.Select(u.inboxTab); u.win.Canvas().Focus(u.inbox.search) },
		scProfile:  u.showProfileSwitch,
	}
}

// focusComposer puts the cursor in the reply box.
func (u *ui) focusComposer() {
	u.tabs.Select(u.inboxTab)
	if !u.conv.has {
		u.inbox.step(1)
	}
	u.win.Canvas().Focus(u.conv.composer.entry)
}
