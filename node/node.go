// Package node wires a Branchline node together from its data folder: the
// database, the desk, the channels that serve its accounts, the outbox
// that sends replies and the poller that brings new messages in. The CLI
// and the desktop app both start from a Node.
//
// A data folder that has never been set up becomes the demo location.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/outbox"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/demo"
	"github.com/branchline/branchline/channels/vault"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/network"
)

// Files in a data folder.
const (
	DatabaseFile     = "branchline.db"
	DemoPlatformFile = "demo-platform.db"
	OutboxLockFile   = "outbox.lock"
)

// Options configures Open.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// NoDemo refuses to turn an empty data folder into the demo location.
	NoDemo bool
	// DemoLivePerHour overrides how often the demo platform produces a
	// new message once running (0: its default).
	DemoLivePerHour float64
	// Passphrase gives the passphrase of the encrypted credentials file,
	// where the machine has no keyring service (nil: none, so accounts
	// that need a token show reconnect needed).
	Passphrase vault.PassphraseFunc
	// CredentialsFile keeps account tokens in the passphrase-encrypted
	// file even where a system keyring exists (EnvCredentials=file).
	CredentialsFile bool
	// GoogleClientID and GoogleClientSecret are the brand's OAuth client
	// for Google Business Profile sign-in (EnvGoogleClientID).
	GoogleClientID, GoogleClientSecret string
	// PollInterval is how often workers poll the accounts (0: a minute;
	// the demo: 20 seconds).
	PollInterval time.Duration
}

// Node is an open data folder.
type Node struct {
	Dir      string
	Store    *models.Store
	Desk     *desk.Desk
	Channels channels.Registry
	// Demo is the simulated platform of a demo location, or nil.
	Demo *demo.Platform
	// Net is this node's membership of the brand network, or nil when the
	// data folder has not joined one.
	Net *network.Runtime
	// DemoRelayed marks a node of the demo network, whose changes a relay
	// in the process hands over instead of gossip.
	DemoRelayed bool

	kpi kpiCube // the network's daily summaries, parsed

	vault  lazyVault // accounts' tokens, opened when first needed
	prompt vault.PassphraseFunc

	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	lock    *outbox.Lock
	outbox  *outbox.Outbox
	events  []func(outbox.Event)
	newMsgs []func(int)

	// bg is background work that must end before the store closes
	// (keeping parsed figures); bgStop ends it.
	bg     sync.WaitGroup
	bgCtx  context.Context
	bgStop context.CancelFunc
}

// ErrNotSetUp means the data folder has no location and NoDemo was set.
var ErrNotSetUp = errors.New("this data folder is not set up (run `branchline init`)")

// Open opens the data folder dir, creating it if needed.
func Open(ctx context.Context, dir string, opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", dir, err)
	}
	n := &Node{Dir: dir, opts: opts, log: opts.Logger, now: opts.Now}
	n.bgCtx, n.bgStop = context.WithCancel(context.Background())
	n.vault = lazyVault{dir: dir, now: opts.Now, opts: []vault.Option{vault.WithPassphrase(n.passphrase), vault.WithLogger(opts.Logger)}}
	if opts.CredentialsFile {
		n.vault.opts = append(n.vault.opts, vault.WithFileBackend())
	}
	dbPath := filepath.Join(dir, DatabaseFile)
	store, err := models.Open(ctx, dbPath, models.WithClock(opts.Now), models.WithLogger(opts.Logger))
	if err != nil {
		return nil, err
	}
	n.Store = store
	if network.IsMember(dir) {
		if n.Net, err = network.Open(ctx, dir, store, opts.Logger, opts.Now); err != nil {
			store.Close()
			return nil, err
		}
	}
	loc, err := store.Location(ctx)
	if errors.Is(err, models.ErrNoLocation) && n.Net != nil && n.Net.Self.Cert.Role != identity.RoleStore {
		// Headquarters and regions have no inbox of their own.
		n.Channels = channels.Registry{}
		return n, nil
	}
	if errors.Is(err, models.ErrNoLocation) {
		if opts.NoDemo || n.Net != nil {
			store.Close()
			return nil, ErrNotSetUp
		}
		n.log.Info("setting up the demo location", "dir", dir)
		// The demo is built on a store of its own, with a clock that walks
		// through the demo's history.
		store.Close()
		if err := SetupDemo(ctx, dir, opts.Now()); err != nil {
			return nil, fmt.Errorf("set up the demo location in %s: %w", dir, err)
		}
		if err := setupDemoNetwork(ctx, dir, demoLocation, demoRegion, opts.Now()); err != nil {
			return nil, fmt.Errorf("set up the demo network in %s: %w", dir, err)
		}
		if n.Store, err = models.Open(ctx, dbPath, models.WithClock(opts.Now), models.WithLogger(opts.Logger)); err != nil {
			return nil, err
		}
		if n.Net, err = network.Open(ctx, dir, n.Store, opts.Logger, opts.Now); err != nil {
			n.Store.Close()
			return nil, err
		}
		loc, err = n.Store.Location(ctx)
	}
	if err != nil {
		n.Store.Close()
		return nil, err
	}
	n.Channels = channels.Registry{}
	n.addConnectors()
	if loc.Demo {
		p, err := demo.Open(ctx, filepath.Join(dir, DemoPlatformFile), demoOptions(loc, opts.DemoLivePerHour), opts.Now)
		if err != nil {
			n.Store.Close()
			return nil, err
		}
		n.Demo = p
		n.Channels[demo.Connector] = p
	}
	if n.Desk, err = desk.Open(ctx, n.Store, desk.WithClock(opts.Now), desk.WithLogger(opts.Logger)); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func demoOptions(loc models.Location, livePerHour float64) demo.Options {
	return demo.Options{Seed: demoSeed, Zone: loc.Zone(), LivePerHour: livePerHour}
}

// Close stops using the data folder. Workers must have been stopped (their
// context cancelled) first.
func (n *Node) Close() error {
	var errs []error
	if n.Net != nil {
		n.Net.Stop()
	}
	n.bgStop()
	n.bg.Wait()
	n.mu.Lock()
	if n.lock != nil {
		errs = append(errs, n.lock.Unlock())
		n.lock = nil
	}
	n.mu.Unlock()
	if n.Demo != nil {
		errs = append(errs, n.Demo.Close())
	}
	if n.Store != nil {
		n.Store.Checkpoint(context.Background())
		errs = append(errs, n.Store.Close())
	}
	return errors.Join(errs...)
}

// OnOutboxEvent registers fn to hear about reply state changes made by
// this process's outbox. Register before StartWorkers.
func (n *Node) OnOutboxEvent(fn func(outbox.Event)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, fn)
}

// takeOutbox acquires the outbox lock and builds the outbox, or returns
// outbox.ErrBusy when another process sends for this folder.
func (n *Node) takeOutbox() (*outbox.Outbox, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.outbox != nil {
		return n.outbox, nil
	}
	lock, err := outbox.TryLock(filepath.Join(n.Dir, OutboxLockFile))
	if err != nil {
		return nil, err
	}
	n.lock = lock
	events := append([]func(outbox.Event){}, n.events...)
	n.outbox = outbox.New(n.Store, n.Channels, outbox.WithClock(n.now), outbox.WithLogger(n.log),
		outbox.WithEvents(func(e outbox.Event) {
			for _, fn := range events {
				fn(e)
			}
		}))
	return n.outbox, nil
}

// releaseOutbox gives the lock back (after a one-off flush).
func (n *Node) releaseOutbox() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lock != nil {
		n.lock.Unlock()
	}
	n.lock, n.outbox = nil, nil
}

// SendNow sends due replies at once if no other process is sending for
// this data folder. It reports whether it could; when it could not, the
// running app or node sends them within seconds.
func (n *Node) SendNow(ctx context.Context) (bool, outbox.Report, error) {
	ob, err := n.takeOutbox()
	if errors.Is(err, outbox.ErrBusy) {
		return false, outbox.Report{}, nil
	}
	if err != nil {
		return false, outbox.Report{}, err
	}
	defer n.releaseOutbox()
	rec, err := ob.Recover(ctx)
	if err != nil {
		return true, rec, err
	}
	rep, err := ob.Flush(ctx)
	rep.Found += rec.Found
	rep.Retried += rec.Retried
	rep.Failed += rec.Failed
	return true, rep, err
}

// WakeOutbox makes a running outbox look at the queue now.
func (n *Node) WakeOutbox() {
	n.mu.Lock()
	ob := n.outbox
	n.mu.Unlock()
	if ob != nil {
		ob.Wake()
	}
}

// StartWorkers runs the outbox and the poller until ctx ends. If another
// process already sends for this folder, only the poller runs here. done
// is closed when both have stopped.
func (n *Node) StartWorkers(ctx context.Context) (done <-chan struct{}) {
	var wg sync.WaitGroup
	// The demo location's network has nobody else in it: it does not
	// gossip (nothing of the demo leaves the machine).
	if n.Net != nil && n.Demo == nil {
		if err := n.startNetwork(ctx, &wg); err != nil {
			n.log.Error("network", "err", err)
		}
	}
	if n.Desk == nil {
		ch := make(chan struct{})
		go func() { wg.Wait(); close(ch) }()
		return ch
	}
	ob, err := n.takeOutbox()
	switch {
	case err == nil:
		wg.Add(1)
		go func() {
			defer wg.Done()
			ob.Run(ctx)
		}()
	case errors.Is(err, outbox.ErrBusy):
		n.log.Warn("another process sends replies for this data folder; this one only polls", "dir", n.Dir)
	default:
		n.log.Error("outbox", "err", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.pollLoop(ctx)
	}()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

func (n *Node) pollLoop(ctx context.Context) {
	every := n.opts.PollInterval
	if every == 0 {
		every = time.Minute
		if n.Demo != nil {
			every = 20 * time.Second
		}
	}
	// Each account falls due on its own jittered schedule (desk.PollDue);
	// the loop looks several times an interval so none waits long past it.
	tick := max(every/4, time.Second)
	for {
		if rep, err := n.Desk.PollDue(ctx, n.Channels, every); err != nil && ctx.Err() == nil {
			n.log.Warn("poll", "err", err)
		} else if rep.Inserted > 0 {
			n.log.Info("new messages", "count", rep.Inserted)
			n.notifyNew(rep.Inserted)
		}
		t := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Now is the node's clock.
func (n *Node) Now() time.Time { return n.now() }

// OnNewMessages registers fn to hear how many messages a poll brought.
func (n *Node) OnNewMessages(fn func(int)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.newMsgs = append(n.newMsgs, fn)
}

func (n *Node) notifyNew(count int) {
	n.mu.Lock()
	fns := append([]func(int){}, n.newMsgs...)
	n.mu.Unlock()
	for _, fn := range fns {
		fn(count)
	}
}
