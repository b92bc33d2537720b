package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/sync/records"
)

// crisisBar shows, at the top of a store's window, headquarters' crisis
// broadcasts this store has not acknowledged: the holding statement to
// use, the keywords to watch for, a button to copy the statement and one
// to acknowledge. Acknowledged ones shrink to a line for a day.
type crisisBar struct {
	u    *ui
	box  *fyne.Container
	seen map[string]bool // broadcasts already announced
	// watch are the watch keywords of the broadcasts of the last week,
	// lower case: inbox rows that mention one get a badge.
	watch []string
	// shown are the broadcasts on display, for tests.
	shown []records.CrisisView
}

func newCrisisBar(u *ui) *crisisBar {
	return &crisisBar{u: u, box: container.NewVBox()}
}

// reload reads the broadcasts (cheap: a few records) and redraws.
func (b *crisisBar) reload() {
	if b.u.node.Net == nil {
		return
	}
	list, err := b.u.node.Net.Book.Crises(context.Background())
	if err != nil {
		b.u.log.Warn("crisis broadcasts", "err", err)
		return
	}
	now := b.u.now()
	first := b.seen == nil
	if first {
		b.seen = map[string]bool{}
	}
	for _, cr := range list {
		if !b.seen[cr.ID] {
			b.seen[cr.ID] = true
			if !first && !cr.Acked && b.u.notificationsOn() {
				b.u.app.SendNotification(fyne.NewNotification("Crisis from headquarters: "+cr.Title, cr.Statement))
			}
		}
	}
	b.shown = b.shown[:0]
	b.watch = b.watch[:0]
	for _, cr := range list {
		if now.Sub(cr.At) < 7*24*time.Hour {
			for _, k := range cr.Keywords {
				if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
					b.watch = append(b.watch, k)
				}
			}
		}
	}
	var objs []fyne.CanvasObject
	for _, cr := range list {
		if cr.Acked {
			if now.Sub(cr.At) < 24*time.Hour {
				l := widget.NewLabel(fmt.Sprintf("Crisis: %s (acknowledged). Holding statement: “%s”", cr.Title, cr.Statement))
				l.Truncation = fyne.TextTruncateEllipsis
				l.Importance = widget.WarningImportance
				objs = append(objs, l)
				b.shown = append(b.shown, cr)
			}
			continue
		}
		b.shown = append(b.shown, cr)
		title := widget.NewLabelWithStyle("CRISIS from headquarters: "+cr.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		title.Importance = widget.DangerImportance
		stmt := wrapped("Holding statement, use it as it is: “" + cr.Statement + "”")
		watch := wrapped("Watch for: " + strings.Join(cr.Keywords, ", ") + ". Escalate anything about it (Ctrl+E).")
		id, statement := cr.ID, cr.Statement
		cp := widget.NewButton("Copy the statement", func() {
			b.u.app.Clipboard().SetContent(statement)
			b.u.notice("The holding statement is on the clipboard.")
		})
		ack := widget.NewButton("Acknowledge", func() { b.acknowledge(id) })
		ack.Importance = widget.DangerImportance
		objs = append(objs, container.NewBorder(nil, nil, nil, container.NewHBox(cp, ack), container.NewVBox(title, stmt, watch)), widget.NewSeparator())
	}
	b.box.Objects = objs
	b.box.Refresh()
}

// acknowledge tells headquarters this store has seen the broadcast.
func (b *crisisBar) acknowledge(id string) {
	if err := b.u.node.Net.Book.AckCrisis(context.Background(), id); err != nil {
		b.u.showError("Acknowledge the crisis broadcast", err)
		return
	}
	b.u.notice("Acknowledged: headquarters can see that this store has the statement.")
	b.reload()
}

// watching returns the first watch keyword text mentions, or "".
func (b *crisisBar) watching(text string) string {
	if len(b.watch) == 0 {
		return ""
	}
	lower := strings.ToLower(text)
	for _, k := range b.watch {
		if strings.Contains(lower, k) {
			return k
		}
	}
	return ""
}
