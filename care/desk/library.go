package desk

import (
	"context"
	"fmt"
	"slices"

	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
)

// Template levels: where a template the store uses comes from. A store's
// own version of a template overrides the region's, which overrides
// headquarters' (the built-in templates count as headquarters').
const (
	LevelHQ     = "hq"
	LevelRegion = "region"
	LevelStore  = "store"
)

// LibraryEntry is a template as this store uses it, with its level and,
// for a store's override, what it overrides.
type LibraryEntry struct {
	Template       templates.Template  `json:"template"`
	Level          string              `json:"level"`
	Inherited      *templates.Template `json:"inherited,omitempty"`
	InheritedLevel string              `json:"inherited_level,omitempty"`
}

// Library lists the store's templates with their levels. inherited are
// the versions the network offers this store by name (the region's over
// headquarters'), with their levels; the built-in templates fill in.
func (d *Desk) Library(ctx context.Context, inherited map[string]LibraryEntry) ([]LibraryEntry, error) {
	rows, err := d.store.Templates(ctx)
	if err != nil {
		return nil, err
	}
	builtIn := map[string]templates.Template{}
	for _, t := range templates.Defaults() {
		builtIn[t.Name] = t
	}
	out := make([]LibraryEntry, 0, len(rows))
	for _, r := range rows {
		t, err := templateFrom(r)
		if err != nil {
			return nil, err
		}
		e := LibraryEntry{Template: t, Level: r.Source}
		if r.Source == LevelStore {
			if in, ok := inherited[t.Name]; ok {
				tt := in.Template
				e.Inherited, e.InheritedLevel = &tt, in.Level
			} else if b, ok := builtIn[t.Name]; ok {
				e.Inherited, e.InheritedLevel = &b, LevelHQ
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (d *Desk) requireManager(ctx context.Context, actor, what string) error {
	st, err := d.Staff(ctx, actor)
	if err != nil {
		return err
	}
	if st.Role != models.RoleManager {
		return fmt.Errorf("%w: only a manager %s", ErrNotPermitted, what)
	}
	return nil
}

// OverrideTemplate saves the store's own version of a template (a
// manager's call). Later versions from headquarters or the region do not
// replace it; RevertTemplate does.
func (d *Desk) OverrideTemplate(ctx context.Context, actor string, t templates.Template) error {
	if err := d.requireManager(ctx, actor, "changes the store's templates"); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return saveTemplates(ctx, d.store, actor, LevelStore, []templates.Template{t})
}

// RevertTemplate drops the store's version of a template and goes back to
// the inherited one (nil: the template was the store's own, and goes).
func (d *Desk) RevertTemplate(ctx context.Context, actor, name string, inherited *templates.Template, level string) error {
	if err := d.requireManager(ctx, actor, "changes the store's templates"); err != nil {
		return err
	}
	row, err := d.store.TemplateByName(ctx, name)
	if err != nil {
		return err
	}
	if row.Source != LevelStore {
		return fmt.Errorf("%w: template %q is not the store's own version", ErrInvalid, name)
	}
	if inherited == nil {
		return d.store.DeleteTemplate(ctx, actor, name)
	}
	return saveTemplates(ctx, d.store, actor, level, []templates.Template{*inherited})
}

// keepOverrides leaves out of ts the templates the store has its own
// version of.
func (d *Desk) keepOverrides(ctx context.Context, ts []templates.Template) ([]templates.Template, error) {
	rows, err := d.store.Templates(ctx)
	if err != nil {
		return nil, err
	}
	var own []string
	for _, r := range rows {
		if r.Source == LevelStore {
			own = append(own, r.Name)
		}
	}
	if len(own) == 0 {
		return ts, nil
	}
	return slices.DeleteFunc(slices.Clone(ts), func(t templates.Template) bool { return slices.Contains(own, t.Name) }), nil
}
