package gossip

import (
	"github.com/hashicorp/memberlist"
)

// delegate is memberlist's view of the node. Every method returns at once:
// messages are copied to the worker's queue, the digest is read from
// memory.
type delegate struct{ n *Node }

var (
	_ memberlist.Delegate         = (*delegate)(nil)
	_ memberlist.EventDelegate    = (*events)(nil)
	_ memberlist.ConflictDelegate = (*conflicts)(nil)
)

func (d *delegate) NodeMeta(limit int) []byte {
	m := d.n.cfg.Meta.marshal()
	if len(m) > limit {
		return nil
	}
	return m
}

func (d *delegate) NotifyMsg(b []byte) {
	if len(b) == 0 || b[0] == msgDigest {
		return // internal type: never accepted from outside
	}
	d.n.enqueue(b)
}

// GetBroadcasts fills the space memberlist offers, within the node's
// gossip rate: what does not fit waits in the queue for a later packet.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	limit = min(limit, d.n.bucket.available())
	if limit <= overhead {
		return nil
	}
	msgs := d.n.queue.GetBroadcasts(overhead, limit)
	used := 0
	for _, m := range msgs {
		used += len(m) + overhead
	}
	d.n.bucket.spend(used)
	return msgs
}

func (d *delegate) LocalState(join bool) []byte {
	if p := d.n.digest.Load(); p != nil {
		return *p
	}
	return nil
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	if len(buf) == 0 {
		return
	}
	msg := make([]byte, 1+len(buf))
	msg[0] = msgDigest
	copy(msg[1:], buf)
	select {
	case d.n.inbox <- msg:
	default:
		d.n.stats.Dropped.Add(1)
	}
}

// events logs membership changes.
type events struct{ n *Node }

func (e *events) NotifyJoin(m *memberlist.Node) {
	e.n.remember(m)
	e.n.log.Info("member joined", "node", m.Name, "addr", m.Address())
}

func (e *events) NotifyLeave(m *memberlist.Node) {
	e.n.log.Info("member left", "node", m.Name)
}

func (e *events) NotifyUpdate(m *memberlist.Node) { e.n.remember(m) }

// conflicts reports a second node presenting an identity already in use:
// memberlist refuses it; the report says so.
type conflicts struct{ n *Node }

func (c *conflicts) NotifyConflict(existing, other *memberlist.Node) {
	c.n.stats.Conflicts.Add(1)
	c.n.log.Warn("a second node presents an identity already in use; it is refused",
		"node", existing.Name, "address in use", existing.Address(), "refused address", other.Address())
}
