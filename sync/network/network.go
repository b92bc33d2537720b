// Package network makes a data folder a node of the brand's network and
// runs it: headquarters creates the network (InitHQ) and invites nodes
// (Invite); a node joins with its code (Join); Start runs the replica,
// the records book and the gossip node together.
package network

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/gossip"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/records"
	"github.com/branchline/branchline/sync/replica"
)

// ConfigFile holds a node's network settings, gossip keys included: a
// secret, written with mode 0600.
const ConfigFile = "network.json"

// Config is a node's network settings.
type Config struct {
	Root      []byte   `json:"root"`        // headquarters' root public key
	Keys      [][]byte `json:"gossip_keys"` // primary first
	Seeds     []string `json:"seeds"`
	Bind      string   `json:"bind"`      // host:port to listen on
	Advertise string   `json:"advertise"` // host:port others reach it on ("" = Bind)
	Preset    string   `json:"preset"`    // lan or wan
	Name      string   `json:"name"`      // for people: "Copper Kettle HQ"
}

// Save writes the config to dir.
func (c Config) Save(dir string) error {
	return identity.WriteSecret(filepath.Join(dir, ConfigFile), c)
}

// ErrNotMember means the data folder has not joined a network.
var ErrNotMember = errors.New("this data folder is not part of a network (run `branchline hq init` or `branchline join CODE`)")

// LoadConfig reads the config in dir.
func LoadConfig(dir string) (Config, error) {
	var c Config
	if err := identity.ReadSecret(filepath.Join(dir, ConfigFile), &c); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return c, ErrNotMember
		}
		return c, err
	}
	return c, nil
}

// IsMember reports whether dir has joined a network.
func IsMember(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil
}

// Label binds gossip packets to one network.
func (c Config) Label() string { return "branchline/" + hex.EncodeToString(c.Root[:8]) }

// InitHQ creates a network with dir as headquarters.
// preset is "lan" or "wan": memberlist's timings (see docs/network.md).
func InitHQ(dir, name, bind, advertise, preset string, now time.Time) (*identity.Identity, error) {
	if IsMember(dir) {
		return nil, fmt.Errorf("%s is already part of a network", dir)
	}
	if err := checkAddr(bind); err != nil {
		return nil, err
	}
	if advertise != "" {
		if err := checkAddr(advertise); err != nil {
			return nil, err
		}
	}
	preset, err := checkPreset(preset)
	if err != nil {
		return nil, err
	}
	root, err := identity.NewRoot(rand.Reader)
	if err != nil {
		return nil, err
	}
	id, err := root.Issue(identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ, Valid: 10 * 365 * 24 * time.Hour, JoinWithin: time.Hour}, now, rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := identity.NewGossipKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := root.Save(dir); err != nil {
		return nil, err
	}
	if err := id.Save(dir); err != nil {
		return nil, err
	}
	return id, Config{Root: root.Public(), Keys: [][]byte{key}, Bind: bind, Advertise: advertise, Preset: preset, Name: name}.Save(dir)
}

// InviteRequest describes the node to invite.
type InviteRequest struct {
	Role, Location, Region, NodeID string
	Expires                        time.Duration
	// Seeds are addresses the new node contacts first; headquarters' own
	// and the directory's addresses are added.
	Seeds []string
}

// Invite issues a join code for a new node (headquarters only).
func Invite(ctx context.Context, dir string, book *records.Book, req InviteRequest, now time.Time) (string, *identity.Identity, error) {
	root, err := identity.LoadRoot(dir)
	if err != nil {
		return "", nil, err
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return "", nil, err
	}
	if req.NodeID == "" {
		req.NodeID = nodeIDFor(req.Role, req.Location, req.Region)
	}
	if req.Expires == 0 {
		req.Expires = 72 * time.Hour
	}
	if book != nil {
		dir, err := book.Directory(ctx)
		if err != nil {
			return "", nil, err
		}
		for _, d := range dir {
			if d.NodeID == req.NodeID {
				return "", nil, fmt.Errorf("node %s already exists; name the new one with --node-id", req.NodeID)
			}
			if d.Address != "" && !d.Revoked && len(req.Seeds) < 8 {
				req.Seeds = append(req.Seeds, d.Address)
			}
		}
	}
	id, err := root.Issue(identity.CertRequest{NodeID: req.NodeID, Role: req.Role, Location: req.Location, Region: req.Region,
		JoinWithin: req.Expires}, now, rand.Reader)
	if err != nil {
		return "", nil, err
	}
	if book != nil {
		// A key rotation under way must reach the new node too.
		if err := book.ResealKey(ctx, id.Cert.BoxKey); err != nil {
			return "", nil, fmt.Errorf("seal the coming gossip key for %s: %w", req.NodeID, err)
		}
	}
	seeds := append([]string{cfg.advertise()}, req.Seeds...)
	code := &identity.JoinCode{Root: ed25519.PublicKey(cfg.Root), GossipKey: cfg.Keys[0], Seeds: dedupe(seeds), Identity: id}
	return code.Encode(), id, nil
}

func (c Config) advertise() string {
	if c.Advertise != "" {
		return c.Advertise
	}
	return c.Bind
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func nodeIDFor(role, location, region string) string {
	name := location
	if role == identity.RoleRegion {
		name = region
	}
	var b strings.Builder
	b.WriteString(role + "-")
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Join makes dir a node with the identity in the join code.
// preset is "lan" or "wan", as for InitHQ.
func Join(dir, code, bind, advertise, preset string, now time.Time) (*identity.Identity, error) {
	if IsMember(dir) {
		return nil, fmt.Errorf("%s is already part of a network", dir)
	}
	j, err := identity.ParseJoinCode(code, now)
	if err != nil {
		return nil, err
	}
	if preset, err = checkPreset(preset); err != nil {
		return nil, err
	}
	if err := checkAddr(bind); err != nil {
		return nil, err
	}
	if advertise != "" {
		if err := checkAddr(advertise); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := j.Identity.Save(dir); err != nil {
		return nil, err
	}
	name := j.Identity.Cert.Location
	if name == "" {
		name = j.Identity.Cert.Region
	}
	return j.Identity, Config{Root: j.Root, Keys: [][]byte{j.GossipKey}, Seeds: j.Seeds, Bind: bind, Advertise: advertise,
		Preset: preset, Name: name}.Save(dir)
}

// checkPreset accepts memberlist's LAN and WAN presets ("" is LAN).
func checkPreset(p string) (string, error) {
	switch p {
	case "", "lan":
		return "lan", nil
	case "wan":
		return "wan", nil
	}
	return "", fmt.Errorf("preset %q: use lan (one site or a fast VPN: gossip every 200 ms) or wan (stores over the internet: every 500 ms, slower failure detection)", p)
}

func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("address %q: use host:port, e.g. 10.0.0.5:7946", a)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("address %q: the port is not a number", a)
	}
	if host == "" {
		return fmt.Errorf("address %q: name the host or IP to bind", a)
	}
	return nil
}

// Runtime is a running node.
type Runtime struct {
	Config Config
	Self   *identity.Identity
	Rep    *replica.Replica
	Book   *records.Book
	Gossip *gossip.Node // nil until Start

	dir    string
	now    func() time.Time
	keysMu sync.Mutex // guards Config.Keys and the keyring
	wake   chan struct{}
	cancel context.CancelFunc
}

// Open loads the node's identity and replica without starting gossip:
// enough to read and author records from a command.
func Open(ctx context.Context, dir string, store *models.Store, logger *slog.Logger, now func() time.Time) (*Runtime, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	self, err := identity.LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rep, err := replica.New(ctx, store, self, ed25519.PublicKey(cfg.Root), replica.WithClock(now), replica.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Runtime{Config: cfg, Self: self, Rep: rep, Book: records.New(rep, store, now), dir: dir, now: now,
		wake: make(chan struct{}, 1)}, nil
}

// Start runs gossip: it binds, joins the seeds, announces this node in
// the directory and sends changes commands make, until Stop.
func (rt *Runtime) Start(ctx context.Context, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, rt.cancel = context.WithCancel(ctx)
	// A rotation that came into use while the node was down applies now,
	// before the node speaks.
	if err := rt.ReconcileKeys(ctx, logger); err != nil {
		logger.Warn("gossip key", "err", err)
	}
	host, portS, _ := net.SplitHostPort(rt.Config.Bind)
	port, _ := strconv.Atoi(portS)
	cfg := gossip.Config{Name: rt.Self.Cert.NodeID, BindAddr: host, BindPort: port, Preset: rt.Config.Preset,
		Keys: rt.Config.Keys, Label: rt.Config.Label(), Logger: logger,
		Meta: gossip.Meta{Role: rt.Self.Cert.Role, Location: rt.Self.Cert.Location, Region: rt.Self.Cert.Region}}
	if a := rt.Config.Advertise; a != "" {
		ah, ap, _ := net.SplitHostPort(a)
		cfg.AdvertiseAddr = ah
		cfg.AdvertisePort, _ = strconv.Atoi(ap)
	}
	g, err := gossip.Start(ctx, cfg, rt.Rep)
	if err != nil {
		return err
	}
	rt.Gossip = g
	g.WatchOwn(ctx, 500*time.Millisecond)
	addr := rt.Config.advertise()
	if port == 0 {
		ln := g.Memberlist().LocalNode()
		addr = net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port)))
	}
	if err := rt.Book.Announce(ctx, rt.Config.Name, addr); err != nil {
		return err
	}
	seeds := func() []string {
		list := append([]string(nil), rt.Config.Seeds...)
		// A few nodes the directory knows are seeds too: a store whose
		// seeds moved still finds its way back. Join contacts every
		// address it is given, so only a few.
		if dir, err := rt.Book.Directory(ctx); err == nil {
			mrand.Shuffle(len(dir), func(i, j int) { dir[i], dir[j] = dir[j], dir[i] })
			extra := 0
			for _, e := range dir {
				if extra < extraSeeds && !e.Revoked && e.Address != "" && e.NodeID != rt.Self.Cert.NodeID {
					list = append(list, e.Address)
					extra++
				}
			}
		}
		var out []string
		for _, s := range dedupe(list) {
			if s != addr {
				out = append(out, s)
			}
		}
		return out
	}
	if list := seeds(); len(list) > 0 {
		if _, err := g.Join(list); err != nil {
			logger.Warn("no seed answered; the node stays up and keeps trying", "seeds", list, "err", err)
		}
	}
	// Back after a network outage, memberlist alone would never look for
	// the others again.
	g.KeepJoined(ctx, seeds, rejoinInterval)
	rt.Rep.OnApplied(func(cs []*change.Change) {
		for _, c := range cs {
			if c.Kind == change.KindGossipKey {
				select {
				case rt.wake <- struct{}{}:
				default:
				}
			}
		}
	})
	go rt.keepKeys(ctx, logger)
	return nil
}

// extraSeeds is how many directory addresses a rejoin tries besides the
// configured seeds.
const extraSeeds = 4

// rejoinInterval is how often a node with no live peer tries its seeds.
const rejoinInterval = 10 * time.Second

// Stop leaves the network gracefully.
func (rt *Runtime) Stop() {
	if rt.cancel != nil {
		rt.cancel()
	}
	if rt.Gossip != nil {
		rt.Gossip.Leave(5 * time.Second)
	}
}
