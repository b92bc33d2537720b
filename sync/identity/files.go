package identity

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files in a data folder. They hold secrets: written with mode 0600 and
// never logged.
const (
	IdentityFile = "identity.json" // this node's keys and certificate
	RootFile     = "hq-root.json"  // headquarters only: the root key
)

type identityJSON struct {
	Cert    []byte `json:"cert"`
	SignKey []byte `json:"sign_key_seed"`
	BoxKey  []byte `json:"box_key"`
}

// Save writes the identity to dir.
func (id *Identity) Save(dir string) error {
	return writeSecret(filepath.Join(dir, IdentityFile), identityJSON{
		Cert: id.Cert.Marshal(), SignKey: id.SignKey.Seed(), BoxKey: id.BoxKey[:]})
}

// ErrNoIdentity means the data folder has not joined a network.
var ErrNoIdentity = errors.New("this data folder has no network identity (run `branchline hq init` or `branchline join`)")

// LoadIdentity reads the identity in dir.
func LoadIdentity(dir string) (*Identity, error) {
	var j identityJSON
	if err := readSecret(filepath.Join(dir, IdentityFile), &j); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNoIdentity
		}
		return nil, err
	}
	cert, err := ParseCert(j.Cert)
	if err != nil {
		return nil, err
	}
	if len(j.SignKey) != ed25519.SeedSize || len(j.BoxKey) != 32 {
		return nil, fmt.Errorf("%s: %w keys", IdentityFile, ErrMalformed)
	}
	id := &Identity{Cert: cert, SignKey: ed25519.NewKeyFromSeed(j.SignKey)}
	copy(id.BoxKey[:], j.BoxKey)
	return id, nil
}

// Save writes the root key to dir.
func (r Root) Save(dir string) error {
	return writeSecret(filepath.Join(dir, RootFile), map[string][]byte{"root_key_seed": r.Key.Seed()})
}

// LoadRoot reads headquarters' root key from dir.
func LoadRoot(dir string) (Root, error) {
	var j map[string][]byte
	if err := readSecret(filepath.Join(dir, RootFile), &j); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Root{}, errors.New("this node is not headquarters: it has no root key")
		}
		return Root{}, err
	}
	seed := j["root_key_seed"]
	if len(seed) != ed25519.SeedSize {
		return Root{}, fmt.Errorf("%s: %w key", RootFile, ErrMalformed)
	}
	return Root{Key: ed25519.NewKeyFromSeed(seed)}, nil
}

func writeSecret(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

func readSecret(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// WriteSecret writes v as JSON to path, readable by the owner only.
func WriteSecret(path string, v any) error { return writeSecret(path, v) }

// ReadSecret reads JSON written by WriteSecret.
func ReadSecret(path string, v any) error { return readSecret(path, v) }
