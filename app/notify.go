package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
)

// notificationsOn reports whether the user wants desktop notifications.
func (u *ui) notificationsOn() bool {
	return u.app.Preferences().BoolWithFallback(prefNotifications, true)
}

// notifyUrgent sends a desktop notification for the urgent ones among the
// newest count messages (a crisis signal, or high priority).
func (u *ui) notifyUrgent(count int) {
	if !u.notificationsOn() || count <= 0 {
		return
	}
	items, _, err := u.node.Desk.Inbox(context.Background(), models.InboxQuery{Filter: models.FilterNeedsResponse, Limit: min(count, 50)})
	if err != nil {
		return
	}
	urgent := 0
	var first string
	for _, it := range items {
		if it.Crisis != "" || it.Priority >= urgentPriority {
			urgent++
			if first == "" {
				first = fmt.Sprintf("%s on %s: %s", it.Author, platformName(it.Platform), humanize.Snippet(it.Text, 80))
			}
		}
	}
	switch {
	case urgent == 1:
		u.app.SendNotification(fyne.NewNotification("Urgent message", first))
	case urgent > 1:
		u.app.SendNotification(fyne.NewNotification(fmt.Sprintf("%d urgent messages", urgent), first))
	}
}

// urgentPriority is the triage priority (0–100) from which a new message
// is announced: one that needs a response and is clearly negative, or a
// low-rated review (crisis signals always are).
const urgentPriority = 40

// notifyBreaches announces messages that have just passed the brand's
// response-time target, once each.
func (u *ui) notifyBreaches() {
	if !u.notificationsOn() {
		return
	}
	target := time.Duration(u.node.Desk.Pack().ResponseTime.TargetMinutes) * time.Minute
	if target <= 0 {
		target = time.Hour
	}
	if u.breached == nil {
		u.breached = map[int64]bool{}
	}
	n := 0
	for _, it := range u.inbox.items {
		if !it.NeedsResponse || it.Status != models.StatusOpen {
			continue
		}
		waited := u.node.Desk.OpenBetween(it.CreatedAt, u.now())
		if waited < target {
			continue
		}
		if !u.breached[it.ID] {
			u.breached[it.ID] = true
			// Only those that crossed the line since the app started.
			if waited < target+time.Minute {
				n++
			}
		}
	}
	if n > 0 {
		u.app.SendNotification(fyne.NewNotification("Response-time target passed",
			fmt.Sprintf("%d message(s) have waited longer than %s.", n, humanize.Age(target))))
	}
}

// watchEscalations notices new escalations, status changes and comments
// made elsewhere on the escalations this node can see, and announces them.
// The first look only takes stock.
func (u *ui) watchEscalations() {
	if u.node.Net == nil {
		return
	}
	list, err := u.node.Net.Book.Escalations(context.Background())
	if err != nil {
		return
	}
	first := u.escSeen == nil
	if first {
		u.escSeen = map[string]string{}
	}
	self := u.node.Net.Self.Cert.NodeID
	var changed []string
	for _, e := range list {
		// What others did: status changes and comments not made here.
		others := 0
		for _, h := range e.History {
			if h.By != self {
				others++
			}
		}
		for _, c := range e.Comments {
			if c.By != self {
				others++
			}
		}
		state := fmt.Sprint(others)
		before, known := u.escSeen[e.ID]
		u.escSeen[e.ID] = state
		switch {
		case first, known && before == state, !known && e.RaisedBy == self:
			continue
		case !known:
			changed = append(changed, fmt.Sprintf("%s (%s): new, from %s", strings.ReplaceAll(e.Category, "_", " "), e.Severity, e.Location))
		default:
			changed = append(changed, fmt.Sprintf("%s (%s): %s", strings.ReplaceAll(e.Category, "_", " "), e.Severity,
				strings.ReplaceAll(e.Stage, "_", " ")))
		}
	}
	if len(changed) == 0 {
		return
	}
	if u.tabs != nil && u.tabs.SelectedIndex() == 2 {
		u.escal.reload()
	}
	if u.notificationsOn() {
		u.app.SendNotification(fyne.NewNotification("Escalation update", strings.Join(changed, "\n")))
	}
}
