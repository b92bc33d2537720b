package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
)

// LocationSetup describes a location being set up.
type LocationSetup struct {
	Name, ShortName, Brand, Region string
	TimeZone                       string
	Phone, Address                 string
	Hours                          models.OpeningHours
	Manager                        models.Staff // the first manager
}

// Setup turns an empty database into a location's: the location, its
// first manager, the default guideline pack and templates.
func Setup(ctx context.Context, store *models.Store, ls LocationSetup) error {
	if strings.TrimSpace(ls.Name) == "" {
		return fmt.Errorf("%w: the location needs a name", ErrInvalid)
	}
	if ls.TimeZone == "" {
		ls.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(ls.TimeZone); err != nil {
		return fmt.Errorf("%w: time zone %q: %v", ErrInvalid, ls.TimeZone, err)
	}
	if err := validateHours(ls.Hours); err != nil {
		return err
	}
	hours, _ := json.Marshal(ls.Hours)
	if ls.Hours == nil {
		hours = []byte("{}")
	}
	if ls.ShortName == "" {
		ls.ShortName = ls.Name
	}
	loc := models.Location{Name: ls.Name, ShortName: ls.ShortName, Brand: ls.Brand, Region: ls.Region, TimeZone: ls.TimeZone,
		Phone: ls.Phone, Address: ls.Address, OpeningHours: string(hours)}
	if err := store.CreateLocation(ctx, &loc); err != nil {
		return err
	}
	if ls.Manager.Handle != "" {
		ls.Manager.Role = models.RoleManager
		if err := store.CreateStaff(ctx, "system", &ls.Manager); err != nil {
			return err
		}
	}
	pack := guidelines.DefaultJSON()
	p := guidelines.Default()
	if err := store.InstallGuidelinePack(ctx, "system", models.GuidelinePack{PackID: p.ID, Version: p.Version, Title: p.Title,
		Author: p.Author, Document: string(pack)}); err != nil {
		return err
	}
	return saveTemplates(ctx, store, "system", "hq", templates.Defaults())
}

func saveTemplates(ctx context.Context, store *models.Store, actor, source string, ts []templates.Template) error {
	rows := make([]models.Template, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, models.Template{Name: t.Name, Title: t.Title, Category: t.Category, Stage: t.Stage,
			Department: t.Department, Platforms: mustJSON(nonNil(t.Platforms)), Kinds: mustJSON(nonNil(t.Kinds)), Private: t.Private,
			Body: t.Body, Prompts: mustJSON(nonNilPrompts(t.Prompts)), Source: source, Version: 1})
	}
	return store.SaveTemplates(ctx, actor, rows)
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func validateHours(h models.OpeningHours) error {
	for day, periods := range h {
		if !slices.Contains(weekdays, day) {
			return fmt.Errorf("%w: opening hours: %q is not a day (use mon … sun)", ErrInvalid, day)
		}
		for _, p := range periods {
			from, to, ok := strings.Cut(p, "-")
			_, err1 := time.Parse("15:04", from)
			_, err2 := time.Parse("15:04", to)
			if !ok || err1 != nil || err2 != nil {
				return fmt.Errorf("%w: opening hours %s: %q is not a period like 11:00-22:00", ErrInvalid, day, p)
			}
		}
	}
	return nil
}
