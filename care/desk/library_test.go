package desk

import (
	"context"
	"errors"
	"testing"

	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
)

// A store's own version of a template survives headquarters' updates,
// shows what it overrides, and goes back to the inherited one on revert;
// only a manager changes templates.
func TestTemplateOverrides(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	hq, err := d.Template(ctx, "cold-food")
	if err != nil {
		t.Fatal(err)
	}
	own := hq
	own.Body = "Hi {{customer_first_name}}, a cold {{item}} is not the Riverside standard. Ask for Maria next time and the meal is on us."
	if err := d.OverrideTemplate(ctx, "sam", own); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("crew overriding: %v", err)
	}
	bad := own
	bad.Body = "Hi {{nobody_knows_this}}"
	if err := d.OverrideTemplate(ctx, "maria", bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an invalid template: %v", err)
	}
	if err := d.OverrideTemplate(ctx, "maria", own); err != nil {
		t.Fatal(err)
	}
	// Headquarters publishes a new version: the store's own stays.
	newer := hq
	newer.Body = hq.Body + " (v2)"
	if err := d.SaveTemplates(ctx, "hq", "hq", []templates.Template{newer}); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Template(ctx, "cold-food")
	if got.Body != own.Body {
		t.Fatalf("headquarters' update replaced the store's version: %q", got.Body)
	}
	lib, err := d.Library(ctx, map[string]LibraryEntry{"cold-food": {Template: newer, Level: LevelHQ}})
	if err != nil {
		t.Fatal(err)
	}
	var entry *LibraryEntry
	for i := range lib {
		if lib[i].Template.Name == "cold-food" {
			entry = &lib[i]
		}
	}
	if entry == nil || entry.Level != LevelStore || entry.Inherited == nil || entry.Inherited.Body != newer.Body || entry.InheritedLevel != LevelHQ {
		t.Fatalf("library entry: %+v", entry)
	}
	if err := d.RevertTemplate(ctx, "sam", "cold-food", entry.Inherited, entry.InheritedLevel); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("crew reverting: %v", err)
	}
	if err := d.RevertTemplate(ctx, "maria", "cold-food", entry.Inherited, entry.InheritedLevel); err != nil {
		t.Fatal(err)
	}
	got, _ = d.Template(ctx, "cold-food")
	row, _ := store.TemplateByName(ctx, "cold-food")
	if got.Body != newer.Body || row.Source != LevelHQ {
		t.Fatalf("after reverting: %q from %s", got.Body, row.Source)
	}
	if err := d.RevertTemplate(ctx, "maria", "cold-food", nil, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reverting what is not the store's: %v", err)
	}
	// The store's own new template goes away on revert.
	mine := hq
	mine.Name, mine.Title = "riverside-patio", "Patio opening"
	if err := d.OverrideTemplate(ctx, "maria", mine); err != nil {
		t.Fatal(err)
	}
	if err := d.RevertTemplate(ctx, "maria", "riverside-patio", nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.TemplateByName(ctx, "riverside-patio"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the store's own template after revert: %v", err)
	}
}
