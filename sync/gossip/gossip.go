// Package gossip moves a replica's changes between nodes with hashicorp's
// memberlist, within its limits:
//
//   - small changes travel as gossip, piggybacked on memberlist's own
//     packets and re-gossiped once by every node that sees them new;
//     larger ones are only announced, and fetched over TCP;
//   - every push/pull carries a digest (per-author high-water marks), and
//     the side that is behind asks the other for exactly the ranges it
//     lacks, over TCP, in bounded chunks: a node back after a week gets
//     what it missed, not everything;
//   - memberlist's delegate callbacks never block: messages are copied
//     into a bounded queue (dropped when it is full; the next push/pull
//     repairs the loss) and handled by a worker.
//
// Gossip is always encrypted (memberlist's keyring, AES-GCM) and labelled;
// authority comes from the signatures the replica checks.
package gossip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/internal/wire"
	"github.com/branchline/branchline/sync/replica"
)

// Message types, the first byte of every user message.
const (
	msgChange   byte = 1 // a whole change (gossip)
	msgAnnounce byte = 2 // "I hold origin/seq": fetch it from me (gossip)
	msgRequest  byte = 3 // ranges wanted (TCP)
	msgChanges  byte = 4 // changes answering a request (TCP)
	// msgDigest never crosses the network: a push/pull hands the remote
	// digest to the worker with it.
	msgDigest byte = 0xF0
)

// Limits.
const (
	// MaxGossipChange is the largest change sent whole by gossip; larger
	// ones are announced and fetched.
	MaxGossipChange = 1024
	// ChunkChanges and ChunkBytes bound one answer to a request.
	ChunkChanges = 500
	ChunkBytes   = 2 << 20
	// InboxSize bounds the messages waiting for the worker.
	InboxSize = 4096
	// RequestTimeout is how long an asked-for range is not asked again of
	// another peer; after it, the next digest or announcement asks anew.
	RequestTimeout = 15 * time.Second
	// MaxQueued bounds the broadcast queue (oldest dropped).
	MaxQueued = 2048
)

// Meta is what a node tells the others about itself in memberlist's node
// metadata (at most 512 bytes).
type Meta struct {
	Role, Location, Region string
}

func (m Meta) marshal() []byte {
	var w wire.Writer
	w.PutString(m.Role)
	w.PutString(m.Location)
	w.PutString(m.Region)
	return w.Buffer.Bytes()
}

// ParseMeta decodes node metadata.
func ParseMeta(b []byte) (Meta, error) {
	r := wire.NewReader(b)
	m := Meta{Role: r.String(), Location: r.String(), Region: r.String()}
	if !r.Done() {
		return Meta{}, fmt.Errorf("%w node metadata", wire.ErrMalformed)
	}
	return m, nil
}

// Config configures a Node.
type Config struct {
	Name          string // the node ID
	BindAddr      string
	BindPort      int
	AdvertiseAddr string
	AdvertisePort int
	// Preset is "lan" (default), "wan" or "local": memberlist's timings.
	Preset string
	// Keys is the gossip keyring, the primary key first.
	Keys [][]byte
	// Label binds packets to this network (additional data in AES-GCM).
	Label string
	Meta  Meta
	// Transport replaces UDP and TCP (tests use an in-memory one).
	Transport memberlist.NodeAwareTransport
	// Tune adjusts the memberlist configuration last (tests).
	Tune   func(*memberlist.Config)
	Logger *slog.Logger
	// RetransmitMult overrides memberlist's (4) for user messages.
	RetransmitMult int
	// GossipRate bounds the bytes of this node's gossiped changes and
	// announcements per second, piggybacked or not; 0 means three
	// quarters of what the preset's gossip can carry (LAN: 15.75 KB/s of
	// 21 KB/s), leaving the rest to memberlist's own messages and framing.
	GossipRate int
}

// Node is a running member of the network.
type Node struct {
	cfg     Config
	rep     *replica.Replica
	ml      *memberlist.Memberlist
	keyring *memberlist.Keyring
	queue   *memberlist.TransmitLimitedQueue
	log     *slog.Logger

	inbox   chan []byte
	digest  atomic.Pointer[[]byte]
	lastOwn atomic.Uint64 // the last of this node's changes sent

	amu       sync.Mutex
	announced map[string]bool // changes being fetched because announced

	pmu     sync.Mutex
	pending map[string]pending // per author, what has been asked for

	mmu   sync.Mutex
	known map[string]memberlist.Node // every member seen alive, by name

	stop chan struct{}
	done sync.WaitGroup

	stats  Stats
	bucket *bucket
}

// Stats counts what a node did.
type Stats struct {
	Received, Applied, Requests, Served, Dropped, Conflicts atomic.Int64
}

// Start creates the memberlist node (it does not join anyone yet).
func Start(ctx context.Context, cfg Config, rep *replica.Replica) (*Node, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("gossip: a gossip key is required: gossip is always encrypted")
	}
	n := &Node{cfg: cfg, rep: rep, log: cfg.Logger, inbox: make(chan []byte, InboxSize), stop: make(chan struct{}),
		announced: map[string]bool{}, pending: map[string]pending{},
		known: map[string]memberlist.Node{}}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	var mc *memberlist.Config
	switch cfg.Preset {
	case "", "lan":
		mc = memberlist.DefaultLANConfig()
	case "wan":
		mc = memberlist.DefaultWANConfig()
	case "local":
		mc = memberlist.DefaultLocalConfig()
	default:
		return nil, fmt.Errorf("gossip: preset %q: use lan, wan or local", cfg.Preset)
	}
	mc.Name = cfg.Name
	if cfg.BindAddr != "" {
		mc.BindAddr = cfg.BindAddr
	}
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	kr, err := memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip keyring: %w", err)
	}
	mc.Keyring = kr
	n.keyring = kr
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true
	mc.Label = cfg.Label
	mc.Delegate = &delegate{n: n}
	mc.Events = &events{n: n}
	mc.Conflict = &conflicts{n: n}
	mc.Logger = log.New(slogWriter{n.log}, "", 0)
	// Members that left are forgotten after a while, so push/pull state
	// never grows without end (memberlist #253).
	mc.DeadNodeReclaimTime = 10 * time.Minute
	if cfg.Transport != nil {
		mc.Transport = cfg.Transport
	}
	if cfg.Tune != nil {
		cfg.Tune(mc)
	}
	retransmit := mc.RetransmitMult
	if cfg.RetransmitMult > 0 {
		retransmit = cfg.RetransmitMult
	}
	n.queue = &memberlist.TransmitLimitedQueue{RetransmitMult: retransmit}
	round := mc.GossipNodes * mc.UDPBufferSize
	rate := cfg.GossipRate
	if rate <= 0 {
		rate = int(float64(round) * float64(time.Second) / float64(mc.GossipInterval) * 3 / 4)
	}
	n.bucket = newBucket(rate, round, time.Now)
	if err := n.refreshDigest(ctx); err != nil {
		return nil, err
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	n.ml = ml
	n.queue.NumNodes = ml.NumMembers
	rep.OnApplied(n.onApplied)
	n.done.Add(1)
	go n.worker()
	return n, nil
}

// Join contacts seeds (host:port); it returns how many answered.
func (n *Node) Join(seeds []string) (int, error) {
	if len(seeds) == 0 {
		return 0, nil
	}
	return n.ml.Join(seeds)
}

// KeepJoined rejoins, every interval, when this node has no other live
// member: after the network was down long enough for both sides to
// declare each other dead, memberlist alone never reconnects. seeds is
// asked each time, so it can include the addresses the directory learnt.
// It runs until ctx ends or the node stops.
func (n *Node) KeepJoined(ctx context.Context, seeds func() []string, interval time.Duration) {
	n.done.Add(1)
	go func() {
		defer n.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-n.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n.livePeers() > 0 {
				continue
			}
			var list []string
			self := n.ml.LocalNode().Address()
			for _, s := range seeds() {
				if s != self {
					list = append(list, s)
				}
			}
			if len(list) == 0 {
				continue
			}
			if k, err := n.ml.Join(list); err == nil {
				n.log.Info("rejoined the network", "answered", k)
			} else {
				n.log.Debug("rejoin", "err", err)
			}
		}
	}()
}

// livePeers counts the other members memberlist believes alive.
func (n *Node) livePeers() int {
	k := 0
	self := n.cfg.Name
	for _, m := range n.ml.Members() {
		if m.Name != self && m.State == memberlist.StateAlive {
			k++
		}
	}
	return k
}

// Leave tells the others this node is going, and stops it.
func (n *Node) Leave(timeout time.Duration) error {
	err := n.ml.Leave(timeout)
	n.Shutdown()
	return err
}

// Shutdown stops the node without a goodbye.
func (n *Node) Shutdown() {
	select {
	case <-n.stop:
		return
	default:
	}
	close(n.stop)
	n.ml.Shutdown()
	n.done.Wait()
}

// Memberlist is the underlying memberlist (for status and tests).
func (n *Node) Memberlist() *memberlist.Memberlist { return n.ml }

// Stats returns the node's counters.
func (n *Node) Stats() *Stats { return &n.stats }

// Member is one member as the directory shows it.
type Member struct {
	Name, Address, State string
	Meta                 Meta
}

// Members lists the members this node knows, itself included.
func (n *Node) Members() []Member {
	var out []Member
	for _, m := range n.ml.Members() {
		meta, _ := ParseMeta(m.Meta)
		state := "alive"
		switch m.State {
		case memberlist.StateSuspect:
			state = "suspect"
		case memberlist.StateDead:
			state = "dead"
		case memberlist.StateLeft:
			state = "left"
		}
		out = append(out, Member{Name: m.Name, Address: net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port))), State: state, Meta: meta})
	}
	return out
}

// AddKey installs another gossip key (for rotation: add, then UseKey,
// then RemoveKey the old one).
func (n *Node) AddKey(k []byte) error { return n.keyring.AddKey(k) }

// UseKey makes k the key outgoing messages are encrypted with.
func (n *Node) UseKey(k []byte) error { return n.keyring.UseKey(k) }

// RemoveKey drops a key that is no longer used.
func (n *Node) RemoveKey(k []byte) error { return n.keyring.RemoveKey(k) }

// Broadcast queues a change for gossip: whole when it is small, as an
// announcement when not.
func (n *Node) Broadcast(c *change.Change) {
	raw := c.Marshal()
	var msg []byte
	if len(raw) <= MaxGossipChange {
		msg = append([]byte{msgChange}, raw...)
	} else {
		var w wire.Writer
		w.WriteByte(msgAnnounce)
		w.PutString(n.cfg.Name)
		w.PutString(c.Origin)
		w.PutUint(c.Seq)
		msg = w.Buffer.Bytes()
	}
	n.queue.QueueBroadcast(&broadcast{msg: msg, id: c.ID()})
	if q := n.queue.NumQueued(); q > MaxQueued {
		n.queue.Prune(MaxQueued)
	}
}

// onApplied broadcasts what this node authored; changes that arrived by
// gossip are re-broadcast by the worker.
func (n *Node) onApplied(cs []*change.Change) {
	for _, c := range cs {
		if c.Origin == n.cfg.Name {
			n.sendOwn(c)
		}
	}
	n.signalDigest()
}

// sendOwn broadcasts one of this node's changes once.
func (n *Node) sendOwn(c *change.Change) {
	for {
		last := n.lastOwn.Load()
		if c.Seq <= last {
			return
		}
		if n.lastOwn.CompareAndSwap(last, c.Seq) {
			break
		}
	}
	n.Broadcast(c)
}

// WatchOwn sends, every interval, this node's changes that another
// process (a command line) stored, until the node stops.
func (n *Node) WatchOwn(ctx context.Context, interval time.Duration) {
	if d, err := n.rep.Digest(ctx); err == nil {
		n.lastOwn.Store(d.Heads[n.cfg.Name])
	}
	n.done.Add(1)
	go func() {
		defer n.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-n.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				cs, err := n.rep.OwnSince(ctx, n.lastOwn.Load())
				if err != nil {
					n.log.Warn("read own changes", "err", err)
					continue
				}
				for _, c := range cs {
					n.sendOwn(c)
				}
				if len(cs) > 0 {
					n.signalDigest()
				}
			}
		}
	}()
}

func (n *Node) signalDigest() {
	select {
	case n.inbox <- nil: // a nil message: refresh the digest
	default:
	}
}

func (n *Node) refreshDigest(ctx context.Context) error {
	d, err := n.rep.Digest(ctx)
	if err != nil {
		return err
	}
	b := d.Marshal()
	n.digest.Store(&b)
	return nil
}

// worker handles queued messages one at a time.
func (n *Node) worker() {
	defer n.done.Done()
	ctx := context.Background()
	for {
		select {
		case <-n.stop:
			return
		case msg := <-n.inbox:
			if msg == nil {
				if err := n.refreshDigest(ctx); err != nil {
					n.log.Warn("digest", "err", err)
				}
				continue
			}
			if err := n.handle(ctx, msg); err != nil {
				n.log.Warn("gossip message", "type", msg[0], "err", err)
			}
		}
	}
}

func (n *Node) handle(ctx context.Context, msg []byte) error {
	n.stats.Received.Add(1)
	switch msg[0] {
	case msgChange:
		res, err := n.rep.Receive(ctx, "gossip", [][]byte{msg[1:]})
		if err != nil {
			return err
		}
		n.stats.Applied.Add(int64(len(res.Added)))
		for _, c := range res.Added {
			// Memberlist does not re-gossip user messages: a node that
			// sees one new passes it on itself.
			n.queue.QueueBroadcast(&broadcast{msg: append([]byte(nil), msg...), id: c.ID()})
		}
		if len(res.Added) > 0 {
			return n.refreshDigest(ctx)
		}
	case msgAnnounce:
		r := wire.NewReader(msg[1:])
		from, origin, seq := r.String(), r.String(), r.Uint()
		if !r.Done() {
			return fmt.Errorf("%w announcement", wire.ErrMalformed)
		}
		held, err := n.rep.Digest(ctx)
		if err != nil {
			return err
		}
		if held.Heads[origin] >= seq {
			return nil
		}
		n.amu.Lock()
		if len(n.announced) > 10000 {
			clear(n.announced)
		}
		n.announced[fmt.Sprintf("%s/%d", origin, seq)] = true
		n.amu.Unlock()
		return n.request(from, []replica.Range{{Origin: origin, From: held.Heads[origin] + 1, To: seq}})
	case msgRequest:
		from, ranges, err := unmarshalRequest(msg[1:])
		if err != nil {
			return err
		}
		return n.serve(ctx, from, ranges)
	case msgChanges:
		from, raws, err := unmarshalChanges(msg[1:])
		if err != nil {
			return err
		}
		res, err := n.rep.Receive(ctx, from, raws)
		if err != nil {
			return err
		}
		n.stats.Applied.Add(int64(len(res.Added)))
		// A change fetched because it was announced is announced on:
		// this node now holds it for the others to fetch.
		n.amu.Lock()
		for _, c := range res.Added {
			if n.announced[c.ID()] {
				delete(n.announced, c.ID())
				n.Broadcast(c)
			}
		}
		n.amu.Unlock()
		return n.refreshDigest(ctx)
	case msgDigest:
		d, err := replica.UnmarshalDigest(msg[1:])
		if err != nil {
			return err
		}
		return n.askFor(ctx, d)
	default:
		return fmt.Errorf("unknown message type %d", msg[0])
	}
	return nil
}

// askFor requests from the digest's node everything it holds that this
// node lacks.
func (n *Node) askFor(ctx context.Context, remote replica.Digest) error {
	wants, err := n.rep.Wants(ctx, remote)
	if err != nil || len(wants) == 0 {
		return err
	}
	return n.request(remote.Node, wants)
}

func (n *Node) request(peer string, ranges []replica.Range) error {
	node := n.member(peer)
	if node == nil {
		return fmt.Errorf("no member %q to ask", peer)
	}
	ranges = n.claim(ranges)
	if len(ranges) == 0 {
		return nil
	}
	n.stats.Requests.Add(1)
	if err := n.ml.SendReliable(node, marshalRequest(n.cfg.Name, ranges)); err != nil {
		n.release(ranges)
		return err
	}
	return nil
}

// pending is what has been asked for of one author's changes.
type pending struct {
	to    uint64
	until time.Time
}

// claim drops from ranges what was asked of some peer less than
// RequestTimeout ago, and notes the rest as asked: digests from several
// peers in a row, or announcements of one change by several, fetch the
// changes once.
func (n *Node) claim(ranges []replica.Range) []replica.Range {
	now := time.Now()
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if len(n.pending) > 10000 {
		clear(n.pending)
	}
	out := make([]replica.Range, 0, len(ranges))
	for _, r := range ranges {
		if p, ok := n.pending[r.Origin]; ok && now.Before(p.until) {
			if p.to >= r.To {
				continue
			}
			r.From = max(r.From, p.to+1)
		}
		n.pending[r.Origin] = pending{to: r.To, until: now.Add(RequestTimeout)}
		out = append(out, r)
	}
	return out
}

// CatchingUp counts the changes this node has asked its peers for and does
// not hold yet (0 when it is up to date, as far as it knows): the measure
// of a catch-up under way, for a progress display.
func (n *Node) CatchingUp(ctx context.Context) (uint64, error) {
	d, err := n.rep.Digest(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	n.pmu.Lock()
	defer n.pmu.Unlock()
	var missing uint64
	for origin, p := range n.pending {
		if now.Before(p.until) && p.to > d.Heads[origin] {
			missing += p.to - d.Heads[origin]
		}
	}
	return missing, nil
}

// release forgets ranges whose request could not be sent.
func (n *Node) release(ranges []replica.Range) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	for _, r := range ranges {
		if p, ok := n.pending[r.Origin]; ok && p.to == r.To {
			delete(n.pending, r.Origin)
		}
	}
}

// member finds a node to send to by name. It includes members memberlist
// has declared dead: right after a partition heals, the two sides still
// think each other dead while their push/pull already asks for changes.
func (n *Node) member(name string) *memberlist.Node {
	n.mmu.Lock()
	defer n.mmu.Unlock()
	if m, ok := n.known[name]; ok {
		return &m
	}
	return nil
}

// remember notes where a member is (from memberlist's events).
func (n *Node) remember(m *memberlist.Node) {
	n.mmu.Lock()
	defer n.mmu.Unlock()
	if len(n.known) > 200000 {
		clear(n.known)
	}
	n.known[m.Name] = memberlist.Node{Name: m.Name, Addr: m.Addr, Port: m.Port}
}

// serve answers a request with the changes asked for, in chunks.
func (n *Node) serve(ctx context.Context, to string, ranges []replica.Range) error {
	node := n.member(to)
	if node == nil {
		return fmt.Errorf("no member %q to answer", to)
	}
	for _, rg := range ranges {
		for rg.From <= rg.To {
			raws, err := n.rep.Serve(ctx, rg, ChunkChanges, ChunkBytes)
			if err != nil {
				return err
			}
			if len(raws) == 0 {
				break
			}
			if err := n.ml.SendReliable(node, marshalChanges(n.cfg.Name, raws)); err != nil {
				return err
			}
			n.stats.Served.Add(int64(len(raws)))
			last, err := change.Unmarshal(raws[len(raws)-1])
			if err != nil {
				return err
			}
			rg.From = last.Seq + 1
		}
	}
	return nil
}

// enqueue hands a copy of a message to the worker without blocking.
func (n *Node) enqueue(msg []byte) {
	if len(msg) == 0 {
		return
	}
	select {
	case n.inbox <- append([]byte(nil), msg...):
	default:
		n.stats.Dropped.Add(1) // the next push/pull repairs what is lost
	}
}

// Wire formats of requests and answers.

// MaxRanges bounds one request.
const MaxRanges = 100000

func marshalRequest(from string, ranges []replica.Range) []byte {
	var w wire.Writer
	w.WriteByte(msgRequest)
	w.PutString(from)
	w.PutUint(uint64(len(ranges)))
	for _, r := range ranges {
		w.PutString(r.Origin)
		w.PutUint(r.From)
		w.PutUint(r.To)
	}
	return w.Buffer.Bytes()
}

func unmarshalRequest(b []byte) (string, []replica.Range, error) {
	r := wire.NewReader(b)
	from := r.String()
	n := r.Uint()
	if n > MaxRanges {
		return "", nil, fmt.Errorf("%w request: %d ranges", wire.ErrMalformed, n)
	}
	ranges := make([]replica.Range, 0, min(n, 1024))
	for range n {
		rg := replica.Range{Origin: r.String(), From: r.Uint(), To: r.Uint()}
		if rg.From == 0 || rg.To < rg.From {
			return "", nil, fmt.Errorf("%w request: range %d-%d", wire.ErrMalformed, rg.From, rg.To)
		}
		ranges = append(ranges, rg)
	}
	if !r.Done() {
		return "", nil, fmt.Errorf("%w request", wire.ErrMalformed)
	}
	return from, ranges, nil
}

func marshalChanges(from string, raws [][]byte) []byte {
	var w wire.Writer
	w.WriteByte(msgChanges)
	w.PutString(from)
	w.PutUint(uint64(len(raws)))
	for _, raw := range raws {
		w.PutBytes(raw)
	}
	return w.Buffer.Bytes()
}

func unmarshalChanges(b []byte) (string, [][]byte, error) {
	r := wire.NewReader(b)
	from := r.String()
	n := r.Uint()
	if n > ChunkChanges*2 {
		return "", nil, fmt.Errorf("%w answer: %d changes", wire.ErrMalformed, n)
	}
	raws := make([][]byte, 0, n)
	for range n {
		raws = append(raws, r.Bytes())
	}
	if !r.Done() {
		return "", nil, fmt.Errorf("%w answer", wire.ErrMalformed)
	}
	return from, raws, nil
}

// broadcast is a queued gossip message; each is unique (a change is never
// replaced by another in the queue: versions of one record all belong in
// every node's log).
type broadcast struct {
	msg []byte
	id  string
}

func (b *broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *broadcast) Message() []byte                       { return b.msg }
func (b *broadcast) Finished()                             {}
func (b *broadcast) UniqueBroadcast()                      {}

// slogWriter sends memberlist's log lines to slog at debug level (its
// warnings are routine: suspect members, refused packets).
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(string(p))
	return len(p), nil
}

var _ io.Writer = slogWriter{}

// bucket is a token bucket of bytes: rate a second, at most burst saved.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate, burst int, now func() time.Time) *bucket {
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// available refills the bucket and returns the whole bytes in it.
func (b *bucket) available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now()
	b.tokens = min(b.burst, b.tokens+t.Sub(b.last).Seconds()*b.rate)
	b.last = t
	return int(b.tokens)
}

// spend takes n bytes out.
func (b *bucket) spend(n int) {
	b.mu.Lock()
	b.tokens -= float64(n)
	b.mu.Unlock()
}
