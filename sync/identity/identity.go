// Package identity holds who a Branchline node is in its network: its
// signing and sealing keys, the certificate headquarters signed for it, and
// the join code that carries both to a new node.
//
// Authority comes from signatures, not from the gossip key (any holder of
// that is a full member as far as memberlist is concerned): headquarters'
// root key signs each node's certificate, and each node signs every change
// it makes with its own key.
package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/curve25519"

	"github.com/branchline/branchline/sync/internal/wire"
)

// Roles a node can have.
const (
	RoleHQ     = "hq"
	RoleRegion = "region"
	RoleStore  = "store"
)

// Errors.
var (
	ErrBadCert   = errors.New("certificate does not verify")
	ErrExpired   = errors.New("expired")
	ErrMalformed = wire.ErrMalformed
)

// Cert is a node's certificate: its name, role and place, and its public
// keys, signed by headquarters' root key.
type Cert struct {
	NodeID    string // unique name, also the memberlist node name
	Role      string
	Location  string // the store's location (stores), "" otherwise
	Region    string // the region (stores and regions)
	SignKey   ed25519.PublicKey
	BoxKey    [32]byte // X25519, for sealed content
	IssuedAt  time.Time
	ExpiresAt time.Time
	// JoinBy is when the join code that carried this certificate
	// expires.
	JoinBy time.Time
	Sig    []byte // root's signature over the rest
}

const certVersion = 1

func (c *Cert) signedBytes() []byte {
	var w wire.Writer
	w.WriteByte(certVersion)
	w.PutString(c.NodeID)
	w.PutString(c.Role)
	w.PutString(c.Location)
	w.PutString(c.Region)
	w.PutBytes(c.SignKey)
	w.Write(c.BoxKey[:])
	w.PutInt(c.IssuedAt.UnixMilli())
	w.PutInt(c.ExpiresAt.UnixMilli())
	w.PutInt(c.JoinBy.UnixMilli())
	return w.Buffer.Bytes()
}

// Marshal encodes the certificate.
func (c *Cert) Marshal() []byte {
	var w wire.Writer
	w.Write(c.signedBytes())
	w.PutBytes(c.Sig)
	return w.Buffer.Bytes()
}

// ParseCert decodes a certificate (it does not verify it).
func ParseCert(data []byte) (*Cert, error) {
	r := wire.NewReader(data)
	if v := r.Byte(); v != certVersion {
		return nil, fmt.Errorf("%w certificate: version %d", ErrMalformed, v)
	}
	c := &Cert{NodeID: r.String(), Role: r.String(), Location: r.String(), Region: r.String()}
	c.SignKey = ed25519.PublicKey(r.Bytes())
	copy(c.BoxKey[:], r.Fixed(32))
	c.IssuedAt = time.UnixMilli(r.Int()).UTC()
	c.ExpiresAt = time.UnixMilli(r.Int()).UTC()
	c.JoinBy = time.UnixMilli(r.Int()).UTC()
	c.Sig = r.Bytes()
	if !r.Done() {
		return nil, fmt.Errorf("%w certificate", ErrMalformed)
	}
	if len(c.SignKey) != ed25519.PublicKeySize || len(c.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w certificate: key or signature size", ErrMalformed)
	}
	return c, nil
}

// Verify checks the certificate against the root public key and the time.
func (c *Cert) Verify(root ed25519.PublicKey, now time.Time) error {
	if len(c.Sig) != ed25519.SignatureSize || !ed25519.Verify(root, c.signedBytes(), c.Sig) {
		return fmt.Errorf("%w: %s", ErrBadCert, c.NodeID)
	}
	switch c.Role {
	case RoleHQ, RoleRegion, RoleStore:
	default:
		return fmt.Errorf("%w: %s has unknown role %q", ErrBadCert, c.NodeID, c.Role)
	}
	if now.After(c.ExpiresAt) {
		return fmt.Errorf("certificate of %s %w on %s", c.NodeID, ErrExpired, c.ExpiresAt.Format(time.DateOnly))
	}
	return nil
}

// Identity is a node's own keys and certificate.
type Identity struct {
	Cert    *Cert
	SignKey ed25519.PrivateKey
	BoxKey  [32]byte // X25519 private key
}

// Root is headquarters' root signing key, the network's trust anchor.
type Root struct {
	Key ed25519.PrivateKey
}

// Public is the root's public key.
func (r Root) Public() ed25519.PublicKey { return r.Key.Public().(ed25519.PublicKey) }

// NewRoot makes a new root key.
func NewRoot(rnd io.Reader) (Root, error) {
	_, priv, err := ed25519.GenerateKey(rnd)
	return Root{Key: priv}, err
}

// CertRequest describes the node a certificate is for.
type CertRequest struct {
	NodeID, Role, Location, Region string
	Valid                          time.Duration // how long the certificate lasts
	JoinWithin                     time.Duration // how long the join code lasts
}

// Issue makes a new node identity (fresh keys) with a certificate signed by
// the root.
func (r Root) Issue(req CertRequest, now time.Time, rnd io.Reader) (*Identity, error) {
	if !validNodeID(req.NodeID) {
		return nil, fmt.Errorf("node ID %q: use 1-64 letters, digits, '-' or '.'", req.NodeID)
	}
	switch req.Role {
	case RoleHQ, RoleRegion, RoleStore:
	default:
		return nil, fmt.Errorf("role must be hq, region or store, not %q", req.Role)
	}
	if req.Role == RoleStore && (req.Location == "" || req.Region == "") {
		return nil, errors.New("a store needs a location and a region")
	}
	if req.Role == RoleRegion && req.Region == "" {
		return nil, errors.New("a region node needs a region")
	}
	pub, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, err
	}
	var boxPriv [32]byte
	if _, err := io.ReadFull(rnd, boxPriv[:]); err != nil {
		return nil, err
	}
	boxPub, err := curve25519.X25519(boxPriv[:], curve25519.Basepoint)
	if err != nil {
		return nil, err
	}
	if req.Valid == 0 {
		req.Valid = 2 * 365 * 24 * time.Hour
	}
	if req.JoinWithin == 0 {
		req.JoinWithin = 72 * time.Hour
	}
	c := &Cert{NodeID: req.NodeID, Role: req.Role, Location: req.Location, Region: req.Region, SignKey: pub,
		IssuedAt: now.UTC().Truncate(time.Millisecond), ExpiresAt: now.Add(req.Valid).UTC().Truncate(time.Millisecond),
		JoinBy: now.Add(req.JoinWithin).UTC().Truncate(time.Millisecond)}
	copy(c.BoxKey[:], boxPub)
	c.Sig = ed25519.Sign(r.Key, c.signedBytes())
	return &Identity{Cert: c, SignKey: priv, BoxKey: boxPriv}, nil
}

func validNodeID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// JoinCode is what a new node needs to join: the root public key, the
// gossip key, seed addresses and its own identity. It is a secret.
type JoinCode struct {
	Root      ed25519.PublicKey
	GossipKey []byte
	Seeds     []string
	Identity  *Identity
}

// CodePrefix starts every join code, so a pasted code is recognised.
const CodePrefix = "BLJ1-"

// Encode writes the join code as text.
func (j *JoinCode) Encode() string {
	var w wire.Writer
	w.PutBytes(j.Root)
	w.PutBytes(j.GossipKey)
	w.PutUint(uint64(len(j.Seeds)))
	for _, s := range j.Seeds {
		w.PutString(s)
	}
	w.PutBytes(j.Identity.Cert.Marshal())
	w.PutBytes(j.Identity.SignKey.Seed())
	w.Write(j.Identity.BoxKey[:])
	return CodePrefix + base64.RawURLEncoding.EncodeToString(w.Buffer.Bytes())
}

// ParseJoinCode reads a join code and checks that its certificate is signed
// by the root in it and that it has not expired.
func ParseJoinCode(text string, now time.Time) (*JoinCode, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, CodePrefix) {
		return nil, fmt.Errorf("%w join code: it must start with %s", ErrMalformed, CodePrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(text, CodePrefix))
	if err != nil {
		return nil, fmt.Errorf("%w join code: %v", ErrMalformed, err)
	}
	r := wire.NewReader(raw)
	j := &JoinCode{Root: ed25519.PublicKey(r.Bytes()), GossipKey: r.Bytes()}
	n := r.Uint()
	if n > 64 {
		return nil, fmt.Errorf("%w join code: %d seeds", ErrMalformed, n)
	}
	for range n {
		j.Seeds = append(j.Seeds, r.String())
	}
	certBytes := r.Bytes()
	seed := r.Bytes()
	box := r.Fixed(32)
	if !r.Done() {
		return nil, fmt.Errorf("%w join code", ErrMalformed)
	}
	if len(j.Root) != ed25519.PublicKeySize || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w join code: key sizes", ErrMalformed)
	}
	switch len(j.GossipKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w join code: gossip key of %d bytes", ErrMalformed, len(j.GossipKey))
	}
	cert, err := ParseCert(certBytes)
	if err != nil {
		return nil, err
	}
	if err := cert.Verify(j.Root, now); err != nil {
		return nil, err
	}
	if now.After(cert.JoinBy) {
		return nil, fmt.Errorf("join code %w on %s: ask headquarters for a new invitation", ErrExpired, cert.JoinBy.Format(time.RFC1123))
	}
	id := &Identity{Cert: cert, SignKey: ed25519.NewKeyFromSeed(seed)}
	copy(id.BoxKey[:], box)
	if !bytes.Equal(id.SignKey.Public().(ed25519.PublicKey), cert.SignKey) {
		return nil, fmt.Errorf("%w join code: the key does not match the certificate", ErrMalformed)
	}
	j.Identity = id
	return j, nil
}

// NewGossipKey makes a 32-byte AES key for memberlist.
func NewGossipKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}
