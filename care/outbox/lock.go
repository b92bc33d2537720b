package outbox

import (
	"errors"
	"fmt"

	"github.com/gofrs/flock"
)

// ErrBusy means another process runs the outbox for this database.
var ErrBusy = errors.New("another Branchline process is sending replies for this data folder")

// Lock is the file lock that makes one process the only sender for a
// database. Recovering "sending" replies is only safe while holding it:
// otherwise a reply another process is posting right now would look
// abandoned.
type Lock struct {
	fl *flock.Flock
}

// TryLock takes the lock at path without waiting; it returns ErrBusy when
// another process holds it.
func TryLock(path string) (*Lock, error) {
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock outbox %s: %w", path, err)
	}
	if !ok {
		return nil, ErrBusy
	}
	return &Lock{fl: fl}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error { return l.fl.Unlock() }
