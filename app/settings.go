package app

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/models"
)

// Preference keys.
const (
	prefTheme         = "theme"
	prefNotifications = "notifications"
	prefLastProfile   = "last_profile"
)

// Theme choices.
const (
	themeSystem = "System"
	themeLight  = "Light"
	themeDark   = "Dark"
)

// settingsScreen shows the connected accounts and their state, the staff
// and their roles and PINs, notifications and the theme.
type settingsScreen struct {
	ui       *ui
	accounts *accountsSection
	staff    *fyne.Container
	notify   *widget.Check
	theme    *widget.RadioGroup
	// departments are the managers' department pickers, by handle.
	departments map[string]*widget.Select
}

// noDepartment is the picker's choice for none.
const noDepartment = "no department"

func newSettingsScreen(u *ui) *settingsScreen {
	s := &settingsScreen{ui: u, accounts: newAccountsSection(u), staff: container.NewVBox()}
	s.notify = widget.NewCheck("Notify me of urgent messages, missed targets and escalations", func(on bool) {
		u.app.Preferences().SetBool(prefNotifications, on)
	})
	s.notify.SetChecked(u.app.Preferences().BoolWithFallback(prefNotifications, true))
	s.theme = widget.NewRadioGroup([]string{themeSystem, themeLight, themeDark}, func(v string) {
		if v == "" {
			return
		}
		u.app.Preferences().SetString(prefTheme, v)
		applyTheme(u.app, v)
	})
	s.theme.Horizontal = true
	s.theme.SetSelected(u.app.Preferences().StringWithFallback(prefTheme, themeSystem))
	return s
}

func (s *settingsScreen) content() fyne.CanvasObject {
	heading := func(t string) *widget.Label {
		return widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	setPIN := widget.NewButton("Set my PIN…", func() { s.ui.showSetPIN(s.ui.staff.Handle) })
	return container.NewVScroll(container.NewVBox(
		heading("Accounts"), s.accounts.box,
		widget.NewSeparator(),
		heading("Staff and roles"),
		wrapped("Managers send and approve; crew send, and ask for approval when a check blocks; trainees' replies wait for a manager. "+
			"Each profile can have a PIN; switch profiles from the name at the top right (Ctrl+Shift+P)."),
		s.staff, container.NewHBox(setPIN),
		widget.NewSeparator(),
		heading("Notifications"), s.notify,
		widget.NewSeparator(),
		heading("Theme"), s.theme,
	))
}

func (s *settingsScreen) reload() {
	ctx := context.Background()
	s.accounts.reload()
	s.staff.RemoveAll()
	s.departments = map[string]*widget.Select{}
	staff, err := s.ui.node.Store.StaffList(ctx)
	if err != nil {
		s.staff.Add(wrapped("Could not read the staff: " + err.Error()))
	}
	for _, st := range staff {
		line := fmt.Sprintf("%s (@%s), %s", st.Name, st.Handle, st.Role)
		if !st.Active {
			line += ", inactive"
		}
		if st.PINHash != "" {
			line += " · PIN set"
		} else {
			line += " · no PIN"
		}
		if st.Department != "" {
			line += " · " + strings.ReplaceAll(st.Department, "_", " ")
		}
		row := container.NewBorder(nil, nil, nil, nil, wrapped(line))
		if s.ui.staff.Role == models.RoleManager {
			handle := st.Handle
			dept := widget.NewSelect(append([]string{noDepartment}, desk.Departments...), nil)
			dept.SetSelected(orDefault(st.Department, noDepartment))
			dept.OnChanged = func(v string) {
				if v == noDepartment {
					v = ""
				}
				if err := s.ui.node.Desk.SetDepartment(context.Background(), s.ui.staff.Handle, handle, v); err != nil {
					s.ui.showError("set the department", err)
				}
				s.reload()
			}
			s.departments[handle] = dept
			controls := container.NewHBox(dept)
			if st.ID != s.ui.staff.ID {
				controls.Add(widget.NewButton("Set PIN…", func() { s.ui.showSetPIN(handle) }))
			}
			row = container.NewBorder(nil, nil, nil, controls, wrapped(line))
		}
		s.staff.Add(row)
	}
}

func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func newPlatformBadgeFor(p string) fyne.CanvasObject {
	b := newPlatformBadge()
	setPlatformBadge(b.(*fyne.Container), p)
	return b
}

// showSetPIN sets (or clears, when left empty) a profile's PIN.
func (u *ui) showSetPIN(handle string) {
	if !u.requireStaff() {
		return
	}
	pin := widget.NewPasswordEntry()
	pin.SetPlaceHolder("4 to 8 digits; empty to remove")
	again := widget.NewPasswordEntry()
	dialog.ShowForm("PIN for @"+handle, "Save", "Cancel", []*widget.FormItem{
		widget.NewFormItem("New PIN", pin), widget.NewFormItem("Again", again)}, func(ok bool) {
		if !ok {
			return
		}
		if pin.Text != again.Text {
			u.showError("set the PIN", errors.New("the two PINs differ"))
			return
		}
		if err := u.node.Desk.SetPIN(context.Background(), u.staff.Handle, handle, pin.Text); err != nil {
			u.showError("set the PIN", err)
			return
		}
		u.notice("PIN saved for @" + handle + ".")
		u.settings.reload()
	}, u.win)
}

// applyTheme sets the light, dark or system theme.
func applyTheme(a fyne.App, choice string) {
	switch choice {
	case themeLight:
		a.Settings().SetTheme(&variantTheme{Theme: theme.DefaultTheme(), variant: theme.VariantLight})
	case themeDark:
		a.Settings().SetTheme(&variantTheme{Theme: theme.DefaultTheme(), variant: theme.VariantDark})
	default:
		a.Settings().SetTheme(theme.DefaultTheme())
	}
}

// variantTheme is the default theme held to one variant.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t *variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}
