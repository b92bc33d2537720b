package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// PollReport says what a poll brought in.
type PollReport struct {
	Accounts int
	Inserted int
	Failed   int
}

// Poll asks every connected account's channel for new items and stores
// them, triaged. The cursor is saved only after the items are, so a crash
// mid-poll loses nothing and a repeated poll duplicates nothing.
func (d *Desk) Poll(ctx context.Context, reg channels.Registry) (PollReport, error) {
	var rep PollReport
	accs, err := d.store.Accounts(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, acc := range accs {
		if acc.Connector == "" || acc.State == models.AccountReconnectNeeds {
			continue
		}
		ch, err := reg.Lookup(acc.Connector)
		if err != nil {
			continue
		}
		rep.Accounts++
		n, err := d.pollAccount(ctx, ch, acc)
		rep.Inserted += n
		if err != nil {
			rep.Failed++
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

func (d *Desk) pollAccount(ctx context.Context, ch channels.Channel, acc models.Account) (int, error) {
	triager, _, _ := d.tools()
	loc := d.Location()
	cursor := acc.Cursor
	inserted := 0
	for range 100 { // bounded: at most 100 pages a poll
		page, err := ch.Poll(ctx, channels.Account{Platform: acc.Platform, Handle: acc.Handle}, cursor)
		if err != nil {
			state := models.AccountConnected
			if errors.Is(err, channels.ErrAuth) {
				state = models.AccountReconnectNeeds
			} else if errors.Is(err, channels.ErrRateLimited) {
				state = models.AccountRateLimited
			}
			if serr := d.store.SavePollState(ctx, acc.ID, cursor, state, err.Error()); serr != nil {
				return inserted, serr
			}
			return inserted, fmt.Errorf("poll %s/%s: %w", acc.Platform, acc.Handle, err)
		}
		if len(page.Items) > 0 {
			batch := make([]models.Inbound, len(page.Items))
			for i, it := range page.Items {
				batch[i] = inboundOf(triager, acc.Platform, acc.Handle, it, "poll:"+acc.Connector)
			}
			res, err := d.store.InsertInbound(ctx, loc.ID, batch)
			if err != nil {
				return inserted, err
			}
			inserted += res.Inserted
		}
		cursor = page.Cursor
		if err := d.store.SavePollState(ctx, acc.ID, cursor, models.AccountConnected, ""); err != nil {
			return inserted, err
		}
		if !page.More {
			break
		}
	}
	return inserted, nil
}
