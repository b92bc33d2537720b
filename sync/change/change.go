// Package change defines the signed changes that Branchline nodes share:
// guideline packs and templates from headquarters, escalations and their
// status and comments, KPI summaries, crisis broadcasts and their
// acknowledgements, the node directory and revocations.
//
// Every change names its author (Origin) and the author's sequence number
// (Seq), carries the author's certificate and is signed with the author's
// key. Verify checks the signature, the certificate, the role policy and
// the clock before anything is applied; what it refuses it refuses with a
// reason.
package change

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/internal/wire"
)

// Kind is what a change is about.
type Kind uint8

// Kinds of change. The numbers are part of the wire format.
const (
	KindNode              Kind = 1  // a node's directory entry (its own)
	KindRevocation        Kind = 2  // headquarters revokes a node
	KindGuideline         Kind = 3  // a guideline pack version
	KindTemplate          Kind = 4  // a reply template (or its removal)
	KindEscalation        Kind = 5  // an escalation raised
	KindEscalationStatus  Kind = 6  // its status, level or assignment changed
	KindEscalationComment Kind = 7  // a comment on it
	KindKPI               Kind = 8  // a location's figures for a day
	KindCrisis            Kind = 9  // a crisis broadcast
	KindCrisisAck         Kind = 10 // a store acknowledges a crisis
	KindGossipKey         Kind = 11 // headquarters rotates the gossip key
)

var kindNames = map[Kind]string{
	KindNode: "node", KindRevocation: "revocation", KindGuideline: "guideline", KindTemplate: "template",
	KindEscalation: "escalation", KindEscalationStatus: "escalation_status", KindEscalationComment: "escalation_comment",
	KindKPI: "kpi", KindCrisis: "crisis", KindCrisisAck: "crisis_ack",
	KindGossipKey: "gossip_key",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kindNames[k]; return ok }

// Change is one signed change.
type Change struct {
	Origin string // the author's node ID
	Seq    uint64 // the author's sequence number, from 1
	Kind   Kind
	Key    string // what record it changes
	Time   time.Time
	Body   []byte // kind-specific, see bodies.go
	Cert   []byte // the author's certificate
	Sig    []byte
}

const version = 1

// Limits on what a change may hold.
const (
	MaxKey  = 256
	MaxBody = 1 << 20
)

func (c *Change) signedBytes() []byte {
	var w wire.Writer
	w.WriteByte(version)
	w.PutString(c.Origin)
	w.PutUint(c.Seq)
	w.WriteByte(byte(c.Kind))
	w.PutString(c.Key)
	w.PutInt(c.Time.UnixMilli())
	w.PutBytes(c.Body)
	w.PutBytes(c.Cert)
	return w.Buffer.Bytes()
}

// Marshal encodes the change for the wire and for storage.
func (c *Change) Marshal() []byte {
	var w wire.Writer
	w.Write(c.signedBytes())
	w.PutBytes(c.Sig)
	return w.Buffer.Bytes()
}

// ID is "origin/seq".
func (c *Change) ID() string { return fmt.Sprintf("%s/%d", c.Origin, c.Seq) }

// Hash identifies the exact signed change.
func (c *Change) Hash() string {
	h := sha256.Sum256(c.Sig)
	return hex.EncodeToString(h[:8])
}

// Unmarshal decodes a change (it does not verify it).
func Unmarshal(data []byte) (*Change, error) {
	c, rest, err := unmarshal(data)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w change: %d bytes after it", wire.ErrMalformed, len(rest))
	}
	return c, nil
}

// UnmarshalPrefix decodes a change at the start of data and returns what
// follows it.
func UnmarshalPrefix(data []byte) (*Change, []byte, error) { return unmarshal(data) }

func unmarshal(data []byte) (*Change, []byte, error) {
	r := wire.NewReader(data)
	if v := r.Byte(); v != version {
		return nil, nil, fmt.Errorf("%w change: version %d", wire.ErrMalformed, v)
	}
	c := &Change{Origin: r.String(), Seq: r.Uint(), Kind: Kind(r.Byte()), Key: r.String()}
	c.Time = time.UnixMilli(r.Int()).UTC()
	c.Body = r.Bytes()
	c.Cert = r.Bytes()
	c.Sig = r.Bytes()
	if r.Err() != nil {
		return nil, nil, fmt.Errorf("%w change", wire.ErrMalformed)
	}
	if len(c.Origin) == 0 || len(c.Origin) > 64 || c.Seq == 0 || len(c.Key) > MaxKey || len(c.Body) > MaxBody || len(c.Sig) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w change %s/%d: field out of range", wire.ErrMalformed, c.Origin, c.Seq)
	}
	return c, r.Rest(), nil
}

// New makes and signs a change by id.
func New(id *identity.Identity, seq uint64, kind Kind, key string, body []byte, now time.Time) *Change {
	c := &Change{Origin: id.Cert.NodeID, Seq: seq, Kind: kind, Key: key, Time: now.UTC().Truncate(time.Millisecond),
		Body: body, Cert: id.Cert.Marshal()}
	c.Sig = ed25519.Sign(id.SignKey, c.signedBytes())
	return c
}

// Refusal reasons, so tests and the refusal log can tell them apart.
var (
	ErrSignature = errors.New("bad signature")
	ErrCert      = errors.New("bad certificate")
	ErrRole      = errors.New("not allowed for the author's role")
	ErrRevoked   = errors.New("author revoked")
	ErrFuture    = errors.New("dated in the future")
	ErrStale     = errors.New("dated before the author's certificate")
	ErrKind      = errors.New("unknown kind")
	ErrBody      = errors.New("bad body")
)

// Verified is a change that passed Verify, with its author's certificate.
type Verified struct {
	*Change
	Author *identity.Cert
}

// Verifier checks changes against the network's root key.
type Verifier struct {
	Root ed25519.PublicKey
	// MaxSkew is how far in the future a change may be dated.
	MaxSkew time.Duration
	Now     func() time.Time
	// Revoked reports whether a node is revoked, and the last of its
	// sequence numbers that still counts.
	Revoked func(nodeID string) (upTo uint64, revoked bool)

	certs certCache
}

// Verify checks a change: its author's certificate against the root, its
// signature against the certificate, its date, whether the author is
// revoked, and whether the author's role may make this kind of change.
func (v *Verifier) Verify(c *Change) (Verified, error) {
	if !c.Kind.Valid() {
		return Verified{}, fmt.Errorf("%w %d", ErrKind, c.Kind)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	cert, err := v.certs.get(c.Cert, v.Root, now)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %v", ErrCert, err)
	}
	if cert.NodeID != c.Origin {
		return Verified{}, fmt.Errorf("%w: certificate is %s's, the change claims %s", ErrCert, cert.NodeID, c.Origin)
	}
	if !ed25519.Verify(cert.SignKey, c.signedBytes(), c.Sig) {
		return Verified{}, ErrSignature
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	if c.Time.After(now.Add(skew)) {
		return Verified{}, fmt.Errorf("%w: %s", ErrFuture, c.Time.Format(time.RFC3339))
	}
	if c.Time.Before(cert.IssuedAt.Add(-skew)) {
		return Verified{}, fmt.Errorf("%w: %s", ErrStale, c.Time.Format(time.RFC3339))
	}
	vc := Verified{Change: c, Author: cert}
	if err := checkPolicy(vc); err != nil {
		return Verified{}, err
	}
	if v.Revoked != nil {
		if upTo, ok := v.Revoked(c.Origin); ok && c.Seq > upTo {
			// The change is genuine but its author was revoked: it is
			// returned with the error so that it can be kept, marked and
			// never applied, like copies held from before the revocation.
			return vc, fmt.Errorf("%w: %s after its change %d", ErrRevoked, c.Origin, upTo)
		}
	}
	return vc, nil
}
