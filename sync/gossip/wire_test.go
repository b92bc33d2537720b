package gossip

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/branchline/branchline/sync/identity"
)

// TestTrafficIsSealed listens on the wire while nodes gossip, push/pull and
// fetch ranges: every packet and every stream message must open with the
// network's gossip key (AES-GCM, bound to the label) and with no other key,
// so a node without the key can read none of it.
func TestTrafficIsSealed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newSimFor(t, smallBrand(), 5)
		defer s.shutdown()
		var (
			mu      sync.Mutex
			packets [][]byte
			streams [][]byte
		)
		s.net.SetTap(func(stream bool, b []byte) {
			mu.Lock()
			defer mu.Unlock()
			if stream {
				streams = append(streams, append([]byte(nil), b...))
			} else {
				packets = append(packets, append([]byte(nil), b...))
			}
		})
		s.joinAll(t, mrand.New(mrand.NewPCG(5, 1)))
		w := newWorkload(6)
		for range 200 {
			if err := w.write(ctx, s.nodes); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitSame(t, s.nodes, 5*time.Minute)
		time.Sleep(time.Minute) // push/pull rounds over streams
		s.net.SetTap(nil)

		other, _ := identity.NewGossipKey()
		mu.Lock()
		defer mu.Unlock()
		labels, sealed := 0, 0
		for i, b := range streams {
			if isLabelHeader(b, "sim") { // written on its own before each stream
				labels++
				continue
			}
			if err := openStream(s.key, "sim", b); err != nil {
				t.Fatalf("stream write %d (%d bytes) does not open with the gossip key: %v", i, len(b), err)
			}
			if openStream(other, "sim", b) == nil {
				t.Fatalf("stream write %d opens with another key", i)
			}
			sealed++
		}
		for i, b := range packets {
			if err := openPacket(s.key, "sim", b); err != nil {
				t.Fatalf("packet %d (%d bytes) does not open with the gossip key: %v", i, len(b), err)
			}
			if openPacket(other, "sim", b) == nil {
				t.Fatalf("packet %d opens with another key", i)
			}
		}
		t.Logf("%d packets and %d stream messages (after %d label headers), all sealed with the gossip key", len(packets), sealed, labels)
		if len(packets) < 100 || sealed < 10 {
			t.Fatalf("saw only %d packets and %d stream messages", len(packets), sealed)
		}
	})
}

// memberlist's framing: a label header is [244][len][label]; a sealed
// payload is [version][12-byte nonce][AES-GCM ciphertext and tag]; a
// stream message is [encryptMsg=10][uint32 length][sealed payload], with
// its first five bytes and the label as additional data.
const (
	labelMsg   = 244
	encryptMsg = 10
)

func isLabelHeader(b []byte, label string) bool {
	return len(b) == 2+len(label) && b[0] == labelMsg && int(b[1]) == len(label) && string(b[2:]) == label
}

func openPacket(key []byte, label string, b []byte) error {
	if len(b) < 2+len(label) || !isLabelHeader(b[:2+len(label)], label) {
		return errors.New("no label header")
	}
	return openSealed(key, b[2+len(label):], []byte(label))
}

func openStream(key []byte, label string, b []byte) error {
	if len(b) < 5 || b[0] != encryptMsg {
		return fmt.Errorf("not an encrypted message (type %d)", b[0])
	}
	if n := binary.BigEndian.Uint32(b[1:5]); int(n) != len(b)-5 {
		return fmt.Errorf("length %d, %d bytes follow", n, len(b)-5)
	}
	return openSealed(key, b[5:], append(append([]byte(nil), b[:5]...), label...))
}

func openSealed(key, b, aad []byte) error {
	if len(b) < 1+12+16 || b[0] > 1 {
		return errors.New("not a sealed payload")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	_, err = gcm.Open(nil, b[1:13], b[13:], aad)
	return err
}
