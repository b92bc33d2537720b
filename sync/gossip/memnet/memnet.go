// Package memnet is an in-memory network for memberlist, for tests and
// benchmarks with many nodes: packets go through bounded queues (dropped
// when full, as UDP would), with optional loss, latency and partitions,
// and every node's bytes are counted.
package memnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Network connects Transports.
type Network struct {
	mu        sync.RWMutex
	nodes     map[string]*Transport
	next      int
	loss      float64
	latency   time.Duration
	partition func(a, b string) bool
	tap       func(stream bool, b []byte)
	rnd       *rand.Rand
	rndMu     sync.Mutex
}

// New makes an empty network.
func New(seed uint64) *Network {
	return &Network{nodes: map[string]*Transport{}, rnd: rand.New(rand.NewPCG(seed, 1))}
}

// SetLoss drops that share of packets (not streams).
func (n *Network) SetLoss(p float64) { n.mu.Lock(); n.loss = p; n.mu.Unlock() }

// SetLatency delays every packet and stream by d.
func (n *Network) SetLatency(d time.Duration) { n.mu.Lock(); n.latency = d; n.mu.Unlock() }

// SetPartition cuts the network: cut(a, b) true means a and b (addresses)
// cannot reach each other. nil heals it.
func (n *Network) SetPartition(cut func(a, b string) bool) {
	n.mu.Lock()
	n.partition = cut
	n.mu.Unlock()
}

// SetTap shows every packet sent, and every write to a stream, to tap (as
// an eavesdropper on the wire would see it) before it is delivered. tap
// must not keep b.
func (n *Network) SetTap(tap func(stream bool, b []byte)) {
	n.mu.Lock()
	n.tap = tap
	n.mu.Unlock()
}

func (n *Network) tapped() func(stream bool, b []byte) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.tap
}

func (n *Network) chance() float64 {
	n.rndMu.Lock()
	defer n.rndMu.Unlock()
	return n.rnd.Float64()
}

// NewTransport adds a node and returns its transport; its address is a
// made-up IP with port 7946.
func (n *Network) NewTransport() *Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	ip := fmt.Sprintf("10.%d.%d.%d", n.next>>16&255, n.next>>8&255, n.next&255)
	t := &Transport{net: n, ip: net.ParseIP(ip), addr: ip + ":7946",
		packets: make(chan *memberlist.Packet, 4096), streams: make(chan net.Conn, 256), done: make(chan struct{})}
	n.nodes[t.addr] = t
	return t
}

// Transport is one node's end of the network.
type Transport struct {
	net     *Network
	ip      net.IP
	addr    string
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	closed  atomic.Bool

	// PacketBytes and StreamBytes count what the node sent, RecvPackets
	// and RecvStreams what reached it; Dropped counts packets lost to a
	// full queue.
	PacketBytes, StreamBytes atomic.Int64
	RecvPackets, RecvStreams atomic.Int64
	Dropped                  atomic.Int64
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Addr is the node's address.
func (t *Transport) Addr() string { return t.addr }

// SentBytes is everything the node has sent.
func (t *Transport) SentBytes() int64 { return t.PacketBytes.Load() + t.StreamBytes.Load() }

// ReceivedBytes is everything that reached the node.
func (t *Transport) ReceivedBytes() int64 { return t.RecvPackets.Load() + t.RecvStreams.Load() }

func (t *Transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) { return t.ip, 7946, nil }

func (t *Transport) route(to string) (*Transport, time.Duration, error) {
	n := t.net
	n.mu.RLock()
	dst, ok := n.nodes[to]
	cut := n.partition
	lat := n.latency
	n.mu.RUnlock()
	if !ok || dst.closed.Load() {
		return nil, 0, fmt.Errorf("memnet: no node at %s", to)
	}
	if cut != nil && cut(t.addr, to) {
		return nil, 0, fmt.Errorf("memnet: %s cannot reach %s", t.addr, to)
	}
	return dst, lat, nil
}

// WriteTo sends a packet.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	now := time.Now()
	t.PacketBytes.Add(int64(len(b)))
	if tap := t.net.tapped(); tap != nil {
		tap(false, b)
	}
	dst, lat, err := t.route(addr)
	if err != nil {
		return now, nil // like UDP: the sender does not know
	}
	t.net.mu.RLock()
	loss := t.net.loss
	t.net.mu.RUnlock()
	if loss > 0 && t.net.chance() < loss {
		return now, nil
	}
	p := &memberlist.Packet{Buf: append([]byte(nil), b...), From: &net.UDPAddr{IP: t.ip, Port: 7946}}
	deliver := func() {
		p.Timestamp = time.Now()
		select {
		case dst.packets <- p:
			dst.RecvPackets.Add(int64(len(p.Buf)))
		default:
			dst.Dropped.Add(1)
		}
	}
	if lat > 0 {
		time.AfterFunc(lat, deliver)
	} else {
		deliver()
	}
	return now, nil
}

// WriteToAddress sends a packet to a node.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

// PacketCh delivers incoming packets.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// DialTimeout opens a stream.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	dst, lat, err := t.route(addr)
	if err != nil {
		return nil, err
	}
	if lat > 0 {
		time.Sleep(lat)
	}
	a, b := net.Pipe()
	select {
	case dst.streams <- &countingConn{Conn: b, sent: &dst.StreamBytes, recv: &dst.RecvStreams, net: t.net}:
	case <-time.After(timeout):
		a.Close()
		b.Close()
		return nil, errors.New("memnet: dial timed out")
	}
	return &countingConn{Conn: a, sent: &t.StreamBytes, recv: &t.RecvStreams, net: t.net}, nil
}

// DialAddressTimeout opens a stream to a node.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// StreamCh delivers incoming streams.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown takes the node off the network.
func (t *Transport) Shutdown() error {
	if t.closed.CompareAndSwap(false, true) {
		close(t.done)
	}
	return nil
}

type countingConn struct {
	net.Conn
	sent, recv *atomic.Int64
	net        *Network
}

func (c *countingConn) Write(b []byte) (int, error) {
	if tap := c.net.tapped(); tap != nil {
		tap(true, b)
	}
	n, err := c.Conn.Write(b)
	c.sent.Add(int64(n))
	return n, err
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.recv.Add(int64(n))
	return n, err
}
