package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// KeyRotation is the latest gossip key rotation as this node sees it.
type KeyRotation struct {
	Epoch    uint64    `json:"epoch"`
	UseAt    time.Time `json:"use_at"`
	RetireAt time.Time `json:"retire_at"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// Key is the new key, nil when it was not sealed for this node (it
	// joined later, or was revoked).
	Key []byte `json:"-"`
}

// RotateKey publishes a new gossip key, sealed for every node in the
// directory that is not revoked (headquarters only): nodes add it at
// once, encrypt with it from useAt and drop the older keys at retireAt.
func (b *Book) RotateKey(ctx context.Context, key []byte, useAt, retireAt time.Time) (uint64, error) {
	if b.self.Cert.Role != identity.RoleHQ {
		return 0, errors.New("only headquarters rotates the gossip key")
	}
	if len(key) != 32 {
		return 0, fmt.Errorf("a gossip key is 32 bytes, not %d", len(key))
	}
	if retireAt.Before(useAt) {
		return 0, fmt.Errorf("the old keys would be retired (%s) before the new one is used (%s)", retireAt, useAt)
	}
	epoch := uint64(1)
	if cur, err := b.KeyRotation(ctx); err != nil {
		return 0, err
	} else if cur != nil {
		if b.now().Before(cur.RetireAt) {
			return 0, fmt.Errorf("rotation %d is still under way until %s: rotate again after it", cur.Epoch, cur.RetireAt.Format(time.RFC3339))
		}
		epoch = cur.Epoch + 1
	}
	return epoch, b.publishKey(ctx, change.GossipKey{Epoch: epoch, UseAt: useAt.UTC(), RetireAt: retireAt.UTC()}, key, nil)
}

// ResealKey publishes the rotation under way again, sealed also for a
// node being invited: its join code carries the key in use now, and it
// needs the one coming. Nothing happens when no new key is still to
// come into use.
func (b *Book) ResealKey(ctx context.Context, extra [32]byte) error {
	cur, err := b.KeyRotation(ctx)
	if err != nil || cur == nil || !b.now().Before(cur.UseAt) {
		return err
	}
	if cur.Key == nil {
		return fmt.Errorf("rotation %d is not sealed for this node", cur.Epoch)
	}
	return b.publishKey(ctx, change.GossipKey{Epoch: cur.Epoch, UseAt: cur.UseAt, RetireAt: cur.RetireAt}, cur.Key, [][32]byte{extra})
}

func (b *Book) publishKey(ctx context.Context, g change.GossipKey, key []byte, extra [][32]byte) error {
	dir, err := b.Directory(ctx)
	if err != nil {
		return err
	}
	readers := append([][32]byte{b.self.Cert.BoxKey}, extra...)
	for _, d := range dir {
		if !d.Revoked && d.NodeID != b.self.Cert.NodeID {
			readers = append(readers, d.BoxKey)
		}
	}
	g.Sealed, err = change.Seal(key, readers)
	if err != nil {
		return err
	}
	body, err := json.Marshal(g)
	if err != nil {
		return err
	}
	_, err = b.rep.Author(ctx, change.KindGossipKey, change.GossipKeyRecord, body)
	return err
}

// KeyRotation returns the latest rotation, or nil when there was none.
func (b *Book) KeyRotation(ctx context.Context) (*KeyRotation, error) {
	s, err := b.store.FedStateOf(ctx, uint8(change.KindGossipKey), change.GossipKeyRecord)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var g change.GossipKey
	if err := json.Unmarshal(s.Body, &g); err != nil {
		return nil, fmt.Errorf("gossip key record: %w", err)
	}
	r := &KeyRotation{Epoch: g.Epoch, UseAt: g.UseAt, RetireAt: g.RetireAt, By: s.Origin, At: s.At.UTC()}
	if key, err := change.Open(g.Sealed, b.self.Cert.BoxKey, b.self.BoxKey); err == nil && len(key) == 32 {
		r.Key = key
	}
	return r, nil
}
