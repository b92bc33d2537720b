package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// Severities of an escalation.
var Severities = []string{"low", "medium", "high", "critical"}

// EscalateInput raises an escalation.
type EscalateInput struct {
	// Location is the store concerned: for a store its own (leave empty),
	// for a region one of its stores.
	Location string
	Severity string
	Category string
	Note     string
	// Level is "region" or "hq"; "" picks: critical ones and crises go to
	// headquarters, the rest to the region.
	Level string
	// The customer's message, sealed with the note.
	Excerpt, Platform, Author string
	PostedAt                  time.Time
}

// crisisCategories go straight to headquarters.
var crisisCategories = []string{"food_safety", "injury", "discrimination", "legal", "press"}

// Escalate raises an escalation; its content is sealed so that only
// headquarters, the store and its region can read it.
func (b *Book) Escalate(ctx context.Context, in EscalateInput) (string, error) {
	cert := b.self.Cert
	loc, region := cert.Location, cert.Region
	switch cert.Role {
	case identity.RoleStore:
		if in.Location != "" && in.Location != loc {
			return "", fmt.Errorf("%w: a store escalates for itself, not %s", change.ErrRole, in.Location)
		}
	case identity.RoleRegion:
		if in.Location == "" {
			return "", errors.New("a region escalates about one of its stores: name it (--store LOCATION)")
		}
		loc = in.Location
	default:
		return "", fmt.Errorf("%w: headquarters does not raise escalations", change.ErrRole)
	}
	if !slices.Contains(Severities, in.Severity) {
		return "", fmt.Errorf("severity must be one of %s, not %q", strings.Join(Severities, ", "), in.Severity)
	}
	if strings.TrimSpace(in.Note) == "" {
		return "", errors.New("an escalation needs a note: say what happened and what you need")
	}
	level := in.Level
	if level == "" {
		level = change.LevelRegion
		if in.Severity == "critical" || slices.Contains(crisisCategories, in.Category) {
			level = change.LevelHQ
		}
	}
	if level != change.LevelRegion && level != change.LevelHQ {
		return "", fmt.Errorf("level must be region or hq, not %q", level)
	}
	content := change.EscalationContent{Note: in.Note, Excerpt: in.Excerpt, Platform: in.Platform, Author: in.Author}
	if !in.PostedAt.IsZero() {
		content.PostedAt = in.PostedAt.UTC().Format(time.RFC3339)
	}
	readers, err := b.readers(ctx, loc, region)
	if err != nil {
		return "", err
	}
	plain, _ := json.Marshal(content)
	sealed, err := change.Seal(plain, readers)
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(change.Escalation{Location: loc, Region: region, Level: level, Severity: in.Severity,
		Category: in.Category, Sealed: sealed})
	// The escalation is named after the change that raises it.
	c, err := b.rep.AuthorWith(ctx, change.KindEscalation, func(seq uint64) (string, []byte, error) {
		return change.EscalationKey(cert.NodeID, seq), body, nil
	})
	if err != nil {
		return "", err
	}
	return c.Key, nil
}

// readers are the box keys of those who may read a store's escalation:
// headquarters, the store and its region, as the directory knows them,
// and this node.
func (b *Book) readers(ctx context.Context, location, region string) ([][32]byte, error) {
	dir, err := b.Directory(ctx)
	if err != nil {
		return nil, err
	}
	keys := [][32]byte{b.self.Cert.BoxKey}
	for _, d := range dir {
		if d.Revoked || d.NodeID == b.self.Cert.NodeID {
			continue
		}
		switch {
		case d.Role == identity.RoleHQ,
			d.Role == identity.RoleRegion && d.Region == region,
			d.Role == identity.RoleStore && d.Location == location:
			keys = append(keys, d.BoxKey)
		}
	}
	if !slices.ContainsFunc(dir, func(d DirectoryEntry) bool { return d.Role == identity.RoleHQ }) && b.self.Cert.Role != identity.RoleHQ {
		return nil, errors.New("headquarters is not in this node's directory yet: join the network first, so it can read the escalation")
	}
	return keys, nil
}

// EscalationView is an escalation as this node sees it.
type EscalationView struct {
	ID         string                    `json:"id"`
	Location   string                    `json:"location"`
	Region     string                    `json:"region"`
	Level      string                    `json:"level"`
	Severity   string                    `json:"severity"`
	Category   string                    `json:"category"`
	RaisedBy   string                    `json:"raised_by"`
	RaisedAt   time.Time                 `json:"raised_at"`
	Stage      string                    `json:"status"`
	Reopened   int                       `json:"reopened"`
	Department string                    `json:"department,omitempty"`
	Readable   bool                      `json:"readable"`
	Content    *change.EscalationContent `json:"content,omitempty"`
	Comments   []CommentView             `json:"comments"`
	History    []StatusView              `json:"history"`
}

// CommentView is a comment on an escalation.
type CommentView struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text,omitempty"` // empty when this node may not read it
}

// StatusView is a status change.
type StatusView struct {
	By    string    `json:"by"`
	At    time.Time `json:"at"`
	Stage string    `json:"status"`
	Round int       `json:"round"`
	Level string    `json:"level,omitempty"`
	Note  string    `json:"note,omitempty"`
}

// Escalations lists the escalations this node may see, newest first: a
// store its own, a region its stores', headquarters all.
func (b *Book) Escalations(ctx context.Context) ([]EscalationView, error) {
	states, err := b.store.FedStates(ctx, uint8(change.KindEscalation), 100000)
	if err != nil {
		return nil, err
	}
	var out []EscalationView
	for _, s := range states {
		var e change.Escalation
		if json.Unmarshal(s.Body, &e) != nil || !b.maySee(e) {
			continue
		}
		v, err := b.view(ctx, s, e)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RaisedAt.After(out[j].RaisedAt) })
	return out, nil
}

// Escalation returns one escalation.
func (b *Book) Escalation(ctx context.Context, id string) (EscalationView, error) {
	s, err := b.store.FedStateOf(ctx, uint8(change.KindEscalation), id)
	if err != nil {
		return EscalationView{}, fmt.Errorf("escalation %s: %w", id, ErrNotFound)
	}
	var e change.Escalation
	if err := json.Unmarshal(s.Body, &e); err != nil {
		return EscalationView{}, err
	}
	if !b.maySee(e) {
		return EscalationView{}, fmt.Errorf("escalation %s: %w", id, ErrNotFound)
	}
	return b.view(ctx, s, e)
}

func (b *Book) maySee(e change.Escalation) bool {
	c := b.self.Cert
	switch c.Role {
	case identity.RoleHQ:
		return true
	case identity.RoleRegion:
		return e.Region == c.Region
	}
	return e.Location == c.Location
}

func (b *Book) open(sealed []byte, v any) bool {
	plain, err := change.Open(sealed, b.self.Cert.BoxKey, b.self.BoxKey)
	if err != nil {
		return false
	}
	if s, ok := v.(*string); ok {
		*s = string(plain)
		return true
	}
	return json.Unmarshal(plain, v) == nil
}

func (b *Book) view(ctx context.Context, s models.FedState, e change.Escalation) (EscalationView, error) {
	v := EscalationView{ID: s.Key, Location: e.Location, Region: e.Region, Level: e.Level, Severity: e.Severity,
		Category: e.Category, RaisedBy: s.Origin, RaisedAt: s.At.UTC(), Stage: "open", Comments: []CommentView{}, History: []StatusView{}}
	var content change.EscalationContent
	if b.open(e.Sealed, &content) {
		v.Readable, v.Content = true, &content
	}
	statuses, err := b.store.FedChanges(ctx, uint8(change.KindEscalationStatus), s.Key)
	if err != nil {
		return v, err
	}
	best, bestRank := -1, -1
	for _, c := range statuses {
		if !(c.AuthorRole == identity.RoleHQ || (c.AuthorRole == identity.RoleRegion && c.AuthorRegion == e.Region)) {
			continue // only headquarters and the escalation's region move it
		}
		var st change.EscalationStatus
		if json.Unmarshal(c.Body, &st) != nil {
			continue
		}
		sv := StatusView{By: c.Origin, At: c.At.UTC(), Stage: st.Stage, Round: st.Reopen, Level: st.Level}
		if len(st.Sealed) > 0 {
			b.open(st.Sealed, &sv.Note)
		}
		v.History = append(v.History, sv)
		if r := st.Reopen*10 + change.StageRank(st.Stage); r > bestRank {
			bestRank, best = r, len(v.History)-1
		}
		if st.Level == change.LevelHQ {
			v.Level = change.LevelHQ
		}
		if st.Department != "" {
			v.Department = st.Department
		}
	}
	if best >= 0 {
		v.Stage, v.Reopened = v.History[best].Stage, v.History[best].Round
	}
	comments, err := b.store.FedChanges(ctx, uint8(change.KindEscalationComment), s.Key)
	if err != nil {
		return v, err
	}
	for _, c := range comments {
		allowed := c.AuthorRole == identity.RoleHQ ||
			(c.AuthorRole == identity.RoleRegion && c.AuthorRegion == e.Region) ||
			(c.AuthorRole == identity.RoleStore && c.AuthorLocation == e.Location)
		if !allowed {
			continue
		}
		var cm change.EscalationComment
		if json.Unmarshal(c.Body, &cm) != nil {
			continue
		}
		cv := CommentView{By: c.Origin, At: c.At.UTC()}
		b.open(cm.Sealed, &cv.Text)
		v.Comments = append(v.Comments, cv)
	}
	return v, nil
}

// SetStatus moves an escalation on (headquarters or its region): stage is
// acknowledged, in_progress or resolved; "reopen" starts a new round.
func (b *Book) SetStatus(ctx context.Context, id, stage, note, department string) error {
	v, err := b.Escalation(ctx, id)
	if err != nil {
		return err
	}
	st := change.EscalationStatus{Region: v.Region, Stage: stage, Reopen: v.Reopened, Department: department}
	switch {
	case stage == "reopen":
		st.Stage, st.Reopen = "open", v.Reopened+1
	case change.StageRank(stage) < 1:
		return fmt.Errorf("status must be acknowledged, in_progress, resolved or reopen, not %q", stage)
	case change.StageRank(stage) < change.StageRank(v.Stage):
		return fmt.Errorf("escalation %s is already %s; reopen it to start again", id, v.Stage)
	}
	if note != "" {
		readers, err := b.readers(ctx, v.Location, v.Region)
		if err != nil {
			return err
		}
		if st.Sealed, err = change.Seal([]byte(note), readers); err != nil {
			return err
		}
	}
	body, _ := json.Marshal(st)
	_, err = b.rep.Author(ctx, change.KindEscalationStatus, id, body)
	return err
}

// RaiseToHQ passes a region's escalation up to headquarters.
func (b *Book) RaiseToHQ(ctx context.Context, id, note string) error {
	v, err := b.Escalation(ctx, id)
	if err != nil {
		return err
	}
	st := change.EscalationStatus{Region: v.Region, Stage: v.Stage, Reopen: v.Reopened, Level: change.LevelHQ}
	if note != "" {
		readers, err := b.readers(ctx, v.Location, v.Region)
		if err != nil {
			return err
		}
		if st.Sealed, err = change.Seal([]byte(note), readers); err != nil {
			return err
		}
	}
	body, _ := json.Marshal(st)
	_, err = b.rep.Author(ctx, change.KindEscalationStatus, id, body)
	return err
}

// Comment adds a comment, sealed for the escalation's readers.
func (b *Book) Comment(ctx context.Context, id, text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("the comment is empty")
	}
	v, err := b.Escalation(ctx, id)
	if err != nil {
		return err
	}
	readers, err := b.readers(ctx, v.Location, v.Region)
	if err != nil {
		return err
	}
	sealed, err := change.Seal([]byte(text), readers)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(change.EscalationComment{Sealed: sealed})
	_, err = b.rep.Author(ctx, change.KindEscalationComment, id, body)
	return err
}
