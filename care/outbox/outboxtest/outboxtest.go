// Package outboxtest is the child's side of the crash tests that run the
// real outbox in a process they kill (see internal/crashtest).
package outboxtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/branchline/branchline/care/outbox"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// Run is a crash test's child: the real outbox over the data folder dir
// (its lock and its database) with the channels of reg. It prints READY
// once the outbox is ready, recovers what an earlier child left in
// "sending", sends what is due, and prints
// "DONE sent=S found=F retried=R failed=X".
func Run(dir string, reg channels.Registry, opts ...outbox.Option) error {
	ctx := context.Background()
	lock, err := outbox.TryLock(filepath.Join(dir, "outbox.lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	ob := outbox.New(store, reg, opts...)
	fmt.Println("READY")
	os.Stdout.Sync()
	rec, err := ob.Recover(ctx)
	if err != nil {
		return err
	}
	rep, err := ob.Flush(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("DONE sent=%d found=%d retried=%d failed=%d\n", rep.Sent, rec.Found+rep.Found, rec.Retried+rep.Retried, rep.Failed)
	return nil
}
