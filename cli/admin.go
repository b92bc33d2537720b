package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

func runStaff(ctx context.Context, c *cmdCtx) error {
	name := c.fs.String("name", "", "full name (add)")
	handle := c.fs.String("handle", "", "short login name (add)")
	role := c.fs.String("role", "", "manager, crew or trainee (add)")
	as := c.fs.String("as", "", "manager's staff handle")
	pos, err := c.parse(0, 3)
	if err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		who, err := c.staff(ctx, n, *as)
		if err != nil {
			return err
		}
		actor, err := n.Desk.Staff(ctx, who)
		if err != nil {
			return err
		}
		if actor.Role != models.RoleManager {
			return fmt.Errorf("%w: only a manager can change staff", desk.ErrNotPermitted)
		}
		switch {
		case pos[0] == "add" && len(pos) == 1:
			if *name == "" || *handle == "" || *role == "" {
				return usagef("staff add: --name, --handle and --role are required")
			}
			st := models.Staff{Name: *name, Handle: *handle, Role: *role}
			if err := n.Store.CreateStaff(ctx, actor.Handle, &st); err != nil {
				return err
			}
		case pos[0] == "role" && len(pos) == 3:
			st, err := n.Store.StaffByHandle(ctx, pos[1])
			if err != nil {
				return err
			}
			if err := n.Store.SetStaffRole(ctx, actor.Handle, st.ID, pos[2]); err != nil {
				return err
			}
		default:
			return usagef("staff: usage: branchline staff %s", c.usage)
		}
	}
	all, err := n.Store.StaffList(ctx)
	if err != nil {
		return err
	}
	if c.json {
		type out struct {
			Handle string `json:"handle"`
			Name   string `json:"name"`
			Role   string `json:"role"`
			Active bool   `json:"active"`
		}
		list := []out{}
		for _, st := range all {
			list = append(list, out{st.Handle, st.Name, st.Role, st.Active})
		}
		return c.printJSON(list)
	}
	for _, st := range all {
		c.printf("%-12s %-8s %s\n", st.Handle, st.Role, st.Name)
	}
	return nil
}

func runAudit(ctx context.Context, c *cmdCtx) error {
	subject := c.fs.String("subject", "", "only events about KIND:ID, e.g. reply:12")
	verify := c.fs.Bool("verify", false, "check the whole log's hash chain")
	limit := c.fs.Int("limit", 100, "how many events")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	if *verify {
		count, err := n.Store.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]any{"verified": count})
		}
		c.printf("The audit log's %d entries verify.\n", count)
		return nil
	}
	es, err := n.Store.AuditEvents(ctx, models.AuditQuery{Subject: *subject, Limit: *limit})
	if err != nil {
		return err
	}
	if c.json {
		if es == nil {
			es = []models.AuditEvent{}
		}
		return c.printJSON(es)
	}
	for _, e := range es {
		c.printf("%s  %-8s %-20s %-14s %s\n", e.At.Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Subject, e.Detail)
	}
	return nil
}

func runInit(ctx context.Context, c *cmdCtx) error {
	loc := c.fs.String("location", "", "the location's name, e.g. \"Copper Kettle Riverside\"")
	short := c.fs.String("short-name", "", "short name used in sign-offs, e.g. Riverside")
	brandName := c.fs.String("brand", "", "the brand")
	region := c.fs.String("region", "", "the region")
	tz := c.fs.String("timezone", "", "IANA time zone, e.g. America/Los_Angeles")
	phone := c.fs.String("phone", "", "the location's published phone number")
	address := c.fs.String("address", "", "the location's published address")
	hours := c.fs.String("hours", "", "opening hours, e.g. mon-fri=11:00-22:00,sat=10:00-23:00")
	mgrName := c.fs.String("manager-name", "", "first manager's full name")
	mgrHandle := c.fs.String("manager-handle", "", "first manager's short login name")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	if *loc == "" || *tz == "" || *mgrName == "" || *mgrHandle == "" {
		return usagef("init: --location, --timezone, --manager-name and --manager-handle are required")
	}
	oh, err := parseHours(*hours)
	if err != nil {
		return usagef("init: --hours: %v", err)
	}
	dir, err := c.dataDir(c.env)
	if err != nil {
		return err
	}
	store, err := models.Open(ctx, dir+"/"+node.DatabaseFile, models.WithClock(c.env.Now))
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Location(ctx); err == nil {
		return fmt.Errorf("init: %s is already set up", dir)
	}
	err = desk.Setup(ctx, store, desk.LocationSetup{Name: *loc, ShortName: *short, Brand: *brandName, Region: *region, TimeZone: *tz,
		Phone: *phone, Address: *address, Hours: oh, Manager: models.Staff{Name: *mgrName, Handle: *mgrHandle}})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]string{"data": dir, "location": *loc})
	}
	c.printf("%s is set up in %s.\n", *loc, dir)
	return nil
}

var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// parseHours reads "mon-fri=11:00-22:00,sat=10:00-23:00;sun=10:00-16:00".
func parseHours(s string) (models.OpeningHours, error) {
	oh := models.OpeningHours{}
	if strings.TrimSpace(s) == "" {
		return oh, nil
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		days, period, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q is not DAYS=HH:MM-HH:MM", part)
		}
		from, to, isRange := strings.Cut(days, "-")
		i, j := indexOf(dayNames, from), indexOf(dayNames, to)
		if !isRange {
			j = i
		}
		if i < 0 || j < 0 || j < i {
			return nil, fmt.Errorf("%q: days are mon … sun, as mon or mon-fri", days)
		}
		for d := i; d <= j; d++ {
			oh[dayNames[d]] = append(oh[dayNames[d]], period)
		}
	}
	return oh, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
