// Package outbox sends replies exactly once.
//
// A reply is in the database before any network call. The outbox claims a
// queued reply by moving it to "sending" (committed), posts it, and records
// "sent" with the platform's ID. If the process dies between the post and
// the record, the reply is found in "sending" at the next start: Recover
// asks the platform whether it landed and records it, or queues it again.
// Every attempt after the first asks the platform first as well, so a
// timeout that hid a successful post never leads to a second post. Failed
// attempts back off exponentially with jitter.
//
// Only one outbox may run per database: Lock takes a file lock beside it.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// Store is what the outbox needs from the database.
type Store interface {
	DueReplies(ctx context.Context, now time.Time, limit int) ([]models.Reply, error)
	SendingReplies(ctx context.Context) ([]models.Reply, error)
	NextDue(ctx context.Context) (*time.Time, error)
	ClaimReply(ctx context.Context, id int64) (models.Reply, error)
	MarkSent(ctx context.Context, id int64, remoteID, how string) error
	MarkRetry(ctx context.Context, id int64, lastErr string, next time.Time, counted bool) error
	MarkFailed(ctx context.Context, id int64, lastErr string) error
	Account(ctx context.Context, id int64) (models.Account, error)
	MessageByID(ctx context.Context, id int64) (models.MessageRow, error)
	ConversationByID(ctx context.Context, id int64) (models.Conversation, error)
	MarkAccount(ctx context.Context, id int64, state, lastErr string, until time.Time) error
}

// Backoff is the retry policy.
type Backoff struct {
	Base, Max   time.Duration
	MaxAttempts int
}

// DefaultBackoff waits 30 s, 1 min, 2 min … up to 30 min, and gives up
// after 8 attempts.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Max: 30 * time.Minute, MaxAttempts: 8}

// Delay is the wait after the given number of failed attempts, with ±20 %
// jitter so many stores do not retry in step.
func (b Backoff) Delay(attempts int, r *rand.Rand) time.Duration {
	d := b.Base
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	jitter := 0.8 + 0.4*r.Float64()
	return time.Duration(float64(d) * jitter)
}

// Outbox sends due replies through their accounts' channels.
type Outbox struct {
	store    Store
	channels channels.Registry
	now      func() time.Time
	log      *slog.Logger
	backoff  Backoff
	rand     *rand.Rand
	wake     chan struct{}
	// events reports each reply's new state to whoever listens (the UI).
	events func(Event)
}

// Event tells a listener that a reply changed state.
type Event struct {
	ReplyID int64
	State   string
	Err     string
}

// Option configures an Outbox.
type Option func(*Outbox)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(o *Outbox) { o.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Outbox) { o.log = l } }

// WithBackoff sets the retry policy.
func WithBackoff(b Backoff) Option { return func(o *Outbox) { o.backoff = b } }

// WithEvents sets a function called after every state change. It must not
// block.
func WithEvents(fn func(Event)) Option { return func(o *Outbox) { o.events = fn } }

// WithRand sets the source of jitter, for tests.
func WithRand(r *rand.Rand) Option { return func(o *Outbox) { o.rand = r } }

// New makes an outbox. The caller must hold the outbox Lock for the
// database while it runs.
func New(store Store, reg channels.Registry, opts ...Option) *Outbox {
	o := &Outbox{store: store, channels: reg, now: time.Now, log: slog.New(slog.DiscardHandler),
		backoff: DefaultBackoff, rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), wake: make(chan struct{}, 1)}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Wake makes a running outbox look for due replies now.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *Outbox) emit(id int64, state string, err error) {
	if o.events == nil {
		return
	}
	e := Event{ReplyID: id, State: state}
	if err != nil {
		e.Err = err.Error()
	}
	o.events(e)
}

// Report counts what a Flush or Recover did.
type Report struct {
	Sent, Found, Retried, Failed int
}

// Recover resolves replies left in "sending" by a process that stopped
// mid-send: each one is looked for on its platform and recorded as sent
// when found, or queued again. Run it once at start, before Flush.
func (o *Outbox) Recover(ctx context.Context) (Report, error) {
	var rep Report
	rs, err := o.store.SendingReplies(ctx)
	if err != nil {
		return rep, fmt.Errorf("recover outbox: %w", err)
	}
	for _, r := range rs {
		req, ch, err := o.request(ctx, r)
		if err != nil {
			o.fail(ctx, r, err, &rep)
			continue
		}
		remote, found, err := ch.FindReply(ctx, req)
		switch {
		case err != nil:
			// We cannot tell: try later (or give up on what the platform
			// refuses for good), and ask again before posting.
			o.handleError(ctx, r, fmt.Errorf("check whether reply landed: %w", err), &rep, nil)
		case found:
			if err := o.store.MarkSent(ctx, r.ID, remote, "found after restart"); err != nil {
				return rep, fmt.Errorf("recover reply %d: %w", r.ID, err)
			}
			rep.Found++
			o.log.Info("reply found on the platform after restart", "reply", r.ID, "remote", remote)
			o.emit(r.ID, models.ReplySent, nil)
		default:
			if err := o.store.MarkRetry(ctx, r.ID, "interrupted before it was posted", o.now(), false); err != nil {
				return rep, fmt.Errorf("recover reply %d: %w", r.ID, err)
			}
			rep.Retried++
			o.emit(r.ID, models.ReplyQueued, nil)
		}
	}
	return rep, nil
}

// Flush sends every reply that is due now, one at a time.
func (o *Outbox) Flush(ctx context.Context) (Report, error) {
	var rep Report
	for {
		due, err := o.store.DueReplies(ctx, o.now(), 20)
		if err != nil {
			return rep, fmt.Errorf("list due replies: %w", err)
		}
		if len(due) == 0 {
			return rep, nil
		}
		progress := false
		for _, r := range due {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			ok, err := o.send(ctx, r, &rep)
			if err != nil {
				return rep, err
			}
			progress = progress || ok
		}
		if !progress {
			return rep, nil
		}
	}
}

// send claims and posts one reply. It reports whether it claimed it.
func (o *Outbox) send(ctx context.Context, queued models.Reply, rep *Report) (bool, error) {
	r, err := o.store.ClaimReply(ctx, queued.ID)
	if errors.Is(err, models.ErrConflict) {
		return false, nil // someone else has it
	}
	if err != nil {
		return false, fmt.Errorf("claim reply %d: %w", queued.ID, err)
	}
	o.emit(r.ID, models.ReplySending, nil)
	req, ch, err := o.request(ctx, r)
	if err != nil {
		o.fail(ctx, r, err, rep)
		return true, nil
	}
	if r.Attempts > 1 || r.LastError != "" {
		// An earlier attempt (this run of attempts, or one before a
		// person's retry of a failed reply) may have landed although it
		// reported an error: ask before posting again.
		remote, found, err := ch.FindReply(ctx, req)
		if err != nil {
			o.handleError(ctx, r, fmt.Errorf("check whether reply landed: %w", err), rep, nil)
			return true, nil
		}
		if found {
			if err := o.store.MarkSent(ctx, r.ID, remote, "found before retry"); err != nil {
				return true, fmt.Errorf("record reply %d: %w", r.ID, err)
			}
			rep.Found++
			o.emit(r.ID, models.ReplySent, nil)
			return true, nil
		}
	}
	remote, err := ch.Reply(ctx, req)
	if err != nil {
		o.handleError(ctx, r, err, rep, func(ctx context.Context) (string, bool, error) { return ch.FindReply(ctx, req) })
		return true, nil
	}
	// If the process dies here, the reply stays in "sending" and Recover
	// finds it on the platform at the next start.
	if err := o.store.MarkSent(ctx, r.ID, remote, "posted"); err != nil {
		return true, fmt.Errorf("record sent reply %d (it is on the platform as %s): %w", r.ID, remote, err)
	}
	rep.Sent++
	o.log.Info("reply sent", "reply", r.ID, "remote", remote, "attempt", r.Attempts)
	o.emit(r.ID, models.ReplySent, nil)
	return true, nil
}

// request builds the platform request for a reply.
func (o *Outbox) request(ctx context.Context, r models.Reply) (channels.ReplyRequest, channels.Channel, error) {
	acc, err := o.store.Account(ctx, r.AccountID)
	if err != nil {
		return channels.ReplyRequest{}, nil, err
	}
	ch, err := o.channels.Lookup(acc.Connector)
	if err != nil {
		return channels.ReplyRequest{}, nil, fmt.Errorf("%w: %s/%s: %v", channels.ErrPermanent, acc.Platform, acc.Handle, err)
	}
	m, err := o.store.MessageByID(ctx, r.MessageID)
	if err != nil {
		return channels.ReplyRequest{}, nil, err
	}
	conv, err := o.store.ConversationByID(ctx, r.ConversationID)
	if err != nil {
		return channels.ReplyRequest{}, nil, err
	}
	return channels.ReplyRequest{
		Account:        channels.Account{Platform: acc.Platform, Handle: acc.Handle, Server: acc.Server, RemoteID: acc.RemoteID},
		InReplyTo:      m.PlatformID,
		ThreadID:       conv.ThreadID,
		Kind:           m.Kind,
		Recipient:      m.AuthorID,
		RecipientName:  m.AuthorName,
		WrittenAt:      m.CreatedAt,
		Text:           r.Text,
		Private:        r.Private,
		IdempotencyKey: r.IdempotencyKey,
		FirstAttempt:   r.CreatedAt,
	}, ch, nil
}

// handleError decides what a failed attempt leads to. check, when not
// nil, asks the platform whether the attempt landed after all; it is
// asked once before giving up, since a reply marked failed reopens its
// message for someone to answer again.
func (o *Outbox) handleError(ctx context.Context, r models.Reply, err error, rep *Report, check findFunc) {
	var rl *channels.RateLimitError
	switch {
	case errors.Is(err, channels.ErrPermanent):
		o.fail(ctx, r, err, rep)
	case errors.As(err, &rl):
		until := o.now().Add(rl.RetryAfter)
		if serr := o.store.MarkAccount(ctx, r.AccountID, models.AccountRateLimited, err.Error(), until); serr != nil {
			o.log.Error("mark account rate limited", "account", r.AccountID, "err", serr)
		}
		// Waiting as the platform asks is not a failed attempt.
		o.requeue(ctx, r, err, until, false, rep)
	case errors.Is(err, channels.ErrCredentialsLocked):
		// Nothing was posted, and it is not the reply's fault.
		o.requeue(ctx, r, err, o.now().Add(o.backoff.Max), false, rep)
	case errors.Is(err, channels.ErrAuth):
		if serr := o.store.MarkAccount(ctx, r.AccountID, models.AccountReconnectNeeds, err.Error(), time.Time{}); serr != nil {
			o.log.Error("mark account reconnect needed", "account", r.AccountID, "err", serr)
		}
		o.retryAt(ctx, r, err, o.now().Add(o.backoff.Max), rep, check)
	default:
		o.retryAt(ctx, r, err, o.now().Add(o.backoff.Delay(r.Attempts, o.rand)), rep, check)
	}
}

// findFunc asks the platform whether a reply's attempt landed.
type findFunc func(ctx context.Context) (remoteID string, found bool, err error)

func (o *Outbox) retryAt(ctx context.Context, r models.Reply, err error, at time.Time, rep *Report, check findFunc) {
	if r.Attempts < o.backoff.MaxAttempts {
		o.requeue(ctx, r, err, at, true, rep)
		return
	}
	if check != nil {
		remote, found, cerr := check(ctx)
		if cerr == nil && found {
			if serr := o.store.MarkSent(ctx, r.ID, remote, "found before giving up"); serr != nil {
				o.log.Error("record reply found before giving up", "reply", r.ID, "err", serr)
				return
			}
			rep.Found++
			o.emit(r.ID, models.ReplySent, nil)
			return
		}
		if cerr != nil {
			err = fmt.Errorf("%w (and whether the last attempt landed could not be checked: %v; look on the platform before answering again)", err, cerr)
		}
	}
	o.fail(ctx, r, fmt.Errorf("gave up after %d attempts: %w", r.Attempts, err), rep)
}

func (o *Outbox) requeue(ctx context.Context, r models.Reply, err error, at time.Time, counted bool, rep *Report) {
	if serr := o.store.MarkRetry(ctx, r.ID, err.Error(), at, counted); serr != nil {
		o.log.Error("queue reply for retry", "reply", r.ID, "err", serr)
		return
	}
	rep.Retried++
	o.log.Warn("reply will be retried", "reply", r.ID, "attempt", r.Attempts, "at", at, "err", err)
	o.emit(r.ID, models.ReplyQueued, err)
}

func (o *Outbox) fail(ctx context.Context, r models.Reply, err error, rep *Report) {
	if serr := o.store.MarkFailed(ctx, r.ID, err.Error()); serr != nil {
		o.log.Error("mark reply failed", "reply", r.ID, "err", serr)
		return
	}
	rep.Failed++
	o.log.Warn("reply failed", "reply", r.ID, "err", err)
	o.emit(r.ID, models.ReplyFailed, err)
}

// PollInterval is how often a running outbox looks for replies queued by
// another process (a CLI command) when nothing wakes it.
const PollInterval = 5 * time.Second

// Run recovers, then sends due replies as they come, until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	if _, err := o.Recover(ctx); err != nil {
		o.log.Error("outbox recovery", "err", err)
	}
	for {
		if _, err := o.Flush(ctx); err != nil && ctx.Err() == nil {
			o.log.Error("outbox flush", "err", err)
		}
		wait := PollInterval
		if next, err := o.store.NextDue(ctx); err == nil && next != nil {
			if d := next.Sub(o.now()); d < wait {
				wait = max(d, 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-o.wake:
			t.Stop()
		case <-t.C:
		}
	}
}
