package change

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/branchline/branchline/sync/identity"
)

// certCache remembers certificates that verified, so a batch of changes by
// one author costs one certificate check, not one per change.
type certCache struct {
	mu sync.Mutex
	m  map[[32]byte]*identity.Cert
}

const certCacheMax = 10000

func (cc *certCache) get(raw []byte, root ed25519.PublicKey, now time.Time) (*identity.Cert, error) {
	key := sha256.Sum256(raw)
	cc.mu.Lock()
	c, ok := cc.m[key]
	cc.mu.Unlock()
	if ok && !now.After(c.ExpiresAt) {
		return c, nil
	}
	c, err := identity.ParseCert(raw)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(root, now); err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= certCacheMax {
		cc.m = make(map[[32]byte]*identity.Cert)
	}
	cc.m[key] = c
	cc.mu.Unlock()
	return c, nil
}
