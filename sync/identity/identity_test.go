package identity

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestJoinCodeRoundTripAndExpiry(t *testing.T) {
	root, _ := NewRoot(rand.Reader)
	id, err := root.Issue(CertRequest{NodeID: "store-riverside", Role: RoleStore, Location: "Riverside", Region: "PNW", JoinWithin: 72 * time.Hour}, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := NewGossipKey()
	code := (&JoinCode{Root: root.Public(), GossipKey: key, Seeds: []string{"10.0.0.1:7946"}, Identity: id}).Encode()
	if !strings.HasPrefix(code, CodePrefix) {
		t.Fatalf("code %q", code)
	}
	j, err := ParseJoinCode(code, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if j.Identity.Cert.NodeID != "store-riverside" || j.Identity.Cert.Location != "Riverside" || len(j.Seeds) != 1 || j.Identity.BoxKey != id.BoxKey {
		t.Fatalf("parsed %+v", j)
	}
	if _, err := ParseJoinCode(code, now.Add(73*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("after 73 hours: %v, want ErrExpired", err)
	}
	// A code whose certificate another root signed is refused.
	other, _ := NewRoot(rand.Reader)
	forged := (&JoinCode{Root: other.Public(), GossipKey: key, Identity: id}).Encode()
	if _, err := ParseJoinCode(forged, now); !errors.Is(err, ErrBadCert) {
		t.Errorf("forged root: %v", err)
	}
	for _, bad := range []string{"", "BLJ1-", "BLJ1-!!!", code[:len(code)-5], "XYZ" + code} {
		if _, err := ParseJoinCode(bad, now); err == nil {
			t.Errorf("ParseJoinCode(%.20q…) accepted", bad)
		}
	}
}

func TestCertVerify(t *testing.T) {
	root, _ := NewRoot(rand.Reader)
	id, _ := root.Issue(CertRequest{NodeID: "region-pnw", Role: RoleRegion, Region: "PNW", Valid: 24 * time.Hour}, now, rand.Reader)
	c, err := ParseCert(id.Cert.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(root.Public(), now); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(root.Public(), now.Add(25*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	c.Region = "Elsewhere"
	if err := c.Verify(root.Public(), now); !errors.Is(err, ErrBadCert) {
		t.Errorf("altered: %v", err)
	}
	if _, err := root.Issue(CertRequest{NodeID: "s", Role: RoleStore}, now, rand.Reader); err == nil {
		t.Error("a store without location was issued")
	}
	if _, err := root.Issue(CertRequest{NodeID: "bad id!", Role: RoleHQ}, now, rand.Reader); err == nil {
		t.Error("a bad node ID was issued")
	}
}

func FuzzParseJoinCode(f *testing.F) {
	root, _ := NewRoot(rand.Reader)
	id, _ := root.Issue(CertRequest{NodeID: "s1", Role: RoleStore, Location: "L", Region: "R"}, now, rand.Reader)
	key, _ := NewGossipKey()
	f.Add((&JoinCode{Root: root.Public(), GossipKey: key, Seeds: []string{"a:1"}, Identity: id}).Encode())
	f.Add("BLJ1-AAAA")
	f.Fuzz(func(t *testing.T, code string) {
		j, err := ParseJoinCode(code, now)
		if err == nil && (j.Identity == nil || j.Identity.Cert == nil) {
			t.Fatal("accepted a code without an identity")
		}
	})
}

func FuzzParseCert(f *testing.F) {
	root, _ := NewRoot(rand.Reader)
	id, _ := root.Issue(CertRequest{NodeID: "s1", Role: RoleStore, Location: "L", Region: "R"}, now, rand.Reader)
	f.Add(id.Cert.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCert(b)
		if err != nil {
			return
		}
		if again, err := ParseCert(c.Marshal()); err != nil || again.NodeID != c.NodeID {
			t.Fatalf("round trip: %v", err)
		}
	})
}
