package node

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/outbox"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/demo"
	"github.com/branchline/branchline/models"
)

// demoSeed fixes the demo's stream, so every new demo looks the same.
const demoSeed = 20261122

// The demo location and its region.
const (
	demoLocation = "Copper Kettle Riverside"
	demoRegion   = "Pacific Northwest"
)

// DemoHistory is how far back the demo location's messages go.
const DemoHistory = 21 * 24 * time.Hour

// The demo location's staff.
var demoStaff = []models.Staff{
	{Name: "Maria Lopez", Handle: "maria", Role: models.RoleManager},
	{Name: "Sam Chen", Handle: "sam", Role: models.RoleCrew},
	{Name: "Priya Nair", Handle: "priya", Role: models.RoleCrew},
	{Name: "Tom Becker", Handle: "tom", Role: models.RoleTrainee},
}

// SetupDemo makes dir the demo location, Copper Kettle Riverside: its
// accounts on the demo platform, staff, the default guideline pack and
// templates, and three weeks of messages, older ones mostly answered (some
// by the trainee, approved by the manager), recent ones waiting.
//
// It walks a clock through those weeks so that every message, reply and
// audit entry carries the time it would have had, and it uses the same
// desk and outbox as the live app.
func SetupDemo(ctx context.Context, dir string, now time.Time) error {
	return setupDemoSite(ctx, dir, now, riversideSite)
}

// demoSite is a demo location: the one the app opens on, or another store
// of the demo brand network.
type demoSite struct {
	name, short, phone, address string
	seed                        uint64
}

var (
	riversideSite = demoSite{demoLocation, "Riverside", "(503) 555-0142", "1200 NW Riverside Drive, Portland, OR 97209", demoSeed}
	harborSite    = demoSite{"Copper Kettle Harbor", "Harbor", "(503) 555-0178", "88 SE Harbor Way, Portland, OR 97214", demoSeed + 1}
)

func setupDemoSite(ctx context.Context, dir string, now time.Time, site demoSite) error {
	now = now.UTC()
	start := now.Add(-DemoHistory)
	sim := start
	clock := func() time.Time { return sim }

	store, err := models.Open(ctx, filepath.Join(dir, DatabaseFile), models.WithClock(clock))
	if err != nil {
		return err
	}
	defer store.Close()
	err = desk.Setup(ctx, store, desk.LocationSetup{
		Name: site.name, ShortName: site.short, Brand: "Copper Kettle Burgers", Region: demoRegion,
		TimeZone: "America/Los_Angeles", Phone: site.phone, Address: site.address,
		Hours: models.OpeningHours{
			"mon": {"11:00-22:00"}, "tue": {"11:00-22:00"}, "wed": {"11:00-22:00"}, "thu": {"11:00-22:00"},
			"fri": {"11:00-23:00"}, "sat": {"10:00-23:00"}, "sun": {"10:00-21:00"},
		},
	})
	if err != nil {
		return err
	}
	if err := store.MarkDemo(ctx); err != nil {
		return err
	}
	for i := range demoStaff {
		st := demoStaff[i]
		if err := store.CreateStaff(ctx, "system", &st); err != nil {
			return err
		}
	}
	loc, err := store.Location(ctx)
	if err != nil {
		return err
	}
	for _, a := range demo.Accounts {
		acc := models.Account{LocationID: loc.ID, Platform: a.Platform, Handle: a.Handle, DisplayName: a.DisplayName,
			Purpose: a.Purpose, Connector: demo.Connector}
		if err := store.CreateAccount(ctx, &acc); err != nil {
			return err
		}
	}

	platform, err := demo.Open(ctx, filepath.Join(dir, DemoPlatformFile),
		demo.Options{Seed: site.seed, Zone: loc.Zone(), Live: now}, clock)
	if err != nil {
		return err
	}
	defer platform.Close()
	if err := platform.Advance(ctx, start); err != nil {
		return err
	}
	d, err := desk.Open(ctx, store, desk.WithClock(clock))
	if err != nil {
		return err
	}
	reg := channels.Registry{demo.Connector: platform}
	ob := outbox.New(store, reg, outbox.WithClock(clock))
	r := rand.New(rand.NewPCG(site.seed, 7))

	// Poll every six hours; between polls, answer what was planned.
	plans := &planQueue{}
	considered := map[int64]bool{}
	for t := start.Add(6 * time.Hour); ; t = t.Add(6 * time.Hour) {
		if t.After(now) {
			t = now
		}
		for plans.Len() > 0 && (*plans)[0].at.Before(t) {
			p := heap.Pop(plans).(plan)
			sim = p.at
			if err := answer(ctx, d, ob, p, r, &sim); err != nil {
				return err
			}
		}
		sim = t
		if err := platform.Advance(ctx, start); err != nil {
			return err
		}
		if _, err := d.Poll(ctx, reg); err != nil {
			return err
		}
		if err := planAnswers(ctx, store, considered, t, now, r, plans); err != nil {
			return err
		}
		if !t.Before(now) {
			break
		}
	}
	// Leave the manager something to review: the trainee's drafts to the
	// two newest messages that need a response.
	sim = now.Add(-20 * time.Minute)
	open, _, err := store.Inbox(ctx, models.InboxQuery{Filter: models.FilterNeedsResponse, Limit: 10})
	if err != nil {
		return err
	}
	drafted := 0
	for _, m := range open {
		if drafted == 2 || m.Crisis != "" {
			continue
		}
		name, answers := demoTemplate(m, r)
		if _, _, err := d.Reply(ctx, desk.ReplyInput{MessageID: m.ID, Staff: "tom", Template: name, Answers: answers}); err == nil {
			drafted++
		}
	}
	return nil
}

// plan is an answer the demo will give.
type plan struct {
	at        time.Time
	messageID int64
	staff     string
	approveAt time.Time // for a trainee's reply; zero leaves it waiting
}

type planQueue []plan

func (q planQueue) Len() int           { return len(q) }
func (q planQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q planQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *planQueue) Push(x any)        { *q = append(*q, x.(plan)) }
func (q *planQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}

// planAnswers decides which of the messages a poll brought in get answered
// and when: most older ones within hours, fewer of the recent ones, so the
// inbox has work waiting.
func planAnswers(ctx context.Context, store *models.Store, considered map[int64]bool, polled, now time.Time, r *rand.Rand, q *planQueue) error {
	rows, _, err := store.Inbox(ctx, models.InboxQuery{Filter: models.FilterNeedsResponse, Limit: 1000})
	if err != nil {
		return err
	}
	for _, m := range rows {
		if considered[m.ID] {
			continue
		}
		considered[m.ID] = true
		age := now.Sub(m.CreatedAt)
		chance := 0.85
		switch {
		case age < 24*time.Hour:
			chance = 0.1
		case age < 3*24*time.Hour:
			chance = 0.45
		}
		if m.Crisis != "" {
			chance = 0.5
		}
		if r.Float64() >= chance {
			continue
		}
		delay := time.Duration(5+r.ExpFloat64()*90) * time.Minute
		at := m.CreatedAt.Add(delay)
		if at.Before(polled) {
			at = polled.Add(time.Duration(5+r.IntN(120)) * time.Minute)
		}
		if at.After(now) {
			continue
		}
		p := plan{at: at, messageID: m.ID}
		switch x := r.IntN(10); {
		case x < 3:
			p.staff = "maria"
		case x < 6:
			p.staff = "sam"
		case x < 8:
			p.staff = "priya"
		default:
			p.staff = "tom"
			p.approveAt = at.Add(time.Duration(10+r.IntN(50)) * time.Minute)
			if p.approveAt.After(now) {
				p.approveAt = time.Time{} // still waiting for Maria
			}
		}
		heap.Push(q, p)
	}
	return nil
}

// answer replies to a planned message with a fitting template and sends it.
func answer(ctx context.Context, d *desk.Desk, ob *outbox.Outbox, p plan, r *rand.Rand, sim *time.Time) error {
	m, err := d.Store().MessageByID(ctx, p.messageID)
	if err != nil {
		return err
	}
	if m.Status != models.StatusOpen {
		return nil
	}
	name, answers := demoTemplate(m, r)
	in := desk.ReplyInput{MessageID: m.ID, Staff: p.staff, Template: name, Answers: answers}
	reply, _, err := d.Reply(ctx, in)
	if err != nil {
		// A template that does not fit the platform, or a finding only a
		// manager may override: the demo leaves that message for the user.
		return nil
	}
	if reply.State == models.ReplyPendingApproval {
		if p.approveAt.IsZero() {
			return nil
		}
		*sim = p.approveAt
		note := ""
		if r.IntN(3) == 0 {
			note = "Nice, warm reply. Keep the apology to one sentence."
		}
		if _, _, err := d.ReviewReply(ctx, desk.Review{ReplyID: reply.ID, Manager: "maria", Approve: true, Note: note}); err != nil {
			return nil
		}
	}
	if _, err := ob.Flush(ctx); err != nil {
		return fmt.Errorf("demo history: send reply %d: %w", reply.ID, err)
	}
	return nil
}

// demoTemplate picks a template for a message from its triage.
func demoTemplate(m models.MessageRow, r *rand.Rand) (string, map[string]string) {
	text := strings.ToLower(m.Text)
	switch {
	case m.Crisis != "":
		return "crisis-holding", nil
	case m.Kind == "review" && m.Rating >= 4:
		return "review-positive", nil
	case m.Kind == "review":
		return "review-negative", nil
	case m.Department == "hr":
		return "jobs-apply", nil
	case m.Stage == "purchase" && strings.Contains(text, "app"):
		return "app-checkout-problem", nil
	case m.Stage == "purchase":
		return "order-delay", nil
	case m.Stage == "pre_purchase" && containsAny(text, "open", "close", "hours", "closing"):
		return "hours-today", nil
	case m.Stage == "pre_purchase" && containsAny(text, "vegan", "vegetarian", "plant"):
		return "vegan-options", nil
	case m.Stage == "pre_purchase" && containsAny(text, "allerg", "gluten", "nut", "dairy", "celiac", "coeliac"):
		return "allergens", nil
	case m.Stage == "pre_purchase" && containsAny(text, "cater", "party", "group", "office"):
		return "catering-enquiry", nil
	case m.Stage == "pre_purchase" && containsAny(text, "gift card"):
		return "gift-cards", nil
	case m.Stage == "pre_purchase" && m.Department == "marketing":
		return "kettle-club", nil
	case m.Stage == "pre_purchase":
		return "menu-question", map[string]string{"answer": []string{
			"Great question: yes, we do, and the team will be happy to walk you through it.",
			"We sure do, ask any of the crew when you come in.",
			"Not right now, but we'll pass the idea on to our menu team.",
		}[r.IntN(3)]}
	case m.Department == "marketing":
		return "thanks-praise", nil
	case containsAny(text, "wait", "slow", "took"):
		return "slow-service", nil
	case containsAny(text, "wrong", "missing", "forgot"):
		return "wrong-or-missing-item", nil
	case containsAny(text, "rude", "attitude"):
		return "staff-attitude", nil
	default:
		return "take-private-dm", nil
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
