package change

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/sync/identity"
)

// The bodies of the kinds of change, as JSON.

// Node is a node's own directory entry.
type Node struct {
	Name    string `json:"name"`    // for people, e.g. "Copper Kettle Riverside"
	Address string `json:"address"` // where it gossips, host:port
	Version string `json:"version,omitempty"`
}

// Revocation revokes a node: its changes after UpTo are refused.
type Revocation struct {
	UpTo   uint64 `json:"up_to"`
	Reason string `json:"reason,omitempty"`
}

// Template is a reply template published to stores. Scope is "hq" or
// "region:NAME"; a region may publish templates for its own stores only.
type Template struct {
	Scope    string          `json:"scope"`
	Template json.RawMessage `json:"template,omitempty"` // a care/templates.Template
	Deleted  bool            `json:"deleted,omitempty"`
}

// Escalation levels.
const (
	LevelRegion = "region"
	LevelHQ     = "hq"
)

// Escalation is raised by a store about a customer's message, or by a
// region about one of its stores. Sealed holds the content only its
// readers (headquarters, the store, its region) can open.
type Escalation struct {
	Location string `json:"location"`
	Region   string `json:"region"`
	Level    string `json:"level"`
	Severity string `json:"severity"`
	Category string `json:"category"`
	Sealed   []byte `json:"sealed"`
}

// EscalationContent is what an escalation's Sealed field holds.
type EscalationContent struct {
	Note     string `json:"note"`
	Excerpt  string `json:"excerpt,omitempty"` // the customer's message
	Platform string `json:"platform,omitempty"`
	Author   string `json:"author,omitempty"`
	PostedAt string `json:"posted_at,omitempty"`
}

// Escalation stages, in order.
var Stages = []string{"open", "acknowledged", "in_progress", "resolved"}

// EscalationStatus moves an escalation on. Status is a lattice: (Reopen,
// Stage) merges by maximum, so every node ends with the same status
// whatever order the changes arrive in; a reopen starts a new round.
type EscalationStatus struct {
	Region     string `json:"region"` // the escalation's region, as the author says
	Stage      string `json:"stage"`
	Reopen     int    `json:"reopen"`
	Level      string `json:"level,omitempty"` // raised to hq
	Department string `json:"department,omitempty"`
	Sealed     []byte `json:"sealed,omitempty"` // a note, for the escalation's readers
}

// EscalationComment is a comment on an escalation, sealed for its readers.
type EscalationComment struct {
	Sealed []byte `json:"sealed"`
}

// KPI is one location's figures for one day, without personal data.
type KPI struct {
	Location string             `json:"location"`
	Region   string             `json:"region"`
	Day      string             `json:"day"` // YYYY-MM-DD in the location's time zone
	Figures  map[string]float64 `json:"figures"`
}

// Crisis is a holding statement and watch keywords from headquarters.
type Crisis struct {
	Title     string   `json:"title"`
	Statement string   `json:"statement"`
	Keywords  []string `json:"keywords"`
	Regions   []string `json:"regions,omitempty"` // empty: every region
}

// CrisisAck is a store's acknowledgement of a crisis broadcast.
type CrisisAck struct {
	Location string `json:"location"`
	Region   string `json:"region"`
}

// GossipKeyRecord is the key of the one gossip-key record.
const GossipKeyRecord = "gossip"

// GossipKey is a rotation of the network's gossip key: every node adds
// the new key at once, encrypts with it from UseAt and drops the others
// at RetireAt. The key is sealed for every node in the directory.
type GossipKey struct {
	Epoch    uint64    `json:"epoch"`
	UseAt    time.Time `json:"use_at"`
	RetireAt time.Time `json:"retire_at"`
	Sealed   []byte    `json:"sealed"`
}

// EscalationKey is the key of the escalation a node raises with its seq.
func EscalationKey(origin string, seq uint64) string {
	return origin + ":" + strconv.FormatUint(seq, 10)
}

func decode(c *Change, v any) error {
	if err := json.Unmarshal(c.Body, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBody, c.Kind, err)
	}
	return nil
}

func deny(c Verified, why string) error {
	return fmt.Errorf("%w: %s %s may not %s", ErrRole, c.Author.Role, c.Origin, why)
}

// checkPolicy enforces who may make which change. Rules that need other
// records (a region's status change must be about an escalation of its own
// region) are enforced when state is read, where the records meet.
func checkPolicy(c Verified) error {
	role := c.Author.Role
	switch c.Kind {
	case KindNode:
		if c.Key != c.Origin {
			return deny(c, "write another node's directory entry")
		}
		var n Node
		return decode(c.Change, &n)
	case KindGossipKey:
		if role != identity.RoleHQ {
			return deny(c, "rotate the gossip key")
		}
		var g GossipKey
		if err := decode(c.Change, &g); err != nil {
			return err
		}
		if c.Key != GossipKeyRecord || g.RetireAt.Before(g.UseAt) || len(g.Sealed) == 0 {
			return fmt.Errorf("%w: gossip key under %q, use at %s, retire at %s", ErrBody, c.Key, g.UseAt, g.RetireAt)
		}
		return nil
	case KindRevocation, KindGuideline, KindCrisis:
		if role != identity.RoleHQ {
			return deny(c, "publish a "+c.Kind.String())
		}
		switch c.Kind {
		case KindGuideline:
			p, err := guidelines.Parse(c.Body)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrBody, err)
			}
			if p.ID != c.Key {
				return fmt.Errorf("%w: pack %q under key %q", ErrBody, p.ID, c.Key)
			}
		case KindRevocation:
			var r Revocation
			return decode(c.Change, &r)
		case KindCrisis:
			var cr Crisis
			return decode(c.Change, &cr)
		}
		return nil
	case KindTemplate:
		var t Template
		if err := decode(c.Change, &t); err != nil {
			return err
		}
		switch {
		case role == identity.RoleHQ && t.Scope == "hq":
		case role == identity.RoleRegion && t.Scope == "region:"+c.Author.Region:
		default:
			return deny(c, "publish a template for scope "+t.Scope)
		}
		if !strings.HasPrefix(c.Key, t.Scope+"/") {
			return fmt.Errorf("%w: template key %q outside scope %q", ErrBody, c.Key, t.Scope)
		}
		return nil
	case KindEscalation:
		var e Escalation
		if err := decode(c.Change, &e); err != nil {
			return err
		}
		if c.Key != EscalationKey(c.Origin, c.Seq) {
			return fmt.Errorf("%w: escalation key %q, want %q", ErrBody, c.Key, EscalationKey(c.Origin, c.Seq))
		}
		switch {
		case role == identity.RoleStore && e.Location == c.Author.Location && e.Region == c.Author.Region:
		case role == identity.RoleRegion && e.Region == c.Author.Region:
		default:
			return deny(c, fmt.Sprintf("raise an escalation for %s in %s", e.Location, e.Region))
		}
		if e.Level != LevelRegion && e.Level != LevelHQ {
			return fmt.Errorf("%w: level %q", ErrBody, e.Level)
		}
		return nil
	case KindEscalationStatus:
		var s EscalationStatus
		if err := decode(c.Change, &s); err != nil {
			return err
		}
		switch {
		case role == identity.RoleHQ:
		case role == identity.RoleRegion && s.Region == c.Author.Region:
		default:
			return deny(c, "change an escalation's status")
		}
		if stageRank(s.Stage) < 0 || s.Reopen < 0 {
			return fmt.Errorf("%w: stage %q, reopen %d", ErrBody, s.Stage, s.Reopen)
		}
		return nil
	case KindEscalationComment:
		var cm EscalationComment
		return decode(c.Change, &cm)
	case KindKPI:
		var k KPI
		if err := decode(c.Change, &k); err != nil {
			return err
		}
		if role != identity.RoleStore || k.Location != c.Author.Location {
			return deny(c, "publish figures for "+k.Location)
		}
		if _, err := time.Parse(time.DateOnly, k.Day); err != nil || c.Key != k.Location+"/"+k.Day {
			return fmt.Errorf("%w: day %q under key %q", ErrBody, k.Day, c.Key)
		}
		return nil
	case KindCrisisAck:
		var a CrisisAck
		if err := decode(c.Change, &a); err != nil {
			return err
		}
		if role != identity.RoleStore || a.Location != c.Author.Location {
			return deny(c, "acknowledge a crisis for "+a.Location)
		}
		return nil
	}
	return fmt.Errorf("%w %d", ErrKind, c.Kind)
}

func stageRank(s string) int {
	for i, x := range Stages {
		if x == s {
			return i
		}
	}
	return -1
}

// StageRank is a stage's place in the order open < acknowledged <
// in_progress < resolved, or -1.
func StageRank(s string) int { return stageRank(s) }
