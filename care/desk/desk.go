// Package desk is the store's desk: the core that the CLI and the desktop
// app both drive. It brings customers' messages in (imports and channel
// polls, triaged on the way), lists the inbox, checks drafts against the
// brand's guidelines, renders templates, and creates, approves and rejects
// replies, enforcing staff roles itself: a trainee's reply waits for a
// manager, and a reply with a blocking finding needs a manager's override,
// whatever screen or command asked for it.
package desk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/care/triage"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
)

// Desk is the store's desk over one node's database.
type Desk struct {
	store *models.Store
	now   func() time.Time
	log   *slog.Logger

	mu       sync.RWMutex
	location models.Location
	pack     *guidelines.Pack
	triager  *triage.Triager
	checker  *brand.Checker
	hours    kpi.Hours // the location's, read once
	hoursOK  bool

	pollMu  sync.Mutex
	polling map[int64]bool // accounts being polled now
}

// Option configures a Desk.
type Option func(*Desk)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(d *Desk) { d.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(d *Desk) { d.log = l } }

// Open makes a desk over store, which must have a location (see Setup and
// SetupDemo).
func Open(ctx context.Context, store *models.Store, opts ...Option) (*Desk, error) {
	d := &Desk{store: store, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(d)
	}
	loc, err := store.Location(ctx)
	if err != nil {
		return nil, err
	}
	d.location = loc
	if err := d.reloadPack(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Store is the desk's database.
func (d *Desk) Store() *models.Store { return d.store }

// Location is the desk's location.
func (d *Desk) Location() models.Location {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.location
}

// Pack is the active guideline pack.
func (d *Desk) Pack() *guidelines.Pack {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.pack
}

func (d *Desk) tools() (*triage.Triager, *brand.Checker, *guidelines.Pack) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.triager, d.checker, d.pack
}

// reloadPack loads the active guideline pack and rebuilds triage and the
// brand checker from it. A node without one uses the default pack.
func (d *Desk) reloadPack(ctx context.Context) error {
	p := guidelines.Default()
	g, err := d.store.ActiveGuidelinePack(ctx)
	switch {
	case err == nil:
		if p, err = guidelines.Parse([]byte(g.Document)); err != nil {
			return fmt.Errorf("active guideline pack %s v%d: %w", g.PackID, g.Version, err)
		}
	case errors.Is(err, models.ErrNotFound):
	default:
		return err
	}
	checker, err := brand.NewChecker(p)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.pack, d.triager, d.checker = p, triage.New(p), checker
	d.mu.Unlock()
	return nil
}

// InstallPack validates a pack document, stores it as the active pack and
// starts using it.
func (d *Desk) InstallPack(ctx context.Context, actor string, doc []byte) (*guidelines.Pack, error) {
	p, err := guidelines.Parse(doc)
	if err != nil {
		return nil, err
	}
	g := models.GuidelinePack{PackID: p.ID, Version: p.Version, Title: p.Title, Author: p.Author, Document: string(doc), PublishedAt: p.PublishedAt}
	if err := d.store.InstallGuidelinePack(ctx, actor, g); err != nil {
		return nil, err
	}
	return p, d.reloadPack(ctx)
}

// Staff resolves a staff handle.
func (d *Desk) Staff(ctx context.Context, handle string) (models.Staff, error) {
	st, err := d.store.StaffByHandle(ctx, handle)
	if err != nil {
		return st, err
	}
	if !st.Active {
		return st, fmt.Errorf("staff %q is not active: %w", handle, ErrNotPermitted)
	}
	return st, nil
}

// DefaultStaffSetting names the setting that holds the handle commands act
// as when they are not told (--as).
const DefaultStaffSetting = "default_staff"

// DefaultStaff is who acts when nobody is named: the setting, or the first
// manager.
func (d *Desk) DefaultStaff(ctx context.Context) (models.Staff, error) {
	if h, err := d.store.Setting(ctx, DefaultStaffSetting); err == nil && h != "" {
		return d.Staff(ctx, h)
	}
	all, err := d.store.StaffList(ctx)
	if err != nil {
		return models.Staff{}, err
	}
	for _, st := range all {
		if st.Role == models.RoleManager && st.Active {
			return st, nil
		}
	}
	return models.Staff{}, errors.New("no staff set up: add a manager first")
}

// Vars are the context values templates and sign-offs are filled from.
func (d *Desk) Vars(ctx context.Context, m *models.MessageRow, st models.Staff) map[string]string {
	loc := d.Location()
	v := map[string]string{
		"brand_name":          loc.Brand,
		"location_name":       loc.Name,
		"location_short_name": loc.ShortName,
		"location_phone":      loc.Phone,
		"location_address":    loc.Address,
		"staff_name":          st.Name,
		"staff_first_name":    st.FirstName(),
		"opening_hours_today": d.hoursToday(),
		"manager_name":        d.managerOnDuty(ctx),
	}
	if m != nil {
		v["customer_name"] = m.AuthorName
		v["customer_first_name"] = firstName(m.AuthorName)
		v["platform"] = humanize.Platform(m.Platform)
	}
	return v
}

func (d *Desk) managerOnDuty(ctx context.Context) string {
	if h, _ := d.store.Setting(ctx, "manager_on_duty"); h != "" {
		if st, err := d.store.StaffByHandle(ctx, h); err == nil {
			return st.FirstName()
		}
	}
	all, _ := d.store.StaffList(ctx)
	for _, st := range all {
		if st.Role == models.RoleManager && st.Active {
			return st.FirstName()
		}
	}
	return ""
}

func (d *Desk) hoursToday() string {
	loc := d.Location()
	h, err := loc.Hours()
	if err != nil {
		return ""
	}
	day := strings.ToLower(d.now().In(loc.Zone()).Weekday().String()[:3])
	periods := h[day]
	if len(periods) == 0 {
		return "closed"
	}
	out := make([]string, len(periods))
	for i, p := range periods {
		out[i] = humanPeriod(p)
	}
	return strings.Join(out, " and ")
}

// humanPeriod turns "11:00-22:00" into "11 am to 10 pm".
func humanPeriod(p string) string {
	from, to, ok := strings.Cut(p, "-")
	if !ok {
		return p
	}
	return humanClock(from) + " to " + humanClock(to)
}

func humanClock(s string) string {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return s
	}
	if t.Minute() == 0 {
		return strings.ToLower(t.Format("3 pm"))
	}
	return strings.ToLower(t.Format("3:04 pm"))
}

// firstName guesses a customer's first name from a display name; a handle
// ("burgerlover_88") is used as it is.
func firstName(display string) string {
	display = strings.TrimSpace(strings.TrimPrefix(display, "@"))
	if display == "" {
		return "there"
	}
	if i := strings.IndexByte(display, ' '); i > 0 {
		return display[:i]
	}
	return display
}

// templatesFrom converts a stored template.
func templateFrom(t models.Template) (templates.Template, error) {
	out := templates.Template{Name: t.Name, Title: t.Title, Category: t.Category, Stage: t.Stage, Department: t.Department,
		Private: t.Private, Body: t.Body}
	if err := unmarshalList(t.Platforms, &out.Platforms); err != nil {
		return out, fmt.Errorf("template %s platforms: %w", t.Name, err)
	}
	if err := unmarshalList(t.Kinds, &out.Kinds); err != nil {
		return out, fmt.Errorf("template %s kinds: %w", t.Name, err)
	}
	if err := unmarshalList(t.Prompts, &out.Prompts); err != nil {
		return out, fmt.Errorf("template %s prompts: %w", t.Name, err)
	}
	return out, nil
}
