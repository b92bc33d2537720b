package network

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/branchline/branchline/sync/records"
)

// Keyring is the gossip keyring a node should hold at now, primary
// first, given the keys it holds and the latest rotation:
//
//   - before the rotation's use time: the keys held (the primary
//     unchanged) and the new key, so the node already reads traffic
//     sealed with it;
//   - from the use time: the new key first, the old ones still accepted;
//   - from the retire time: the new key alone.
//
// A rotation whose key this node cannot open changes nothing.
func Keyring(held [][]byte, r *records.KeyRotation, now time.Time) [][]byte {
	if r == nil || r.Key == nil {
		return held
	}
	var old [][]byte
	for _, k := range held {
		if !bytes.Equal(k, r.Key) {
			old = append(old, k)
		}
	}
	switch {
	case !now.Before(r.RetireAt) || len(old) == 0:
		return [][]byte{r.Key}
	case !now.Before(r.UseAt):
		return append([][]byte{r.Key}, old...)
	default:
		return append(old, r.Key)
	}
}

// KeyState names where a rotation stands at now: "installed" (the new
// key is read but not yet used), "in use" (old keys still read) or
// "complete".
func KeyState(r *records.KeyRotation, now time.Time) string {
	switch {
	case now.Before(r.UseAt):
		return "installed"
	case now.Before(r.RetireAt):
		return "in use"
	}
	return "complete"
}

// ReconcileKeys brings the node's keyring (memberlist's, when gossip
// runs, and the one in network.json) to what the latest rotation asks
// for at this moment.
func (rt *Runtime) ReconcileKeys(ctx context.Context, logger *slog.Logger) error {
	r, err := rt.Book.KeyRotation(ctx)
	if err != nil || r == nil {
		return err
	}
	if r.Key == nil {
		return fmt.Errorf("rotation %d of the gossip key was not sealed for this node: ask headquarters for a new join code", r.Epoch)
	}
	rt.keysMu.Lock()
	defer rt.keysMu.Unlock()
	held := rt.Config.Keys
	want := Keyring(held, r, rt.now())
	if slices.EqualFunc(held, want, bytes.Equal) {
		return nil
	}
	if g := rt.Gossip; g != nil {
		for _, k := range want {
			if !slices.ContainsFunc(held, func(h []byte) bool { return bytes.Equal(h, k) }) {
				if err := g.AddKey(k); err != nil {
					return fmt.Errorf("install gossip key %d: %w", r.Epoch, err)
				}
			}
		}
		if err := g.UseKey(want[0]); err != nil {
			return fmt.Errorf("use gossip key %d: %w", r.Epoch, err)
		}
		for _, k := range held {
			if !slices.ContainsFunc(want, func(w []byte) bool { return bytes.Equal(w, k) }) {
				if err := g.RemoveKey(k); err != nil {
					return fmt.Errorf("retire an old gossip key: %w", err)
				}
			}
		}
	}
	cfg := rt.Config
	cfg.Keys = want
	if err := cfg.Save(rt.dir); err != nil {
		return fmt.Errorf("save the gossip keys: %w", err)
	}
	rt.Config = cfg
	state := "installed"
	switch {
	case len(want) == 1:
		state = "the only key; older keys retired"
	case bytes.Equal(want[0], r.Key):
		state = "in use"
	}
	if logger != nil {
		logger.Info("gossip key rotation", "epoch", r.Epoch, "state", state)
	}
	return nil
}

// keepKeys reconciles the keyring when a rotation arrives and every
// half minute, for its use and retire times.
func (rt *Runtime) keepKeys(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-rt.wake:
		}
		err := rt.ReconcileKeys(ctx, logger)
		if err != nil && err.Error() != last {
			logger.Warn("gossip key", "err", err)
		}
		last = ""
		if err != nil {
			last = err.Error()
		}
	}
}
