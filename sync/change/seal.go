package change

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/branchline/branchline/sync/internal/wire"
)

// Sealed content: the plaintext is encrypted once with a random key
// (NaCl secretbox), and that key is sealed to each reader's X25519 key
// (NaCl anonymous box). Nodes that are not readers relay the bytes and can
// read nothing.

// ErrNotReader means the content is not sealed for this node.
var ErrNotReader = errors.New("not sealed for this node")

func keyID(pub [32]byte) []byte {
	h := sha256.Sum256(pub[:])
	return h[:8]
}

// Seal encrypts plaintext for readers.
func Seal(plaintext []byte, readers [][32]byte) ([]byte, error) {
	if len(readers) == 0 {
		return nil, errors.New("seal: no readers")
	}
	var key [32]byte
	var nonce [24]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	var w wire.Writer
	w.Write(nonce[:])
	w.PutUint(uint64(len(readers)))
	for _, r := range readers {
		pub := r
		sealedKey, err := box.SealAnonymous(nil, key[:], &pub, rand.Reader)
		if err != nil {
			return nil, err
		}
		w.Write(keyID(r))
		w.PutBytes(sealedKey)
	}
	w.PutBytes(secretbox.Seal(nil, plaintext, &nonce, &key))
	return w.Buffer.Bytes(), nil
}

// Open decrypts sealed content with this node's X25519 key pair.
func Open(sealed []byte, pub, priv [32]byte) ([]byte, error) {
	r := wire.NewReader(sealed)
	var nonce [24]byte
	copy(nonce[:], r.Fixed(24))
	n := r.Uint()
	if n > 1<<16 {
		return nil, fmt.Errorf("%w sealed content", wire.ErrMalformed)
	}
	me := keyID(pub)
	var mine []byte
	for range n {
		id := r.Fixed(8)
		k := r.Bytes()
		if string(id) == string(me) {
			mine = k
		}
	}
	ct := r.Bytes()
	if !r.Done() {
		return nil, fmt.Errorf("%w sealed content", wire.ErrMalformed)
	}
	if mine == nil {
		return nil, ErrNotReader
	}
	p, q := pub, priv
	keyBytes, ok := box.OpenAnonymous(nil, mine, &p, &q)
	if !ok || len(keyBytes) != 32 {
		return nil, fmt.Errorf("%w: the key does not open", ErrNotReader)
	}
	var key [32]byte
	copy(key[:], keyBytes)
	out, ok := secretbox.Open(nil, ct, &nonce, &key)
	if !ok {
		return nil, errors.New("sealed content does not decrypt: it was tampered with")
	}
	return out, nil
}
