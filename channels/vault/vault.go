// Package vault keeps the tokens of connected accounts: one secret per
// account (the JSON of a channels.Token), in the operating system's keyring
// (Keychain, Credential Manager, Secret Service) where there is one, or else
// in one file in the data folder encrypted with a key derived from a
// passphrase the user supplies.
//
// A Vault implements channels.Credentials. Secrets are namespaced by a
// random vault ID kept in the data folder (vault.json), so several data
// folders on one machine share the keyring without seeing each other's
// tokens. The backend is chosen once, when a data folder first opens its
// vault, and recorded there: a folder that keeps its secrets in the keyring
// reports ErrKeyringUnavailable rather than silently starting an empty file
// when the keyring cannot be reached later (a CLI run over SSH, say).
//
// No token, passphrase or derived key ever appears in an error, a log line
// or the file's bytes in clear.
package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// Service is the keyring service name Branchline's secrets are stored
// under; the keyring user of an account is "<vault ID>/<Account.Key()>".
const Service = "Branchline"

// MaxSecretBytes bounds one account's secret (the JSON of its token).
// Windows' Credential Manager refuses a secret over 2,560 bytes; the same
// bound holds on every platform and in the file, so a token that one
// machine stores every machine can.
const MaxSecretBytes = 2560

// Names of the vault's files in the data folder.
const (
	// FileName is the encrypted credentials file, used where there is no
	// keyring service.
	FileName = "credentials.enc"
	// StateName holds the vault ID and the backend chosen.
	StateName = "vault.json"
	// lockName serialises the vault's file operations between processes.
	lockName = "vault.lock"
)

// lockRetry is how often a process waiting for another's vault lock tries
// again; operations hold it for a file write at most.
const lockRetry = 20 * time.Millisecond

var _ channels.Credentials = (*Vault)(nil)

// Vault stores accounts' tokens. Its methods are safe for concurrent use,
// and several processes may open the same data folder: every file
// operation holds a lock file.
type Vault struct {
	mu      sync.Mutex
	id      string
	store   store
	backend string
}

// store is where the secrets live: the keyring or the encrypted file.
type store interface {
	get(ctx context.Context, key string) (secret []byte, found bool, err error)
	set(ctx context.Context, key string, secret []byte) error
	del(ctx context.Context, key string) error
}

// Option configures Open.
type Option func(*options)

type options struct {
	pass      PassphraseFunc
	log       *slog.Logger
	kr        Keyring
	forceFile bool
	kdf       kdfParams
	// beforeRename runs after the file's new content is written and
	// synced to its temporary file, before it replaces the old one; a
	// test's crash point.
	beforeRename func() error
}

// WithPassphrase sets where the passphrase of the encrypted file comes
// from. It is called only when the file backend is used: at Open, and
// again only if another process replaced the file.
func WithPassphrase(f PassphraseFunc) Option { return func(o *options) { o.pass = f } }

// WithLogger sets the logger; Open logs once, at Info, which backend holds
// the secrets. Nothing secret is ever logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithKeyring replaces the system keyring (for tests, or another store
// with the same contract).
func WithKeyring(k Keyring) Option { return func(o *options) { o.kr = k } }

// WithFileBackend keeps the secrets in the encrypted file even where a
// keyring service exists. It applies to a data folder that has not chosen
// its backend yet, or already uses the file.
func WithFileBackend() Option { return func(o *options) { o.forceFile = true } }

// state is vault.json.
type state struct {
	ID      string `json:"id"`
	Backend string `json:"backend"` // backendKeyring or backendFile
}

const (
	backendKeyring = "keyring"
	backendFile    = "file"
)

// Open opens the vault of the data folder dir (which must exist), creating
// its vault ID on first use. It probes the keyring with a harmless set, get
// and delete of a probe entry; where that fails on a folder that has not
// stored any secret yet, the secrets go to the encrypted file FileName,
// whose passphrase is asked for now (ErrNoPassphrase without one,
// ErrWrongPassphrase or ErrDamaged when it does not open; the caller may
// ask again and call Open again). The passphrase is asked for while the
// folder's vault lock is held, so another process opening the same folder
// waits for the answer.
func Open(ctx context.Context, dir string, opts ...Option) (*Vault, error) {
	o := options{log: slog.New(slog.DiscardHandler), kr: SystemKeyring{}, kdf: defaultKDF}
	for _, opt := range opts {
		opt(&o)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open credential vault: data folder: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open credential vault: %s is not a folder", dir)
	}
	unlock, err := lock(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("open credential vault in %s: %w", dir, err)
	}
	defer unlock()
	removeStaleTemps(dir)

	st, err := readState(dir)
	if err != nil {
		return nil, fmt.Errorf("open credential vault: %w", err)
	}
	changed := false
	if st.ID == "" {
		var b [16]byte
		rand.Read(b[:])
		st.ID, changed = hex.EncodeToString(b[:]), true
	}
	filePath := filepath.Join(dir, FileName)
	if st.Backend == "" {
		if _, err := os.Stat(filePath); err == nil {
			st.Backend, changed = backendFile, true // vault.json was lost; the file says where the secrets are
		}
	}
	v := &Vault{id: st.ID}
	var reason string
	switch {
	case st.Backend == backendKeyring && o.forceFile:
		return nil, fmt.Errorf("open credential vault in %s: this data folder keeps its credentials in the system keyring; it cannot be switched to an encrypted file", dir)
	case st.Backend == backendKeyring:
		if err := probe(ctx, o.kr, st.ID); err != nil {
			return nil, fmt.Errorf("open credential vault in %s: %w: %v", dir, ErrKeyringUnavailable, err)
		}
	case st.Backend == backendFile:
		reason = "this data folder keeps its credentials in the file"
	case o.forceFile:
		reason = "the file backend was chosen"
	default:
		if err := probe(ctx, o.kr, st.ID); err != nil {
			reason = "no system keyring service found: " + err.Error()
		} else {
			st.Backend, changed = backendKeyring, true
		}
	}
	if st.Backend == backendKeyring {
		v.store = &keyringStore{kr: o.kr, prefix: st.ID + "/"}
		v.backend = "system keyring (service " + Service + ")"
	} else {
		fs := &fileStore{dir: dir, path: filePath, pass: o.pass, kdf: o.kdf, beforeRename: o.beforeRename}
		if err := fs.open(ctx); err != nil {
			return nil, fmt.Errorf("open credential vault: %w", err)
		}
		if st.Backend != backendFile {
			st.Backend, changed = backendFile, true
		}
		v.store = fs
		v.backend = "encrypted file " + filePath
	}
	if changed {
		if err := writeState(dir, st); err != nil {
			return nil, fmt.Errorf("open credential vault: %w", err)
		}
	}
	if st.Backend == backendKeyring {
		o.log.Info("credentials are kept in the system keyring", "service", Service, "vault", st.ID)
	} else {
		o.log.Info("credentials are kept in an encrypted file", "path", filePath, "reason", reason, "vault", st.ID)
	}
	return v, nil
}

// Backend says where the secrets live: "system keyring (service
// Branchline)" or "encrypted file <path>".
func (v *Vault) Backend() string { return v.backend }

// ID is the data folder's vault ID, the prefix of its keyring entries.
func (v *Vault) ID() string { return v.id }

// Token returns acc's token; an error wrapping channels.ErrAuth when the
// account has none (never connected, or disconnected) or the stored one is
// unreadable.
func (v *Vault) Token(ctx context.Context, acc channels.Account) (channels.Token, error) {
	if err := checkAccount(acc); err != nil {
		return channels.Token{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	secret, found, err := v.store.get(ctx, acc.Key())
	if err != nil {
		return channels.Token{}, fmt.Errorf("read the token of %s: %w", acc.Key(), err)
	}
	if !found {
		return channels.Token{}, fmt.Errorf("%s is not connected: connect the account in Settings (%w)", acc.Key(), channels.ErrAuth)
	}
	defer clear(secret)
	var t channels.Token
	if err := json.Unmarshal(secret, &t); err != nil || t.AccessToken == "" {
		// The decoder's message may quote the secret: leave it out.
		return channels.Token{}, fmt.Errorf("the stored token of %s is unreadable: connect the account again in Settings (%w)", acc.Key(), channels.ErrAuth)
	}
	return t, nil
}

// SaveToken stores acc's token, replacing any earlier one.
func (v *Vault) SaveToken(ctx context.Context, acc channels.Account, t channels.Token) error {
	if err := checkAccount(acc); err != nil {
		return err
	}
	if t.AccessToken == "" {
		return fmt.Errorf("save the token of %s: the token is empty", acc.Key())
	}
	secret, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("save the token of %s: encode: %w", acc.Key(), webapi.Redact(err, t.AccessToken, t.RefreshToken))
	}
	defer clear(secret)
	if len(secret) > MaxSecretBytes {
		return fmt.Errorf("save the token of %s: %w: it takes %d bytes, the limit is %d (Windows' Credential Manager holds at most %d)",
			acc.Key(), ErrSecretTooLarge, len(secret), MaxSecretBytes, MaxSecretBytes)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.store.set(ctx, acc.Key(), secret); err != nil {
		return fmt.Errorf("save the token of %s: %w", acc.Key(), webapi.Redact(err, t.AccessToken, t.RefreshToken, string(secret)))
	}
	return nil
}

// Delete forgets acc's token, for disconnecting it; deleting a token that
// is not there is not an error.
func (v *Vault) Delete(ctx context.Context, acc channels.Account) error {
	if err := checkAccount(acc); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.store.del(ctx, acc.Key()); err != nil {
		return fmt.Errorf("delete the token of %s: %w", acc.Key(), err)
	}
	return nil
}

func checkAccount(acc channels.Account) error {
	if acc.Platform == "" || acc.Handle == "" {
		return fmt.Errorf("credential vault: account %q has no platform or no handle", acc.Key())
	}
	return nil
}

// lock takes the data folder's vault lock, waiting for another process
// that holds it until ctx ends.
func lock(ctx context.Context, dir string) (unlock func(), err error) {
	fl := flock.New(filepath.Join(dir, lockName), flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, lockRetry)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), ctx.Err())
	}
	return func() { fl.Unlock() }, nil
}

func readState(dir string) (state, error) {
	path := filepath.Join(dir, StateName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("read %s: %w", path, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := hex.DecodeString(st.ID); err != nil || len(st.ID) != 32 {
		return state{}, fmt.Errorf("read %s: the vault ID %q is not 32 hexadecimal digits", path, st.ID)
	}
	if st.Backend != backendKeyring && st.Backend != backendFile {
		return state{}, fmt.Errorf("read %s: unknown backend %q", path, st.Backend)
	}
	return st, nil
}

func writeState(dir string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, StateName), append(b, '\n'), nil)
}
