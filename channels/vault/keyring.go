package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// Keyring is a store of secrets by service and user, as the operating
// system's keyring is. Get and Delete return keyring.ErrNotFound when
// there is no such secret; Set returns keyring.ErrSetDataTooBig when the
// secret is larger than the keyring holds.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// SystemKeyring is the operating system's keyring, through
// github.com/zalando/go-keyring (whose MockInit replaces it in tests).
type SystemKeyring struct{}

var _ Keyring = SystemKeyring{}

// Get reads a secret.
func (SystemKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }

// Set stores a secret.
func (SystemKeyring) Set(service, user, secret string) error {
	return keyring.Set(service, user, secret)
}

// Delete removes a secret.
func (SystemKeyring) Delete(service, user string) error { return keyring.Delete(service, user) }

// keyringStore keeps each account's secret as one keyring entry under
// Service, user prefix+key.
type keyringStore struct {
	kr     Keyring
	prefix string
}

func (s *keyringStore) get(ctx context.Context, key string) ([]byte, bool, error) {
	var secret string
	err := withContext(ctx, func() (err error) {
		secret, err = s.kr.Get(Service, s.prefix+key)
		return err
	})
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("system keyring: %w", err)
	}
	return []byte(secret), true, nil
}

func (s *keyringStore) set(ctx context.Context, key string, secret []byte) error {
	err := withContext(ctx, func() error { return s.kr.Set(Service, s.prefix+key, string(secret)) })
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return fmt.Errorf("%w: the system keyring refused its %d bytes", ErrSecretTooLarge, len(secret))
	}
	if err != nil {
		return fmt.Errorf("system keyring: %w", err)
	}
	return nil
}

func (s *keyringStore) del(ctx context.Context, key string) error {
	err := withContext(ctx, func() error { return s.kr.Delete(Service, s.prefix+key) })
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("system keyring: %w", err)
	}
	return nil
}

// probe checks that the keyring works with a harmless set, get and delete
// of an entry of this vault's own ("<vault ID>/probe", a random value).
func probe(ctx context.Context, kr Keyring, id string) error {
	var b [16]byte
	rand.Read(b[:])
	want, user := hex.EncodeToString(b[:]), id+"/probe"
	return withContext(ctx, func() error {
		if err := kr.Set(Service, user, want); err != nil {
			return fmt.Errorf("store a probe entry: %w", err)
		}
		got, getErr := kr.Get(Service, user)
		delErr := kr.Delete(Service, user) // whatever Get said, leave nothing behind
		switch {
		case getErr != nil:
			return fmt.Errorf("read the probe entry back: %w", getErr)
		case delErr != nil:
			return fmt.Errorf("delete the probe entry: %w", delErr)
		case got != want:
			return errors.New("the probe entry read back differs from the one stored")
		}
		return nil
	})
}

// withContext runs a keyring call, which cannot be cancelled (the keyring
// may wait for the user to unlock it), and returns early if ctx ends
// first; the call then finishes on its own.
func withContext(ctx context.Context, call func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("system keyring did not answer: %w", ctx.Err())
	}
}
