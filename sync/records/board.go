package records

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// BoardRow is an escalation as the escalation board lists it: what can
// be filtered and sorted without opening its sealed content.
type BoardRow struct {
	ID         string    `json:"id"`
	Location   string    `json:"location"`
	Region     string    `json:"region"`
	Level      string    `json:"level"`
	Severity   string    `json:"severity"`
	Category   string    `json:"category"`
	RaisedAt   time.Time `json:"raised_at"`
	Stage      string    `json:"status"`
	Reopened   int       `json:"reopened"`
	Department string    `json:"department,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
	Comments   int       `json:"comments"`
}

// escalationMeta is an escalation's body without the sealed content,
// which is not even base64-decoded.
type escalationMeta struct {
	Location string `json:"location"`
	Region   string `json:"region"`
	Level    string `json:"level"`
	Severity string `json:"severity"`
	Category string `json:"category"`
}

// Board lists every escalation this node may see with its current status,
// in three streaming reads (escalations, status changes, comments) and
// without opening anything sealed: cheap enough to hold in memory and
// filter as the user types. Escalation opens one in full.
func (b *Book) Board(ctx context.Context) ([]BoardRow, error) {
	var rows []BoardRow
	index := map[string]int{}
	err := b.store.FedStatesEach(ctx, uint8(change.KindEscalation), func(s models.FedState) error {
		var e escalationMeta
		if json.Unmarshal(s.Body, &e) != nil || !b.maySee(change.Escalation{Location: e.Location, Region: e.Region}) {
			return nil
		}
		index[s.Key] = len(rows)
		rows = append(rows, BoardRow{ID: s.Key, Location: e.Location, Region: e.Region, Level: e.Level, Severity: e.Severity,
			Category: e.Category, RaisedAt: s.At.UTC(), Stage: "open", UpdatedAt: s.At.UTC()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	best := make([]int, len(rows))
	for i := range best {
		best[i] = -1
	}
	err = b.store.FedChangesEach(ctx, uint8(change.KindEscalationStatus), func(c models.FedChange) error {
		i, ok := index[c.Key]
		if !ok {
			return nil
		}
		r := &rows[i]
		if !(c.AuthorRole == identity.RoleHQ || (c.AuthorRole == identity.RoleRegion && c.AuthorRegion == r.Region)) {
			return nil // only headquarters and the escalation's region move it
		}
		var st struct {
			Stage      string `json:"stage"`
			Reopen     int    `json:"reopen"`
			Level      string `json:"level"`
			Department string `json:"department"`
		}
		if json.Unmarshal(c.Body, &st) != nil {
			return nil
		}
		if rank := st.Reopen*10 + change.StageRank(st.Stage); rank > best[i] {
			best[i], r.Stage, r.Reopened = rank, st.Stage, st.Reopen
		}
		if st.Level == change.LevelHQ {
			r.Level = change.LevelHQ
		}
		if st.Department != "" {
			r.Department = st.Department
		}
		if c.At.After(r.UpdatedAt) {
			r.UpdatedAt = c.At.UTC()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.store.FedChangesEach(ctx, uint8(change.KindEscalationComment), func(c models.FedChange) error {
		if i, ok := index[c.Key]; ok {
			r := &rows[i]
			if c.AuthorRole == identity.RoleHQ || (c.AuthorRole == identity.RoleRegion && c.AuthorRegion == r.Region) ||
				(c.AuthorRole == identity.RoleStore && c.AuthorLocation == r.Location) {
				r.Comments++
				if c.At.After(r.UpdatedAt) {
					r.UpdatedAt = c.At.UTC()
				}
			}
		}
		return nil
	})
	return rows, err
}

// BoardFilter picks board rows; empty fields pick all. OlderThan keeps
// those raised at least that long before Now. Status "active" is every
// status but resolved.
type BoardFilter struct {
	Region, Severity, Status, Department string
	OlderThan                            time.Duration
	Now                                  time.Time
	Search                               string // in location or category
}

// severityRank orders severities, most severe first.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "high":
		return 1
	case "medium":
		return 2
	}
	return 3
}

// FilterBoard returns the rows f picks, most severe first, then the
// oldest unresolved first, resolved last.
func FilterBoard(rows []BoardRow, f BoardFilter) []BoardRow {
	search := strings.ToLower(strings.TrimSpace(f.Search))
	out := make([]BoardRow, 0, min(len(rows), 1024))
	for _, r := range rows {
		switch {
		case f.Region != "" && r.Region != f.Region,
			f.Severity != "" && r.Severity != f.Severity,
			f.Department != "" && r.Department != f.Department,
			f.Status == "active" && r.Stage == "resolved",
			f.Status != "" && f.Status != "active" && r.Stage != f.Status,
			f.OlderThan > 0 && f.Now.Sub(r.RaisedAt) < f.OlderThan,
			search != "" && !strings.Contains(strings.ToLower(r.Location), search) && !strings.Contains(strings.ToLower(r.Category), search):
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b BoardRow) int {
		if ra, rb := a.Stage == "resolved", b.Stage == "resolved"; ra != rb {
			if ra {
				return 1
			}
			return -1
		}
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		if c := a.RaisedAt.Compare(b.RaisedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
