package desk

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// PollReport says what a poll brought in.
type PollReport struct {
	Accounts int
	Inserted int
	Failed   int
	// Skipped counts connected accounts not polled: not due yet, waiting
	// for the platform, or needing reconnection.
	Skipped int
}

// PollJitter spreads each account's polls by up to ± this share of the
// interval, so the accounts of a location, and locations started
// together, do not call a platform in step.
const PollJitter = 0.2

// Poll asks every connected account's channel for new items and stores
// them, triaged. The cursor is saved only after the items are, so a crash
// mid-poll loses nothing and a repeated poll duplicates nothing. Accounts
// that need reconnecting, or that the platform asked to wait, are skipped.
func (d *Desk) Poll(ctx context.Context, reg channels.Registry) (PollReport, error) {
	return d.PollDue(ctx, reg, 0)
}

// PollDue is Poll for the accounts due: those not polled within every,
// jittered per account (0 polls every account).
func (d *Desk) PollDue(ctx context.Context, reg channels.Registry, every time.Duration) (PollReport, error) {
	var rep PollReport
	accs, err := d.store.Accounts(ctx)
	if err != nil {
		return rep, err
	}
	now := d.now()
	var errs []error
	for _, acc := range accs {
		if !acc.Connected() {
			continue
		}
		if acc.State == models.AccountReconnectNeeds || acc.Waiting(now) || !pollDue(acc, every, now) {
			rep.Skipped++
			continue
		}
		ch, err := reg.Lookup(acc.Connector)
		if err != nil {
			rep.Skipped++
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

// pollDue reports whether acc is due for a poll at now: every, give or
// take PollJitter, after its last poll. The jitter is drawn from the
// account and its last poll, so it differs between accounts and rounds
// and needs no state.
func pollDue(acc models.Account, every time.Duration, now time.Time) bool {
	if every <= 0 || acc.LastPolledAt == nil {
		return true
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d", acc.ID, acc.LastPolledAt.UnixNano())
	u := float64(h.Sum64()%10001) / 10000 // [0, 1]
	wait := every + time.Duration((u*2-1)*PollJitter*float64(every))
	return !now.Before(acc.LastPolledAt.Add(wait))
}

// Polling reports whether an account is being polled now.
func (d *Desk) Polling(id int64) bool {
	d.pollMu.Lock()
	defer d.pollMu.Unlock()
	return d.polling[id]
}

func (d *Desk) setPolling(id int64, on bool) {
	d.pollMu.Lock()
	defer d.pollMu.Unlock()
	if d.polling == nil {
		d.polling = map[int64]bool{}
	}
	if on {
		d.polling[id] = true
	} else {
		delete(d.polling, id)
	}
}

// ChannelAccount is what a channel needs to know of an account.
func ChannelAccount(acc models.Account) channels.Account {
	return channels.Account{Platform: acc.Platform, Handle: acc.Handle, Server: acc.Server, RemoteID: acc.RemoteID}
}

func (d *Desk) pollAccount(ctx context.Context, ch channels.Channel, acc models.Account) (int, error) {
	d.setPolling(acc.ID, true)
	defer d.setPolling(acc.ID, false)
	triager, _, _ := d.tools()
	loc := d.Location()
	cursor := acc.Cursor
	inserted := 0
	for range 100 { // bounded: at most 100 pages a poll
		page, err := ch.Poll(ctx, ChannelAccount(acc), cursor)
		if err != nil {
			if serr := d.recordPollError(ctx, acc, err); serr != nil {
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

// recordPollError keeps what a failed poll says about the account: its
// credentials no longer work, or the platform asked to wait, or the error
// for the accounts screen; the cursor stays where the last stored page
// left it.
func (d *Desk) recordPollError(ctx context.Context, acc models.Account, err error) error {
	var rl *channels.RateLimitError
	switch {
	case errors.Is(err, channels.ErrAuth):
		d.log.Warn("account needs reconnecting", "platform", acc.Platform, "handle", acc.Handle, "err", err)
		return d.store.RecordPollFailure(ctx, acc.ID, models.AccountReconnectNeeds, err.Error(), time.Time{})
	case errors.As(err, &rl):
		until := d.now().Add(rl.RetryAfter)
		d.log.Info("platform asked to wait", "platform", acc.Platform, "handle", acc.Handle, "until", until)
		return d.store.RecordPollFailure(ctx, acc.ID, models.AccountRateLimited, err.Error(), until)
	default:
		return d.store.RecordPollFailure(ctx, acc.ID, models.AccountConnected, err.Error(), time.Time{})
	}
}
